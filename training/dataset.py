"""The training set: the JSONL file the app writes (ADR 0002) and the images it names.

Labels live in three arrays so the loop never parses strings: `targets`
(1 = positive), `known_negative` (a tag a person rejected; label correction
never flips it), and everything else unknown. An image that cannot be read is
reported and skipped, never fatal: one corrupt file must not cost a person
their training run.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from clml_contract.preprocess import open_rgb


class TrainingSetError(ValueError):
    """The training-set file as a whole is unusable (named file, clear reason)."""


@dataclass
class TrainingSet:
    """Images with positives, person-rejected negatives and a confirmed flag."""

    source: Path
    tags: list[str]
    paths: list[Path]
    targets: np.ndarray  # uint8 N×C, 1 = positive
    known_negative: np.ndarray  # bool N×C, a person rejected the tag
    confirmed: np.ndarray  # bool N, a person confirmed the image's labels
    problems: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.paths)

    def subset(self, indices: Sequence[int] | np.ndarray) -> TrainingSet:
        """The same tags over a selection of images (used for folds and splits)."""
        idx = np.asarray(indices, dtype=np.int64)
        return TrainingSet(
            source=self.source,
            tags=list(self.tags),
            paths=[self.paths[i] for i in idx],
            targets=self.targets[idx],
            known_negative=self.known_negative[idx],
            confirmed=self.confirmed[idx],
        )


def _tag_list(value: object, where: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ValueError(f"{where}: '{key}' must be a list of strings")
    return [t for t in value if t.strip()]


def read_training_set(path: Path) -> TrainingSet:
    """Parse the training-set JSONL; bad lines are reported in `problems` and skipped.

    Relative image paths are taken relative to the JSONL's folder (the app
    writes absolute ones; hand-written files are easier with relative ones).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingSetError(f"{path}: cannot read the training set: {exc}") from exc
    problems: list[str] = []
    header_tags: list[str] | None = None
    rows: list[tuple[Path, list[str], list[str], bool]] = []
    seen: set[Path] = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError(f"{where}: expected a JSON object")
            if "path" not in obj and "tags" in obj and header_tags is None and not rows:
                header_tags = _tag_list(obj["tags"], where, "tags")
                continue
            raw_path = obj.get("path")
            if not isinstance(raw_path, str) or not raw_path.strip():
                raise ValueError(f"{where}: missing 'path'")
            positives = _tag_list(obj.get("positives"), where, "positives")
            negatives = _tag_list(obj.get("negatives"), where, "negatives")
            confirmed = obj.get("confirmed", False) is True
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not valid JSON ({exc.msg}); line skipped")
            continue
        except ValueError as exc:
            problems.append(f"{exc}; line skipped")
            continue
        image_path = Path(raw_path)
        if not image_path.is_absolute():
            image_path = path.parent / image_path
        if image_path in seen:
            problems.append(f"{where}: {raw_path} is listed twice; the first entry is used")
            continue
        seen.add(image_path)
        clash = sorted(set(positives) & set(negatives))
        if clash:
            problems.append(f"{where}: {', '.join(clash)} both positive and negative; kept as positive")
            negatives = [t for t in negatives if t not in clash]
        rows.append((image_path, positives, negatives, confirmed))
    if not rows:
        raise TrainingSetError(f"{path}: the training set lists no images")
    union = sorted({t for _, pos, neg, _ in rows for t in (*pos, *neg)})
    if header_tags is None:
        tags = union
    else:
        tags = list(dict.fromkeys(header_tags))
        extra = [t for t in union if t not in set(tags)]
        if extra:
            problems.append(f"{path}: tags missing from the header line were appended: {', '.join(extra)}")
            tags += extra
    if not tags:
        raise TrainingSetError(f"{path}: the training set has no tags")
    column = {t: i for i, t in enumerate(tags)}
    n, c = len(rows), len(tags)
    targets = np.zeros((n, c), dtype=np.uint8)
    known_negative = np.zeros((n, c), dtype=bool)
    confirmed = np.zeros(n, dtype=bool)
    for i, (_, pos, neg, conf) in enumerate(rows):
        targets[i, [column[t] for t in pos]] = 1
        known_negative[i, [column[t] for t in neg]] = True
        confirmed[i] = conf
    return TrainingSet(
        source=path,
        tags=tags,
        paths=[r[0] for r in rows],
        targets=targets,
        known_negative=known_negative,
        confirmed=confirmed,
        problems=problems,
    )


def load_rgb(path: Path, size_hint: int | None = None) -> Image.Image:
    """Open an image exactly as the app's inference engine does.

    One decoder serves both sides (EXIF orientation, 16-bit greys scaled,
    transparency on white, JPEG draft at the input size), so a training image's
    out-of-fold score and a new image's engine score mean the same thing. It
    lives in the app's Qt-free, torch-free preprocessing module. Huge images
    raise ImageTooLarge (a ValueError) instead of exhausting memory.
    """
    return open_rgb(path, size_hint)


def find_unreadable(paths: Sequence[Path]) -> dict[int, str]:
    """Index → reason for images whose header cannot be read (cheap, no decode).

    Truncated files can pass this check; the loader catches those later.
    """
    bad: dict[int, str] = {}
    for i, p in enumerate(paths):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(p) as img:
                    img.size  # noqa: B018 - forces the header parse
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning,
                Image.DecompressionBombError) as exc:
            bad[i] = f"{p}: unreadable image skipped ({exc})"
    return bad


class ImageDataset(Dataset):
    """Yields (image tensor | None, index, problem | None); labels stay in the loop."""

    def __init__(self, paths: Sequence[Path], transform: Callable, size_hint: int | None = None) -> None:
        self.paths = list(paths)
        self.transform = transform
        self.size_hint = size_hint

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor | None, int, str | None]:
        try:
            image = load_rgb(self.paths[index], self.size_hint)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning,
                Image.DecompressionBombError) as exc:
            return None, index, f"{self.paths[index]}: unreadable image skipped ({exc})"
        return self.transform(image), index, None


@dataclass
class Batch:
    """A collated batch: the readable images, their dataset indices, the problems met."""

    images: torch.Tensor | None
    indices: torch.Tensor
    problems: list[tuple[int, str]]

    def pin_memory(self) -> Batch:
        """DataLoader calls this when `pin_memory=True` (faster copies to the GPU)."""
        if self.images is not None:
            self.images = self.images.pin_memory()
        return self


def collate(items: list[tuple[torch.Tensor | None, int, str | None]]) -> Batch:
    """Stack the readable images; unreadable ones leave only their problem behind."""
    good = [(t, i) for t, i, _ in items if t is not None]
    problems = [(i, msg) for t, i, msg in items if t is None and msg is not None]
    images = torch.stack([t for t, _ in good]) if good else None
    indices = torch.tensor([i for _, i in good], dtype=torch.long)
    return Batch(images=images, indices=indices, problems=problems)
