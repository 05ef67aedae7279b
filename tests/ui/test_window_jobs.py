"""The one worker type and the status-bar job list: progress, cancel, errors."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QThreadPool

from clml_desktop.jobs.tracker import JobTracker
from clml_desktop.jobs.worker import Worker
from clml_desktop.ui.job_status import JobStatusWidget


def _until_cancelled(control, steps: int) -> int:
    for i in range(steps):
        control.check()
        control.report(i, steps, "Counting")
        time.sleep(0.01)
    return steps


def test_progress_cancel_and_status_widget(qtbot):
    pool = QThreadPool()
    tracker = JobTracker(pool)
    widget = JobStatusWidget(tracker)
    qtbot.addWidget(widget)
    worker = Worker(_until_cancelled, 10_000, name="Counting")
    cancelled: list[bool] = []
    worker.signals.cancelled.connect(lambda: cancelled.append(True))
    tracker.start(worker)
    qtbot.waitUntil(lambda: "Counting" in widget.label.text() and "/10,000" in widget.label.text(), timeout=5000)
    assert not widget.isHidden()
    qtbot.mouseClick(widget.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(cancelled) and not tracker.running(), timeout=5000)
    assert widget.isHidden()
    assert pool.waitForDone(5000)


def test_result_and_error_are_delivered_once(qtbot):
    pool = QThreadPool()
    tracker = JobTracker(pool)
    ok = Worker(lambda control, x: x * 2, 21, name="Double")
    bad = Worker(lambda control: 1 / 0, name="Divide")
    results: list[object] = []
    errors: list[str] = []
    ok.signals.result.connect(results.append)
    bad.signals.error.connect(errors.append)
    with qtbot.waitSignals([ok.signals.finished, bad.signals.finished], timeout=5000):
        tracker.start(ok)
        tracker.start(bad)
    assert results == [42]
    assert errors == ["Divide: division by zero"]
    assert "ZeroDivisionError" in bad.traceback_text
    assert pool.waitForDone(5000)


def test_shutdown_cancels_and_waits(qtbot):
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    tracker = JobTracker(pool)
    first = tracker.start(Worker(_until_cancelled, 100_000, name="Long"))
    queued = tracker.start(Worker(_until_cancelled, 100_000, name="Queued"))
    qtbot.waitUntil(lambda: tracker.progress_of(first)[0] > 0, timeout=5000)
    assert tracker.shutdown(5000)
    assert first.is_done
    assert not queued.is_done  # dropped from the queue, never started



def test_a_training_run_is_one_job_that_shutdown_stops(tmp_path, qtbot):
    """Prepare → trainer → register run as one worker, started by whatever function the
    window gives; shutting the jobs down (the app closing) stops its trainer, so no
    trainer outlives the app."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from panel_helpers import close_context, fake_trainer_program, open_context
    from test_train_panel import gone

    from clml_desktop.jobs.trainer_process import TrainerProcess
    from clml_desktop.workflow.training import TrainOptions

    context, _info = open_context(tmp_path, qtbot)
    pool = QThreadPool()
    tracker = JobTracker(pool)
    started: list[Worker] = []
    trainer = TrainerProcess(lambda worker: started.append(tracker.start(worker)),
                             program=fake_trainer_program("hang"))
    try:
        assert trainer.start(Path(context.store.root), TrainOptions(device="cpu"))
        qtbot.waitUntil(lambda: trainer.process_id() > 0, timeout=30000)
        pid = trainer.process_id()
        assert len(started) == 1 and tracker.running() == started
        with qtbot.waitSignal(trainer.cancelled, timeout=20000):
            assert tracker.shutdown(20000)
        assert gone(pid) and trainer.process_id() == 0
        assert context.store.models()[0].id == "m1" and len(context.store.models()) == 1
    finally:
        trainer.shutdown()
        close_context(context)
        pool.waitForDone(10000)
