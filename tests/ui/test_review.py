"""Review mode: keyboard-only accept/reject/skip, image navigation, accept-all on an
image, the review's own undo, both orders and modes, and the Qt-free queue walker."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from panel_helpers import close_context, open_context  # noqa: E402

from clml_desktop.collection.labels import LabelSource, LabelState  # noqa: E402
from clml_desktop.inference.likely_text import likely_text, score_percent  # noqa: E402
from clml_desktop.inference.suggestions import ScoredPair  # noqa: E402
from clml_desktop.ui.review import REVIEW_KEYS, ReviewView  # noqa: E402
from clml_desktop.workflow.review_queue import ReviewMode, ReviewOrder, ReviewQueue, Verdict  # noqa: E402


@pytest.fixture
def review(tmp_path, qtbot):
    context, info = open_context(tmp_path, qtbot)
    view = ReviewView(context)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    qtbot.waitUntil(lambda: view.queue is not None and len(view.queue) > 0, timeout=10000)
    yield view, context, info
    close_context(context, view)


def label(context, image_id: int, tag: str):
    return next((r for r in context.store.labels_of(image_id) if r.tag == tag), None)


def test_keys_accept_reject_skip_write_the_store(review, qtbot):
    view, context, _info = review
    queue = view.queue
    scores = [item.pair.score for item in queue.items]
    assert scores == sorted(scores, reverse=True), "most confident first by default"
    first, second, third = (queue.items[i] for i in range(3))

    qtbot.keyClick(view, Qt.Key.Key_A)
    row = label(context, first.image_id, first.tag)
    assert row.state == LabelState.POSITIVE and row.source == LabelSource.ACCEPTED.value

    qtbot.keyClick(view, Qt.Key.Key_N)
    assert label(context, second.image_id, second.tag).state == LabelState.NEGATIVE

    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert label(context, third.image_id, third.tag) is None
    assert queue.current is queue.items[3]
    assert queue.counts() == {"accepted": 1, "rejected": 1, "skipped": 1, "left": len(queue) - 3}
    assert "3 of" in view.progress_label.text() and "1 skipped" in view.progress_label.toolTip()
    assert context.store.history(1)[0].description.startswith("Rejected")


def test_review_undo_reverts_the_store_and_goes_back(review, qtbot):
    view, context, _info = review
    first = view.queue.current
    qtbot.keyClick(view, Qt.Key.Key_Y)
    assert label(context, first.image_id, first.tag) is not None
    qtbot.keyClick(view, Qt.Key.Key_U)
    assert label(context, first.image_id, first.tag) is None
    assert view.queue.current is first and first.verdict is None


def test_many_decisions_by_keyboard_alone(review, qtbot):
    view, context, _info = review
    total = len(view.queue)
    keys = [Qt.Key.Key_A, Qt.Key.Key_R, Qt.Key.Key_S]
    for i in range(total):
        qtbot.keyClick(view, keys[i % 3])
    assert view.queue.finished
    counts = view.queue.counts()
    assert counts["left"] == 0 and counts["accepted"] + counts["rejected"] + counts["skipped"] == total
    accepted = sum(1 for r in context.store.history(200) if r.description.startswith("Accepted"))
    assert accepted == counts["accepted"]
    assert "All done" in view.question.text()


def test_image_mode_next_previous_and_accept_all(review, qtbot):
    view, context, _info = review
    view.set_mode(ReviewMode.IMAGES)
    queue = view.queue
    image = queue.current.image_id
    group = queue.image_items()
    assert all(item.image_id == image for item in group)
    assert queue.items[: len(group)] == group

    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.queue.current.image_id != image
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert view.queue.current.image_id == image

    passing = [item.tag for item in group if item.pair.passes]
    qtbot.keyClick(view, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    positives = {r.tag for r in context.store.labels_of(image) if r.state == LabelState.POSITIVE}
    assert set(passing) <= positives
    assert view.queue.current is None or view.queue.current.image_id != image
    assert context.undo(), "accept-all is one undo step"
    after = {r.tag for r in context.store.labels_of(image) if r.state == LabelState.POSITIVE}
    assert not set(passing) & after


def test_uncertain_order_puts_scores_near_the_threshold_first(review, qtbot):
    view, _context, _info = review
    with qtbot.waitSignal(view.queueLoaded, timeout=10000):
        view.set_order(ReviewOrder.UNCERTAIN)
    assert not view.is_loading()
    distances = [abs(i.pair.score - i.pair.threshold) for i in view.queue.items]
    assert distances == sorted(distances)


def test_pairs_decided_elsewhere_are_passed_over(review, qtbot):
    view, context, _info = review
    queue = view.queue
    upcoming = queue.items[1]
    context.reject_tag([upcoming.image_id], upcoming.tag)
    qtbot.keyClick(view, Qt.Key.Key_S)
    assert queue.current is not upcoming


def _pair(image: int, tag: str, score: float) -> ScoredPair:
    return ScoredPair(image_id=image, path=f"{image}.png", tag=tag, tag_id=1, score=score, threshold=0.5,
                      kind="oof")


def test_queue_walker_without_qt():
    pairs = [_pair(1, "a", 0.9), _pair(2, "a", 0.8), _pair(1, "b", 0.7), _pair(3, "c", 0.4)]
    by_image = ReviewQueue(pairs, ReviewMode.IMAGES)
    assert [(i.image_id, i.tag) for i in by_image.items] == [(1, "a"), (1, "b"), (2, "a"), (3, "c")]
    assert by_image.upcoming_images(2) == [2, 3]
    accepted = by_image.accept_image_above_threshold()
    assert [i.tag for i in accepted] == ["a", "b"] and by_image.current.image_id == 2
    assert [i.tag for i in by_image.step_back()] == ["a", "b"]
    assert by_image.current.image_id == 1 and all(i.verdict is None for i in by_image.items)

    pairwise = ReviewQueue(pairs, ReviewMode.PAIRS)
    pairwise.decide(Verdict.SKIPPED)
    pairwise.next_image()
    assert pairwise.current.image_id == 1 and pairwise.current.tag == "b"
    pairwise.previous_image()
    assert pairwise.current.image_id == 2


def test_min_likelihood_decides_what_is_reviewed(review, qtbot):
    view, context, _info = review
    shown_before = len(view.queue)
    with qtbot.waitSignal(view.queueLoaded, timeout=10000):
        assert context.set_suggestion_cuts(0.9, {})
    assert view.queue.items and all(item.pair.score >= item.pair.threshold for item in view.queue.items)
    assert all(item.pair.threshold == pytest.approx(0.9) for item in view.queue.items)
    assert len(view.queue) < shown_before
    qtbot.waitUntil(lambda: not context.index_pending(), timeout=10000)
    assert len(view.queue) == int(context.index.pending.sum()), "review offers what the grid counts"


def test_review_says_how_likely_and_from_where_it_is_shown(review):
    view, _context, _info = review
    pair = view.queue.current.pair
    text = view.score_bar.text()
    assert text == f"{likely_text(pair.score)}  ·  shown from 50%"
    assert view.model.headerData(2, Qt.Orientation.Horizontal) == "Likely"
    cell = view.model.index(0, 2)
    assert view.model.data(cell) == score_percent(pair.score)
    assert "likely, shown from 50%" in view.model.data(cell, Qt.ItemDataRole.ToolTipRole)


def _all_labels(context) -> dict[tuple[int, str], tuple[LabelState, str]]:
    return {
        (row.id, label.tag): (label.state, label.source)
        for row in context.store.images() for label in context.store.labels_of(row.id)
    }


def _press(qtbot, view, key_text: str) -> None:
    combo = QKeySequence(key_text)[0]
    qtbot.keyClick(view, combo.key(), combo.keyboardModifiers())


def _check_accept(qtbot, view, context, key):
    item = view.queue.current
    before = _all_labels(context)
    _press(qtbot, view, key)
    after = _all_labels(context)
    assert after.pop((item.image_id, item.tag)) == (LabelState.POSITIVE, LabelSource.ACCEPTED.value)
    assert after == before, "only the current pair changes"
    assert view.queue.current is not item


def _check_reject(qtbot, view, context, key):
    item = view.queue.current
    before = _all_labels(context)
    _press(qtbot, view, key)
    after = _all_labels(context)
    assert after.pop((item.image_id, item.tag))[0] == LabelState.NEGATIVE
    assert after == before
    assert view.queue.current is not item


def _check_skip(qtbot, view, context, key):
    item = view.queue.current
    before = _all_labels(context)
    _press(qtbot, view, key)
    assert _all_labels(context) == before, "a skip writes nothing"
    assert item.verdict is Verdict.SKIPPED and view.queue.current is not item


def _check_step_back(qtbot, view, context, key):
    item = view.queue.current
    before = _all_labels(context)
    _press(qtbot, view, "A")
    assert _all_labels(context) != before
    _press(qtbot, view, key)
    assert _all_labels(context) == before, "the accepted tag is gone from the store again"
    assert view.queue.current is item and item.verdict is None


def _check_next_image(qtbot, view, context, key):
    view.set_mode(ReviewMode.IMAGES)
    image = view.queue.current.image_id
    before = _all_labels(context)
    _press(qtbot, view, key)
    assert view.queue.current.image_id != image
    assert _all_labels(context) == before, "moving on writes nothing"


def _check_previous_image(qtbot, view, context, key):
    view.set_mode(ReviewMode.IMAGES)
    image = view.queue.current.image_id
    _press(qtbot, view, "Right")
    before = _all_labels(context)
    _press(qtbot, view, key)
    assert view.queue.current.image_id == image
    assert _all_labels(context) == before


def _check_accept_image(qtbot, view, context, key):
    view.set_mode(ReviewMode.IMAGES)
    queue = view.queue
    mixed = next(
        image for image in dict.fromkeys(i.image_id for i in queue.items)
        if {i.pair.passes for i in queue.items if i.image_id == image} == {True, False}
    )
    while queue.current.image_id != mixed:
        _press(qtbot, view, "Right")
    group = queue.image_items()
    before = _all_labels(context)
    _press(qtbot, view, key)
    after = _all_labels(context)
    for item in group:
        expected = (LabelState.POSITIVE, LabelSource.ACCEPTED.value) if item.pair.passes else None
        assert after.pop((item.image_id, item.tag), None) == expected, (item.tag, item.pair.score)
    assert after == before, "no other image changes"
    assert queue.current is None or queue.current.image_id != mixed


KEY_CHECKS = {
    "accept": _check_accept,
    "reject": _check_reject,
    "skip": _check_skip,
    "step_back": _check_step_back,
    "next_image": _check_next_image,
    "previous_image": _check_previous_image,
    "accept_image": _check_accept_image,
}


def test_every_review_command_has_a_key_test():
    assert set(KEY_CHECKS) == {spec.command for spec in REVIEW_KEYS}


@pytest.mark.parametrize(("command", "key"), [(s.command, k) for s in REVIEW_KEYS for k in s.keys])
def test_each_review_key_writes_the_store(review, qtbot, command, key):
    """Every key the help lists, pressed on the review widget, with the store checked after."""
    view, context, _info = review
    if command == "accept_image":  # needs suggestions below threshold too: the uncertain order has them
        with qtbot.waitSignal(view.queueLoaded, timeout=10000):
            view.set_order(ReviewOrder.UNCERTAIN)
    KEY_CHECKS[command](qtbot, view, context, key)
