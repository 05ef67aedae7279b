"""The optimised-graph cache: a second load opens the saved graph, scores the same, and
any cache trouble (damaged entry, unwritable folder) falls back to the source file."""

from __future__ import annotations

import os
import shutil

import numpy as np
import onnxruntime as ort
import pytest

from clml_desktop.inference import optimized_cache
from clml_desktop.inference.engine import Engine
from clml_desktop.inference.errors import ModelLoadError

from .conftest import SIZE


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Cache every model, however small, in a fresh folder; record the files sessions open."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(optimized_cache.CACHE_ENV, str(folder))
    monkeypatch.setattr(optimized_cache, "MIN_BYTES", 0)
    opened: list[str] = []
    real = ort.InferenceSession

    def spy(path, *args, **kwargs):
        opened.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(optimized_cache.ort, "InferenceSession", spy)
    return folder, opened


@pytest.fixture
def model_copy(model_kit, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(model_kit.dir, target)
    return target


def _batch() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((2, 3, SIZE, SIZE)).astype(np.float32)


def _entries(folder):
    return sorted(folder.glob("*.onnx"))


def test_second_load_opens_the_saved_graph_and_scores_the_same(cache, model_copy, monkeypatch):
    folder, opened = cache
    first = Engine.load(model_copy, device="cpu")
    assert len(_entries(folder)) == 1 and not list(folder.glob("*.part"))
    second = Engine.load(model_copy, device="cpu")
    assert opened[-1] == str(_entries(folder)[0])
    monkeypatch.setenv(optimized_cache.CACHE_ENV, "off")
    plain = Engine.load(model_copy, device="cpu")
    assert opened[-1] == str(model_copy / "model.onnx")
    x = _batch()
    for engine in (first, second):
        out, ref = engine.run(x), plain.run(x)
        np.testing.assert_allclose(out.probs, ref.probs, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out.embeddings, ref.embeddings, rtol=1e-5, atol=1e-5)


def test_a_changed_model_file_gets_a_new_entry(cache, model_copy):
    folder, _ = cache
    Engine.load(model_copy, device="cpu")
    onnx = model_copy / "model.onnx"
    stat = onnx.stat()
    os.utime(onnx, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    Engine.load(model_copy, device="cpu")
    assert len(_entries(folder)) == 2


def test_a_damaged_entry_is_rebuilt(cache, model_copy):
    folder, opened = cache
    Engine.load(model_copy, device="cpu")
    (entry,) = _entries(folder)
    entry.write_bytes(b"not an onnx file")
    engine = Engine.load(model_copy, device="cpu")
    assert engine.run(_batch()).probs.shape == (2, 5)
    assert opened[-2:] == [str(entry), str(model_copy / "model.onnx")]
    assert entry.stat().st_size > 1000 and not list(folder.glob("*.part"))


def test_an_unwritable_cache_folder_falls_back_to_the_source(cache, model_copy):
    folder, opened = cache
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("a file where the folder should be")
    engine = Engine.load(model_copy, device="cpu")
    assert engine.run(_batch()).probs.shape == (2, 5)
    assert opened == [str(model_copy / "model.onnx")]


def test_a_broken_model_is_reported_as_before(cache, model_copy):
    (model_copy / "model.onnx").write_bytes(b"\x08\x07garbage")
    with pytest.raises(ModelLoadError, match="onnxruntime cannot load it"):
        Engine.load(model_copy, device="cpu")
    folder, _ = cache
    assert not _entries(folder) and not list(folder.glob("*.part"))


def test_only_the_newest_entries_stay(cache, model_kit, tmp_path, monkeypatch):
    folder, _ = cache
    monkeypatch.setattr(optimized_cache, "KEEP", 2)
    for i in range(3):
        target = tmp_path / f"m{i}"
        shutil.copytree(model_kit.dir, target)
        Engine.load(target, device="cpu")
    assert len(_entries(folder)) == 2


def test_small_models_and_the_off_switch_skip_the_cache(model_copy, tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(optimized_cache.CACHE_ENV, str(folder))
    Engine.load(model_copy, device="cpu")  # ResNet18: ~45 MB, under MIN_BYTES
    assert not folder.exists()
    monkeypatch.setattr(optimized_cache, "MIN_BYTES", 0)
    monkeypatch.setenv(optimized_cache.CACHE_ENV, "off")
    assert optimized_cache.cache_dir() is None
    Engine.load(model_copy, device="cpu")
    assert not folder.exists()
