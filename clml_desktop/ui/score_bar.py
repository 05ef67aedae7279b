"""A bar showing a suggestion's score against its threshold.

Not a QProgressBar on purpose: `QProgressBar.setValue` repaints synchronously,
which in review mode (one new value per key press) forced a full repaint of
the window on every decision. This widget only schedules an update.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


class ScoreBar(QWidget):
    """Fill up to `score`, a tick at `threshold`, and a caption inside."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._score = 0.0
        self._threshold: float | None = None
        self._text = ""
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(320, self.fontMetrics().height() + 8)

    @property
    def score(self) -> float:
        return self._score

    def text(self) -> str:
        return self._text

    def set_score(self, score: float, threshold: float | None = None, text: str = "") -> None:
        self._score = min(1.0, max(0.0, float(score)))
        self._threshold = threshold
        self._text = text
        self.setToolTip(text)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        pal = self.palette()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        outer = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        radius = outer.height() / 2
        painter.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        painter.setBrush(pal.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(outer, radius, radius)
        if self._score > 0:
            fill = QRectF(outer)
            fill.setWidth(max(outer.height(), outer.width() * self._score))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(pal.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(fill, radius, radius)
        if self._threshold is not None:
            x = outer.left() + outer.width() * min(1.0, max(0.0, self._threshold))
            painter.setPen(QPen(pal.color(QPalette.ColorRole.Text), 2))
            painter.drawLine(int(x), int(outer.top()) + 2, int(x), int(outer.bottom()) - 2)
        if self._text:
            painter.setPen(pal.color(QPalette.ColorRole.Text))
            rect = outer.toRect()
            metrics = self.fontMetrics()
            width = metrics.horizontalAdvance(self._text) + 12
            back = QRectF(rect.center().x() - width / 2, outer.top() + 2, width, outer.height() - 4)
            base = pal.color(QPalette.ColorRole.Base)
            base.setAlpha(200)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(base)
            painter.drawRoundedRect(back, back.height() / 2, back.height() / 2)
            painter.setPen(pal.color(QPalette.ColorRole.Text))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self._text)
        painter.end()
