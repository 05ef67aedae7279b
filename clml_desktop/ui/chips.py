"""Tag chips: one small pill per tag of an image, in three visibly distinct styles.

Why chips and not a list: a person must tell at a glance what they confirmed
(solid), what the model merely proposes (outlined, dashed, with how
likely it is and ✓/✗ buttons) and what they rejected (struck through, hidden
unless asked for). Colours come from the palette, so the chips stay readable
in light and dark themes.
"""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from clml_desktop.collection.labels import LabelSource
from clml_desktop.inference.likely_text import likely_text, shown_from_text


class ChipKind(StrEnum):
    POSITIVE = "positive"
    SUGGESTED = "suggested"
    REJECTED = "rejected"


SOURCE_SHORT = {
    LabelSource.ORIGINAL.value: "file",
    LabelSource.MANUAL.value: "you",
    LabelSource.ACCEPTED.value: "accepted",
    LabelSource.IMPORTED.value: "import",
}

SOURCE_LONG = {
    LabelSource.ORIGINAL.value: "came with the folder's tag files",
    LabelSource.MANUAL.value: "set by hand",
    LabelSource.ACCEPTED.value: "an accepted model suggestion",
    LabelSource.IMPORTED.value: "imported from a tag file",
}


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """Blend two colours: t = 0 gives `a`, t = 1 gives `b`."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


def luminance(colour: QColor) -> float:
    """WCAG 2 relative luminance of an opaque colour (0 black … 1 white)."""

    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.red()) + 0.7152 * channel(colour.green()) + 0.0722 * channel(colour.blue())


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio of two colours, 1 (same) … 21 (black on white)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


TEXT_CONTRAST = 4.5  # WCAG AA for normal text


def readable(colour: QColor, background: QColor, ratio: float = TEXT_CONTRAST) -> QColor:
    """`colour`, moved towards black or white (whichever contrasts more with
    `background`) just far enough to reach `ratio` against it."""
    if contrast_ratio(colour, background) >= ratio:
        return QColor(colour)
    target = QColor("#000000") if luminance(background) > 0.18 else QColor("#ffffff")
    for step in range(1, 21):
        moved = mix(colour, target, step / 20)
        if contrast_ratio(moved, background) >= ratio:
            return moved
    return target


def chip_colors(palette: QPalette, kind: ChipKind) -> tuple[QColor, QColor, QColor]:
    """(fill, border, text) for a chip kind, derived from the current palette;
    the text always reaches WCAG AA (4.5:1) against the fill."""
    base = palette.color(QPalette.ColorRole.Base)
    window = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.Text)
    accent = palette.color(QPalette.ColorRole.Highlight)
    if kind is ChipKind.POSITIVE:
        on_accent = palette.color(QPalette.ColorRole.HighlightedText)
        # A light accent (the dark theme's) is darkened until its text reads.
        fill = readable(accent, on_accent)
        return fill, fill.darker(115), on_accent
    if kind is ChipKind.SUGGESTED:
        suggest = QColor("#d08a00") if base.lightness() > 128 else QColor("#f0b43c")
        fill = mix(base, suggest, 0.14)
        return fill, suggest, readable(text, fill)
    return window, mix(window, text, 0.35), readable(mix(window, text, 0.55), window)


class _NameLabel(QLabel):
    """The tag's name, elided (full name in the tooltip) when it is very long or
    when the chip is given less width than it asks for: chips wrap in a narrow
    inspector, and one chip wider than the inspector must not be clipped."""

    MAX_WIDTH = 220

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setText(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        fm = self.fontMetrics()
        return QSize(min(fm.horizontalAdvance(self._full), self.MAX_WIDTH) + 2, fm.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        fm = self.fontMetrics()
        short = fm.horizontalAdvance(self._full[:3] + "…")
        return QSize(min(fm.horizontalAdvance(self._full), short) + 2, fm.height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def is_elided(self) -> bool:
        return self.text() != self._full

    def _elide(self) -> None:
        width = min(self.width(), self.MAX_WIDTH + 2)
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width)
        if shown != self.text():
            QLabel.setText(self, shown)
        self.setToolTip(self._full if shown != self._full else "")


class TagChip(QWidget):
    """One tag as a pill; its buttons emit the action, the owner does the edit."""

    removeRequested = Signal(str)
    acceptRequested = Signal(str)
    rejectRequested = Signal(str)
    restoreRequested = Signal(str)

    RADIUS = 11.0

    def __init__(
        self,
        tag: str,
        kind: ChipKind,
        *,
        source: str | None = None,
        score: float | None = None,
        threshold: float | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.tag = tag
        self.kind = kind
        self.source = source
        self.score = score
        self.threshold = threshold
        # Maximum: never wider than asked, but narrower when the flow layout has
        # less room (the name label then elides).
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.setAttribute(Qt.WidgetAttribute.WA_Hover, True)
        self._colouring = False
        self._recolour_pending = False
        self._text_colour = QColor()
        self._actions_enabled = True
        self._actions_reason = ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 2, 4, 2)
        layout.setSpacing(4)

        self.name_label = _NameLabel(self)
        font = self.name_label.font()
        if kind is ChipKind.REJECTED:
            font.setStrikeOut(True)
        if kind is ChipKind.POSITIVE:
            font.setWeight(QFont.Weight.DemiBold)
        self.name_label.setFont(font)
        layout.addWidget(self.name_label, 1)

        self.meta_label = QLabel(self)
        small = self.meta_label.font()
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.82))
        self.meta_label.setFont(small)
        layout.addWidget(self.meta_label)

        self.buttons: dict[str, QToolButton] = {}
        if kind is ChipKind.POSITIVE:
            self._add_button("remove", "×", self.removeRequested)
        elif kind is ChipKind.SUGGESTED:
            self._add_button("accept", "✓", self.acceptRequested)
            self._add_button("reject", "✗", self.rejectRequested)
        else:
            self._add_button("restore", "↺", self.restoreRequested)
        self._apply_text_colors()
        self.configure(tag, source=source, score=score, threshold=threshold)

    def configure(
        self,
        tag: str,
        *,
        source: str | None = None,
        score: float | None = None,
        threshold: float | None = None,
    ) -> None:
        """Show another tag of the same kind (the inspector reuses chips: creating
        widgets on every navigation is what made it lag)."""
        self.tag, self.source, self.score, self.threshold = tag, source, score, threshold
        self.name_label.set_full_text(tag)
        meta = self._meta_text()
        self.meta_label.setText(meta)
        self._fit_meta()
        tips = {
            "remove": f"Remove '{tag}' — not on this image (won't be suggested again)",
            "accept": f"Accept '{tag}' (A)",
            "reject": f"Reject '{tag}' (R)",
            "restore": f"Forget the rejection of '{tag}' (unknown again, may be suggested)",
        }
        for name, button in self.buttons.items():
            button.setToolTip(tips[name] if self._actions_enabled else self._actions_reason)
        self._tips = tips
        self.setToolTip(self._tooltip())
        self.updateGeometry()

    def _widths(self) -> tuple[int, int]:
        """(asked for, least usable) widths: the least drops the meta text (how
        likely, or where from; the chip's tooltip still says it) and elides the name."""
        layout = self.layout()
        m = layout.contentsMargins()
        space = layout.spacing()
        fixed = m.left() + m.right() + sum(space + b.sizeHint().width() for b in self.buttons.values())
        meta = space + self.meta_label.sizeHint().width() if self.meta_label.text() else 0
        return (fixed + self.name_label.sizeHint().width() + meta,
                fixed + self.name_label.minimumSizeHint().width())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(self._widths()[0], super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(self._widths()[1], super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit_meta()

    def _fit_meta(self) -> None:
        """Show the meta text only when the chip has the room it asked for."""
        wanted = bool(self.meta_label.text()) and self.width() >= self._widths()[0]
        if self.meta_label.isHidden() == wanted:
            self.meta_label.setVisible(wanted)

    def _meta_text(self) -> str:
        if self.kind is ChipKind.SUGGESTED and self.score is not None:
            return likely_text(self.score)
        if self.kind is ChipKind.POSITIVE and self.source:
            return SOURCE_SHORT.get(self.source, self.source)
        return ""

    def _tooltip(self) -> str:
        if self.kind is ChipKind.POSITIVE:
            why = SOURCE_LONG.get(self.source or "", self.source or "")
            return f"<b>{self.tag}</b> — confirmed tag" + (f", {why}" if why else "")
        if self.kind is ChipKind.SUGGESTED:
            how = [likely_text(self.score)] if self.score is not None else []
            if self.threshold is not None:
                how.append(shown_from_text(self.threshold))
            score = f" ({', '.join(how)})" if how else ""
            return f"<b>{self.tag}</b> — suggested by the model{score}; ✓ accept, ✗ reject"
        return f"<b>{self.tag}</b> — rejected by you; the model will learn it is absent"

    def _add_button(self, name: str, glyph: str, signal: Signal) -> None:
        button = QToolButton(self)
        button.setText(glyph)
        button.setAutoRaise(True)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        button.setFixedSize(QSize(18, 18))
        button.setObjectName(f"chip-{name}")
        bold = button.font()
        bold.setWeight(QFont.Weight.Bold)
        button.setFont(bold)
        button.clicked.connect(lambda: signal.emit(self.tag))
        self.layout().addWidget(button)
        self.buttons[name] = button

    def set_actions_enabled(self, enabled: bool, reason: str = "") -> None:
        """Enable the ✓/✗ (or ×/↺) buttons, or disable them with `reason` as their
        tooltip (e.g. 'Train a model first')."""
        self._actions_enabled, self._actions_reason = enabled, reason
        for name, button in self.buttons.items():
            button.setEnabled(enabled)
            button.setToolTip(self._tips[name] if enabled else reason)

    def text_colours(self) -> dict[str, QColor]:
        """The colours the chip's texts are drawn in now (tests check their contrast)."""
        out = {"name": self.name_label.palette().color(QPalette.ColorRole.WindowText),
               "meta": self.meta_label.palette().color(QPalette.ColorRole.WindowText)}
        for name, button in self.buttons.items():
            out[name] = button.palette().color(QPalette.ColorRole.ButtonText)
        return out

    def fill_colour(self) -> QColor:
        return chip_colors(self.palette(), self.kind)[0]

    def _apply_text_colors(self) -> None:
        """Colour the text through palettes (per-widget style sheets cost milliseconds
        per chip, and an image's chips are rebuilt on every navigation)."""
        fill, border, text = chip_colors(self.palette(), self.kind)
        meta = border if self.kind is ChipKind.SUGGESTED else mix(text, fill, 0.3)
        meta = readable(meta, fill)
        self._text_colour = QColor(text)
        for widget, colour in ((self.name_label, text), (self.meta_label, meta)):
            pal = widget.palette()
            pal.setColor(QPalette.ColorRole.WindowText, colour)
            widget.setPalette(pal)
        for button in self.buttons.values():
            pal = button.palette()
            pal.setColor(QPalette.ColorRole.ButtonText, text)
            button.setPalette(pal)

    def _recolour(self) -> None:
        self._recolour_pending = False
        if self._colouring:
            return
        self._colouring = True
        try:
            self._apply_text_colors()
        finally:
            self._colouring = False

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange) and not self._colouring:
            self._recolour()
            # A theme switch sets a new application style sheet too, and
            # re-polishing puts back the palettes the labels had when last
            # polished (the old theme's text colour): colour again once that is done.
            if not self._recolour_pending:
                self._recolour_pending = True
                QTimer.singleShot(0, self, self._recolour)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        fill, border, text = chip_colors(self.palette(), self.kind)
        if (text != self._text_colour
                or self.name_label.palette().color(QPalette.ColorRole.WindowText) != text):
            self._recolour()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        pen = QPen(border, 1.2)
        if self.kind is ChipKind.SUGGESTED:
            pen.setStyle(Qt.PenStyle.DashLine)
        if self.underMouse():
            fill = fill.lighter(108) if fill.lightness() < 128 else fill.darker(104)
        painter.setPen(pen)
        painter.setBrush(fill)
        radius = min(self.RADIUS, rect.height() / 2)
        painter.drawRoundedRect(rect, radius, radius)
        painter.end()
