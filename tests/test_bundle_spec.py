"""The standalone bundle's recipe (packaging/bundle/, ADR 0023), checked without building it.

Building takes PyInstaller and a minute of CPU; `scripts/bundle_smoke.sh` does that.
Here: torch and the trainer packages stay out of the frozen app, the trainer's code
goes in as plain sources under trainer_code/, and the entry script answers `-m MODULE`
as `python -m` would (the app starts its scoring child as `sys.executable -m ...`).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "bundle" / "clml-desktop.spec"
ENTRY = ROOT / "packaging" / "bundle" / "entry.py"


def _spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"))


def _constant(name: str):
    for node in _spec_tree().body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not assigned in {SPEC.name}")


def _trainer_sources() -> list[tuple[str, str]]:
    """Run the spec's own trainer_sources() against this checkout."""
    function = next(n for n in _spec_tree().body if isinstance(n, ast.FunctionDef) and n.name == "trainer_sources")
    namespace = {"os": os, "Path": Path, "ROOT": ROOT, "TRAINER_PACKAGES": _constant("TRAINER_PACKAGES")}
    exec(compile(ast.Module(body=[function], type_ignores=[]), str(SPEC), "exec"), namespace)
    return namespace["trainer_sources"]()


def test_torch_and_the_trainer_packages_stay_out():
    excluded = set(_constant("EXCLUDED"))
    assert {"torch", "torchvision", "onnx", "training", "models"} <= excluded
    assert "clml_contract" not in excluded  # the app itself imports it


def test_trainer_code_is_every_source_of_the_three_packages():
    assert _constant("TRAINER_PACKAGES") == ("training", "models", "clml_contract")
    sources = _trainer_sources()
    got = {Path(dest) / Path(src).name for src, dest in sources}
    want = {
        Path("trainer_code") / path.relative_to(ROOT)
        for package in ("training", "models", "clml_contract")
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert got == want
    assert Path("trainer_code/training/__main__.py") in got  # `<python> -m training fit ...`
    assert all(src.endswith(".py") and "__pycache__" not in src for src, _ in sources)


def test_make_package_builds_this_spec_into_dist():
    """What `make package` runs (its build is tests/test_bundle_build.py's, on every run)."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    done = subprocess.run([make, "-n", "-C", str(ROOT), "package"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    build = next(line for line in done.stdout.splitlines() if "pyinstaller" in line)
    assert "--distpath dist" in build and "packaging/bundle/clml-desktop.spec" in build


def _entry(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ENTRY), *args], input=stdin, capture_output=True,
                          text=True, timeout=60, cwd=ROOT)


def test_entry_runs_a_module_as_python_m_does():
    done = _entry("-m", "json.tool", "--compact", stdin='{"a": [1, 2]}')
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '{"a":[1,2]}'


def test_entry_says_when_the_module_is_missing():
    done = _entry("-m", "clml_desktop.no_such_module")
    assert done.returncode == 1
    assert "No module named clml_desktop.no_such_module" in done.stderr


def test_entry_hands_everything_else_to_the_app():
    done = _entry("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("clml-desktop ")
