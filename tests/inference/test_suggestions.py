"""Suggestions from cached scores: what is offered, with which threshold, in which order."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from clml_desktop.collection.labels import Suggestion
from clml_desktop.collection.rows import PredictionIn, TagRow
from clml_desktop.inference.errors import InferenceError, TagMismatchError
from clml_desktop.inference.suggestions import SuggestionSet, suggestions_for_export
from clml_desktop.inference.tagmap import TagMap

# model tag order: cat, dog, long_hair, sky, tree
SCORES = {
    "plain.jpg": [0.90, 0.95, 0.10, 0.20, 0.30],  # cat positive, dog rejected
    "large.jpg": [0.01, 0.45, 0.55, 0.70, 0.10],  # cat positive but scored 0.01: likely wrong
    "grey.png": [0.52, 0.05, 0.99, 0.10, 0.80],  # long hair positive
    "alpha.png": [0.30, 0.39, 0.51, 0.60, 0.49],  # grass positive (the model lacks grass)
    "rotated.jpg": [0.85, 0.10, 0.10, 0.10, 0.10],
    "palette.png": [0.10, 0.10, 0.10, 0.10, 0.10],
    "deep16.png": [0.48, 0.41, 0.10, 0.10, 0.10],
}


@pytest.fixture
def scored(collection, model_kit):
    store = collection
    store.add_model(
        model_kit.manifest.id, str(model_kit.dir), tags=model_kit.manifest.tags, activate=True
    )
    rows = []
    for path, probs in SCORES.items():
        image = store.image_by_path(path)
        rows.append(
            PredictionIn(image.id, image.version, "engine", np.array(probs, np.float32), None)
        )
    store.put_predictions(model_kit.manifest.id, rows)
    return store


def _pairs(pairs):
    return [(p.path, p.tag) for p in pairs]


def test_positives_and_rejections_are_never_suggested(scored):
    pairs = _pairs(SuggestionSet.build(scored).unknown_pairs(min_score=0.0))
    assert ("plain.jpg", "cat") not in pairs and ("large.jpg", "cat") not in pairs
    assert ("plain.jpg", "dog") not in pairs, "a rejected tag stays rejected"
    assert ("grey.png", "long hair") not in pairs
    assert len(pairs) == 7 * 5 - 4


def test_tags_map_by_alias_and_new_tags_are_flagged(scored):
    result = SuggestionSet.build(scored)
    assert result.tag_names == ["cat", "dog", "long hair", "sky", "tree"]
    pairs = result.unknown_pairs()
    assert {p.tag for p in pairs if p.is_new_tag} == {"sky", "tree"}
    assert "grass" not in result.tag_names and "long_hair" not in result.tag_names


def test_thresholds_own_cut_then_collection_then_default_never_manifest(scored):
    passing = _pairs(SuggestionSet.build(scored).unknown_pairs())
    assert ("large.jpg", "dog") not in passing, "0.45: the manifest's F1 cut (0.4) is not used"
    assert ("alpha.png", "long hair") in passing  # 0.51 ≥ the default 0.5
    scored.set_min_likelihood(0.44)
    passing = _pairs(SuggestionSet.build(scored).unknown_pairs())
    assert ("large.jpg", "dog") in passing and ("deep16.png", "dog") not in passing  # 0.45, 0.41
    scored.set_tag_threshold("dog", 0.4)
    passing = _pairs(SuggestionSet.build(scored).unknown_pairs())
    assert ("deep16.png", "dog") in passing and ("alpha.png", "dog") not in passing  # 0.41, 0.39
    pair = next(p for p in SuggestionSet.build(scored).unknown_pairs() if p.tag == "dog")
    assert pair.threshold == pytest.approx(0.4)
    other = next(p for p in SuggestionSet.build(scored).unknown_pairs() if p.tag != "dog")
    assert other.threshold == pytest.approx(0.44)


def test_min_score_replaces_the_threshold(scored):
    pairs = SuggestionSet.build(scored).unknown_pairs(min_score=0.8)
    assert all(p.score >= 0.8 for p in pairs)
    assert _pairs(pairs) == [("rotated.jpg", "cat"), ("grey.png", "tree")]


def test_most_confident_first(scored):
    queue = SuggestionSet.build(scored).most_confident()
    scores = [p.score for p in queue]
    assert scores == sorted(scores, reverse=True) and all(p.passes for p in queue)
    assert (queue[0].path, queue[0].tag) == ("rotated.jpg", "cat")


def test_most_uncertain_first(scored):
    queue = SuggestionSet.build(scored).most_uncertain(limit=3)
    distances = [abs(p.score - p.threshold) for p in queue]
    assert distances == sorted(distances)
    assert {(p.path, p.tag) for p in queue} >= {("alpha.png", "tree"), ("alpha.png", "long hair")}


def test_by_tag_and_by_image(scored):
    result = SuggestionSet.build(scored)
    assert _pairs(result.for_tag("cat")) == [("rotated.jpg", "cat"), ("grey.png", "cat")]
    assert result.for_tag("grass") == []
    grey = scored.image_by_path("grey.png").id
    by_image = result.for_image(grey)
    assert [p.tag for p in by_image] == ["tree", "cat", "sky", "dog"]
    assert [p.passes for p in by_image] == [True, True, False, False]


def test_likely_wrong_positives(scored):
    wrong = SuggestionSet.build(scored).likely_wrong()
    assert _pairs(wrong) == [("large.jpg", "cat")]


def test_out_of_fold_scores_win_over_engine_scores(scored, model_kit):
    image = scored.image_by_path("palette.png")
    oof = PredictionIn(
        image.id, image.version, "oof", np.array([0.97, 0.1, 0.1, 0.1, 0.1], np.float32)
    )
    scored.put_predictions(model_kit.manifest.id, [oof])
    pair = next(p for p in SuggestionSet.build(scored).most_confident() if p.path == "palette.png")
    assert pair.kind == "oof" and pair.score == pytest.approx(0.97)


def test_changed_images_lose_their_stale_scores(scored):
    image = scored.image_by_path("rotated.jpg")
    from clml_desktop.collection.rows import ImageInfo

    scored.upsert_images(
        [ImageInfo(path=image.path, size=image.size + 1, mtime_ns=image.mtime_ns + 1)]
    )
    result = SuggestionSet.build(scored)
    assert "rotated.jpg" not in result.paths


def test_suggestions_for_export(scored, model_kit):
    exported = suggestions_for_export(scored)
    assert set(exported) >= {"rotated.jpg", "grey.png", "large.jpg"}
    first = exported["grey.png"][0]
    assert (
        isinstance(first, Suggestion)
        and first.tag == "tree"
        and first.model == model_kit.manifest.id
    )
    assert first.threshold == pytest.approx(0.5) and first.score == pytest.approx(0.8)
    assert "plain.jpg" not in exported or all(s.tag != "cat" for s in exported["plain.jpg"])
    strict = suggestions_for_export(scored, min_score=0.84)
    assert {path: [s.tag for s in items] for path, items in strict.items()} == {
        "rotated.jpg": ["cat"]
    }


def test_no_active_model(collection):
    assert suggestions_for_export(collection) == {}
    with pytest.raises(InferenceError, match="no active model"):
        SuggestionSet.build(collection)


def test_a_model_for_another_collection_is_refused(collection, model_kit, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    manifest = dataclasses.replace(
        model_kit.manifest, id="other", tags=["boat", "car"], thresholds={}
    )
    manifest.write(other)
    collection.add_model("other", str(other), tags=["boat", "car"], activate=True)
    with pytest.raises(TagMismatchError, match="none of the model's 2 tags"):
        SuggestionSet.build(collection)


def test_tagmap_rules():
    rows = [
        TagRow(1, "Long Hair", "long hair"),
        TagRow(2, "cat", "cat"),
        TagRow(3, "grass", "grass"),
    ]
    tagmap = TagMap.build(["cat", "long_hair", "long-hair", "sky"], rows)
    assert tagmap.columns.tolist() == [0, 1] and tagmap.tag_ids.tolist() == [2, 1]
    assert tagmap.names == ["cat", "Long Hair"]
    assert tagmap.new_names == ["sky"] and tagmap.new_columns.tolist() == [3]
    assert tagmap.unscored == ["grass"]
    assert "2 of the model's 4 tags match" in tagmap.summary()
    assert TagMap.build(["a"], []).new_names == ["a"], (
        "an untagged collection takes every tag as new"
    )


def test_a_model_not_yet_scored_with_gives_an_empty_set(collection, model_kit):
    collection.add_model(
        model_kit.manifest.id, str(model_kit.dir), tags=model_kit.manifest.tags, activate=True
    )
    found = SuggestionSet.build(collection)
    assert len(found.image_ids) == 0 and found.scores.shape == (0, 5)
    assert found.most_confident() == [] and found.most_uncertain() == []


def test_the_models_calibration_map_decides_the_shown_percentage(scored, model_kit):
    """The manifest maps "likely tagged" to "likely true" (ADR 0018); every view reads SuggestionSet."""
    import json

    plain = SuggestionSet.build(scored)
    manifest_path = model_kit.dir / "manifest.json"
    original = manifest_path.read_text(encoding="utf-8")
    data = json.loads(original)
    data["calibration"] = {"raw": [0.0, 0.5, 1.0], "calibrated": [0.0, 0.8, 1.0]}
    manifest_path.write_text(json.dumps(data), encoding="utf-8")
    try:
        mapped = SuggestionSet.build(scored)
    finally:
        manifest_path.write_text(original, encoding="utf-8")
    expected = np.interp(plain.scores, [0.0, 0.5, 1.0], [0.0, 0.8, 1.0])
    unknown = mapped.states == 0
    assert np.allclose(mapped.scores[unknown], expected[unknown], atol=1e-6)
    # Fitted on untagged pairs only: a positive keeps the network's score ("looks wrong" stays meaningful).
    assert np.array_equal(mapped.scores[~unknown], plain.scores[~unknown])
    assert (~unknown).any()
    row, col = mapped._row_of[scored.image_by_path("large.jpg").id], mapped.tag_names.index("dog")
    assert plain.scores[row, col] == pytest.approx(0.45) and mapped.scores[row, col] == pytest.approx(0.72)
    shown = {(p.path, p.tag) for p in mapped.unknown_pairs() if p.passes}
    assert ("large.jpg", "dog") in shown and ("large.jpg", "dog") not in {
        (p.path, p.tag) for p in plain.unknown_pairs() if p.passes}
