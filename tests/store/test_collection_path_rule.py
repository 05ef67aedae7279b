"""Issue 14: one rule for what is inside a collection (ADR 0011 addendum),
applied by scan, import, review and export alike: a path is inside when its
real path is under the folder's real path; links that lead out are skipped
with a problem; an in-collection alias names the same image as its target."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clml_desktop.app import main
from clml_desktop.collection.importing import import_folder
from clml_desktop.collection.paths import PathOutsideCollection, collection_file, to_relpath
from clml_desktop.collection.scan import scan_folder
from clml_desktop.collection.store import CollectionStore


@pytest.fixture
def layout(tmp_path, make_image):
    """A collection `c` with `real/a.png`, and an `outside` folder next to it."""
    root = tmp_path / "c"
    make_image(root / "real" / "a.png")
    make_image(root / "top.png")
    outside = tmp_path / "outside"
    make_image(outside / "o.png")
    (outside / "o.txt").write_text("secret", encoding="utf-8")
    (outside / "notes.txt").write_text("private, words", encoding="utf-8")
    return root, outside


def _scan(root: Path):
    store = CollectionStore.open(root)
    report = scan_folder(store)
    summary = import_folder(store, tag_files=report.tag_files)
    return store, report, summary


def test_links_leading_out_are_skipped_with_a_problem(layout):
    root, outside = layout
    os.symlink(outside, root / "linked")
    os.symlink(outside / "o.png", root / "img_link.png")
    os.symlink(outside / "notes.txt", root / "top.txt")  # a sidecar read from outside, before
    store, report, summary = _scan(root)
    try:
        assert sorted(im.path for im in store.images()) == ["real/a.png", "top.png"]
        assert sorted((p.path, p.message) for p in report.problems) == [
            ("img_link.png", "symlink leads outside the collection; skipped"),
            ("linked", "symlink leads outside the collection; skipped"),
            ("top.txt", "symlink leads outside the collection; skipped"),
        ]
        assert store.image_labels()["top.png"].positives == []  # the outside file was not read
    finally:
        store.close()


def test_an_alias_inside_names_its_target_once_and_is_reachable_by_either_spelling(layout, capsys):
    root, _ = layout
    os.symlink(root / "real", root / "alias")  # sorts before "real": the walk could list it first
    os.symlink(root / "top.png", root / "also_top.png")
    store, report, _ = _scan(root)
    try:
        assert sorted(im.path for im in store.images()) == ["real/a.png", "top.png"]
        assert report.problems == []
        store.add_tag([store.image_by_path("real/a.png").id], "cat")
    finally:
        store.close()
    assert to_relpath(root, "alias/a.png") == "real/a.png"
    assert main(["review", str(root), "alias/a.png", "cat", "--reject"]) == 0
    assert main(["review", str(root), "real/a.png", "cat", "--accept"]) == 0
    assert "real/a.png: cat accepted" in capsys.readouterr().out


def test_review_scan_and_export_agree_on_a_link_leading_out(layout, capsys):
    root, outside = layout
    os.symlink(outside, root / "linked")
    assert main(["scan", str(root)]) == 0
    assert main(["review", str(root), "linked/o.png", "cat", "--accept"]) == 2
    assert "path leaves the collection" in capsys.readouterr().err


def test_the_rule_refuses_escapes_the_data_folder_and_links_for_writes(layout):
    root, outside = layout
    os.symlink(outside, root / "linked")
    os.symlink(root / "real", root / "alias")
    for bad in ("../outside/o.png", str(outside / "o.png"), "linked/o.png"):
        with pytest.raises(PathOutsideCollection) as info:
            to_relpath(root, bad)
        assert info.value.reason == "outside"
    with pytest.raises(PathOutsideCollection) as info:
        to_relpath(root, ".clml/collection.sqlite")
    assert info.value.reason == "data"
    assert collection_file(root, "real/a.txt") == root.resolve() / "real" / "a.txt"
    for bad in ("alias/a.txt", "../victim/planted.txt", "linked/o.txt", "/etc/x.txt", "a//b.txt"):
        with pytest.raises(PathOutsideCollection):
            collection_file(root, bad)
