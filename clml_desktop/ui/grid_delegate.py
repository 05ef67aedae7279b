"""Paints one grid cell: the thumbnail (or a placeholder of the image's shape
while it decodes), the file name, and badges for pending suggestions and
problem images. Colours come from the palette so both themes stay readable.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from clml_desktop.ui.grid_model import CellRole

PAD = 6
TEXT_GAP = 4
RADIUS = 6.0
BADGE_ACCENT = QColor("#2f6fdb")
BADGE_PROBLEM = QColor("#c62828")
# Plain ints: PySide's enum.Flag arithmetic runs in Python (~5 µs an operation, per cell).
_SELECTED = QStyle.StateFlag.State_Selected.value
_HAS_FOCUS = QStyle.StateFlag.State_HasFocus.value
_MOUSE_OVER = QStyle.StateFlag.State_MouseOver.value


class GridDelegate(QStyledItemDelegate):
    """Cell painter for `GridView`; `thumb_size` is the thumbnail edge in px."""

    def __init__(self, thumb_size: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumb_size = thumb_size
        self._badge_font: QFont | None = None
        self._badge_metrics: QFontMetrics | None = None
        self._badge_key = ""

    def cell_size(self, font: QFont) -> QSize:
        line = QFontMetrics(font).height()
        return QSize(self.thumb_size + 2 * PAD, self.thumb_size + 2 * PAD + TEXT_GAP + line)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return self.cell_size(option.font)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        # Lean on purpose: every call into Qt may hand the GIL to a background
        # thread and wait to get it back, so a page of cells must cost few calls.
        cell = index.data(CellRole)
        if cell is None:
            return
        name, image, pending, problem, wh = cell
        palette: QPalette = option.palette
        rect: QRect = option.rect.adjusted(2, 2, -2, -2)
        state = option.state.value
        selected = bool(state & _SELECTED)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if selected or state & (_MOUSE_OVER | _HAS_FOCUS):
            highlight = palette.color(QPalette.ColorRole.Highlight)
            fill = QColor(highlight if selected else palette.color(QPalette.ColorRole.Text))
            fill.setAlpha(70 if selected else 14)
            painter.setPen(highlight if selected or state & _HAS_FOCUS else Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(QRectF(rect), RADIUS, RADIUS)

        size = self.thumb_size
        left, top = rect.left() + PAD - 2, rect.top() + PAD - 2
        box = QRect(left, top, size, size)
        if isinstance(image, QImage) and not image.isNull():
            w, h = image.width(), image.height()
            if w > size or h > size:
                scaled = image.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
                w, h = scaled.width(), scaled.height()
            shown = QRect(left + (size - w) // 2, top + (size - h) // 2, w, h)
            painter.drawImage(shown, image)
        else:
            shown = self._placeholder(painter, box, wh, palette, problem)

        metrics = option.fontMetrics
        text_rect = QRect(rect.left() + PAD, top + size + TEXT_GAP, rect.width() - 2 * PAD, metrics.height())
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, text_rect.width()))
        if pending:
            self._badge(painter, shown, f"{pending} new" if size >= 128 else str(pending), BADGE_ACCENT, option.font, right=True)
        if problem:
            self._badge(painter, shown, "unreadable" if size >= 128 else "!", BADGE_PROBLEM, option.font, right=False)
        painter.restore()

    def _placeholder(self, painter: QPainter, box: QRect, wh: object, palette: QPalette, problem: object) -> QRect:
        """A flat box of the image's shape while it decodes (or when it cannot); returns it."""
        w, h = wh if isinstance(wh, tuple) and len(wh) == 2 else (0, 0)
        size = box.width()
        if w > 0 and h > 0:
            scale = min(size / w, size / h)
            w, h = max(1, int(w * scale)), max(1, int(h * scale))
        else:
            w = h = size
        shape = QRect(box.left() + (size - w) // 2, box.top() + (size - h) // 2, w, h)
        base = QColor(palette.color(QPalette.ColorRole.Text))
        base.setAlpha(40 if problem else 22)
        painter.fillRect(shape, base)  # a plain fill: cheap enough for a page of 60 cells
        if problem:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(shape.adjusted(6, 6, -6, -6), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, "Cannot show this image")
        return shape

    def _badge(self, painter: QPainter, box: QRect, text: str, color: QColor, font: QFont, *, right: bool) -> None:
        key = font.key()
        if self._badge_font is None or self._badge_key != key:
            self._badge_font = QFont(font)
            self._badge_font.setBold(True)
            self._badge_font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
            self._badge_metrics = QFontMetrics(self._badge_font)
            self._badge_key = key
        badge_font, metrics = self._badge_font, self._badge_metrics
        w = metrics.horizontalAdvance(text) + 12
        h = metrics.height() + 4
        x = box.right() - w - 4 if right else box.left() + 4
        pill = QRectF(x, box.top() + 4, w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(pill, h / 2, h / 2)
        painter.setFont(badge_font)
        painter.setPen(QColor("white"))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
        painter.setFont(font)
