"""Render the app icon's PNG sizes from its SVG (hicolor theme layout).

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/render_icons.py

Writes clml_desktop/desktop_integration/icons/hicolor/<n>x<n>/apps/<app id>.png
for every size in SIZES from clml_desktop/ui/resources/<app id>.svg. Re-run it
after editing the SVG and commit the PNGs; `clml-desktop install-desktop`
installs them as they are, and the SVG as hicolor/scalable.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_ID = "io.github.clml_desktop.CLMLDesktop"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
PACKAGE = Path(__file__).resolve().parents[1] / "clml_desktop"
ICONS = PACKAGE / "desktop_integration" / "icons"
SVG = PACKAGE / "ui" / "resources" / f"{APP_ID}.svg"


def render(svg: Path = SVG, out: Path = ICONS / "hicolor", sizes: tuple[int, ...] = SIZES) -> list[Path]:
    """Render `svg` at each size into `out`; return the files written."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"not a valid SVG: {svg}")
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        target = out / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target), "PNG"):
            raise SystemExit(f"could not write {target}")
        written.append(target)
    return written


if __name__ == "__main__":
    for path in render():
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)
    sys.exit(0)
