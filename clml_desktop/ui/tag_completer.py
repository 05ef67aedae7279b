"""Autocomplete for tag entry, most used tags first.

Why ranked by frequency: in a collection of a few hundred tags, the tag a
person means after typing two letters is nearly always a common one; an
alphabetical popup makes them scroll. Matching is by substring and case-blind
so `hair` finds `long hair`.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QWidget


def ranked_tag_names(counts: Iterable[tuple[str, int]]) -> list[str]:
    """Names by descending count, then by name (case-blind) for a stable order."""
    return [name for name, _n in sorted(counts, key=lambda item: (-item[1], item[0].casefold()))]


class TagCompleter(QCompleter):
    """A QCompleter over a string-list model that keeps the frequency order."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = QStringListModel(self)
        self.setModel(self._model)
        self.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterMode(Qt.MatchFlag.MatchContains)
        self.setModelSorting(QCompleter.ModelSorting.UnsortedModel)
        self.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setMaxVisibleItems(12)

    def set_counts(self, counts: Iterable[tuple[str, int]]) -> None:
        """Replace the candidates with (name, positives) pairs."""
        self._model.setStringList(ranked_tag_names(counts))

    def candidates(self) -> list[str]:
        return self._model.stringList()
