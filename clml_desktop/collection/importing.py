"""Bring the labels of tag files into the store: on open (every sidecar and
collection-wide tag file in the folder, source `original`) and on an explicit
import of a chosen file (source `imported`).

Import merges and never deletes: a pair the store already has keeps its state
(the store counts contradictions as conflicts). Rescans are incremental: a tag
file whose (size, mtime_ns) matches what was recorded at its last import is
not read again, so reopening a big folder costs one `stat` per file. A file
that cannot be read is reported and recorded nowhere, so it is tried again
next time; a sidecar that is not UTF-8 also marks its image, and export will
never overwrite it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

from clml_desktop.collection.formats import (
    FILE_FORMATS,
    FORMATS,
    SIDECAR_FORMATS,
    detect_file_format,
    read_file,
)
from clml_desktop.collection.formats.common import FormatError
from clml_desktop.collection.formats.sidecar import read_sidecar
from clml_desktop.collection.formats.xmp import parse_xmp
from clml_desktop.collection.labels import ImageLabels, LabelSource, Problem, ReadResult

TAG_FILE_PROBLEM = "tag file "  # prefix of image problems set by an import, cleared once the file reads
_SIDECAR_SUFFIXES = (".txt", ".caption", ".xmp")
_TOP_LEVEL_SUFFIXES = (".csv", ".tsv", ".json", ".txt")
_FAMILY_SUFFIXES = {"csv-tags": (".csv", ".tsv"), "csv-wide": (".csv", ".tsv"), "csv-long": (".csv", ".tsv"),
                    "json": (".json",), "list": (".txt",)}
_SIDECAR_FORMAT_OF = {".txt": "txt", ".caption": "caption", ".xmp": "xmp"}
_TICK = 256


@dataclass
class ImportSummary:
    """What an import did, for the CLI's summary and the GUI's status line."""

    files_read: int = 0
    files_unchanged: int = 0
    images: int = 0
    positives_added: int = 0
    negatives_added: int = 0
    conflicts: int = 0
    formats: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    edit_id: int | None = None
    cancelled: bool = False


@dataclass(frozen=True)
class TagFile:
    """A candidate tag file found in the folder."""

    relpath: str
    path: str
    size: int
    mtime_ns: int


def find_tag_files(root: Path) -> dict[str, TagFile]:
    """Every sidecar-like file under `root` and the collection-wide candidates at its top.

    Follows the scan's rules: hidden entries and `.clml/` skipped, each real
    folder visited once (symlink loops end).
    """
    found: dict[str, TagFile] = {}
    wanted_deep, wanted_top = set(_SIDECAR_SUFFIXES), set(_SIDECAR_SUFFIXES + _TOP_LEVEL_SUFFIXES)
    root_stat = os.stat(root)
    visited = {(root_stat.st_dev, root_stat.st_ino)}
    stack = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            for e in entries:
                name = e.name
                if name.startswith("."):
                    continue
                try:
                    if e.is_dir():
                        st = e.stat()
                        if (st.st_dev, st.st_ino) not in visited:
                            visited.add((st.st_dev, st.st_ino))
                            stack.append((e.path, f"{prefix}{name}/"))
                        continue
                    dot = name.rfind(".")
                    suffix = name[dot:].lower() if dot > 0 else ""
                    if suffix in (wanted_deep if prefix else wanted_top) and e.is_file():
                        st = e.stat()
                        rel = prefix + name
                        found[rel] = TagFile(rel, e.path, st.st_size, st.st_mtime_ns)
                except OSError:
                    continue
    return found


def _stem_key(rel: str) -> str:
    """`dir/name.jpg` -> `dir/name` with string operations (pathlib is too slow for 10^5 files)."""
    dot = rel.rfind(".")
    return rel[:dot] if dot > rel.rfind("/") + 1 else rel


def _match_sidecars(store, files: dict[str, TagFile], formats: tuple[str, ...]) -> list[tuple[str, TagFile, str]]:
    """(image relpath, sidecar, format) for every sidecar that belongs to a present image.

    `a.txt`, `a.caption` and Lightroom's `a.xmp` belong to every image with
    stem `a` in that folder; digiKam's `a.jpg.xmp` to `a.jpg` only. An
    image's sidecars come in the order txt, caption, xmp (then by name), and
    images in path order, so tag order and tag creation order are the same
    on every file system.
    """
    buckets: dict[str, list[tuple[TagFile, str]]] = {f: [] for f in SIDECAR_FORMATS}
    for rel, tag_file in files.items():
        dot = rel.rfind(".")
        sfmt = _SIDECAR_FORMAT_OF.get(rel[dot:].lower())
        if sfmt is not None and sfmt in formats:
            buckets[sfmt].append((tag_file, rel[:dot]))
    if not any(buckets.values()):
        return []  # a rescan with nothing new never loads the image list
    buckets["xmp"].sort(key=lambda c: c[0].relpath)
    present = {path for path, (_size, _mtime, missing) in store.scan_index().items() if not missing}
    stems: dict[str, list[str]] = {}
    for rel in present:
        stems.setdefault(_stem_key(rel), []).append(rel)
    jobs = []
    for sfmt in SIDECAR_FORMATS:
        for tag_file, base in buckets[sfmt]:
            if sfmt == "xmp" and base in present:
                jobs.append((base, tag_file, sfmt))
            else:
                for image in stems.get(base, ()):
                    jobs.append((image, tag_file, sfmt))
    jobs.sort(key=itemgetter(0))  # stable: by image path, then the format order above
    return jobs


def _message(exc: Exception, path: str) -> str:
    text = str(exc)
    for prefix in (f"{path}: ", f"{path}:"):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def _read_sidecar(tag_file: TagFile, fmt: str) -> list[str]:
    if fmt == "xmp":
        try:
            with open(tag_file.path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise FormatError(f"{tag_file.path}: cannot read: {exc.strerror or exc}") from exc
        return parse_xmp(data, tag_file.path)
    return read_sidecar(tag_file.path)


def _merge(store, labels: dict[str, ImageLabels], source: str, description: str, summary: ImportSummary) -> None:
    for item in labels.values():
        item.sources = {}
        item.suggestions = []
    report = store.import_labels(labels, source=source, description=description)
    summary.images += report.images
    summary.positives_added += report.positives_added
    summary.negatives_added += report.negatives_added
    summary.conflicts += report.conflicts
    summary.problems.extend(report.problems)
    summary.problems.extend(Problem(p, "no such image in the collection; skipped") for p in report.unknown_paths)
    summary.edit_id = report.edit_id if report.edit_id is not None else summary.edit_id


def import_folder(
    store,
    fmt: str = "auto",
    *,
    source: str = LabelSource.ORIGINAL,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> ImportSummary:
    """Import the tag files found in the collection folder (`auto`: every format present).

    Only files new or changed since their last import are read unless
    `force` (`files_unchanged` counts the others, whatever their format).
    Sidecars are matched to images by stem (`a.txt`, `a.caption`,
    `a.jpg.xmp`, `a.xmp` for `a.jpg`); collection-wide files are looked for
    at the top of the folder. `cancel()` is polled every few hundred files;
    a cancelled import keeps (and records) what it read, like a cancelled scan.
    """
    if fmt != "auto" and fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r} (one of auto, {', '.join(FORMATS)})")
    summary = ImportSummary()
    root = Path(store.root)
    files = find_tag_files(root)
    known = {} if force else store.source_file_states()
    sidecar_formats = SIDECAR_FORMATS if fmt == "auto" else tuple(f for f in (fmt,) if f in SIDECAR_FORMATS)
    unchanged = {rel for rel, f in files.items() if known.get(rel) == (f.size, f.mtime_ns)}
    summary.files_unchanged = len(unchanged)
    pending = {rel: f for rel, f in files.items() if rel not in unchanged}
    jobs = _match_sidecars(store, pending, sidecar_formats)
    used = {tag_file.relpath for _image, tag_file, _fmt in jobs}

    labels: dict[str, ImageLabels] = {}
    done_states: dict[str, tuple[str, int, int]] = {}
    failed: set[str] = set()
    problem_images: dict[str, str] = {}
    total = len(jobs)
    for index, (image_rel, tag_file, sfmt) in enumerate(jobs, 1):
        if index % _TICK == 0:
            if progress is not None:
                progress(index, total)
            if cancel is not None and cancel():
                summary.cancelled = True
                break
        try:
            tags = _read_sidecar(tag_file, sfmt)
        except FormatError as exc:
            message = _message(exc, tag_file.path)
            if tag_file.relpath not in failed:
                summary.problems.append(Problem(tag_file.relpath, message))
            failed.add(tag_file.relpath)
            problem_images[image_rel] = f"{TAG_FILE_PROBLEM}{tag_file.relpath}: {message}"
            continue
        summary.files_read += tag_file.relpath not in done_states
        if sfmt not in summary.formats:
            summary.formats.append(sfmt)
        item = labels.setdefault(image_rel, ImageLabels())
        item.positives.extend(t for t in tags if t not in item.positives)
        done_states[tag_file.relpath] = (tag_file.relpath, tag_file.size, tag_file.mtime_ns)
    for rel in failed:
        done_states.pop(rel, None)
    if labels:
        _merge(store, labels, source, f"Import tags of {len(labels):,} images from sidecars", summary)
    if jobs:
        _mark_images(store, problem_images, {j[0] for j in jobs if j[1].relpath in done_states})

    if not summary.cancelled:
        wanted_file_formats = FILE_FORMATS if fmt == "auto" else tuple(f for f in (fmt,) if f in FILE_FORMATS)
        for tag_file in sorted(pending.values(), key=lambda f: f.relpath):
            if "/" in tag_file.relpath or tag_file.relpath in used or not wanted_file_formats:
                continue
            file_fmt = _file_format(Path(tag_file.path), fmt)
            if file_fmt is None:
                continue
            if _import_one(store, Path(tag_file.path), file_fmt, source, summary, tag_file.relpath):
                done_states[tag_file.relpath] = (tag_file.relpath, tag_file.size, tag_file.mtime_ns)
    if done_states:
        store.set_source_file_states(done_states.values())
    if progress is not None and not summary.cancelled:
        progress(total, total)
    return summary


def _file_format(path: Path, fmt: str) -> str | None:
    """The format to read a top-level file with: detected under auto, else the chosen family's files."""
    detected = detect_file_format(path)
    if fmt == "auto":
        return detected
    if path.suffix.lower() not in _FAMILY_SUFFIXES[fmt]:
        return None
    if fmt == "list" and detected != "list":
        return None
    if fmt == "json" and detected != "json":
        return None
    return fmt


def _mark_images(store, problems: dict[str, str], read_ok: Iterable[str]) -> None:
    """Mark images whose sidecar could not be read; clear that mark once it reads again.

    An image problem found by the scan (an unreadable image) is never replaced.
    """
    current = {p.path: p.message for p in store.problems()}
    for rel, message in problems.items():
        old = current.get(rel)
        if old is None or (old.startswith(TAG_FILE_PROBLEM) and old != message):
            image = store.image_by_path(rel)
            if image is not None:
                store.set_image_problem(image.id, message)
    for rel in read_ok:
        if rel not in problems and current.get(rel, "").startswith(TAG_FILE_PROBLEM):
            image = store.image_by_path(rel)
            if image is not None:
                store.set_image_problem(image.id, None)


def _import_one(store, path: Path, fmt: str, source: str, summary: ImportSummary, name: str) -> bool:
    try:
        result: ReadResult = read_file(fmt, path, store.root)
    except FormatError as exc:
        summary.problems.append(Problem(name, _message(exc, str(path))))
        return False
    summary.files_read += 1
    if fmt not in summary.formats:
        summary.formats.append(fmt)
    summary.problems.extend(result.problems)
    if result.labels:
        _merge(store, result.labels, source, f"Import tags of {len(result.labels):,} images from {path.name}", summary)
    return True


def import_file(
    store,
    path: Path,
    fmt: str = "auto",
    *,
    source: str = LabelSource.IMPORTED,
    tags_delimiter: str = ",",
    csv_delimiter: str | None = None,
    classes: Path | None = None,
) -> ImportSummary:
    """Import one chosen collection-wide tag file (CSV, JSON, list) into the store.

    Raises FormatError when the file as a whole is unusable (missing columns,
    not UTF-8, unknown layout), so a caller can fail the command; problems
    with single rows are in the summary.
    """
    path = Path(path)
    if fmt in SIDECAR_FORMATS:
        raise FormatError(f"{path}: {fmt} is a sidecar format; its files are found next to the images, not chosen")
    if fmt != "auto" and fmt not in FILE_FORMATS:
        raise FormatError(f"unknown format {fmt!r} (one of auto, {', '.join(FILE_FORMATS)})")
    result = read_file(
        fmt, path, store.root, tags_delimiter=tags_delimiter, csv_delimiter=csv_delimiter, classes=classes
    )
    summary = ImportSummary(files_read=1, formats=[fmt if fmt != "auto" else str(detect_file_format(path))])
    summary.problems.extend(result.problems)
    if result.labels:
        _merge(store, result.labels, source, f"Import tags of {len(result.labels):,} images from {path.name}", summary)
    return summary
