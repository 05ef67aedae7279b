"""The training set: the JSONL file the app writes (ADR 0002) and the images it names.

The file format and its reader are the contract's (clml_contract.training_set);
this module adds what the loop needs: subsets for folds and image loading.
Labels live in three arrays so the loop never parses strings: `targets`
(1 = positive), `known_negative` (a tag a person rejected; label correction
never flips it), and everything else unknown. An image that cannot be read is
reported and skipped, never fatal: one corrupt file must not cost a person
their training run.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from clml_contract.preprocess import open_rgb, register_phone_formats
from clml_contract.training_set import TrainingSetData
from clml_contract.training_set import (
    TrainingSetError as TrainingSetError,  # the trainer's name too
)
from clml_contract.training_set import read_training_set as read_set


@dataclass
class TrainingSet(TrainingSetData):
    """The parsed set (clml_contract.training_set) plus what the loop needs of it."""

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
            image_ids=self.image_ids[idx],
            versions=self.versions[idx],
        )


def read_training_set(path: Path) -> TrainingSet:
    """The contract's reader (bad lines reported in `problems`, TrainingSetError when
    the file as a whole is unusable), as the loop's TrainingSet."""
    data = read_set(path)
    return TrainingSet(**{f.name: getattr(data, f.name) for f in fields(data)})


def load_rgb(path: Path, size_hint: int | None = None) -> Image.Image:
    """Open an image exactly as the app's inference engine does.

    One decoder serves both sides (EXIF orientation, 16-bit greys scaled,
    transparency on white, JPEG draft at the input size), so a training image's
    out-of-fold score and a new image's engine score mean the same thing. It
    lives in the contract's torch-free preprocessing module. Huge images
    raise ImageTooLarge (a ValueError) instead of exhausting memory.
    """
    return open_rgb(path, size_hint)


def find_unreadable(paths: Sequence[Path]) -> dict[int, str]:
    """Index → reason for images whose header cannot be read (cheap, no decode).

    Truncated files can pass this check; the loader catches those later.
    """
    register_phone_formats()  # HEIC/AVIF headers, as open_rgb reads them
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
