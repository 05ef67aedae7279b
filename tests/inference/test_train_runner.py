"""The one trainer client (`workflow.training`): command line, events, registration,
failures, cancel before and during training, and that nothing else starts or reads
the trainer."""

from __future__ import annotations

import ast
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from clml_contract.events import CancelledEvent, DoneEvent, ProgressEvent, StartEvent
from clml_contract.progress import Cancelled, Steps
from clml_desktop.inference.errors import InferenceError, ModelLoadError
from clml_desktop.inference.registry import register_model
from clml_desktop.workflow import training
from clml_desktop.workflow.training import (
    AUGMENTATIONS,
    TrainingError,
    TrainingRun,
    TrainOptions,
    apply_program,
    build_fit_command,
    prepare_training,
    train,
)

FAKE = Path(__file__).with_name("fake_trainer.py")
APP = Path(training.__file__).resolve().parents[1]


def fake_run(
    store, options: TrainOptions, monkeypatch, model_dir: Path, mode: str = "ok"
) -> TrainingRun:
    monkeypatch.setenv("FAKE_TRAINER_MODE", mode)
    monkeypatch.setenv("FAKE_TRAINER_MODEL", str(model_dir))
    run = TrainingRun(store, prepare_training(store), options, program=[sys.executable, str(FAKE)])
    assert run.command[:3] == [sys.executable, str(FAKE), "fit"]
    return run


def run_to_end(run: TrainingRun, control: Steps | None = None):
    """(events, log lines, model or the exception) of a run driven like the CLI drives it."""
    events, lines = [], []
    try:
        model = run.run(control or Steps(), events.append, on_log=lines.append)
    except (Cancelled, TrainingError) as exc:
        return events, lines, exc
    return events, lines, model


def test_command_line_carries_every_option(collection, tmp_path):
    options = TrainOptions(
        arch="resnet18",
        image_size=64,
        epochs=3,
        loss="hill",
        clml_lambda=0.5,
        tau=0.75,
        device="cpu",
        folds=2,
        batch_size=8,
        augment="crop-flip",
        unknown_weight=0.25,
    )
    cmd = build_fit_command(collection, tmp_path / "t.jsonl", tmp_path / "out", options)
    assert cmd[:4] == [sys.executable, "-m", "training", "fit"]
    flags = dict(zip(cmd[4::2], cmd[5::2], strict=True))
    assert flags == {
        "--data": str(tmp_path / "t.jsonl"),
        "--out": str(tmp_path / "out"),
        "--arch": "resnet18",
        "--image-size": "64",
        "--epochs": "3",
        "--batch-size": "8",
        "--loss": "hill",
        "--clml-lambda": "0.5",
        "--tau": "0.75",
        "--folds": "2",
        "--augment": "crop-flip",
        "--unknown-weight": "0.25",
        "--device": "cpu",
    }


def test_the_apps_augment_choices_are_the_trainers():
    from training.cli import AUGMENTATIONS as TRAINER_AUGMENTATIONS

    assert AUGMENTATIONS == TRAINER_AUGMENTATIONS


def test_a_zero_unknown_weight_is_passed_not_dropped(collection, tmp_path):
    cmd = build_fit_command(
        collection, tmp_path / "t.jsonl", tmp_path / "out", TrainOptions(unknown_weight=0.0)
    )
    assert cmd[cmd.index("--unknown-weight") + 1] == "0.0"


def test_unset_options_are_left_to_the_trainer(collection, tmp_path):
    cmd = build_fit_command(collection, tmp_path / "t.jsonl", tmp_path / "out", TrainOptions())
    assert cmd[4:] == [
        "--data",
        str(tmp_path / "t.jsonl"),
        "--out",
        str(tmp_path / "out"),
        "--device",
        "auto",
    ]


def test_fine_tunes_the_active_model_of_the_same_architecture(collection, model_kit, tmp_path):
    collection.add_model("tiny-1", str(model_kit.dir), tags=model_kit.manifest.tags, activate=True)
    cmd = build_fit_command(collection, tmp_path / "t.jsonl", tmp_path / "out", TrainOptions())
    assert cmd[cmd.index("--init") + 1] == str(model_kit.dir)
    other_arch = build_fit_command(
        collection, tmp_path / "t.jsonl", tmp_path / "o", TrainOptions(arch="resnet101")
    )
    assert "--init" not in other_arch
    explicit = build_fit_command(
        collection, tmp_path / "t.jsonl", tmp_path / "o", TrainOptions(init="imagenet")
    )
    assert explicit[explicit.index("--init") + 1] == "imagenet"


def test_training_set_lists_labelled_images(collection):
    job = prepare_training(collection)
    rows = [json.loads(line) for line in job.training_set.read_text().splitlines()]
    listed = {Path(r["path"]).name for r in rows if "path" in r}
    assert listed == {"plain.jpg", "large.jpg", "grey.png", "alpha.png"} and job.images == 4
    assert job.out_dir.parent == Path(collection.data_dir) / "models" and not job.out_dir.exists()


def test_a_run_registers_activates_and_imports_oof(collection, model_kit, monkeypatch):
    run = fake_run(collection, TrainOptions(device="cpu"), monkeypatch, model_kit.dir)
    events, _lines, model = run_to_end(run)
    assert isinstance(events[0], StartEvent) and isinstance(events[-1], DoneEvent)
    assert sum(isinstance(e, ProgressEvent) for e in events) == 2
    assert model.active and model.id == run.job.model_id
    assert collection.active_model().id == model.id and model.metrics == {"val_map": 0.5}
    pred = collection.predictions(model.id)
    assert len(pred.image_ids) == 4 and set(pred.kinds) == {"oof"}
    assert np.all((pred.probs > 0) & (pred.probs < 1))
    assert run.pid == 0, "the trainer has ended and was waited for"


def test_stray_stdout_lines_are_logged_not_parsed(collection, model_kit, monkeypatch):
    run = fake_run(collection, TrainOptions(), monkeypatch, model_kit.dir, mode="noisy")
    _events, lines, model = run_to_end(run)
    assert not isinstance(model, Exception)
    assert "Downloading something..." in lines
    assert "Downloading something..." in run.job.log_path.read_text()


@pytest.mark.parametrize(
    "mode, words", [("error", "CUDA out of memory"), ("crash", "exited with code 3")]
)
def test_failures_leave_the_collection_unchanged(collection, model_kit, monkeypatch, mode, words):
    run = fake_run(collection, TrainOptions(), monkeypatch, model_kit.dir, mode=mode)
    _events, lines, failure = run_to_end(run)
    assert isinstance(failure, TrainingError) and words in str(failure)
    assert not isinstance(failure, InferenceError), "a failed run is not a model problem"
    assert str(run.job.log_path) in str(failure)
    if mode == "crash":
        assert "Traceback: boom" in str(failure), "the log's tail says why"
        assert "Traceback: boom" in lines and "Traceback: boom" in run.job.log_path.read_text()
    assert collection.models() == []


def test_a_model_that_cannot_be_registered_is_a_training_error(
    collection, model_kit, monkeypatch, tmp_path
):
    broken = tmp_path / "broken"
    shutil.copytree(model_kit.dir, broken)
    (broken / "model.onnx").unlink()
    run = fake_run(collection, TrainOptions(), monkeypatch, broken)
    _events, _lines, failure = run_to_end(run)
    assert isinstance(failure, TrainingError) and "could not be registered" in str(failure)
    assert collection.models() == []


def test_a_trainer_that_cannot_start_is_a_training_error(collection, tmp_path):
    run = TrainingRun(collection, prepare_training(collection), TrainOptions(),
                      program=[str(tmp_path / "no-such-trainer")])
    _events, _lines, failure = run_to_end(run)
    assert isinstance(failure, TrainingError) and "Could not start the trainer" in str(failure)
    assert collection.models() == []


def test_cancel_during_training_stops_the_trainer(collection, model_kit, monkeypatch):
    """The control's cancel (from another thread in the window, here from the event
    callback) reaches the trainer as SIGTERM; it says `cancelled` and nothing changes."""
    run = fake_run(collection, TrainOptions(), monkeypatch, model_kit.dir, mode="hang")
    control = Steps()
    seen, pids = [], []

    def on_event(event):
        seen.append(event)
        if isinstance(event, ProgressEvent):
            pids.append(run.pid)
            control.cancel()

    with pytest.raises(Cancelled):
        run.run(control, on_event)
    assert isinstance(seen[-1], CancelledEvent)
    assert pids[0] > 0 and run.pid == 0
    assert collection.models() == []


def test_cancel_while_preparing_never_starts_the_trainer(collection, monkeypatch):
    control = Steps()
    real = training.write_training_set

    def write_then_cancel(store, path):
        count = real(store, path)
        control.cancel()
        return count

    monkeypatch.setattr(training, "write_training_set", write_then_cancel)
    started = []
    with pytest.raises(Cancelled):
        train(collection, TrainOptions(), control, on_prepared=started.append)
    assert started == [] and collection.models() == []


def test_an_exception_in_the_callback_never_leaves_a_trainer_behind(collection, model_kit, monkeypatch):
    """Ctrl+C in the CLI arrives as an exception while events are handled."""
    run = fake_run(collection, TrainOptions(), monkeypatch, model_kit.dir, mode="hang")
    pids = []

    def interrupt(_event):
        pids.append(run.pid)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run.run(Steps(), interrupt)
    assert pids[0] > 0 and run._process.poll() is not None and run.pid == 0
    assert collection.models() == []


def test_train_runs_the_program_named_in_the_environment(collection, model_kit, monkeypatch):
    """CLML_TRAINER_PROGRAM replaces `python -m training` for every caller of `train`."""
    import shlex

    monkeypatch.setenv("CLML_TRAINER_PROGRAM", shlex.join([sys.executable, str(FAKE)]))
    monkeypatch.setenv("FAKE_TRAINER_MODEL", str(model_kit.dir))
    commands = []
    model = train(collection, TrainOptions(device="cpu"), Steps(),
                  on_prepared=lambda run: commands.append(run.command))
    assert commands[0][:3] == [sys.executable, str(FAKE), "fit"]
    assert collection.active_model().id == model.id


def test_program_override_replaces_the_trainer_head():
    command = [sys.executable, "-m", "training", "fit", "--data", "d.jsonl", "--out", "m"]
    assert apply_program(command, ["fake", "--x"]) == ["fake", "--x", "fit", "--data", "d.jsonl", "--out", "m"]
    assert apply_program(command, None) == command


def _app_modules():
    return {str(p.relative_to(APP.parent)): ast.parse(p.read_text(encoding="utf-8"))
            for p in sorted(APP.rglob("*.py"))}


def _names(tree) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}


def _starts_the_trainer(tree) -> bool:
    """A list or tuple with `"-m", "training"` in it: a command line of the trainer."""
    for node in ast.walk(tree):
        if isinstance(node, ast.List | ast.Tuple):
            values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            if any(values[i:i + 2] == ["-m", "training"] for i in range(len(values))):
                return True
    return False


def test_one_client_starts_the_trainer_and_reads_its_output():
    """The window and the CLI share `workflow.training`: no other module builds the
    trainer's command, runs a QProcess, makes its own TrainingRun, or parses the
    trainer's events (`done` is the trainer's; the scorer's client parses only its own)."""
    here = "clml_desktop/workflow/training.py"
    modules = _app_modules()
    assert {name for name, tree in modules.items() if _starts_the_trainer(tree)} == {here}
    readers = {name for name, tree in modules.items() if {"parse_line", "DoneEvent"} <= _names(tree)}
    assert readers == {here}
    clients = {name for name, tree in modules.items()
               if _names(tree) & {"build_fit_command", "Popen"} and "DoneEvent" in _names(tree)}
    assert clients == {here}
    assert [name for name, tree in modules.items() if "QProcess" in _names(tree)] == []
    assert [name for name, tree in modules.items()
            if name != here and "TrainingRun" in {n.func.id for n in ast.walk(tree)
                                                  if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}] == []


def test_register_refuses_an_unusable_folder(collection, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="manifest.json: missing"):
        register_model(collection, tmp_path / "empty", activate=True)
    assert collection.models() == []


def test_register_refuses_a_malformed_oof(collection, model_kit, tmp_path):
    target = tmp_path / "m"
    shutil.copytree(model_kit.dir, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["files"]["oof"] = "oof.npz"
    (target / "manifest.json").write_text(json.dumps(manifest))
    np.savez(target / "oof.npz", paths=np.array(["a.jpg"]), probs=np.zeros((1, 3), np.float32))
    with pytest.raises(ModelLoadError, match=r"oof\.npz: expected probs of shape \(1, 5\)"):
        register_model(collection, target, activate=True)
    assert collection.models() == [], "nothing is registered when the oof file is bad"


WORSE = {"val_map": 0.307, "parent_model": "tiny-1", "parent_val_map": 0.311,
         "compare_val_map": 0.307, "compare_images": 120}


def _active_parent(collection, model_kit):
    collection.add_model("tiny-1", str(model_kit.dir), tags=model_kit.manifest.tags,
                         metrics={"val_map": 0.311}, activate=True)


def test_a_worse_model_is_registered_but_the_better_one_stays_active(collection, model_kit, monkeypatch):
    """Issue 13: 0.307 replaced 0.311. Compared on the same images, the better model stays."""
    _active_parent(collection, model_kit)
    monkeypatch.setenv("FAKE_TRAINER_METRICS", json.dumps(WORSE))
    run = fake_run(collection, TrainOptions(), monkeypatch, model_kit.dir)
    _events, _lines, model = run_to_end(run)
    assert model.id in [m.id for m in collection.models()] and not model.active
    assert collection.active_model().id == "tiny-1"
    assert run.verdict.text == (
        f"Model {model.id} (held-out mAP 0.307) is kept inactive: model tiny-1 scores 0.311 "
        "on the same 120 images. Make active to use it anyway."
    )
    assert collection.predictions(model.id).image_ids.size == 4, "its scores are kept for a later switch"


def test_activate_always_makes_even_a_worse_model_active(collection, model_kit, monkeypatch):
    _active_parent(collection, model_kit)
    monkeypatch.setenv("FAKE_TRAINER_METRICS", json.dumps(WORSE))
    run = fake_run(collection, TrainOptions(activate="always"), monkeypatch, model_kit.dir)
    _events, _lines, model = run_to_end(run)
    assert model.active and collection.active_model().id == model.id
    assert "active as asked" in run.verdict.text and "0.311" in run.verdict.text


def test_activation_verdicts():
    from clml_desktop.collection.rows import ModelRow
    from clml_desktop.workflow.training import ACTIVATE_TOLERANCE, activation_verdict

    active = ModelRow(id="A", path="/a", parent=None, metrics={}, tags=[], created="", active=True)
    first = activation_verdict("B", {"val_map": 0.3}, None)
    assert first.activate and not first.compared and "first model" in first.text
    better = activation_verdict("B", {**WORSE, "parent_model": "A", "compare_val_map": 0.32}, active)
    assert better.activate and better.compared and better.text == (
        "Model B is active: held-out mAP 0.320, model A 0.311 on the same 120 images")
    within = activation_verdict("B", {**WORSE, "parent_model": "A",
                                      "compare_val_map": 0.311 - ACTIVATE_TOLERANCE}, active)
    assert within.activate, "a difference within the tolerance is not a loss"
    worse = activation_verdict("B", {**WORSE, "parent_model": "A"}, active)
    assert not worse.activate and worse.previous == "A"
    other = activation_verdict("B", {"val_map": 0.2}, active)  # e.g. another architecture
    assert other.activate and not other.compared
    assert other.text == ("Model B (held-out mAP 0.200) is active; nothing to compare it with: "
                          "it did not start from the active model A")
    moved = activation_verdict("B", {**WORSE}, active)  # active changed during the run
    assert moved.activate and "started from model tiny-1, not from the active model A" in moved.text


def test_too_few_images_are_refused_before_the_trainer_starts(collection, monkeypatch):
    """Issue 13: two images made an active model with no metrics. The workflow refuses
    (so do the CLI and the window, which both come here) and says why."""
    from clml_desktop.workflow.training import minimum_images, too_few_images_text

    assert minimum_images() == 4 and minimum_images(TrainOptions(folds=5)) == 10
    assert minimum_images(TrainOptions(folds=1)) == 10
    assert too_few_images_text(4) is None
    text = too_few_images_text(2)
    assert text.startswith("Tag at least 4 images before training (2 have tags)") and "fold models" in text
    started = []
    with pytest.raises(TrainingError, match=r"Tag at least 10 images before training \(4 have tags\)"):
        train(collection, TrainOptions(folds=5), Steps(), on_prepared=started.append)
    assert started == [] and collection.models() == []
    assert not list((Path(collection.data_dir) / "training").glob("*.jsonl"))
