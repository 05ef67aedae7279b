"""Entry point: `clml-desktop [FOLDER]` opens the GUI, subcommands run headless.

Each subcommand lives in `clml_desktop/cli/<name>.py` with `add_parser(sub)`
and `run(args) -> int`; this module only dispatches, so importing it stays
cheap (no Qt, no onnxruntime) until a command needs them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS = (
    "demo",
    "scan",
    "stats",
    "export",
    "train",
    "suggest",
    "settings",
    "review",
    "similar",
    "screenshot",
    "repair",
    "trainer",
    "install-desktop",
)


def installed_version() -> str:
    """The version of the installed package (pyproject.toml's), for `--version` and bug reports."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("clml-desktop")
    except PackageNotFoundError:
        return "unknown (not installed; run `make setup`)"
    from clml_desktop.workflow.trainer_env import this_interpreter_can_train

    if this_interpreter_can_train():
        return number
    return f"{number} (without PyTorch: trains with another Python)"  # argparse wraps past 80


def build_parser() -> argparse.ArgumentParser:
    """The full CLI: one sub-parser per module in clml_desktop/cli."""
    parser = argparse.ArgumentParser(
        prog="clml-desktop",
        description="Suggest the missing tags of an image collection, review them, retrain, export.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module_name = f"clml_desktop.cli.{name.replace('-', '_')}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a subcommand, or open the GUI on FOLDER (the demo when none is given)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and not argv[0].startswith("-")):
        from clml_desktop.cli import open_gui

        return open_gui.run_from_argv(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
