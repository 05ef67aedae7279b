"""The one rule for what is shown (a tag's own cut → the collection's minimum likelihood →
the default; never the trainer's F1 cut) and the words every view uses for it."""

from __future__ import annotations

import numpy as np
import pytest

from clml_desktop.inference.likely_text import (
    cut_percent,
    cuts_text,
    likely_text,
    parse_percent,
    score_percent,
    shown_from_text,
)
from clml_desktop.inference.suggestions import SuggestionSet
from clml_desktop.inference.thresholds import (
    DEFAULT_MIN_LIKELIHOOD,
    min_likelihood,
    resolve_thresholds,
    suggestion_thresholds,
)


def test_rule_order_own_cut_then_collection_then_default():
    names = ["cat", "dog", "sky"]
    assert resolve_thresholds(names, {}, None).tolist() == [DEFAULT_MIN_LIKELIHOOD] * 3
    assert resolve_thresholds(names, {}, 0.75).tolist() == [0.75] * 3
    cuts = resolve_thresholds(names, {"dog": 0.25}, 0.75)
    assert cuts.dtype == np.float32 and cuts.tolist() == [0.75, 0.25, 0.75]
    assert resolve_thresholds(names, {"dog": 0.25}, None).tolist() == [0.5, 0.25, 0.5]


def test_default_is_a_likelihood_most_shown_suggestions_clear():
    assert DEFAULT_MIN_LIKELIHOOD == 0.5


def test_the_store_feeds_the_rule(collection):
    names = ["cat", "dog", "long hair", "sky"]
    assert min_likelihood(collection) == DEFAULT_MIN_LIKELIHOOD
    assert suggestion_thresholds(collection, names).tolist() == [0.5] * 4
    collection.set_min_likelihood(0.625)
    collection.set_tag_threshold("dog", 0.25)
    assert min_likelihood(collection) == 0.625
    assert suggestion_thresholds(collection, names).tolist() == [0.625, 0.25, 0.625, 0.625]
    collection.set_tag_threshold("dog", None)
    collection.set_min_likelihood(None)
    assert suggestion_thresholds(collection, names).tolist() == [0.5] * 4


def test_suggestion_sets_ignore_the_trainers_f1_cuts(collection, model_kit):
    """The test model's manifest says dog: 0.4 (an F1 cut); what is shown must not follow it."""
    assert model_kit.manifest.thresholds["dog"] == pytest.approx(0.4)
    collection.add_model(
        model_kit.manifest.id, str(model_kit.dir), tags=model_kit.manifest.tags, activate=True
    )
    found = SuggestionSet.build(collection)
    assert found.thresholds.tolist() == [0.5] * len(found.tag_names)
    collection.set_min_likelihood(0.7)
    collection.set_tag_threshold("cat", 0.2)
    found = SuggestionSet.build(collection)
    cuts = dict(zip(found.tag_names, found.thresholds.tolist(), strict=True))
    assert cuts == pytest.approx({"cat": 0.2, "dog": 0.7, "long hair": 0.7, "sky": 0.7, "tree": 0.7})


@pytest.mark.parametrize(
    ("score", "text"),
    [
        (0.823, "82%"), (0.829, "82%"), (0.5, "50%"), (np.float32(0.29), "29%"),
        (np.float32(0.57), "57%"), (1.0, "100%"), (0.004, "<1%"), (0.0, "<1%"), (float("nan"), "—"),
    ],
)
def test_scores_are_said_in_whole_percents_rounded_down(score, text):
    assert score_percent(score) == text


def test_a_shown_score_never_reads_below_the_cut_it_passed():
    for p in range(1, 100):
        cut = np.float32(p / 100)
        assert int(score_percent(cut)[:-1]) == p, p
        assert cut_percent(cut) == f"{p}%"


def test_cut_and_likely_wording():
    assert likely_text(0.8234) == "82% likely"
    assert shown_from_text(0.5) == "shown from 50%"
    assert shown_from_text(0.375) == "shown from 37.5%"
    assert cuts_text([0.5, np.float32(0.5)]) == "shown from 50%"
    assert cuts_text([0.8, 0.5, 0.6]) == "shown from 50%–80% (per-tag cuts)"
    assert cuts_text([]) == ""


def test_parse_percent():
    assert parse_percent("70") == pytest.approx(0.7)
    assert parse_percent(" 70 % ") == pytest.approx(0.7)
    assert parse_percent("37.5%") == pytest.approx(0.375)
    for bad in ("170", "-1", "lots", "%"):
        with pytest.raises(ValueError):
            parse_percent(bad)
