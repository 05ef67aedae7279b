"""`oof.npz`: the trainer's out-of-fold scores of its training images (ADR 0002).

A model scores its own training images with their missing tags learned as
negatives, so the trainer scores each with a fold model that never saw it and
writes the scores here; the app stores them in place of engine scores.

Arrays: `paths` (unicode N, as the training set gave them), `probs` (float32
N×C, the manifest's tag order), `embeddings` (float16 N×D), and `image_ids`
and `versions` (int64 N, copied from the training set; -1 where it named
none). The ids let the app map a score back to its image, and the version
says which file it was computed from, so a score of an image replaced during
training is dropped rather than stamped as current (issue 12). Files from
before the ids have no such arrays; readers then see all -1.

Written atomically and read with `allow_pickle=False`: a model folder may come
from someone else's disk.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clml_contract.atomic import atomic_write_bytes
from clml_contract.training_set import NO_ID


class OofError(ValueError):
    """An oof.npz that cannot be read or breaks ADR 0002; the message names the file."""


@dataclass(frozen=True)
class OofScores:
    """The arrays of one oof.npz; `image_ids`/`versions` None means the file names none."""

    source: Path
    paths: list[str]
    probs: np.ndarray
    embeddings: np.ndarray | None
    image_ids: np.ndarray | None = None
    versions: np.ndarray | None = None

    def identity(self, row: int) -> tuple[int, int] | None:
        """(image_id, version) the trainer scored for `row`, or None when it was not told."""
        if self.image_ids is None or self.versions is None or self.image_ids[row] == NO_ID:
            return None
        return int(self.image_ids[row]), int(self.versions[row])


def write_oof(
    target: Path,
    paths: Sequence[str | Path],
    probs: np.ndarray,
    embeddings: np.ndarray,
    image_ids: np.ndarray | Sequence[int] | None = None,
    versions: np.ndarray | Sequence[int] | None = None,
) -> None:
    """Write `target` in one rename: float32 probs, float16 embeddings, int64 ids and versions."""
    arrays = {
        "paths": np.array([str(p) for p in paths], dtype=np.str_),
        "probs": np.asarray(probs, dtype=np.float32),
        "embeddings": np.asarray(embeddings, dtype=np.float16),
    }
    if (image_ids is None) != (versions is None):
        raise ValueError("image_ids and versions go together")
    if image_ids is not None:
        arrays.update(image_ids=np.asarray(image_ids, dtype=np.int64),
                      versions=np.asarray(versions, dtype=np.int64))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(Path(target), buffer.getvalue())


def read_oof(path: Path, n_tags: int) -> OofScores:
    """Read and check `path` against the model's tag count; OofError names the problem."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in data.files}
        paths, probs = arrays["paths"], arrays["probs"].astype(np.float32)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise OofError(f"{path}: cannot read the out-of-fold scores: {exc}") from exc
    if paths.ndim != 1:
        raise OofError(f"{path}: paths must be a list, found shape {paths.shape}")
    n = len(paths)
    if probs.shape != (n, n_tags):
        raise OofError(f"{path}: expected probs of shape ({n}, {n_tags}) for {n} paths "
                       f"and {n_tags} tags, found {probs.shape}")
    embeddings = arrays.get("embeddings")
    if embeddings is not None and (embeddings.ndim != 2 or len(embeddings) != n):
        raise OofError(f"{path}: embeddings of shape {embeddings.shape} do not match {n} paths")
    ids, versions = arrays.get("image_ids"), arrays.get("versions")
    if (ids is None) != (versions is None):
        raise OofError(f"{path}: image_ids and versions go together; one of them is missing")
    if ids is not None:
        for name, values in (("image_ids", ids), ("versions", versions)):
            if values.shape != (n,) or values.dtype.kind not in "iu":
                raise OofError(f"{path}: {name} must be {n} integers, found {values.dtype} {values.shape}")
        ids, versions = ids.astype(np.int64), versions.astype(np.int64)
    return OofScores(path, [str(p) for p in paths.tolist()], probs, embeddings, ids, versions)
