"""`python -m training fit` end to end, as the app runs it: a subprocess speaking JSON lines.

Tiny on purpose (resnet18, 32 px, one epoch, two dozen images): these check
the plumbing (protocol, files, ONNX parity, fine-tuning, cancel, bad images),
not learning; benchmarks/quality.py measures learning.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from clml_contract.manifest import Manifest
from clml_contract.oof import read_oof
from models.checkpoint import load_checkpoint
from models.resnet import build_model
from models.transforms import eval_transform
from tests.training.conftest import make_images, read_events, write_jsonl
from training.dataset import load_rgb

ROOT = Path(__file__).resolve().parents[2]


def tiny(init: str = "random") -> list[str]:
    """Small and fast, with the CLML term on (the CPU default leaves it off)."""
    return ["--init", init, "--arch", "resnet18", "--image-size", "32", "--batch-size", "8",
            "--clml-lambda", "1", "--device", "cpu", "--seed", "0"]


TINY = tiny()


def trainer(*args: str) -> list[str]:
    return [sys.executable, "-m", "training", "fit", *args]


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def run_trainer(*args: str, timeout: float = 180) -> tuple[int, list[dict], str]:
    proc = subprocess.run(trainer(*args), cwd=ROOT, env=env(), capture_output=True, text=True,
                          timeout=timeout)
    return proc.returncode, read_events(proc.stdout), proc.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, list[dict]]:
    """One fit with 2 folds on 24 images plus a broken one; shared by the tests below."""
    base = tmp_path_factory.mktemp("fit")
    rows = make_images(base / "images")
    rows[0]["positives"] = rows[0]["positives"][:1]
    rows[1]["negatives"] = ["blue"] if "blue" not in rows[1]["positives"] else ["red"]
    for row in rows[2:6]:
        row["confirmed"] = True
    for i, row in enumerate(rows[:-1]):  # ids as the app writes them; the last image has none
        row.update(image_id=100 + i, version=i % 3)
    broken = base / "images" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    rows.append({"path": str(broken), "positives": ["square"]})
    data = write_jsonl(base / "train.jsonl", rows)
    out = base / "model"
    rc, events, stderr = run_trainer("--data", str(data), "--out", str(out), "--epochs", "1",
                                     "--folds", "2", "--loss", "splc", *TINY)
    assert rc == 0, stderr
    return data, out, events


def test_protocol_events(trained):
    _, out, events = trained
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    start = events[0]
    assert start["device"] == "cpu" and start["device_reason"]
    assert start["folds"] == 2 and start["images"] == 24 and start["tags"] == 5
    phases = {e["phase"] for e in events if e["event"] == "progress"}
    assert phases == {"final", "fold 1/2", "fold 2/2"}
    for e in events:
        if e["event"] == "progress":
            assert {"epoch", "epochs", "step", "steps", "loss", "eta_s"} <= e.keys()
    warnings = [e["message"] for e in events if e["event"] == "warning"]
    assert any("broken.png" in w for w in warnings)
    assert Path(events[-1]["model_dir"]) == out.resolve()
    assert "val_map" in events[-1]["metrics"]


def test_final_model_trains_on_every_image_and_metrics_come_from_out_of_fold_scores(trained):
    _, out, events = trained
    assert events[0]["holdout"] == 0
    metrics = Manifest.read(out).metrics
    assert all(metrics[k] == v for k, v in events[-1]["metrics"].items())
    assert metrics["train_images"] == 24 and "holdout_images" not in metrics  # confirmed ones too
    assert metrics["val_scores"] == "out-of-fold"
    assert "calibration_confirmed" not in metrics  # 4 confirmed images are too few to check
    assert metrics["val_images_basis"] == "all" and metrics["val_images"] == 24  # 4 confirmed: too few
    assert metrics["val_map_basis"] == "known" and metrics["weights"] in ("ema", "raw")
    assert Manifest.read(out).training["weights"] == metrics["weights"]


def test_artifact_is_valid_and_onnx_matches_torch(trained):
    data, out, _ = trained
    manifest = Manifest.read(out)
    assert manifest.tags == ["blue", "circle", "green", "red", "square"]
    assert manifest.thresholds == {}  # what is shown is the collection's likelihood cut (ADR 0017)
    assert manifest.files["oof"] == "oof.npz" and manifest.parent is None
    assert not (out / "run.json").exists()  # only a run without a manifest keeps it
    assert manifest.training["loss"] == "splc" and manifest.training["folds"] == 2
    assert manifest.training["clml_lambda"] == 1.0
    onnx.checker.check_model(onnx.load(out / "model.onnx"))
    net = build_model("resnet18", len(manifest.tags))
    net.load_state_dict(load_checkpoint(out / "checkpoint.pt"))
    net.eval()
    tf = eval_transform(manifest.input_size, manifest.mean, manifest.std)
    images = sorted((data.parent / "images").glob("img_*.png"))[:4]
    x = torch.stack([tf(load_rgb(p)) for p in images])
    with torch.no_grad():
        logits, emb = net(x)
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    ort_logits, ort_emb = session.run(["logits", "embedding"], {"images": x.numpy()})
    for a, b in ((logits.numpy(), ort_logits), (emb.numpy(), ort_emb)):
        assert np.abs(a - b).max() / max(1.0, np.abs(a).max()) <= 1e-4


def test_out_of_fold_scores_cover_every_readable_image(trained):
    data, out, _ = trained
    with np.load(out / "oof.npz", allow_pickle=False) as oof:
        paths, probs, emb = oof["paths"], oof["probs"], oof["embeddings"]
    listed = [json.loads(line)["path"] for line in data.read_text().splitlines()]
    assert sorted(paths.tolist()) == sorted(p for p in listed if not p.endswith("broken.png"))
    assert probs.shape == (24, 5) and probs.dtype == np.float32
    assert ((probs >= 0) & (probs <= 1)).all()
    assert emb.shape == (24, 512) and emb.dtype == np.float16


def test_out_of_fold_scores_name_the_image_id_and_version_the_set_gave(trained):
    data, out, _ = trained
    listed = {row["path"]: row for row in map(json.loads, data.read_text().splitlines())}
    oof = read_oof(out / "oof.npz", 5)
    for i, path in enumerate(oof.paths):
        row = listed[path]
        want = (row["image_id"], row["version"]) if "image_id" in row else None
        assert oof.identity(i) == want
    assert sum(oof.identity(i) is None for i in range(len(oof.paths))) == 1


def test_fine_tune_records_parent_and_maps_tags_by_name(trained, tmp_path):
    _, parent_dir, _ = trained
    rows = make_images(tmp_path / "images", count=12, seed=3)
    rows[0]["positives"].append("Yellow")  # a tag the parent never saw
    data = write_jsonl(tmp_path / "train.jsonl", rows, tags=["Yellow", "square", "red", "circle",
                                                              "green", "blue"])
    out = tmp_path / "child"
    # lr 1e-30 (the trainer refuses 0): every step is below a float32 ulp of the weights, so
    # the classifier rows must be exactly the parent's rows, moved to the new order
    rc, events, stderr = run_trainer("--data", str(data), "--out", str(out), "--epochs", "1",
                                     "--folds", "0", "--lr", "1e-30", *tiny(str(parent_dir)))
    assert rc == 0, stderr
    assert any("Yellow" in e.get("message", "") for e in events if e["event"] == "warning")
    parent, child = Manifest.read(parent_dir), Manifest.read(out)
    assert child.parent == parent.id and child.files["oof"] is None
    old, new = load_checkpoint(parent_dir / "checkpoint.pt"), load_checkpoint(out / "checkpoint.pt")
    for tag in ("square", "red", "circle", "green", "blue"):
        i, j = parent.tags.index(tag), child.tags.index(tag)
        assert torch.equal(old["fc.weight"][i], new["fc.weight"][j])


@pytest.fixture(scope="module")
def fine_tuned(trained, tmp_path_factory) -> tuple[Path, list[dict], str]:
    """The trained model fine-tuned on the same set with 2 folds (one run, two tests)."""
    data, parent_dir, _ = trained
    out = tmp_path_factory.mktemp("child") / "child"
    rc, events, stderr = run_trainer("--data", str(data), "--out", str(out), "--epochs", "1",
                                     "--folds", "2", *tiny(str(parent_dir)))
    assert rc == 0, stderr
    return out, events, stderr


def test_fold_models_of_a_fine_tune_never_start_from_the_parent(fine_tuned):
    """The parent trained on these images; fold models starting from it would remember them."""
    out, _, stderr = fine_tuned
    training = Manifest.read(out).training
    assert training["init"].startswith("fine-tuning") and training["root_init"] == "random"
    assert training["fold_init"] == "random init (asked)" and training["lr"] == 1e-4
    assert "fold models start from random init" in stderr
    assert "where the chain of fine-tunes began" in stderr and "as asked" not in stderr


def test_a_fine_tune_reports_the_parents_map_on_the_same_images(trained, fine_tuned):
    """The app keeps the better model active: it needs both numbers from the same images,
    tags, labels and code. The parent's come from its out-of-fold scores (never from its
    own weights, which saw these images)."""
    from clml_contract.training_set import read_training_set as read_set
    from training.fit import _parent_comparison
    from training.metrics import map_known

    data_path, parent_dir, parent_events = trained
    _, events, _ = fine_tuned
    metrics = events[-1]["metrics"]
    parent = Manifest.read(parent_dir)
    assert metrics["parent_model"] == parent.id
    assert isinstance(metrics["parent_val_map"], float) and isinstance(metrics["compare_val_map"], float)
    assert metrics["compare_images"] == metrics["val_images"] == 24  # every readable image, both scored
    assert metrics["compare_val_map"] == metrics["val_map"]  # same images and tags: the same number
    # the parent's number is its own out-of-fold mAP, recomputed on today's labels
    data = read_set(data_path)
    oof = read_oof(parent_dir / "oof.npz", len(parent.tags))
    rows = [i for i in range(len(data.paths)) if data.paths[i].name != "broken.png"]
    by_id = {oof.identity(j): j for j in range(len(oof.paths)) if oof.identity(j)}
    no_id = next(j for j, p in enumerate(oof.paths) if p.endswith("img_023.png"))  # the row without an id
    by_id[(-1, -1)] = no_id
    order = [by_id[(int(data.image_ids[i]), int(data.versions[i])) if data.image_ids[i] >= 0 else (-1, -1)]
             for i in rows]
    cols = [parent.tags.index(t) for t in data.tags]
    expected = map_known(oof.probs[np.ix_(order, cols)], data.targets[rows], data.known_negative[rows],
                         data.confirmed[rows]).map
    assert metrics["parent_val_map"] == pytest.approx(expected, abs=1e-6)
    # a start with no out-of-fold scores gives no number, and says why
    none = _parent_comparison(str(data_path.parent / "no-model"), "m0", data, np.zeros_like(data.targets, dtype=np.float32),
                              np.arange(3))
    assert none["parent_val_map"] is None and "m0" in none["compare_note"]


def test_existing_model_dir_is_refused(trained):
    data, out, _ = trained
    rc, events, _ = run_trainer("--data", str(data), "--out", str(out), "--epochs", "1", *TINY)
    assert rc != 0 and events[-1]["event"] == "error" and str(out) in events[-1]["message"]


def test_sigterm_stops_cleanly_and_keeps_the_checkpoint(tiny_set, tmp_path):
    out = tmp_path / "model"
    proc = subprocess.Popen(trainer("--data", str(tiny_set), "--out", str(out), "--epochs", "50",
                                    "--folds", "0", *TINY),
                            cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if json.loads(line)["event"] == "epoch":
                proc.send_signal(signal.SIGTERM)
                break
        rest, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    events = read_events("".join(lines) + rest)
    assert proc.returncode == 143
    assert events[-1]["event"] == "cancelled"
    assert Path(events[-1]["checkpoint"]) == (out / "checkpoint.pt").resolve()
    state = load_checkpoint(out / "checkpoint.pt")
    assert "fc.weight" in state and not (out / "manifest.json").exists()
    # the kept weights become a model with no options: run.json says tags, size, preprocessing
    rescued = tmp_path / "rescued"
    proc = subprocess.run([sys.executable, "-m", "training", "export", str(out / "checkpoint.pt"),
                           "--out", str(rescued)], cwd=ROOT, env=env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    manifest = Manifest.read(rescued)
    assert manifest.tags == ["blue", "circle", "green", "red", "square"]
    assert manifest.input_size == 32 and manifest.architecture == "resnet18"
    assert manifest.training["unfinished_run"] is True


def test_two_process_gloo_run(tiny_set, tmp_path):
    out = tmp_path / "model"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "training", "fit", "--data", str(tiny_set), "--out", str(out), "--epochs", "2",
           "--folds", "0", *TINY]  # epoch 2: label correction on the gathered batch
    proc = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = read_events(proc.stdout)
    assert [e["event"] for e in events].count("start") == 1  # rank 0 only
    assert events[0]["world_size"] == 2 and events[-1]["event"] == "done"
    assert Manifest.read(out).training["world_size"] == 2
    assert (out / "model.onnx").is_file()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_run_with_amp_and_channels_last(tiny_set, tmp_path):
    rc, events, stderr = run_trainer("--data", str(tiny_set), "--out", str(tmp_path / "m"),
                                     "--epochs", "2", "--folds", "2", "--init", "random",
                                     "--arch", "resnet18", "--image-size", "64", "--device", "cuda")
    assert rc == 0, stderr
    assert events[0]["device"].startswith("cuda") and events[-1]["event"] == "done"
    assert Manifest.read(tmp_path / "m").training["amp"] is True


def test_a_weaker_start_for_the_fold_models_is_a_warning_event(tmp_path, monkeypatch):
    """The fold models set the metrics and thresholds: when their start is gone the app must
    hear it (a `warning` event), not only the human log."""
    import io
    from types import SimpleNamespace

    from models import weights
    from training import fit
    from training.progress import Progress

    real = weights.resolve_init
    monkeypatch.setattr(
        fit, "resolve_init",
        lambda init, **kw: real("random" if init == "imagenet" else init, **kw),  # offline here
    )
    events, log = io.StringIO(), io.StringIO()
    init = weights.InitPlan("model", "fine-tuning model m1", fold_start=str(tmp_path / "gone.pt"))
    fold = fit._fold_init(init, SimpleNamespace(arch="resnet18"), ["cat"], Progress(events, log),
                          threading.Event())
    warnings = [json.loads(line)["message"] for line in events.getvalue().splitlines()
                if json.loads(line)["event"] == "warning"]
    assert any("fold models cannot start from" in w and "gone.pt" in w for w in warnings)
    assert fold.kind == "random"


def _fit_downloading_imagenet(tmp_path, monkeypatch, stop: threading.Event,
                              on_download_start=lambda: None):
    """An in-process tiny fit from `--init imagenet` whose ImageNet weights torchvision's
    loader downloads through torch.hub from a file:// URL (as it would online).
    Returns (events said, the downloaded file, the hub folder, fit's result or exception)."""
    import io

    from torchvision.models import ResNet18_Weights

    from training.ddp import Runtime
    from training.fit import FitConfig, fit
    from training.progress import Progress

    source = tmp_path / "resnet18-fake.pth"
    torch.save({"w": torch.zeros(300_000)}, source)
    hub = tmp_path / "hub"
    reference = build_model("resnet18", 1000).state_dict()

    def downloading_loader(self, progress=True, check_hash=False):
        on_download_start()
        torch.hub.load_state_dict_from_url(source.as_uri(), model_dir=str(hub), progress=progress)
        return reference

    monkeypatch.setattr(ResNet18_Weights, "get_state_dict", downloading_loader)
    data = write_jsonl(tmp_path / "train.jsonl", make_images(tmp_path / "images", count=8))
    cfg = FitConfig(data=data, out=tmp_path / "model", init="imagenet", arch="resnet18",
                    image_size=32, epochs=1, batch_size=8, lr=None, loss="bce", clml_lambda=0.0,
                    tau=0.8, folds=0, seed=0, augment=False, amp=False)
    events = io.StringIO()
    try:
        outcome = fit(cfg, Runtime(torch.device("cpu"), "test"), Progress(events, io.StringIO()), stop)
    except Exception as exc:  # noqa: BLE001 - the caller asserts which
        outcome = exc
    return read_events(events.getvalue()), source, hub, outcome


def test_a_first_time_imagenet_download_is_reported_before_start(tmp_path, monkeypatch):
    """fit hands torch.hub's download progress to the app as `download` events."""
    said, source, _hub, result = _fit_downloading_imagenet(tmp_path, monkeypatch, threading.Event())
    kinds = [e["event"] for e in said]
    first_start = kinds.index("start")
    downloads = [e for e in said[:first_start] if e["event"] == "download"]
    assert downloads and downloads[-1]["done_bytes"] == downloads[-1]["total_bytes"] == source.stat().st_size
    assert downloads[-1]["what"] == "ImageNet weights for resnet18"
    assert (result.model_dir / "manifest.json").is_file()


def test_cancel_during_the_imagenet_download_stops_it(tmp_path, monkeypatch):
    """A cancel (SIGTERM sets the stop flag) ends a long first-time download at its next
    chunk, with no partial file left in the cache and no fallback to random weights."""
    from training.scoring import Cancelled

    stop = threading.Event()  # the person presses Cancel while the download runs
    _said, _source, hub, outcome = _fit_downloading_imagenet(tmp_path, monkeypatch, stop,
                                                             on_download_start=stop.set)
    assert isinstance(outcome, Cancelled) and "download stopped" in str(outcome)
    assert not any(hub.iterdir()), "no partial or finished download is left behind"
    assert not (tmp_path / "model" / "manifest.json").exists()
