"""Every edit kind is one transaction and one undo step, and undo/redo replay the log."""

from __future__ import annotations

import numpy as np
import pytest

from clml_desktop.collection.labels import ImageLabels, LabelSource, LabelState
from clml_desktop.collection.rows import ImageInfo, LabelChange
from clml_desktop.collection.store import StoreError


def _state(store):
    """Everything a person could see: labels with source and order, and the live tags."""
    labels = {
        im.id: [(lab.tag, lab.state, lab.source, lab.position) for lab in store.labels_of(im.id)]
        for im in store.images()
    }
    return labels, [(t.id, t.name) for t in store.tags()]


def test_add_remove_reject_accept_each_undo_and_redo(store, ids):
    before = _state(store)
    assert store.add_tag(ids[:3], "dog") is not None
    assert store.images_with_tag("dog") == ids[:3]
    assert store.reject_tag(ids[3:5], "dog") is not None
    assert store.images_with_tag("dog", LabelState.NEGATIVE) == ids[3:5]
    assert store.accept_suggestion([ids[5]], "dog") is not None
    assert store.labels_of(ids[5])[0].source == LabelSource.ACCEPTED
    assert store.remove_tag(ids[0], "dog") is not None
    assert store.images_with_tag("dog") == [ids[1], ids[2], ids[5]]
    after = _state(store)

    assert store.undo() == "Remove “dog” from 1 image"
    assert store.images_with_tag("dog") == ids[:3] + [ids[5]]
    assert store.undo().startswith("Accept")
    assert store.undo().startswith("Reject")
    assert store.undo().startswith("Add")
    assert store.undo() is None
    assert _state(store) == before
    assert not store.can_undo() and store.can_redo()

    for _ in range(4):
        assert store.redo() is not None
    assert store.redo() is None
    assert _state(store) == after


def test_an_edit_that_changes_nothing_is_not_an_undo_step(store, ids):
    store.add_tag(ids[:2], "dog")
    assert store.add_tag(ids[:2], "dog") is None
    assert store.remove_tag(ids[5], "dog") is None
    assert store.remove_tag(ids[5], "no such tag") is None
    assert store.add_tag([], "cat") is None
    assert len(store.history()) == 1
    assert store.tag_id("cat") is None


def test_a_new_edit_clears_redo(store, ids):
    store.add_tag(ids[0], "a")
    store.add_tag(ids[1], "b")
    store.undo()
    assert store.can_redo()
    store.add_tag(ids[2], "c")
    assert not store.can_redo()
    assert store.redo() is None
    statuses = [e.status for e in store.history()]
    assert statuses == ["applied", "discarded", "applied"]


def test_batch_of_5000_images_is_one_step(store):
    infos = [ImageInfo(f"many/{i:05}.png", 100, 1, 8, 8) for i in range(5000)]
    assert store.upsert_images(infos).added == 5000
    many = [im.id for im in store.images() if im.path.startswith("many/")]
    edit = store.add_tag(many, "batch")
    assert edit is not None
    assert len(store.images_with_tag("batch")) == 5000
    assert store.history(1)[0].label_changes == 5000
    assert store.reject_tag(many[:2500], "batch") is not None
    assert len(store.images_with_tag("batch", LabelState.NEGATIVE)) == 2500
    store.undo()
    assert len(store.images_with_tag("batch")) == 5000
    assert store.undo().startswith("Add “batch” to 5,000 images")
    assert store.images_with_tag("batch") == []
    assert store.tag_id("batch") is None  # the tag made by the edit went with it
    store.redo()
    assert len(store.images_with_tag("batch")) == 5000


def test_alias_key_matches_other_spellings_and_keeps_the_users(store, ids):
    store.add_tag(ids[0], "long_hair")
    assert store.tag_id("long hair") == store.tag_id("long_hair")
    assert store.tag_id("Long-Hair") == store.tag_id("long_hair")
    store.add_tag(ids[1], "Long Hair")
    assert [t.name for t in store.tags()] == ["long_hair"]
    assert store.images_with_tag("long hair") == ids[:2]
    assert store.ensure_tag("LONG_HAIR") == store.tag_id("long_hair")


def test_positive_order_is_kept_and_restored_by_undo(store, ids):
    image = ids[0]
    store.import_labels(
        {store.image(image).path: ImageLabels(positives=["trigger", "zebra", "apple"])},
        LabelSource.ORIGINAL,
    )
    names = lambda: [lab.tag for lab in store.labels_of(image) if lab.state == LabelState.POSITIVE]  # noqa: E731
    assert names() == ["trigger", "zebra", "apple"]
    store.add_tag(image, "new")
    assert names() == ["trigger", "zebra", "apple", "new"]
    store.remove_tag(image, "zebra")
    assert names() == ["trigger", "apple", "new"]
    store.undo()
    assert names() == ["trigger", "zebra", "apple", "new"]
    labels = store.image_labels([image])[store.image(image).path]
    assert labels.positives == ["trigger", "zebra", "apple", "new"]
    assert labels.sources["trigger"] == "original" and labels.sources["new"] == "manual"


def test_set_labels_mixes_tags_states_and_sources_in_one_step(store, ids):
    store.add_tag(ids[0], "cat", source=LabelSource.IMPORTED)
    edit = store.set_labels(
        [
            LabelChange(ids[0], "cat", LabelState.POSITIVE, LabelSource.MANUAL),
            LabelChange(ids[1], "cat", LabelState.NEGATIVE),
            LabelChange(ids[2], "dog", LabelState.POSITIVE, LabelSource.ACCEPTED),
            LabelChange(ids[3], "nothing here", LabelState.UNKNOWN),
        ],
        "review",
    )
    assert edit is not None
    assert store.labels_of(ids[0])[0].source == "manual"
    assert store.labels_of(ids[1])[0].state == LabelState.NEGATIVE
    assert store.labels_of(ids[2])[0].source == "accepted-suggestion"
    assert store.tag_id("nothing here") is None
    store.undo()
    assert store.labels_of(ids[0])[0].source == "imported"
    assert store.labels_of(ids[1]) == [] and store.tag_id("dog") is None
    with pytest.raises(StoreError, match="state"):
        store.set_labels([LabelChange(ids[0], "cat", "maybe")], "bad")


def test_import_fills_unknowns_and_never_overrides_a_person(store, ids):
    paths = {im.id: im.path for im in store.images()}
    store.reject_tag(ids[0], "cat")
    report = store.import_labels(
        {
            paths[ids[0]]: ImageLabels(positives=["cat", "dog"]),
            paths[ids[1]]: ImageLabels(
                positives=["cat"], negatives=["cat", "fox"], sources={"cat": "manual"}
            ),
            "../../etc/passwd": ImageLabels(positives=["x"]),
            paths[ids[2]]: ImageLabels(positives=["  "]),
        },
        LabelSource.IMPORTED,
    )
    assert report.conflicts == 1
    assert report.positives_added == 2 and report.negatives_added == 1
    assert report.unknown_paths == ["../../etc/passwd"]
    assert any("both present and absent" in p.message for p in report.problems)
    assert any("empty" in p.message for p in report.problems)
    assert [(lab.tag, lab.state) for lab in store.labels_of(ids[0])] == [
        ("dog", LabelState.POSITIVE),
        ("cat", LabelState.NEGATIVE),
    ]
    assert {(lab.tag, lab.state, lab.source) for lab in store.labels_of(ids[1])} == {
        ("cat", LabelState.POSITIVE, "manual"),
        ("fox", LabelState.NEGATIVE, "imported"),
    }
    assert store.undo().startswith("Import")
    assert store.images_with_tag("dog") == []


def test_rename_keeps_labels_refuses_clashes_and_undoes(store, ids):
    store.add_tag(ids[:2], "kitty")
    store.add_tag(ids[2], "dog")
    tag = store.tag_id("kitty")
    store.rename_tag("kitty", "cat")
    assert store.tag_id("cat") == tag and store.tag_id("kitty") is None
    assert store.images_with_tag("cat") == ids[:2]
    store.rename_tag("cat", "Cat")  # respelling the same key is fine
    with pytest.raises(StoreError, match="merge"):
        store.rename_tag("Cat", "dog")
    with pytest.raises(StoreError, match="merge"):
        store.rename_tag("Cat", "DOG")
    with pytest.raises(StoreError, match="empty"):
        store.rename_tag("Cat", "   ")
    assert store.rename_tag("Cat", "Cat") is None
    store.undo()
    store.undo()
    assert [t.name for t in store.tags()] == ["kitty", "dog"]


def test_merge_folds_labels_into_target_in_one_step(store, ids):
    a, b, c, d = ids[:4]
    store.import_labels(
        {
            store.image(a).path: ImageLabels(positives=["first", "puppy"]),
            store.image(b).path: ImageLabels(positives=["dog"], negatives=["puppy"]),
            store.image(c).path: ImageLabels(negatives=["puppy", "hound"]),
            store.image(d).path: ImageLabels(positives=["hound"], negatives=["dog"]),
        },
        LabelSource.ORIGINAL,
    )
    before = _state(store)
    store.merge_tags(["puppy", "hound"], "dog")
    assert [t.name for t in store.tags()] == ["first", "dog"]
    assert [lab.tag for lab in store.labels_of(a)] == ["first", "dog"]
    assert store.labels_of(a)[1].position == 1  # took puppy's place in the order
    assert [(lab.tag, lab.state) for lab in store.labels_of(b)] == [("dog", LabelState.POSITIVE)]
    assert [(lab.tag, lab.state) for lab in store.labels_of(c)] == [("dog", LabelState.NEGATIVE)]
    assert [(lab.tag, lab.state) for lab in store.labels_of(d)] == [("dog", LabelState.POSITIVE)]
    assert len(store.history()) == 2
    store.undo()
    assert _state(store) == before


def test_merge_into_a_new_name_creates_it(store, ids):
    store.add_tag(ids[0], "puppy")
    store.merge_tags(["puppy"], "dog")
    assert [t.name for t in store.tags()] == ["dog"]
    store.undo()
    assert [t.name for t in store.tags()] == ["puppy"]


def test_delete_tag_and_undo_bring_back_the_same_id_and_labels(store, ids):
    store.add_tag(ids[:3], "cat")
    store.reject_tag(ids[3], "cat")
    tag = store.tag_id("cat")
    before = _state(store)
    store.delete_tag("cat")
    assert store.tags() == [] and store.labels_of(ids[0]) == []
    assert store.label_matrix().states.shape == (12, 0)
    store.undo()
    assert store.tag_id("cat") == tag
    assert _state(store) == before
    store.redo()
    store.add_tag(ids[0], "cat")  # a deleted name can be used again
    assert store.tag_id("cat") == tag


def test_undo_survives_a_tag_made_outside_the_log(store, ids):
    store.add_tag(ids[0], "cat")
    store.rename_tag("cat", "feline")
    store.ensure_tag("cat")  # empty, not an edit
    store.undo()
    assert [t.name for t in store.tags()] == ["cat"]
    assert store.images_with_tag("cat") == [ids[0]]


def test_unknown_image_ids_and_bad_names_are_refused_without_writing(store, ids):
    with pytest.raises(StoreError, match="no image with id 9999"):
        store.add_tag([ids[0], 9999], "cat")
    with pytest.raises(StoreError, match="empty"):
        store.add_tag(ids[0], "")
    with pytest.raises(StoreError, match="control"):
        store.ensure_tag("a\nb")
    with pytest.raises(StoreError, match="unknown label source"):
        store.add_tag(ids[0], "cat", source="guessed")
    assert store.tags() == [] and store.history() == []


def test_label_matrix_matches_labels(store, ids):
    store.add_tag(ids[:4], "a")
    store.reject_tag(ids[2:6], "b")
    m = store.label_matrix()
    assert list(m.image_ids) == ids and m.tag_names == ["a", "b"]
    assert m.states.dtype == np.int8
    assert m.states[:, 0].tolist() == [1] * 4 + [0] * 8
    assert m.states[:, 1].tolist() == [0, 0, -1, -1, -1, -1] + [0] * 6
    counts = {t.name: (t.positives, t.negatives) for t in store.tag_counts()}
    assert counts == {"a": (4, 0), "b": (0, 4)}
    assert store.label_source_counts() == {"manual": {"positive": 4, "negative": 4}}
    store.remove_images([store.image(ids[0]).path])
    store.ensure_tag("empty")
    store.delete_tag("b")
    m = store.label_matrix()
    assert list(m.image_ids) == ids[1:] and m.tag_names == ["a", "empty"]
    assert m.states.sum(axis=0).tolist() == [3, 0]
    assert [(t.name, t.positives, t.negatives) for t in store.tag_counts()] == [
        ("a", 3, 0),
        ("empty", 0, 0),
    ]
    assert store.label_source_counts() == {"manual": {"positive": 3}}
    assert list(store.image_labels()) == [store.image(i).path for i in ids[1:]]


def test_tag_thresholds(store):
    store.ensure_tag("cat")
    store.set_tag_threshold("cat", 0.3)
    assert store.tag_thresholds() == {"cat": 0.3}
    store.set_tag_threshold("cat", None)
    assert store.tag_thresholds() == {}
    with pytest.raises(StoreError, match="between 0 and 1"):
        store.set_tag_threshold("cat", 1.5)
    with pytest.raises(StoreError, match="no tag"):
        store.set_tag_threshold("dog", 0.5)


def test_source_file_states(store):
    assert store.source_file_state("a.txt") is None
    store.set_source_file_states([("a.txt", 10, 123), ("b.txt", 5, 7)])
    store.set_source_file_states([("a.txt", 11, 124)])
    assert store.source_file_state("a.txt") == (11, 124)
    assert store.source_file_states() == {"a.txt": (11, 124), "b.txt": (5, 7)}


def test_edit_changes_read_the_log_back(store, ids):
    store.add_tag(ids[:2], "cat")
    edit = store.reject_tag(ids[1:3], "cat")
    labels, tags = store.edit_changes(edit)
    assert tags == []
    assert [(c.image_id, c.tag, c.old_state, c.new_state) for c in labels] == [
        (ids[1], "cat", LabelState.POSITIVE, LabelState.NEGATIVE),
        (ids[2], "cat", LabelState.UNKNOWN, LabelState.NEGATIVE),
    ]
    assert labels[0].path == store.image(ids[1]).path
    assert len(store.edit_changes(edit, limit=1)[0]) == 1
    edit = store.rename_tag("cat", "feline")
    labels, tags = store.edit_changes(edit)
    assert labels == [] and [(t.old_name, t.new_name) for t in tags] == [("cat", "feline")]


def test_removing_a_tag_rejects_it_and_undo_restores_the_positive(store, ids):
    """Issue 13 / ADR 0019: removal says "not on this image", as Reject does."""
    store.import_labels(
        {store.image(ids[0]).path: ImageLabels(positives=["trigger", "zebra", "apple"])},
        LabelSource.ORIGINAL,
    )
    before = [(lab.tag, lab.state, lab.source, lab.position) for lab in store.labels_of(ids[0])]
    assert store.remove_tag(ids[:3], "zebra") is not None  # only ids[0] had it
    zebra = {lab.tag: lab for lab in store.labels_of(ids[0])}["zebra"]
    assert (zebra.state, zebra.source) == (LabelState.NEGATIVE, LabelSource.MANUAL.value)
    assert store.images_with_tag("zebra", LabelState.NEGATIVE) == [ids[0]]  # the others stay unknown
    assert store.history(1)[0].label_changes == 1
    assert store.remove_tag(ids[0], "zebra") is None  # already not there: no undo step
    assert store.undo().startswith("Remove “zebra”")
    after = [(lab.tag, lab.state, lab.source, lab.position) for lab in store.labels_of(ids[0])]
    assert after == before  # the positive is back, with its source and place


def test_forget_tag_returns_a_rejection_to_unknown(store, ids):
    store.reject_tag(ids[:2], "dog")
    store.add_tag(ids[2], "dog")
    assert store.forget_tag(ids[:3], "dog") is not None
    assert store.images_with_tag("dog", LabelState.NEGATIVE) == []
    assert store.images_with_tag("dog") == []
    assert store.forget_tag(ids[:3], "dog") is None
    assert store.forget_tag(ids[0], "no such tag") is None
    assert store.undo().startswith("Forget “dog”")
    assert store.images_with_tag("dog", LabelState.NEGATIVE) == ids[:2]
    assert store.images_with_tag("dog") == [ids[2]]
