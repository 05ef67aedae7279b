"""Collection-relative paths: the one rule for what is inside a collection.

A path is inside the collection when its real path (every symlink on the way
followed) lies under the collection folder's real path, and not in the
collection's own `.clml/` folder. Its collection path is that real path,
relative to the folder, in POSIX form: one spelling per file, so an
in-collection alias (`alias/a.png` with `alias -> real`) names the same image
as `real/a.png`, and a link that leads out of the folder names nothing.

`to_relpath` is that rule, and everything that takes a path from outside the
program goes through it: paths typed on the command line (review, suggest,
similar), paths in tag files (CSV, JSON, list), symlinks the scan meets
(`walk`), paths read from a store, which may come from someone else's folder,
and every file an export writes inside the collection (`collection_file`).
See ADR 0011's addendum.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

DATA_DIR_NAME = ".clml"


class PathOutsideCollection(ValueError):
    """A path points outside the collection folder (or at the folder itself, or into `.clml/`).

    `reason` says which: "outside", "root" or "data".
    """

    def __init__(self, message: str, reason: str = "outside") -> None:
        super().__init__(message)
        self.reason = reason


def to_relpath(root: Path, candidate: str | Path) -> str:
    """Normalise `candidate` to a POSIX path relative to `root`, refusing escapes.

    Accepts relative paths (either slash style) and absolute paths inside
    `root`; symlinks are followed, so the answer is the file's one spelling
    inside the collection. Raises PathOutsideCollection for `..` escapes,
    absolute paths elsewhere, symlinks that resolve outside the collection,
    the folder itself and anything under its `.clml/`.
    """
    text = str(candidate).strip()
    if not text:
        raise PathOutsideCollection("empty path")
    if "\\" in text and "/" not in text:
        text = PureWindowsPath(text).as_posix()
    return _inside(Path(root).resolve(), text)


def _inside(root_resolved: Path, text: str) -> str:
    """The rule itself: `text`'s real path relative to the collection's real path."""
    p = Path(text)
    full = p if p.is_absolute() else root_resolved / p
    try:
        real = full.resolve()
    except (RuntimeError, OSError) as exc:  # a symlink loop
        raise PathOutsideCollection(f"path cannot be resolved ({exc}): {text}", "loop") from exc
    try:
        rel = real.relative_to(root_resolved)
    except ValueError as exc:
        raise PathOutsideCollection(f"path leaves the collection: {text}") from exc
    rel_posix = PurePosixPath(rel.as_posix())
    if str(rel_posix) in ("", "."):
        raise PathOutsideCollection(f"path is the collection folder itself: {text}", "root")
    if rel_posix.parts[0] == DATA_DIR_NAME:
        raise PathOutsideCollection(f"path is inside the collection's {DATA_DIR_NAME}/ folder: {text}", "data")
    return str(rel_posix)


def is_plain_relpath(rel: str) -> bool:
    """True when `rel` is a relative POSIX path without `..`, empty or `.` parts.

    For a path that is joined to a folder outside the collection (an export
    into a chosen folder), where following links is not the question.
    """
    if not rel or rel.startswith("/") or "\x00" in rel:
        return False
    return all(part not in ("", ".", "..") for part in rel.split("/"))


def collection_file(root: Path, rel: str) -> Path:
    """The file to write for collection path `rel` (say, from the store).

    Raises PathOutsideCollection unless `rel` is plain and its own spelling
    under the rule above: a path through a symlinked folder or to a symlinked
    file is refused, even one that stays inside, so a write never lands on a
    file other than the one named.
    """
    return CollectionFiles(root).file(rel)


class CollectionFiles:
    """`collection_file` for many paths: each folder's real path is checked once."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._root_text = str(self.root)
        self._folders: dict[str, bool] = {"": True}

    def file(self, rel: str) -> Path:
        if not is_plain_relpath(rel):
            raise PathOutsideCollection(f"path leaves the collection: {rel}")
        parent = rel.rpartition("/")[0]
        plain = self._folders.get(parent)
        if plain is None:
            expected = os.path.join(self._root_text, parent)
            plain = self._folders[parent] = os.path.realpath(expected) == expected
        target = self.root / rel
        if plain and not os.path.islink(target) and rel.partition("/")[0] != DATA_DIR_NAME:
            return target
        canonical = _inside(self.root, rel)  # says why (outside, .clml/, loop) or where the link goes
        if canonical != rel:
            raise PathOutsideCollection(f"path goes through a link (to {canonical}): {rel}", "link")
        return target
