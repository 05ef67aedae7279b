"""`clml-desktop screenshot FOLDER --out FILE.png [--view grid|review|train]`.

Renders the main window offscreen at 1440×900 once the folder is scanned and
the visible thumbnails are decoded, writes the PNG and exits. Used for the
README's pictures; it runs with throw-away settings so it neither reads nor
changes the user's preferences.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from clml_desktop.cli import display, exit_codes
from clml_desktop.cli.collection_arg import CommandError, command, existing_folder

if TYPE_CHECKING:
    from clml_desktop.ui.main_window import MainWindow

VIEWS = ("grid", "review", "train")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `screenshot` with the app's CLI."""
    parser = subparsers.add_parser(
        "screenshot",
        help="render the main window on FOLDER to a PNG (offscreen) and exit",
        description="Open FOLDER offscreen, wait for the scan and the visible thumbnails, save a PNG.",
    )
    parser.add_argument("folder", type=Path, help="the collection folder")
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--view", choices=VIEWS, default="grid", help="which page to show (default grid)")
    parser.add_argument("--size", default="1440x900", help="window size WIDTHxHEIGHT (default 1440x900)")
    parser.add_argument("--theme", choices=("light", "dark"), default="light", help="colour scheme (default light)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for loading (default 120)")
    parser.set_defaults(run=run)


@command("screenshot")
def run(args: argparse.Namespace) -> int:
    folder = existing_folder(args.folder)
    try:
        width, height = (int(v) for v in str(args.size).lower().split("x"))
    except ValueError:
        raise CommandError(f"--size {args.size!r}: expected WIDTHxHEIGHT", exit_codes.USAGE) from None
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QSettings

    from clml_desktop.ui.app_setup import create_window, ensure_app

    ensure_app()
    with tempfile.TemporaryDirectory(prefix="clml-shot-") as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        settings.setValue("theme", args.theme)
        window = create_window(settings)
        try:
            return _shoot(window, folder, args, width, height)
        finally:
            window.close()
            window.deleteLater()


def _shoot(window: MainWindow, folder: Path, args: argparse.Namespace, width: int, height: int) -> int:
    from clml_desktop.ui.app_setup import wait_until

    window.resize(width, height)
    window.show()
    scanned: list[object] = []
    failed: list[str] = []
    window.scanFinished.connect(scanned.append)
    window.openFailed.connect(failed.append)
    window.open_folder(folder)
    if not wait_until(lambda: bool(failed) or (bool(scanned) and not window.is_busy()), args.timeout):
        raise CommandError("timed out waiting for the scan")
    if failed:
        raise CommandError(failed[0])
    model = window.grid_model
    if model.rowCount():
        window.context.set_current_image(model.image_id(0))
    if args.view != "grid" and not window.show_view(args.view):
        raise CommandError(f"the {args.view} view is not available in this build", exit_codes.USAGE)
    # Painting asks for the visible thumbnails; wait for them (and any panel's loads).
    for _ in range(3):
        window.grab()
        if not wait_until(lambda: not window.is_busy(), args.timeout):
            raise CommandError("timed out waiting for thumbnails")
        # Deliver the results the last jobs queued (e.g. the inspector's preview).
        wait_until(lambda: False, 0.1)
    image = window.grab()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(args.out), "PNG"):
        raise CommandError(f"could not write {args.out}")
    print(f"wrote {display.shown(args.out)} ({image.width()}×{image.height()}, view {args.view})")
    return 0
