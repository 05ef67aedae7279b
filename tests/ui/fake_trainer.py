"""A quick stand-in for `python -m training fit` that speaks the JSON-lines
protocol of docs/adr/0002-trainer-protocol.md.

GUI tests run it instead of the real trainer so the Train button can be
exercised in well under a second: success writes a real (tiny) model
directory — an ONNX graph built with `onnx.helper` (global average pool →
linear head), a manifest and out-of-fold scores —, failure ends with an
`error` event and a non-zero exit, hang waits for SIGTERM like the real
trainer does.

Mode: `--fake-mode success|fail|crash|hang` or the FAKE_TRAINER_MODE variable.
FAKE_TRAINER_METRICS: JSON merged into the model's metrics (e.g. `parent_val_map`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

IMAGE_SIZE = 32


def emit(event: dict) -> None:
    """One protocol event: one JSON object on one stdout line, flushed at once."""
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def read_training_set(path: Path) -> tuple[list[str], list[dict]]:
    """The tag order and the rows of a training-set JSONL file."""
    tags: list[str] | None = None
    rows: list[dict] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        if "tags" in obj and "path" not in obj:
            tags = list(obj["tags"])
        else:
            rows.append(obj)
    if tags is None:
        tags = sorted({t for r in rows for t in r.get("positives", []) + r.get("negatives", [])})
    return tags, rows


def write_onnx(path: Path, num_tags: int) -> None:
    """images N×3×S×S → embedding N×3 (mean colour) → logits N×C (fixed linear head)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = rng.normal(size=(3, num_tags)).astype(np.float32)
    bias = np.zeros((num_tags,), dtype=np.float32)
    nodes = [
        helper.make_node("GlobalAveragePool", ["images"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["embedding"], axis=1),
        helper.make_node("MatMul", ["embedding", "W"], ["mm"]),
        helper.make_node("Add", ["mm", "b"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "fake_clml",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, IMAGE_SIZE, IMAGE_SIZE])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", num_tags]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 3]),
        ],
        initializer=[numpy_helper.from_array(weight, "W"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def write_model_dir(out: Path, tags: list[str], rows: list[dict], parent: str | None) -> dict:
    """A complete model directory: model.onnx, manifest.json, oof.npz."""
    out.mkdir(parents=True, exist_ok=True)
    write_onnx(out / "model.onnx", len(tags))
    rng = np.random.default_rng(1)
    paths = np.array([r["path"] for r in rows], dtype=np.str_)
    probs = rng.uniform(0.05, 0.95, size=(len(rows), len(tags))).astype(np.float32)
    embeddings = rng.normal(size=(len(rows), 3)).astype(np.float16)
    np.savez(out / "oof.npz", paths=paths, probs=probs, embeddings=embeddings)
    metrics = {"val_map": 0.5, "holdout_images": max(1, len(rows) // 5), "train_images": len(rows)}
    metrics.update(json.loads(os.environ.get("FAKE_TRAINER_METRICS") or "{}"))
    manifest = {
        "format": 1,
        "id": out.name,
        "tags": tags,
        "architecture": "fake",
        "input_size": IMAGE_SIZE,
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
        "resize": "squash",
        "thresholds": {t: 0.5 for t in tags},
        "embedding_dim": 3,
        "training": {"epochs": 1, "loss": "bce", "clml_lambda": 1.0, "tau": 0.8, "folds": 2},
        "metrics": metrics,
        "parent": parent,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": {"onnx": "model.onnx", "checkpoint": None, "oof": "oof.npz"},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fake_trainer")
    parser.add_argument("command", nargs="?", default="fit")
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--init", default=None)
    parser.add_argument("--fake-mode", default=os.environ.get("FAKE_TRAINER_MODE", "success"))
    args, _unknown = parser.parse_known_args(argv)

    cancelled = {"flag": False}

    def on_term(_signum, _frame):
        cancelled["flag"] = True

    signal.signal(signal.SIGTERM, on_term)
    tags, rows = read_training_set(args.data)
    emit({"event": "start", "device": "cpu", "device_reason": "fake trainer", "arch": "fake",
          "image_size": IMAGE_SIZE, "epochs": 2, "folds": 2, "images": len(rows), "tags": len(tags)})
    print("fake trainer: starting", file=sys.stderr, flush=True)
    sys.stdout.write("not json: ignored by clients\n")
    for step in range(1, 3):
        emit({"event": "progress", "phase": "fold 1/2", "epoch": 1, "epochs": 2, "step": step,
              "steps": 2, "loss": 1.0 / step, "eta_s": 3 - step, "images_per_s": 100.0})
    emit({"event": "epoch", "phase": "fold 1/2", "epoch": 1, "train_loss": 0.5, "val_map": 0.4})
    # as training.progress.warning does: the event, and the same line on stderr
    emit({"event": "warning", "message": "skipped unreadable image broken.png"})
    print("[    0.1s] warning: skipped unreadable image broken.png", file=sys.stderr, flush=True)
    mode = args.fake_mode
    if mode == "fail":
        print("fake trainer: CUDA out of memory (simulated)", file=sys.stderr, flush=True)
        emit({"event": "error", "message": "CUDA out of memory (simulated)"})
        return 1
    if mode == "crash":
        print("Traceback (most recent call last):\nRuntimeError: simulated crash", file=sys.stderr, flush=True)
        return 3
    if mode == "hang":
        deadline = time.monotonic() + 60
        while not cancelled["flag"] and time.monotonic() < deadline:
            time.sleep(0.02)
        emit({"event": "cancelled"})
        return 143
    parent = None
    if args.init and Path(args.init).is_dir():
        parent = Path(args.init).name
    metrics = write_model_dir(args.out, tags, rows, parent)
    emit({"event": "done", "model_dir": str(args.out), "metrics": metrics})
    return 0


if __name__ == "__main__":
    sys.exit(main())
