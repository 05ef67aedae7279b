"""`.txt` / `.caption` sidecars (kohya, taggui): one file per image, same stem.

Read: split on `,` (and on line breaks, which no tag can hold), strip, drop
empty tags and exact duplicates, keep the order: the first tag is often a
trigger word. Brackets and `(tag:1.2)` weights are text like any other; we
never interpret them. Write: tags joined with `, `, no trailing newline. A
tag that contains the separator could not be read back as one tag, so the
file is refused with a message instead of being written wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from clml_desktop.collection.formats.common import FormatError, decode_utf8, unique_tags

SEPARATOR = ","
WRITE_SEPARATOR = ", "
EXTENSIONS = {"txt": ".txt", "caption": ".caption"}
_SPLIT = re.compile(r"[,\r\n]")


def parse_sidecar(data: bytes, name: str) -> list[str]:
    """The tags of a sidecar's bytes, in order; FormatError when it is not UTF-8."""
    return unique_tags(_SPLIT.split(decode_utf8(data, name)))


def read_sidecar(path: str | Path) -> list[str]:
    """Read one sidecar file strictly (see `parse_sidecar`)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise FormatError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return parse_sidecar(data, str(path))


def render_sidecar(tags: Sequence[str], separator: str = WRITE_SEPARATOR) -> str:
    """The text of a sidecar holding `tags` in order; refuses tags that cannot round-trip."""
    if SEPARATOR not in separator:
        raise FormatError(f"sidecar separator {separator!r} must contain {SEPARATOR!r}")
    for tag in tags:
        if SEPARATOR in tag:
            raise FormatError(
                f"tag {tag!r} contains the separator {SEPARATOR!r}; a sidecar cannot hold it "
                "(rename the tag, or export to JSON or CSV)"
            )
        if "\n" in tag or "\r" in tag:
            raise FormatError(f"tag {tag!r} contains a line break; a sidecar cannot hold it")
    return separator.join(unique_tags(list(tags)))


def sidecar_relpath(image_relpath: str, extension: str) -> str:
    """`dir/name.jpg` -> `dir/name.txt`: the sidecar of an image (same stem)."""
    p = PurePosixPath(image_relpath)
    return str(p.with_name(p.stem + extension))
