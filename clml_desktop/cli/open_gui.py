"""`clml-desktop [FOLDER]`: open the GUI on FOLDER, or on the demo collection.

Without a display (no $DISPLAY / $WAYLAND_DISPLAY and Qt not told to render
offscreen) the GUI cannot start; rather than fail, we say so and run the same
main job headless: demo → train → suggest → export, through the public CLI
(`clml_desktop.app.main`) so this module depends on no command's internals.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from clml_desktop.cli import display

if TYPE_CHECKING:
    from clml_desktop.ui.main_window import MainWindow

_SCREENLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay")


def display_available() -> bool:
    """Whether Qt can show (or render) a window here."""
    if not sys.platform.startswith("linux"):
        return True
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform in _SCREENLESS_PLATFORMS:
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def build_parser() -> argparse.ArgumentParser:
    """`clml-desktop [FOLDER]` (no subcommand); docs/cli.md is generated from it."""
    from clml_desktop.app import COMMANDS, installed_version

    parser = argparse.ArgumentParser(
        prog="clml-desktop",
        description="Open the GUI on FOLDER (default: the demo collection). "
        f"Subcommands: {', '.join(COMMANDS)}.",
    )
    parser.add_argument("folder", nargs="?", type=Path, help="a folder of images")
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    return parser


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def run_from_argv(argv: Sequence[str]) -> int:
    """Entry point used by `clml_desktop.app.main` when no subcommand is given."""
    args = _parse(argv)
    if args.folder is not None and not args.folder.expanduser().is_dir():
        print(f"clml-desktop: {display.shown(args.folder)}: not a folder", file=sys.stderr)
        return 2
    if not display_available():
        print(
            "clml-desktop: no display found ($DISPLAY and $WAYLAND_DISPLAY are unset); "
            "running the main job headless instead: demo → train → suggest → export.\n"
            "  (To see the window, run it in a desktop session; "
            "QT_QPA_PLATFORM=offscreen renders without one.)",
            file=sys.stderr,
        )
        return run_headless(args.folder)
    return run_gui(args.folder)


def run_headless(folder: Path | None) -> int:
    """The main job without a window, printing each step; every progress bar a
    step draws starts with its number (`[2/4] [####----] 45%  training fold 1/2 …`)."""
    from clml_desktop.app import main as cli
    from clml_desktop.cli.demo import default_demo_dir
    from clml_desktop.cli.progress_text import job_step

    def step(number: int, title: str, argv: list[str]) -> int:
        print(f"\n== {number}/4 {title}", flush=True)
        with job_step(f"{number}/4"):
            return cli(argv)

    if folder is None:
        folder = default_demo_dir()
        code = step(1, f"demo collection: {display.shown(folder)}", ["demo", str(folder), "--no-gui"])
        if code:
            return code
    else:
        folder = folder.expanduser().resolve()
        print(f"\n== 1/4 collection: {display.shown(folder)}", flush=True)
    code = step(2, "train a model on the collection's labels", ["train", str(folder)])
    if code:
        return code
    code = step(3, "suggest the missing tags", ["suggest", str(folder), "--limit", "20"])
    if code:
        return code
    out = folder.parent / f"{folder.name}-labels.json"
    code = step(4, f"export labels with suggestions to {out}",
                ["export", str(folder), "--format", "json", "--out", str(out), "--with-suggestions"])
    if code:
        return code
    print(f"\nDone. Labels and suggestions: {display.shown(out)}", flush=True)
    return 0


def run_gui(folder: Path | None) -> int:
    """Show the main window; the folder (or the demo) opens in the background."""
    from PySide6.QtCore import QTimer

    from clml_desktop.ui.app_setup import create_window, ensure_app
    from clml_desktop.ui.first_paint import watch_first_paint

    app = ensure_app(sys.argv[:1])
    window = create_window()
    watch_first_paint(window)
    window.show()
    if folder is not None:
        QTimer.singleShot(0, lambda: window.open_folder(folder.expanduser()))
    else:
        recent = window.context.settings.recent_folders
        if window.context.settings.reopen_last and recent:
            QTimer.singleShot(0, lambda: window.open_folder(recent[0]))
        else:
            QTimer.singleShot(0, lambda: open_demo(window))
    return int(app.exec())


def open_demo(window: MainWindow) -> None:
    """Create the demo in the background (first run), then open it."""
    from clml_desktop.cli.demo import default_demo_dir
    from clml_desktop.demo import make_demo
    from clml_desktop.jobs.worker import Worker

    folder = default_demo_dir()

    def build(_control: object) -> Path:
        return make_demo(folder).folder

    worker = Worker(build, name="Creating the demo collection")
    worker.signals.result.connect(window.open_folder)
    worker.signals.error.connect(window.context.statusMessage.emit)
    window.context.start_job(worker)
