"""The collection's minimum likelihood: stored in the collection (so the window and the
headless commands agree), a probability strictly between 0 and 1, kept across reopen."""

from __future__ import annotations

import math

import pytest

from clml_desktop.collection.store import MIN_LIKELIHOOD_KEY, CollectionStore, StoreError


def test_unset_until_someone_sets_it(collection):
    with CollectionStore.open(collection) as store:
        assert store.min_likelihood() is None


def test_set_persists_across_reopen_and_none_forgets_it(collection):
    with CollectionStore.open(collection) as store:
        store.set_min_likelihood(0.7)
        assert store.min_likelihood() == pytest.approx(0.7)
    with CollectionStore.open(collection) as store:
        assert store.min_likelihood() == pytest.approx(0.7)
        store.set_min_likelihood(0.35)
    with CollectionStore.open(collection) as store:
        assert store.min_likelihood() == pytest.approx(0.35)
        store.set_min_likelihood(None)
    with CollectionStore.open(collection) as store:
        assert store.min_likelihood() is None
        assert store._conn.execute(
            "SELECT COUNT(*) FROM meta WHERE key = ?", (MIN_LIKELIHOOD_KEY,)
        ).fetchone()[0] == 0


@pytest.mark.parametrize("bad", [0, 0.0, 1, 1.0, -0.2, 70, math.nan, math.inf, True, "0.7x"])
def test_anything_but_a_probability_between_0_and_1_is_refused(collection, bad):
    with CollectionStore.open(collection) as store:
        store.set_min_likelihood(0.6)
        with pytest.raises(StoreError, match="minimum likelihood must be a probability above 0 and below 1"):
            store.set_min_likelihood(bad)
        assert store.min_likelihood() == pytest.approx(0.6), "a refused value changes nothing"


def test_written_in_its_own_committed_transaction(collection):
    """Another connection (another process: the CLI while the window is open) sees it at once."""
    with CollectionStore.open(collection) as writer, CollectionStore.open(collection) as reader:
        writer.set_min_likelihood(0.8)
        assert not writer._conn.in_transaction
        assert reader.min_likelihood() == pytest.approx(0.8)


def test_a_damaged_value_reads_as_unset(collection):
    with CollectionStore.open(collection) as store:
        store._conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, 'lots')", (MIN_LIKELIHOOD_KEY,)
        )
        assert store.min_likelihood() is None
        store._conn.execute("UPDATE meta SET value = '1.5' WHERE key = ?", (MIN_LIKELIHOOD_KEY,))
        assert store.min_likelihood() is None
