"""The CLML release's list format: `name.jpg,0 13 52` plus a class-names file."""

from __future__ import annotations

from pathlib import Path

import pytest
from formats_strategies import IMAGE_NAMES, labels_dicts
from hypothesis import given, settings

from clml_desktop.collection.formats import detect_file_format, paper_list
from clml_desktop.collection.formats.common import FormatError


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("listroot")
    for name in IMAGE_NAMES:
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_bytes(b"")
    return base


@settings(max_examples=25, deadline=None)
@given(labels_dicts(negatives=False))
def test_round_trip(root, labels):
    list_text, classes_text = paper_list.render_list(labels, [])
    out = root.parent / "train.txt"
    out.write_text(list_text, encoding="utf-8")
    (root.parent / "train_classes.txt").write_text(classes_text, encoding="utf-8")
    result = paper_list.read_list(out, root)
    assert result.problems == []
    assert {k: v.positives for k, v in result.labels.items()} == {k: v.positives for k, v in labels.items()}


def test_reads_the_release_layout_with_or_without_space(tmp_path):
    for name in ("0001.jpg", "0002.jpg", "0003.jpg"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "classes.txt").write_text("airplane\nbicycle\nbird\n", encoding="utf-8")
    lst = tmp_path / "coco_train_0.75left.txt"
    lst.write_text("0001.jpg,0 2\n0002.jpg, 1\n0003.jpg,\n0004.jpg,1\n0001.jpg,7\nbad line\n", encoding="utf-8")
    assert detect_file_format(lst) == "list"
    result = paper_list.read_list(lst, tmp_path)
    assert result.labels["0001.jpg"].positives == ["airplane", "bird"]
    assert result.labels["0002.jpg"].positives == ["bicycle"]
    assert result.labels["0003.jpg"].positives == []
    messages = " | ".join(str(p) for p in result.problems)
    assert "0004.jpg' does not exist" in messages
    assert "class index 7" in messages and ":5:" in messages
    assert "expected 'name.jpg,0 13 52'" in messages


def test_missing_class_file_is_a_clear_error(tmp_path):
    lst = tmp_path / "list.txt"
    lst.write_text("a.jpg,0\n", encoding="utf-8")
    with pytest.raises(FormatError, match="no class-names file"):
        paper_list.read_list(lst, tmp_path)
