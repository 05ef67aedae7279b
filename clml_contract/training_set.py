"""The training-set JSONL (ADR 0002): written by the app, read by the trainer, here once.

First line `{"tags": [...]}` fixes the tag order (the model's output order);
then one object per image: its path, the store's `image_id` and `version` of
the file the set was written from, its positives, the negatives a person
confirmed, and `"confirmed": true` where a person labelled or reviewed it.
Anything not listed is unknown to the trainer.

The id and version travel through the trainer into `oof.npz` so the app maps
each out-of-fold score back to the image it was computed for, and drops it
when the image changed since (issue 12). Hand-written sets may leave them out
(and the header, and use relative paths): such rows get id and version -1.

Reading is torch-free and returns numpy arrays, so the trainer wraps it and
tests and tools can check a set without torch. One bad line is a problem
reported and skipped, never fatal: a person must not lose a training run to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NO_ID = -1  # image_id / version of a row that names none (a hand-written set)


class TrainingSetError(ValueError):
    """The training-set file as a whole is unusable (named file, clear reason)."""


@dataclass(frozen=True)
class TrainingRow:
    """One image as the app writes it; id and version are the store's at writing time."""

    path: str
    positives: Sequence[str]
    negatives: Sequence[str] = ()
    confirmed: bool = False
    image_id: int | None = None
    version: int | None = None


@dataclass
class TrainingSetData:
    """A parsed set: labels in three arrays so the trainer never parses strings.

    `targets` 1 = positive; `known_negative` a tag a person rejected (label
    correction never flips it); everything else is unknown.
    """

    source: Path
    tags: list[str]
    paths: list[Path]
    targets: np.ndarray  # uint8 N×C, 1 = positive
    known_negative: np.ndarray  # bool N×C, a person rejected the tag
    confirmed: np.ndarray  # bool N, a person confirmed the image's labels
    image_ids: np.ndarray  # int64 N, NO_ID where the row names none
    versions: np.ndarray  # int64 N, NO_ID where the row names none
    problems: list[str] = field(default_factory=list)


def render_training_set(rows: Iterable[TrainingRow], tags: Sequence[str]) -> str:
    """The JSONL text of `rows` under the tag order `tags`."""
    lines = [json.dumps({"tags": list(tags)}, ensure_ascii=False)]
    for row in rows:
        item: dict[str, object] = {"path": row.path}
        if row.image_id is not None:
            item.update(image_id=int(row.image_id), version=int(row.version))
        item.update(positives=list(row.positives), negatives=list(row.negatives))
        if row.confirmed:
            item["confirmed"] = True
        lines.append(json.dumps(item, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def _tag_list(value: object, where: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ValueError(f"{where}: '{key}' must be a list of strings")
    return [t for t in value if t.strip()]


def _identity(obj: dict, where: str) -> tuple[int, int]:
    """(image_id, version), both NO_ID when absent; they come as a pair of integers ≥ 0."""
    ident, version = obj.get("image_id"), obj.get("version")
    if ident is None and version is None:
        return NO_ID, NO_ID
    if not all(type(v) is int and v >= 0 for v in (ident, version)):
        raise ValueError(f"{where}: 'image_id' and 'version' must both be integers ≥ 0")
    return ident, version


def _parse_rows(path: Path, text: str, problems: list[str]) -> tuple[list[str] | None, list[tuple]]:
    """The header's tags (None without one) and (path, positives, negatives, confirmed, id, version)."""
    header: list[str] | None = None
    rows: list[tuple] = []
    seen_paths: set[Path] = set()
    seen_ids: set[int] = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError(f"{where}: expected a JSON object")
            if "path" not in obj and "tags" in obj and header is None and not rows:
                header = _tag_list(obj["tags"], where, "tags")
                continue
            raw_path = obj.get("path")
            if not isinstance(raw_path, str) or not raw_path.strip():
                raise ValueError(f"{where}: missing 'path'")
            positives = _tag_list(obj.get("positives"), where, "positives")
            negatives = _tag_list(obj.get("negatives"), where, "negatives")
            ident, version = _identity(obj, where)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not valid JSON ({exc.msg}); line skipped")
            continue
        except ValueError as exc:
            problems.append(f"{exc}; line skipped")
            continue
        image_path = Path(raw_path)
        if not image_path.is_absolute():
            image_path = path.parent / image_path
        if image_path in seen_paths or ident in seen_ids:
            problems.append(f"{where}: {raw_path} (or its image_id) is listed twice; the first entry is used")
            continue
        seen_paths.add(image_path)
        if ident != NO_ID:
            seen_ids.add(ident)
        clash = sorted(set(positives) & set(negatives))
        if clash:
            problems.append(f"{where}: {', '.join(clash)} both positive and negative; kept as positive")
            negatives = [t for t in negatives if t not in clash]
        rows.append((image_path, positives, negatives, obj.get("confirmed", False) is True, ident, version))
    return header, rows


def read_training_set(path: Path) -> TrainingSetData:
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
    header, rows = _parse_rows(path, text, problems)
    if not rows:
        raise TrainingSetError(f"{path}: the training set lists no images")
    union = sorted({t for r in rows for t in (*r[1], *r[2])})
    if header is None:
        tags = union
    else:
        tags = list(dict.fromkeys(header))
        extra = [t for t in union if t not in set(tags)]
        if extra:
            problems.append(f"{path}: tags missing from the header line were appended: {', '.join(extra)}")
            tags += extra
    if not tags:
        raise TrainingSetError(f"{path}: the training set has no tags")
    column = {t: i for i, t in enumerate(tags)}
    targets = np.zeros((len(rows), len(tags)), dtype=np.uint8)
    known_negative = np.zeros((len(rows), len(tags)), dtype=bool)
    for i, (_, pos, neg, *_rest) in enumerate(rows):
        targets[i, [column[t] for t in pos]] = 1
        known_negative[i, [column[t] for t in neg]] = True
    return TrainingSetData(
        source=path,
        tags=tags,
        paths=[r[0] for r in rows],
        targets=targets,
        known_negative=known_negative,
        confirmed=np.array([r[3] for r in rows], dtype=bool),
        image_ids=np.array([r[4] for r in rows], dtype=np.int64),
        versions=np.array([r[5] for r in rows], dtype=np.int64),
        problems=problems,
    )
