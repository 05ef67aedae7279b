"""The three CSV layouts people keep labels in.

- `csv-tags`: one row per image, a tags cell split on a configurable
  delimiter (`path,tags[,negatives]`), like many dataset exports.
- `csv-wide`: one column per tag holding 1 / 0 / blank = positive /
  confirmed negative / unknown (CheXpert style; its -1 "uncertain" is read
  as unknown). Columns holding anything else are metadata (Age, Sex, ...)
  and are skipped with one message each.
- `csv-long`: one row per (image, tag) with state, score and source (Open
  Images style); on export suggestions are rows with state `suggested`.

Paths are relative to the collection; a path that leaves it or names no
file is reported and skipped, and the rest of the file is read. A missing
required column makes the whole file unusable (FormatError naming it).

Formula injection (OWASP "CSV injection"): a written cell that starts with
`=`, `+`, `-`, `@`, a tab or a carriage return gets a single quote in
front, so a spreadsheet shows it as text instead of running it; a cell that
really starts with a quote gets one more, so that reading strips exactly
one quote from a cell that starts with a quote followed by one of those
characters or by another quote (`'=x` -> `=x`, `''q` -> `'q`), and a
quote followed by anything else (`'80s`, typed by a person) is kept.

The delimiter (`,`, `;` or tab, unless given) is the one under which the
first lines agree on their number of columns, so tag names holding `;` do
not turn a comma file into a semicolon one.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from clml_desktop.collection.formats.common import (
    FormatError,
    add_unique,
    entry,
    read_text,
    resolve_image,
    unique_tags,
)
from clml_desktop.collection.labels import ImageLabels, Problem, ReadResult, Suggestion

PATH_COLUMNS = ("path", "image", "file", "filename", "file_name", "image_path", "img")
_POSITIVE = {"1", "1.0", "positive", "true", "yes"}
_NEGATIVE = {"0", "0.0", "negative", "false", "no"}
_UNKNOWN = {"", "-1", "-1.0", "unknown"}
_SUGGESTED = {"suggested", "suggestion"}
LONG_COLUMNS = ("path", "tag", "state", "score", "source")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_QUOTED_START = (*FORMULA_START, "'")
_SNIFF_ROWS = 50


def protect_cell(cell: str) -> str:
    """A cell a spreadsheet shows as text: a quote in front of a formula start (or of a quote)."""
    return "'" + cell if cell.startswith(_QUOTED_START) else cell


def unprotect_cell(cell: str) -> str:
    """Undo `protect_cell`: drop one leading quote only where it protects something."""
    return cell[1:] if cell.startswith("'") and cell[1:2] and cell[1:].startswith(_QUOTED_START) else cell


def sniff_delimiter(text: str) -> str:
    """`,`, `;` or tab: the one whose first rows agree on a column count (more columns wins a tie)."""
    first = text.split("\n", 1)[0]
    best, best_key = ",", None
    for delimiter in ",;\t":
        try:
            rows = [r for r in itertools.islice(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter),
                                                 _SNIFF_ROWS) if r]
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        agree = sum(len(r) == width for r in rows[1:])
        key = (width > 1, agree, width, first.count(delimiter))
        if best_key is None or key > best_key:
            best, best_key = delimiter, key
    return best


def _rows(path: Path, csv_delimiter: str | None) -> tuple[list[str], list[list[str]]]:
    text = read_text(path)
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise FormatError(f"{path}: empty file or empty header line")
    delimiter = csv_delimiter or sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [[unprotect_cell(c) for c in row] for row in reader]
    except csv.Error as exc:
        raise FormatError(f"{path}: not a readable CSV file ({exc})") from exc
    header = [h.strip() for h in rows[0]]
    return header, rows[1:]


def _column(header: list[str], names: Sequence[str]) -> int | None:
    lowered = [h.casefold() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _require(path: Path, header: list[str], needed: Mapping[str, Sequence[str]]) -> dict[str, int]:
    found = {key: _column(header, names) for key, names in needed.items()}
    missing = [key for key, index in found.items() if index is None]
    if missing:
        raise FormatError(
            f"{path}: missing column(s) {', '.join(repr(m) for m in missing)} "
            f"(columns found: {', '.join(repr(h) for h in header) or 'none'})"
        )
    return {key: int(index) for key, index in found.items() if index is not None}


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def _path_cell(row: list[str], index: int | None) -> str:
    """A path as written (a name may start or end with a space); `resolve_image` tries it stripped too."""
    return row[index] if index is not None and index < len(row) else ""


def _split(cell: str, delimiter: str) -> list[str]:
    return unique_tags(cell.split(delimiter)) if cell else []


def read_csv_tags(
    path: Path, root: Path, *, tags_delimiter: str = ",", csv_delimiter: str | None = None
) -> ReadResult:
    """Rows of `path,tags[,negatives]`; the tags cell is split on `tags_delimiter`."""
    header, rows = _rows(path, csv_delimiter)
    cols = _require(path, header, {"path": PATH_COLUMNS, "tags": ("tags",)})
    negatives_col = _column(header, ("negatives",))
    result = ReadResult()
    for lineno, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        where = f"{path}:{lineno}"
        rel = resolve_image(root, _path_cell(row, cols["path"]), where, result.problems)
        if rel is None:
            continue
        item = entry(result.labels, rel)
        add_unique(item.positives, _split(_cell(row, cols["tags"]), tags_delimiter))
        add_unique(item.negatives, _split(_cell(row, negatives_col), tags_delimiter))
    return result


def _join(tags: Sequence[str], delimiter: str, rel: str) -> str:
    for tag in tags:
        if delimiter in tag:
            raise FormatError(
                f"{rel}: tag {tag!r} contains the tags delimiter {delimiter!r}; "
                "choose another delimiter or rename the tag"
            )
    return (delimiter if delimiter.isspace() else delimiter + " ").join(tags)


def _write(rows: list[list[str]]) -> str:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows([protect_cell(c) for c in row] for row in rows)
    return out.getvalue()


def render_csv_tags(labels: Mapping[str, ImageLabels], *, tags_delimiter: str = ",") -> str:
    """`path,tags,negatives` rows; suggestions the caller merged into positives are plain tags."""
    rows = [["path", "tags", "negatives"]]
    for rel, item in labels.items():
        rows.append([rel, _join(item.positives, tags_delimiter, rel), _join(item.negatives, tags_delimiter, rel)])
    return _write(rows)


def _wide_value(value: str) -> str | None:
    v = value.strip().casefold()
    if v in _POSITIVE:
        return "positive"
    if v in _NEGATIVE:
        return "negative"
    if v in _UNKNOWN:
        return ""
    return None


def read_csv_wide(path: Path, root: Path, *, csv_delimiter: str | None = None) -> ReadResult:
    """A path column (by name, else the first) and one 1/0/blank column per tag."""
    header, rows = _rows(path, csv_delimiter)
    path_col = _column(header, PATH_COLUMNS)
    path_col = 0 if path_col is None else path_col
    result = ReadResult()
    tag_cols = []
    for index, name in enumerate(header):
        if index == path_col:
            continue
        if not name:
            result.problems.append(Problem(str(path), f"column {index + 1} has no name; skipped"))
            continue
        bad = next((r[index] for r in rows if index < len(r) and _wide_value(r[index]) is None), None)
        if bad is not None:
            result.problems.append(
                Problem(str(path), f"column {name!r} holds {bad!r}, not 1/0/blank: read as metadata, not a tag")
            )
            continue
        tag_cols.append((index, name))
    if not tag_cols:
        raise FormatError(f"{path}: no tag columns (1/0/blank) next to the path column {header[path_col]!r}")
    result.tag_order = [name for _, name in tag_cols]
    for lineno, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        rel = resolve_image(root, _path_cell(row, path_col), f"{path}:{lineno}", result.problems)
        if rel is None:
            continue
        item = entry(result.labels, rel)
        for index, name in tag_cols:
            state = _wide_value(_cell(row, index))
            if state == "positive":
                add_unique(item.positives, [name])
            elif state == "negative" and name not in item.positives:
                add_unique(item.negatives, [name])
    return result


def render_csv_wide(labels: Mapping[str, ImageLabels], tag_order: Sequence[str] = ()) -> str:
    """`path` plus one column per tag (`tag_order` first, then others as met): 1 / 0 / blank."""
    tags = list(dict.fromkeys(tag_order))
    seen = set(tags)
    for item in labels.values():
        for tag in (*item.positives, *item.negatives):
            if tag not in seen:
                seen.add(tag)
                tags.append(tag)
    rows = [["path", *tags]]
    for rel, item in labels.items():
        pos, neg = set(item.positives), set(item.negatives)
        rows.append([rel, *("1" if t in pos else "0" if t in neg else "" for t in tags)])
    return _write(rows)


def read_csv_long(path: Path, root: Path, *, csv_delimiter: str | None = None) -> ReadResult:
    """`path,tag,state[,score,source]` rows; `suggested` rows become suggestions."""
    header, rows = _rows(path, csv_delimiter)
    cols = _require(path, header, {"path": PATH_COLUMNS, "tag": ("tag", "label"), "state": ("state",)})
    score_col = _column(header, ("score", "confidence"))
    source_col = _column(header, ("source",))
    result = ReadResult()
    for lineno, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        where = f"{path}:{lineno}"
        tag = _cell(row, cols["tag"])
        state = _cell(row, cols["state"]).casefold()
        if not tag:
            result.problems.append(Problem(where, "empty tag; row skipped"))
            continue
        if state not in _POSITIVE | _NEGATIVE | _UNKNOWN | _SUGGESTED:
            result.problems.append(
                Problem(where, f"state {state!r} is not positive/negative/unknown/suggested; row skipped")
            )
            continue
        rel = resolve_image(root, _path_cell(row, cols["path"]), where, result.problems)
        if rel is None or state in _UNKNOWN:
            continue
        item = entry(result.labels, rel)
        source = _cell(row, source_col)
        if state in _SUGGESTED:
            try:
                score = float(_cell(row, score_col))
                if not math.isfinite(score):
                    raise ValueError
            except ValueError:
                result.problems.append(Problem(where, "a suggestion needs a numeric score; row skipped"))
                continue
            item.suggestions.append(Suggestion(tag=tag, score=score, model=source or None))
            continue
        if state in _POSITIVE:
            add_unique(item.positives, [tag])
            if tag in item.negatives:
                item.negatives.remove(tag)
                result.problems.append(Problem(where, f"tag {tag!r} is both positive and negative; kept positive"))
        elif tag not in item.positives:
            add_unique(item.negatives, [tag])
        if source:
            item.sources[tag] = source
    return result


def render_csv_long(labels: Mapping[str, ImageLabels]) -> str:
    """One row per known pair (positives in order, then negatives), then suggestions with scores."""
    rows = [list(LONG_COLUMNS)]
    for rel, item in labels.items():
        for tag in item.positives:
            rows.append([rel, tag, "positive", "", item.sources.get(tag, "")])
        for tag in item.negatives:
            rows.append([rel, tag, "negative", "", item.sources.get(tag, "")])
        for s in item.suggestions:
            rows.append([rel, s.tag, "suggested", repr(float(s.score)), s.model or ""])
    return _write(rows)


def csv_layout(header: Sequence[str]) -> str | None:
    """Which CSV layout a header line looks like (for auto-detection), None if none."""
    lowered = [h.strip().casefold() for h in header]
    has_path = any(name in lowered for name in PATH_COLUMNS)
    if not has_path:
        return None
    if "tag" in lowered and "state" in lowered:
        return "csv-long"
    if "tags" in lowered:
        return "csv-tags"
    return "csv-wide" if len(lowered) > 1 else None
