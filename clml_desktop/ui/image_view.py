"""A widget that shows one decoded image fitted to its size, or a short message.

It never decodes anything itself (the `PreviewLoader` does that off the GUI
thread); it only scales an already decoded image for painting, caching the
scaled pixmap so repaints during resizes and navigation stay cheap.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPaintEvent, QPalette, QPixmap, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


class ImageView(QWidget):
    """Paints an image centred with its aspect kept; `set_message` for loading/errors."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._scaled: QPixmap | None = None
        self._message = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(QSize(120, 120))
        self.setAutoFillBackground(False)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(480, 360)

    @property
    def image(self) -> QImage | None:
        return self._image

    @property
    def message(self) -> str:
        return self._message

    def set_image(self, image: QImage | None) -> None:
        self._image = image if image is not None and not image.isNull() else None
        self._scaled = None
        self._message = ""
        self.update()

    def set_message(self, text: str, *, keep_image: bool = False) -> None:
        """Show `text` (e.g. "Loading…", a decode error); optionally over the old image."""
        if not keep_image:
            self._image = None
            self._scaled = None
        self._message = text
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        self._scaled = None
        super().resizeEvent(event)

    def _target(self) -> QRect:
        assert self._image is not None
        size = self._image.size()
        area = self.rect().adjusted(6, 6, -6, -6)
        size = size.scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = area.x() + (area.width() - size.width()) // 2
        y = area.y() + (area.height() - size.height()) // 2
        return QRect(x, y, size.width(), size.height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        pal = self.palette()
        painter.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base).darker(104))
        if self._image is not None:
            target = self._target()
            if self._scaled is None or self._scaled.size() != target.size():
                self._scaled = QPixmap.fromImage(
                    self._image.scaled(
                        target.size(),
                        Qt.AspectRatioMode.IgnoreAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                )
            painter.drawPixmap(target.topLeft(), self._scaled)
        if self._message:
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                self.rect().adjusted(12, 12, -12, -12),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self._message,
            )
        painter.end()
