"""Property: any sequence of edits (and undos/redos among them), undone back to
the start, restores the exact labels, sources, order and tags; redoing the same
number of steps brings the edited state back."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clml_desktop.collection.labels import ImageLabels, LabelSource, LabelState
from clml_desktop.collection.rows import ImageInfo, LabelChange
from clml_desktop.collection.store import CollectionStore, StoreError

TAGS = ["cat", "dog", "long_hair", "long hair", "Sky", "tree"]
N_IMAGES = 6

images = st.lists(st.integers(0, N_IMAGES - 1), min_size=0, max_size=N_IMAGES)
tags = st.sampled_from(TAGS)
ops = st.one_of(
    st.tuples(st.just("add"), images, tags),
    st.tuples(st.just("remove"), images, tags),
    st.tuples(st.just("forget"), images, tags),
    st.tuples(st.just("reject"), images, tags),
    st.tuples(st.just("accept"), images, tags),
    st.tuples(
        st.just("set"),
        st.lists(
            st.tuples(
                st.integers(0, N_IMAGES - 1), tags, st.sampled_from(list(LabelState))
            ),
            max_size=6,
        ),
        st.just(None),
    ),
    st.tuples(st.just("rename"), tags, tags),
    st.tuples(st.just("merge"), st.lists(tags, min_size=1, max_size=2), tags),
    st.tuples(st.just("delete"), tags, st.just(None)),
    st.tuples(st.just("import"), images, st.lists(tags, max_size=3)),
    st.tuples(st.just("undo"), st.just(None), st.just(None)),
    st.tuples(st.just("redo"), st.just(None), st.just(None)),
)


def _state(store: CollectionStore):
    labels = {
        im.id: [
            (lab.tag_id, lab.tag, lab.state, lab.source, lab.position)
            for lab in store.labels_of(im.id)
        ]
        for im in store.images()
    }
    return labels, [(t.id, t.name) for t in store.tags()]


def _newest_applied(store: CollectionStore) -> int | None:
    return next((e.id for e in store.history(10_000) if e.status == "applied"), None)


def setup_edit(store: CollectionStore) -> int:
    """The first edit (the collection's original labels), which the sequence never undoes."""
    return min(e.id for e in store.history(10_000))


def _apply(store: CollectionStore, ids: list[int], op) -> None:
    kind, a, b = op
    try:
        if kind == "add":
            store.add_tag([ids[i] for i in a], b)
        elif kind == "remove":
            store.remove_tag([ids[i] for i in a], b)
        elif kind == "forget":
            store.forget_tag([ids[i] for i in a], b)
        elif kind == "reject":
            store.reject_tag([ids[i] for i in a], b)
        elif kind == "accept":
            store.accept_suggestion([ids[i] for i in a], b)
        elif kind == "set":
            store.set_labels([LabelChange(ids[i], t, s) for i, t, s in a], "set")
        elif kind == "rename":
            store.rename_tag(a, b.upper() if a == b else b)
        elif kind == "merge":
            store.merge_tags(a, b)
        elif kind == "delete":
            store.delete_tag(a)
        elif kind == "import":
            paths = {im.id: im.path for im in store.images()}
            store.import_labels({paths[ids[i]]: ImageLabels(positives=list(b)) for i in a})
        elif kind == "undo":
            if _newest_applied(store) != setup_edit(store):
                store.undo()
        elif kind == "redo":
            store.redo()
    except StoreError:
        pass  # a refused edit (unknown tag, name clash) must leave no trace; checked below


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ops, max_size=14))
def test_undo_all_restores_and_redo_replays(sequence):
    with tempfile.TemporaryDirectory() as tmp, CollectionStore.open(Path(tmp)) as store:
        store.upsert_images(ImageInfo(f"{i}.png", 10, 1, 4, 4) for i in range(N_IMAGES))
        ids = [im.id for im in store.images()]
        setup = store.import_labels(
            {
                "0.png": ImageLabels(positives=["cat", "Sky"], negatives=["dog"]),
                "1.png": ImageLabels(positives=["tree", "cat"]),
            },
            LabelSource.ORIGINAL,
        ).edit_id
        initial = _state(store)
        for op in sequence:
            _apply(store, ids, op)
        edited = _state(store)
        orphans = store._conn.execute(
            "SELECT COUNT(*) FROM labels l JOIN tags t ON t.id = l.tag_id WHERE t.deleted = 1"
        ).fetchone()[0]
        assert orphans == 0, "a label survived its tag (counts and exports rely on this)"
        nothing_to_redo = not store.can_redo()
        undone = 0
        while _newest_applied(store) != setup:
            assert store.undo() is not None
            undone += 1
        assert _state(store) == initial
        if nothing_to_redo:
            for _ in range(undone):
                assert store.redo() is not None
            assert _state(store) == edited
