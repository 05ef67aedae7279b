"""Layering rules from DESIGN.md, checked on every run:
the app never imports torch (it must start fast and stay light), and the
collection and inference cores and the workflow both the CLI and the window
call never import Qt (napari-style Qt-free core)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "clml_desktop"
QT_FREE = ("collection", "inference", "workflow")


def _modules(package_dir: Path) -> list[str]:
    names = []
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts))
    return names


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_app_source_never_names_torch():
    offenders = [
        str(p.relative_to(ROOT))
        for p in APP.rglob("*.py")
        if _imported_roots(p) & {"torch", "torchvision", "training"}
    ]
    assert offenders == [], f"clml_desktop must not import torch/training: {offenders}"


def test_core_source_never_names_qt():
    core = [p for package in QT_FREE for p in (APP / package).rglob("*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in core if "PySide6" in _imported_roots(p)]
    assert offenders == [], f"{'/'.join(QT_FREE)} must stay Qt-free: {offenders}"


def _loaded_after_import(modules: list[str]) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "print(json.dumps(sorted({k.split('.')[0] for k in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_whole_app_loads_no_torch():
    loaded = _loaded_after_import(_modules(APP))
    assert "torch" not in loaded


def test_importing_the_core_loads_no_qt():
    core = [m for package in QT_FREE for m in _modules(APP / package)]
    loaded = _loaded_after_import(core)
    assert "PySide6" not in loaded


CONTRACT = ROOT / "clml_contract"
TRAINER_SIDE = [ROOT / "models", ROOT / "training"]


def _offenders(paths, forbidden: set[str]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths if _imported_roots(p) & forbidden]


def _imported_modules(path: Path) -> set[str]:
    """Every absolute module an import statement names, dotted in full."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_contract_imports_neither_side_nor_torch_nor_qt():
    forbidden = {"clml_desktop", "models", "training", "torch", "torchvision", "PySide6"}
    assert _offenders(CONTRACT.rglob("*.py"), forbidden) == []


def test_the_trainer_side_imports_only_the_contract_of_the_app():
    paths = [p for d in TRAINER_SIDE for p in d.rglob("*.py")]
    assert _offenders(paths, {"clml_desktop", "PySide6"}) == []


def test_the_app_never_imports_the_trainer_side():
    assert _offenders(APP.rglob("*.py"), {"models", "training", "torch", "torchvision"}) == []


def test_nothing_below_the_window_imports_jobs_or_ui():
    """collection, inference and workflow are the Qt-free core; `jobs` (Qt workers) and
    `ui` sit above them and are never imported from below."""
    lower = [p for d in ("collection", "inference", "workflow") for p in (APP / d).rglob("*.py")]
    offenders = [
        str(p.relative_to(ROOT))
        for p in lower
        if any(m.startswith(("clml_desktop.jobs", "clml_desktop.ui")) for m in _imported_modules(p))
    ]
    assert offenders == []


def test_importing_the_contract_loads_neither_torch_nor_qt_nor_the_app():
    loaded = _loaded_after_import(_modules(CONTRACT))
    assert not loaded & {"torch", "PySide6", "clml_desktop", "models", "training"}
