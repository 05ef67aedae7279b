"""`clml-desktop settings`: print and set the collection's minimum likelihood, which
`suggest` then uses by default (`--min-score` still overrides it for one run)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from clml_desktop.app import main
from clml_desktop.collection.rows import PredictionIn

SCORES = {"rotated.jpg": [0.85, 0.62, 0.10, 0.10, 0.10], "palette.png": [0.55, 0.10, 0.10, 0.10, 0.10]}


@pytest.fixture
def scored(collection, model_kit):
    collection.add_model(
        model_kit.manifest.id, str(model_kit.dir), tags=model_kit.manifest.tags, activate=True
    )
    rows = []
    for image in collection.images():
        probs = SCORES.get(image.path, [0.05] * 5)
        rows.append(PredictionIn(image.id, image.version, "engine", np.array(probs, np.float32)))
    collection.put_predictions(model_kit.manifest.id, rows)
    return collection


def test_prints_the_default_then_sets_and_keeps_a_value(collection, capsys):
    folder = str(collection.root)
    assert main(["settings", folder]) == 0
    out = capsys.readouterr().out
    assert "suggest a tag when it is at least 50% likely (the default" in out
    assert main(["settings", folder, "--min-likely", "70%"]) == 0
    assert "at least 70% likely (set for this collection)" in capsys.readouterr().out
    assert collection.min_likelihood() == pytest.approx(0.7)
    collection.set_tag_threshold("cat", 0.9)
    assert main(["settings", folder, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["min_likelihood"] == pytest.approx(0.7) and data["is_default"] is False
    assert data["tag_cuts"] == {"cat": pytest.approx(0.9)}
    assert main(["settings", folder]) == 0
    assert "cat  shown from 90%" in capsys.readouterr().out
    assert main(["settings", folder, "--min-likely", "default"]) == 0
    assert collection.min_likelihood() is None


@pytest.mark.parametrize("bad", ["0", "100", "150", "-5", "lots"])
def test_refuses_what_is_not_a_percentage_between_0_and_100(collection, capsys, bad):
    collection.set_min_likelihood(0.6)
    assert main(["settings", str(collection.root), f"--min-likely={bad}"]) == 2
    assert "--min-likely" in capsys.readouterr().err
    assert collection.min_likelihood() == pytest.approx(0.6)


@pytest.mark.parametrize("command", ["settings", "suggest", "export"])
def test_help_renders(capsys, command):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    assert "70%" in capsys.readouterr().out


def test_a_folder_never_opened_is_not_made_a_collection(tmp_path, capsys):
    assert main(["settings", str(tmp_path), "--min-likely", "70"]) == 2
    assert "not an opened collection" in capsys.readouterr().err
    assert not (tmp_path / ".clml").exists()


def _suggested(capsys, *argv) -> set[tuple[str, str]]:
    assert main(["suggest", *argv, "--json", "--device", "cpu"]) == 0
    return {(s["image"], s["tag"]) for s in json.loads(capsys.readouterr().out)["suggestions"]}


def test_suggest_follows_the_collection_setting_and_min_score_overrides_it(scored, capsys):
    folder = str(scored.root)
    assert _suggested(capsys, folder) == {("rotated.jpg", "cat"), ("rotated.jpg", "dog"), ("palette.png", "cat")}
    assert main(["settings", folder, "--min-likely", "60"]) == 0
    capsys.readouterr()
    assert _suggested(capsys, folder) == {("rotated.jpg", "cat"), ("rotated.jpg", "dog")}
    assert _suggested(capsys, folder, "--min-score", "0.5") == {
        ("rotated.jpg", "cat"), ("rotated.jpg", "dog"), ("palette.png", "cat")
    }, "an explicit --min-score wins for that run"
    assert scored.min_likelihood() == pytest.approx(0.6), "and changes nothing stored"
