"""The demo collection: deterministic, a known share of tags hidden, truth consistent."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from clml_desktop.demo import (
    TAGS,
    TRUTH_FILE,
    DemoError,
    is_demo,
    make_demo,
    read_truth,
)
from tests.demo.collection_checks import sidecar, tree_bytes

SMALL = {"images": 40, "size": (64, 48)}


def test_same_seed_gives_same_bytes_and_other_seed_differs(tmp_path):
    a = make_demo(tmp_path / "a", seed=3, **SMALL)
    b = make_demo(tmp_path / "b", seed=3, **SMALL)
    c = make_demo(tmp_path / "c", seed=4, **SMALL)
    assert tree_bytes(a.folder) == tree_bytes(b.folder)
    assert tree_bytes(a.folder) != tree_bytes(c.folder)
    assert len([p for p in a.folder.iterdir() if p.suffix == ".jpg"]) == 40


def test_hidden_share_matches_request(tmp_path):
    info = make_demo(tmp_path / "d", images=120, hidden_fraction=0.4, size=(64, 48))
    truth = read_truth(info.folder)
    positives = sum(len(p) for p in truth.positives.values())
    hidden = sum(len(h) for h in truth.hidden.values())
    assert (positives, hidden) == (info.positives, info.hidden)
    assert abs(hidden / positives - 0.4) < 0.02


def test_truth_file_agrees_with_sidecars_and_every_image_keeps_a_tag(tmp_path):
    info = make_demo(tmp_path / "d", hidden_fraction=0.6, **SMALL)
    truth = read_truth(info.folder)
    assert truth.tags == TAGS
    assert set(truth.positives) == {p.name for p in info.folder.glob("*.jpg")}
    for rel, positives in truth.positives.items():
        hidden = truth.hidden[rel]
        visible = sidecar(info.folder, rel)
        assert visible == [t for t in positives if t not in hidden], rel
        assert set(hidden) <= set(positives)
        assert len(visible) >= 1, rel
        assert set(positives) <= set(TAGS)
        with Image.open(info.folder / rel) as im:
            assert im.size == (64, 48) and im.mode == "RGB"


def test_zero_hidden_keeps_all_tags(tmp_path):
    info = make_demo(tmp_path / "d", hidden_fraction=0.0, **SMALL)
    truth = read_truth(info.folder)
    assert info.hidden == 0
    for rel, positives in truth.positives.items():
        assert sidecar(info.folder, rel) == positives


def test_tags_co_occur_and_some_are_rare(tmp_path):
    truth = read_truth(make_demo(tmp_path / "d", images=200, size=(64, 48)).folder)
    lists = list(truth.positives.values())
    freq = {t: sum(t in p for p in lists) / len(lists) for t in TAGS}
    assert all(f > 0 for f in freq.values())
    assert min(freq.values()) < 0.15 < max(freq.values())
    with_star = [p for p in lists if "star" in p]
    assert sum("yellow" in p for p in with_star) / len(with_star) > freq["yellow"]
    backgrounds = ("stripes", "dots", "gradient", "noise")
    assert all(sum(b in p for b in backgrounds) == 1 for p in lists)


def test_existing_demo_is_reused_and_foreign_folder_refused(tmp_path):
    first = make_demo(tmp_path / "d", **SMALL)
    before = tree_bytes(first.folder)
    again = make_demo(tmp_path / "d", images=5, seed=9)
    assert again.reused and again.images == 40
    assert tree_bytes(first.folder) == before
    assert is_demo(first.folder)

    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"not ours")
    with pytest.raises(DemoError, match="photos"):
        make_demo(foreign, **SMALL)
    assert (foreign / "holiday.jpg").read_bytes() == b"not ours"
    assert not is_demo(foreign)


def test_no_partial_folder_left_when_generation_fails(tmp_path, monkeypatch):
    from clml_desktop.demo import writer

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "_choose_hidden", boom)
    with pytest.raises(RuntimeError):
        make_demo(tmp_path / "d", **SMALL)
    assert list(tmp_path.iterdir()) == []


def test_malformed_truth_file_is_reported_by_name(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / TRUTH_FILE).write_text(
        json.dumps({"format": 1, "images": {"a.jpg": {}}}), encoding="utf-8"
    )
    with pytest.raises(DemoError, match=TRUTH_FILE):
        read_truth(folder)
