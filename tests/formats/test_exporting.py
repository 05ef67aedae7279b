"""Export: atomic writes, backup once, never overwriting what was not imported,
suggestions, selections, and the trainer's JSONL."""

from __future__ import annotations

import json
import os

import pytest

from clml_desktop.collection.exporting import export_labels, write_training_set
from clml_desktop.collection.formats.common import FormatError
from clml_desktop.collection.importing import import_folder
from clml_desktop.collection.labels import Suggestion
from clml_desktop.collection.scan import scan_folder
from clml_desktop.collection.store import CollectionStore


@pytest.fixture
def store(folder):
    (folder / "a.txt").write_text("trigger,cat", encoding="utf-8")
    (folder / "b.txt").write_text("dog", encoding="utf-8")
    s = CollectionStore.open(folder)
    scan_folder(s)
    import_folder(s)
    yield s
    s.close()


def _id(store, rel):
    return store.image_by_path(rel).id


def test_in_place_rewrite_backs_up_once_and_keeps_order(store, folder):
    store.add_tag([_id(store, "a.jpg")], "fish")
    first = export_labels(store, "txt", in_place=True)
    assert (folder / "a.txt").read_text(encoding="utf-8") == "trigger, cat, fish"
    backup = store.data_dir / "backup" / "a.txt"
    assert first.backups == [backup] and backup.read_text(encoding="utf-8") == "trigger,cat"
    assert first.files_unchanged == 1 and first.files_written == [folder / "a.txt"]  # b.txt already says "dog"
    store.add_tag([_id(store, "a.jpg")], "bird")
    second = export_labels(store, "txt", in_place=True)
    assert second.backups == [] and backup.read_text(encoding="utf-8") == "trigger,cat"
    assert (folder / "a.txt").read_text(encoding="utf-8") == "trigger, cat, fish, bird"
    assert second.files_unchanged == 1
    assert import_folder(store).files_read == 0  # our own writes are not re-imported


def test_no_temp_files_are_left_behind(store, folder):
    export_labels(store, "caption", in_place=True)
    leftovers = [p for p in folder.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == [] and (folder / "a.caption").read_text(encoding="utf-8") == "trigger, cat"


def test_sidecar_changed_since_import_or_not_utf8_is_left_untouched(store, folder):
    (folder / "a.txt").write_text("someone else's edit", encoding="utf-8")
    os.utime(folder / "a.txt", ns=(1, 1))
    latin = "café".encode("latin-1")
    (folder / "b.txt").write_bytes(latin)
    summary = export_labels(store, "txt", in_place=True)
    assert (folder / "a.txt").read_text(encoding="utf-8") == "someone else's edit"
    assert (folder / "b.txt").read_bytes() == latin
    reasons = {p.path: p.message for p in summary.problems}
    assert "changed since it was last imported" in reasons["a.txt"]
    assert "not valid UTF-8" in reasons["b.txt"]


def test_tag_with_separator_refuses_that_file_only(store, folder):
    store.add_tag([_id(store, "a.jpg")], "x, y")
    store.add_tag([_id(store, "b.png")], "cow")
    summary = export_labels(store, "txt", in_place=True)
    assert (folder / "a.txt").read_text(encoding="utf-8") == "trigger,cat"
    assert (folder / "b.txt").read_text(encoding="utf-8") == "dog, cow"
    assert "contains the separator" in summary.problems[0].message


def test_export_to_folder_mirrors_the_tree_and_includes_empty_captions(store, tmp_path):
    out = tmp_path / "out"
    export_labels(store, "txt", out=out)
    assert (out / "a.txt").read_text(encoding="utf-8") == "trigger, cat"
    assert (out / "sub" / "c.txt").read_text(encoding="utf-8") == ""


def test_suggestions_as_tags_or_with_scores(store, tmp_path):
    suggestions = {"a.jpg": [Suggestion("cat", 0.99), Suggestion("grass", 0.8, 0.5, "m1")]}
    export_labels(store, "txt", out=tmp_path / "s", suggestions=suggestions)
    assert (tmp_path / "s" / "a.txt").read_text(encoding="utf-8") == "trigger, cat, grass"
    export_labels(store, "json", out=tmp_path / "l.json", suggestions=suggestions)
    doc = json.loads((tmp_path / "l.json").read_text(encoding="utf-8"))
    entry = next(e for e in doc["images"] if e["path"] == "a.jpg")
    assert entry["positives"] == ["trigger", "cat"]
    assert entry["suggestions"] == [{"tag": "grass", "score": 0.8, "threshold": 0.5, "model": "m1"}]


def test_selection_and_negatives_in_csv_long(store, tmp_path):
    store.reject_tag([_id(store, "a.jpg")], "dog")
    export_labels(store, "csv-long", out=tmp_path / "l.csv", image_ids=[_id(store, "a.jpg")])
    lines = (tmp_path / "l.csv").read_text(encoding="utf-8").splitlines()
    assert lines == [
        "path,tag,state,score,source",
        "a.jpg,trigger,positive,,original",
        "a.jpg,cat,positive,,original",
        "a.jpg,dog,negative,,manual",
    ]


def test_xmp_in_place_merges_into_existing_and_creates_new(store, folder):
    (folder / "b.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="5"/></rdf:RDF></x:xmpmeta>',
        encoding="utf-8",
    )
    import_folder(store)
    export_labels(store, "xmp", in_place=True)
    merged = (folder / "b.xmp").read_text(encoding="utf-8")
    assert 'Rating="5"' in merged and "<rdf:li>dog</rdf:li>" in merged
    assert "<rdf:li>trigger</rdf:li>" in (folder / "a.jpg.xmp").read_text(encoding="utf-8")
    assert (store.data_dir / "backup" / "b.xmp").exists()


def test_file_format_needs_out_and_list_writes_classes(store, tmp_path):
    with pytest.raises(FormatError, match="--in-place writes sidecars"):
        export_labels(store, "json", in_place=True)
    export_labels(store, "list", out=tmp_path / "train.txt")
    assert (tmp_path / "train_classes.txt").read_text(encoding="utf-8") == "trigger\ncat\ndog\n"
    assert (tmp_path / "train.txt").read_text(encoding="utf-8").splitlines()[0] == "a.jpg,0 1"


def test_training_set_lists_labelled_readable_images(store, folder, tmp_path):
    store.reject_tag([_id(store, "a.jpg")], "dog")
    path = tmp_path / "train.jsonl"
    assert write_training_set(store, path) == 2
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {"tags": ["trigger", "cat", "dog"]}
    a = store.image_by_path("a.jpg")
    assert lines[1] == {"path": str((folder / "a.jpg").resolve()), "image_id": a.id,
                        "version": a.version, "positives": ["trigger", "cat"],
                        "negatives": ["dog"], "confirmed": True}
    assert "confirmed" not in lines[2], "an image nobody touched is not confirmed"
    assert write_training_set(store, path, image_ids=[_id(store, "b.png")]) == 1


def test_a_removed_tag_is_not_written_and_lossless_formats_keep_it_as_negative(store, folder, tmp_path):
    """ADR 0019: removing a tag makes a rejection; a negative is not a tag in a caption."""
    store.remove_tag([_id(store, "a.jpg")], "cat")
    export_labels(store, "txt", in_place=True)
    assert (folder / "a.txt").read_text(encoding="utf-8") == "trigger"
    export_labels(store, "json", out=tmp_path / "l.json")
    entry = next(e for e in json.loads((tmp_path / "l.json").read_text(encoding="utf-8"))["images"]
                 if e["path"] == "a.jpg")
    assert entry["positives"] == ["trigger"] and entry["negatives"] == ["cat"]
    export_labels(store, "csv-long", out=tmp_path / "l.csv", image_ids=[_id(store, "a.jpg")])
    assert (tmp_path / "l.csv").read_text(encoding="utf-8").splitlines()[1:] == [
        "a.jpg,trigger,positive,,original",
        "a.jpg,cat,negative,,manual",
    ]
