"""Paints one grid cell: the thumbnail (or a placeholder of the image's shape
while it decodes), the file name, and badges for pending suggestions and
problem images. Colours come from the palette so both themes stay readable.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from clml_desktop.ui.grid_model import ImageSizeRole, PendingRole, ProblemRole, ThumbnailRole

PAD = 6
TEXT_GAP = 4
RADIUS = 6.0
BADGE_ACCENT = QColor("#2f6fdb")
BADGE_PROBLEM = QColor("#c62828")


class GridDelegate(QStyledItemDelegate):
    """Cell painter for `GridView`; `thumb_size` is the thumbnail edge in px."""

    def __init__(self, thumb_size: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumb_size = thumb_size

    def cell_size(self, font: QFont) -> QSize:
        line = QFontMetrics(font).height()
        return QSize(self.thumb_size + 2 * PAD, self.thumb_size + 2 * PAD + TEXT_GAP + line)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return self.cell_size(option.font)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        palette: QPalette = option.palette
        rect: QRect = option.rect.adjusted(2, 2, -2, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        current = bool(option.state & QStyle.StateFlag.State_HasFocus)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)

        if selected:
            fill = QColor(palette.color(QPalette.ColorRole.Highlight))
            fill.setAlpha(70)
            painter.setPen(palette.color(QPalette.ColorRole.Highlight))
            painter.setBrush(fill)
            painter.drawRoundedRect(QRectF(rect), RADIUS, RADIUS)
        elif hovered:
            fill = QColor(palette.color(QPalette.ColorRole.Text))
            fill.setAlpha(18)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(QRectF(rect), RADIUS, RADIUS)
        if current and not selected:
            pen_color = QColor(palette.color(QPalette.ColorRole.Highlight))
            painter.setPen(pen_color)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(rect), RADIUS, RADIUS)

        size = self.thumb_size
        box = QRect(rect.left() + PAD - 2, rect.top() + PAD - 2, size, size)
        problem = index.data(ProblemRole)
        image = index.data(ThumbnailRole)
        if isinstance(image, QImage) and not image.isNull():
            scaled = image.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(box.center())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(target, image)
        else:
            self._placeholder(painter, box, index.data(ImageSizeRole), palette, problem)

        text_rect = QRect(rect.left() + PAD, box.bottom() + TEXT_GAP, rect.width() - 2 * PAD, option.fontMetrics.height())
        name = option.fontMetrics.elidedText(str(index.data() or ""), Qt.TextElideMode.ElideMiddle, text_rect.width())
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, name)

        pending = int(index.data(PendingRole) or 0)
        if pending:
            self._badge(painter, box, f"{pending} new" if size >= 128 else str(pending), BADGE_ACCENT, option.font, right=True)
        if problem:
            self._badge(painter, box, "unreadable" if size >= 128 else "!", BADGE_PROBLEM, option.font, right=False)
        painter.restore()

    def _placeholder(self, painter: QPainter, box: QRect, wh: object, palette: QPalette, problem: object) -> None:
        w, h = wh if isinstance(wh, tuple) and len(wh) == 2 else (0, 0)
        shape = QRect(box)
        if w > 0 and h > 0:
            scaled = QSize(w, h).scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
            shape = QRect(0, 0, scaled.width(), scaled.height())
            shape.moveCenter(box.center())
        base = QColor(palette.color(QPalette.ColorRole.Text))
        base.setAlpha(40 if problem else 22)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(base)
        painter.drawRoundedRect(QRectF(shape), 4, 4)
        if problem:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(shape.adjusted(6, 6, -6, -6), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, "Cannot show this image")

    def _badge(self, painter: QPainter, box: QRect, text: str, color: QColor, font: QFont, *, right: bool) -> None:
        badge_font = QFont(font)
        badge_font.setBold(True)
        badge_font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        metrics = QFontMetrics(badge_font)
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
