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
from pathlib import Path, PurePosixPath

from clml_desktop.collection.formats import FILE_FORMATS, FORMATS, SIDECAR_FORMATS, detect_file_format, read_file
from clml_desktop.collection.formats.common import FormatError
from clml_desktop.collection.formats.sidecar import EXTENSIONS, read_sidecar
from clml_desktop.collection.formats.xmp import parse_xmp
from clml_desktop.collection.labels import ImageLabels, LabelSource, Problem, ReadResult

TAG_FILE_PROBLEM = "tag file "  # prefix of image problems set by an import, cleared once the file reads
_SIDECAR_SUFFIXES = (".txt", ".caption", ".xmp")
_TOP_LEVEL_SUFFIXES = (".csv", ".tsv", ".json", ".txt")
_FAMILY_SUFFIXES = {"csv-tags": (".csv", ".tsv"), "csv-wide": (".csv", ".tsv"), "csv-long": (".csv", ".tsv"),
                    "json": (".json",), "list": (".txt",)}
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
                    suffix = os.path.splitext(name)[1].lower()
                    wanted = _SIDECAR_SUFFIXES if prefix else _SIDECAR_SUFFIXES + _TOP_LEVEL_SUFFIXES
                    if suffix in wanted and e.is_file():
                        st = e.stat()
                        rel = prefix + name
                        found[rel] = TagFile(rel, e.path, st.st_size, st.st_mtime_ns)
                except OSError:
                    continue
    return found


def _sidecars_of(image: str, fmt: str) -> list[str]:
    p = PurePosixPath(image)
    if fmt == "xmp":
        return [str(p.with_name(p.name + ".xmp")), str(p.with_name(p.stem + ".xmp"))]
    return [str(p.with_name(p.stem + EXTENSIONS[fmt]))]


def _message(exc: Exception, path: str) -> str:
    text = str(exc)
    for prefix in (f"{path}: ", f"{path}:"):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def _read_sidecar(tag_file: TagFile, fmt: str) -> list[str]:
    if fmt == "xmp":
        try:
            data = Path(tag_file.path).read_bytes()
        except OSError as exc:
            raise FormatError(f"{tag_file.path}: cannot read: {exc.strerror or exc}") from exc
        return parse_xmp(data, tag_file.path)
    return read_sidecar(Path(tag_file.path))


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
    `force`. Sidecars are matched to images by stem (`a.txt`, `a.caption`,
    `a.jpg.xmp`, `a.xmp` for `a.jpg`); collection-wide files are looked for
    at the top of the folder.
    """
    if fmt != "auto" and fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r} (one of auto, {', '.join(FORMATS)})")
    summary = ImportSummary()
    root = Path(store.root)
    files = find_tag_files(root)
    known = {} if force else store.source_file_states()
    images = store.images()
    sidecar_formats = SIDECAR_FORMATS if fmt == "auto" else tuple(f for f in (fmt,) if f in SIDECAR_FORMATS)

    jobs: list[tuple[str, TagFile, str]] = []  # (image relpath, tag file, format)
    used: set[str] = set()
    for image in images:
        for sfmt in sidecar_formats:
            for rel in _sidecars_of(image.path, sfmt):
                tag_file = files.get(rel)
                if tag_file is not None:
                    used.add(rel)
                    jobs.append((image.path, tag_file, sfmt))
    by_path = {image.path: image for image in images}

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
        if known.get(tag_file.relpath) == (tag_file.size, tag_file.mtime_ns):
            summary.files_unchanged += 1
            continue
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
    _mark_images(store, by_path, problem_images, {j[0] for j in jobs if j[1].relpath in done_states})

    if not summary.cancelled:
        wanted_file_formats = FILE_FORMATS if fmt == "auto" else tuple(f for f in (fmt,) if f in FILE_FORMATS)
        for tag_file in sorted(files.values(), key=lambda f: f.relpath):
            if "/" in tag_file.relpath or tag_file.relpath in used or not wanted_file_formats:
                continue
            file_fmt = _file_format(Path(tag_file.path), fmt)
            if file_fmt is None:
                continue
            if known.get(tag_file.relpath) == (tag_file.size, tag_file.mtime_ns):
                summary.files_unchanged += 1
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


def _mark_images(store, by_path: dict, problems: dict[str, str], read_ok: Iterable[str]) -> None:
    """Mark images whose sidecar could not be read; clear that mark once it reads again."""
    for rel, message in problems.items():
        image = by_path.get(rel)
        if image is not None and (image.problem is None or image.problem.startswith(TAG_FILE_PROBLEM)):
            if image.problem != message:
                store.set_image_problem(image.id, message)
    for rel in read_ok:
        image = by_path.get(rel)
        if image is not None and rel not in problems and image.problem and image.problem.startswith(TAG_FILE_PROBLEM):
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
