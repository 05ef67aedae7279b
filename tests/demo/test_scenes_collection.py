"""The scenes benchmark collection: deterministic, the demo's truth format, a known share hidden."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.scenes_collection import TAGS, make_scenes  # noqa: E402
from clml_desktop.demo import TRUTH_FILE, DemoError, make_demo, read_truth  # noqa: E402
from tests.demo.collection_checks import sidecar, tree_bytes  # noqa: E402

SMALL = {"images": 12, "size": (96, 72)}


def test_same_seed_gives_same_bytes_and_other_seed_differs(tmp_path):
    a = make_scenes(tmp_path / "a", seed=5, **SMALL)
    b = make_scenes(tmp_path / "b", seed=5, **SMALL)
    c = make_scenes(tmp_path / "c", seed=6, **SMALL)
    assert a == tmp_path / "a"
    assert tree_bytes(a) == tree_bytes(b)
    assert tree_bytes(a) != tree_bytes(c)
    jpgs = sorted(a.glob("*.jpg"))
    assert len(jpgs) == 12
    with Image.open(jpgs[0]) as image:
        assert image.size == (96, 72)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_truth_is_the_demo_format_and_agrees_with_sidecars(tmp_path):
    folder = make_scenes(tmp_path / "s", hidden_fraction=0.5, **SMALL)
    raw = json.loads((folder / TRUTH_FILE).read_text(encoding="utf-8"))
    assert raw["format"] == 1 and raw["size"] == [96, 72] and raw["tags"] == list(TAGS)
    assert len(TAGS) >= 14
    truth = read_truth(folder)  # the demo's reader, as benchmarks/quality.py uses it
    assert set(truth.positives) == {p.name for p in folder.glob("*.jpg")}
    for rel, positives in truth.positives.items():
        hidden = truth.hidden[rel]
        visible = [t for t in positives if t not in hidden]
        assert positives and set(positives) <= set(TAGS)
        assert positives == [t for t in TAGS if t in positives]  # tag order, no repeats
        assert set(hidden) <= set(positives)
        assert sorted(visible + hidden) == sorted(positives)
        assert sidecar(folder, rel) == visible
        assert visible, f"{rel}: all tags hidden"
        assert not {"facing-left", "facing-right"} <= set(positives)


def test_hidden_share_near_request_and_no_image_loses_every_tag(tmp_path):
    folder = make_scenes(tmp_path / "s", images=80, hidden_fraction=0.4, size=(48, 36))
    truth = read_truth(folder)
    positives = sum(len(p) for p in truth.positives.values())
    hidden = sum(len(h) for h in truth.hidden.values())
    assert abs(hidden / positives - 0.4) < 0.02
    assert all(len(h) < len(truth.positives[rel]) for rel, h in truth.hidden.items())
    seen = {t for p in truth.positives.values() for t in p}
    assert len(seen) >= 12  # the latent scenes reach most tags even in a small set


def test_refuses_foreign_folder_and_the_demo_but_reuses_a_finished_one(tmp_path):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"not ours")
    with pytest.raises(DemoError):
        make_scenes(foreign, **SMALL)
    assert [p.name for p in foreign.iterdir()] == ["holiday.jpg"]

    demo = make_demo(tmp_path / "demo", images=4, size=(32, 24)).folder
    with pytest.raises(DemoError):
        make_scenes(demo, **SMALL)

    folder = make_scenes(tmp_path / "s", **SMALL)
    before = tree_bytes(folder)
    assert make_scenes(folder, **SMALL) == folder
    assert tree_bytes(folder) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
