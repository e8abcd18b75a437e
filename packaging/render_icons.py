"""Render the app icon (``resources/icons/induction-gui.svg``) to what each platform's installer needs.

Run during the build (``python packaging/render_icons.py --out build/icons``);
the outputs are build products, never committed, so the SVG stays the one source:

* ``hicolor/<N>x<N>/apps/induction-gui.png`` for N in 16 24 32 48 64 128 256 512 and
  ``hicolor/scalable/apps/induction-gui.svg``: the freedesktop icon theme layout the
  Debian package installs under ``/usr/share/icons``;
* ``induction-gui.ico``: Windows (PyInstaller's ``icon=`` and the Inno Setup script);
* ``induction-gui.icns``: macOS (the ``.app`` bundle).

Qt's own SVG renderer (QtSvg ships in PySide6-Essentials) draws the PNGs, so the
build needs nothing beyond the app's dependencies. The ICO and ICNS containers are
written here by hand: both simply wrap PNG images in a small index, which avoids
needing Pillow, ImageMagick or macOS's ``iconutil``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import sys
from pathlib import Path

NAME = "induction-gui"
REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "resources" / "icons" / f"{NAME}.svg"
HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)  # what desktop environments look up
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # 256 is the largest an ICO entry can declare
# ICNS element types holding PNG data, and their pixel sizes (the @2x types are "retina" variants)
ICNS_TYPES = (
    (b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256), (b"ic09", 512),
    (b"ic10", 1024), (b"ic11", 32), (b"ic12", 64), (b"ic13", 256), (b"ic14", 512),
)  # fmt: skip


def render_pngs(svg: Path, sizes: set[int]) -> dict[int, bytes]:
    """PNG bytes of ``svg`` rendered at each size (square, transparent background)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # a build machine may have no display
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - QPainter wants one
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg} is not a valid SVG")
    out: dict[int, bytes] = {}
    for size in sorted(sizes):
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(0)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not image.save(buffer, "PNG"):
            raise SystemExit(f"render_icons: could not encode the {size} px PNG")
        buffer.close()
        out[size] = bytes(data.data())
    return out


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A Windows ICO holding PNG-compressed images (supported since Windows Vista).

    Layout: ICONDIR (reserved 0, type 1, count), one 16-byte ICONDIRENTRY per image
    (a width/height of 0 means 256), then the PNG files themselves.
    """
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        data = pngs[size]
        dim = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset + len(blobs))
        blobs += data
    return header + entries + blobs


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """A macOS ICNS: the magic ``icns`` and total length, then (type, length, PNG) elements, big-endian."""
    body = b"".join(kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for kind, size in ICNS_TYPES)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def build(out: Path, svg: Path = SOURCE) -> list[Path]:
    """Write every icon file under ``out`` and return their paths."""
    pngs = render_pngs(svg, {*HICOLOR_SIZES, *ICO_SIZES, *(s for _, s in ICNS_TYPES)})
    written: list[Path] = []
    for size in HICOLOR_SIZES:
        path = out / "hicolor" / f"{size}x{size}" / "apps" / f"{NAME}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pngs[size])
        written.append(path)
    scalable = out / "hicolor" / "scalable" / "apps" / f"{NAME}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    written.append(scalable)
    for path, data in (
        (out / f"{NAME}.ico", ico_bytes({s: pngs[s] for s in ICO_SIZES})),
        (out / f"{NAME}.icns", icns_bytes(pngs)),
        (out / f"{NAME}.png", pngs[256]),  # a plain PNG for anything else (e.g. the dmg volume)
    ):
        path.write_bytes(data)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "icons", help="output folder (default build/icons)")
    parser.add_argument("--svg", type=Path, default=SOURCE, help="the icon source (default resources/icons)")
    args = parser.parse_args(argv)
    for path in build(args.out, args.svg):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
