"""`clml-desktop trainer [--python PATH | --python default]`: which Python trains, and can it.

A review-only install and the standalone bundle have no PyTorch; they train
with another Python (a "trainer environment", ADR 0024). This command shows
the one the next training run would use, after starting it and importing
torch there, so "is my GPU used?" and "why does Train fail?" have one answer.
With --python it checks the given Python first and saves it only when it can
train.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil

from clml_desktop import trainer_places
from clml_desktop.cli import display, exit_codes
from clml_desktop.cli.collection_arg import CommandError, command
from clml_desktop.workflow import trainer_env

DEFAULT_WORD = "default"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `trainer` with the app's CLI."""
    parser = subparsers.add_parser(
        "trainer",
        help="show (or choose) the Python that trains: its PyTorch, and CUDA or CPU",
        description=(
            "Find the Python the next training run uses, start it, and print its PyTorch "
            "version and the CUDA devices it sees. It is, in this order: "
            f"${trainer_places.PYTHON_ENV}; the one saved with --python; this install's own "
            f"Python when it has PyTorch; the first that can train of "
            f"{trainer_places.default_trainer_venv()}, a pipx install of clml-desktop and python3 "
            "on PATH. Exit status 0 when it can train, 1 when not."
        ),
    )
    parser.add_argument(
        "--python",
        metavar="PATH",
        help=f"check this Python and, when it can train, save it as the trainer's; "
        f"'{DEFAULT_WORD}' forgets the saved one and goes back to finding one",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(run=run)


@command("trainer", trainer_env.TrainerMissing)
def run(args: argparse.Namespace) -> int:
    """Save the chosen Python (when asked and it can train), then report the trainer."""
    if args.python is not None:
        choose(args.python, quiet=args.json)
    try:
        env = trainer_env.find_trainer(check_self=True)
    except trainer_env.TrainerMissing as exc:
        if not args.json:
            raise  # said on stderr in one message, exit 1 (the command's wrapper)
        print(json.dumps({"ok": False, "problem": str(exc)}, ensure_ascii=True))
        return exit_codes.FAILED
    if args.json:
        print(json.dumps(env.as_dict(), ensure_ascii=True))
    else:
        print(f"Training runs with {display.shown(env.python)} ({env.source})")
        names = ", ".join(f"{name} {env.versions[name]}" for name in trainer_env.REQUIRED)
        print(f"  Python {env.python_version}; {names}")
        if env.cuda_devices:
            print(f"  CUDA: {', '.join(env.cuda_devices)} (train --device auto uses the GPU)")
        else:
            print("  CUDA: no device visible to PyTorch, so training runs on the CPU "
                  "(docs/gpu.md says what a GPU needs)")
    return exit_codes.DONE


def choose(python: str, *, quiet: bool = False) -> None:
    """Save `python` after it passed the check, or forget the saved one ('default')."""
    if python.strip().lower() == DEFAULT_WORD:
        trainer_places.save_python(None)
        if not quiet:
            print("Forgot the saved trainer Python; the next run finds one.")
        return
    python = os.path.abspath(shutil.which(python) or python)
    env = trainer_env.check(python, trainer_env.SOURCE_SAVED)
    if not env.ok:
        raise CommandError(
            f"not saved: {display.shown(python)} cannot train: {env.problem}.\n"
            "A trainer Python needs: pip install "
            + " ".join(f"'{r}'" for r in trainer_env.REQUIREMENTS),
            exit_codes.FAILED,
        )
    trainer_places.save_python(env.python)
    if not quiet:
        print(f"Saved: training runs with {display.shown(env.python)}.")
