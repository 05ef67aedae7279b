"""Issue 13 (theme and chips): chips stay readable across a live theme switch,
dark-theme radio buttons and check boxes show their indicators, the review's
verdict buttons are disabled (and look it) without a model, and long tag names
elide and wrap instead of being clipped in a narrow inspector."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QRadioButton,
    QStyle,
    QStyleOptionButton,
    QVBoxLayout,
    QWidget,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collection_factory import build_collection  # noqa: E402
from conftest import open_and_wait  # noqa: E402
from panel_helpers import close_context, open_context  # noqa: E402

from clml_desktop.ui.chips import ChipKind, TagChip, chip_colors  # noqa: E402
from clml_desktop.ui.flow_layout import FlowLayout  # noqa: E402
from clml_desktop.ui.inspector import Inspector  # noqa: E402
from clml_desktop.ui.review import ReviewView  # noqa: E402
from clml_desktop.ui.theme import apply_theme  # noqa: E402


def _luminance(c: QColor) -> float:
    def ch(v: int) -> float:
        x = v / 255
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

    return 0.2126 * ch(c.red()) + 0.7152 * ch(c.green()) + 0.0722 * ch(c.blue())


def contrast(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio (computed here, independent of the code under test)."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.fixture
def restore_theme(qapp):
    """Put the application's style, palette and style sheet back afterwards."""
    app = QApplication.instance()
    style, palette, sheet = app.style().name(), QPalette(app.palette()), app.styleSheet()
    yield app
    app.setStyleSheet(sheet)
    app.setPalette(palette)
    app.setStyle(style)


def _assert_chips_readable(chips: list[TagChip], theme: str) -> None:
    assert chips
    for chip in chips:
        fill = chip_colors(chip.palette(), chip.kind)[0]
        name = chip.name_label.palette().color(QPalette.ColorRole.WindowText)
        assert contrast(name, fill) >= 4.5, (theme, chip.kind, chip.tag, name.name(), fill.name())
        for glyph, button in chip.buttons.items():
            colour = button.palette().color(QPalette.ColorRole.ButtonText)
            assert contrast(colour, fill) >= 4.5, (theme, chip.kind, glyph, colour.name(), fill.name())


@pytest.mark.parametrize("order", [("dark", "light"), ("light", "dark")])
def test_chips_restyle_on_a_live_theme_switch(tmp_path, qtbot, restore_theme, order):
    app = restore_theme
    context, info = open_context(tmp_path, qtbot)
    widget = Inspector(context)
    qtbot.addWidget(widget)
    widget.resize(400, 700)
    try:
        apply_theme(app, order[0])
        widget.show()
        context.set_current_image(info["ids"][1])
        widget.set_show_rejected(True)
        qtbot.wait(20)
        assert widget.chips(ChipKind.SUGGESTED) and widget.chips(ChipKind.POSITIVE)
        _assert_chips_readable(widget.chips(), order[0])
        for theme in (order[1], order[0], order[1]):
            apply_theme(app, theme)
            qtbot.wait(20)
            _assert_chips_readable(widget.chips(), theme)
        # Chips pooled while hidden, shown after the switch, are right too.
        context.set_current_image(info["ids"][0])
        qtbot.wait(20)
        _assert_chips_readable(widget.chips(), order[1])
    finally:
        close_context(context, widget)


def test_window_theme_menu_restyles_inspector_chips(tmp_path, qtbot, window, restore_theme):
    folder = tmp_path / "modelled"
    info = build_collection(folder, n_images=6)
    open_and_wait(qtbot, window, folder, 6)
    window.context.set_current_image(info["ids"][1])
    qtbot.waitUntil(lambda: bool(window.inspector.chips(ChipKind.SUGGESTED)), timeout=10000)
    for theme in ("dark", "light", "dark"):
        window.actions_.action(f"view.theme.{theme}").trigger()
        qtbot.wait(20)
        _assert_chips_readable(window.inspector.chips(), theme)


def _indicator_contrast(button, background: QColor) -> float:
    """The most any pixel of the indicator stands out from `background`."""
    image = button.grab().toImage()
    option = QStyleOptionButton()
    button.initStyleOption(option)
    element = (QStyle.SubElement.SE_RadioButtonIndicator if isinstance(button, QRadioButton)
               else QStyle.SubElement.SE_CheckBoxIndicator)
    rect = button.style().subElementRect(element, option, button).intersected(image.rect())
    return max(
        contrast(QColor(image.pixel(QPoint(x, y))), background)
        for x in range(rect.left(), rect.right() + 1)
        for y in range(rect.top(), rect.bottom() + 1)
    )


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_radio_and_check_indicators_are_visible(qtbot, restore_theme, theme):
    apply_theme(restore_theme, theme)
    host = QWidget()
    qtbot.addWidget(host)
    box = QVBoxLayout(host)
    buttons = [QRadioButton("Radio", host), QRadioButton("On", host), QCheckBox("Check", host),
               QCheckBox("On", host)]
    buttons[1].setChecked(True)
    buttons[3].setChecked(True)
    for button in buttons:
        box.addWidget(button)
    host.show()
    qtbot.waitExposed(host)
    palette = host.palette()
    window = palette.color(QPalette.ColorRole.Window)
    # Labels: the roles the buttons draw their text with.
    assert contrast(palette.color(QPalette.ColorRole.WindowText), window) >= 4.5
    assert contrast(palette.color(QPalette.ColorRole.ButtonText), palette.color(QPalette.ColorRole.Button)) >= 4.5
    assert contrast(palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText), window) >= 2.0
    # Indicators: WCAG's 3:1 for graphical objects, checked or not.
    for button in buttons:
        assert _indicator_contrast(button, window) >= 3.0, (theme, type(button).__name__, button.text())


def test_verdict_buttons_disabled_without_a_model(tmp_path, qtbot, restore_theme):
    apply_theme(restore_theme, "dark")
    context, _info = open_context(tmp_path, qtbot, with_model=False)
    view = ReviewView(context)
    qtbot.addWidget(view)
    view.resize(1100, 700)
    try:
        view.show()
        qtbot.waitUntil(lambda: not view.is_loading(), timeout=10000)
        for command in ("accept", "reject"):
            button = view.buttons[command]
            assert not button.isEnabled()
            assert "Train a model first" in button.toolTip()
            # It must look disabled too: no bright verdict colour on its text.
            image = button.grab().toImage()
            colours = {QColor(image.pixel(x, y)).name()
                       for x in range(image.width()) for y in range(image.height())}
            assert not colours & {"#6fd69b", "#1f7a43", "#f08a7c", "#b03a2e"}, command
    finally:
        close_context(context, view)


def test_verdict_buttons_enabled_with_a_suggestion(tmp_path, qtbot):
    context, _info = open_context(tmp_path, qtbot)
    view = ReviewView(context)
    qtbot.addWidget(view)
    try:
        view.show()
        qtbot.waitUntil(lambda: view.queue is not None and len(view.queue) > 0, timeout=10000)
        assert view.buttons["accept"].isEnabled() and view.buttons["reject"].isEnabled()
        assert "Train a model first" not in view.buttons["accept"].toolTip()
    finally:
        close_context(context, view)


def test_chip_buttons_can_be_disabled_with_a_reason(qtbot):
    chip = TagChip("tree", ChipKind.SUGGESTED, score=0.8)
    qtbot.addWidget(chip)
    chip.set_actions_enabled(False, "Train a model first")
    assert not chip.buttons["accept"].isEnabled() and not chip.buttons["reject"].isEnabled()
    assert chip.buttons["accept"].toolTip() == "Train a model first"
    chip.configure("sky", score=0.7)
    assert chip.buttons["reject"].toolTip() == "Train a model first"
    chip.set_actions_enabled(True)
    assert chip.buttons["accept"].isEnabled() and "sky" in chip.buttons["accept"].toolTip()


def test_long_tags_elide_and_chips_wrap_in_a_narrow_flow(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    flow = FlowLayout(host, spacing=5)
    long_tag = "an extraordinarily long tag name that nobody would want to read in full " * 2
    chips = [TagChip(tag, ChipKind.SUGGESTED, score=0.7, parent=host)
             for tag in ("cat", "dog", long_tag, "grass", "sky", "tree")]
    for chip in chips:
        flow.addWidget(chip)
    width = 240
    host.resize(width, flow.heightForWidth(width))
    host.show()
    qtbot.waitExposed(host)
    assert flow.minimumSize().width() <= width
    for chip in chips:
        geometry = chip.geometry()
        assert geometry.left() >= 0 and geometry.right() < width, (chip.tag, geometry)
        assert geometry.width() >= chip.minimumSizeHint().width()
    assert len({chip.geometry().top() for chip in chips}) > 1, "chips wrap onto several lines"
    long_chip = chips[2]
    assert long_chip.name_label.text() != long_tag and long_chip.name_label.text().endswith("…")
    assert long_chip.name_label.toolTip() == long_tag
    assert long_tag in long_chip.toolTip()
    short = chips[0]
    assert short.name_label.text() == "cat" and short.name_label.toolTip() == ""
    # Wider: the long name still elides (capped), the others are whole.
    host.resize(1000, flow.heightForWidth(1000))
    qtbot.wait(10)
    assert long_chip.name_label.text().endswith("…")
    assert all(c.name_label.text() == c.tag for c in chips if c is not long_chip)


def test_chips_narrower_than_asked_drop_the_meta_not_the_buttons(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    flow = FlowLayout(host, spacing=5)
    chip = TagChip("grass", ChipKind.SUGGESTED, score=0.72, threshold=0.5, parent=host)
    flow.addWidget(chip)
    width = chip.sizeHint().width() - 20  # a very narrow inspector
    assert chip.minimumSizeHint().width() <= width
    host.resize(width, flow.heightForWidth(width))
    host.show()
    qtbot.waitExposed(host)
    assert chip.geometry().right() < width
    assert not chip.meta_label.isVisible() and "72%" in chip.toolTip()
    for button in chip.buttons.values():
        assert button.isVisible() and button.geometry().right() <= chip.width()
    host.resize(width + 200, flow.heightForWidth(width + 200))
    qtbot.waitUntil(chip.meta_label.isVisible, timeout=2000)


def test_narrow_inspector_keeps_chips_inside(tmp_path, qtbot):
    context, info = open_context(tmp_path, qtbot)
    widget = Inspector(context)
    qtbot.addWidget(widget)
    widget.resize(150, 700)
    try:
        widget.show()
        context.set_current_image(info["ids"][5])  # no tags: the "No tags yet" hint shows
        qtbot.wait(50)
        viewport = widget.tags_scroll.viewport()
        assert widget.chips(ChipKind.SUGGESTED)
        for chip in widget.chips():
            right = chip.mapTo(viewport, QPoint(chip.width() - 1, 0)).x()
            assert right < viewport.width(), (chip.tag, right, viewport.width())
    finally:
        close_context(context, widget)
