"""`clml-desktop scan` and `clml-desktop export`: summaries, problems on stderr, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clml_desktop.app import main


def test_scan_imports_sidecars_and_reports_problems_without_failing(folder, capsys):
    (folder / "a.txt").write_text("cat, dog", encoding="utf-8")
    (folder / "b.txt").write_bytes("café".encode("latin-1"))
    assert main(["scan", str(folder)]) == 0
    captured = capsys.readouterr()
    assert "3 images" in captured.out and "+2 positives" in captured.out
    assert "b.txt: not valid UTF-8" in captured.err
    assert main(["scan", str(folder)]) == 0
    assert "0 read, 1 unchanged" in capsys.readouterr().out


def test_scan_with_a_file_fails_only_when_the_file_is_unusable(folder, tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_text("path,Edema\na.jpg,1\nb.png,0\n../x.jpg,1\n", encoding="utf-8")
    assert main(["scan", str(folder), "--format", "csv-wide", "--file", str(good)]) == 0
    captured = capsys.readouterr()
    assert "+1 positives, +1 negatives" in captured.out and "leaves the collection" in captured.err
    bad = tmp_path / "bad.csv"
    bad.write_text("file,labels\n", encoding="utf-8")
    assert main(["scan", str(folder), "--format", "csv-long", "--file", str(bad)]) == 1
    assert "missing column" in capsys.readouterr().err


def test_export_formats_and_clear_failures(folder, tmp_path, capsys):
    (folder / "a.txt").write_text("cat", encoding="utf-8")
    assert main(["export", str(folder), "--format", "json", "--out", str(tmp_path / "x.json")]) == 1
    assert "never scanned" in capsys.readouterr().err
    assert main(["scan", str(folder)]) == 0
    out = tmp_path / "labels.json"
    assert main(["export", str(folder), "--format", "json", "--out", str(out), "--confirmed-only"]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["images"][0]["positives"] == ["cat"]
    assert main(["export", str(folder), "--format", "txt", "--in-place"]) == 0
    assert main(["export", str(folder), "--format", "train-jsonl", "--out", str(tmp_path / "t.jsonl")]) == 0
    capsys.readouterr()
    assert main(["export", str(folder), "--format", "json", "--out", str(out), "--with-suggestions"]) == 1
    assert "no active model" in capsys.readouterr().err
    assert main(["export", str(folder), "--format", "csv-long", "--in-place"]) == 1
    assert "--in-place writes sidecars" in capsys.readouterr().err


def test_export_with_suggestions_uses_the_active_models_suggestions(folder, tmp_path, capsys, monkeypatch):
    from clml_desktop.collection.labels import Suggestion
    from clml_desktop.collection.store import CollectionStore
    from clml_desktop.inference import suggestions as suggestions_module

    (folder / "a.txt").write_text("cat", encoding="utf-8")
    assert main(["scan", str(folder)]) == 0
    with CollectionStore.open(folder) as store:
        store.add_model("m1", str(tmp_path / "m1"), tags=["cat", "grass"], activate=True)
    seen = {}

    def fake(store, min_score=None):
        seen["min_score"] = min_score
        return {"a.jpg": [Suggestion("grass", 0.9, 0.5, "m1")]}

    monkeypatch.setattr(suggestions_module, "suggestions_for_export", fake)
    out = tmp_path / "s.csv"
    assert main(["export", str(folder), "--format", "csv-long", "--out", str(out), "--with-suggestions",
                 "--min-score", "0.7"]) == 0
    assert seen == {"min_score": 0.7}
    assert "a.jpg,grass,suggested,0.9,m1" in out.read_text(encoding="utf-8").splitlines()


def test_export_xmp_naming_names_new_sidecars(folder, capsys):
    (folder / "a.txt").write_text("cat", encoding="utf-8")
    assert main(["scan", str(folder)]) == 0
    assert main(["export", str(folder), "--format", "xmp", "--in-place", "--xmp-naming", "name.xmp"]) == 0
    assert "<rdf:li>cat</rdf:li>" in (folder / "a.xmp").read_text(encoding="utf-8")
    assert not (folder / "a.jpg.xmp").exists()


def _disk_full_for(monkeypatch, names: set[str]) -> None:
    """Make the export's atomic writer fail with ENOSPC for files named in `names`."""
    import errno
    import os

    from clml_desktop.collection import exporting

    real_write = exporting.atomic_write_bytes

    def write(target, data):
        if Path(target).name in names:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        real_write(target, data)

    monkeypatch.setattr(exporting, "atomic_write_bytes", write)


def test_export_exits_3_when_some_files_fail_and_names_them(folder, tmp_path, capsys, monkeypatch):
    (folder / "a.txt").write_text("cat", encoding="utf-8")
    (folder / "b.txt").write_text("dog", encoding="utf-8")
    assert main(["scan", str(folder)]) == 0
    _disk_full_for(monkeypatch, {"b.txt"})
    out = tmp_path / "tags"
    assert main(["export", str(folder), "--format", "txt", "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert f"{out / 'b.txt'}: cannot write: No space left on device" in err
    assert "partly done" in err
    assert (out / "a.txt").read_text(encoding="utf-8") == "cat" and not (out / "b.txt").exists()


def test_export_exits_1_when_every_file_fails(folder, tmp_path, capsys, monkeypatch):
    (folder / "a.txt").write_text("cat", encoding="utf-8")
    assert main(["scan", str(folder)]) == 0
    _disk_full_for(monkeypatch, {"labels.json"})
    out = tmp_path / "labels.json"
    assert main(["export", str(folder), "--format", "json", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{out}: cannot write: No space left on device" in err and "nothing was written" in err


def test_a_clean_export_exits_0(folder, tmp_path, capsys):
    (folder / "a.txt").write_text("cat", encoding="utf-8")
    assert main(["scan", str(folder)]) == 0
    out = tmp_path / "tags"
    assert main(["export", str(folder), "--format", "txt", "--out", str(out)]) == 0
    assert main(["export", str(folder), "--format", "txt", "--out", str(out)]) == 0  # all unchanged
    assert capsys.readouterr().err == ""


def test_export_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "0 every file written or already up to date" in text
    assert "3 partly done" in text and "1 nothing written" in text
