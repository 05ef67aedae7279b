"""docs/cli.md is generated from the argparse parsers (scripts/cli_reference.py) and must not drift."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "cli_reference.py"
REGENERATE = ".venv/bin/python scripts/cli_reference.py"


def _render() -> str:
    done = subprocess.run([sys.executable, str(SCRIPT), "--stdout"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_docs_cli_md_matches_the_parsers():
    expected = _render()
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    if current != expected:
        import difflib

        diff = "".join(difflib.unified_diff(current.splitlines(True), expected.splitlines(True),
                                            "docs/cli.md (committed)", "docs/cli.md (from the parsers)",
                                            n=1))
        raise AssertionError(
            "docs/cli.md differs from the CLI parsers. Regenerate it and commit the result:\n"
            f"    {REGENERATE}\n\n{diff[:4000]}")


def test_reference_covers_every_command():
    from clml_desktop.app import COMMANDS

    text = _render()
    for name in COMMANDS:
        assert f"### `clml-desktop {name}`" in text
    for name in ("fit", "export", "import-checkpoint"):
        assert f"### `python -m training {name}`" in text


def test_reading_the_trainer_parser_loads_no_torch():
    code = ("import sys\nfrom training.cli import build_parser\nbuild_parser()\n"
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.stdout.strip() == "False", done.stderr
