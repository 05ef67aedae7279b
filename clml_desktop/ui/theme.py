"""Light and dark palettes that follow the desktop (QStyleHints.colorScheme).

Fusion plus an explicit palette renders the same on every platform and stays
readable in both schemes; custom painting (grid cells, chips) reads colours
from the palette, never hard-codes a background. `theme` in the settings can
force light or dark; `system` follows the desktop and switches live.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#2f6fdb"
CHECK_ICON = Path(__file__).resolve().parent / "resources" / "check.svg"

_LIGHT = {
    QPalette.ColorRole.Window: "#f3f4f6",
    QPalette.ColorRole.WindowText: "#1d2026",
    QPalette.ColorRole.Base: "#ffffff",
    QPalette.ColorRole.AlternateBase: "#f6f7f9",
    QPalette.ColorRole.Text: "#1d2026",
    QPalette.ColorRole.PlaceholderText: "#7a808a",
    QPalette.ColorRole.Button: "#eceef1",
    QPalette.ColorRole.ButtonText: "#1d2026",
    QPalette.ColorRole.ToolTipBase: "#ffffff",
    QPalette.ColorRole.ToolTipText: "#1d2026",
    QPalette.ColorRole.Highlight: ACCENT,
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#1f5fc8",
    QPalette.ColorRole.Mid: "#c9cdd3",
    QPalette.ColorRole.Midlight: "#e2e5e9",
    QPalette.ColorRole.Dark: "#9aa0a8",
}

_DARK = {
    QPalette.ColorRole.Window: "#1f2126",
    QPalette.ColorRole.WindowText: "#e6e8eb",
    QPalette.ColorRole.Base: "#17191d",
    QPalette.ColorRole.AlternateBase: "#1d2024",
    QPalette.ColorRole.Text: "#e6e8eb",
    QPalette.ColorRole.PlaceholderText: "#8c929b",
    QPalette.ColorRole.Button: "#2a2d33",
    QPalette.ColorRole.ButtonText: "#e6e8eb",
    QPalette.ColorRole.ToolTipBase: "#2a2d33",
    QPalette.ColorRole.ToolTipText: "#e6e8eb",
    QPalette.ColorRole.Highlight: "#4a86e8",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#7fb0ff",
    QPalette.ColorRole.Mid: "#3a3e45",
    QPalette.ColorRole.Midlight: "#30343a",
    QPalette.ColorRole.Dark: "#101114",
}

_STYLE = """
QToolBar {{ border: none; spacing: 4px; padding: 3px 6px; }}
QStatusBar {{ border-top: 1px solid {border}; }}
QStatusBar::item {{ border: none; }}
QDockWidget::title {{ padding: 6px 8px; font-weight: 600; }}
QListView#grid {{ border: none; }}
QTreeView#tagList {{ border: 1px solid {border}; border-radius: 4px; }}
QLineEdit {{ padding: 3px 6px; border: 1px solid {border}; border-radius: 4px; background: {base}; }}
QLineEdit:focus {{ border-color: {accent}; }}
QLabel#filterCount {{ color: {muted}; }}
QWidget#filterBar, QWidget#batchBar {{ border-bottom: 1px solid {border}; }}
QLabel#emptyTitle {{ font-size: 18pt; font-weight: 600; }}
QLabel#emptyText {{ color: {muted}; }}
QCheckBox::indicator {{ width: 14px; height: 14px; border: 1px solid {indicator}; border-radius: 3px; background: {base}; }}
QCheckBox::indicator:hover, QRadioButton::indicator:hover {{ border-color: {accent}; }}
QCheckBox::indicator:checked {{ background: {accent}; border-color: {accent}; image: url({check}); }}
QRadioButton::indicator {{ width: 14px; height: 14px; border: 1px solid {indicator}; border-radius: 8px; background: {base}; }}
QRadioButton::indicator:checked {{ border-color: {accent}; background: qradialgradient(cx: 0.5, cy: 0.5, radius: 0.5, fx: 0.5, fy: 0.5, stop: 0 {accent}, stop: 0.5 {accent}, stop: 0.56 {base}, stop: 1 {base}); }}
QCheckBox::indicator:disabled, QRadioButton::indicator:disabled {{ border-color: {disabled}; background: {window}; }}
"""

# Indicator outlines (check boxes, radio buttons) against the window: WCAG's
# 3:1 for graphical objects in both themes (Fusion's own radio outline is a
# darker shade of the window, invisible on the dark one).
INDICATOR = {"light": "#737985", "dark": "#8c929b"}


def is_dark(theme: str) -> bool:
    """Whether `theme` (system/light/dark) resolves to dark right now."""
    if theme == "dark":
        return True
    if theme == "light":
        return False
    app = QGuiApplication.instance()
    if app is None:
        return False
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, theme: str = "system") -> bool:
    """Apply Fusion with the light or dark palette; returns True when dark."""
    dark = is_dark(theme)
    if not app.property("clmlFusion"):  # setting it again restyles every widget for nothing
        app.setStyle("Fusion")  # (style().name() is "" once a style sheet wraps the style)
        app.setProperty("clmlFusion", True)
    palette = QPalette()
    for role, color in (_DARK if dark else _LIGHT).items():
        palette.setColor(role, QColor(color))
    disabled = QColor("#6b7078" if dark else "#a0a5ad")
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    app.setPalette(palette)
    app.setStyleSheet(
        _STYLE.format(
            border="#3a3e45" if dark else "#d5d9de",
            base=_DARK[QPalette.ColorRole.Base] if dark else _LIGHT[QPalette.ColorRole.Base],
            accent=ACCENT,
            muted="#9aa0a8" if dark else "#6b7078",
            indicator=INDICATOR["dark" if dark else "light"],
            check=CHECK_ICON.as_posix(),
            disabled="#4a4e56" if dark else "#c3c7cd",
            window=(_DARK if dark else _LIGHT)[QPalette.ColorRole.Window],
        )
    )
    return dark


def follow_system(app: QApplication, theme_getter: Callable[[], str]) -> None:
    """Re-apply the theme when the desktop switches between light and dark."""
    QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_theme(app, theme_getter()))
