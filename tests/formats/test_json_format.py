"""The JSON labels file: schema, round trip with sources and suggestions, bad entries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from formats_strategies import IMAGE_NAMES, labels_dicts
from hypothesis import given, settings
from hypothesis import strategies as st

from clml_desktop.collection.formats import detect_file_format, json_format
from clml_desktop.collection.formats.common import FormatError
from clml_desktop.collection.labels import Suggestion

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "formats" / "labels.schema.json"


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("jsonroot")
    for name in IMAGE_NAMES:
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_bytes(b"")
    return base


@settings(max_examples=25, deadline=None)
@given(labels_dicts(), st.floats(0, 1), st.none() | st.floats(0, 1))
def test_round_trip_with_sources_and_suggestions(root, labels, score, threshold):
    for item in labels.values():
        item.sources = {t: "original" for t in item.positives}
        item.suggestions = [Suggestion(tag="grass", score=score, threshold=threshold, model="m")]
    path = root.parent / "labels.json"
    path.write_text(json_format.render_json(labels, ["zeta"]), encoding="utf-8")
    result = json_format.read_json(path, root)
    assert result.problems == []
    assert result.labels == labels
    assert result.tag_order[0] == "zeta"
    assert detect_file_format(path) == "json"


def test_document_follows_the_published_schema():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["properties"]["format"]["const"] == json_format.FORMAT_ID
    item = schema["$defs"]["image"]["properties"]
    assert {"path", "positives", "negatives", "sources", "suggestions"} <= set(item)


def test_not_our_format_is_refused(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"images": []}', encoding="utf-8")
    with pytest.raises(FormatError, match="not a CLML Desktop labels file"):
        json_format.read_json(path, tmp_path)
    path.write_text("{broken", encoding="utf-8")
    with pytest.raises(FormatError, match="not valid JSON"):
        json_format.read_json(path, tmp_path)


def test_bad_entries_are_reported_and_the_rest_read(root):
    doc = {
        "format": "clml-desktop-labels",
        "version": 1,
        "images": [
            {"path": "plain.png", "positives": ["cat"], "negatives": ["cat", "dog"]},
            {"path": "../outside.jpg", "positives": ["x"]},
            {"path": "a b.jpg", "positives": "cat"},
            {"path": "a b.jpg", "suggestions": [{"tag": "t", "score": "high"}]},
        ],
    }
    path = root.parent / "bad.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = json_format.read_json(path, root)
    assert list(result.labels) == ["plain.png"]
    assert result.labels["plain.png"].negatives == ["dog"]
    assert len(result.problems) == 4
