"""The collection's minimum likelihood changes which unknown pairs count as suggestions,
re-derived from the cached scores (nothing is re-scored)."""

from __future__ import annotations

import sys
from pathlib import Path

from clml_desktop.collection.query import ImageFilter

from .conftest import open_and_wait

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collection_factory import build_collection  # noqa: E402


def test_min_likelihood_refilters_suggestions(qtbot, window, tmp_path):
    folder = tmp_path / "scored"
    build_collection(folder, n_images=6, with_model=True)
    open_and_wait(qtbot, window, folder, 6)
    context = window.context
    before = int(context.index.pending.sum())
    assert before > 0
    assert context.set_suggestion_cuts(0.999, {})
    qtbot.waitUntil(lambda: int(context.index.pending.sum()) == 0, timeout=10000)
    assert context.store.min_likelihood() == 0.999, "kept in the collection"
    context.set_filter(ImageFilter(has_suggestions=True))
    assert window.grid_model.rowCount() == 0
    assert context.set_suggestion_cuts(0.5, {})
    qtbot.waitUntil(lambda: int(context.index.pending.sum()) == before, timeout=10000)
    assert window.grid_model.rowCount() > 0
    assert context.set_suggestion_cuts(None, {"tree": 0.999})
    qtbot.waitUntil(lambda: int(context.index.pending.sum()) < before, timeout=10000)
    tree = context.index.column_of("tree")
    assert not context.index.pending[:, tree].any(), "a tag's own cut wins over the collection's"
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=10000)
