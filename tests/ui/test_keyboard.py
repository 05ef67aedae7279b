"""Keyboard reachability, walked over the live window rather than a hand-kept list:
every QAction has a shortcut or sits in a menu the keyboard opens, no two
shortcuts can collide, each shortcut reaches exactly its own action, review
mode's letter keys are not taken by a window shortcut, and the help dialog
lists every shortcut that exists."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QMenu, QTreeWidgetItemIterator, QWidget, QWidgetAction

from clml_desktop.ui.help_dialog import HelpDialog
from clml_desktop.ui.review import REVIEW_KEYS

NATIVE = QKeySequence.SequenceFormat.NativeText
WIDGET_CONTEXTS = (Qt.ShortcutContext.WidgetShortcut, Qt.ShortcutContext.WidgetWithChildrenShortcut)


def user_actions(window) -> list[QAction]:
    """The window's actions a person can trigger: not separators, submenus, Qt's own,
    or a widget inside a menu (the filter bar's score slider, reached by Tab)."""
    menu_actions(window)  # creates the actions of menus filled on demand
    return [
        a for a in window.findChildren(QAction)
        if not a.isSeparator() and a.menu() is None and not a.objectName().startswith("_q_") and a.isVisible()
        and not isinstance(a, QWidgetAction)
    ]


def keys_of(action: QAction) -> list[str]:
    return [k.toString(NATIVE) for k in action.shortcuts() if not k.isEmpty()]


def menu_actions(window) -> set[QAction]:
    """Actions reachable from the menu bar (Alt+mnemonic, then the arrow keys)."""
    found: set[QAction] = set()

    def walk(menu: QMenu) -> None:
        menu.aboutToShow.emit()  # menus filled on demand (Open Recent)
        for action in menu.actions():
            if action.menu() is not None:
                assert "&" in action.text(), f"submenu {action.text()!r} has no mnemonic"
                walk(action.menu())
            elif not action.isSeparator():
                found.add(action)

    for top in window.menuBar().actions():
        assert "&" in top.text(), f"menu {top.text()!r} has no Alt mnemonic"
        walk(top.menu())
    return found


def name(action: QAction) -> str:
    return action.objectName() or action.text()


def test_every_action_is_reachable_by_keyboard(opened):
    window, _folder, _expected = opened
    in_menus = menu_actions(window)
    for action in user_actions(window):
        assert keys_of(action) or action in in_menus, f"{name(action)} has no shortcut and is in no menu"
        assert action.toolTip() and action.statusTip(), f"{name(action)} has no tooltip"


def test_shortcuts_are_unique_and_review_keys_are_free(opened):
    window, _folder, _expected = opened
    owners: dict[str, list[str]] = {}
    for action in user_actions(window):
        for key in keys_of(action):
            owners.setdefault(key, []).append(name(action))
    for shortcut in window.findChildren(QShortcut):
        owners.setdefault(shortcut.key().toString(NATIVE), []).append(f"QShortcut on {shortcut.parent()}")
    clashes = {key: who for key, who in owners.items() if len(who) > 1}
    assert not clashes, f"ambiguous shortcuts: {clashes}"
    review_keys = [QKeySequence(k).toString(NATIVE) for spec in REVIEW_KEYS for k in spec.keys]
    assert len(review_keys) == len(set(review_keys)), "two review commands share a key"
    taken = {key: owners[key] for key in review_keys if key in owners}
    assert not taken, f"window shortcuts would swallow review keys: {taken}"


class _ShortcutCatcher(QObject):
    """Swallows Shortcut events on the actions it watches, recording who got them."""

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[tuple[QObject, bool]] = []

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Shortcut:
            self.hits.append((obj, event.isAmbiguous()))
            return True
        return False


def _target_for(window, action: QAction) -> QWidget:
    if action.shortcutContext() in WIDGET_CONTEXTS:
        widgets = [w for w in action.associatedObjects() if isinstance(w, QWidget) and not isinstance(w, QMenu)]
        assert widgets, f"{name(action)} has a widget shortcut but no widget"
        return widgets[0]
    return window.grid


def test_each_shortcut_reaches_exactly_its_action(opened, qtbot):
    window, _folder, _expected = opened
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    catcher = _ShortcutCatcher()
    actions = [a for a in user_actions(window) if keys_of(a)]
    enabled = {a: a.isEnabled() for a in actions}
    for action in actions:
        action.setEnabled(True)  # undo/redo and friends are disabled until there is something to do
        action.installEventFilter(catcher)
    try:
        for action in actions:
            target = _target_for(window, action)
            target.setFocus(Qt.FocusReason.ShortcutFocusReason)
            for sequence in action.shortcuts():
                catcher.hits.clear()
                qtbot.keyClick(target, sequence[0].key(), sequence[0].keyboardModifiers())
                assert catcher.hits == [(action, False)], (
                    f"{sequence.toString(NATIVE)} on {type(target).__name__} reached "
                    f"{[(name(o), amb) for o, amb in catcher.hits]}, not {name(action)}"
                )
    finally:
        for action in actions:
            action.removeEventFilter(catcher)
            action.setEnabled(enabled[action])


def test_help_dialog_lists_every_shortcut_that_exists(opened, qtbot):
    window, _folder, _expected = opened
    dialog = HelpDialog(window.context, window, rows=window.actions_.shortcut_table())
    qtbot.addWidget(dialog)
    listed: set[str] = set()
    it = QTreeWidgetItemIterator(dialog.tree)
    while it.value():
        listed.update(k for k in it.value().text(1).split("   or   ") if k and k != "—")
        it += 1
    existing = {key for action in user_actions(window) for key in keys_of(action)}
    existing |= {QKeySequence(k).toString(NATIVE) for spec in REVIEW_KEYS for k in spec.keys}
    assert existing - listed == set(), "shortcuts missing from the help dialog"
    assert listed - existing == set(), "the help dialog lists keys that do nothing"
    texts = {row.text for row in dialog.rows}
    for action in user_actions(window):
        if keys_of(action):
            assert action.text().replace("&", "").rstrip("…").rstrip(".") in texts, name(action)
