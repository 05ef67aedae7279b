"""Layering rules from DESIGN.md, checked on every run:
the app never imports torch (it must start fast and stay light), and the
collection and inference cores never import Qt (napari-style Qt-free core)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "clml_desktop"


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
    core = list((APP / "collection").rglob("*.py")) + list((APP / "inference").rglob("*.py"))
    offenders = [str(p.relative_to(ROOT)) for p in core if "PySide6" in _imported_roots(p)]
    assert offenders == [], f"collection/inference must stay Qt-free: {offenders}"


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
    core = _modules(APP / "collection") + _modules(APP / "inference")
    loaded = _loaded_after_import(core)
    assert "PySide6" not in loaded
