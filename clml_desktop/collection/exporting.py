"""Write the store's labels out as tag files: any format, the whole collection
or a selection, with or without the model's suggestions, in place (sidecars
next to the images) or into a chosen folder or file.

A person's files are sacred here: every write is atomic, the first overwrite
of a file inside the collection keeps a copy under `<data_dir>/backup/`, a
file whose bytes would not change is not touched, and a sidecar is never
overwritten when it changed since its last import, was never imported, or is
not valid UTF-8 / safe XML (its tags would be lost). Those are reported and
skipped; the rest of the export goes on.

Those in-place rules hold for every file the export writes inside the
collection, whether `--in-place` or `--out` put it there (`_Writer`), and
"inside" is the collection's one path rule (`paths.to_relpath`, ADR 0011's
addendum): a target in `.clml/` or an image is refused outright, a path from
the store that leads out of the folder or through a symlink is reported and
not written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from clml_contract.atomic import atomic_write_bytes, backup_once
from clml_contract.preprocess import IMAGE_EXTENSIONS
from clml_contract.training_set import TrainingRow, render_training_set
from clml_desktop.collection.formats import FORMATS, SIDECAR_FORMATS
from clml_desktop.collection.formats.common import FormatError, decode_utf8
from clml_desktop.collection.formats.csv_formats import (
    render_csv_long,
    render_csv_tags,
    render_csv_wide,
)
from clml_desktop.collection.formats.json_format import render_json
from clml_desktop.collection.formats.paper_list import render_list
from clml_desktop.collection.formats.sidecar import (
    EXTENSIONS,
    WRITE_SEPARATOR,
    render_sidecar,
    sidecar_relpath,
)
from clml_desktop.collection.formats.xmp import check_xmp, render_xmp, xmp_candidates
from clml_desktop.collection.labels import ImageLabels, LabelSource, Problem, Suggestion
from clml_desktop.collection.paths import (
    CollectionFiles,
    PathOutsideCollection,
    is_plain_relpath,
    to_relpath,
)

if TYPE_CHECKING:  # type-only: the store may import this module without a cycle
    from clml_desktop.collection.store import CollectionStore

EXPORT_FORMATS = FORMATS + ("train-jsonl",)
XMP_NAMINGS = ("name.ext.xmp", "name.xmp")  # digiKam/darktable, Lightroom
_SCORED_FORMATS = ("json", "csv-long")  # keep suggestions apart, with scores


@dataclass
class ExportSummary:
    """What an export wrote, left alone, backed up and refused."""

    format: str
    images: int = 0
    files_written: list[Path] = field(default_factory=list)
    files_unchanged: int = 0
    backups: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """"done", "partial" or "failed", for the caller's exit code and message.

        Every problem is a file the export meant to write and did not (a write
        failed, or a sidecar was left untouched to keep a person's tags), so any
        problem makes the export partial; with nothing written or found up to
        date beside it, the export failed. An export with nothing to write is done.
        """
        if not self.problems:
            return "done"
        if self.files_written or self.files_unchanged:
            return "partial"
        return "failed"


def _with_suggestions(
    labels: dict[str, ImageLabels], suggestions: Mapping[str, Sequence[Suggestion]], keep_apart: bool
) -> None:
    """Attach suggestions for unknown pairs: apart with scores, or as plain positives."""
    for rel, found in suggestions.items():
        item = labels.get(rel)
        if item is None:
            continue
        known = set(item.positives) | set(item.negatives)
        fresh = [s for s in found if s.tag not in known]
        if keep_apart:
            item.suggestions = list(fresh)
        else:
            item.positives.extend(dict.fromkeys(s.tag for s in fresh))


class _Writer:
    """Atomic writes with backup-once, skipping identical bytes, recording the summary.

    A file inside the collection is written under the in-place rules: never
    over a file that changed since it was imported, was never imported, or
    would lose tags (`_safe_to_overwrite`); what it writes is recorded, so a
    rescan does not read it back and a later export may overwrite it.
    """

    def __init__(self, store: CollectionStore, summary: ExportSummary) -> None:
        self.store = store
        self.root = Path(store.root).resolve()
        self.backup_root = Path(store.data_dir) / "backup"
        self.summary = summary
        self._known: dict | None = None
        self.written_states: list[tuple[str, int, int]] = []

    def inside(self, target: Path) -> str | None:
        """`target`'s collection path, or None when it lies outside the collection."""
        try:
            return to_relpath(self.root, target)
        except PathOutsideCollection as exc:
            if exc.reason == "outside":
                return None
            raise FormatError(f"{target}: {exc}; choose a file outside .clml/ (nothing written)") from None

    def write(self, target: Path, data: bytes, rel: str | None = None, *, checked: bool = False) -> bool:
        """Write `data` to `target`; with `checked`, the caller applied the path rule and
        `rel` is its collection path (None: outside the collection)."""
        if not checked:
            rel = self.inside(target)
            if rel is not None:
                target = self.root / rel  # its one spelling: a write never goes through a link
        if rel is not None:
            if self._known is None:
                self._known = self.store.source_file_states()
            reason = _safe_to_overwrite(self.store, rel, target, self.summary.format, self._known)
            if reason is not None:
                self.summary.problems.append(Problem(rel, reason))
                return False
        try:
            if target.is_file() and target.read_bytes() == data:
                self.summary.files_unchanged += 1
                return False
            backup = backup_once(target, self.root, self.backup_root)
            if backup is not None:
                self.summary.backups.append(backup)
            atomic_write_bytes(target, data)
            if rel is not None:
                stat = target.stat()
                self.written_states.append((rel, stat.st_size, stat.st_mtime_ns))
        except OSError as exc:
            self.summary.problems.append(Problem(str(target), f"cannot write: {exc.strerror or exc}"))
            return False
        self.summary.files_written.append(target)
        return True

    def record(self) -> None:
        """Remember the (size, mtime) of what was written inside the collection."""
        if self.written_states:
            self.store.set_source_file_states(self.written_states)
            self.written_states = []


def _check_out(store: CollectionStore, fmt: str, out: Path, writer: _Writer) -> str | None:
    """Refuse an `--out` that would hit the store or an image; its collection path when inside.

    "" is the collection folder itself (sidecars there are an in-place export).
    """
    if fmt not in SIDECAR_FORMATS and out.suffix.lower() in IMAGE_EXTENSIONS:
        raise FormatError(f"{out} is named like an image; choose a {fmt} file name (nothing written)")
    try:
        Path(out).resolve().relative_to(Path(store.data_dir).resolve())
    except ValueError:
        pass
    else:
        raise FormatError(f"{out} is inside the collection's store folder; choose another place (nothing written)")
    try:
        rel = to_relpath(writer.root, out)
    except PathOutsideCollection as exc:
        if exc.reason == "root":
            if fmt not in SIDECAR_FORMATS:
                raise FormatError(f"{out} is the collection folder; {fmt} is one file, name it") from None
            return ""
        if exc.reason == "outside":
            return None
        raise FormatError(f"{out}: {exc}; choose another place (nothing written)") from None
    if store.image_by_path(rel) is not None:
        raise FormatError(f"{out} is an image of the collection; choose another place (nothing written)")
    return rel


def export_labels(
    store: CollectionStore,
    fmt: str,
    *,
    out: Path | None = None,
    in_place: bool = False,
    image_ids: Iterable[int] | None = None,
    suggestions: Mapping[str, Sequence[Suggestion]] | None = None,
    separator: str = WRITE_SEPARATOR,
    tags_delimiter: str = ",",
    xmp_naming: str = XMP_NAMINGS[0],
) -> ExportSummary:
    """Export the labels of `image_ids` (all images when None) as `fmt`.

    Sidecar formats go next to the images (`in_place`) or under `out`
    mirroring the collection's folders; the other formats are one file at
    `out` (`list` adds `<stem>_classes.txt` beside it). With `suggestions`
    (relpath -> suggestions above threshold) JSON and csv-long keep them
    apart with scores; the other formats write them as plain tags, which is
    what a caption file for a trainer wants. `xmp_naming` names the XMP
    sidecars this export creates (an existing one is written under its own
    name). Raises FormatError when the request as a whole is impossible
    (unknown format, no target, unknown XMP naming).
    """
    if fmt not in EXPORT_FORMATS:
        raise FormatError(f"unknown export format {fmt!r} (one of {', '.join(EXPORT_FORMATS)})")
    if xmp_naming not in XMP_NAMINGS:
        raise FormatError(f"unknown XMP naming {xmp_naming!r} (one of {', '.join(XMP_NAMINGS)})")
    if in_place and fmt not in SIDECAR_FORMATS:
        raise FormatError(f"--in-place writes sidecars; {fmt} is one file, give --out PATH instead")
    if not in_place and out is None:
        raise FormatError(f"exporting {fmt} needs an output path (or --in-place for sidecars)")
    summary = ExportSummary(format=fmt)
    writer = _Writer(store, summary)
    out_rel = None if in_place else _check_out(store, fmt, Path(out), writer)
    if (in_place or out_rel is not None) and getattr(store, "read_only_reason", None):
        # Sidecars and backups go into the collection folder, which cannot be written.
        raise FormatError(f"cannot export into the collection: {store.read_only_reason}")
    try:
        return _export(store, fmt, out, in_place, out_rel, image_ids, suggestions, separator, tags_delimiter,
                       xmp_naming, summary, writer)
    finally:
        writer.record()


def _export(
    store: CollectionStore, fmt: str, out: Path | None, in_place: bool, out_rel: str | None,
    image_ids: Iterable[int] | None, suggestions: Mapping[str, Sequence[Suggestion]] | None, separator: str,
    tags_delimiter: str, xmp_naming: str, summary: ExportSummary, writer: _Writer,
) -> ExportSummary:
    if fmt == "train-jsonl":
        summary.images = write_training_set(store, Path(out), image_ids, writer=writer)
        return summary
    labels = store.image_labels(image_ids)
    summary.images = len(labels)
    if suggestions:
        _with_suggestions(labels, suggestions, keep_apart=fmt in _SCORED_FORMATS)
    if fmt in SIDECAR_FORMATS:
        if in_place or out_rel == "":
            prefix: str | None = ""
        else:
            prefix = None if out_rel is None else out_rel + "/"
        base = writer.root / prefix if prefix is not None else Path(out)
        _export_sidecars(labels, fmt, base, prefix, separator, writer, xmp_naming)
        return summary
    tag_order = [t.name for t in store.tags()]
    target = Path(out)
    try:
        if fmt == "csv-tags":
            writer.write(target, render_csv_tags(labels, tags_delimiter=tags_delimiter).encode("utf-8"))
        elif fmt == "csv-wide":
            writer.write(target, render_csv_wide(labels, tag_order).encode("utf-8"))
        elif fmt == "csv-long":
            writer.write(target, render_csv_long(labels).encode("utf-8"))
        elif fmt == "json":
            writer.write(target, render_json(labels, tag_order).encode("utf-8"))
        else:
            list_text, classes_text = render_list(labels, tag_order, problems=summary.problems)
            writer.write(target, list_text.encode("utf-8"))
            writer.write(target.with_name(f"{target.stem}_classes.txt"), classes_text.encode("utf-8"))
    except FormatError as exc:
        summary.problems.append(Problem(str(target), f"{exc}; nothing written"))
    return summary


def _safe_to_overwrite(store: CollectionStore, rel: str, target: Path, fmt: str, known: dict) -> str | None:
    """Why an existing in-place sidecar must not be overwritten, or None when it may be."""
    try:
        stat = target.stat()
        data = target.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc}); left untouched"
    try:
        if fmt == "xmp":
            check_xmp(data, rel)
        else:
            decode_utf8(data, rel)
    except FormatError as exc:
        return str(exc).removeprefix(f"{rel}: ")
    state = known.get(rel)
    if state is None:
        return "was never imported, so its tags are not in the collection; scan the folder first (left untouched)"
    if state != (stat.st_size, stat.st_mtime_ns):
        return "changed since it was last imported; scan the folder first (left untouched)"
    return None


def xmp_target(rel: str, root: Path, naming: str = XMP_NAMINGS[0]) -> str:
    """The XMP sidecar to write for image `rel` under `root`.

    An existing sidecar keeps its name, whichever program made it (the
    preferred name first when both exist), so a Lightroom user's tags are not
    split over two files; a new one is named after `naming`.
    """
    with_ext, plain = xmp_candidates(rel)
    preferred, other = (plain, with_ext) if naming == "name.xmp" else (with_ext, plain)
    if not (root / preferred).is_file() and (root / other).is_file():
        return other
    return preferred


def _export_sidecars(
    labels: dict[str, ImageLabels], fmt: str, base: Path, prefix: str | None, separator: str, writer: _Writer,
    xmp_naming: str,
) -> None:
    """Write each image's sidecar under `base`; `prefix` is `base`'s collection path ("" or "sub/")
    when it lies inside the collection, None when it does not."""
    claimed: dict[str, tuple[str, bytes]] = {}
    files = CollectionFiles(writer.root)
    for rel, item in labels.items():
        side_rel = xmp_target(rel, base, xmp_naming) if fmt == "xmp" else sidecar_relpath(rel, EXTENSIONS[fmt])
        if prefix is None:
            if not is_plain_relpath(side_rel):  # a crafted store's `../x.png`
                writer.summary.problems.append(Problem(side_rel, "path leaves the collection; not written"))
                continue
            target, full_rel = base / side_rel, None
        else:
            full_rel = prefix + side_rel
            try:
                target = files.file(full_rel)
            except PathOutsideCollection as exc:
                writer.summary.problems.append(Problem(full_rel, f"{str(exc).removesuffix(': ' + full_rel)}; not written"))
                continue
        if prefix is not None and not item.positives and not target.exists():
            continue
        try:
            if fmt == "xmp":
                existing = target.read_bytes() if target.is_file() else None
                data = render_xmp(item.positives, existing, side_rel)
            else:
                data = render_sidecar(item.positives, separator).encode("utf-8")
        except FormatError as exc:
            writer.summary.problems.append(Problem(side_rel, f"{str(exc).removeprefix(side_rel + ': ')}; not written"))
            continue
        except OSError as exc:
            writer.summary.problems.append(Problem(side_rel, f"cannot read it ({exc.strerror or exc}); not written"))
            continue
        if side_rel in claimed:
            other, other_data = claimed[side_rel]
            if other_data != data:
                writer.summary.problems.append(
                    Problem(side_rel, f"is the sidecar of both {other} and {rel}, whose tags differ; kept {other}'s")
                )
            continue
        claimed[side_rel] = (rel, data)
        writer.write(target, data, full_rel, checked=True)


# Labels a person set: an image carrying one was looked at, so its labels are trusted.
_PERSON_SOURCES = frozenset({LabelSource.MANUAL.value, LabelSource.ACCEPTED.value})


def write_training_set(store: CollectionStore, path: Path, image_ids: Iterable[int] | None = None, *, writer: _Writer | None = None) -> int:
    """Write the trainer's JSONL (ADR 0002) and return how many images it lists.

    Lists every readable image with at least one known label: absolute path,
    image id and version (so out-of-fold scores map back to the file they were
    computed from), positives in order, negatives a person confirmed; the
    first line fixes the tag order (the store's tags that appear in the set).
    """
    labels = store.image_labels(image_ids)
    images = {row.path: row for row in store.images()}
    root = Path(store.root).resolve()
    rows = []
    used: set[str] = set()
    for rel, item in labels.items():
        image = images.get(rel)
        if image is None or image.problem or not (item.positives or item.negatives):
            continue
        confirmed = any(source in _PERSON_SOURCES for source in item.sources.values())
        rows.append(TrainingRow(str(root / rel), item.positives, item.negatives, confirmed,
                                image_id=image.id, version=image.version))
        used.update(item.positives)
        used.update(item.negatives)
    tags = [t.name for t in store.tags() if t.name in used]
    data = render_training_set(rows, tags).encode("utf-8")
    if writer is None:
        atomic_write_bytes(Path(path), data)
    else:
        writer.write(Path(path), data)
    return len(rows)
