"""The one rule for when an unknown (image, tag) pair is shown as a suggestion.

A pair is shown when its score (a probability the out-of-fold scores keep
honest, DESIGN.md) reaches its tag's threshold, taken in this order:

1. the person's own cut for that tag (`store.tag_thresholds()`),
2. the collection's "suggest when at least P likely" (`store.min_likelihood()`),
3. `DEFAULT_MIN_LIKELIHOOD`.

The trainer's per-tag F1 cuts (manifest thresholds) are deliberately not part
of it: they let 5–6% scores through and made most shown suggestions wrong
(ADR 0017). Every place that decides what is shown (the grid's index, the
review queue, `suggest`, exports with suggestions) calls `suggestion_thresholds`,
so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # type-only, so importing this module never opens a cycle
    from clml_desktop.collection.store import CollectionStore

DEFAULT_MIN_LIKELIHOOD = 0.5


def min_likelihood(store: CollectionStore) -> float:
    """The collection's minimum likelihood, or the default when it was never set."""
    value = store.min_likelihood()
    return DEFAULT_MIN_LIKELIHOOD if value is None else float(value)


def resolve_thresholds(
    tag_names: Sequence[str], overrides: Mapping[str, float], collection_min: float | None
) -> np.ndarray:
    """Each tag's threshold: its override, else `collection_min`, else the default (float32)."""
    floor = DEFAULT_MIN_LIKELIHOOD if collection_min is None else float(collection_min)
    return np.array([overrides.get(name, floor) for name in tag_names], dtype=np.float32)


def suggestion_thresholds(store: CollectionStore, tag_names: Sequence[str]) -> np.ndarray:
    """The thresholds of `tag_names` (collection or model tag names) in this collection."""
    return resolve_thresholds(tag_names, store.tag_thresholds(), store.min_likelihood())
