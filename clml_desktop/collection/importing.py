"""Bring the labels of tag files into the store: on open (every sidecar and
collection-wide tag file in the folder, source `original`) and on an explicit
import of a chosen file (source `imported`).

Import merges and never deletes: a pair the store already has keeps its state
(the store counts contradictions as conflicts). The first open of a folder
reads its tags as one baseline edit that undo passes over (nothing came
before it); later imports are undo steps. Rescans are incremental: a tag
file whose (size, mtime_ns) matches what was recorded at its last import is
not read again, unless an image it belongs to is new since then (`a.png`
appearing next to an imported `a.txt`), and then it is read for that image
only; so reopening a big folder costs one `stat` per file, and none at all
when the scan just listed the folder (`tag_files=scan.tag_files`). A file
that cannot be read is reported and recorded nowhere, so it is tried again
next time; a sidecar that is not UTF-8 also marks its image
(`tag_file_problem`: the image is still scored) until it reads, and export
never overwrites it.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from clml_contract.progress import Control
from clml_desktop.collection.formats import (
    FILE_FORMATS,
    FORMATS,
    SIDECAR_FORMATS,
    detect_file_format,
    read_file,
)
from clml_desktop.collection.formats.common import MAX_TAG_FILE_BYTES, FormatError, too_large
from clml_desktop.collection.formats.sidecar import parse_sidecar
from clml_desktop.collection.formats.xmp import parse_xmp
from clml_desktop.collection.labels import ImageLabels, LabelSource, Problem, ReadResult
from clml_desktop.collection.walk import FoundFile, walk_folder

READING_TAG_FILES = "Reading tag files"

if TYPE_CHECKING:  # type-only: the store may import this module without a cycle
    from clml_desktop.collection.store import CollectionStore

TAG_FILE_PROBLEM = "tag file "  # prefix of an image's tag_file_problem set by an import
_FAMILY_SUFFIXES = {"csv-tags": (".csv", ".tsv"), "csv-wide": (".csv", ".tsv"), "csv-long": (".csv", ".tsv"),
                    "json": (".json",), "list": (".txt",)}
_SIDECAR_FORMAT_OF = {".txt": "txt", ".caption": "caption", ".xmp": "xmp"}
_TICK = 256

TagFile = FoundFile  # a candidate tag file found in the folder


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


def find_tag_files(root: Path) -> dict[str, TagFile]:
    """Every sidecar-like file under `root` and the collection-wide candidates at its top.

    Follows the scan's rules (`walk.walk_folder`); a scan that just ran
    already has them in `ScanReport.tag_files`.
    """
    return walk_folder(root, [], images=False).tag_files


def _stem_key(rel: str) -> str:
    """`dir/name.jpg` -> `dir/name` with string operations (pathlib is too slow for 10^5 files)."""
    dot = rel.rfind(".")
    return rel[:dot] if dot > rel.rfind("/") + 1 else rel


class _Sidecar(NamedTuple):
    """A sidecar of wanted format and the present images it belongs to."""

    file: TagFile
    fmt: str
    images: list[str]


def _match_sidecars(store: CollectionStore, files: Mapping[str, TagFile], formats: tuple[str, ...]) -> list[_Sidecar]:
    """Every sidecar of `formats` that belongs to at least one present image.

    `a.txt`, `a.caption` and Lightroom's `a.xmp` belong to every image with
    stem `a` in that folder; digiKam's `a.jpg.xmp` to `a.jpg` only. Sidecars
    come in the order txt, caption, xmp (then by name).
    """
    buckets: dict[str, list[tuple[TagFile, str]]] = {f: [] for f in SIDECAR_FORMATS}
    for rel, tag_file in files.items():
        dot = rel.rfind(".")
        sfmt = _SIDECAR_FORMAT_OF.get(rel[dot:].lower())
        if sfmt is not None and sfmt in formats:
            buckets[sfmt].append((tag_file, rel[:dot]))
    if not any(buckets.values()):
        return []  # nothing to read: the image list is never loaded
    buckets["xmp"].sort(key=lambda c: c[0].relpath)
    ordered = store.present_paths()
    present = set(ordered)
    stems: dict[str, list[str]] = {}
    for rel in ordered:
        dot = rel.rfind(".")
        stem = rel[:dot] if dot > rel.rfind("/") + 1 else rel  # _stem_key, inlined: 10^5 calls
        found_images = stems.get(stem)
        if found_images is None:
            stems[stem] = [rel]
        else:
            found_images.append(rel)
    found = []
    for sfmt in SIDECAR_FORMATS:
        for tag_file, base in buckets[sfmt]:
            if sfmt == "xmp" and base in present:
                found.append(_Sidecar(tag_file, sfmt, [base]))
            else:
                images = stems.get(base)
                if images:
                    found.append(_Sidecar(tag_file, sfmt, images))
    return found


def _plan_reads(
    sidecars: list[_Sidecar], records: dict[str, tuple[int, int, str | None]], summary: ImportSummary
) -> tuple[list[tuple[str, _Sidecar]], list[tuple]]:
    """(image, sidecar) pairs to read, images in path order, and records to refresh without reading.

    A sidecar is read for all its images when it changed (or was never
    read), for its new images only when it did not, and not at all when
    neither. A record without images (written by an export or an older
    version) learns them without a read.
    """
    jobs: list[tuple[str, _Sidecar]] = []
    refresh: list[tuple] = []
    for sidecar in sidecars:
        f = sidecar.file
        record = records.get(f.relpath)
        if record is None or record[0] != f.size or record[1] != f.mtime_ns:
            if len(sidecar.images) == 1:
                jobs.append((sidecar.images[0], sidecar))
            else:
                jobs.extend((image, sidecar) for image in sidecar.images)
            continue
        if record[2] is None:
            refresh.append((f.relpath, f.size, f.mtime_ns, sidecar.images))
            summary.files_unchanged += 1
            continue
        if record[2] == "\n".join(sidecar.images):
            summary.files_unchanged += 1
            continue
        done = set(record[2].split("\n"))
        new = [image for image in sidecar.images if image not in done]
        if new:
            jobs.extend((image, sidecar) for image in new)
        else:
            summary.files_unchanged += 1  # only images gone missing: nothing to read
    jobs.sort(key=itemgetter(0))  # stable: by image path, then the format order
    return jobs, refresh


def _message(exc: Exception, path: str) -> str:
    text = str(exc)
    for prefix in (f"{path}: ", f"{path}:"):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def _read_bytes(path: str, size: int) -> bytes:
    """The whole file through os.read: no Python file object, which is most of the cost of a
    tiny file. `size` (from the walk) lets one read do; a file that grew since is read on,
    up to MAX_TAG_FILE_BYTES (a larger file is a FormatError, never read whole)."""
    if size > MAX_TAG_FILE_BYTES:
        raise too_large(path, size)
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            data = os.read(fd, size + 1)
            if len(data) > size:
                chunks, total = [data], len(data)
                while total <= MAX_TAG_FILE_BYTES and (chunk := os.read(fd, 1 << 16)):
                    chunks.append(chunk)
                    total += len(chunk)
                if total > MAX_TAG_FILE_BYTES:
                    raise too_large(path, total)
                data = b"".join(chunks)
        finally:
            os.close(fd)
    except OSError as exc:
        raise FormatError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return data


def _read_sidecar(tag_file: TagFile, fmt: str) -> list[str]:
    data = _read_bytes(tag_file.path, max(0, tag_file.size))
    if fmt == "xmp":
        return parse_xmp(data, tag_file.path)
    return parse_sidecar(data, tag_file.path)


def _merge(
    store: CollectionStore,
    labels: dict[str, ImageLabels],
    source: str,
    description: str,
    summary: ImportSummary,
    baseline: bool,
    *,
    fresh: bool = False,
) -> None:
    """Hand `labels` to the store as tags of `source`; `fresh` labels (built here from
    sidecars) carry no per-tag sources or suggestions to drop."""
    if not fresh:
        for item in labels.values():
            item.sources = {}
            item.suggestions = []
    report = store.import_labels(labels, source=source, description=description, baseline=baseline)
    summary.images += report.images
    summary.positives_added += report.positives_added
    summary.negatives_added += report.negatives_added
    summary.conflicts += report.conflicts
    summary.problems.extend(report.problems)
    summary.problems.extend(Problem(p, "no such image in the collection; skipped") for p in report.unknown_paths)
    summary.edit_id = report.edit_id if report.edit_id is not None else summary.edit_id


def import_folder(
    store: CollectionStore,
    fmt: str = "auto",
    *,
    source: str = LabelSource.ORIGINAL,
    force: bool = False,
    control: Control | None = None,
    tag_files: Mapping[str, TagFile] | None = None,
) -> ImportSummary:
    """Import the tag files found in the collection folder (`auto`: every format present).

    Only files new or changed since their last import, or with a new image,
    are read unless `force` (`files_unchanged` counts the others, whatever
    their format). Sidecars are matched to images by stem (`a.txt`,
    `a.caption`, `a.jpg.xmp`, `a.xmp` for `a.jpg`); collection-wide files
    are looked for at the top of the folder. `tag_files` is what a scan that
    just ran listed (`ScanReport.tag_files`); None lists the folder here.
    The first import into a store that holds no labels and no undo history
    is a baseline (see `CollectionStore.import_labels`). `control` hears the
    progress ("Reading tag files") and is asked every few hundred files whether
    to stop; a cancelled import keeps (and records) what it read, like a
    cancelled scan.
    """
    if fmt != "auto" and fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r} (one of auto, {', '.join(FORMATS)})")
    summary = ImportSummary()
    files = dict(tag_files) if tag_files is not None else find_tag_files(Path(store.root))
    baseline = store.is_untouched()
    records = {} if force else store.source_file_records()
    sidecar_formats = SIDECAR_FORMATS if fmt == "auto" else tuple(f for f in (fmt,) if f in SIDECAR_FORMATS)
    sidecars = _match_sidecars(store, files, sidecar_formats)
    jobs, done_states = _plan_reads(sidecars, records, summary)
    used = {sidecar.file.relpath for sidecar in sidecars}

    labels: dict[str, ImageLabels] = {}
    read: dict[str, list[str] | None] = {}  # relpath -> tags, None when it failed
    failed: dict[str, str] = {}  # relpath -> why it could not be read
    problem_images: dict[str, str] = {}
    total = len(jobs)
    for index, (image_rel, sidecar) in enumerate(jobs, 1):
        if index % _TICK == 0:
            if control is not None:
                control.report(index, total, READING_TAG_FILES)
            if control is not None and control.cancelled:
                summary.cancelled = True
                # a file some of whose images are still to do is not recorded as read for them
                left = {later.file.relpath for _image, later in jobs[index - 1 :]}
                done_states = [state for state in done_states if state[0] not in left]
                break
        tag_file = sidecar.file
        if tag_file.relpath not in read:
            try:
                read[tag_file.relpath] = _read_sidecar(tag_file, sidecar.fmt)
                summary.files_read += 1
                if sidecar.fmt not in summary.formats:
                    summary.formats.append(sidecar.fmt)
                done_states.append((tag_file.relpath, tag_file.size, tag_file.mtime_ns, sidecar.images))
            except FormatError as exc:
                read[tag_file.relpath] = None
                failed[tag_file.relpath] = _message(exc, tag_file.path)
                summary.problems.append(Problem(tag_file.relpath, failed[tag_file.relpath]))
        tags = read[tag_file.relpath]
        if tags is None:
            problem_images[image_rel] = f"{TAG_FILE_PROBLEM}{tag_file.relpath}: {failed[tag_file.relpath]}"
            continue
        item = labels.get(image_rel)
        if item is None:
            labels[image_rel] = ImageLabels(positives=tags)  # shared by a file's images, never mutated
        else:
            known = set(item.positives)
            item.positives = item.positives + [t for t in tags if t not in known]
    if labels:
        _merge(
            store, labels, source, f"Import tags of {len(labels):,} images from sidecars", summary, baseline,
            fresh=True,
        )
    _mark_images(store, problem_images, labels.keys(), files, summary.cancelled or fmt != "auto")

    if not summary.cancelled:
        wanted_file_formats = FILE_FORMATS if fmt == "auto" else tuple(f for f in (fmt,) if f in FILE_FORMATS)
        for rel in sorted(files):
            tag_file = files[rel]
            if "/" in rel or rel in used or not wanted_file_formats:
                continue
            if records.get(rel, (None, None))[:2] == (tag_file.size, tag_file.mtime_ns):
                summary.files_unchanged += 1
                continue
            file_fmt = _file_format(Path(tag_file.path), fmt)
            if file_fmt is None:
                continue
            if _import_one(store, Path(tag_file.path), file_fmt, source, summary, rel, baseline):
                done_states.append((rel, tag_file.size, tag_file.mtime_ns))
    if done_states:
        store.set_source_file_states(done_states)
    if control is not None and not summary.cancelled:
        control.report(total, total, READING_TAG_FILES)
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


def _mark_images(
    store: CollectionStore, problems: dict[str, str], read_ok: Collection[str], files: Mapping[str, TagFile], partial: bool
) -> None:
    """Mark images whose sidecar could not be read (`tag_file_problem`); clear marks that no longer hold.

    A mark is cleared when the image's sidecars read this time, or (after a
    full import) when the file it names is gone. The image itself stays
    usable either way: it is still scored and exported.
    """
    current = store.tag_file_problems() if (problems or read_ok or not partial) else {}
    if not current and not problems:
        return
    changes: dict[str, str | None] = {}
    for rel, message in problems.items():
        if current.get(rel) != message:
            changes[rel] = message
    for rel, message in current.items():
        if rel in problems:
            continue
        named = message[len(TAG_FILE_PROBLEM):] if message.startswith(TAG_FILE_PROBLEM) else ""
        gone = not partial and not any(named.startswith(f"{f}: ") for f in _sidecar_names(rel) if f in files)
        if rel in read_ok or gone:
            changes[rel] = None
    if changes:
        store.set_tag_file_problems(changes)


def _sidecar_names(image_rel: str) -> tuple[str, ...]:
    """The tag files that can belong to `image_rel`: stem.txt/.caption/.xmp and name.ext.xmp."""
    stem = _stem_key(image_rel)
    return (f"{stem}.txt", f"{stem}.caption", f"{stem}.xmp", f"{image_rel}.xmp")


def _import_one(
    store: CollectionStore, path: Path, fmt: str, source: str, summary: ImportSummary, name: str, baseline: bool
) -> bool:
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
        _merge(
            store, result.labels, source, f"Import tags of {len(result.labels):,} images from {path.name}",
            summary, baseline,
        )
    return True


def import_file(
    store: CollectionStore,
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
        _merge(
            store, result.labels, source, f"Import tags of {len(result.labels):,} images from {path.name}",
            summary, False,
        )
    return summary
