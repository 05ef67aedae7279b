"""One edit path (issue 12), checked on the source: widgets change a collection only
through `AppContext`'s methods (which call `clml_desktop.workflow.edits`), and only
the context emits its own signals. A widget that wrote to the store itself, or
announced a change itself, would make the window and the CLI drift apart again
and leave other views showing stale labels."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UI = ROOT / "clml_desktop" / "ui"
STORE = ROOT / "clml_desktop" / "collection" / "store.py"
CONTEXT = UI / "context.py"
# Helpers of CollectionStore that open a write transaction.
WRITE_HELPERS = {"_write", "_transaction", "_edit"}
CLI = ROOT / "clml_desktop" / "cli"


def _class(path: Path, name: str) -> ast.ClassDef:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)


def _self_calls(method: ast.FunctionDef) -> set[str]:
    return {
        node.func.attr
        for node in ast.walk(method)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
    }


def store_writers() -> set[str]:
    """Public CollectionStore methods that write, directly or through another method."""
    methods = {
        n.name: _self_calls(n)
        for n in _class(STORE, "CollectionStore").body
        if isinstance(n, ast.FunctionDef)
    }
    writers = set(WRITE_HELPERS)
    grew = True
    while grew:
        found = {name for name, calls in methods.items() if calls & writers}
        grew = not found <= writers
        writers |= found
    return {name for name in writers if not name.startswith("_")}


def context_signals() -> set[str]:
    """Names of the Signals AppContext declares."""
    return {
        target.id
        for node in _class(CONTEXT, "AppContext").body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", "") == "Signal"
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _names_in(node: ast.AST) -> set[str]:
    """Every name and attribute spelled in an expression (`self.context.store` →
    {'self', 'context', 'store'})."""
    out = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            out.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            out.add(sub.attr)
    return out


def _offences(path: Path, writers: set[str], signals: set[str], source: str | None = None) -> list[str]:
    text = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text, filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver, name = node.func.value, node.func.attr
        where = f"{path.relative_to(ROOT)}:{node.lineno}"
        if name in writers and "store" in _names_in(receiver):
            found.append(f"{where} calls the store's {name}()")
        if (
            name == "emit"
            and isinstance(receiver, ast.Attribute)
            and receiver.attr in signals
            and {"context", "_context"} & _names_in(receiver.value)
        ):
            found.append(f"{where} emits the context's {receiver.attr}")
    return found


def test_the_rule_knows_the_store_setters_and_context_signals():
    writers = store_writers()
    assert {"set_active_model", "set_tag_threshold", "set_min_likelihood", "add_tag",
            "remove_tag", "set_labels", "undo", "rename_tag"} <= writers
    assert not {"tags", "active_model", "tag_thresholds", "models"} & writers
    assert {"modelChanged", "suggestionsChanged", "statusMessage", "labelsChanged"} <= context_signals()


def test_models_panel_and_settings_dialog_go_through_the_context():
    writers, signals = store_writers(), context_signals()
    offences = [
        o for name in ("models_panel.py", "settings_dialog.py")
        for o in _offences(UI / name, writers, signals)
    ]
    assert offences == []


def test_no_widget_writes_to_the_store_or_speaks_for_the_context():
    writers, signals = store_writers(), context_signals()
    offences = [
        o for path in sorted(UI.rglob("*.py")) if path != CONTEXT
        for o in _offences(path, writers, signals)
    ]
    assert offences == []


def test_the_command_line_edits_through_the_workflow_too():
    """`clml-desktop review` and `settings` make the window's edits (`workflow.edits`),
    so a verdict or a cut set on the command line follows the same rules and words."""
    writers = store_writers()
    offences = [o for path in sorted(CLI.rglob("*.py")) for o in _offences(path, writers, set())]
    assert offences == []


def test_the_rule_catches_a_widget_that_does():
    source = (
        "def activate(self, model_id):\n"
        "    self.context.store.set_active_model(model_id)\n"
        "    self.context.modelChanged.emit()\n"
    )
    offences = _offences(UI / "probe.py", store_writers(), context_signals(), source)
    assert [o.split(" ", 1)[1] for o in offences] == [
        "calls the store's set_active_model()", "emits the context's modelChanged"
    ]
