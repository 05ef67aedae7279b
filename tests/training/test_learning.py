"""The trainer learns, and out-of-fold scores never come from a model that saw the image.

The plumbing tests in test_fit.py pass whether or not the optimizer moves the
weights; these fail when it does not (loss falls, held-out AP beats chance by
a wide margin) and when a fold model trains on an image it then scores. Tiny
on purpose: 32-px images, ResNet18, a few epochs, well under 30 s on 2 cores.
"""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

import training.fit as fit_module
import training.loop as loop_module
from tests.training.conftest import make_images, write_jsonl
from training.ddp import Runtime
from training.fit import FitConfig, fit
from training.metrics import average_precision
from training.progress import Progress


def config(data: Path, out: Path, **overrides) -> FitConfig:
    settings = dict(data=data, out=out, init="random", arch="resnet18", image_size=32, epochs=6,
                    batch_size=8, lr=2e-3, loss="bce", clml_lambda=0.0, tau=0.8, folds=0, seed=0,
                    amp=False, workers=0, holdout_share=0.25, augment=False)
    settings.update(overrides)
    return FitConfig(**settings)


def run(cfg: FitConfig) -> tuple[fit_module.FitResult, list[dict]]:
    events = io.StringIO()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same work on a busy CI core as on a quiet one
    try:
        result = fit(cfg, Runtime(device=torch.device("cpu"), device_reason="test"),
                     Progress(events, io.StringIO()), threading.Event())
    finally:
        torch.set_num_threads(threads)
    return result, [json.loads(line) for line in events.getvalue().splitlines()]


def test_training_lowers_the_loss_and_ranks_held_out_images_far_above_chance(tmp_path):
    """Colour tags of unseen images: chance AP is the tag's share (~1/3); a learning trainer nears 1."""
    rows = make_images(tmp_path / "images", count=64, size=32)
    result, events = run(config(write_jsonl(tmp_path / "train.jsonl", rows), tmp_path / "model"))
    losses = [e["train_loss"] for e in events if e["event"] == "epoch"]
    assert len(losses) == 6
    assert losses[-1] < 0.6 * losses[0], f"the loss did not fall: {losses}"

    held = result.holdout
    assert held.size >= 10, "the test needs held-out images"
    tags = result.tags
    truth = np.zeros((len(result.paths), len(tags)), dtype=bool)
    by_path = {Path(r["path"]): r["positives"] for r in rows}
    for i, path in enumerate(result.paths):
        for tag in by_path[path]:
            truth[i, tags.index(tag)] = True
    colours = [tags.index(t) for t in ("red", "green", "blue")]
    aps, chance = [], []
    for c in colours:
        labels = truth[held, c]
        if labels.any() and not labels.all():
            aps.append(average_precision(result.insample_probs[held, c], labels))
            chance.append(labels.mean())
    assert len(aps) >= 2
    assert np.mean(aps) > np.mean(chance) + 0.35, (aps, chance)


def test_no_fold_model_ever_sees_an_image_it_scores(tmp_path, monkeypatch):
    """Record what every phase's loader really read and what each phase's weights scored."""
    rows = make_images(tmp_path / "images", count=20, size=32)
    loaded: dict[str, set[Path]] = {}
    model_phase: dict[int, str] = {}
    scored: dict[str, set[Path]] = {}
    current: list[str] = []

    class RecordingDataset(loop_module.ImageDataset):
        def __getitem__(self, index):
            loaded.setdefault(current[-1], set()).add(Path(self.paths[index]))
            return super().__getitem__(index)

    real_run = loop_module._Phase.run

    def recording_run(phase):
        current.append(phase.phase)
        result = real_run(phase)
        model_phase[id(result.ema)] = model_phase[id(result.raw)] = phase.phase
        return result

    real_score = fit_module.score_images

    def recording_score(model, paths, **kwargs):
        scored.setdefault(model_phase[id(model)], set()).update(Path(p) for p in paths)
        return real_score(model, paths, **kwargs)

    monkeypatch.setattr(loop_module, "ImageDataset", RecordingDataset)
    monkeypatch.setattr(loop_module._Phase, "run", recording_run)
    monkeypatch.setattr(fit_module, "score_images", recording_score)
    result, _ = run(config(write_jsonl(tmp_path / "train.jsonl", rows), tmp_path / "model",
                           epochs=1, folds=2))

    folds = [p for p in loaded if p.startswith("fold")]
    assert len(folds) == 2
    everything = {Path(r["path"]) for r in rows}
    assert loaded["final"] == everything
    for phase in folds:
        assert scored[phase], f"{phase} scored nothing"
        seen_and_scored = loaded[phase] & scored[phase]
        assert not seen_and_scored, f"{phase} scored images it trained on: {sorted(seen_and_scored)}"
    assert set().union(*(scored[p] for p in folds)) == everything
    assert result.oof_probs is not None and result.oof_probs.shape == (len(rows), len(result.tags))


@pytest.mark.parametrize("folds", [2])
def test_out_of_fold_scores_cannot_memorise_a_pure_noise_tag(tmp_path, folds):
    """A tag assigned at random is learnable only by memorising; out-of-fold it stays near chance."""
    rows = make_images(tmp_path / "images", count=32, size=24)
    rng = np.random.default_rng(0)
    noise = rng.permutation(np.r_[np.ones(16, bool), np.zeros(16, bool)])
    for row, on in zip(rows, noise, strict=True):
        if on:
            row["positives"].append("noise")
    result, _ = run(config(write_jsonl(tmp_path / "train.jsonl", rows), tmp_path / "model",
                           epochs=16, folds=folds, lr=3e-3, image_size=24))
    col = result.tags.index("noise")
    order = {Path(r["path"]): on for r, on in zip(rows, noise, strict=True)}
    labels = np.array([order[p] for p in result.paths])
    insample = average_precision(result.insample_probs[:, col], labels)
    oof = average_precision(result.oof_probs[:, col], labels)
    assert insample > 0.85, f"the final model should memorise its own noise tag (AP {insample:.2f})"
    assert oof < 0.72, f"out-of-fold AP {oof:.2f} on a pure-noise tag: a fold model saw its images"


def test_one_cycle_starts_for_every_short_run():
    """A 1-epoch fold model of 5 steps crashed OneCycleLR (float division by zero)."""
    import torch

    from training.loop import one_cycle_warmup

    for total in range(1, 40):
        opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=total,
                                                        pct_start=one_cycle_warmup(total))
        for _ in range(total):
            opt.step()
            scheduler.step()
