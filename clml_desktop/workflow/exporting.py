"""An export as a person asks for it: what it will write, counted before anything
is written, and the write itself.

A person about to overwrite hundreds of caption files deserves to read, first,
how many files, how many of them already exist (and get a backup), how many
tags and suggestions go out, and what the format leaves behind (rejections in
a sidecar). The counts follow `clml_desktop.collection.exporting`'s rules, so
the summary and the write agree. `count_export` and `write_export` open the
collection themselves, so the window runs them on a worker thread and a large
collection never freezes its dialog.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from clml_contract.progress import Control
from clml_desktop.collection.exporting import (
    EXPORT_FORMATS,
    XMP_NAMINGS,
    ExportSummary,
    export_labels,
    xmp_target,
)
from clml_desktop.collection.formats import SIDECAR_FORMATS
from clml_desktop.collection.formats.sidecar import EXTENSIONS, sidecar_relpath
from clml_desktop.collection.labels import Suggestion
from clml_desktop.collection.store import CollectionStore
from clml_desktop.inference.likely_text import cuts_text
from clml_desktop.inference.suggestions import suggestions_for_export

KEEPS_NEGATIVES = ("json", "csv-wide", "csv-long", "train-jsonl")
KEEPS_SCORES = ("json", "csv-long")

FORMAT_NAMES = {
    "txt": ".txt sidecars (kohya, taggui)",
    "caption": ".caption sidecars",
    "xmp": "XMP sidecars (digiKam, Lightroom, darktable)",
    "csv-tags": "CSV, one row per image with a tags cell",
    "csv-wide": "CSV, one column per tag (1 / 0 / blank)",
    "csv-long": "CSV, one row per image and tag (with state, score, source)",
    "json": "JSON (positives, rejections, suggestions with scores)",
    "list": "Paper list (name.jpg, 0 13 52 + class names)",
    "train-jsonl": "Training set JSONL (for python -m training)",
}

DEFAULT_FILE_NAMES = {
    "csv-tags": "tags.csv",
    "csv-wide": "tags_wide.csv",
    "csv-long": "tags_long.csv",
    "json": "tags.json",
    "list": "tags_list.txt",
    "train-jsonl": "training_set.jsonl",
}


@dataclass(frozen=True)
class ExportRequest:
    """The dialog's choices: format, which images, suggestions or not, where to;
    and the Settings' XMP naming, so the summary counts the files the write makes."""

    fmt: str
    image_ids: tuple[int, ...] | None
    with_suggestions: bool
    in_place: bool
    out: Path | None
    xmp_naming: str = XMP_NAMINGS[0]


@dataclass
class ExportPreview:
    """The counts the summary shows."""

    images: int = 0
    files: int = 0
    existing: int = 0
    positives: int = 0
    negatives: int = 0
    suggestions: int = 0
    negatives_dropped: int = 0
    suggestion_cuts: set[float] = field(default_factory=set)
    target: str = ""
    notes: list[str] = field(default_factory=list)

    def lines(self, fmt: str) -> list[str]:
        """Human sentences for the dialog."""
        word = "file" if self.files == 1 else "files"
        out = [f"Writes {self.files:,} {word} for {self.images:,} image{'s' if self.images != 1 else ''} → {self.target}"]
        if self.existing:
            out.append(
                f"{self.existing:,} of them already exist and will be replaced "
                "(a backup of each is kept under .clml/backup/ the first time)"
            )
        tags = f"{self.positives:,} confirmed tag{'s' if self.positives != 1 else ''}"
        if fmt in KEEPS_NEGATIVES:
            tags += f", {self.negatives:,} rejection{'s' if self.negatives != 1 else ''}"
        if self.suggestions:
            kind = "with scores, kept apart" if fmt in KEEPS_SCORES else "written as plain tags"
            cut = cuts_text(sorted(self.suggestion_cuts))
            tags += f", {self.suggestions:,} suggestion{'s' if self.suggestions != 1 else ''} {cut} ({kind})"
        out.append(tags)
        if self.negatives_dropped:
            out.append(f"{self.negatives_dropped:,} rejections cannot be stored in this format and stay in the collection")
        out.extend(self.notes)
        return out


def preview_export(
    store: CollectionStore,
    request: ExportRequest,
    suggestions: Mapping[str, Sequence[Suggestion]] | None = None,
) -> ExportPreview:
    """Count what `export_labels` would write for `request` (reads only)."""
    if request.fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {request.fmt!r}")
    labels = store.image_labels(list(request.image_ids) if request.image_ids is not None else None)
    preview = ExportPreview(images=len(labels))
    root = Path(store.root)
    keeps_negatives = request.fmt in KEEPS_NEGATIVES
    problem_paths = {row.path for row in store.images() if row.problem} if request.fmt == "train-jsonl" else set()
    for rel, item in labels.items():
        known = set(item.positives) | set(item.negatives)
        fresh = [s for s in (suggestions or {}).get(rel, ()) if s.tag not in known] if request.with_suggestions else []
        if request.fmt == "train-jsonl" and (rel in problem_paths or not (item.positives or item.negatives)):
            continue
        preview.positives += len(item.positives)
        preview.suggestions += len(fresh)
        preview.suggestion_cuts.update(s.threshold for s in fresh if s.threshold is not None)
        if keeps_negatives:
            preview.negatives += len(item.negatives)
        else:
            preview.negatives_dropped += len(item.negatives)
        if request.fmt in SIDECAR_FORMATS:
            base = root if request.in_place else (request.out or root)
            if request.fmt == "xmp":
                side = xmp_target(rel, base, request.xmp_naming)
            else:
                side = sidecar_relpath(rel, EXTENSIONS[request.fmt])
            exists = (base / side).is_file()
            if request.in_place and not (item.positives or fresh) and not exists:
                continue
            preview.files += 1
            preview.existing += exists
    if request.fmt == "train-jsonl":
        preview.images = sum(
            1 for rel, item in labels.items() if rel not in problem_paths and (item.positives or item.negatives)
        )
    if request.fmt not in SIDECAR_FORMATS:
        targets = [request.out] if request.out is not None else []
        if request.fmt == "list" and request.out is not None:
            targets.append(request.out.with_name(f"{request.out.stem}_classes.txt"))
        preview.files = len(targets)
        preview.existing = sum(1 for t in targets if t.is_file())
        preview.target = str(request.out) if request.out is not None else "(choose a file)"
    elif request.in_place:
        preview.target = "next to each image"
        if request.fmt in ("txt", "caption"):
            preview.notes.append("Sidecars that changed on disk since the last scan are left untouched and reported.")
    else:
        preview.target = str(request.out) if request.out is not None else "(choose a folder)"
    if request.fmt == "xmp":
        example = "photo.xmp" if request.xmp_naming == "name.xmp" else "photo.jpg.xmp"
        preview.notes.append(f"New XMP sidecars are named like {example} (Settings); existing ones keep their name.")
    return preview


def _suggestions(
    store: CollectionStore, request: ExportRequest
) -> Mapping[str, Sequence[Suggestion]] | None:
    return suggestions_for_export(store) if request.with_suggestions else None


def count_export(
    control: Control, root: Path, request: ExportRequest
) -> tuple[ExportRequest, ExportPreview]:
    """The summary of `request` on the collection at `root`, with the request it
    answers (a dialog shows it only while the choices are still the same)."""
    with CollectionStore.open(Path(root)) as store:
        suggestions = _suggestions(store, request)
        control.check()
        return request, preview_export(store, request, suggestions)


def write_export(
    control: Control, root: Path, request: ExportRequest, separator: str
) -> ExportSummary:
    """Write `request` for the collection at `root`; returns the exporter's summary."""
    with CollectionStore.open(Path(root)) as store:
        control.report(0, 0, f"Exporting {request.fmt}")
        suggestions = _suggestions(store, request)
        control.check()
        return export_labels(
            store,
            request.fmt,
            out=request.out,
            in_place=request.in_place,
            image_ids=list(request.image_ids) if request.image_ids is not None else None,
            suggestions=suggestions,
            separator=separator,
            xmp_naming=request.xmp_naming,
        )
