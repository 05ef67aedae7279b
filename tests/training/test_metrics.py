"""Held-out metrics count only known labels; thresholds come from the held-out pairs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.metrics import (
    average_precision,
    calibration_error,
    calibration_on_confirmed,
    evaluation_rows,
    map_known,
    recall_at_precision,
)


def test_average_precision_hand_case():
    # ranking: P N P N -> precision at the positives 1/1 and 2/3
    ap = average_precision(np.array([0.9, 0.8, 0.7, 0.1]), np.array([1, 0, 1, 0]))
    assert ap == pytest.approx((1 + 2 / 3) / 2)


def test_average_precision_ties_are_pessimistic_and_no_positive_is_nan():
    assert average_precision(np.array([0.5, 0.5]), np.array([1, 0])) == pytest.approx(0.5)
    assert math.isnan(average_precision(np.array([0.3, 0.2]), np.array([0, 0])))


def test_map_ignores_unknown_pairs_on_unconfirmed_images():
    # one tag; image 1 is an unknown that the model scores highest (a hidden positive?)
    probs = np.array([[0.6], [0.9], [0.2]])
    targets = np.array([[1], [0], [0]], dtype=np.uint8)
    rejected = np.array([[False], [False], [True]])
    confirmed = np.array([False, False, False])
    result = map_known(probs, targets, rejected, confirmed)
    assert result.basis == "known"
    assert result.map == pytest.approx(1.0)  # image 1 is not counted against the model
    # once a person confirmed image 1's labels, its unknown counts as a negative
    result = map_known(probs, targets, rejected, np.array([False, True, False]))
    assert result.map == pytest.approx(0.5)


def test_map_falls_back_to_unknown_as_negative_without_known_negatives():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.4]])
    targets = np.array([[1, 0], [0, 1], [0, 0]], dtype=np.uint8)
    none = np.zeros_like(targets, dtype=bool)
    result = map_known(probs, targets, none, np.zeros(3, dtype=bool))
    assert result.basis == "unknown-as-negative"
    assert result.tags_scored == 2
    assert result.map == pytest.approx(1.0)


def test_map_skips_tags_without_a_positive_or_negative():
    probs = np.array([[0.9, 0.3], [0.1, 0.2]])
    targets = np.array([[1, 0], [0, 0]], dtype=np.uint8)
    confirmed = np.array([True, True])
    result = map_known(probs, targets, np.zeros_like(targets, dtype=bool), confirmed)
    assert result.tags_scored == 1 and math.isnan(result.per_tag[1])


def test_calibration_error_is_zero_for_honest_scores_and_large_for_confident_wrong_ones():
    rng = np.random.default_rng(0)
    probs = rng.uniform(0, 1, 20000)
    honest = rng.uniform(0, 1, 20000) < probs
    assert calibration_error(probs, honest) < 0.02
    assert calibration_error(np.full(100, 0.9), np.zeros(100, bool)) == pytest.approx(0.9)


def test_calibration_is_checked_only_on_enough_confirmed_images():
    probs = np.full((30, 2), 0.25)
    targets = np.zeros((30, 2), dtype=np.uint8)
    targets[:, 0] = 1
    confirmed = np.zeros(30, bool)
    confirmed[:19] = True
    assert calibration_on_confirmed(probs, targets, confirmed) is None
    confirmed[:20] = True
    check = calibration_on_confirmed(probs, targets, confirmed)
    assert check == {"ece": 0.25, "images": 20, "pairs": 40}  # all at 25%, half of them true


def test_recall_at_precision():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    labels = np.array([1, 1, 0, 1, 0])
    assert recall_at_precision(scores, labels, 0.9) == pytest.approx(2 / 3)
    assert recall_at_precision(scores, labels, 0.7) == pytest.approx(1.0)


def test_evaluation_prefers_confirmed_images_when_there_are_enough():
    confirmed = np.zeros(50, dtype=bool)
    confirmed[:25] = True
    rows = np.arange(1, 50)  # image 0 could not be scored
    picked, basis = evaluation_rows(confirmed, rows, min_confirmed=20)
    assert basis == "confirmed" and picked.tolist() == list(range(1, 25))
    picked, basis = evaluation_rows(confirmed, rows, min_confirmed=30)
    assert basis == "all" and picked.tolist() == rows.tolist()
