"""The review queue: which suggestions to ask about, in which order, and where a
person stands in it (the cursor and the verdicts so far).

The queue's *order* comes from `clml_desktop.inference.suggestions` (most
confident or most uncertain first), with the thresholds the grid's badges and
exports use, so review offers exactly what they count; `load_queue` reads it
off the collection (a worker thread in the window). `ReviewQueue` only walks
it, one suggestion at a time or one image at a time, and remembers what was
decided so going back shows it. Qt-free, so the walking rules are tested on
their own and the window's item model stays a thin view (DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from clml_contract.progress import Control
from clml_desktop.collection.store import CollectionStore
from clml_desktop.inference.suggestions import ScoredPair, SuggestionSet

# The most suggestions one review loads at a time.
QUEUE_LIMIT = 20000


class ReviewOrder(StrEnum):
    CONFIDENT = "confident"
    UNCERTAIN = "uncertain"


class ReviewMode(StrEnum):
    PAIRS = "pairs"
    IMAGES = "images"


def load_queue(
    control: Control, root: Path, order: str, limit: int = QUEUE_LIMIT
) -> list[ScoredPair]:
    """The active model's suggestions of the collection at `root` in review `order`
    (a `ReviewOrder` value); empty when no model is active."""
    with CollectionStore.open(Path(root)) as store:
        if store.active_model() is None:
            return []
        control.check()
        suggestions = SuggestionSet.build(store)
        control.check()
        if order == ReviewOrder.UNCERTAIN:
            return suggestions.most_uncertain(limit)
        return suggestions.most_confident(limit)


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SKIPPED = "skipped"


@dataclass
class ReviewItem:
    pair: ScoredPair
    verdict: Verdict | None = None

    @property
    def image_id(self) -> int:
        return self.pair.image_id

    @property
    def tag(self) -> str:
        return self.pair.tag


class ReviewQueue:
    """A queue of suggestions with a cursor.

    In `PAIRS` mode the cursor visits every suggestion in queue order. In
    `IMAGES` mode suggestions are grouped by image (images in the order of
    their best suggestion) and the cursor visits each image's suggestions
    before moving on. `is_open(item)` says whether a pair is still unknown in
    the collection (a person may have decided it elsewhere); closed pairs are
    passed over.
    """

    def __init__(
        self,
        pairs: Sequence[ScoredPair],
        mode: ReviewMode = ReviewMode.PAIRS,
        is_open: Callable[[ReviewItem], bool] | None = None,
    ) -> None:
        self._is_open = is_open or (lambda _item: True)
        self.mode = mode
        self.items: list[ReviewItem] = []
        self._arrange([ReviewItem(p) for p in pairs])
        self.pos = -1
        self._history: list[list[int]] = []
        self.pos = self._find_open(0, +1)

    # ---- reading ------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.items)

    @property
    def current(self) -> ReviewItem | None:
        return self.items[self.pos] if 0 <= self.pos < len(self.items) else None

    @property
    def finished(self) -> bool:
        return self.current is None

    def counts(self) -> dict[str, int]:
        """How many were accepted, rejected, skipped, and how many are left."""
        out = {v.value: 0 for v in Verdict}
        for item in self.items:
            if item.verdict is not None:
                out[item.verdict.value] += 1
        out["left"] = sum(1 for item in self.items if item.verdict is None)
        return out

    def image_items(self, image_id: int | None = None) -> list[ReviewItem]:
        """The queue's suggestions for one image (default: the current one), in order."""
        if image_id is None:
            if self.current is None:
                return []
            image_id = self.current.image_id
        return [item for item in self.items if item.image_id == image_id]

    def upcoming_images(self, count: int) -> list[int]:
        """The next `count` distinct images after the current one (for preloading)."""
        seen: list[int] = []
        start = max(self.pos, 0)
        current = self.current.image_id if self.current is not None else None
        for item in self.items[start:]:
            if item.image_id != current and item.image_id not in seen and item.verdict is None:
                seen.append(item.image_id)
                if len(seen) >= count:
                    break
        return seen

    # ---- moving -------------------------------------------------------------

    def decide(self, verdict: Verdict) -> ReviewItem | None:
        """Record `verdict` on the current item and move to the next open one."""
        item = self.current
        if item is None:
            return None
        item.verdict = verdict
        self._history.append([self.pos])
        self.pos = self._find_open(self.pos + 1, +1)
        return item

    def accept_image_above_threshold(self) -> list[ReviewItem]:
        """Mark every undecided, passing suggestion of the current image accepted;
        returns them (the caller writes them to the store as one edit)."""
        if self.current is None:
            return []
        chosen = [
            item
            for item in self.image_items()
            if item.verdict is None and item.pair.passes and self._is_open(item)
        ]
        for item in chosen:
            item.verdict = Verdict.ACCEPTED
        if chosen:
            self._history.append([self.items.index(item) for item in chosen])
        image_id = self.current.image_id
        self.pos = self._find_open(self.pos, +1, skip_image=image_id)
        return chosen

    def next_image(self) -> None:
        """Jump to the first open suggestion of the next image."""
        if self.current is None:
            return
        self.pos = self._find_open(self.pos, +1, skip_image=self.current.image_id)

    def previous_image(self) -> None:
        """Jump back to the previous image's first suggestion (decided or not, to revisit)."""
        start = self.pos if self.current is not None else len(self.items)
        here = self.items[start].image_id if start < len(self.items) else None
        i = start - 1
        while i >= 0 and self.items[i].image_id == here:
            i -= 1
        if i < 0:
            return
        target = self.items[i].image_id
        while i - 1 >= 0 and self.items[i - 1].image_id == target:
            i -= 1
        self.pos = i

    def step_back(self) -> list[ReviewItem]:
        """Undo the last decision (one item, or one accept-all): clear the verdicts
        and put the cursor back on it. Returns the items whose verdict was cleared."""
        if not self._history:
            return []
        indexes = self._history.pop()
        items = [self.items[i] for i in indexes]
        for item in items:
            item.verdict = None
        self.pos = min(indexes)
        return items

    def last_decision(self) -> list[ReviewItem]:
        """The items of the most recent decision (empty when none)."""
        return [self.items[i] for i in self._history[-1]] if self._history else []

    def go_to(self, index: int) -> None:
        if 0 <= index < len(self.items):
            self.pos = index

    # ---- internals ------------------------------------------------------------

    def _arrange(self, items: list[ReviewItem]) -> None:
        if self.mode is ReviewMode.IMAGES:
            groups: dict[int, list[ReviewItem]] = {}
            for item in items:
                groups.setdefault(item.image_id, []).append(item)
            items = [item for group in groups.values() for item in group]
        self.items = items

    def _find_open(self, start: int, step: int, skip_image: int | None = None) -> int:
        i = start
        while 0 <= i < len(self.items):
            item = self.items[i]
            if item.verdict is None and item.image_id != skip_image and self._is_open(item):
                return i
            i += step
        return -1
