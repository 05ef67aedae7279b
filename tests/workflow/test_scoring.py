"""Background scoring runs in a child process that speaks the contract's events:
it scores and relays its steps, a cancel stops it keeping what it scored, and a
failure is an error with the child's message."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

UI_TESTS = Path(__file__).resolve().parent.parent / "ui"
sys.path.insert(0, str(UI_TESTS))

from collection_factory import build_collection  # noqa: E402
from fake_trainer import write_model_dir  # noqa: E402

from clml_contract.events import (  # noqa: E402
    CancelledEvent,
    ErrorEvent,
    ScoredEvent,
    StepEvent,
    encode,
    parse_line,
)
from clml_contract.progress import Cancelled, Steps  # noqa: E402
from clml_desktop.collection.labels import Problem  # noqa: E402
from clml_desktop.collection.store import CollectionStore  # noqa: E402
from clml_desktop.inference.pipeline import PipelineReport  # noqa: E402
from clml_desktop.workflow import score_child  # noqa: E402
from clml_desktop.workflow.child_process import child_environment  # noqa: E402
from clml_desktop.workflow.scoring import CHILD_MODULE, rescore_active_model, score_in_child  # noqa: E402

TAGS = ["cat", "dog", "grass", "sky", "tree"]


def _collection_with_new_model(folder: Path, n_images: int = 5) -> tuple[Path, list[int]]:
    info = build_collection(folder, n_images=n_images)
    model_dir = folder.parent / "models" / "m2"  # the manifest's id is the folder name
    write_model_dir(model_dir, TAGS, [], parent="m1")
    with CollectionStore.open(folder) as store:
        store.add_model("m2", model_dir, parent="m1", tags=TAGS, activate=True)
    return model_dir, info["ids"]


def _scored_ids(folder: Path) -> list[int]:
    with CollectionStore.open(folder) as store:
        return sorted(int(i) for i in store.predictions("m2").image_ids)


def _child(folder: Path, model_dir: Path) -> tuple[int, list[str]]:
    """Run the child as the app does (its stdin open: closing it means stop); exit code, lines."""
    proc = subprocess.Popen(
        [sys.executable, "-m", CHILD_MODULE, str(folder), str(model_dir), "cpu", "0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
        env=child_environment(),
    )
    assert proc.stdout is not None and proc.stdin is not None
    lines = proc.stdout.read().splitlines()
    proc.stdin.close()
    proc.stdout.close()
    return proc.wait(timeout=60), lines


def test_the_child_speaks_only_contract_events(tmp_path):
    folder = tmp_path / "c"
    model_dir, ids = _collection_with_new_model(folder, n_images=10)
    code, lines = _child(folder, model_dir)
    assert code == 0
    events = [parse_line(line) for line in lines]
    assert events and None not in events, lines
    *steps, last = events
    assert steps[0] == StepEvent(0, 0, score_child.LOADING)
    assert all(isinstance(e, StepEvent) for e in steps)
    assert [e.done for e in steps[1:]] == [8, 10] and all(e.total == 10 for e in steps[1:])
    assert all(e.text.startswith("Scoring images (") for e in steps[1:])
    assert isinstance(last, ScoredEvent)
    report = PipelineReport.from_dict(last.report)
    assert (report.model_id, report.total, report.scored, report.cancelled) == ("m2", 10, 10, False)
    assert _scored_ids(folder) == sorted(ids)


def test_a_failing_child_says_error_in_an_event(tmp_path):
    folder = tmp_path / "c"
    _collection_with_new_model(folder)
    code, lines = _child(folder, tmp_path / "no-such-model")
    assert code == 1
    *steps, last = [parse_line(line) for line in lines]
    assert all(isinstance(e, StepEvent) for e in steps)
    assert isinstance(last, ErrorEvent) and "no-such-model" in last.message


def test_rescore_scores_every_image_and_relays_the_steps(tmp_path):
    folder = tmp_path / "c"
    _model_dir, ids = _collection_with_new_model(folder)
    seen: list[tuple[int, int, str]] = []
    report = rescore_active_model(Steps(lambda *step: seen.append(step)), folder, "cpu")
    assert report is not None and report.scored == len(ids) and not report.cancelled
    assert _scored_ids(folder) == sorted(ids)
    assert seen[0] == (0, 0, score_child.LOADING)
    assert seen[-1][:2] == (len(ids), len(ids))


def test_a_cancel_stops_the_child_and_keeps_what_it_scored(tmp_path):
    folder = tmp_path / "c"
    model_dir, ids = _collection_with_new_model(folder, n_images=40)  # 5 batches of 8
    control = Steps(lambda done, total, text: control.cancel() if done else None)
    with pytest.raises(Cancelled):
        score_in_child(control, folder, model_dir, "cpu")
    kept = _scored_ids(folder)
    assert len(kept) >= 8, "the batch scored before the cancel is in the store"
    rest = score_in_child(Steps(), folder, model_dir, "cpu")
    assert rest.total == len(ids) - len(kept), "a rerun scores only what is missing"
    assert _scored_ids(folder) == sorted(ids)


def test_a_cancel_before_the_child_started_is_cancelled(tmp_path):
    folder = tmp_path / "c"
    model_dir, _ids = _collection_with_new_model(folder)
    control = Steps()
    control.cancel()
    with pytest.raises(Cancelled):
        score_in_child(control, folder, model_dir, "cpu")


def test_failure_is_an_error_with_the_childs_message(tmp_path):
    folder = tmp_path / "c"
    _collection_with_new_model(folder)
    with pytest.raises(RuntimeError) as err:
        score_in_child(Steps(), folder, tmp_path / "no-such-model", "cpu")
    assert "no-such-model" in str(err.value) or "manifest" in str(err.value).lower()


def test_the_report_round_trips_through_an_event_with_problems():
    """The report crosses the process boundary as JSON (never a pickle) and keeps
    every field, the unreadable images included."""
    sent = PipelineReport("m1", "CPUExecutionProvider", total=5, scored=4,
                          problems=[Problem("a/b.jpg", "cannot identify image file")],
                          cancelled=True, seconds=1.5)
    event = parse_line(encode(ScoredEvent(report=dataclasses.asdict(sent))))
    assert isinstance(event, ScoredEvent) and PipelineReport.from_dict(event.report) == sent
    assert parse_line(encode(CancelledEvent())) == CancelledEvent()
