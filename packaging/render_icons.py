"""Render the app icon (resources/icons/atlas-desk.svg) into the hicolor theme sizes for the desktop files.

    python packaging/render_icons.py [OUT_DIR]     # default: packaging/icons  (or `make icons`)

Writes OUT_DIR/hicolor/scalable/apps/app.atlas.AtlasDesk.svg and
OUT_DIR/hicolor/NxN/apps/app.atlas.AtlasDesk.png for N in SIZES. Runs offscreen; the PNGs are committed so
installing needs no Qt.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "resources" / "icons" / "atlas-desk.svg"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICON_NAME = "app.atlas.AtlasDesk"  # = APP_ID: the desktop file's Icon= and the AppStream icon name


def render(out_dir: Path) -> list[Path]:
    """Render every size into ``out_dir``; returns the files written."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {SOURCE}")
    written = []
    scalable = out_dir / "hicolor" / "scalable" / "apps" / f"{ICON_NAME}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOURCE, scalable)
    written.append(scalable)
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        target = out_dir / "hicolor" / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        # Format_ARGB32 on save: straight alpha, what icon themes expect.
        if not image.convertToFormat(QImage.Format.Format_ARGB32).save(str(target), "PNG"):
            raise SystemExit(f"cannot write {target}")
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    out_dir = Path(argv[1]) if len(argv) > 1 else ROOT / "packaging" / "icons"
    for path in render(out_dir):
        print(path.relative_to(out_dir) if path.is_relative_to(out_dir) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
