"""Every change a person makes to a collection, performed in one Qt-free place.

Why: the window and the command line (`review`, `settings`) make the same
edits. Each function here performs one against a store and answers with an
`EditResult`: whether anything changed, the sentence to show ("Accepted 'dog'
on 12 images"), and what a view must refresh. The window's `AppContext` applies
the result (patches its label index, emits its signals); the CLI prints the
sentence. So both say the same words and follow the same rules.

A refused edit (a bad tag name, a read-only folder, an unknown model) is an
`EditResult` with `refused=True` and a sentence naming why, never an
exception: the window must stay alive and the CLI exits with the sentence.
A store of None is the window with no folder open.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from clml_desktop.collection.labels import LabelSource, LabelState
from clml_desktop.collection.rows import LabelChange
from clml_desktop.collection.store import CollectionStore, StoreError
from clml_desktop.inference.likely_text import cut_percent
from clml_desktop.inference.thresholds import min_likelihood as effective_min_likelihood

NO_COLLECTION = "Open a folder first"
# What a store refuses an edit with; anything else is a bug and propagates.
_REFUSALS = (StoreError, ValueError, sqlite3.Error, OSError)


class LabelPatch(NamedTuple):
    """After the edit, `tag` is in `state` on `image_ids`: the label index applies it
    with `index.set_state(*patch)` instead of reading the collection again."""

    image_ids: list[int]
    tag: str
    state: LabelState


@dataclass(frozen=True)
class EditResult:
    """What one edit did. `message` is "" when there is nothing worth saying.

    `labels_changed`: labels of `image_ids` may differ (all images when empty);
    `tags_changed`: the set or names of tags changed; `suggestions_changed`:
    what is suggested changed (cuts, the active model, also after a refusal
    that wrote part of it); `model_changed`: the active model changed.
    `edit_id`: the undo step a label or tag edit made (the CLI names it).
    """

    changed: bool
    message: str = ""
    image_ids: tuple[int, ...] = ()
    labels_changed: bool = False
    tags_changed: bool = False
    suggestions_changed: bool = False
    model_changed: bool = False
    patch: LabelPatch | None = None
    refused: bool = False
    edit_id: int | None = None


NOTHING = EditResult(False)
_NO_COLLECTION = EditResult(False, NO_COLLECTION, refused=True)


def images_word(n: int) -> str:
    """'1 image', '12 images'."""
    return f"{n} image" if n == 1 else f"{n} images"


def _there(n: int) -> str:
    return "that image" if n == 1 else "those images"


def _label_edit(
    write: Callable[[], int | None],
    image_ids: list[int],
    done: str,
    unchanged: str,
    *,
    patch: LabelPatch | None = None,
    tags_changed: bool = False,
) -> EditResult:
    """Run one store edit (`write` returns its edit id, None when nothing changed)."""
    try:
        edit_id = write()
    except _REFUSALS as exc:
        return EditResult(False, f"Could not change labels: {exc}", refused=True)
    if edit_id is None:
        return EditResult(False, unchanged)
    return EditResult(True, done, tuple(image_ids), labels_changed=True,
                      tags_changed=tags_changed, patch=patch, edit_id=edit_id)


# ---- labels of images -------------------------------------------------------


def add_tag(store: CollectionStore | None, image_ids: Iterable[int], tag: str) -> EditResult:
    """Make `tag` positive (source manual) on the images; a new tag is created."""
    ids = [int(i) for i in image_ids]
    tag = tag.strip()
    if not ids or not tag:
        return NOTHING
    if store is None:
        return _NO_COLLECTION
    text = f"Added '{tag}' to {images_word(len(ids))}"
    is_new = store.tag_id(tag) is None
    return _label_edit(
        lambda: store.add_tag(ids, tag, description=text), ids, text,
        f"'{tag}' was already on {_there(len(ids))}",
        patch=LabelPatch(ids, tag, LabelState.POSITIVE), tags_changed=is_new,
    )


def remove_tag(store: CollectionStore | None, image_ids: Iterable[int], tag: str) -> EditResult:
    """A person says `tag` is not on the images: where it was positive it becomes a
    rejection, as Reject makes it (ADR 0019); the other images are left alone."""
    ids = [int(i) for i in image_ids]
    if store is None:
        return _NO_COLLECTION
    text = f"Removed '{tag}' from {images_word(len(ids))} (won't be suggested again)"
    wanted = set(ids)  # the positives among them are what the edit turns, so the patch
    had = [i for i in store.images_with_tag(tag) if i in wanted]
    return _label_edit(
        lambda: store.remove_tag(ids, tag, description=text), ids, text,
        f"'{tag}' was not on {_there(len(ids))}",
        patch=LabelPatch(had, tag, LabelState.NEGATIVE),
    )


def forget_tag(store: CollectionStore | None, image_ids: Iterable[int], tag: str) -> EditResult:
    """Return `tag` to unknown on the images (take back a rejection)."""
    return _set_every(store, image_ids, tag, CollectionStore.forget_tag, LabelState.UNKNOWN,
                      "Forgot '{tag}' on {images} (unknown again)",
                      "'{tag}' was neither on nor rejected there")


def reject_tag(store: CollectionStore | None, image_ids: Iterable[int], tag: str) -> EditResult:
    """Mark `tag` as a confirmed negative (a person said: not on these)."""
    return _set_every(store, image_ids, tag, CollectionStore.reject_tag, LabelState.NEGATIVE,
                      "Rejected '{tag}' on {images}", "'{tag}' was already rejected there")


def accept_suggestion(
    store: CollectionStore | None, image_ids: Iterable[int], tag: str
) -> EditResult:
    """Make a suggested tag positive with source accepted-suggestion."""
    return _set_every(store, image_ids, tag, CollectionStore.accept_suggestion, LabelState.POSITIVE,
                      "Accepted '{tag}' on {images}", "'{tag}' was already accepted there")


def _set_every(
    store: CollectionStore | None,
    image_ids: Iterable[int],
    tag: str,
    verb: Callable[..., int | None],
    state: LabelState,
    done: str,
    unchanged: str,
) -> EditResult:
    """One store `verb` that leaves every given pair in `state`, said in `done`."""
    ids = [int(i) for i in image_ids]
    if store is None:
        return _NO_COLLECTION
    text = done.format(tag=tag, images=images_word(len(ids)))
    return _label_edit(
        lambda: verb(store, ids, tag, description=text), ids, text,
        unchanged.format(tag=tag), patch=LabelPatch(ids, tag, state),
    )


def accept_suggestions(
    store: CollectionStore | None, image_id: int, tags: Iterable[str]
) -> EditResult:
    """Accept several suggestions of one image as ONE edit (review's accept-all),
    so a single undo takes them all back."""
    names = list(dict.fromkeys(t for t in tags if t))
    if not names:
        return NOTHING
    if store is None:
        return _NO_COLLECTION
    is_new = any(store.tag_id(t) is None for t in names)
    text = f"Accepted {', '.join(repr(t) for t in names)} on 1 image"
    changes = [
        LabelChange(int(image_id), t, LabelState.POSITIVE, LabelSource.ACCEPTED.value)
        for t in names
    ]
    return _label_edit(
        lambda: store.set_labels(changes, text), [int(image_id)], text,
        "Those suggestions were already accepted there", tags_changed=is_new,
    )


# ---- whole tags ---------------------------------------------------------------


def rename_tag(store: CollectionStore | None, tag: str, new_name: str) -> EditResult:
    """Change a tag's spelling everywhere (a name another tag has is refused)."""
    if store is None:
        return _NO_COLLECTION
    new_name = new_name.strip()
    return _label_edit(
        lambda: store.rename_tag(tag, new_name), [], f"Renamed '{tag}' to '{new_name}'",
        f"'{tag}' already has that name", tags_changed=True,
    )


def merge_tags(store: CollectionStore | None, sources: Iterable[str], target: str) -> EditResult:
    """Fold `sources` into `target` (created if new) and delete them."""
    if store is None:
        return _NO_COLLECTION
    sources = list(sources)
    names = ", ".join(f"'{s}'" for s in sources)
    return _label_edit(
        lambda: store.merge_tags(sources, target), [], f"Merged {names} into '{target}'",
        "Nothing to merge", tags_changed=True,
    )


def delete_tag(store: CollectionStore | None, tag: str) -> EditResult:
    """Remove a tag and its labels (one undo brings both back)."""
    if store is None:
        return _NO_COLLECTION
    return _label_edit(
        lambda: store.delete_tag(tag), [], f"Deleted tag '{tag}' (undo brings it back)",
        f"'{tag}' was already deleted", tags_changed=True,
    )


# ---- history -------------------------------------------------------------------


def undo(store: CollectionStore | None) -> EditResult:
    """Undo the newest edit (a batch edit is one step)."""
    return _history_step(store, undo=True)


def redo(store: CollectionStore | None) -> EditResult:
    """Re-apply the edit undone last."""
    return _history_step(store, undo=False)


def _history_step(store: CollectionStore | None, *, undo: bool) -> EditResult:
    if store is None:
        return NOTHING
    try:
        description = store.undo() if undo else store.redo()
    except _REFUSALS as exc:
        return EditResult(False, f"Could not {'undo' if undo else 'redo'}: {exc}", refused=True)
    if description is None:
        return EditResult(False, "Nothing to undo" if undo else "Nothing to redo")
    return EditResult(True, f"{'Undone' if undo else 'Redone'}: {description}",
                      labels_changed=True, tags_changed=True)


# ---- when tags are suggested, and from which model -----------------------------------


def set_suggestion_cuts(
    store: CollectionStore | None,
    min_likelihood: float | None,
    tag_cuts: Mapping[str, float | None],
) -> EditResult:
    """Write the collection's minimum likelihood (None: keep it) and per-tag cuts (a
    value, or None to drop that tag's own cut). Suggestions are then re-derived from
    the cached scores; nothing is re-scored."""
    if store is None:
        return _NO_COLLECTION
    if min_likelihood is None and not tag_cuts:
        return NOTHING
    try:
        if min_likelihood is not None:
            store.set_min_likelihood(min_likelihood)
        for tag, value in tag_cuts.items():
            store.set_tag_threshold(tag, value)
    except _REFUSALS as exc:
        return EditResult(False, f"Could not change when tags are suggested: {exc}",
                          suggestions_changed=True, refused=True)
    if min_likelihood is not None:
        text = f"Suggesting a tag when it is at least {cut_percent(min_likelihood)} likely"
    else:
        text = "Per-tag suggestion cuts changed"
    return EditResult(True, text, suggestions_changed=True)


def set_min_likelihood(store: CollectionStore, value: float | None) -> EditResult:
    """Set the collection's minimum likelihood, or with None go back to the default
    (the command line's `settings --min-likely default`)."""
    try:
        store.set_min_likelihood(value)
    except _REFUSALS as exc:
        return EditResult(False, f"Could not change when tags are suggested: {exc}", refused=True)
    default = " (the default)" if value is None else ""
    percent = cut_percent(effective_min_likelihood(store))
    return EditResult(True, f"Suggesting a tag when it is at least {percent} likely{default}",
                      suggestions_changed=True)


def set_active_model(store: CollectionStore | None, model_id: str) -> EditResult:
    """Take suggestions from `model_id`; nothing changes when it is active already."""
    if store is None:
        return NOTHING
    current = store.active_model()
    if current is not None and current.id == model_id:
        return NOTHING
    try:
        store.set_active_model(model_id)
    except _REFUSALS as exc:
        return EditResult(False, f"Could not switch to model {model_id}: {exc}", refused=True)
    return EditResult(True, f"Suggestions now come from model {model_id}",
                      suggestions_changed=True, model_changed=True)
