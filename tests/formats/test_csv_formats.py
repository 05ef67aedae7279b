"""The three CSV layouts: round trips, missing columns, paths that leave the collection."""

from __future__ import annotations

from pathlib import Path

import pytest
from formats_strategies import IMAGE_NAMES, labels_dicts
from hypothesis import given, settings
from hypothesis import strategies as st

from clml_desktop.collection.formats import csv_formats, detect_file_format
from clml_desktop.collection.formats.common import FormatError
from clml_desktop.collection.labels import ImageLabels, Suggestion


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """A collection holding (empty) files with every test image name."""
    base = tmp_path_factory.mktemp("csvroot")
    for name in IMAGE_NAMES:
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_bytes(b"")
    return base


def _write(root: Path, text: str, name: str = "labels.csv") -> Path:
    path = root.parent / f"{root.name}-{name}"
    path.write_text(text, encoding="utf-8")
    return path


@settings(max_examples=25, deadline=None)
@given(labels_dicts(exclude=";"))
def test_csv_tags_round_trip(root, labels):
    path = _write(root, csv_formats.render_csv_tags(labels, tags_delimiter=";"))
    result = csv_formats.read_csv_tags(path, root, tags_delimiter=";")
    assert result.problems == []
    assert {k: (v.positives, v.negatives) for k, v in result.labels.items()} == {
        k: (v.positives, v.negatives) for k, v in labels.items()
    }


@settings(max_examples=25, deadline=None)
@given(labels_dicts())
def test_csv_wide_round_trip(root, labels):
    path = _write(root, csv_formats.render_csv_wide(labels))
    result = csv_formats.read_csv_wide(path, root) if any(
        v.positives or v.negatives for v in labels.values()
    ) else None
    if result is None:
        return
    assert result.problems == []
    for rel, item in labels.items():
        got = result.labels[rel]
        assert set(got.positives) == set(item.positives)
        assert set(got.negatives) == set(item.negatives)


@settings(max_examples=25, deadline=None)
@given(labels_dicts(), st.floats(0, 1))
def test_csv_long_round_trip_with_sources_and_suggestions(root, labels, score):
    for item in labels.values():
        item.sources = {t: "manual" for t in item.negatives}
        item.suggestions = [Suggestion(tag="suggested tag", score=score, model="m1")]
    path = _write(root, csv_formats.render_csv_long(labels))
    result = csv_formats.read_csv_long(path, root)
    assert result.problems == []
    for rel, item in labels.items():
        got = result.labels[rel]
        assert (got.positives, got.negatives, got.sources) == (item.positives, item.negatives, item.sources)
        assert [(s.tag, s.score, s.model) for s in got.suggestions] == [("suggested tag", score, "m1")]


def test_missing_columns_are_a_clear_error(root):
    path = _write(root, "file,labels\nplain.png,cat\n")
    with pytest.raises(FormatError, match=r"missing column\(s\) 'path', 'tags' \(columns found: 'file', 'labels'\)|missing column\(s\) 'tags'"):
        csv_formats.read_csv_tags(path, root)
    path = _write(root, "path,tag\nplain.png,cat\n")
    with pytest.raises(FormatError, match="missing column.*'state'"):
        csv_formats.read_csv_long(path, root)


def test_path_escapes_and_missing_files_are_reported_and_skipped(root):
    text = "path,tags\n../../etc/passwd,root\n/etc/hosts,x\nnope.jpg,cat\nplain.png,dog\n"
    result = csv_formats.read_csv_tags(_write(root, text), root)
    assert list(result.labels) == ["plain.png"]
    messages = [str(p) for p in result.problems]
    assert len(messages) == 3
    assert "leaves the collection" in messages[0] and ":2:" in messages[0]
    assert "leaves the collection" in messages[1]
    assert "does not exist" in messages[2]


def test_chexpert_style_wide_file_skips_metadata_columns(root):
    text = "Path,Sex,Age,Cardiomegaly,Edema\nplain.png,Female,68,1.0,-1.0\na b.jpg,Male,41,0.0,\n"
    result = csv_formats.read_csv_wide(_write(root, text), root)
    assert result.labels["plain.png"] == ImageLabels(positives=["Cardiomegaly"])
    assert result.labels["a b.jpg"] == ImageLabels(negatives=["Cardiomegaly"])
    assert sum("read as metadata" in p.message for p in result.problems) == 2


def test_semicolon_and_tab_files_are_recognised(root):
    result = csv_formats.read_csv_tags(_write(root, "path;tags\nplain.png;cat, dog\n"), root)
    assert result.labels["plain.png"].positives == ["cat", "dog"]
    result = csv_formats.read_csv_long(_write(root, "path\ttag\tstate\nplain.png\tcat\tnegative\n"), root)
    assert result.labels["plain.png"].negatives == ["cat"]


def test_unknown_state_row_is_reported(root):
    result = csv_formats.read_csv_long(_write(root, "path,tag,state\nplain.png,cat,maybe\n"), root)
    assert result.labels == {} and "maybe" in result.problems[0].message


def test_tag_holding_the_delimiter_is_refused():
    with pytest.raises(FormatError, match="contains the tags delimiter"):
        csv_formats.render_csv_tags({"a.jpg": ImageLabels(positives=["a;b"])}, tags_delimiter=";")


def test_latin1_csv_is_refused(root):
    path = root.parent / "latin.csv"
    path.write_bytes("path,tags\nplain.png,café\n".encode("latin-1"))
    with pytest.raises(FormatError, match="not valid UTF-8"):
        csv_formats.read_csv_tags(path, root)


@pytest.mark.parametrize(
    ("header", "layout"),
    [("path,tags", "csv-tags"), ("image,tag,state,score", "csv-long"), ("Path,Edema", "csv-wide"), ("a,b", None)],
)
def test_layout_detection(tmp_path, header, layout):
    path = tmp_path / "x.csv"
    path.write_text(header + "\n", encoding="utf-8")
    assert detect_file_format(path) == layout
