"""Light and dark themes: one QPalette on the Fusion style for the whole application.

Why a palette and not a style sheet: every widget (menus, docks, tables, spin
boxes, dialogs) reads the application palette, so one call themes everything
Qt draws itself, and nothing needs to be re-applied when a view is built later.

What follows the theme: the window, menus, tool tips, tab bar, docks and their
panels, tables' base colours, text fields, buttons and dialogs.

What does not: the pyqtgraph canvases of the views stay white with black text
and axes in both themes ("figures on paper"). The views draw black annotations
on every redraw (value labels, axis text pens, table foregrounds on tinted
cells); flipping only the canvas to black would make those invisible until the
views themselves take a theme. :func:`apply_plot_theme` is the single,
view-independent place that sets canvases and axes; it keeps them on paper and
is where a future dark canvas would be switched on (``PLOTS_FOLLOW_THEME``).
"""

from __future__ import annotations

import PySide6  # noqa: F401  # bind pyqtgraph to PySide6
import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory, QWidget

THEMES: dict[str, str] = {"light": "&Light", "dark": "&Dark"}
DEFAULT_THEME = "light"
# see the module docstring: canvases stay on paper until the views draw theme-aware annotations
PLOTS_FOLLOW_THEME = False


def _fusion_light() -> QPalette:
    """Fusion's own light palette, independent of the desktop's colours (predictable on a projector)."""
    style = QStyleFactory.create("Fusion")
    return style.standardPalette() if style is not None else QPalette()


def _dark() -> QPalette:
    """A dark palette with enough contrast for text (white on near-black) and a clearly visible highlight."""
    p = QPalette()
    window, base, text = QColor(37, 37, 38), QColor(24, 24, 24), QColor(235, 235, 235)
    disabled = QColor(128, 128, 128)
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor(45, 45, 48),
        QPalette.ColorRole.ToolTipBase: QColor(50, 50, 52),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: disabled,
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor(53, 53, 55),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 80, 80),
        QPalette.ColorRole.Link: QColor(100, 170, 255),
        QPalette.ColorRole.Highlight: QColor(42, 130, 218),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Light: QColor(75, 75, 78),
        QPalette.ColorRole.Midlight: QColor(60, 60, 62),
        QPalette.ColorRole.Mid: QColor(45, 45, 47),
        QPalette.ColorRole.Dark: QColor(20, 20, 20),
        QPalette.ColorRole.Shadow: QColor(0, 0, 0),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def palette(name: str) -> QPalette:
    """The palette of a theme; an unknown name (a stale settings file) gives the light one."""
    return _dark() if name == "dark" else _fusion_light()


def apply_theme(name: str, app: QApplication | None = None) -> str:
    """Put the theme's palette on the Fusion style of the whole application; returns the theme applied.

    Fusion is set because other styles (the native ones) ignore much of the palette.
    """
    app = app or QApplication.instance()
    name = name if name in THEMES else DEFAULT_THEME
    if app is None:
        return name
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    app.setPalette(palette(name))
    return name


def plot_colors(name: str) -> tuple[str, str]:
    """(background, foreground) of the plot canvases under a theme."""
    if PLOTS_FOLLOW_THEME and name == "dark":
        return "k", "w"
    return "w", "k"


def apply_plot_theme(root: QWidget, name: str) -> int:
    """Set background and axis pens of every pyqtgraph canvas under ``root``; returns how many were set.

    Works on any widget tree (it does not need to know the views), so panels
    and views added later are themed by calling it again.
    """
    background, foreground = plot_colors(name)
    count = 0
    for view in root.findChildren(pg.GraphicsView):
        view.setBackground(background)
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem):
                item.setPen(foreground)
                item.setTextPen(foreground)
        count += 1
    return count
