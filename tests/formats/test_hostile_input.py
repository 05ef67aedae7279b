"""Issue 14, the codecs' part: tag files made by nobody we know.

CSV cells that a spreadsheet would run as formulas are neutralised on export
and read back to the same tag; names with a leading space or a backslash
round-trip; a very long image name still gets an XMP sidecar; a path with a
line break costs only its own line of a list file; deep nesting and huge XMP
sidecars are a per-file problem, never a traceback.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from formats_strategies import tags
from hypothesis import given, settings
from hypothesis import strategies as st

from clml_desktop.collection.exporting import export_labels
from clml_desktop.collection.formats import (
    csv_formats,
    detect_file_format,
    json_format,
    paper_list,
    read_file,
)
from clml_desktop.collection.formats.common import FormatError
from clml_desktop.collection.formats.xmp import parse_xmp, render_xmp, xmp_candidates
from clml_desktop.collection.importing import import_folder
from clml_desktop.collection.labels import ImageLabels
from clml_desktop.collection.scan import scan_folder
from clml_desktop.collection.store import CollectionStore

FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "'quoted", "''twice", "'=x"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ODD_NAMES = ("=cmd.png", " lead.png", "back\\slash.png", "+1.png", "'q.png", "plain.png")


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("hostile")
    for name in ODD_NAMES:
        (base / name).write_bytes(b"")
    return base


def _write(root: Path, text: str, name: str) -> Path:
    path = root.parent / f"{root.name}-{name}"
    path.write_text(text, encoding="utf-8")
    return path


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def _labels() -> dict[str, ImageLabels]:
    return {
        "=cmd.png": ImageLabels(positives=FORMULAS[:4], negatives=FORMULAS[4:]),
        "plain.png": ImageLabels(positives=["cat", "-2+3"], negatives=["@SUM(1)"]),
    }


# --- item 1: formula injection --------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv-tags", "csv-wide", "csv-long"])
def test_csv_export_neutralises_formulas_and_reads_them_back(root, fmt):
    labels = _labels()
    if fmt == "csv-tags":
        text = csv_formats.render_csv_tags(labels, tags_delimiter=";")
    elif fmt == "csv-wide":
        text = csv_formats.render_csv_wide(labels)
    else:
        text = csv_formats.render_csv_long(labels)
    dangerous = [c for c in _cells(text) if c.startswith(TRIGGERS)]
    assert dangerous == [], f"cells a spreadsheet would run: {dangerous}"
    path = _write(root, text, f"{fmt}.csv")
    result = read_file(fmt, path, root, tags_delimiter=";")
    assert result.problems == []
    for rel, item in labels.items():
        got = result.labels[rel]
        if fmt == "csv-wide":
            assert set(got.positives) == set(item.positives) and set(got.negatives) == set(item.negatives)
        else:
            assert (got.positives, got.negatives) == (item.positives, item.negatives)


def test_a_quote_typed_by_a_person_is_kept(root):
    """Only the quote we add is stripped: `'80s` in a file we did not write stays `'80s`."""
    path = _write(root, "path,tag,state\nplain.png,'80s,positive\nplain.png,'=x,positive\n", "foreign.csv")
    assert read_file("csv-long", path, root).labels["plain.png"].positives == ["'80s", "=x"]


_LEADING = st.sampled_from(["=", "+", "-", "@", "'", "''", "'=", ""])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_LEADING, tags(exclude=";")).map("".join), min_size=1, max_size=5, unique=True))
def test_csv_round_trip_of_tags_starting_with_formula_characters(root, drawn):
    labels = {"=cmd.png": ImageLabels(positives=drawn), "plain.png": ImageLabels(negatives=drawn)}
    for fmt, text in (
        ("csv-tags", csv_formats.render_csv_tags(labels, tags_delimiter=";")),
        ("csv-long", csv_formats.render_csv_long(labels)),
        ("csv-wide", csv_formats.render_csv_wide(labels)),
    ):
        assert not [c for c in _cells(text) if c.startswith(TRIGGERS)]
        result = read_file(fmt, _write(root, text, f"rt-{fmt}.csv"), root, tags_delimiter=";")
        assert result.labels["=cmd.png"].positives == drawn or fmt == "csv-wide"
        assert set(result.labels["=cmd.png"].positives) == set(drawn)
        assert set(result.labels["plain.png"].negatives) == set(drawn)


# --- item 2: round trips ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv-tags", "csv-wide", "csv-long", "json", "list"])
def test_leading_space_and_backslash_names_round_trip(root, fmt):
    labels = {name: ImageLabels(positives=["cat"]) for name in (" lead.png", "back\\slash.png", "plain.png")}
    if fmt == "json":
        text = json_format.render_json(labels)
    elif fmt == "list":
        text, classes = paper_list.render_list(labels)
        _write(root, classes, "names_classes.txt")
    else:
        text = {"csv-tags": csv_formats.render_csv_tags, "csv-long": csv_formats.render_csv_long,
                "csv-wide": csv_formats.render_csv_wide}[fmt](labels)
    path = _write(root, text, "names.txt" if fmt == "list" else f"names.{fmt}")
    result = read_file(fmt, path, root)
    assert result.problems == []
    assert sorted(result.labels) == sorted(labels)


def test_csv_wide_with_semicolons_in_tag_names_is_still_comma_separated(root):
    labels = {"plain.png": ImageLabels(positives=["a;b;c", "d;e;f"], negatives=["g"])}
    path = _write(root, csv_formats.render_csv_wide(labels), "semi.csv")
    assert detect_file_format(path) == "csv-wide"
    result = read_file("auto", path, root)
    assert result.problems == []
    assert set(result.labels["plain.png"].positives) == {"a;b;c", "d;e;f"}


def test_a_real_semicolon_file_with_commas_in_tag_names_still_reads(root):
    path = _write(root, "path;a,b;c\nplain.png;1;0\n", "semi2.csv")
    result = read_file("csv-wide", path, root)
    assert result.labels["plain.png"].positives == ["a,b"] and result.labels["plain.png"].negatives == ["c"]


# --- item 3: long names, line breaks in a list ------------------------------------------------


def test_xmp_name_falls_back_to_lightroom_style_when_digikam_name_is_too_long():
    long = "a" * 249 + ".png"  # 253 bytes: name.ext.xmp would be 257
    assert xmp_candidates(long) == ("a" * 249 + ".xmp",) * 2
    assert xmp_candidates("d/x.jpg") == ("d/x.jpg.xmp", "d/x.xmp")


def test_a_path_with_a_line_break_costs_only_its_line_in_a_list(root):
    problems: list = []
    labels = {"bad\nname.png": ImageLabels(positives=["cat"]), "plain.png": ImageLabels(positives=["dog"])}
    text, classes = paper_list.render_list(labels, problems=problems)
    assert text == "plain.png,0\n" and classes == "dog\n"
    assert len(problems) == 1 and "line break" in problems[0].message


# --- item 4: deep nesting ---------------------------------------------------------------------

_DEEP = 100_000


def _deep_xmp(tag: str) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:subject><rdf:Bag><rdf:li>{tag}</rdf:li></rdf:Bag></dc:subject>"
        + "<n>" * _DEEP + "</n>" * _DEEP
        + "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def test_render_xmp_refuses_deep_nesting_with_a_format_error():
    data = _deep_xmp("cat")
    assert parse_xmp(data, "deep.xmp") == ["cat"]
    with pytest.raises(FormatError, match="deep.xmp: .*nested"):
        render_xmp(["cat", "dog"], data, "deep.xmp")


def _scan_import_export_xmp(folder):
    """Scan and import `folder`'s tag files, then export XMP in place; the summary."""
    with CollectionStore.open(folder) as store:
        scan_folder(store)
        import_folder(store)
        return export_labels(store, "xmp", in_place=True)


def test_in_place_xmp_export_reports_the_deep_file_and_writes_the_others(folder, make_image):
    (folder / "a.txt").write_text("cat", encoding="utf-8")
    (folder / "b.txt").write_text("dog", encoding="utf-8")
    (folder / "sub" / "c.jpg.xmp").write_bytes(_deep_xmp("bird"))
    summary = _scan_import_export_xmp(folder)
    assert parse_xmp((folder / "a.jpg.xmp").read_bytes(), "a") == ["cat"]
    assert parse_xmp((folder / "b.png.xmp").read_bytes(), "b") == ["dog"]
    assert [p.path for p in summary.problems] == ["sub/c.jpg.xmp"]
    assert "nested" in summary.problems[0].message


def test_deeply_nested_json_is_a_clear_problem_in_both_modes(root):
    body = '{"format": "clml-desktop-labels", "version": 1, "images": [' + "[" * _DEEP + "]" * _DEEP + "]}"
    path = _write(root, body, "deep.json")
    with pytest.raises(FormatError, match="nested"):
        read_file("json", path, root)
    assert detect_file_format(path) == "json"  # so auto mode reports it instead of skipping it silently
    with pytest.raises(FormatError, match="nested"):
        read_file("auto", path, root)
    json.loads('{"a": 1}')  # the interpreter is still usable


@pytest.mark.parametrize("stem_bytes", [242, 249])  # 246- and 253-byte image names
def test_long_image_names_get_an_xmp_sidecar(tmp_path, make_image, stem_bytes):
    root = tmp_path / "long"
    name = "a" * stem_bytes + ".png"
    make_image(root / name)
    (root / ("a" * stem_bytes + ".txt")).write_text("cat", encoding="utf-8")
    summary = _scan_import_export_xmp(root)
    assert summary.problems == []
    written = root / (name + ".xmp" if stem_bytes == 242 else "a" * stem_bytes + ".xmp")
    assert parse_xmp(written.read_bytes(), "long") == ["cat"]


def test_list_export_writes_the_other_images_when_one_path_has_a_line_break(folder, make_image, tmp_path):
    make_image(folder / "bad\nname.jpg")
    (folder / "a.txt").write_text("cat", encoding="utf-8")
    (folder / "bad\nname.txt").write_text("dog", encoding="utf-8")
    store = CollectionStore.open(folder)
    try:
        scan_folder(store)
        import_folder(store)
        summary = export_labels(store, "list", out=tmp_path / "out.txt")
    finally:
        store.close()
    lines = (tmp_path / "out.txt").read_text(encoding="utf-8").splitlines()
    assert lines == ["a.jpg,0", "b.png,", "sub/c.jpg,"]
    assert [p.path for p in summary.problems] == ["bad\nname.jpg"]


def test_merging_into_an_existing_sidecar_writes_what_elementtree_would():
    """Items are spliced in as text after serialising (2.6M items: 488 s, then 9 s of
    ElementTree writing elements); the bytes must be exactly those the element path gives,
    for text that needs escaping and for a container with other children kept."""
    import xml.etree.ElementTree as ET

    from clml_desktop.collection.formats import xmp

    existing = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
        b'xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmlns:digiKam="http://www.digikam.org/ns/1.0/">'
        b"<dc:subject><rdf:Bag><!-- kept --><rdf:li>old</rdf:li>\n  <rdf:li>a &amp; b</rdf:li></rdf:Bag></dc:subject>"
        b"<lr:hierarchicalSubject><rdf:Bag><rdf:li>Group|a &amp; b</rdf:li></rdf:Bag></lr:hierarchicalSubject>"
        b"<digiKam:TagsList><rdf:Seq><rdf:li>X/old</rdf:li></rdf:Seq></digiKam:TagsList>"
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    tags = ["a & b", "<tag>", "x > y", "ünï ✓", "quote \" and ' marks", "new"]
    spliced = xmp.render_xmp(tags, existing, "s.xmp")

    def elements(prop, kind, items, fill=None):
        container = next(c for c in prop if c.tag in (xmp._RDF + "Bag", xmp._RDF + "Seq"))
        container[:] = [c for c in container if c.tag != xmp._RDF + "li"]
        for item in items:
            ET.SubElement(container, xmp._RDF + "li").text = item

    real = xmp._set_items
    xmp._set_items = elements
    try:
        by_elements = xmp.render_xmp(tags, existing, "s.xmp")
    finally:
        xmp._set_items = real
    assert spliced == by_elements
    assert xmp.parse_xmp(spliced, "s.xmp") == tags
