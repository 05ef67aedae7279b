"""oof.npz: one writer and one reader, ids and versions included, clear errors, no pickles."""

from __future__ import annotations

import numpy as np
import pytest

from clml_contract.oof import OofError, read_oof, write_oof


def _write(path, n=3, tags=2, **ids):
    write_oof(path, [f"/c/{i}.png" for i in range(n)], np.full((n, tags), 0.25),
              np.ones((n, 4)), **ids)
    return path


def test_round_trip_keeps_paths_dtypes_ids_and_versions(tmp_path):
    path = _write(tmp_path / "oof.npz", image_ids=[5, -1, 7], versions=[2, -1, 1])
    oof = read_oof(path, 2)
    assert oof.paths == ["/c/0.png", "/c/1.png", "/c/2.png"]
    assert oof.probs.dtype == np.float32 and oof.embeddings.dtype == np.float16
    assert [oof.identity(i) for i in range(3)] == [(5, 2), None, (7, 1)]


def test_a_file_without_ids_reads_with_no_identity(tmp_path):
    oof = read_oof(_write(tmp_path / "oof.npz"), 2)
    assert oof.image_ids is None and oof.identity(0) is None


@pytest.mark.parametrize(
    "arrays, match",
    [
        (dict(paths=np.array(["a"]), probs=np.zeros((1, 3), np.float32)), r"\(1, 2\)"),
        (dict(paths=np.array(["a"]), probs=np.zeros((1, 2)), embeddings=np.zeros((2, 4))),
         "embeddings"),
        (dict(paths=np.array(["a"]), probs=np.zeros((1, 2)), image_ids=np.array([1])),
         "go together"),
        (dict(paths=np.array(["a"]), probs=np.zeros((1, 2)), image_ids=np.array([1.5]),
              versions=np.array([1])), "image_ids must be 1 integers"),
        (dict(paths=np.array(["a"])), "probs"),
        (dict(paths=np.array(["a"]), probs=np.array([{"x": 1}], dtype=object)), "cannot read"),
    ],
)
def test_a_malformed_file_is_an_error_naming_it(tmp_path, arrays, match):
    path = tmp_path / "oof.npz"
    np.savez(path, **arrays)
    with pytest.raises(OofError, match=match) as info:
        read_oof(path, 2)
    assert str(path) in str(info.value)


def test_ids_without_versions_are_refused_when_writing(tmp_path):
    with pytest.raises(ValueError, match="together"):
        _write(tmp_path / "oof.npz", image_ids=[1, 2, 3])
