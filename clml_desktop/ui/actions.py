"""Every user action in one registry: text, keyboard shortcut, tooltip, group.

Why: every action must be reachable by keyboard and listed in the help
dialog. Defining them here (instead of ad hoc in each widget) gives the menus,
toolbar and the shortcut table one source, and the help dialog lists
`registry.shortcut_table()` without knowing the widgets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence


@dataclass(frozen=True)
class ShortcutRow:
    """One line of the help dialog's shortcut table."""

    group: str
    text: str
    shortcuts: tuple[str, ...]
    tooltip: str


class ActionRegistry(QObject):
    """Creates and keeps the window's QActions by id.

    `add()` returns the QAction (window-wide shortcut context by default) and
    is what other panels call to register theirs; `action(id)` finds one.
    """

    def __init__(self, owner: QObject) -> None:
        super().__init__(owner)
        self._owner = owner
        self._actions: dict[str, QAction] = {}
        self._groups: dict[str, str] = {}

    def add(
        self,
        action_id: str,
        text: str,
        *,
        group: str,
        tooltip: str,
        shortcut: str | QKeySequence.StandardKey | Sequence[str] | None = None,
        slot: Callable[..., object] | None = None,
        checkable: bool = False,
        context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut,
    ) -> QAction:
        if action_id in self._actions:
            raise ValueError(f"action {action_id!r} is registered twice")
        action = QAction(text, self._owner)
        action.setObjectName(action_id)
        if isinstance(shortcut, QKeySequence.StandardKey):
            action.setShortcuts(shortcut)
        elif isinstance(shortcut, str):
            action.setShortcut(QKeySequence(shortcut))
        elif shortcut:
            action.setShortcuts([QKeySequence(s) for s in shortcut])
        action.setShortcutContext(context)
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
        action.setToolTip(f"{tooltip} ({keys})" if keys else tooltip)
        action.setStatusTip(tooltip)
        action.setCheckable(checkable)
        if slot is not None:
            action.triggered.connect(lambda *_args: slot())
        if hasattr(self._owner, "addAction"):
            self._owner.addAction(action)
        self._actions[action_id] = action
        self._groups[action_id] = group
        return action

    def adopt(self, action_id: str, action: QAction, *, group: str) -> QAction:
        """Register an action a panel created itself, so the help lists it."""
        if action_id in self._actions:
            raise ValueError(f"action {action_id!r} is registered twice")
        if not action.statusTip():
            action.setStatusTip(action.toolTip())  # the status bar says what a menu entry does
        self._actions[action_id] = action
        self._groups[action_id] = group
        return action

    def action(self, action_id: str) -> QAction:
        return self._actions[action_id]

    def __contains__(self, action_id: str) -> bool:
        return action_id in self._actions

    def ids(self) -> list[str]:
        return list(self._actions)

    def shortcut_table(self) -> list[ShortcutRow]:
        """All actions grouped for the help dialog, in registration order; a hidden
        action (an empty recent-folder slot) has no working shortcut, so it is left out."""
        rows = []
        for action_id, action in self._actions.items():
            if not action.isVisible():
                continue
            keys = tuple(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
            rows.append(
                ShortcutRow(
                    group=self._groups[action_id],
                    text=re.sub(r"&(&?)", r"\1", action.text()).rstrip("…").rstrip("."),
                    shortcuts=keys,
                    tooltip=action.statusTip() or action.toolTip(),
                )
            )
        return rows
