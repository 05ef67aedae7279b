"""The Train button against a fake trainer that speaks the JSON-lines protocol:
success (model listed, active, suggestions refreshed), failure and crash (message
and log shown, store unchanged), cancel while preparing and while training
(process gone), shutdown, and the trainer command (the CLI's, through the same
client)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from panel_helpers import close_context, fake_trainer_program, open_context  # noqa: E402

from clml_desktop.jobs.trainer_process import TrainerPhase, TrainerProcess  # noqa: E402
from clml_desktop.ui.train_dialog import TrainDialog, load_options  # noqa: E402
from clml_desktop.ui.train_panel import TrainPanel  # noqa: E402
from clml_desktop.workflow.training import TrainOptions  # noqa: E402


def make_panel(tmp_path, qtbot, mode: str):
    context, info = open_context(tmp_path, qtbot)
    panel = TrainPanel(context)
    panel.trainer.program = fake_trainer_program(mode)
    qtbot.addWidget(panel)
    panel.resize(1000, 700)
    panel.show()
    return panel, context, info


def click_train(panel):
    """Click Train and, in the confirmation that shows what will run, Train again."""
    panel.train_button.click()
    dialog = panel.confirm_dialog
    assert dialog is not None and dialog.isVisible() and not panel.trainer.busy, "nothing runs unconfirmed"
    assert dialog.train_button.isEnabled(), dialog.refusal.text()
    dialog.train_button.click()


def gone(pid: int) -> bool:
    """The process no longer runs (absent, or a zombie nobody waits for)."""
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z"


def store_state(context):
    store = context.store
    return [m.id for m in store.models()], len(store.history(500)), store.label_matrix().states.tolist()


def test_success_lists_the_model_and_makes_it_active(tmp_path, qtbot):
    panel, context, _info = make_panel(tmp_path, qtbot, "success")
    messages, model_changes = [], []
    context.statusMessage.connect(messages.append)
    context.modelChanged.connect(lambda: model_changes.append(True))
    try:
        with qtbot.waitSignal(panel.trainer.succeeded, timeout=30000) as blocker:
            click_train(panel)
            assert panel.trainer.busy and not panel.train_button.isEnabled()
        model = blocker.args[0]
        assert messages[-1] == (f"Training finished: model {model.id} (held-out mAP 0.500) is active; nothing "
                                "to compare it with: it did not start from the active model m1")
        assert model_changes and panel.phase_label.text() == (
            f"Done: Model {model.id} (held-out mAP 0.500) is active; nothing to compare it with: "
            "it did not start from the active model m1")
        store = context.store
        assert store.active_model().id == model.id
        assert model.id in [m.id for m in store.models()]
        assert model.metrics["val_map"] == 0.5
        table = panel.models.model
        row = table.row_of(model.id)
        assert row >= 0 and table.model_at(row).active
        assert table.data(table.index(row, 3)) == "0.500"
        assert store.predictions(model.id).image_ids.size > 0, "out-of-fold scores imported"
        log = panel.log_view.toPlainText()
        assert "Trainer started on cpu" in log and "warning: skipped unreadable image" in log
        assert log.count("skipped unreadable image") == 1, "the trainer logs its warnings itself"
        assert "fake trainer: starting" in log, "stderr is part of the log"
        assert panel.values["loss"].text() == "0.5000"
        assert panel.train_button.isEnabled() and not panel.error_banner.isVisible()
        assert "skipped unreadable image" in panel.warning_banner.text() and panel.warning_banner.isVisible()
        assert panel.values["val"].text() == "0.500"
        qtbot.waitUntil(lambda: panel.models._rescore is not None and panel.models._rescore.is_done, timeout=20000)
        assert panel.trainer.job.log_path.is_file()
    finally:
        close_context(context, panel)


@pytest.mark.parametrize("mode, expected", [("fail", "CUDA out of memory"), ("crash", "exited with code 3")])
def test_failure_shows_message_and_log_and_changes_nothing(tmp_path, qtbot, mode, expected):
    panel, context, _info = make_panel(tmp_path, qtbot, mode)
    try:
        before = store_state(context)
        with qtbot.waitSignal(panel.trainer.failed, timeout=30000) as blocker:
            panel.start_training()
        assert expected in blocker.args[0]
        assert panel.error_banner.isVisible() and expected in panel.error_banner.text()
        assert "RuntimeError: simulated crash" in panel.log_view.toPlainText() or mode == "fail"
        assert "fake trainer: starting" in panel.log_view.toPlainText()
        assert store_state(context) == before
        assert context.store.active_model().id == "m1"
        assert panel.train_button.isEnabled()
    finally:
        close_context(context, panel)


def test_cancel_stops_the_process(tmp_path, qtbot):
    panel, context, _info = make_panel(tmp_path, qtbot, "hang")
    try:
        before = store_state(context)
        panel.start_training()
        qtbot.waitUntil(lambda: "Trainer started" in panel.log_view.toPlainText(), timeout=30000)
        pid = panel.trainer.process_id()
        assert pid > 0 and panel.cancel_button.isEnabled()
        with qtbot.waitSignal(panel.trainer.cancelled, timeout=20000):
            panel.cancel_button.click()
        assert panel.trainer.phase is TrainerPhase.IDLE
        assert panel.trainer.process_id() == 0
        assert gone(pid)
        assert "cancelled" in panel.phase_label.text().lower()
        assert store_state(context) == before
    finally:
        close_context(context, panel)


def test_cancel_while_preparing_never_starts_the_trainer(tmp_path, qtbot):
    panel, context, _info = make_panel(tmp_path, qtbot, "success")
    try:
        before = store_state(context)
        with qtbot.waitSignal(panel.trainer.cancelled, timeout=20000):
            assert panel.start_training() and panel.trainer.phase is TrainerPhase.PREPARING
            panel.cancel_button.click()
            assert panel.trainer.phase is TrainerPhase.CANCELLING and not panel.cancel_button.isEnabled()
        assert panel.trainer.job is None and panel.trainer.command == [], "the trainer never started"
        assert panel.trainer.phase is TrainerPhase.IDLE and panel.train_button.isEnabled()
        assert "Training cancelled; the collection is unchanged" in panel.log_view.toPlainText()
        assert store_state(context) == before
    finally:
        close_context(context, panel)


def test_the_window_and_the_cli_run_one_command_through_one_client(tmp_path, qtbot, monkeypatch):
    """Train in the window and `clml-desktop train` both reach `workflow.training.TrainingRun`
    with the same command line (only the run's own paths differ)."""
    from clml_desktop.app import main
    from clml_desktop.workflow import training

    monkeypatch.setenv("CLML_TRAINER_PROGRAM", shlex.join(fake_trainer_program("success")))
    ran: list[tuple[str, list[str]]] = []

    def spy(self, control, on_event=None, *, on_log=None):
        ran.append((type(self).__module__, list(self.command)))
        raise training.TrainingError("stopped by the test")

    monkeypatch.setattr(training.TrainingRun, "run", spy)
    context, info = open_context(tmp_path, qtbot)
    panel = TrainPanel(context)
    qtbot.addWidget(panel)
    try:
        with qtbot.waitSignal(panel.trainer.failed, timeout=30000) as blocker:
            click_train(panel)
        assert blocker.args[0] == "stopped by the test"
        assert main(["train", str(info["folder"]), "--device", context.settings.device]) == 1
    finally:
        close_context(context, panel)

    def same_paths(command: list[str]) -> list[str]:
        return ["<run>" if command[i - 1] in ("--data", "--out") else arg for i, arg in enumerate(command)]

    (window_module, window), (cli_module, cli) = ran
    assert window_module == cli_module == "clml_desktop.workflow.training"
    assert window[: len(fake_trainer_program("success"))] == fake_trainer_program("success")
    assert same_paths(window) == same_paths(cli)


def test_the_program_override_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLML_TRAINER_PROGRAM", "python3 /opt/trainer.py")
    trainer = TrainerProcess(lambda worker: None)
    assert trainer.program == ["python3", "/opt/trainer.py"]


def trained_command(panel, qtbot) -> list[str]:
    """The command line one click on Train ran (the fake trainer succeeds)."""
    with qtbot.waitSignal(panel.trainer.finished, timeout=30000):
        click_train(panel)
    assert panel.trainer.last_error is None, panel.trainer.last_error
    return list(panel.trainer.command)


def flag_values(command: list[str]) -> dict[str, str]:
    return {flag: command[i + 1] for i, flag in enumerate(command[:-1]) if flag.startswith("--")}


LOSS_FLAGS = ("--loss", "--clml-lambda", "--tau", "--folds")


def test_train_button_leaves_loss_lambda_tau_folds_to_the_trainer_until_chosen(tmp_path, qtbot):
    """Never opening Options must train what `clml-desktop train` trains: no --loss,
    --clml-lambda, --tau or --folds, so the trainer's per-device recipe holds. Values
    chosen in the dialog are passed, even one equal to the trainer's default, and
    Restore Defaults goes back to sending none of them."""
    panel, context, _info = make_panel(tmp_path, qtbot, "success")
    try:
        fresh = flag_values(trained_command(panel, qtbot))
        assert not set(LOSS_FLAGS) & set(fresh), fresh
        assert fresh["--device"] == context.settings.device

        dialog = TrainDialog(context, panel)
        qtbot.addWidget(dialog)
        assert dialog.loss.currentData() is None and dialog.loss.currentText() == "Automatic (per device)"
        assert dialog.clml_lambda.text() == "Automatic (per device)"
        assert dialog.tau.text().startswith("Automatic") and dialog.folds.text().startswith("Automatic")
        dialog.loss.setCurrentIndex(dialog.loss.findData("splc"))
        dialog.clml_lambda.setValue(0.0)
        dialog.tau.setValue(0.8)
        dialog.folds.setValue(2)
        dialog.accept()
        chosen = flag_values(trained_command(panel, qtbot))
        assert {flag: chosen.get(flag) for flag in LOSS_FLAGS} == {
            "--loss": "splc", "--clml-lambda": "0.0", "--tau": "0.8", "--folds": "2"}

        again = TrainDialog(context, panel)
        qtbot.addWidget(again)
        again.restore_defaults()
        assert again.loss.currentText() == "Automatic (per device)"
        assert again.clml_lambda.text() == "Automatic (per device)"
        again.accept()
        restored = flag_values(trained_command(panel, qtbot))
        assert not set(LOSS_FLAGS) & set(restored), restored
    finally:
        close_context(context, panel)


def test_options_saved_before_automatic_loss_and_lambda_stay_explicit(tmp_path, qtbot):
    """A settings file from before "Automatic" existed keeps its loss and λ as chosen;
    a missing or unreadable entry is Automatic."""
    context, _info = open_context(tmp_path, qtbot)
    try:
        q = context.settings.qsettings
        for key, value in {"loss": "bce", "clml_lambda": 1.0, "tau": 0.8, "folds": 2}.items():
            q.setValue("train/" + key, value)
        old = load_options(q)
        assert (old.loss, old.clml_lambda, old.tau, old.folds) == ("bce", 1.0, 0.8, 2)
        for key, bad in {"loss": "mse", "clml_lambda": "-1", "tau": "lots", "folds": "0"}.items():
            q.setValue("train/" + key, bad)
        unreadable = load_options(q)
        assert (unreadable.loss, unreadable.clml_lambda, unreadable.tau, unreadable.folds) == (None,) * 4
        for key in ("loss", "clml_lambda", "tau", "folds"):
            q.remove("train/" + key)
        absent = load_options(q)
        assert (absent.loss, absent.clml_lambda, absent.tau, absent.folds) == (None,) * 4
    finally:
        close_context(context)


def test_advanced_dialog_round_trips_options(tmp_path, qtbot):
    context, _info = open_context(tmp_path, qtbot)
    try:
        dialog = TrainDialog(context)
        qtbot.addWidget(dialog)
        defaults = dialog.options()
        assert defaults.arch is None and defaults.image_size is None and defaults.epochs is None
        assert (defaults.loss, defaults.clml_lambda, defaults.tau, defaults.folds) == (None, None, None, None)
        assert defaults.augment is None and defaults.unknown_weight is None
        assert load_options(context.settings.qsettings) == defaults
        chosen = TrainOptions(arch="resnet18", image_size=64, epochs=3, loss="hill", clml_lambda=0.5,
                              tau=0.75, device="cpu", folds=3, augment="crop-flip", unknown_weight=0.35)
        dialog.set_options(chosen)
        dialog.accept()
        assert load_options(context.settings.qsettings) == chosen
        again = TrainDialog(context)
        qtbot.addWidget(again)
        assert again.options() == chosen
    finally:
        close_context(context)


def test_augmentation_and_untagged_weight_in_the_dialog(tmp_path, qtbot):
    """Every trainer mode is offered in plain words with a tooltip; "Automatic" on either
    control (also after Restore Defaults) sends no flag, and weight 0 is a real choice."""
    from PySide6.QtCore import Qt

    from clml_desktop.workflow.training import AUGMENTATIONS, build_fit_command

    context, _info = open_context(tmp_path, qtbot)
    try:
        dialog = TrainDialog(context)
        qtbot.addWidget(dialog)
        combo = dialog.augment
        assert [combo.itemData(i) for i in range(combo.count())] == [None, *AUGMENTATIONS]
        texts = {combo.itemData(i): combo.itemText(i) for i in range(combo.count())}
        assert texts["crop"] == "Mild crop — keeps ≥90% of each side"
        assert "left/right" in texts["crop-flip"] and "colour tags" in texts["randaugment"]
        assert all(combo.itemData(i, Qt.ItemDataRole.ToolTipRole) for i in range(combo.count()))

        combo.setCurrentIndex(combo.findData("randaugment"))
        dialog.unknown_weight.setValue(0.0)
        assert (dialog.options().augment, dialog.options().unknown_weight) == ("randaugment", 0.0)
        dialog.accept()
        assert load_options(context.settings.qsettings).unknown_weight == 0.0

        dialog.restore_defaults()
        assert dialog.unknown_weight.text() == "Automatic (per device)"
        automatic = dialog.options()
        assert automatic.augment is None and automatic.unknown_weight is None
        dialog.accept()
        assert load_options(context.settings.qsettings).unknown_weight is None
        cmd = build_fit_command(context.store, tmp_path / "t.jsonl", tmp_path / "out", automatic)
        assert "--augment" not in cmd and "--unknown-weight" not in cmd
        for bad in ("7", "-0.5", "lots"):
            context.settings.qsettings.setValue("train/unknown_weight", bad)
            assert load_options(context.settings.qsettings).unknown_weight is None, bad
    finally:
        close_context(context)


def test_no_trainer_left_after_shutdown(tmp_path, qtbot):
    panel, context, _info = make_panel(tmp_path, qtbot, "hang")
    panel.start_training()
    qtbot.waitUntil(lambda: panel.trainer.process_id() > 0, timeout=30000)
    pid = panel.trainer.process_id()
    close_context(context, panel)
    assert gone(pid)


def test_model_lands_in_the_trained_collection_after_it_was_closed(tmp_path, qtbot):
    from clml_desktop.collection.store import CollectionStore

    panel, context, info = make_panel(tmp_path, qtbot, "success")
    try:
        panel.start_training()
        qtbot.waitUntil(lambda: panel.trainer.phase is TrainerPhase.TRAINING, timeout=30000)
        context.close_store()
        with qtbot.waitSignal(panel.trainer.finished, timeout=30000):
            pass
        with CollectionStore.open(info["folder"]) as store:
            assert len(store.models()) == 2 and store.active_model().id != "m1"
        assert panel.train_button.isEnabled() is False, "no collection open: nothing to train"
    finally:
        close_context(context, panel)


def test_a_trainer_that_cannot_start_is_reported(tmp_path, qtbot):
    context, _info = open_context(tmp_path, qtbot)
    panel = TrainPanel(context)
    trainer = panel.trainer
    trainer.program = [str(tmp_path / "no-such-trainer")]
    qtbot.addWidget(panel)
    try:
        before = store_state(context)
        with qtbot.waitSignal(trainer.failed, timeout=30000) as blocker:
            panel.start_training()
        assert "Could not start the trainer" in blocker.args[0]
        assert not panel.error_banner.isHidden() and not trainer.busy
        assert store_state(context) == before
    finally:
        close_context(context, panel)


def test_progress_covers_every_model_of_the_run(tmp_path, qtbot):
    """A run trains the final model and one per fold; the bar fills once over all of
    them instead of restarting (and showing 100%) for each."""
    from clml_contract.events import EpochEvent, ProgressEvent, StartEvent

    panel, context, _info = make_panel(tmp_path, qtbot, "success")
    try:
        panel._on_event(StartEvent(device="cpu", arch="resnet18", image_size=96, epochs=2, folds=2,
                                   images=6, tags=3))
        values = []
        for phase in ("final", "fold 1/2", "fold 2/2"):
            for epoch in (1, 2):
                panel._on_event(ProgressEvent(phase=phase, epoch=epoch, epochs=2, step=1, steps=1, eta_s=5.0))
                values.append(panel.progress.value())
                panel._on_event(EpochEvent(phase=phase, epoch=epoch, val_map=0.5))
                values.append(panel.progress.value())
            if phase == "fold 1/2":
                assert "fold 1/2 (phase 2 of 3)" in panel.phase_label.text()
        assert values == sorted(values) and values[-1] == 1000
        assert values.count(1000) == 2, "full only when the last model's last epoch ends"
        assert values[3] == 333, "the final model is a third of a 2-fold run"
    finally:
        close_context(context, panel)


def test_a_first_time_download_shows_before_training_starts(tmp_path, qtbot):
    from clml_contract.events import DownloadEvent, StartEvent

    panel, context, _info = make_panel(tmp_path, qtbot, "success")
    try:
        panel._on_event(DownloadEvent("ImageNet weights for resnet101", 45_000_000, 180_000_000))
        assert "Downloading ImageNet weights for resnet101: 45.0 of 180.0 MB" in panel.phase_label.text()
        assert panel.progress.value() == 250
        panel._on_event(DownloadEvent("ImageNet weights for resnet101", 1_000, None))
        assert panel.progress.maximum() == 0, "an unknown size shows a busy bar"
        panel._on_event(StartEvent(device="cpu", arch="resnet101", image_size=96, epochs=2, folds=2,
                                   images=6, tags=3))
        assert panel.progress.maximum() == 1000 and panel.progress.value() == 0
        assert "Training resnet101" in panel.phase_label.text()
    finally:
        close_context(context, panel)


# ---- issue 13 ---------------------------------------------------------------------------


def test_train_shows_what_will_run_and_marks_changed_options(tmp_path, qtbot):
    """A 1-epoch 32-px experiment saved in Options must not silently become the next run:
    Train shows the options in words, marks the changed ones, and one click resets them."""
    from clml_desktop.ui.train_dialog import save_options

    panel, context, _info = make_panel(tmp_path, qtbot, "success")
    try:
        q = context.settings.qsettings
        save_options(q, TrainOptions(epochs=1, image_size=32, device=context.settings.device))
        panel.train_button.click()
        dialog = panel.confirm_dialog
        assert dialog is not None and dialog.isVisible() and not panel.trainer.busy
        text = dialog.summary.text()
        assert "Image size: <b>32 px</b>" in text and "Epochs: <b>1</b>" in text
        assert text.count("— changed") == 2
        assert "Architecture: Automatic — ResNet-18 on a CPU, ResNet-101 on a GPU" in text
        assert "Fine-tunes the active model m1" in text and "labelled images" in text
        assert "only if it scores at least as well as model m1 on the same images" in text
        assert dialog.changed_note.text().startswith("2 options differ")
        dialog.reset_button.click()
        assert load_options(q, context.settings.device) == TrainOptions(device=context.settings.device)
        assert "changed" not in dialog.summary.text() and not dialog.reset_button.isEnabled()
        dialog.reject()
        qtbot.waitUntil(lambda: panel.confirm_dialog is None, timeout=3000)
        assert not panel.trainer.busy and panel.trainer.job is None, "Cancel runs nothing"
    finally:
        close_context(context, panel)


WORSE = {"val_map": 0.307, "parent_model": "m1", "parent_val_map": 0.311,
         "compare_val_map": 0.307, "compare_images": 120}


def test_a_worse_model_stays_inactive_and_the_header_follows_make_active(tmp_path, qtbot, monkeypatch):
    monkeypatch.setenv("FAKE_TRAINER_METRICS", json.dumps(WORSE))
    panel, context, _info = make_panel(tmp_path, qtbot, "success")
    messages = []
    context.statusMessage.connect(messages.append)
    try:
        with qtbot.waitSignal(panel.trainer.succeeded, timeout=30000) as blocker:
            click_train(panel)
        model = blocker.args[0]
        said = (f"Model {model.id} (held-out mAP 0.307) is kept inactive: model m1 scores 0.311 on "
                "the same 120 images. Make active to use it anyway.")
        assert panel.phase_label.text() == said
        assert messages[-1] == f"Training finished: model {said[6:]}"
        assert context.store.active_model().id == "m1" and not model.active
        table = panel.models.model
        assert table.row_of(model.id) >= 0 and not table.model_at(table.row_of(model.id)).active
        assert panel.models.activate(model.id)
        assert panel.phase_label.text() == f"Model {model.id} is active (held-out mAP 0.307)"
        qtbot.waitUntil(lambda: panel.models._rescore.is_done, timeout=20000)
    finally:
        close_context(context, panel)


def test_no_scored_0_images_message(tmp_path, qtbot):
    from types import SimpleNamespace

    context, _info = open_context(tmp_path, qtbot)
    panel = TrainPanel(context)
    qtbot.addWidget(panel)
    messages = []
    context.statusMessage.connect(messages.append)
    try:
        panel.models._on_rescored(SimpleNamespace(scored=0, problems=[], model_id="m1", provider="CPU"))
        assert messages == []
        panel.models._on_rescored(SimpleNamespace(scored=2, problems=[], model_id="m1", provider="CPU"))
        assert messages == ["Scored 2 images with model m1 on CPU"]
    finally:
        close_context(context, panel)


def test_cancel_clears_the_figures_and_the_status_bar_shows_the_run(tmp_path, qtbot):
    panel, context, _info = make_panel(tmp_path, qtbot, "hang")
    try:
        indicator = panel.status_indicator
        assert indicator.isHidden()
        assert panel.start_training()
        qtbot.waitUntil(lambda: panel.values["eta"].text() != "—", timeout=30000)
        qtbot.waitUntil(lambda: indicator.text().startswith("Training: ") and "%" in indicator.text(),
                        timeout=10000)
        assert not indicator.isHidden() and " left" in indicator.text()
        with qtbot.waitSignal(indicator.openRequested, timeout=1000):
            indicator.click()
        with qtbot.waitSignal(panel.trainer.cancelled, timeout=20000):
            panel.cancel_button.click()
        assert all(value.text() == "—" for value in panel.values.values())
        assert not panel.progress.isVisible() and indicator.isHidden()
    finally:
        close_context(context, panel)


def test_too_few_images_disable_train_with_the_reason_and_the_workflow_refuses(tmp_path, qtbot):
    from clml_desktop.ui.train_dialog import save_options

    panel, context, _info = make_panel(tmp_path, qtbot, "success")
    try:
        save_options(context.settings.qsettings, TrainOptions(folds=10, device=context.settings.device))
        panel.train_button.click()
        dialog = panel.confirm_dialog
        assert not dialog.train_button.isEnabled() and not dialog.refusal.isHidden()
        assert dialog.refusal.text().startswith("Tag at least 20 images before training")
        dialog.reject()
        with qtbot.waitSignal(panel.trainer.failed, timeout=30000) as blocker:
            panel.start_training()  # past the dialog: the workflow refuses too
        assert "Tag at least 20 images before training" in blocker.args[0]
        assert panel.trainer.command == [] and [m.id for m in context.store.models()] == ["m1"]
    finally:
        close_context(context, panel)


def test_the_confirmation_counts_what_the_training_set_will_list_without_reading_the_store(
    tmp_path, qtbot, monkeypatch
):
    """The number the person reads is the set the trainer gets (an unlabelled image and
    one that cannot be decoded are not in it), and it comes from the label index in
    memory: reading every label of a 20k-image store here froze the window."""
    from clml_desktop.collection.exporting import write_training_set
    from clml_desktop.collection.labels import LabelState
    from clml_desktop.collection.rows import LabelChange

    panel, context, _info = make_panel(tmp_path, qtbot, "success")
    try:
        store = context.store
        images = sorted(store.images(), key=lambda r: r.path)
        unlabelled, broken = images[0], images[1]
        store.set_labels([LabelChange(unlabelled.id, t, LabelState.UNKNOWN, "")
                          for t in [r.tag for r in store.labels_of(unlabelled.id)]], "forget all")
        store.set_image_problem(broken.id, "cannot be decoded: test")
        listed = write_training_set(store, tmp_path / "set.jsonl")
        context.refresh_index(immediately=True)
        qtbot.waitUntil(lambda: not context.index_pending(), timeout=10000)
        monkeypatch.setattr(type(store), "image_labels", lambda *_a, **_k: pytest.fail("read the store"))
        panel.train_button.click()
        assert f"<b>{listed:,}</b> labelled images" in panel.confirm_dialog.summary.text()
        written = (tmp_path / "set.jsonl").read_text(encoding="utf-8")
        assert listed > 0 and unlabelled.path not in written and broken.path not in written
        panel.confirm_dialog.reject()
    finally:
        monkeypatch.undo()
        close_context(context, panel)


def test_the_panel_says_which_python_trains_and_plainly_when_none_can(tmp_path, qtbot, monkeypatch):
    """An install without PyTorch trains with another Python (ADR 0024): the panel checks
    it in the background when it first shows, and a missing trainer is said before Train."""
    from PySide6.QtWidgets import QMessageBox

    from clml_desktop.workflow import trainer_env

    panel, context, _info = make_panel(tmp_path, qtbot, "success")
    qtbot.waitUntil(lambda: panel.trainer_line.text().startswith("Trainer: PyTorch"), timeout=20000)
    assert "(this install)" in panel.trainer_line.text()
    close_context(context, panel)

    bare = tmp_path / "bare-python"
    bare.write_text("#!/bin/sh\necho '{\"python_version\": \"3.12.0\", \"versions\": {}, "
                    "\"missing\": [\"torch\", \"torchvision\", \"onnx\"], \"cuda\": []}'\n")
    bare.chmod(0o755)
    monkeypatch.setenv(trainer_env.PYTHON_ENV, str(bare))
    panel, context, _info = make_panel(tmp_path / "second", qtbot, "success")
    qtbot.waitUntil(lambda: "cannot train" in panel.trainer_line.text(), timeout=20000)
    assert "What to install" in panel.trainer_line.text()
    panel.trainer_line.linkActivated.emit("details")
    box = panel.findChild(QMessageBox)
    assert box is not None and box.isVisible()
    assert "clml-desktop trainer --python PATH" in box.text()
    box.close()

    # Train says so before anything runs, and follows a Python that became able to train.
    panel.train_button.click()
    dialog = panel.confirm_dialog
    qtbot.waitUntil(lambda: dialog.trainer_status is not None, timeout=20000)
    assert not dialog.train_button.isEnabled() and "cannot train" in dialog.refusal.text()
    dialog.reject()
    bare.write_text("#!/bin/sh\necho '{\"python_version\": \"3.12.0\", \"versions\": {\"torch\": \"2.5.1\", "
                    "\"torchvision\": \"0.20.1\", \"onnx\": \"1.17.0\"}, \"missing\": [], \"cuda\": []}'\n")
    panel.train_button.click()
    dialog = panel.confirm_dialog
    qtbot.waitUntil(lambda: dialog.train_button.isEnabled(), timeout=20000)
    assert "Trainer: PyTorch 2.5.1 on the CPU only" in dialog.summary.text()
    dialog.reject()
    close_context(context, panel)
