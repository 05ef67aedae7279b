"""The review-only wheel works as a person installs it (issue 15, ADR 0024): built from
this checkout, installed into a fresh venv, then `--version`, a tiny demo, `train`
refusing plainly without a trainer Python, training with this test run's Python as the
trainer environment, suggestions, and an offscreen screenshot that is not blank.

The full wheel (with PyTorch) is checked by the same script without --review-only; CI
does not run that one, since it would download several GB of CUDA PyTorch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a bash script for Linux"),
    pytest.mark.timeout(900),
]


def test_the_review_only_wheel_installs_and_runs_in_a_fresh_venv(tmp_path):
    env = dict(os.environ, PYTHON=sys.executable, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "check_wheel_install.sh"), "--review-only",
         "--trainer", sys.executable, str(tmp_path / "work")],
        capture_output=True, text=True, env=env, timeout=880,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-4000:]
    for line in ("(without PyTorch: trains with another Python)", "train refuses and says what to install",
                 "a 1-epoch model trained and registered", "ok: the installed clml-desktop runs"):
        assert line in report, report[-4000:]
