"""Importing tag files into the store: sources, merge, idempotence, incremental rescans,
and files that must be reported and left alone."""

from __future__ import annotations

import os

import pytest

from clml_desktop.collection.formats.common import FormatError
from clml_desktop.collection.importing import TAG_FILE_PROBLEM, import_file, import_folder
from clml_desktop.collection.scan import scan_folder
from clml_desktop.collection.store import CollectionStore


def _open(folder):
    store = CollectionStore.open(folder)
    scan_folder(store)
    return store


def _tags(store, rel):
    return [(r.tag, r.state, r.source) for r in store.labels_of(store.image_by_path(rel).id)]


def _bump(path, text):
    """Rewrite a file and make sure its mtime differs from before."""
    old = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(old + 2_000_000_000, old + 2_000_000_000))


def test_first_open_imports_every_sidecar_kind_as_original(folder):
    (folder / "a.txt").write_text("trigger, cat", encoding="utf-8")
    (folder / "b.caption").write_text("dog", encoding="utf-8")
    (folder / "sub" / "c.jpg.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag>'
        "<rdf:li>bird</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>",
        encoding="utf-8",
    )
    with _open(folder) as store:
        summary = import_folder(store)
        assert summary.problems == []
        assert summary.files_read == 3 and set(summary.formats) == {"txt", "caption", "xmp"}
        assert _tags(store, "a.jpg") == [("trigger", "positive", "original"), ("cat", "positive", "original")]
        assert _tags(store, "b.png") == [("dog", "positive", "original")]
        assert _tags(store, "sub/c.jpg") == [("bird", "positive", "original")]


def test_importing_twice_is_idempotent_and_incremental(folder):
    (folder / "a.txt").write_text("cat, dog", encoding="utf-8")
    (folder / "b.txt").write_text("bird", encoding="utf-8")
    with _open(folder) as store:
        first = import_folder(store)
        history = len(store.history())
        second = import_folder(store)
        assert (second.files_read, second.files_unchanged, second.positives_added) == (0, 2, 0)
        assert len(store.history()) == history
        _bump(folder / "a.txt", "cat, dog, fish")
        third = import_folder(store)
        assert (third.files_read, third.files_unchanged, third.positives_added) == (1, 1, 1)
        assert [t for t, *_ in _tags(store, "a.jpg")] == ["cat", "dog", "fish"]
        forced = import_folder(store, force=True)
        assert forced.files_read == 2 and forced.positives_added == 0
    assert first.positives_added == 3


def test_import_merges_and_never_deletes_or_overrides_a_person(folder):
    (folder / "a.txt").write_text("cat, dog", encoding="utf-8")
    with _open(folder) as store:
        import_folder(store)
        image = store.image_by_path("a.jpg").id
        store.reject_tag([image], "dog")
        _bump(folder / "a.txt", "fish")
        summary = import_folder(store)
        assert summary.conflicts == 0
        assert _tags(store, "a.jpg") == [
            ("cat", "positive", "original"),
            ("fish", "positive", "original"),
            ("dog", "negative", "manual"),
        ]
        _bump(folder / "a.txt", "dog")
        assert import_folder(store).conflicts == 1
        assert ("dog", "negative", "manual") in _tags(store, "a.jpg")


def test_latin1_sidecar_marks_the_image_and_is_retried_until_fixed(folder):
    latin = "café, crème".encode("latin-1")
    (folder / "a.txt").write_bytes(latin)
    with _open(folder) as store:
        summary = import_folder(store)
        assert len(summary.problems) == 1 and "not valid UTF-8" in summary.problems[0].message
        assert summary.problems[0].path == "a.txt"
        image = store.image_by_path("a.jpg")
        assert image.tag_file_problem.startswith(TAG_FILE_PROBLEM + "a.txt")
        assert image.problem is None  # the image itself is fine: it is still scored
        store.add_model("m1", folder / "m1", tags=["x"])
        assert "a.jpg" in {row.path for row in store.images_needing_predictions("m1")}
        assert ("a.jpg", image.tag_file_problem) in [(p.path, p.message) for p in store.problems()]
        assert _tags(store, "a.jpg") == []
        assert (folder / "a.txt").read_bytes() == latin
        assert import_folder(store).problems  # not recorded as imported: reported again
        _bump(folder / "a.txt", "café, crème")
        assert import_folder(store).problems == []
        assert store.image_by_path("a.jpg").tag_file_problem is None
        assert [t for t, *_ in _tags(store, "a.jpg")] == ["café", "crème"]


def test_bom_empty_tags_and_duplicates(folder):
    (folder / "a.txt").write_bytes("\ufeffcat,, cat ,dog,\n".encode())
    with _open(folder) as store:
        assert import_folder(store).problems == []
        assert [t for t, *_ in _tags(store, "a.jpg")] == ["cat", "dog"]


def test_explicit_format_reads_only_that_kind(folder):
    (folder / "a.txt").write_text("cat", encoding="utf-8")
    (folder / "a.caption").write_text("dog", encoding="utf-8")
    with _open(folder) as store:
        import_folder(store, "caption")
        assert [t for t, *_ in _tags(store, "a.jpg")] == ["dog"]
        import_folder(store, "txt")
        assert [t for t, *_ in _tags(store, "a.jpg")] == ["dog", "cat"]


def test_top_level_csv_is_detected_on_open(folder):
    (folder / "labels.csv").write_text("path,tag,state\na.jpg,cat,positive\nb.png,cat,negative\n", encoding="utf-8")
    with _open(folder) as store:
        summary = import_folder(store)
        assert summary.formats == ["csv-long"]
        assert _tags(store, "b.png") == [("cat", "negative", "original")]
        assert import_folder(store).files_read == 0


def test_chosen_file_is_imported_with_source_imported_and_escapes_skipped(folder, tmp_path):
    chosen = tmp_path / "mine.csv"
    chosen.write_text("path,tags\n../../etc/passwd,root\na.jpg,cat; dog\n", encoding="utf-8")
    with _open(folder) as store:
        summary = import_file(store, chosen, "csv-tags", tags_delimiter=";")
        assert summary.positives_added == 2
        assert "leaves the collection" in summary.problems[0].message
        assert _tags(store, "a.jpg") == [("cat", "positive", "imported"), ("dog", "positive", "imported")]


def test_chosen_file_unusable_as_a_whole_raises(folder, tmp_path):
    chosen = tmp_path / "mine.csv"
    chosen.write_text("file,labels\na.jpg,cat\n", encoding="utf-8")
    with _open(folder) as store, pytest.raises(FormatError, match="missing column"):
        import_file(store, chosen, "csv-tags")


def test_sidecar_without_image_is_ignored_until_the_image_appears(folder, make_image):
    (folder / "d.txt").write_text("late", encoding="utf-8")
    with _open(folder) as store:
        assert import_folder(store).files_read == 0
        make_image(folder / "d.jpg")
        scan_folder(store)
        assert import_folder(store).files_read == 1
        assert [t for t, *_ in _tags(store, "d.jpg")] == ["late"]


def test_lightroom_and_digikam_xmp_names_are_both_read(folder):
    def xmp(tag):
        return (
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description xmlns:lr="http://ns.adobe.com/lightroom/1.0/"><lr:hierarchicalSubject><rdf:Bag>'
            f"<rdf:li>Group|{tag}</rdf:li></rdf:Bag></lr:hierarchicalSubject></rdf:Description></rdf:RDF></x:xmpmeta>"
        )

    (folder / "a.jpg.xmp").write_text(xmp("first"), encoding="utf-8")
    (folder / "a.xmp").write_text(xmp("second"), encoding="utf-8")
    with _open(folder) as store:
        assert import_folder(store, "xmp").files_read == 2
        assert [t for t, *_ in _tags(store, "a.jpg")] == ["first", "second"]


def test_unsafe_xmp_is_reported_and_left_alone(folder):
    evil = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">&e;</x:xmpmeta>'
    )
    (folder / "b.png.xmp").write_text(evil, encoding="utf-8")
    with _open(folder) as store:
        summary = import_folder(store)
        assert "unsafe XML" in summary.problems[0].message
        assert _tags(store, "b.png") == []
    assert (folder / "b.png.xmp").read_text(encoding="utf-8") == evil


def test_top_level_paper_list_is_detected(folder):
    (folder / "classes.txt").write_text("cat\ndog\n", encoding="utf-8")
    (folder / "train.txt").write_text("a.jpg,1 0\nsub/c.jpg,0\n", encoding="utf-8")
    with _open(folder) as store:
        summary = import_folder(store)
        assert summary.formats == ["list"] and summary.problems == []
        assert [t for t, *_ in _tags(store, "a.jpg")] == ["dog", "cat"]


def test_cancel_keeps_what_was_read_and_the_next_import_reads_the_rest(folder, make_image):
    payload = make_image(folder / "many" / "0.png", (4, 4)).read_bytes()
    for i in range(300):
        (folder / "many" / f"{i}.png").write_bytes(payload)
        (folder / "many" / f"{i}.txt").write_text("x", encoding="utf-8")
    with _open(folder) as store:
        calls = []
        cancelled = import_folder(store, cancel=lambda: True)
        assert cancelled.cancelled and 0 < cancelled.files_read < 300
        rest = import_folder(store, progress=lambda d, t: calls.append((d, t)))
        assert rest.files_read == 300 - cancelled.files_read and rest.files_unchanged == cancelled.files_read
        assert calls[-1] == (rest.files_read, rest.files_read)
        assert len(store.images_with_tag("x")) == 300
