"""The one edit path, without Qt: what each edit writes, the sentence it returns for
the status bar, what it says a view must refresh, and that the label-index patch it
returns leaves the index exactly as a fresh read of the collection."""

from __future__ import annotations

import numpy as np
import pytest

from clml_desktop.collection.labels import LabelSource, LabelState
from clml_desktop.workflow import edits
from clml_desktop.workflow.label_index import index_from_store


def assert_patch_matches_a_fresh_read(store, before, result) -> None:
    """Applying `result.patch` to the index read `before` the edit gives the index
    read after it (so the window need not read the collection again)."""
    assert result.patch is not None
    assert before.set_state(*result.patch)
    after = index_from_store(store)
    assert before.tag_names == after.tag_names
    np.testing.assert_array_equal(before.states, after.states)


def test_add_says_what_it_did_and_patches_the_index(store, ids):
    first = edits.add_tag(store, ids[:2], " dog ")
    assert first.changed and first.labels_changed and first.tags_changed, "a new tag"
    assert first.message == "Added 'dog' to 2 images"
    assert first.image_ids == tuple(ids[:2])
    assert first.edit_id == store.history(1)[0].id, "the undo step, for the CLI to name"
    assert store.images_with_tag("dog") == ids[:2]

    before = index_from_store(store)
    more = edits.add_tag(store, ids[1:4], "dog")
    assert more.changed and not more.tags_changed, "the tag existed already"
    assert more.message == "Added 'dog' to 3 images"
    assert_patch_matches_a_fresh_read(store, before, more)

    again = edits.add_tag(store, ids[:1], "dog")
    assert not again.changed and not again.refused
    assert again.message == "'dog' was already on that image"
    assert edits.add_tag(store, ids, "   ") == edits.NOTHING
    assert edits.add_tag(store, [], "dog") == edits.NOTHING


def test_remove_patches_only_the_images_that_had_the_tag(store, ids):
    edits.add_tag(store, ids[:2], "dog")
    before = index_from_store(store)
    result = edits.remove_tag(store, ids[:4], "dog")
    assert result.message == "Removed 'dog' from 4 images (won't be suggested again)"
    assert sorted(result.patch.image_ids) == ids[:2]
    assert result.patch.state == LabelState.NEGATIVE
    assert_patch_matches_a_fresh_read(store, before, result)
    assert store.images_with_tag("dog", LabelState.NEGATIVE) == ids[:2]
    assert edits.remove_tag(store, ids[2:3], "dog").message == "'dog' was not on that image"


@pytest.mark.parametrize(
    ("edit", "state", "said"),
    [
        (edits.reject_tag, LabelState.NEGATIVE, "Rejected 'cat' on 3 images"),
        (edits.accept_suggestion, LabelState.POSITIVE, "Accepted 'cat' on 3 images"),
        (edits.forget_tag, LabelState.UNKNOWN, "Forgot 'cat' on 3 images (unknown again)"),
    ],
)
def test_every_pair_to_one_state(store, ids, edit, state, said):
    edits.add_tag(store, ids[:1], "cat")
    edits.reject_tag(store, ids[1:2], "cat")
    before = index_from_store(store)
    result = edit(store, ids[:3], "cat")
    assert result.changed and result.message == said
    assert result.patch == edits.LabelPatch(ids[:3], "cat", state)
    assert_patch_matches_a_fresh_read(store, before, result)
    assert not edit(store, ids[:3], "cat").changed, "a second time changes nothing"


def test_accept_suggestions_is_one_undo_step(store, ids):
    result = edits.accept_suggestions(store, ids[0], ["sky", "tree", "sky", ""])
    assert result.changed and result.tags_changed and result.patch is None
    assert result.message == "Accepted 'sky', 'tree' on 1 image"
    assert {label.source for label in store.labels_of(ids[0])} == {LabelSource.ACCEPTED}
    undone = edits.undo(store)
    assert undone.changed and undone.message == "Undone: Accepted 'sky', 'tree' on 1 image"
    assert undone.labels_changed and undone.tags_changed and undone.image_ids == ()
    assert store.labels_of(ids[0]) == []
    assert edits.redo(store).message == "Redone: Accepted 'sky', 'tree' on 1 image"
    assert edits.accept_suggestions(store, ids[0], []) == edits.NOTHING


def test_nothing_to_undo_or_redo(store):
    assert edits.undo(store).message == "Nothing to undo"
    assert edits.redo(store).message == "Nothing to redo"


def test_whole_tag_edits_change_the_tag_set(store, ids):
    edits.add_tag(store, ids[:2], "dog")
    edits.add_tag(store, ids[2:3], "puppy")
    renamed = edits.rename_tag(store, "dog", " hound ")
    assert renamed.changed and renamed.tags_changed and renamed.image_ids == ()
    assert renamed.message == "Renamed 'dog' to 'hound'"
    merged = edits.merge_tags(store, ["puppy"], "hound")
    assert merged.message == "Merged 'puppy' into 'hound'" and merged.tags_changed
    assert store.images_with_tag("hound") == ids[:3]
    deleted = edits.delete_tag(store, "hound")
    assert deleted.message == "Deleted tag 'hound' (undo brings it back)"
    assert [t.name for t in store.tags()] == []


def test_a_refused_edit_says_why_and_raises_nothing(store, ids):
    edits.add_tag(store, ids[:1], "dog")
    edits.add_tag(store, ids[1:2], "cat")
    clash = edits.rename_tag(store, "cat", "dog")
    assert clash.refused and not clash.changed
    assert clash.message.startswith("Could not change labels: ") and "merge" in clash.message
    assert edits.add_tag(store, ids[:1], "a\nb").refused


def test_without_a_collection(ids):
    assert edits.add_tag(None, [1], "x").message == edits.NO_COLLECTION
    assert edits.reject_tag(None, [1], "x").refused
    assert edits.delete_tag(None, "x").message == edits.NO_COLLECTION
    assert edits.set_suggestion_cuts(None, 0.7, {}).message == edits.NO_COLLECTION
    assert edits.undo(None) == edits.NOTHING, "no folder: undo is quietly unavailable"
    assert edits.set_active_model(None, "m1") == edits.NOTHING


def test_suggestion_cuts(store, ids):
    edits.add_tag(store, ids[:1], "dog")
    assert edits.set_suggestion_cuts(store, None, {}) == edits.NOTHING
    result = edits.set_suggestion_cuts(store, 0.7, {"dog": 0.35})
    assert result.changed and result.suggestions_changed and not result.labels_changed
    assert result.message == "Suggesting a tag when it is at least 70% likely"
    assert store.min_likelihood() == pytest.approx(0.7)
    assert store.tag_thresholds() == {"dog": pytest.approx(0.35)}
    own = edits.set_suggestion_cuts(store, None, {"dog": None})
    assert own.message == "Per-tag suggestion cuts changed" and store.tag_thresholds() == {}
    bad = edits.set_suggestion_cuts(store, None, {"no such tag": 0.4})
    assert bad.refused and bad.suggestions_changed, "a refusal part-way re-derives too"
    assert bad.message.startswith("Could not change when tags are suggested: ")


def test_min_likelihood_back_to_the_default(store):
    edits.set_min_likelihood(store, 0.8)
    result = edits.set_min_likelihood(store, None)
    assert result.changed and result.message == (
        "Suggesting a tag when it is at least 50% likely (the default)"
    )
    assert store.min_likelihood() is None
    assert edits.set_min_likelihood(store, 1.5).refused


def test_active_model(store, tmp_path):
    for name in ("m1", "m2"):
        store.add_model(name, tmp_path / name, tags=["dog"], activate=False)
    result = edits.set_active_model(store, "m2")
    assert result.changed and result.model_changed and result.suggestions_changed
    assert result.message == "Suggestions now come from model m2"
    assert store.active_model().id == "m2"
    assert edits.set_active_model(store, "m2") == edits.NOTHING, "already active"
    missing = edits.set_active_model(store, "m9")
    assert missing.refused and missing.message.startswith("Could not switch to model m9: ")
    assert store.active_model().id == "m2"
