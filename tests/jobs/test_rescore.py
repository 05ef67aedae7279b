"""Background scoring runs in a child process: it scores, relays progress,
stops on cancel keeping nothing half-done, and reports a failure as an error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

UI_TESTS = Path(__file__).resolve().parent.parent / "ui"
sys.path.insert(0, str(UI_TESTS))

from collection_factory import build_collection  # noqa: E402
from fake_trainer import write_model_dir  # noqa: E402

from clml_desktop.collection.store import CollectionStore  # noqa: E402
from clml_desktop.jobs.rescore import rescore_active_model, score_in_child  # noqa: E402
from clml_desktop.jobs.worker import Cancelled, JobControl  # noqa: E402

TAGS = ["cat", "dog", "grass", "sky", "tree"]


class _Progress:
    def __init__(self) -> None:
        self.seen: list[tuple[int, int, str]] = []

    def emit(self, done: int, total: int, text: str) -> None:
        self.seen.append((done, total, text))


class _Signals:
    def __init__(self) -> None:
        self.progress = _Progress()


def _collection_with_new_model(folder: Path) -> tuple[Path, list[int]]:
    info = build_collection(folder, n_images=5)
    model_dir = folder.parent / "models" / "m2"  # the manifest's id is the folder name
    write_model_dir(model_dir, TAGS, [], parent="m1")
    store = CollectionStore.open(folder)
    try:
        store.add_model("m2", model_dir, parent="m1", tags=TAGS, activate=True)
    finally:
        store.close()
    return model_dir, info["ids"]


def test_child_scores_every_image_and_reports_progress(tmp_path):
    folder = tmp_path / "c"
    _model_dir, ids = _collection_with_new_model(folder)
    signals = _Signals()
    report = rescore_active_model(JobControl(signals), folder, "cpu")
    assert report is not None and report.scored == len(ids) and not report.cancelled
    store = CollectionStore.open(folder)
    try:
        assert sorted(int(i) for i in store.predictions("m2").image_ids) == sorted(ids)
    finally:
        store.close()
    assert signals.progress.seen[-1][:2] == (len(ids), len(ids))


def test_cancel_stops_the_child(tmp_path):
    folder = tmp_path / "c"
    model_dir, _ids = _collection_with_new_model(folder)
    control = JobControl(_Signals())
    control.cancel()
    with pytest.raises(Cancelled):
        score_in_child(control, folder, model_dir, "cpu")


def test_failure_is_an_error_with_the_childs_message(tmp_path):
    folder = tmp_path / "c"
    _collection_with_new_model(folder)
    with pytest.raises(RuntimeError) as err:
        score_in_child(JobControl(_Signals()), folder, tmp_path / "no-such-model", "cpu")
    assert "no-such-model" in str(err.value) or "manifest" in str(err.value).lower()


def test_child_report_round_trips_as_json_with_problems() -> None:
    """The report crosses the process boundary as JSON (never a pickle) and keeps
    every field, the unreadable images included."""
    import dataclasses
    import json

    from clml_desktop.collection.labels import Problem
    from clml_desktop.inference.pipeline import PipelineReport
    from clml_desktop.jobs.rescore import _report_from_json

    sent = PipelineReport("m1", "CPUExecutionProvider", total=5, scored=4,
                          problems=[Problem("a/b.jpg", "cannot identify image file")],
                          cancelled=True, seconds=1.5)
    assert _report_from_json(json.dumps(dataclasses.asdict(sent))) == sent
