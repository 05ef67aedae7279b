"""`clml-desktop demo`: registered with the CLI, creates the demo, reports bad folders."""

from __future__ import annotations

import pytest

from clml_desktop.app import build_parser, main
from clml_desktop.demo import is_demo, read_truth


def test_demo_subcommand_is_listed_with_its_options():
    args = build_parser().parse_args(
        ["demo", "somewhere", "--images", "7", "--hidden", "0.3", "--seed", "2", "--no-gui"]
    )
    assert (args.images, args.hidden, args.seed, args.no_gui) == (7, 0.3, 2, True)
    assert args.dir.name == "somewhere"


def test_demo_refuses_a_folder_with_other_files(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["demo", str(tmp_path), "--no-gui", "--images", "3"]) == 1
    assert str(tmp_path) in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_demo_no_gui_creates_scans_and_reuses(tmp_path, capsys):
    pytest.importorskip("clml_desktop.collection.store")
    pytest.importorskip("clml_desktop.collection.scan")
    pytest.importorskip("clml_desktop.collection.importing")
    from clml_desktop.collection.store import CollectionStore

    folder = tmp_path / "demo"
    assert main(["demo", str(folder), "--no-gui", "--images", "12"]) == 0
    assert is_demo(folder)
    out = capsys.readouterr().out
    assert "created demo" in out
    truth = read_truth(folder)
    visible = sum(len(p) - len(truth.hidden[rel]) for rel, p in truth.positives.items())
    with CollectionStore.open(folder) as store:
        assert store.image_count() == 12
        assert len(store.tags()) >= 5
        # the sidecars were imported, and the truth file was not mistaken for a tag file
        assert int((store.label_matrix().states == 1).sum()) == visible
    assert main(["demo", str(folder), "--no-gui"]) == 0
    assert "reusing existing demo" in capsys.readouterr().out
