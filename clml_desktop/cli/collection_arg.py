"""The prologue every command shares: its FOLDER argument, and how an expected
failure ends it.

Each command used to check the folder, open the store, catch `StoreError`
(and `InferenceError`, `ScanError`), print `clml-desktop CMD: message` and
pick an exit code, each a little differently. Here it is written once: a
command's `run` is wrapped in `command(NAME)`, checks its folder with
`existing_folder` or `opened_collection`, and raises `CommandError` for
anything else it refuses; the codes are `exit_codes`' (ADR 0015).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path

from clml_desktop.cli import exit_codes
from clml_desktop.collection.store import CollectionStore

Run = Callable[..., int]


class CommandError(Exception):
    """Ends a command: `clml-desktop CMD: message` on stderr, exit status `code`."""

    def __init__(self, message: str, code: int = exit_codes.FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _expected() -> tuple[type[Exception], ...]:
    """The failures a command reports in one line rather than a traceback (imported
    when a command runs, so building the parser stays cheap)."""
    from clml_desktop.collection.scan import ScanError
    from clml_desktop.collection.store import StoreError
    from clml_desktop.inference.errors import InferenceError

    return (StoreError, ScanError, InferenceError)


def command(name: str, *also: type[Exception]) -> Callable[[Run], Run]:
    """Wrap `run(args)` of command `name`: a `CommandError` it raises ends it with its
    code; a `StoreError`, `ScanError`, `InferenceError` or one of `also` with code 1.
    Either is printed as `clml-desktop NAME: message` on stderr."""

    def wrap(run: Run) -> Run:
        @functools.wraps(run)
        def wrapped(*args: object, **kwargs: object) -> int:
            try:
                return run(*args, **kwargs)
            except CommandError as exc:
                say(name, exc.message)
                return exc.code
            except Exception as exc:
                if (hint := damaged_hint(exc, args)) is not None:
                    say(name, hint)  # a damaged store: say how to repair it (ADR 0021)
                    return exit_codes.FAILED
                if not isinstance(exc, (*_expected(), *also)):
                    raise
                say(name, str(exc))
                return exit_codes.FAILED

        return wrapped

    return wrap


def damaged_hint(exc: BaseException, args: tuple) -> str | None:
    """For a damaged store (on open, or a SQLite "malformed" error mid-command): the
    message and the command that repairs it (ADR 0021); None for any other error."""
    import shlex
    import sqlite3

    from clml_desktop.collection import store_health
    from clml_desktop.collection.store import DamagedStoreError

    if isinstance(exc, DamagedStoreError):
        return f"{exc}.\n  To repair it, run: clml-desktop repair {shlex.quote(str(exc.root))}"
    if isinstance(exc, sqlite3.DatabaseError) and store_health.is_damage(exc):
        folder = next((getattr(a, "folder", None) for a in args if getattr(a, "folder", None)), None)
        where = shlex.quote(str(folder)) if folder is not None else "FOLDER"
        return (f"the label database is damaged: {store_health.in_words(exc)}.\n"
                f"  To repair it, run: clml-desktop repair {where}")
    return None


def say(name: str, message: str) -> None:
    """`clml-desktop NAME: message` on stderr (a failure or a refusal); a file or tag name
    in it is printed visibly, never as a terminal command (`display.shown`)."""
    from clml_desktop.cli.display import shown

    print(f"clml-desktop {name}: {shown(message, keep_newlines=True)}", file=sys.stderr)


def existing_folder(folder: Path) -> Path:
    """The expanded folder; a usage error (exit 2) when it is not a directory."""
    folder = folder.expanduser()
    if not folder.is_dir():
        raise CommandError(f"{folder}: not a folder", exit_codes.USAGE)
    return folder


def opened_collection(folder: Path, hint: str) -> Path:
    """The expanded folder when it holds a collection, else a usage error naming `hint`.

    Reading commands (review, similar, settings) must not create a store as a
    side effect of a typo in the path, so they check first and say what to run.
    """
    folder = folder.expanduser()
    if not CollectionStore.exists(folder):
        raise CommandError(f"{folder}: not an opened collection ({hint})", exit_codes.USAGE)
    return folder
