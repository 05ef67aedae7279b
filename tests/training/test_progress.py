"""Protocol lines are single JSON objects; non-finite numbers become null."""

from __future__ import annotations

import io
import json

import torch

from clml_contract.events import DoneEvent, StartEvent
from training.ema import ModelEma
from training.progress import Progress


def test_events_are_json_lines_with_nulls_for_nan():
    out, log = io.StringIO(), io.StringIO()
    p = Progress(out, log)
    p.emit(DoneEvent(model_dir="/m", metrics={"loss": float("nan"), "nested": {"x": float("inf")}}))
    p.warning("image.png: unreadable")
    lines = out.getvalue().splitlines()
    assert json.loads(lines[0]) == {"event": "done", "model_dir": "/m",
                                    "metrics": {"loss": None, "nested": {"x": None}}}
    assert json.loads(lines[1]) == {"event": "warning", "message": "image.png: unreadable"}
    assert "unreadable" in log.getvalue()


def test_disabled_emitter_is_silent():
    out = io.StringIO()
    Progress(out, io.StringIO(), enabled=False).emit(StartEvent())
    assert out.getvalue() == ""


def test_ema_warms_up_then_follows_the_weights():
    model = torch.nn.Linear(2, 1)
    ema = ModelEma(model, decay=0.9997)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema.update(model)  # decay (1+1)/(10+1): mostly the new value already
    w = ema.module.weight
    assert torch.all(w > 0.5) and torch.all(w < 1.0)
    for _ in range(200):
        ema.update(model)
    assert torch.allclose(ema.module.weight, model.weight, atol=1e-3)
    assert not ema.module.weight.requires_grad


def test_a_download_reports_its_start_its_end_and_one_line_per_interval(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("training.progress.time.monotonic", lambda: clock[0])
    events, log = io.StringIO(), io.StringIO()
    progress = Progress(events, log)
    total = 10_000_000
    for done in range(0, total + 1, 100_000):  # 101 chunks, 0.1 s apart
        progress.download("ImageNet weights for resnet18", done, total)
        clock[0] += 0.1
    said = [json.loads(line) for line in events.getvalue().splitlines()]
    assert all(e["event"] == "download" and e["total_bytes"] == total for e in said)
    assert said[0]["done_bytes"] == 0 and said[-1]["done_bytes"] == total
    assert 15 <= len(said) <= 22, "about one report per 0.5 s of a 10 s download"
    assert "downloading ImageNet weights for resnet18: 10.0 of 10.0 MB" in log.getvalue()
