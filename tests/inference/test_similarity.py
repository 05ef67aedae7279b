"""Cosine top-k over embeddings: equals brute force, excludes the query, handles several."""

from __future__ import annotations

import numpy as np
import pytest

from clml_desktop.collection.rows import PredictionIn
from clml_desktop.inference.errors import InferenceError
from clml_desktop.inference.similarity import SimilarityIndex


def _brute(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    m = matrix.astype(np.float64)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    q = query.astype(np.float64) / np.linalg.norm(query)
    return m @ q


def test_top_k_equals_brute_force():
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((500, 64)).astype(np.float16)
    ids = np.arange(1000, 1500)
    index = SimilarityIndex(ids, emb)
    found = index.similar_to([1007], k=10)
    sims = _brute(emb, emb[7].astype(np.float32))
    sims[7] = -np.inf
    expected = np.argsort(-sims)[:10]
    assert [n.image_id for n in found] == [int(ids[i]) for i in expected]
    assert np.allclose([n.similarity for n in found], sims[expected], atol=1e-3)
    assert 1007 not in {n.image_id for n in found}


def test_several_queries_use_their_mean_direction():
    base = np.eye(4, dtype=np.float32)
    emb = np.vstack([base, [[1, 1, 0, 0]], [[0, 0, 1, 1]]]).astype(np.float16)
    index = SimilarityIndex(np.arange(6), emb)
    found = index.similar_to([0, 1], k=2)
    assert found[0].image_id == 4 and found[0].similarity == pytest.approx(1.0, abs=1e-3)


def test_k_larger_than_the_collection_and_zero_rows():
    emb = np.array([[1, 0], [0, 0], [1, 1]], np.float16)
    index = SimilarityIndex(np.array([1, 2, 3]), emb)
    found = index.similar_to([1], k=50)
    assert [n.image_id for n in found] == [3, 2]
    assert found[1].similarity == 0.0


def test_unknown_query_image_is_a_clear_error():
    index = SimilarityIndex(np.array([1]), np.ones((1, 4), np.float16))
    with pytest.raises(InferenceError, match="run suggest first"):
        index.similar_to([99])


def test_from_store(collection, model_kit):
    collection.add_model("m", str(model_kit.dir), tags=model_kit.manifest.tags, activate=True)
    rows = []
    for k, image in enumerate(collection.images()):
        emb = np.zeros(8, np.float16)
        emb[k % 8] = 1
        rows.append(PredictionIn(image.id, image.version, "engine", np.zeros(5, np.float32), emb))
    collection.put_predictions("m", rows)
    index = SimilarityIndex.from_store(collection)
    assert len(index) == collection.image_count()
    first = collection.images()[0].id
    assert first in index and first not in {n.image_id for n in index.similar_to([first], k=3)}
