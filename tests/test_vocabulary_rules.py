"""Issue 12, "one vocabulary": a label state has one spelling, `LabelState`
(clml_desktop/collection/labels.py). A module that defines its own POSITIVE,
NEGATIVE or UNKNOWN constant starts a second vocabulary that drifts from the
first (the text the store keeps vs. the ints the arrays hold), so none may."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "clml_desktop"
STATE_NAMES = {"POSITIVE", "NEGATIVE", "UNKNOWN"}


def _module_level_targets(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, name) of every name a module binds at its top level (inside if/try too)."""
    found: list[tuple[int, str]] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        elif isinstance(node, ast.If | ast.Try | ast.With):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []):
                    pending.extend(child.body if isinstance(child, ast.ExceptHandler) else [child])
            continue
        else:
            continue
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    found.append((node.lineno, name.id))
    return found


def test_no_module_defines_its_own_label_state_constant():
    offenders = [
        f"{path.relative_to(ROOT)}:{line} {name}"
        for path in sorted(APP.rglob("*.py"))
        for line, name in _module_level_targets(ast.parse(path.read_text(encoding="utf-8")))
        if name in STATE_NAMES
    ]
    assert offenders == [], f"use collection.labels.LabelState instead of: {offenders}"


def test_the_scan_sees_a_module_level_copy():
    source = "from x import S\nPOSITIVE = S.POSITIVE\nif True:\n    NEGATIVE, UNKNOWN = -1, 0\n"
    names = {name for _, name in _module_level_targets(ast.parse(source))}
    assert STATE_NAMES <= names
    in_class = "class K:\n    POSITIVE = 1\n"
    assert _module_level_targets(ast.parse(in_class)) == []
