"""`.txt` / `.caption` sidecars: kohya/taggui conventions and their bad inputs."""

from __future__ import annotations

import pytest
from formats_strategies import tag_lists
from hypothesis import given

from clml_desktop.collection.formats.common import FormatError
from clml_desktop.collection.formats.sidecar import parse_sidecar, render_sidecar, sidecar_relpath


@given(tag_lists(exclude=","))
def test_round_trip_keeps_order_unicode_spaces_and_quotes(tags):
    text = render_sidecar(tags)
    assert parse_sidecar(text.encode("utf-8"), "x.txt") == tags


def test_split_strip_and_write_with_comma_space():
    assert parse_sidecar(b"trigger,  long hair ,blue eyes\n", "x.txt") == ["trigger", "long hair", "blue eyes"]
    assert render_sidecar(["trigger", "long hair"]) == "trigger, long hair"


def test_brackets_and_weights_are_plain_text():
    tags = parse_sidecar(b"(masterpiece:1.2), [blurry], {red}, a \\(b\\)", "x.txt")
    assert tags == ["(masterpiece:1.2)", "[blurry]", "{red}", "a \\(b\\)"]


def test_bom_is_accepted():
    assert parse_sidecar("\ufeffcat, dog".encode(), "x.txt") == ["cat", "dog"]


def test_latin1_file_is_refused_not_replaced():
    with pytest.raises(FormatError, match=r"x\.txt: not valid UTF-8.*left untouched"):
        parse_sidecar("café, crème".encode("latin-1"), "x.txt")


def test_empty_tags_and_duplicates_are_dropped():
    assert parse_sidecar(b"cat,, ,dog,cat, dog,\n\n", "x.txt") == ["cat", "dog"]
    assert parse_sidecar(b"", "x.txt") == []


def test_line_breaks_separate_tags():
    assert parse_sidecar(b"cat\r\ndog, bird\n", "x.txt") == ["cat", "dog", "bird"]


def test_tag_with_separator_is_refused_with_a_message():
    with pytest.raises(FormatError, match="'a, b' contains the separator"):
        render_sidecar(["ok", "a, b"])


def test_custom_separator_must_contain_a_comma():
    assert render_sidecar(["a", "b"], ",") == "a,b"
    with pytest.raises(FormatError):
        render_sidecar(["a"], ";")


def test_sidecar_has_the_image_stem():
    assert sidecar_relpath("dir/photo.final.jpg", ".caption") == "dir/photo.final.caption"
