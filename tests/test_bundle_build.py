"""The standalone bundle is built and used on every run (issue 15, ADR 0023): PyInstaller
builds it from packaging/bundle/clml-desktop.spec into a temporary folder (about 20 s on
2 cores), then scripts/bundle_smoke.sh runs the bundle's own program as a person would:
--version, a demo, an offscreen screenshot, install-desktop and --remove, train refusing
without a trainer Python, a 1-epoch training with this run's Python as the trainer,
suggest, and the frozen scoring child."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux bundle"),
    pytest.mark.skipif(importlib.util.find_spec("PyInstaller") is None,
                       reason="PyInstaller is not installed (the dev extra installs it: make setup)"),
    pytest.mark.timeout(900),
]


def test_the_bundle_builds_and_works_as_a_person_uses_it(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CLML_TRAINER_PYTHON=sys.executable)
    build = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(tmp_path / "dist"), "--workpath", str(tmp_path / "build"),
         str(ROOT / "packaging" / "bundle" / "clml-desktop.spec")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )
    assert build.returncode == 0, (build.stdout + build.stderr)[-4000:]
    bundle = tmp_path / "dist" / "clml-desktop"
    smoke = subprocess.run(
        ["bash", str(ROOT / "scripts" / "bundle_smoke.sh"), str(bundle), str(tmp_path / "work")],
        capture_output=True, text=True, env=env, timeout=600,
    )
    report = smoke.stdout + smoke.stderr
    assert smoke.returncode == 0, report[-4000:]
    for step in ("screenshot", "install-desktop puts the bundle in the menu",
                 "names PyTorch", "1-epoch model trained", "scoring child", "ok: the bundle runs"):
        assert step in report, report[-4000:]
