"""Importing tag files into the store: sources, merge, idempotence, incremental rescans,
and files that must be reported and left alone."""

from __future__ import annotations

import os

import pytest

from clml_contract.progress import Steps
from clml_desktop.collection.formats.common import FormatError
from clml_desktop.collection.importing import TAG_FILE_PROBLEM, import_file, import_folder
from clml_desktop.collection.scan import scan_folder
from clml_desktop.collection.store import CollectionStore


def _open(folder):
    store = CollectionStore.open(folder)
    scan_folder(store)
    return store


def _tags(store, rel):
    return [(r.tag, r.state.stored, r.source) for r in store.labels_of(store.image_by_path(rel).id)]


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
        stop = Steps()
        stop.cancel()
        cancelled = import_folder(store, control=stop)
        assert cancelled.cancelled and 0 < cancelled.files_read < 300
        rest = import_folder(store, control=Steps(lambda d, t, text: calls.append((d, t, text))))
        assert rest.files_read == 300 - cancelled.files_read and rest.files_unchanged == cancelled.files_read
        assert calls[-1] == (rest.files_read, rest.files_read, "Reading tag files")
        assert len(store.images_with_tag("x")) == 300


def test_first_open_is_one_baseline_edit_that_undo_passes_over(folder):
    (folder / "a.txt").write_text("cat, dog", encoding="utf-8")
    (folder / "b.txt").write_text("bird", encoding="utf-8")
    with _open(folder) as store:
        assert store.is_untouched()
        first = import_folder(store)
        assert first.positives_added == 3 and first.edit_id is not None
        [baseline] = store.history()
        assert baseline.id == first.edit_id and baseline.label_changes == 3
        assert "not an undo step" in baseline.description
        assert store.edit_changes(baseline.id) == ([], [])  # a count, no per-pair rows
        assert not store.can_undo() and store.undo() is None
        assert _tags(store, "a.jpg") == [("cat", "positive", "original"), ("dog", "positive", "original")]
        assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1  # checks back on
        # a later import is an ordinary undo step
        _bump(folder / "a.txt", "cat, dog, fish")
        later = import_folder(store)
        assert later.positives_added == 1 and store.can_undo()
        assert store.undo().startswith("Import")
        assert [t for t, *_ in _tags(store, "a.jpg")] == ["cat", "dog"]
        assert store.undo() is None  # the baseline stays
        assert store.redo().startswith("Import")
        assert [t for t, *_ in _tags(store, "a.jpg")] == ["cat", "dog", "fish"]


def test_a_store_with_history_never_takes_the_baseline_path(folder):
    (folder / "a.txt").write_text("cat", encoding="utf-8")
    with _open(folder) as store:
        image = store.image_by_path("b.png").id
        store.add_tag([image], "manual")
        store.forget_tag([image], "manual")  # no labels left, but two undo steps
        assert not store.is_untouched()
        summary = import_folder(store)
        assert summary.positives_added == 1
        assert store.undo().startswith("Import")
        assert _tags(store, "a.jpg") == []


def test_baseline_with_aliases_duplicates_and_a_tag_both_present_and_absent(folder):
    from clml_desktop.collection.labels import ImageLabels, LabelSource

    with _open(folder) as store:
        report = store.import_labels(
            {
                "a.jpg": ImageLabels(positives=["long_hair", "long hair", "cat"], negatives=["cat", "dog", "dog"]),
                "missing.jpg": ImageLabels(positives=["x"]),
            },
            LabelSource.ORIGINAL,
            baseline=True,
        )
        assert (report.positives_added, report.negatives_added) == (2, 1)
        assert report.unknown_paths == ["missing.jpg"]
        assert any("both present and absent" in p.message for p in report.problems)
        assert _tags(store, "a.jpg") == [
            ("long_hair", "positive", "original"),
            ("cat", "positive", "original"),
            ("dog", "negative", "original"),
        ]
        assert [(r.position) for r in store.labels_of(store.image_by_path("a.jpg").id)][:2] == [0, 1]
        assert not store.can_undo()


def test_a_big_first_import_rebuilds_the_tag_index(tmp_path, make_image):
    root = tmp_path / "big"
    make_image(root / "one.png")
    names = [f"tag{i}" for i in range(6000)]  # over the bulk threshold on one image
    (root / "one.txt").write_text(", ".join(names), encoding="utf-8")
    with _open(root) as store:
        assert import_folder(store).positives_added == 6000
        indexes = {r[1] for r in store._conn.execute("PRAGMA index_list(labels)")}
        assert "labels_tag" in indexes
        assert len(store.images_with_tag("tag5999")) == 1
        assert store._conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_rescan_after_a_sidecar_edit_picks_the_change_up(folder):
    (folder / "a.txt").write_text("cat", encoding="utf-8")
    with _open(folder) as store:
        import_folder(store, tag_files=scan_folder(store).tag_files)
        _bump(folder / "a.txt", "cat, dog")
        report = scan_folder(store)
        summary = import_folder(store, tag_files=report.tag_files)
        assert (summary.files_read, summary.positives_added) == (1, 1)
        assert [t for t, *_ in _tags(store, "a.jpg")] == ["cat", "dog"]


def test_the_scans_walk_serves_the_import(folder, monkeypatch):
    from clml_desktop.collection import importing

    (folder / "a.txt").write_text("cat", encoding="utf-8")
    (folder / "labels.csv").write_text("path,tags\nb.png,dog\n", encoding="utf-8")
    with _open(folder) as store:
        report = scan_folder(store)
        assert set(report.tag_files) == {"a.txt", "labels.csv"}

        def no_second_walk(root):
            raise AssertionError("the folder was listed twice")

        monkeypatch.setattr(importing, "find_tag_files", no_second_walk)
        summary = import_folder(store, tag_files=report.tag_files)
        assert summary.problems == [] and summary.files_read == 2
        assert _tags(store, "b.png") == [("dog", "positive", "original")]
    with CollectionStore.open(folder) as store:
        stopped = Steps()
        stopped.cancel()
        assert scan_folder(store, control=stopped).tag_files is None  # a partial walk is not handed on


def test_a_new_image_next_to_an_imported_sidecar_gets_its_tags(folder, make_image):
    (folder / "a.txt").write_text("cat, dog", encoding="utf-8")
    with _open(folder) as store:
        import_folder(store)
        store.reject_tag([store.image_by_path("a.jpg").id], "dog")
        make_image(folder / "a.png")
        scan_folder(store)
        summary = import_folder(store)
        assert (summary.files_read, summary.positives_added, summary.conflicts) == (1, 2, 0)
        assert [t for t, *_ in _tags(store, "a.png")] == ["cat", "dog"]
        assert ("dog", "negative", "manual") in _tags(store, "a.jpg")  # read for the new image only
        again = import_folder(store)
        assert (again.files_read, again.files_unchanged) == (0, 1)


def test_an_exported_sidecar_learns_its_images_without_a_read(folder):
    (folder / "a.txt").write_text("cat", encoding="utf-8")
    with _open(folder) as store:
        st = (folder / "a.txt").stat()
        store.set_source_file_states([("a.txt", st.st_size, st.st_mtime_ns)])  # as an export records it
        assert store.source_file_records()["a.txt"][2] is None
        summary = import_folder(store)
        assert (summary.files_read, summary.files_unchanged) == (0, 1)
        assert store.source_file_records()["a.txt"][2] == "a.jpg"


def test_a_tag_file_mark_goes_when_its_file_does(folder):
    (folder / "a.txt").write_bytes("café".encode("latin-1"))
    with _open(folder) as store:
        import_folder(store)
        assert store.image_by_path("a.jpg").tag_file_problem
        (folder / "a.txt").unlink()
        assert import_folder(store).problems == []
        assert store.image_by_path("a.jpg").tag_file_problem is None
