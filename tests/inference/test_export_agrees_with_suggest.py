"""`export --with-suggestions` writes exactly the pairs `suggest` lists, scored by a real
(tiny) model and with the collection's minimum likelihood set away from the default:
both read them through `SuggestionSet.build` and the one threshold rule."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from clml_desktop.app import main


@pytest.fixture
def with_model(collection, model_kit):
    """The tiny model active on the collection; nothing scored yet (suggest scores it)."""
    collection.add_model(
        model_kit.manifest.id, str(model_kit.dir), tags=model_kit.manifest.tags, activate=True
    )
    return collection


def _suggested(capsys, folder: str, *argv: str) -> list[dict]:
    assert main(["suggest", folder, "--json", "--device", "cpu", *argv]) == 0
    return json.loads(capsys.readouterr().out)["suggestions"]


def _exported_json(capsys, folder: str, out: Path) -> set[tuple[str, str]]:
    assert main(["export", folder, "--format", "json", "--out", str(out), "--with-suggestions"]) == 0
    capsys.readouterr()
    data = json.loads(out.read_text(encoding="utf-8"))
    return {(image["path"], s["tag"]) for image in data["images"] for s in image.get("suggestions", [])}


def _exported_csv(capsys, folder: str, out: Path) -> set[tuple[str, str]]:
    assert main(["export", folder, "--format", "csv-long", "--out", str(out), "--with-suggestions"]) == 0
    capsys.readouterr()
    with out.open(encoding="utf-8", newline="") as handle:
        return {(row[0], row[1]) for row in csv.reader(handle) if len(row) > 2 and row[2] == "suggested"}


def test_export_writes_exactly_what_suggest_lists_at_a_set_min_likelihood(with_model, capsys, tmp_path):
    folder = str(with_model.root)
    every = _suggested(capsys, folder, "--order", "uncertain")
    scores = sorted(s["score"] for s in every)
    cut = scores[len(scores) * 2 // 3]  # about a third of the unknown pairs pass
    percent = f"{cut * 100:.4f}"
    assert main(["settings", folder, "--min-likely", percent]) == 0
    capsys.readouterr()
    listed = {(s["image"], s["tag"]) for s in _suggested(capsys, folder)}
    at_default = {(s["image"], s["tag"]) for s in every if s["score"] >= 0.5}
    assert listed and listed != at_default, "the setting must change what is suggested"
    assert all(s["threshold"] == with_model.min_likelihood() for s in _suggested(capsys, folder))
    assert _exported_json(capsys, folder, tmp_path / "labels.json") == listed
    assert _exported_csv(capsys, folder, tmp_path / "labels.csv") == listed
