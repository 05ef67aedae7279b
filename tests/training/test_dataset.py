"""The training-set JSONL and image loading: bad lines and bad images are reported, not fatal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.augment import Cutout, train_transform
from training.dataset import (
    ImageDataset,
    TrainingSetError,
    collate,
    find_unreadable,
    load_rgb,
    read_training_set,
)
from training.folds import assign_folds, holdout_split, plan_split


def _img(path: Path, size=(20, 10), mode="RGB") -> Path:
    Image.new(mode, size, 128).save(path)
    return path


def test_reads_header_order_labels_confirmed_and_relative_paths(tmp_path):
    _img(tmp_path / "a.png")
    _img(tmp_path / "b.png")
    lines = [
        {"tags": ["zebra", "apple"]},
        {"path": "a.png", "positives": ["apple"], "negatives": ["zebra"], "confirmed": True},
        {"path": str(tmp_path / "b.png"), "positives": ["zebra", "extra"]},
    ]
    src = tmp_path / "t.jsonl"
    src.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    ts = read_training_set(src)
    assert ts.tags == ["zebra", "apple", "extra"]
    assert ts.paths == [tmp_path / "a.png", tmp_path / "b.png"]
    assert ts.targets.tolist() == [[0, 1, 0], [1, 0, 1]]
    assert ts.known_negative.tolist() == [[True, False, False], [False, False, False]]
    assert ts.confirmed.tolist() == [True, False]
    assert any("header" in p for p in ts.problems)


def test_bad_lines_are_reported_with_file_and_line(tmp_path):
    _img(tmp_path / "a.png")
    src = tmp_path / "t.jsonl"
    src.write_text('{"path": "a.png", "positives": ["x"]}\nnot json\n{"positives": ["x"]}\n'
                   '{"path": "a.png", "positives": ["y"]}\n', encoding="utf-8")
    ts = read_training_set(src)
    assert len(ts) == 1
    assert any(f"{src}:2" in p for p in ts.problems)
    assert any(f"{src}:3" in p and "path" in p for p in ts.problems)
    assert any("twice" in p for p in ts.problems)


def test_positive_and_negative_clash_keeps_positive(tmp_path):
    _img(tmp_path / "a.png")
    src = tmp_path / "t.jsonl"
    src.write_text('{"path": "a.png", "positives": ["x"], "negatives": ["x"]}\n')
    ts = read_training_set(src)
    assert ts.targets.tolist() == [[1]] and not ts.known_negative.any()
    assert ts.problems


def test_empty_set_is_an_error_naming_the_file(tmp_path):
    src = tmp_path / "t.jsonl"
    src.write_text("\n")
    with pytest.raises(TrainingSetError, match="t.jsonl"):
        read_training_set(src)


def test_subsets_keep_each_image_s_id_and_version(tmp_path):
    src = tmp_path / "t.jsonl"
    src.write_text('{"path": "a.png", "image_id": 3, "version": 2, "positives": ["x"]}\n'
                   '{"path": "b.png", "positives": ["y"]}\n'
                   '{"path": "c.png", "image_id": 8, "version": 1, "positives": ["x"]}\n')
    ts = read_training_set(src)
    assert ts.image_ids.tolist() == [3, -1, 8] and ts.versions.tolist() == [2, -1, 1]
    part = ts.subset([2, 1])
    assert part.paths == [tmp_path / "c.png", tmp_path / "b.png"]
    assert part.image_ids.tolist() == [8, -1] and part.versions.tolist() == [1, -1]


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (30, 10), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    img.save(tmp_path / "r.jpg", exif=exif)
    assert load_rgb(tmp_path / "r.jpg").size == (10, 30)
    assert load_rgb(_img(tmp_path / "g.png", mode="L")).mode == "RGB"


def test_unreadable_images_are_found_and_skipped_by_the_loader(tmp_path):
    good = _img(tmp_path / "good.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    assert list(find_unreadable([good, bad])) == [1]
    ds = ImageDataset([good, bad], train_transform(16, [0, 0, 0], [1, 1, 1]))
    batch = collate([ds[0], ds[1]])
    assert batch.images.shape == (1, 3, 16, 16)
    assert batch.indices.tolist() == [0]
    assert batch.problems[0][0] == 1 and "bad.png" in batch.problems[0][1]


def test_cutout_paints_a_square_and_keeps_size():
    img = Image.new("RGB", (40, 40), (0, 0, 0))
    out = Cutout(0.5)(img)
    assert out.size == (40, 40)
    assert np.asarray(img).sum() == 0  # the input is not modified


def test_with_folds_every_image_trains_the_final_model_and_confirmed_ones_spread_over_folds():
    confirmed = np.zeros(40, dtype=bool)
    confirmed[[3, 7, 11, 12, 30, 31]] = True
    plan, warnings = plan_split(confirmed, folds=2, share=0.15, seed=0)
    assert plan.train.tolist() == list(range(40)) and plan.holdout.size == 0 and not warnings
    assert sorted(np.bincount(plan.fold_of).tolist()) == [20, 20]
    assert np.bincount(plan.fold_of[confirmed]).tolist() == [3, 3]


def test_without_folds_only_unconfirmed_images_are_held_out():
    confirmed = np.zeros(40, dtype=bool)
    confirmed[:30] = True
    plan, _ = plan_split(confirmed, folds=0, share=0.15, seed=0)
    assert plan.fold_of is None and plan.holdout_basis == "unconfirmed"
    assert len(plan.holdout) == 6 and not confirmed[plan.holdout].any()
    assert sorted(np.r_[plan.train, plan.holdout].tolist()) == list(range(40))
    plan, warnings = plan_split(np.ones(40, dtype=bool), folds=1, share=0.15, seed=0)
    assert plan.holdout.size == 0 and plan.train.size == 40 and "0.5" in warnings[0]
    assert holdout_split(np.zeros(5, dtype=bool), 0.15, seed=0)[1].size == 0


def test_too_few_images_for_folds_fall_back_to_a_holdout_with_a_warning():
    plan, warnings = plan_split(np.zeros(3, dtype=bool), folds=2, share=0.15, seed=0)
    assert plan.fold_of is None and "too few" in warnings[0]


def test_folds_partition():
    folds = assign_folds(11, 2, seed=1)
    assert sorted(np.bincount(folds).tolist()) == [5, 6]
    strata = np.arange(11) < 5
    folds = assign_folds(11, 2, seed=1, strata=strata)
    assert sorted(np.bincount(folds).tolist()) == [5, 6]
    assert sorted(np.bincount(folds[strata]).tolist()) == [2, 3]
