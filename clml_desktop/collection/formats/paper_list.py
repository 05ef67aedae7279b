"""The list format of the CLML paper's release: `name.jpg,0 13 52` lines (class
indices separated by spaces) plus a class-names file with one name a line
(line i is class i), so the authors' partial-label lists import and export.

The image name is split from its indices at the *last* comma (a file name
may hold commas, indices never do); `name.jpg, 0 13 52` with a space is read
too. The format has no negatives: only positives travel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from clml_desktop.collection.formats.common import (
    FormatError,
    add_unique,
    entry,
    read_text,
    resolve_image,
)
from clml_desktop.collection.labels import ImageLabels, Problem, ReadResult

CLASS_FILE_NAMES = ("classes.txt", "class_names.txt", "labels.txt")


def classes_file_for(list_path: Path) -> Path | None:
    """The class-names file next to a list: `<stem>_classes.txt`, then the usual names."""
    list_path = Path(list_path)
    for name in (f"{list_path.stem}_classes.txt", *CLASS_FILE_NAMES):
        candidate = list_path.with_name(name)
        if candidate.is_file() and candidate != list_path:
            return candidate
    return None


def read_class_names(path: Path) -> list[str]:
    """One class name a line; trailing blank lines ignored, a blank line inside refused."""
    lines = read_text(path).split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    names = [line.strip() for line in lines]
    for index, name in enumerate(names):
        if not name:
            raise FormatError(f"{path}:{index + 1}: empty class name (line {index + 1} is class {index})")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise FormatError(f"{path}: class name {dup!r} appears twice")
    return names


def read_list(path: Path, root: Path, classes: Path | None = None) -> ReadResult:
    """Read a list file with its class names (found next to it when not given)."""
    classes = classes or classes_file_for(path)
    if classes is None:
        raise FormatError(
            f"{path}: no class-names file found (looked for {Path(path).stem}_classes.txt, "
            f"{', '.join(CLASS_FILE_NAMES)}); pass one explicitly"
        )
    names = read_class_names(classes)
    result = ReadResult(tag_order=list(names))
    for lineno, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        raw, sep, indices = line.rstrip("\r").rpartition(",")
        if not sep:
            result.problems.append(Problem(where, "expected 'name.jpg,0 13 52'; line skipped"))
            continue
        try:
            numbers = [int(tok) for tok in indices.split()]
        except ValueError:
            result.problems.append(Problem(where, f"class indices {indices.strip()!r} are not integers; line skipped"))
            continue
        bad = [n for n in numbers if not 0 <= n < len(names)]
        if bad:
            result.problems.append(
                Problem(where, f"class index {bad[0]} is not in {classes} ({len(names)} classes); line skipped")
            )
            continue
        rel = resolve_image(root, raw, where, result.problems)
        if rel is None:
            continue
        add_unique(entry(result.labels, rel).positives, [names[n] for n in numbers])
    return result


def render_list(
    labels: Mapping[str, ImageLabels], tag_order: Sequence[str] = (), *, problems: list[Problem] | None = None
) -> tuple[str, str]:
    """(list text, class-names text); classes in `tag_order`, then others as met.

    An image whose path holds a line break cannot be a line of the list: with
    `problems` it is reported there and left out (the rest is written),
    without it the whole render is refused (FormatError).
    """
    bad = [rel for rel in labels if "\n" in rel or "\r" in rel]
    if bad and problems is None:
        raise FormatError(f"{bad[0]!r}: a path with a line break cannot be written to a list file")
    for rel in bad:
        problems.append(Problem(rel, "a path with a line break cannot be written to a list file; left out"))
    labels = {rel: item for rel, item in labels.items() if rel not in bad}
    names = list(dict.fromkeys(tag_order))
    seen = set(names)
    for item in labels.values():
        for tag in item.positives:
            if tag not in seen:
                seen.add(tag)
                names.append(tag)
    index = {name: i for i, name in enumerate(names)}
    for name in names:
        if "\n" in name or "\r" in name:
            raise FormatError(f"class name {name!r} holds a line break; the class-names file cannot hold it")
    lines = []
    for rel, item in labels.items():
        lines.append(f"{rel}," + " ".join(str(index[t]) for t in item.positives))
    return "\n".join(lines) + "\n", "\n".join(names) + "\n"
