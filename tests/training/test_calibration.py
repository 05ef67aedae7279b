"""The calibration map: from "likely tagged" to "likely true" for untagged pairs, fitted without a truth file."""

from __future__ import annotations

import numpy as np
import pytest

from clml_contract.manifest import Manifest, ManifestError
from training.calibration import apply_calibration, fit_calibration, isotonic
from training.metrics import calibration_error as ece


def missing_tags(seed: int, n: int = 40000, labelled: float = 0.6, sure: float = 1.45):
    """Tags go missing at random (40% of them) and the network ranks by P(tagged | x).

    `sure` stretches its scores: trained networks were sure of their best pairs
    (out-of-fold 0.82–0.85 where 60% were tagged, ADR 0018); a weak one is not.
    """
    rng = np.random.default_rng(seed)
    p_true = rng.beta(0.3, 1.2, n)
    true = rng.random(n) < p_true
    tagged = true & (rng.random(n) < labelled)
    score = np.clip(sure * labelled * p_true + rng.normal(0, 0.02, n), 0, 1)
    return score[:, None], tagged[:, None], true[:, None]


@pytest.mark.parametrize("seed", [0, 1])
def test_the_map_makes_untagged_percentages_true(seed):
    score, tagged, true = missing_tags(seed)
    untagged = ~tagged
    raw = ece(score[untagged], true[untagged])
    mapped = ece(apply_calibration(score, fit_calibration(score, tagged, untagged))[untagged],
                 true[untagged])
    assert raw > 0.02  # "likely tagged" is not "likely true" for an untagged pair
    assert mapped < 0.6 * raw, (raw, mapped)


def test_the_map_is_monotone_and_a_valid_manifest_field(tmp_path):
    score, tagged, _ = missing_tags(0)
    found = fit_calibration(score, tagged, ~tagged)
    assert found["raw"][0] == 0.0 and found["raw"][-1] == 1.0
    assert all(b >= a for a, b in zip(found["calibrated"], found["calibrated"][1:], strict=False))
    manifest = Manifest(id="m", tags=["a"], architecture="resnet18", input_size=32,
                        embedding_dim=512, calibration=found)
    manifest.write(tmp_path)
    assert Manifest.read(tmp_path).calibration == found


@pytest.mark.parametrize("bad", [
    {"raw": [0.0, 1.0]},
    {"raw": [0.0, 0.5, 1.0], "calibrated": [0.0, 0.6]},
    {"raw": [0.0, 0.5, 0.5, 1.0], "calibrated": [0.0, 0.5, 0.6, 1.0]},
    {"raw": [0.0, 0.5, 1.0], "calibrated": [0.0, 0.7, 0.6]},
    {"raw": [0.0, 0.5, 1.0], "calibrated": [0.0, 1.5, 1.0]},
])
def test_a_broken_map_in_a_manifest_is_refused(bad):
    with pytest.raises(ManifestError, match="calibration"):
        Manifest(id="m", tags=["a"], architecture="resnet18", input_size=32, embedding_dim=512,
                 calibration=bad).validate()


def test_too_few_tagged_positives_fit_no_map():
    score = np.linspace(0, 1, 50)[:, None]
    tagged = np.zeros_like(score, dtype=bool)
    tagged[-5:] = True
    assert fit_calibration(score, tagged, ~tagged) is None
    assert np.array_equal(apply_calibration(score, None), score.astype(np.float32))


def test_isotonic_pools_adjacent_violators():
    assert isotonic(np.array([0.1, 0.3, 0.2, 0.4]), np.ones(4)).tolist() == pytest.approx([0.1, 0.25, 0.25, 0.4])


def test_a_sparse_top_bin_does_not_decide_how_many_tags_are_hidden():
    """On the scenes collection a top bin of 24 tagged and 3 untagged pairs once set κ = 0.12."""
    score, tagged, _ = missing_tags(0)
    score = np.vstack([score, np.full((27, 1), 0.99)])  # above every other score
    tagged = np.vstack([tagged, np.ones((24, 1), bool), np.zeros((3, 1), bool)])
    found = fit_calibration(score, tagged, ~tagged)
    assert 0.6 < found["kappa"] < 0.9  # hidden per tagged is 0.4 / 0.6 here


def test_a_network_unsure_of_its_best_pairs_gets_no_map():
    """Weak models put negatives in the anchor; the map then said 'certain' of them (ECE 0.06–0.57)."""
    score, tagged, _ = missing_tags(0, sure=1.0)  # its best pairs score about 0.6
    assert fit_calibration(score, tagged, ~tagged) is None
    score, tagged, _ = missing_tags(0)
    assert fit_calibration(score, tagged, ~tagged)["anchor_score"] >= 0.75
