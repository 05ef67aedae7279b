"""The FOLDER argument of commands that need a collection someone already opened.

Reading commands (review, similar) must not create a store as a side effect
of a typo in the path, so they check first and say what to run instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

from clml_desktop.collection.store import CollectionStore


def opened_collection(folder: Path, command: str, hint: str) -> Path | None:
    """The expanded folder when it holds a collection; else print why and return None."""
    folder = folder.expanduser()
    if CollectionStore.exists(folder):
        return folder
    print(
        f"clml-desktop {command}: {folder}: not an opened collection ({hint})",
        file=sys.stderr,
    )
    return None
