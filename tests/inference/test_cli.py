"""The headless commands: suggest --json, review, similar, train (with the fake trainer)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from clml_desktop.app import main

FAKE = Path(__file__).with_name("fake_trainer.py")


@pytest.fixture
def with_model(collection, model_kit):
    collection.add_model(
        model_kit.manifest.id, str(model_kit.dir), tags=model_kit.manifest.tags, activate=True
    )
    return collection


def _refusals(*cases):
    """Parametrize a test over (argv, words): extra arguments, and what the error must say."""
    return pytest.mark.parametrize(("argv", "words"), list(cases))


def _use_fake_trainer(monkeypatch, *, mode=None, model=None):
    """Train with fake_trainer.py (the real arguments), named the way people name another
    trainer (CLML_TRAINER_PROGRAM); mode/model: its FAKE_TRAINER_* settings."""
    monkeypatch.setenv("CLML_TRAINER_PROGRAM", shlex.join([sys.executable, str(FAKE)]))
    if mode is not None:
        monkeypatch.setenv("FAKE_TRAINER_MODE", mode)
    if model is not None:
        monkeypatch.setenv("FAKE_TRAINER_MODEL", model)


def _json_run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out), captured.err


def test_suggest_json_holds_every_unknown_pair_over_threshold(with_model, capsys):
    folder = str(with_model.root)
    data, err = _json_run(capsys, "suggest", folder, "--json", "--device", "cpu")
    assert set(data) == {"model", "provider", "suggestions"}
    assert data["model"] == "tiny-1" and data["provider"] == "CPUExecutionProvider"
    assert "scored 7 image(s)" in err and "CUDA not used" in err
    for item in data["suggestions"]:
        assert (
            set(item) == {"image", "tag", "score", "threshold"}
            and item["score"] >= item["threshold"]
        )
    everything, err = _json_run(capsys, "suggest", folder, "--json", "--min-score", "0")
    assert "scored 0 image(s)" in err, "the second run is served from the cache"
    pairs = {(s["image"], s["tag"]) for s in everything["suggestions"]}
    assert len(pairs) == 7 * 5 - 4  # 7 images × 5 model tags, minus 3 positives and 1 rejection
    assert ("plain.jpg", "cat") not in pairs and ("plain.jpg", "dog") not in pairs
    assert ("grey.png", "long hair") not in pairs and ("alpha.png", "grass") not in pairs
    assert {s["image"] for s in data["suggestions"]} <= {
        s["image"] for s in everything["suggestions"]
    }


def test_suggest_text_output(with_model, capsys):
    assert (
        main(
            ["suggest", str(with_model.root), "--device", "cpu", "--min-score", "0", "--limit", "3"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("31 suggestion(s) from model tiny-1") and "... 28 more" in out


def test_suggest_queues_by_order_tag_and_image(with_model, capsys):
    """The GUI's review queues from the command line: uncertain first, one tag, one image."""
    folder = str(with_model.root)
    everything, _ = _json_run(capsys, "suggest", folder, "--json", "--min-score", "0")
    all_pairs = {(s["image"], s["tag"]): s for s in everything["suggestions"]}

    uncertain, _ = _json_run(capsys, "suggest", folder, "--json", "--order", "uncertain")
    items = uncertain["suggestions"]
    assert {(s["image"], s["tag"]) for s in items} == set(all_pairs), "every unknown pair"
    distances = [abs(s["score"] - s["threshold"]) for s in items]
    assert distances == sorted(distances)

    cat, _ = _json_run(capsys, "suggest", folder, "--json", "--tag", "cat", "--min-score", "0")
    assert cat["suggestions"] and {s["tag"] for s in cat["suggestions"]} == {"cat"}
    scores = [s["score"] for s in cat["suggestions"]]
    assert scores == sorted(scores, reverse=True)
    assert len(cat["suggestions"]) == sum(1 for image, tag in all_pairs if tag == "cat")

    grey, _ = _json_run(
        capsys, "suggest", folder, "--json", "--image", "grey.png", "--min-score", "0"
    )
    assert {s["image"] for s in grey["suggestions"]} == {"grey.png"}
    assert len(grey["suggestions"]) == sum(1 for image, tag in all_pairs if image == "grey.png")

    assert main(["suggest", folder, "--order", "uncertain", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("31 unknown pair(s), closest to their cut first")
    listed = out.split("\n... 29 more")[0].splitlines()[1:]
    assert len(listed) == 2 and all("% likely  (shown from 50%" in line for line in listed)


@_refusals(
    (["--tag", "unicorn"], "no scores for tag 'unicorn'"),
    (["--image", "../outside.jpg"], "leaves the collection"),
    (["--image", "missing.jpg"], "not in the collection: missing.jpg"),
)
def test_suggest_queue_filters_refuse_bad_input(with_model, capsys, argv, words):
    assert main(["suggest", str(with_model.root), *argv]) == 2
    assert words in capsys.readouterr().err


def test_suggest_with_a_given_model_folder(collection, model_kit, capsys):
    data, _ = _json_run(
        capsys, "suggest", str(collection.root), "--json", "--model", str(model_kit.dir)
    )
    assert data["model"] == "tiny-1"
    assert [m.id for m in collection.models()] == ["tiny-1"] and collection.active_model() is None


def test_suggest_without_a_model_says_what_to_do(collection, capsys):
    assert main(["suggest", str(collection.root)]) == 1
    assert "clml-desktop train" in capsys.readouterr().err


def test_suggest_with_a_broken_model_is_a_clear_error(collection, tmp_path, capsys):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text("[]")
    assert main(["suggest", str(collection.root), "--model", str(tmp_path / "bad")]) == 1
    assert "manifest must be a JSON object" in capsys.readouterr().err


def test_cuda_request_falls_back_and_says_why(with_model, capsys, monkeypatch):
    from clml_desktop.inference import providers

    monkeypatch.setattr(providers, "cuda_problem", lambda: "no NVIDIA driver found (test)")
    data, err = _json_run(capsys, "suggest", str(with_model.root), "--json", "--device", "cuda")
    assert data["provider"] == "CPUExecutionProvider"
    assert "CUDA not used: no NVIDIA driver found (test)" in err


def test_review_accept_and_reject(with_model, capsys):
    folder = str(with_model.root)
    assert main(["review", folder, "--accept", "rotated.jpg", "cat"]) == 0
    assert main(["review", folder, "--reject", "rotated.jpg", "dog"]) == 0
    assert main(["review", folder, "--accept", "rotated.jpg", "sky"]) == 0, (
        "a model-only tag is created"
    )
    image = with_model.image_by_path("rotated.jpg")
    states = {(label.tag, label.state.stored, label.source) for label in with_model.labels_of(image.id)}
    assert states == {
        ("cat", "positive", "accepted-suggestion"),
        ("dog", "negative", "manual"),
        ("sky", "positive", "accepted-suggestion"),
    }
    assert with_model.undo() is not None
    assert {label.tag for label in with_model.labels_of(image.id)} == {"cat", "dog"}
    assert "sky" not in {t.name for t in with_model.tags()}, "undo removes the tag it created"


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--accept", "nowhere.jpg", "cat"], "no such image"),
        (["--accept", "../outside.jpg", "cat"], "leaves the collection"),
        (["--reject", "plain.jpg", "typo_tag"], "no tag 'typo_tag'"),
    ],
)
def test_review_refuses_bad_input(with_model, capsys, argv, words):
    assert main(["review", str(with_model.root), *argv]) == 2
    assert words in capsys.readouterr().err


def test_similar_lists_k_images(with_model, capsys):
    assert main(["similar", str(with_model.root), "plain.jpg", "-k", "3", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all("plain.jpg" not in line for line in lines)
    sims = [float(line.split()[0]) for line in lines]
    assert sims == sorted(sims, reverse=True)


def test_train_runs_registers_and_scores(collection, model_kit, capsys, monkeypatch):
    _use_fake_trainer(monkeypatch, model=str(model_kit.dir))
    assert main(["train", str(collection.root), "--epochs", "1", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "registered and active" in captured.err and "100.0%" in captured.err
    assert "suggestion(s) shown" in captured.out
    active = collection.active_model()
    assert active is not None and active.metrics == {"val_map": 0.5}
    kinds = collection.predictions(active.id).kinds
    assert kinds.count("oof") == 4 and kinds.count("engine") == 3, (
        "only images the trainer did not score"
    )
    argv = json.loads(Path(active.path + ".argv").read_text())
    assert argv[argv.index("--epochs") + 1] == "1"


def test_train_failure_leaves_no_model(collection, model_kit, capsys, monkeypatch):
    _use_fake_trainer(monkeypatch, mode="error")
    assert main(["train", str(collection.root)]) == 1
    assert "CUDA out of memory" in capsys.readouterr().err
    assert collection.models() == []


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([], {}),
        (
            ["--augment", "crop", "--unknown-weight", "0.5"],
            {"--augment": "crop", "--unknown-weight": "0.5"},
        ),
    ],
)
def test_train_passes_augment_and_unknown_weight_only_when_given(
    collection, capsys, monkeypatch, extra, expected
):
    """Unset, the trainer picks its per-device default: the app sends no flag at all."""
    _use_fake_trainer(monkeypatch, mode="error")
    assert main(["train", str(collection.root), *extra]) == 1
    (argv_file,) = (Path(collection.data_dir) / "models").glob("*.argv")
    argv = json.loads(argv_file.read_text())
    flags = ("--augment", "--unknown-weight")
    assert {flag: argv[argv.index(flag) + 1] for flag in flags if flag in argv} == expected


@_refusals(
    (["--unknown-weight", "1.5"], "outside 0..1"),
    (["--unknown-weight", "lots"], "not a number"),
    (["--augment", "colour"], "invalid choice"),
)
def test_train_refuses_bad_training_options(collection, capsys, argv, words):
    with pytest.raises(SystemExit) as info:
        main(["train", str(collection.root), *argv])
    assert info.value.code == 2 and words in capsys.readouterr().err
    assert collection.models() == []


def test_a_moved_collection_finds_its_model(collection, model_kit, capsys, tmp_path):
    import shutil

    inside = Path(collection.data_dir) / "models" / "tiny-1"
    shutil.copytree(model_kit.dir, inside)
    collection.add_model("tiny-1", str(inside), tags=model_kit.manifest.tags, activate=True)
    old = collection.root
    collection.close()
    moved = tmp_path / "moved"
    shutil.move(str(old), str(moved))
    data, _ = _json_run(capsys, "suggest", str(moved), "--json", "--device", "cpu")
    assert data["model"] == "tiny-1" and data["suggestions"]


def test_progress_bar_text():
    import io

    from clml_desktop.cli.progress_text import ProgressBar, format_seconds

    assert [format_seconds(s) for s in (None, 5, 65, 3725)] == ["?", "5s", "1m05s", "1h02m"]
    stream = io.StringIO()
    bar = ProgressBar(stream, min_interval_s=3600)
    bar.update(0.5, "half", force=True)
    bar.update(0.6, "throttled")
    bar.finish()
    assert stream.getvalue() == f"[{'#' * 14}{'-' * 14}]  50.0%  half\n"


def test_train_help_states_the_trainers_real_defaults(capsys):
    from training.cli import CPU_DEFAULTS, GPU_DEFAULTS

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("arch", "image_size"):
        assert str(GPU_DEFAULTS[option]) in text and str(CPU_DEFAULTS[option]) in text


def test_train_progress_shows_a_first_time_download():
    import io

    from clml_contract.events import DownloadEvent
    from clml_desktop.cli.progress_text import ProgressBar
    from clml_desktop.cli.train import TrainProgress

    stream = io.StringIO()
    shown = TrainProgress(ProgressBar(stream, min_interval_s=0.0))
    shown.handle(DownloadEvent("ImageNet weights for resnet18", 23_000_000, 46_000_000))
    shown.handle(DownloadEvent("ImageNet weights for resnet18", 46_000_000, 46_000_000))
    lines = stream.getvalue().splitlines()
    assert "50.0%  Downloading ImageNet weights for resnet18: 23.0 of 46.0 MB" in lines[0]
    assert "100.0%" in lines[-1]


def _worse_run_env(monkeypatch, model_kit):
    _use_fake_trainer(monkeypatch, model=str(model_kit.dir))
    monkeypatch.setenv("FAKE_TRAINER_METRICS", json.dumps(
        {"val_map": 0.307, "parent_model": "tiny-1", "parent_val_map": 0.311,
         "compare_val_map": 0.307, "compare_images": 120}))


def test_train_keeps_the_better_model_active_and_says_so(with_model, model_kit, capsys, monkeypatch):
    """Issue 13: the CLI compares on the same images, as the window does, and says it."""
    _worse_run_env(monkeypatch, model_kit)
    assert main(["train", str(with_model.root), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    new = next(m for m in with_model.models() if m.id != "tiny-1")
    assert with_model.active_model().id == "tiny-1" and not new.active
    assert f"model {new.id} registered and not active" in captured.err
    assert (f"Model {new.id} (held-out mAP 0.307) is kept inactive: model tiny-1 scores 0.311 on "
            "the same 120 images. Make active to use it anyway.") in captured.err
    assert f"model {new.id} is kept inactive; suggestions still come from model tiny-1" in captured.out


def test_train_activate_always_makes_it_active(with_model, model_kit, capsys, monkeypatch):
    _worse_run_env(monkeypatch, model_kit)
    assert main(["train", str(with_model.root), "--device", "cpu", "--activate", "always"]) == 0
    captured = capsys.readouterr()
    assert with_model.active_model().id != "tiny-1"
    assert "registered and active" in captured.err and "active as asked" in captured.err


def test_train_refuses_too_few_images_with_the_reason(collection, capsys, monkeypatch):
    _use_fake_trainer(monkeypatch, mode="error")
    assert main(["train", str(collection.root), "--folds", "3"]) == 1
    err = capsys.readouterr().err
    assert "Tag at least 6 images before training (4 have tags)" in err and "fold models" in err
    assert "CUDA out of memory" not in err, "the trainer never started"
    assert collection.models() == []
