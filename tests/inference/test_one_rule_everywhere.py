"""One rule, one set: for a given minimum likelihood and per-tag cuts, the grid's badges,
the review queue, `clml-desktop suggest`, and exports with suggestions (command line and
the window's export job) all pick exactly the same (image, tag) pairs, and the trainer's
per-tag F1 cuts in the manifest play no part."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from clml_desktop.app import main
from clml_desktop.collection.rows import PredictionIn
from clml_desktop.workflow.label_index import index_from_store

# model tag order: cat, dog, long_hair, sky, tree (collection spelling: "long hair")
NAMES = ["cat", "dog", "long hair", "sky", "tree"]
SCORES = {
    "plain.jpg": [0.90, 0.95, 0.47, 0.20, 0.30],  # cat positive, dog rejected
    "large.jpg": [0.01, 0.42, 0.55, 0.46, 0.10],  # dog 0.42: passes the manifest's 0.4 F1 cut only
    "grey.png": [0.35, 0.05, 0.99, 0.10, 0.80],  # long hair positive; cat 0.35: only with cat's own cut
    "alpha.png": [0.30, 0.39, 0.51, 0.60, 0.49],
    "rotated.jpg": [0.85, 0.10, 0.10, 0.10, 0.10],
    "palette.png": [0.10, 0.10, 0.10, 0.99, 0.10],  # sky positive
    "deep16.png": [0.48, 0.41, 0.10, 0.10, 0.99],  # tree positive
}
KNOWN = {("plain.jpg", "cat"), ("plain.jpg", "dog"), ("large.jpg", "cat"), ("grey.png", "long hair"),
         ("palette.png", "sky"), ("deep16.png", "tree")}


class Control:
    """What a job function needs of `JobControl`, without a worker thread."""

    def check(self) -> None:
        pass

    def report(self, done: int, total: int, text: str = "") -> None:
        pass


@pytest.fixture
def scored(collection, model_kit):
    """Every model tag is a collection tag (the grid only has columns for those)."""
    store = collection
    ids = {img.path: img.id for img in store.images()}
    store.add_tag([ids["palette.png"]], "sky")
    store.add_tag([ids["deep16.png"]], "tree")
    store.add_model(model_kit.manifest.id, str(model_kit.dir), tags=model_kit.manifest.tags, activate=True)
    store.put_predictions(model_kit.manifest.id, [
        PredictionIn(ids[path], store.image(ids[path]).version, "engine", np.array(probs, np.float32))
        for path, probs in SCORES.items()
    ])
    return store


def expected(min_likely: float, own: dict[str, float]) -> set[tuple[str, str]]:
    """The rule, worked out by hand from the score table."""
    return {
        (path, tag)
        for path, probs in SCORES.items()
        for tag, score in zip(NAMES, probs, strict=True)
        if (path, tag) not in KNOWN and np.float32(score) >= np.float32(own.get(tag, min_likely))
    }


def grid(store) -> set[tuple[str, str]]:
    index = index_from_store(store)
    rows, cols = np.nonzero(index.pending)
    return {(index.paths[r], index.tag_names[c]) for r, c in zip(rows, cols, strict=True)}


def review(root: Path) -> set[tuple[str, str]]:
    from clml_desktop.workflow.review_queue import load_queue

    pairs = load_queue(Control(), root, "confident")
    found = {(p.path, p.tag) for p in pairs}
    assert len(found) == len(pairs)
    return found


def cli_suggest(capsys, root: Path) -> set[tuple[str, str]]:
    assert main(["suggest", str(root), "--json", "--device", "cpu"]) == 0
    return {(s["image"], s["tag"]) for s in json.loads(capsys.readouterr().out)["suggestions"]}


def written(path: Path) -> set[tuple[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {(image["path"], s["tag"]) for image in data["images"] for s in image.get("suggestions", [])}


def cli_export(capsys, root: Path, out: Path) -> set[tuple[str, str]]:
    assert main(["export", str(root), "--format", "json", "--out", str(out), "--with-suggestions"]) == 0
    capsys.readouterr()
    return written(out)


def window_export(root: Path, out: Path) -> set[tuple[str, str]]:
    from clml_desktop.workflow.exporting import ExportRequest, write_export

    request = ExportRequest("json", None, with_suggestions=True, in_place=False, out=out)
    write_export(Control(), root, request, ", ")
    return written(out)


@pytest.mark.parametrize(
    ("min_likely", "own"),
    [(None, {}), (0.45, {}), (0.45, {"cat": 0.3}), (0.6, {"tree": 0.45, "dog": 0.95})],
)
def test_every_view_and_export_picks_the_same_pairs(scored, capsys, tmp_path, min_likely, own):
    root = Path(scored.root)
    if min_likely is not None:
        assert main(["settings", str(root), "--min-likely", f"{min_likely * 100:g}"]) == 0
        capsys.readouterr()
    for tag, cut in own.items():
        scored.set_tag_threshold(tag, cut)
    want = expected(0.5 if min_likely is None else min_likely, own)
    assert want, "the case must show something"
    assert ("large.jpg", "dog") not in want, "0.42 passes only the manifest's F1 cut"
    assert grid(scored) == want
    assert review(root) == want
    assert cli_suggest(capsys, root) == want
    assert cli_export(capsys, root, tmp_path / "cli.json") == want
    assert window_export(root, tmp_path / "window.json") == want


def test_the_cases_differ():
    """Each case above is worth its run only if the setting changes the answer."""
    cases = [expected(0.5, {}), expected(0.45, {}), expected(0.45, {"cat": 0.3}),
             expected(0.6, {"tree": 0.45, "dog": 0.95})]
    assert len({frozenset(c) for c in cases}) == len(cases)
