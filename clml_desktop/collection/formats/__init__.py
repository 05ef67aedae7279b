"""Tag-file codecs: Qt-free and store-free, reading into and writing from
`dict[relpath, ImageLabels]` (labelme v7's pattern), so each format is tested
on its own and the store only ever sees one merge call.

Two families: *sidecar* formats live next to each image (`txt`, `caption`,
`xmp`) and *file* formats hold a whole collection in one file (`csv-tags`,
`csv-wide`, `csv-long`, `json`, `list`). This module is the registry and the
auto-detection of which files in a folder hold labels.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from clml_desktop.collection.formats import csv_formats, json_format, paper_list
from clml_desktop.collection.formats.common import FormatError
from clml_desktop.collection.labels import ReadResult

SIDECAR_FORMATS = ("txt", "caption", "xmp")
FILE_FORMATS = ("csv-tags", "csv-wide", "csv-long", "json", "list")
FORMATS = SIDECAR_FORMATS + FILE_FORMATS

__all__ = ["FILE_FORMATS", "FORMATS", "SIDECAR_FORMATS", "FormatError", "detect_file_format", "read_file"]


def read_file(
    fmt: str,
    path: Path,
    root: Path,
    *,
    tags_delimiter: str = ",",
    csv_delimiter: str | None = None,
    classes: Path | None = None,
) -> ReadResult:
    """Read one collection-wide tag file of format `fmt` (`auto` detects it)."""
    path = Path(path)
    if fmt == "auto":
        detected = detect_file_format(path)
        if detected is None:
            raise FormatError(f"{path}: cannot tell which tag-file format this is; choose one with --format")
        fmt = detected
    if fmt == "csv-tags":
        return csv_formats.read_csv_tags(path, root, tags_delimiter=tags_delimiter, csv_delimiter=csv_delimiter)
    if fmt == "csv-wide":
        return csv_formats.read_csv_wide(path, root, csv_delimiter=csv_delimiter)
    if fmt == "csv-long":
        return csv_formats.read_csv_long(path, root, csv_delimiter=csv_delimiter)
    if fmt == "json":
        return json_format.read_json(path, root)
    if fmt == "list":
        return paper_list.read_list(path, root, classes)
    raise FormatError(f"{path}: {fmt!r} is not a file format (one of {', '.join(FILE_FORMATS)})")


def _head(path: Path, size: int = 65536) -> str | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read(size)
    except OSError:
        return None
    return data.decode("utf-8-sig", errors="ignore")


def detect_file_format(path: Path) -> str | None:
    """The format of a collection-wide tag file from its name and first bytes, or None.

    A CSV's layout comes from its header; JSON must carry our format marker;
    a `.txt` is a paper list only when a class-names file sits beside it and
    its first line looks like `name.jpg,0 13 52`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    head = _head(path)
    if head is None:
        return None
    if suffix in (".csv", ".tsv"):
        first = head.split("\n", 1)[0]
        delimiter = csv_formats.sniff_delimiter(head[: head.rfind("\n") + 1] or head)
        try:
            header = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
        except csv.Error:
            return None
        return csv_formats.csv_layout(header)
    if suffix == ".json":
        if json_format.FORMAT_ID not in head:
            return None  # cheap: a big foreign JSON (COCO annotations, ...) is never parsed here
        try:
            doc = json.loads(_head(path, 1 << 30) or "")
        except json.JSONDecodeError:
            return None
        except RecursionError:
            return "json"  # it carries our marker: reading it reports the nesting instead of skipping it
        return "json" if isinstance(doc, dict) and doc.get("format") == json_format.FORMAT_ID else None
    if suffix == ".txt" and path.name not in paper_list.CLASS_FILE_NAMES and not path.stem.endswith("_classes"):
        if paper_list.classes_file_for(path) is None:
            return None
        first = next((line for line in head.split("\n") if line.strip()), "")
        name, sep, indices = first.rpartition(",")
        if sep and name.strip() and all(tok.isdigit() for tok in indices.split()):
            return "list"
    return None
