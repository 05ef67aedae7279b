"""`clml-desktop stats`: scans a new folder, then reports tags, sources, problems, model."""

from __future__ import annotations

import json

from clml_desktop.app import main


def test_stats_scans_a_new_folder_and_prints_json(collection, capsys):
    (collection / "broken.jpg").write_bytes(b"")
    (collection / "img00.txt").write_text("trigger, cat", encoding="utf-8")
    assert main(["stats", str(collection), "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["images"] == 13
    assert data["problems"] == [{"path": "broken.jpg", "message": "empty file (0 bytes)"}]
    assert data["tags"] == [
        {"name": "trigger", "positives": 1, "negatives": 0},
        {"name": "cat", "positives": 1, "negatives": 0},
    ]
    assert data["labels_by_source"] == {"original": {"positive": 2}}
    assert data["active_model"] is None
    assert "scanned" in err


def test_stats_reports_tags_sources_and_model(store, ids, collection, capsys):
    store.add_tag(ids[:3], "cat")
    store.reject_tag(ids[3], "cat")
    store.accept_suggestion(ids[4], "dog")
    store.add_model("m7", "models/m7", tags=["cat", "dog"], metrics={"map": 0.8})
    store.close()
    assert main(["stats", str(collection), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tags"] == [
        {"name": "cat", "positives": 3, "negatives": 1},
        {"name": "dog", "positives": 1, "negatives": 0},
    ]
    assert data["labels_by_source"] == {
        "manual": {"positive": 3, "negative": 1},
        "accepted-suggestion": {"positive": 1},
    }
    assert data["active_model"]["id"] == "m7"
    assert main(["stats", str(collection)]) == 0
    text = capsys.readouterr().out
    assert "m7" in text and "cat" in text and "12 (0 with problems, 0 missing)" in text


def test_stats_on_a_missing_folder_fails_with_a_message(tmp_path, capsys):
    assert main(["stats", str(tmp_path / "nope")]) == 1
    assert "not a folder" in capsys.readouterr().err
