"""Collection-relative paths: the one place that decides whether a path from
an untrusted file (CSV, JSON, list file) stays inside the collection."""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath


class PathOutsideCollection(ValueError):
    """A path in a tag file points outside the collection folder."""


def to_relpath(root: Path, candidate: str | Path) -> str:
    """Normalise `candidate` to a POSIX path relative to `root`, refusing escapes.

    Accepts relative paths (either slash style) and absolute paths inside
    `root`. Raises PathOutsideCollection for `..` escapes, absolute paths
    elsewhere, and symlinks that resolve outside the collection.
    """
    text = str(candidate).strip()
    if not text:
        raise PathOutsideCollection("empty path")
    if "\\" in text and "/" not in text:
        text = PureWindowsPath(text).as_posix()
    root_resolved = Path(root).resolve()
    p = Path(text)
    full = p if p.is_absolute() else root_resolved / p
    try:
        rel = full.resolve().relative_to(root_resolved)
    except ValueError as exc:
        raise PathOutsideCollection(f"path leaves the collection: {text}") from exc
    rel_posix = PurePosixPath(rel.as_posix())
    if str(rel_posix) in ("", "."):
        raise PathOutsideCollection(f"path is the collection folder itself: {text}")
    return str(rel_posix)
