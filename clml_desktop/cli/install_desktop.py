"""`clml-desktop install-desktop [--remove]`: put this install in the desktop's menu.

The menu entry, AppStream metainfo, icons and their installer ship inside the
package (`clml_desktop/desktop_integration/`), so a pipx install or the
standalone bundle can add itself, and remove itself, without a checkout
(`make install-desktop` runs the same installer; ADR 0022). The entry starts
the program this command was started as.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from clml_desktop.cli import exit_codes
from clml_desktop.cli.collection_arg import CommandError, command

INTEGRATION = Path(__file__).resolve().parents[1] / "desktop_integration"
INSTALLER = INTEGRATION / "install-desktop.sh"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `install-desktop` with the app's CLI."""
    parser = subparsers.add_parser(
        "install-desktop",
        help="add CLML Desktop to the application menu and to 'Open With' for folders",
        description=(
            "Install the menu entry, AppStream metainfo and icons into your XDG data folder "
            "($XDG_DATA_HOME, default ~/.local/share), starting this program; a manifest "
            "records every file, and --remove deletes exactly those. Linux desktops only."
        ),
    )
    parser.add_argument("--remove", action="store_true",
                        help="remove what an earlier install-desktop put there, nothing else")
    parser.set_defaults(run=run)


def this_program() -> Path:
    """The program a menu entry should start to get this very install: the bundle's
    binary, else the `clml-desktop` we were started as (a pipx link, a venv's script)."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).absolute()
    started_as = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if started_as is not None and started_as.name == "clml-desktop" and started_as.exists():
        return started_as.absolute()
    beside = Path(sys.executable).parent / "clml-desktop"
    if beside.exists():
        return beside.absolute()
    found = shutil.which("clml-desktop")
    if found is None:
        raise CommandError("no clml-desktop program found to put in the menu entry")
    return Path(found).absolute()


@command("install-desktop")
def run(args: argparse.Namespace) -> int:
    """Run the bundled installer with this program as the entry's Exec."""
    if not sys.platform.startswith("linux"):
        raise CommandError("the menu entry is for Linux desktops (XDG); nothing to do here",
                           exit_codes.USAGE)
    bash = shutil.which("bash")
    if bash is None:
        raise CommandError("bash is needed to install the menu entry")
    env = dict(os.environ)
    if not args.remove:
        env["CLML_DESKTOP_BIN"] = str(this_program())
    done = subprocess.run([bash, str(INSTALLER), "uninstall" if args.remove else "install"],
                          env=env, stdin=subprocess.DEVNULL)
    return exit_codes.DONE if done.returncode == 0 else exit_codes.FAILED
