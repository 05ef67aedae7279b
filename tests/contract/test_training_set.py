"""The training-set JSONL: what the app renders, the trainer reads back, ids and versions included."""

from __future__ import annotations

import json
from pathlib import Path

from clml_contract.training_set import NO_ID, TrainingRow, read_training_set, render_training_set


def test_rendered_rows_read_back_with_ids_versions_and_labels(tmp_path):
    rows = [
        TrainingRow(str(tmp_path / "a.png"), ["dog", "grass"], ["cat"], True, image_id=7, version=3),
        TrainingRow(str(tmp_path / "b.png"), ["cat"], image_id=9, version=1),
    ]
    src = tmp_path / "t.jsonl"
    src.write_text(render_training_set(rows, ["cat", "dog", "grass"]), encoding="utf-8")
    data = read_training_set(src)
    assert data.problems == []
    assert data.tags == ["cat", "dog", "grass"]
    assert data.paths == [tmp_path / "a.png", tmp_path / "b.png"]
    assert data.image_ids.tolist() == [7, 9] and data.versions.tolist() == [3, 1]
    assert data.targets.tolist() == [[0, 1, 1], [1, 0, 0]]
    assert data.known_negative.tolist() == [[True, False, False], [False, False, False]]
    assert data.confirmed.tolist() == [True, False]


def test_rendered_lines_name_the_image_after_its_path():
    text = render_training_set([TrainingRow("/c/a.png", ["x"], image_id=1, version=2)], ["x"])
    first, row = (json.loads(line) for line in text.splitlines())
    assert first == {"tags": ["x"]}
    assert list(row) == ["path", "image_id", "version", "positives", "negatives"]


def test_a_hand_written_set_without_ids_stays_valid(tmp_path):
    src = tmp_path / "t.jsonl"
    src.write_text('{"path": "a.png", "positives": ["x"]}\n'
                   '{"path": "b.png", "image_id": 4, "version": 0, "positives": ["y"]}\n')
    data = read_training_set(src)
    assert data.problems == []
    assert data.image_ids.tolist() == [NO_ID, 4] and data.versions.tolist() == [NO_ID, 0]


def test_bad_or_repeated_ids_skip_their_line_with_a_reason(tmp_path):
    src = tmp_path / "t.jsonl"
    lines = [
        {"path": "a.png", "image_id": 1, "version": 1, "positives": ["x"]},
        {"path": "b.png", "image_id": 2, "positives": ["x"]},  # no version
        {"path": "c.png", "image_id": "3", "version": 1, "positives": ["x"]},
        {"path": "d.png", "image_id": True, "version": 1, "positives": ["x"]},
        {"path": "e.png", "image_id": 1, "version": 5, "positives": ["x"]},  # id of a.png again
    ]
    src.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    data = read_training_set(src)
    assert data.paths == [Path(tmp_path / "a.png")]
    assert [p.split(": ")[0] for p in data.problems] == [f"{src}:{n}" for n in (2, 3, 4, 5)]
    assert sum("image_id" in p for p in data.problems) == 4
