"""A stand-in for `python -m training fit` that speaks ADR 0002's protocol quickly.

FAKE_TRAINER_MODE: ok (default), error, crash, hang (waits for SIGTERM), noisy
(stray non-JSON stdout lines). FAKE_TRAINER_MODEL: a model folder to copy.
FAKE_TRAINER_METRICS: JSON merged into the done metrics (e.g. parent_val_map).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np


def emit(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command")
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    args, rest = parser.parse_known_args()
    mode = os.environ.get("FAKE_TRAINER_MODE", "ok")
    Path(args.out + ".argv").write_text(json.dumps(sys.argv[1:]))
    lines = [json.loads(line) for line in Path(args.data).read_text().splitlines() if line.strip()]
    images = [row for row in lines if "path" in row]
    emit(
        "start",
        device="cpu",
        device_reason="fake",
        arch="resnet18",
        image_size=32,
        epochs=1,
        folds=2,
        images=len(images),
        tags=5,
    )
    if mode == "noisy":
        print("Downloading something...", flush=True)
    if mode == "crash":
        print("Traceback: boom", file=sys.stderr)
        return 3
    if mode == "error":
        emit("error", message="CUDA out of memory at batch 1")
        return 1
    if mode == "hang":

        def stop(*_):
            emit("cancelled")
            sys.exit(143)

        signal.signal(signal.SIGTERM, stop)
        emit("progress", phase="fold 1/2", epoch=1, epochs=1, step=1, steps=2, loss=0.5, eta_s=9.0)
        time.sleep(60)
        return 0
    for step in (1, 2):
        emit(
            "progress",
            phase="final",
            epoch=1,
            epochs=1,
            step=step,
            steps=2,
            loss=0.5 / step,
            eta_s=1.0,
        )
    emit("epoch", phase="final", epoch=1, train_loss=0.25, val_map=0.5)
    out = Path(args.out)
    shutil.copytree(os.environ["FAKE_TRAINER_MODEL"], out)
    manifest = json.loads((out / "manifest.json").read_text())
    metrics = {"val_map": 0.5, **json.loads(os.environ.get("FAKE_TRAINER_METRICS") or "{}")}
    manifest.update(
        id=out.name,
        files={"onnx": "model.onnx", "checkpoint": None, "oof": "oof.npz"},
        metrics=metrics,
        parent=manifest.get("parent"),
    )
    (out / "manifest.json").write_text(json.dumps(manifest))
    n = len(images)
    probs = np.linspace(0.05, 0.95, n * 5, dtype=np.float32).reshape(n, 5)
    np.savez(
        out / "oof.npz",
        paths=np.array([row["path"] for row in images]),
        probs=probs,
        embeddings=np.ones((n, 512), np.float16),
    )
    emit("done", model_dir=str(out), metrics=metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())
