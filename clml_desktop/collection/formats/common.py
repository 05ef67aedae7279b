"""What every tag-file codec shares: one error type for a file that is unusable
as a whole, strict UTF-8 decoding, and resolving a path named inside a file.

Kept apart from the codecs so each codec module holds one format and nothing
else, and so "strict UTF-8, never replacement characters" is decided once.
"""

from __future__ import annotations

import os
from pathlib import Path

from clml_desktop.collection.labels import ImageLabels, Problem
from clml_desktop.collection.paths import PathOutsideCollection, to_relpath


class FormatError(ValueError):
    """A tag file cannot be used at all; the message names the file and the problem."""


def decode_utf8(data: bytes, name: str) -> str:
    """Decode strictly as UTF-8 (a leading BOM is dropped).

    A file in another encoding raises FormatError instead of being read with
    replacement characters: writing such a reading back would destroy the
    person's tags, so the caller leaves the file untouched and reports it.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise FormatError(
            f"{name}: not valid UTF-8 (byte 0x{bad} at offset {exc.start}); "
            "left untouched: re-save it as UTF-8 to import it"
        ) from exc


# The largest tag file read into memory. Reading one costs ~16x its size (a 200 MB
# sidecar took 3.3 GB, issue 14), so 64 MiB is about 1 GB at worst: a csv-tags of
# a million images fits, a real sidecar (a few KB) is thousands of times smaller.
MAX_TAG_FILE_BYTES = 64 * 1024 * 1024


def too_large(name: str, size: int) -> FormatError:
    """The per-file problem for a tag file over MAX_TAG_FILE_BYTES."""
    return FormatError(
        f"{name}: {size / 2**20:,.0f} MiB is larger than a tag file can be "
        f"({MAX_TAG_FILE_BYTES // 2**20} MiB); left untouched and not read"
    )


def read_text(path: Path) -> str:
    """Read a whole tag file as strict UTF-8, with errors that name the file.
    A file over MAX_TAG_FILE_BYTES is refused before it is read."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_TAG_FILE_BYTES:
                raise too_large(str(path), size)
            data = fh.read(MAX_TAG_FILE_BYTES + 1)
    except OSError as exc:
        raise FormatError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_TAG_FILE_BYTES:  # it grew while being read
        raise too_large(str(path), len(data))
    return decode_utf8(data, str(path))


def _literal(root: Path, raw: str) -> Path | None:
    """`root/raw` where stripping `raw` or reading it as a Windows path would change it and that file exists."""
    if not raw.strip() or (raw == raw.strip() and "\\" not in raw) or Path(raw).is_absolute():
        return None
    candidate = Path(root) / raw
    try:
        return candidate if candidate.is_file() else None
    except OSError:
        return None


def resolve_image(root: Path, raw: str, where: str, problems: list[Problem]) -> str | None:
    """The collection-relative path of an image named in a tag file, or None (reported).

    Paths that leave the collection (`../../etc/passwd`, absolute paths
    elsewhere, symlinks out) and paths of files that do not exist are
    reported as problems and skipped; the rest of the file goes on. A
    name is first taken literally, as a POSIX path (` lead.png` keeps its
    space, `back\\slash.png` is one file name); only when no such file exists
    is it stripped and, when it has backslashes and no slash, read as a
    Windows path.
    """
    literal = _literal(root, raw)
    try:
        rel = to_relpath(root, literal if literal is not None else raw)
    except PathOutsideCollection as exc:
        problems.append(Problem(where, f"{exc}; skipped"))
        return None
    if not (Path(root) / rel).is_file():
        problems.append(Problem(where, f"image {raw!r} does not exist in the collection; skipped"))
        return None
    return rel


def unique_tags(tags: list[str]) -> list[str]:
    """Strip each tag, drop empty ones and exact duplicates, keep the first occurrence's order."""
    seen: dict[str, None] = {}
    for tag in tags:
        cleaned = tag.strip()
        if cleaned and cleaned not in seen:
            seen[cleaned] = None
    return list(seen)


def entry(labels: dict[str, ImageLabels], rel: str) -> ImageLabels:
    """The ImageLabels of `rel`, created on first use (files may list an image twice)."""
    found = labels.get(rel)
    if found is None:
        found = labels[rel] = ImageLabels()
    return found


def add_unique(target: list[str], tags: list[str]) -> None:
    """Append the tags not already in `target`, in order."""
    have = set(target)
    for tag in tags:
        if tag not in have:
            target.append(tag)
            have.add(tag)
