"""Find Similar's Qt-free parts: the search shared by the CLI and the window, and the
grid filter that shows its result in similarity order."""

from __future__ import annotations

import numpy as np
import pytest

from clml_desktop.collection.query import (
    ImageFilter,
    LabelIndex,
    SimilarTo,
    filter_ids,
    filter_rows,
)
from clml_desktop.collection.rows import PredictionIn
from clml_desktop.inference.errors import InferenceError
from clml_desktop.inference.similarity import SimilarityIndex
from clml_desktop.workflow.similar import NO_MODEL, similar_images

EMBEDDINGS = {  # a.png … e.png; f.png gets none (not scored yet)
    "a": [1.0, 0.0, 0.0],
    "b": [0.9, 0.1, 0.0],
    "c": [0.0, 1.0, 0.0],
    "d": [0.7, 0.7, 0.0],
    "e": [0.2, 0.0, 1.0],
}


@pytest.fixture
def scored(store, tmp_path):
    store.add_model("m", str(tmp_path / "m"), tags=["x"], activate=True)
    rows = [
        PredictionIn(img.id, img.version, "engine", np.zeros(1, np.float32),
                     np.asarray(EMBEDDINGS[img.path[0]], np.float16))
        for img in store.images() if img.path[0] in EMBEDDINGS
    ]
    store.put_predictions("m", rows)
    return {img.path: img.id for img in store.images()}


def test_similar_images_ranks_like_the_index_and_counts_the_unscored(store, scored):
    found = similar_images(store, [scored["a.png"]], k=3)
    expected = SimilarityIndex.from_store(store, "m").similar_to([scored["a.png"]], k=3)
    assert found.neighbours == tuple(expected)
    assert found.paths == ("b.png", "d.png", "e.png")
    assert found.label() == "a.png"
    assert found.unscored == 1 and found.unscored_text() == "1 image has no score yet (not searched)"


def test_several_query_images_are_named_by_count(store, scored):
    found = similar_images(store, [scored["a.png"], scored["c.png"]], k=1)
    assert found.paths == ("d.png",) and found.label() == "2 images"


def test_a_query_image_without_an_embedding_is_a_clear_error(store, scored):
    with pytest.raises(InferenceError, match="no embedding for f.png"):
        similar_images(store, [scored["f.png"]])


def test_no_active_model_says_train_first(store):
    with pytest.raises(InferenceError, match="Train a model first"):
        similar_images(store, [store.images()[0].id])
    assert "Train a model first" in NO_MODEL


def _index(n: int = 6) -> LabelIndex:
    ids = list(range(10, 10 + n))
    states = np.zeros((n, 1), np.int8)
    states[::2, 0] = 1  # rows 0, 2, 4 tagged 'dog'
    return LabelIndex.build(ids, [f"{i}.png" for i in ids], [None] * n, [1], ["dog"], states)


def test_similar_filter_keeps_its_images_in_its_order():
    index = _index()
    similar = SimilarTo(image_ids=(14, 11, 99, 12), label="10.png", similarities=(0.9, 0.8, 0.7, 0.6))
    flt = ImageFilter(similar=similar)
    assert not flt.is_empty()
    assert filter_ids(index, flt).tolist() == [14, 11, 12], "in similarity order, unknown ids dropped"
    assert filter_ids(index, ImageFilter(require=(("dog",),), similar=similar)).tolist() == [14, 12]
    assert filter_rows(index, ImageFilter()).tolist() == list(range(6))
    assert flt.describe() == "Similar to 10.png (4)"
    assert similar.similarity_of(11) == 0.8 and similar.similarity_of(10) is None
