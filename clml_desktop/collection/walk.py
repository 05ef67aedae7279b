"""One pass over a collection folder that finds its images and its tag files.

Opening a folder needs both, and listing a big tree is a good share of the
cost of opening it, so the scan lists the tree once and hands the tag files
it saw to the import (`ScanReport.tag_files`). The rules are the scan's:
hidden entries and `.clml/` are skipped; symlinks are never followed: one
that leads outside the collection is reported and skipped, one that stays
inside is skipped silently, since the walk lists its target under its own
name (`paths.to_relpath`, ADR 0011's addendum), so symlink loops end and
every file has one spelling; each real folder is visited once (tracked by
device and inode, for bind mounts); a file that vanishes
while listed is skipped; a name that is not UTF-8 is reported, since the
store could not hold it. Sidecar suffixes count at any depth, the
collection-wide ones (CSV, JSON, list `.txt`) at the top only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from clml_contract.preprocess import IMAGE_EXTENSIONS
from clml_contract.progress import Control
from clml_desktop.collection.labels import Problem
from clml_desktop.collection.paths import PathOutsideCollection, to_relpath

SIDECAR_SUFFIXES = (".txt", ".caption", ".xmp")
TOP_LEVEL_SUFFIXES = (".csv", ".tsv", ".json", ".txt")
_TICK = 256  # entries between cancel checks


class FoundFile(NamedTuple):
    """A file the walk found: collection-relative POSIX path, full path, size, mtime.

    A named tuple, not a dataclass: a walk makes one per file, and a frozen
    dataclass costs several times as much to build.
    """

    relpath: str
    path: str
    size: int
    mtime_ns: int


@dataclass
class FolderWalk:
    """What one walk found; `complete` is False when it was cancelled part way."""

    images: list[FoundFile] = field(default_factory=list)
    tag_files: dict[str, FoundFile] = field(default_factory=dict)
    complete: bool = True


def walk_folder(
    root: Path | str,
    problems: list[Problem],
    control: Control | None = None,
    *,
    images: bool = True,
    tag_files: bool = True,
) -> FolderWalk:
    """List every image and tag-file candidate under `root` with one `stat` each.

    Problems (an unlistable folder, a name that is not UTF-8, a file that
    cannot be stat'ed) are appended to `problems`; the walk goes on.
    """
    found = FolderWalk()
    image_suffixes = IMAGE_EXTENSIONS if images else frozenset()
    deep = frozenset(SIDECAR_SUFFIXES) if tag_files else frozenset()
    top = frozenset(SIDECAR_SUFFIXES + TOP_LEVEL_SUFFIXES) if tag_files else frozenset()
    add_image, found_tags = found.images.append, found.tag_files
    root_stat = os.stat(root)
    visited = {(root_stat.st_dev, root_stat.st_ino)}
    stack: list[tuple[str, str]] = [(str(root), "")]
    seen = 0
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = os.scandir(folder)
        except OSError as exc:
            problems.append(Problem(prefix or ".", f"cannot list the folder: {exc.strerror or exc}"))
            continue
        wanted_tags = deep if prefix else top
        with entries:
            for entry in entries:
                name = entry.name
                if name[0] == ".":
                    continue
                if control is not None:
                    seen += 1
                    if seen % _TICK == 0 and control.cancelled:
                        found.complete = False
                        return found
                try:
                    if entry.is_symlink():
                        _link(entry, prefix, root, image_suffixes, wanted_tags, problems)
                        continue
                    if entry.is_dir():
                        st = entry.stat()
                        key = (st.st_dev, st.st_ino)
                        if key not in visited:
                            visited.add(key)
                            stack.append((entry.path, f"{prefix}{name}/"))
                        continue
                    dot = name.rfind(".")
                    if dot <= 0:
                        continue
                    suffix = name[dot:].lower()
                    is_image = suffix in image_suffixes
                    if not (is_image or suffix in wanted_tags) or not entry.is_file():
                        continue
                    rel = prefix + name
                    try:
                        rel.encode("utf-8")
                    except UnicodeEncodeError:
                        problems.append(
                            Problem(os.fsdecode(entry.path), "file name is not valid UTF-8; skipped")
                        )
                        continue
                    st = entry.stat()
                    item = FoundFile(rel, entry.path, st.st_size, st.st_mtime_ns)
                    if is_image:
                        add_image(item)
                    else:
                        found_tags[rel] = item
                except FileNotFoundError:
                    continue  # vanished, or a dangling symlink: nothing to read
                except OSError as exc:
                    problems.append(Problem(f"{prefix}{name}", f"cannot stat: {exc.strerror or exc}"))
    return found


def _link(
    entry: os.DirEntry, prefix: str, root: Path | str, image_suffixes: frozenset, wanted_tags: frozenset,
    problems: list[Problem],
) -> None:
    """A symlink the walk met: report it when it leads out of the collection and the walk wanted it.

    A link is never listed: one inside the collection names a file or folder
    the walk lists under its own name; one outside is not the collection's.
    """
    name = entry.name
    dot = name.rfind(".")
    suffix = name[dot:].lower() if dot > 0 else ""
    try:
        wanted = suffix in image_suffixes or suffix in wanted_tags or entry.is_dir()
    except OSError:
        wanted = False
    if not wanted:
        return
    try:
        to_relpath(root, entry.path)
    except PathOutsideCollection as exc:
        if exc.reason == "outside":
            problems.append(Problem(f"{prefix}{name}", "symlink leads outside the collection; skipped"))
    except OSError:
        return
