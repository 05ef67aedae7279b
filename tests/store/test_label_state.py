"""One label-state vocabulary (issue 12): the `LabelState` a caller hands the store
comes back the same from every read, while the database keeps its text spelling,
so collections written before the enum still open."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from clml_desktop.collection.labels import LabelState
from clml_desktop.collection.rows import LabelChange
from clml_desktop.collection.store import StoreError


def _stored_states(store) -> dict[int, str]:
    """image_id -> the raw `labels.state` text, read past the store's own API."""
    conn = sqlite3.connect(store.db_path)
    try:
        return dict(conn.execute("SELECT image_id, state FROM labels"))
    finally:
        conn.close()


def test_values_fit_the_int8_arrays_and_spellings_round_trip():
    assert [int(s) for s in LabelState] == [1, -1, 0]
    assert np.array(list(LabelState), dtype=np.int8).tolist() == [1, -1, 0]
    assert LabelState.POSITIVE.stored == "positive"
    assert LabelState.NEGATIVE.stored == "negative"
    assert LabelState.UNKNOWN.stored is None  # no row is stored for an unknown pair
    for state in LabelState:
        assert LabelState.from_stored(state.stored) is state
    with pytest.raises(ValueError, match="maybe"):
        LabelState.from_stored("maybe")


def test_each_state_round_trips_through_the_store(store, ids):
    states = list(LabelState)
    store.add_tag(ids[: len(states)], "cat")  # so UNKNOWN has a row to forget
    store.set_labels(
        [LabelChange(image_id, "cat", state) for image_id, state in zip(ids, states, strict=False)],
        "one of each",
    )
    raw = _stored_states(store)
    matrix = store.label_matrix()
    column = matrix.tag_names.index("cat")
    for image_id, state in zip(ids, states, strict=False):
        assert raw.get(image_id) == state.stored, "the database keeps its text spelling"
        read = [label.state for label in store.labels_of(image_id)]
        assert read == ([] if state is LabelState.UNKNOWN else [state])
        assert all(type(s) is LabelState for s in read)
        row = int(np.flatnonzero(matrix.image_ids == image_id)[0])
        assert matrix.states[row, column] == state
    assert store.images_with_tag("cat", LabelState.NEGATIVE) == [ids[1]]
    changes, _ = store.edit_changes(store.history(1)[0].id)
    assert {(c.image_id, c.old_state, c.new_state) for c in changes} == {
        (ids[1], LabelState.POSITIVE, LabelState.NEGATIVE),
        (ids[2], LabelState.POSITIVE, LabelState.UNKNOWN),
    }


def test_a_text_state_is_refused(store, ids):
    with pytest.raises(StoreError, match="LabelState"):
        store.set_labels([LabelChange(ids[0], "cat", "positive")], "old spelling")
    assert store.labels_of(ids[0]) == []
