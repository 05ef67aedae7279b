"""The children's JSON lines: typed events, and None for anything else (never an exception)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clml_contract.events import (
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
    assert start == StartEvent(device="cpu", device_reason="no CUDA", arch="resnet18", image_size=224,
                              epochs=3, folds=2, images=300, tags=12)
    progress = parse_line(
        b'{"event": "progress", "phase": "fold 1/2", "epoch": 1, "epochs": 3, "step": 5, "steps": 10,'
        b' "loss": 0.5, "eta_s": 12.5, "images_per_s": 40}'
    )
    assert progress == ProgressEvent(phase="fold 1/2", epoch=1, epochs=3, step=5, steps=10, loss=0.5,
                                    eta_s=12.5, images_per_s=40.0)
    assert parse_line(
        '{"event": "epoch", "phase": "final", "epoch": 2, "train_loss": 0.3, "val_map": null}'
    ) == EpochEvent(phase="final", epoch=2, train_loss=0.3, val_map=None)
    assert parse_line('{"event": "warning", "message": "skipped a.jpg"}') == WarningEvent(message="skipped a.jpg")
    done = parse_line('{"event": "done", "model_dir": "/m", "metrics": {"map": 0.7}}')
    assert done == DoneEvent(model_dir="/m", metrics={"map": 0.7})
    assert parse_line('{"event": "error", "message": "out of memory"}') == ErrorEvent(message="out of memory")
    assert parse_line('{"event": "cancelled"}') == CancelledEvent()
    download = parse_line('{"event": "download", "what": "ImageNet weights for resnet18",'
                          ' "done_bytes": 23000000, "total_bytes": 46000000}')
    assert download == DownloadEvent(what="ImageNet weights for resnet18", done_bytes=23_000_000,
                                     total_bytes=46_000_000)
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


def test_what_the_trainer_writes_is_what_the_app_reads():
    """One set of dataclasses on both sides: every field the emitter fills comes back."""
    from clml_contract.events import (
        EVENTS,
        ScoredEvent,
        StepEvent,
        encode,
    )

    samples = [
        StartEvent(device="cuda:0", device_reason="CUDA", arch="resnet101", image_size=448, epochs=8,
                   folds=2, images=900, tags=20, holdout=90, holdout_basis="confirmed",
                   init="ImageNet weights", world_size=2),
        ProgressEvent(phase="fold 1/2", epoch=2, epochs=8, step=3, steps=9, loss=0.25, eta_s=30.0,
                      images_per_s=12.5, fraction=0.2, batch_size=16),
        EpochEvent(phase="final", epoch=1, epochs=8, train_loss=0.5, val_map=0.4),
        DownloadEvent(what="w", done_bytes=10, total_bytes=20),
        StepEvent(done=3, total=9, text="Scoring images"),
        WarningEvent(message="skipped a.jpg"),
        DoneEvent(model_dir="/m", metrics={"map": 0.5, "n": 3}),
        ScoredEvent(report={"model_id": "m", "scored": 3}),
        ErrorEvent(message="boom"),
        CancelledEvent(checkpoint="/m/checkpoint.pt"),
    ]
    assert {type(e) for e in samples} == set(EVENTS.values())
    for event in samples:
        assert parse_line(encode(event)) == event


def test_the_trainer_emits_through_the_contract():
    """training/progress.py writes with `clml_contract.events.encode`, not its own json.dumps."""
    import io

    from training.progress import Progress

    out = io.StringIO()
    Progress(out).emit(StartEvent(device="cpu", holdout=4, init="random", world_size=1))
    assert parse_line(out.getvalue()) == StartEvent(device="cpu", holdout=4, init="random")


def test_nan_becomes_null_and_reads_back_as_unknown():
    from clml_contract.events import encode

    line = encode(ProgressEvent(loss=float("nan"), eta_s=float("inf")))
    assert "NaN" not in line and "Infinity" not in line
    assert parse_line(line) == ProgressEvent()
