"""Issue 14, hostile input on the command line: names that carry terminal escapes are
printed visibly, and impossible argument values are refused at parse time (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from clml_desktop.app import main
from clml_desktop.cli.display import shown

RETITLE = "\x1b]2;pwned\x07"
CLEAR = "\x1b[2J"
RLO = "\u202e"
HOSTILE = f"{RETITLE}{CLEAR}{RLO}gpj.exe"


@pytest.fixture(autouse=True)
def private_user_data(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


@pytest.fixture
def folder(tmp_path) -> Path:
    """Two good images and a broken one whose name carries terminal escapes."""
    root = tmp_path / "photos"
    root.mkdir()
    for name in ("a.jpg", "b.png"):
        Image.new("RGB", (16, 12), (30, 120, 200)).save(root / name)
    (root / f"{HOSTILE}.jpg").write_bytes(b"not an image")
    (root / "a.txt").write_text("cat", encoding="utf-8")
    return root


def _raw_controls(text: str) -> list[str]:
    return [c for c in text if c in "\x1b\x07\u202e"]


# ---- item 1: what is printed -------------------------------------------------------


def test_shown_escapes_controls_bidi_and_undecodable_bytes_but_keeps_ordinary_text():
    assert shown(HOSTILE) == "\\x1b]2;pwned\\x07\\x1b[2J\\u202egpj.exe"
    assert shown("a\nb\tc\r") == "a\\nb\\tc\\r"
    assert shown("bad\udcff") == "bad\\udcff"  # a lone surrogate would even crash print()
    assert shown("\x9b31m") == "\\x9b31m"  # the one-byte CSI
    for fine in ("café 猫.jpg", "👩\u200d💻 tag", "with space", "back\\slash.png"):
        assert shown(fine) == fine
    assert shown("two\nlines\x1b", keep_newlines=True) == "two\nlines\\x1b"


def test_scan_and_stats_print_a_hostile_file_name_visibly(folder, capsys):
    assert main(["scan", str(folder)]) == 0
    captured = capsys.readouterr()
    assert not _raw_controls(captured.out + captured.err)
    assert shown(HOSTILE) in captured.err
    assert main(["stats", str(folder)]) == 0
    out = capsys.readouterr().out
    assert not _raw_controls(out) and shown(HOSTILE) in out


def test_stats_json_keeps_the_exact_name(folder, capsys):
    assert main(["scan", str(folder)]) == 0
    capsys.readouterr()
    assert main(["stats", str(folder), "--json"]) == 0
    out = capsys.readouterr().out
    assert not _raw_controls(out) and "\u202e" not in out  # RLO and C1 controls escaped too
    data = json.loads(out)
    assert any(p["path"] == f"{HOSTILE}.jpg" for p in data["problems"])


def test_a_refusal_quoting_a_hostile_argument_is_escaped(folder, capsys):
    assert main(["scan", str(folder)]) == 0
    capsys.readouterr()
    assert main(["review", str(folder), "--accept", f"{CLEAR}nope.jpg", "cat"]) == 2
    err = capsys.readouterr().err
    assert not _raw_controls(err) and "\\x1b[2Jnope.jpg" in err
    assert main(["review", str(folder), "--accept", "a.jpg", f"{RETITLE}tag"]) == 2
    err = capsys.readouterr().err
    assert not _raw_controls(err) and "\\x1b]2;pwned\\x07tag" in err


def test_review_prints_the_tag_it_changed_visibly(folder, capsys):
    assert main(["scan", str(folder)]) == 0
    capsys.readouterr()
    assert main(["review", str(folder), "--reject", "a.jpg", "cat"]) == 0
    assert "a.jpg: cat rejected" in capsys.readouterr().out


def test_export_problems_print_file_names_visibly(folder, tmp_path, capsys, monkeypatch):
    from clml_desktop.collection import exporting
    from clml_desktop.collection.exporting import ExportSummary

    assert main(["scan", str(folder)]) == 0
    capsys.readouterr()
    real = exporting.export_labels

    def with_a_hostile_problem(*args, **kwargs):
        summary: ExportSummary = real(*args, **kwargs)
        summary.problems.append(f"{HOSTILE}.txt: disk full")
        return summary

    monkeypatch.setattr(exporting, "export_labels", with_a_hostile_problem)
    main(["export", str(folder), "--format", "txt", "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert not _raw_controls(captured.out + captured.err)
    assert shown(HOSTILE) in captured.err


# ---- item 2: argument checks -------------------------------------------------------


def _usage_error(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("command", ["scan", "export"])
def test_an_empty_tags_delimiter_is_a_usage_error(folder, tmp_path, command, capsys):
    extra = ["--format", "csv-tags", "--out", str(tmp_path / "x.csv")] if command == "export" else []
    err = _usage_error([command, str(folder), *extra, "--tags-delimiter", ""], capsys)
    assert "--tags-delimiter" in err and "empty" in err


BAD_TRAIN = [
    ("--epochs", "0"), ("--epochs", "-1"), ("--folds", "-1"), ("--batch-size", "0"),
    ("--image-size", "0"), ("--clml-lambda", "nan"), ("--clml-lambda", "inf"),
    ("--clml-lambda", "-1"), ("--tau", "nan"), ("--tau", "2"), ("--epochs", "x"),
]


@pytest.mark.parametrize(("flag", "value"), BAD_TRAIN)
def test_train_refuses_impossible_values_before_anything_runs(folder, flag, value, capsys, monkeypatch):
    import clml_desktop.cli.train as cli_train

    monkeypatch.setattr(cli_train, "train", lambda *a, **k: pytest.fail("train ran"))
    err = _usage_error(["train", str(folder), flag, value], capsys)
    assert flag in err


@pytest.mark.parametrize(("flag", "value"), [
    *BAD_TRAIN, ("--lr", "0"), ("--lr", "nan"), ("--weight-decay", "-1"), ("--change-epoch", "-1"),
    ("--holdout-share", "1"), ("--ema-decay", "nan"), ("--unknown-weight", "2"),
    ("--reject-rate", "nan"), ("--workers", "-1"),
])
def test_the_trainer_refuses_them_on_its_own(tmp_path, flag, value, capsys):
    from training.cli import build_parser

    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["fit", "--data", str(tmp_path / "t.jsonl"), "--out",
                                   str(tmp_path / "m"), flag, value])
    assert exc.value.code == 2
    assert flag in capsys.readouterr().err


def test_the_trainer_still_takes_sensible_values(tmp_path):
    from training.cli import build_parser

    args = build_parser().parse_args([
        "fit", "--data", "t.jsonl", "--out", "m", "--epochs", "1", "--folds", "0",
        "--batch-size", "1", "--clml-lambda", "0", "--tau", "0.8", "--lr", "1e-3",
        "--holdout-share", "0", "--unknown-weight", "0.5", "--reject-rate", "0.1",
    ])
    assert (args.epochs, args.folds, args.batch_size, args.clml_lambda) == (1, 0, 1, 0.0)


def test_export_refuses_image_ids_the_collection_lacks(folder, tmp_path, capsys):
    assert main(["scan", str(folder)]) == 0
    capsys.readouterr()
    out = tmp_path / "x.json"
    assert main(["export", str(folder), "--format", "json", "--out", str(out),
                 "--image-ids", "1,99999"]) == 2
    assert "99999" in capsys.readouterr().err
    assert not out.exists()
    err = _usage_error(["export", str(folder), "--format", "json", "--out", str(out),
                        "--image-ids", "1,x"], capsys)
    assert "--image-ids" in err
    assert main(["export", str(folder), "--format", "json", "--out", str(out), "--image-ids", "1"]) == 0


def test_suggest_lists_hostile_paths_and_model_tags_visibly_and_json_exactly(capsys):
    import argparse
    from types import SimpleNamespace

    from clml_desktop.cli.suggest import _print
    from clml_desktop.inference.suggestions import ScoredPair

    pair = ScoredPair(image_id=1, path=f"{HOSTILE}.jpg", tag=f"{RLO}tag{CLEAR}", tag_id=None,
                      score=0.9, threshold=0.5, kind="unknown")
    engine = SimpleNamespace(model_id=f"m{RETITLE}", provider=SimpleNamespace(provider="cpu"))
    _print(argparse.Namespace(json=False, limit=20, order="confident"), engine, [pair], [pair])
    out = capsys.readouterr().out
    assert not _raw_controls(out)
    assert shown(HOSTILE) in out and "\\u202etag\\x1b[2J" in out and "m\\x1b]2;pwned" in out
    _print(argparse.Namespace(json=True, limit=20, order="confident"), engine, [pair], [])
    data = json.loads(capsys.readouterr().out)
    assert data["suggestions"][0]["image"] == f"{HOSTILE}.jpg" and data["model"] == engine.model_id


def test_the_progress_bar_draws_a_hostile_path_visibly():
    import io

    from clml_desktop.cli.progress_text import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar(stream=stream)
    bar.update(1.0, f"model in /x/{HOSTILE}", force=True)
    bar.finish()
    assert not _raw_controls(stream.getvalue()) and shown(HOSTILE) in stream.getvalue()


@pytest.mark.parametrize("argv", [
    ["export", "{f}", "--format", "json", "--out", "{f}/../x.json", "--with-suggestions", "--min-score", "nan"],
    ["export", "{f}", "--format", "txt", "--out", "{f}/../o", "--separator", ""],
    ["suggest", "{f}", "--min-score", "1.5"],
])
def test_export_and_suggest_refuse_impossible_scores_and_separators(folder, argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main([a.format(f=folder) for a in argv])
    assert stop.value.code == 2


def test_demo_and_the_gui_entry_print_a_hostile_folder_visibly(tmp_path, capsys):
    """A folder name is the person's own text too: `demo`, and `clml-desktop FOLDER` when
    FOLDER is not a folder, print it escaped."""
    hostile = tmp_path / f"demo{RETITLE}{RLO}"
    assert main(["demo", str(hostile), "--no-gui", "--images", "4"]) == 0
    out = capsys.readouterr().out
    assert not _raw_controls(out) and shown(str(hostile)) in out
    assert main([str(tmp_path / f"nothing{CLEAR}")]) == 2
    err = capsys.readouterr().err
    assert not _raw_controls(err) and "not a folder" in err
