"""Checks shared by the tests of generated collections (the demo, the scenes benchmark)."""

from __future__ import annotations

from pathlib import Path


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every file below `folder`, by relative path: two trees compare byte for byte."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def sidecar(folder: Path, relpath: str) -> list[str]:
    """The visible tags of an image: its `.txt` sidecar, split on commas."""
    text = (folder / relpath).with_suffix(".txt").read_text(encoding="utf-8").strip()
    return [t.strip() for t in text.split(",") if t.strip()]
