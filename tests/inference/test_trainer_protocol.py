"""The trainer's JSON lines: typed events, and None for anything else (never an exception)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clml_desktop.jobs.trainer_protocol import (
    CancelledEvent,
    DoneEvent,
    DownloadEvent,
    EpochEvent,
    ErrorEvent,
    ProgressEvent,
    StartEvent,
    WarningEvent,
    parse_line,
)


def test_every_event_of_adr_0002():
    start = parse_line(
        '{"event": "start", "device": "cpu", "device_reason": "no CUDA", "arch": "resnet18",'
        ' "image_size": 224, "epochs": 3, "folds": 2, "images": 300, "tags": 12}\n'
    )
    assert start == StartEvent("cpu", "no CUDA", "resnet18", 224, 3, 2, 300, 12)
    progress = parse_line(
        b'{"event": "progress", "phase": "fold 1/2", "epoch": 1, "epochs": 3, "step": 5, "steps": 10,'
        b' "loss": 0.5, "eta_s": 12.5, "images_per_s": 40}'
    )
    assert progress == ProgressEvent("fold 1/2", 1, 3, 5, 10, 0.5, 12.5, 40.0)
    assert parse_line(
        '{"event": "epoch", "phase": "final", "epoch": 2, "train_loss": 0.3, "val_map": null}'
    ) == (EpochEvent("final", 2, 0.3, None))
    assert parse_line('{"event": "warning", "message": "skipped a.jpg"}') == WarningEvent(
        "skipped a.jpg"
    )
    done = parse_line('{"event": "done", "model_dir": "/m", "metrics": {"map": 0.7}}')
    assert done == DoneEvent("/m", {"map": 0.7})
    assert parse_line('{"event": "error", "message": "out of memory"}') == ErrorEvent(
        "out of memory"
    )
    assert parse_line('{"event": "cancelled"}') == CancelledEvent()
    download = parse_line('{"event": "download", "what": "ImageNet weights for resnet18",'
                          ' "done_bytes": 23000000, "total_bytes": 46000000}')
    assert download == DownloadEvent("ImageNet weights for resnet18", 23_000_000, 46_000_000)
    assert download.fraction == 0.5
    assert download.text == "Downloading ImageNet weights for resnet18: 23.0 of 46.0 MB"
    unsized = parse_line('{"event": "download", "what": "w", "done_bytes": 5, "total_bytes": null}')
    assert unsized.fraction is None and unsized.text.endswith("0.0 MB")


@pytest.mark.parametrize(
    "line",
    [
        "",
        "Epoch 1: loss 0.3",
        "{not json",
        "[1, 2]",
        '{"event": "telemetry", "x": 1}',
        '{"no_event": true}',
        '{"event": "done"}',
        '{"event": "progress", "epoch": "one"}',
        '{"event": "progress", "loss": "NaN"}',
        "[" * 100000,
    ],
)
def test_other_lines_are_ignored(line):
    assert parse_line(line) is None


def test_missing_fields_take_defaults():
    assert parse_line('{"event": "progress"}') == ProgressEvent()
    assert parse_line('{"event": "error"}').message


@settings(max_examples=60, deadline=None)
@given(st.text())
def test_never_raises_on_any_text(text):
    parse_line(text)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["event", "epoch", "loss", "model_dir", "metrics", "message"]),
        st.one_of(st.none(), st.integers(), st.floats(), st.text(), st.booleans()),
    )
)
def test_never_raises_on_any_object(obj):
    parse_line(json.dumps(obj))
