"""Issue 14: an export never writes where an in-place export may not. `--out`
inside the collection is an in-place export (same guards), `.clml/` and images
are refused as targets, and paths from the store obey the collection's one
path rule (no writes through a symlinked folder, none out of a crafted store)."""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest

from clml_desktop.app import main
from clml_desktop.collection.exporting import export_labels
from clml_desktop.collection.formats.common import FormatError
from clml_desktop.collection.store import CollectionStore


@pytest.fixture
def scanned(folder):
    (folder / "a.txt").write_text("cat", encoding="utf-8")
    (folder / "b.txt").write_text("dog", encoding="utf-8")
    assert main(["scan", str(folder)]) == 0
    return folder


def _tag(folder, rel, tag):
    with CollectionStore.open(folder) as store:
        store.add_tag([store.image_by_path(rel).id], tag)


def test_the_store_and_images_are_refused_as_targets(scanned, capsys):
    store_file = scanned / ".clml" / "collection.sqlite"
    before = store_file.read_bytes()
    image = (scanned / "b.png").read_bytes()
    assert main(["export", str(scanned), "--format", "json", "--out", str(store_file)]) == 1
    assert ".clml" in capsys.readouterr().err
    assert main(["export", str(scanned), "--format", "csv-wide", "--out", str(scanned / "b.png")]) == 1
    assert "image" in capsys.readouterr().err
    assert main(["export", str(scanned), "--format", "txt", "--out", str(scanned / ".clml")]) == 1
    assert store_file.read_bytes() == before and (scanned / "b.png").read_bytes() == image
    with CollectionStore.open(scanned) as store:
        assert store.image_count() == 3


def test_out_the_collection_folder_keeps_every_in_place_guard(scanned, capsys):
    _tag(scanned, "a.jpg", "fish")
    _tag(scanned, "b.png", "owl")
    (scanned / "a.txt").write_text("someone's edit", encoding="utf-8")
    os.utime(scanned / "a.txt", ns=(1, 1))
    (scanned / "b.txt").write_bytes("café".encode("latin-1"))
    assert main(["export", str(scanned), "--format", "txt", "--out", str(scanned)]) == 1
    err = capsys.readouterr().err
    assert "a.txt: changed since it was last imported" in err and "b.txt" in err
    assert (scanned / "a.txt").read_text(encoding="utf-8") == "someone's edit"
    assert (scanned / "b.txt").read_bytes() == "café".encode("latin-1")


def test_a_second_export_into_the_collection_keeps_an_edit_made_after_the_first(scanned, capsys):
    _tag(scanned, "a.jpg", "fish")
    target = scanned / "labels.json"
    assert main(["export", str(scanned), "--format", "json", "--out", str(target)]) == 0
    assert main(["export", str(scanned), "--format", "txt", "--out", str(scanned)]) == 0
    assert (scanned / "a.txt").read_text(encoding="utf-8") == "cat, fish"
    (scanned / "a.txt").write_text("cat, fish, edited", encoding="utf-8")
    os.utime(scanned / "a.txt", ns=(2, 2))
    target.write_text('{"edited": true}', encoding="utf-8")
    _tag(scanned, "a.jpg", "bird")
    assert main(["export", str(scanned), "--format", "txt", "--out", str(scanned)]) == 3  # b.txt is up to date
    assert main(["export", str(scanned), "--format", "json", "--out", str(target)]) == 1
    assert (scanned / "a.txt").read_text(encoding="utf-8") == "cat, fish, edited"
    assert target.read_text(encoding="utf-8") == '{"edited": true}'
    assert main(["export", str(scanned), "--format", "json", "--out", str(scanned.parent / "x.json")]) == 0


def test_in_place_export_never_writes_through_a_symlinked_folder(scanned, tmp_path, capsys):
    outside = tmp_path / "elsewhere"
    shutil.move(str(scanned / "sub"), str(outside))  # the store still lists sub/c.jpg
    os.symlink(outside, scanned / "sub")
    (outside / "c.txt").write_text("theirs", encoding="utf-8")
    _tag(scanned, "sub/c.jpg", "fox")
    assert main(["export", str(scanned), "--format", "txt", "--in-place"]) == 3
    assert "sub/c.txt: path leaves the collection; not written" in capsys.readouterr().err
    assert (outside / "c.txt").read_text(encoding="utf-8") == "theirs"
    assert main(["review", str(scanned), "sub/c.jpg", "fox", "--reject"]) == 2  # the same rule


def test_paths_from_a_crafted_store_are_checked(scanned, tmp_path):
    db = sqlite3.connect(scanned / ".clml" / "collection.sqlite")
    with db:
        db.execute("UPDATE images SET path = '../victim/planted.png' WHERE path = 'a.jpg'")
    db.close()
    (tmp_path / "victim").mkdir()
    with CollectionStore.open(scanned) as store:
        summary = export_labels(store, "txt", in_place=True)
        assert "../victim/planted.txt" in {p.path for p in summary.problems}
        out = tmp_path / "out" / "deeper"
        summary = export_labels(store, "caption", out=out)
        assert "../victim/planted.caption" in {p.path for p in summary.problems}
    assert not (tmp_path / "victim" / "planted.txt").exists()
    assert not (tmp_path / "out" / "victim").exists()


def test_the_window_export_goes_through_the_same_rule(scanned):
    from clml_desktop.workflow.exporting import ExportRequest, write_export

    class _Control:
        def report(self, *a):
            pass

        def check(self):
            pass

    request = ExportRequest("json", None, False, False, scanned / ".clml" / "x.json")
    with pytest.raises(FormatError):
        write_export(_Control(), scanned, request, ", ")
    assert not (scanned / ".clml" / "x.json").exists()
