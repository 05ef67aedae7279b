"""CLML Desktop's own JSON labels file (schema: docs/formats/labels.schema.json).

The one format that holds everything the store knows about an image: its
positives in order, its confirmed negatives, where each label came from, and
(on export) the model's suggestions with scores. Example:

    {"format": "clml-desktop-labels", "version": 1, "tags": ["dog", "cat"],
     "images": [{"path": "a/b.jpg", "positives": ["dog"], "negatives": ["cat"],
                 "sources": {"dog": "original", "cat": "manual"},
                 "suggestions": [{"tag": "grass", "score": 0.91, "threshold": 0.5,
                                  "model": "20261126-1"}]}]}

A bad image entry is reported and skipped; a file that is not this format
is refused as a whole.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from clml_desktop.collection.formats.common import (
    FormatError,
    add_unique,
    entry,
    read_text,
    resolve_image,
)
from clml_desktop.collection.labels import ImageLabels, Problem, ReadResult, Suggestion

FORMAT_ID = "clml-desktop-labels"
VERSION = 1


def _strings(value: object, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"'{key}' must be a list of strings")
    return [v.strip() for v in value if v.strip()]


def _suggestions(value: object) -> list[Suggestion]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("'suggestions' must be a list")
    out = []
    for s in value:
        if not isinstance(s, dict) or not isinstance(s.get("tag"), str):
            raise ValueError("each suggestion needs a 'tag' string")
        score, threshold, model = s.get("score"), s.get("threshold"), s.get("model")
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            raise ValueError(f"suggestion {s['tag']!r} needs a finite numeric 'score'")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))):
            raise ValueError(f"suggestion {s['tag']!r}: 'threshold' must be a number or null")
        if model is not None and not isinstance(model, str):
            raise ValueError(f"suggestion {s['tag']!r}: 'model' must be a string or null")
        out.append(Suggestion(tag=s["tag"], score=float(score),
                              threshold=None if threshold is None else float(threshold), model=model))
    return out


def read_json(path: Path, root: Path) -> ReadResult:
    """Read a labels JSON file; entries naming images outside the collection are skipped."""
    try:
        doc = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    except RecursionError:
        raise FormatError(f"{path}: JSON nested too deeply to be a labels file; not read") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_ID:
        raise FormatError(f"{path}: not a CLML Desktop labels file (needs \"format\": \"{FORMAT_ID}\")")
    if not isinstance(doc.get("version"), int) or doc["version"] > VERSION:
        raise FormatError(f"{path}: labels file version {doc.get('version')!r} is not supported (max {VERSION})")
    images = doc.get("images")
    if not isinstance(images, list):
        raise FormatError(f"{path}: 'images' must be a list")
    result = ReadResult()
    try:
        result.tag_order = _strings(doc.get("tags"), "tags")
    except ValueError as exc:
        result.problems.append(Problem(str(path), f"{exc}; tag order ignored"))
    for index, obj in enumerate(images):
        where = f"{path}: images[{index}]"
        try:
            if not isinstance(obj, dict) or not isinstance(obj.get("path"), str):
                raise ValueError("needs a 'path' string")
            positives = _strings(obj.get("positives"), "positives")
            negatives = _strings(obj.get("negatives"), "negatives")
            sources = obj.get("sources") or {}
            if not isinstance(sources, dict) or not all(isinstance(v, str) for v in sources.values()):
                raise ValueError("'sources' must map tags to strings")
            suggestions = _suggestions(obj.get("suggestions"))
        except ValueError as exc:
            result.problems.append(Problem(where, f"{exc}; entry skipped"))
            continue
        rel = resolve_image(root, obj["path"], where, result.problems)
        if rel is None:
            continue
        item = entry(result.labels, rel)
        add_unique(item.positives, positives)
        clash = [t for t in negatives if t in item.positives]
        if clash:
            result.problems.append(Problem(where, f"{', '.join(clash)} both positive and negative; kept positive"))
        add_unique(item.negatives, [t for t in negatives if t not in item.positives])
        item.sources.update({k: v for k, v in sources.items() if k in item.positives or k in item.negatives})
        item.suggestions.extend(suggestions)
    return result


def render_json(labels: Mapping[str, ImageLabels], tag_order: Sequence[str] = ()) -> str:
    """The labels file text (UTF-8, non-ASCII kept readable, one image per entry)."""
    tags = list(dict.fromkeys(tag_order))
    seen = set(tags)
    images = []
    for rel, item in labels.items():
        for tag in (*item.positives, *item.negatives):
            if tag not in seen:
                seen.add(tag)
                tags.append(tag)
        obj: dict = {"path": rel, "positives": list(item.positives), "negatives": list(item.negatives)}
        known = {t: s for t, s in item.sources.items() if t in item.positives or t in item.negatives}
        if known:
            obj["sources"] = known
        if item.suggestions:
            obj["suggestions"] = [
                {"tag": s.tag, "score": float(s.score), "threshold": s.threshold, "model": s.model}
                for s in item.suggestions
            ]
        images.append(obj)
    doc = {"format": FORMAT_ID, "version": VERSION, "tags": tags, "images": images}
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
