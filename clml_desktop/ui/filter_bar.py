"""The filter bar above the grid: tags (AND / OR / NOT), file name, untagged,
has suggestions, problems, suggestion score range, and — after Find Similar —
"Similar to demo_0012.jpg (20)" with a × that clears just that part.

It edits `context.filter` (an `ImageFilter`) and mirrors it back when
something else changes the filter (a click in the tag panel), so the bar
always shows what the grid shows. Typing is debounced so a 20,000-image
collection is filtered once per pause, not per keystroke.
"""

from __future__ import annotations

import re
from dataclasses import replace

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QStringListModel, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QCompleter,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from clml_desktop.collection.query import (
    ImageFilter,
    SimilarTo,
    format_tag_expression,
    parse_tag_expression,
)
from clml_desktop.ui.context import AppContext

_LAST_TERM = re.compile(r"^(.*?(?:,|\||\bAND\b|\bOR\b|&)\s*)?(-|NOT\s+)?([^,|&]*)$", re.IGNORECASE)


class TermCompleter(QCompleter):
    """Completes the last term of a tag expression, keeping the terms before it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.names = QStringListModel(self)
        self.setModel(self.names)
        self.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterMode(Qt.MatchFlag.MatchContains)
        self.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setMaxVisibleItems(12)
        self._prefix = ""

    def splitPath(self, path: str) -> list[str]:
        match = _LAST_TERM.match(path)
        if not match:
            self._prefix = ""
            return [path]
        self._prefix = (match.group(1) or "") + (match.group(2) or "")
        return [match.group(3).strip()]

    def pathFromIndex(self, index: QModelIndex | QPersistentModelIndex) -> str:
        return self._prefix + str(index.data())


class FilterBar(QWidget):
    """Widgets for every part of `ImageFilter`; see the module docstring."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._updating = False
        self._similar: SimilarTo | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.apply)

        self.tags_edit = QLineEdit(self)
        self.tags_edit.setObjectName("tagFilter")
        self.tags_edit.setPlaceholderText("Tags: dog, cat | fox, -hat")
        self.tags_edit.setClearButtonEnabled(True)
        self.tags_edit.setToolTip(
            "Filter by tags.\n"
            "  dog, grass     both (AND)\n"
            "  cat | fox      either (OR)\n"
            "  -hat           without (NOT)"
        )
        self.completer = TermCompleter(self.tags_edit)
        self.tags_edit.setCompleter(self.completer)
        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("File name…")
        self.name_edit.setClearButtonEnabled(True)
        self.name_edit.setToolTip("Show only images whose path contains this text (case-blind)")
        self.untagged_box = QCheckBox("Untagged", self)
        self.untagged_box.setToolTip("Images without any tag")
        self.suggested_box = QCheckBox("Suggestions", self)
        self.suggested_box.setToolTip("Images with pending suggestions from the active model")
        self.problems_box = QCheckBox("Problems", self)
        self.problems_box.setToolTip("Images that could not be read")
        self.score_min = QDoubleSpinBox(self)
        self.score_max = QDoubleSpinBox(self)
        for spin, tip in ((self.score_min, "Lowest suggestion score to show"), (self.score_max, "Highest suggestion score to show")):
            spin.setRange(0.0, 1.0)
            spin.setSingleStep(0.05)
            spin.setDecimals(2)
            spin.setToolTip(tip + " (images with an unknown tag scored in this range)")
            spin.setKeyboardTracking(False)
        self.score_min.setValue(0.0)
        self.score_max.setValue(1.0)
        self.clear_button = QToolButton(self)
        self.clear_button.setText("Clear")
        self.clear_button.setToolTip("Show all images (Ctrl+Shift+F)")
        self.clear_button.clicked.connect(self.clear)
        self.score_button = QToolButton(self)
        self.score_button.setText("Score ▾")
        # The style's own arrow overlaps the text of a narrow tool button; the ▾ says it instead.
        self.score_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0px; }")
        self.score_button.setToolTip("Show images with an unknown tag scored in a range")
        self.score_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        score_menu = QMenu(self.score_button)
        score_box = QWidget(score_menu)
        score_layout = QHBoxLayout(score_box)
        score_layout.setContentsMargins(8, 6, 8, 6)
        score_layout.addWidget(QLabel("Suggestion score from", score_box))
        score_layout.addWidget(self.score_min)
        score_layout.addWidget(QLabel("to", score_box))
        score_layout.addWidget(self.score_max)
        score_action = QWidgetAction(score_menu)
        score_action.setDefaultWidget(score_box)
        score_menu.addAction(score_action)
        self.score_button.setMenu(score_menu)

        # Find Similar's state: shown only while the grid lists similar images.
        self.similar_label = QLabel(self)
        self.similar_label.setObjectName("similarFilter")
        self.similar_label.setStyleSheet("font-weight: 600;")
        self.similar_clear = QToolButton(self)
        self.similar_clear.setObjectName("similarClear")
        self.similar_clear.setText("×")
        self.similar_clear.setAutoRaise(True)
        self.similar_clear.setToolTip("Stop showing similar images (back to the whole grid)")
        self.similar_clear.clicked.connect(self.clear_similar)
        self.similar_label.hide()
        self.similar_clear.hide()

        self.tags_edit.setMinimumWidth(140)
        self.name_edit.setMinimumWidth(90)
        # Its own row, shown only while it applies: beside the other widgets a long
        # file name would widen the bar, and the window would squeeze the docks.
        self.similar_row = QWidget(self)
        similar_layout = QHBoxLayout(self.similar_row)
        similar_layout.setContentsMargins(0, 0, 0, 0)
        similar_layout.setSpacing(4)
        similar_layout.addWidget(self.similar_label)
        similar_layout.addWidget(self.similar_clear)
        similar_layout.addStretch(1)
        self.similar_label.setMinimumWidth(1)  # may shrink (cut off) rather than widen the bar
        self.similar_row.hide()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 6)
        outer.setSpacing(4)
        outer.addWidget(self.similar_row)
        layout = QHBoxLayout()
        outer.addLayout(layout)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.tags_edit, 3)
        layout.addWidget(self.name_edit, 2)
        layout.addWidget(self.untagged_box)
        layout.addWidget(self.suggested_box)
        layout.addWidget(self.problems_box)
        layout.addWidget(self.score_button)
        layout.addWidget(self.clear_button)

        self.tags_edit.textChanged.connect(self._schedule)
        self.name_edit.textChanged.connect(self._schedule)
        self.tags_edit.returnPressed.connect(self.apply)
        self.name_edit.returnPressed.connect(self.apply)
        for box in (self.untagged_box, self.suggested_box, self.problems_box):
            box.toggled.connect(self.apply)
        self.score_min.valueChanged.connect(self.apply)
        self.score_max.valueChanged.connect(self.apply)
        context.filterChanged.connect(self.show_filter)
        context.indexChanged.connect(self._update_names)

    def _schedule(self) -> None:
        if not self._updating:
            self._timer.start()

    def current_filter(self) -> ImageFilter:
        """The filter the widgets describe right now."""
        require, exclude = parse_tag_expression(self.tags_edit.text())
        lo, hi = self.score_min.value(), self.score_max.value()
        return ImageFilter(
            require=require,
            exclude=exclude,
            untagged=self.untagged_box.isChecked(),
            has_suggestions=self.suggested_box.isChecked(),
            problems_only=self.problems_box.isChecked(),
            score_min=lo if lo > 0.0 else None,
            score_max=hi if hi < 1.0 else None,
            name=self.name_edit.text().strip(),
            similar=self._similar,
        )

    def _mark_score(self) -> None:
        active = self.score_min.value() > 0.0 or self.score_max.value() < 1.0
        text = f"Score {self.score_min.value():.2f}–{self.score_max.value():.2f}" if active else "Score"
        self.score_button.setText(text)

    def apply(self) -> None:
        if self._updating:
            return
        self._mark_score()
        self._timer.stop()
        self._context.set_filter(self.current_filter())

    def clear(self) -> None:
        self._context.set_filter(ImageFilter())

    def clear_similar(self) -> None:
        """Drop Find Similar's part of the filter; the rest stays."""
        self._context.set_filter(replace(self._context.filter, similar=None))

    def _show_similar(self, similar: SimilarTo | None) -> None:
        self._similar = similar
        if similar is None:
            self.similar_label.clear()
        else:
            text = similar.describe()
            tip = f"{text}, most similar first, by the active model"
            if similar.unscored:
                noun = "image has" if similar.unscored == 1 else "images have"
                note = f"{similar.unscored:,} {noun} no score yet"
                text += f" · {note}"
                tip += f"\n{note}: they were not searched"
            self.similar_label.setText(text)
            self.similar_label.setToolTip(tip)
        self.similar_label.setVisible(similar is not None)
        self.similar_clear.setVisible(similar is not None)
        self.similar_row.setVisible(similar is not None)

    def show_filter(self, flt: ImageFilter) -> None:
        """Mirror `flt` into the widgets without feeding it back."""
        if flt.similar != self._similar:
            self._show_similar(flt.similar)
        if flt == self.current_filter():
            return
        self._updating = True
        try:
            self.tags_edit.setText(format_tag_expression(flt.require, flt.exclude))
            self.name_edit.setText(flt.name)
            self.untagged_box.setChecked(flt.untagged)
            self.suggested_box.setChecked(flt.has_suggestions)
            self.problems_box.setChecked(flt.problems_only)
            self.score_min.setValue(flt.score_min if flt.score_min is not None else 0.0)
            self.score_max.setValue(flt.score_max if flt.score_max is not None else 1.0)
        finally:
            self._updating = False
        self._mark_score()

    def focus_tags(self) -> None:
        self.tags_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.tags_edit.selectAll()

    def _update_names(self) -> None:
        names = self._context.index.tag_names
        if names != self.completer.names.stringList():
            self.completer.names.setStringList(sorted(names, key=str.casefold))
