"""How every analysis plot looks: black on white, projector-sized fonts, no zooming.

The analysis views build their plots, heatmaps and captions with these
helpers, so a font-size change or a projector fix applies to all of them at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF
from PySide6.QtWidgets import QLabel, QTableWidgetItem

import pyqtgraph as pg

from .heatmap import Heatmap
from .plot_text import fit_axis_labels, free_width


LABEL_MARGIN = 2  # px a TextItem's box keeps round its glyphs on each side


def qfont(points: float, bold: bool = False) -> QFont:
    """A font of the given point size (never below 11 pt: the projector minimum)."""
    font = QFont()
    font.setPointSizeF(max(11.0, points))
    font.setBold(bold)
    return font


def style_plot(plot: pg.PlotItem, points: float, title: str | None = None,
               x_label: str | None = None, y_label: str | None = None) -> None:
    """Black text on white, projector-sized ticks, labels and title, on any PlotItem."""
    font = qfont(points)
    fit_axis_labels(plot)  # long axis names are elided to their axis, with the whole name in a tool tip
    css = {"color": "#000000", "font-size": f"{max(11.0, points):.0f}pt"}
    for name in ("bottom", "left"):
        axis = plot.getAxis(name)
        axis.setTextPen("k")
        axis.setPen("k")
        axis.setTickFont(font)
    if x_label is not None:
        plot.setLabel("bottom", x_label, **css)
    if y_label is not None:
        plot.setLabel("left", y_label, **css)
    if title is not None:
        plot.setTitle(title, color="#000000", size=f"{max(11.0, points) + 1:.0f}pt")
        free_width(plot.titleLabel)  # a long title is cut at the pane's edge instead of widening the plot past it


def style_heatmap(hm: Heatmap, points: float, title: str, x_label: str, y_label: str) -> None:
    """Heatmap fonts, black axes and colour-bar text, and a title that names the matrix."""
    hm.set_font_size(max(11.0, points))
    hm.set_axis_labels(x_label, y_label)
    style_plot(hm.plot, points, title, x_label, y_label)
    if hm.colorbar is not None:
        hm.colorbar.axis.setTextPen("k")
        hm.colorbar.axis.setTickFont(qfont(points))
    hm.warning.setFont(qfont(points))


def caption(points: float = 11.0, bold: bool = False) -> QLabel:
    """A word-wrapped, selectable label for definitions and sums written next to a plot."""
    label = QLabel()
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setFont(qfont(points, bold))
    return label  # text colour from the palette: these labels sit on the window, light or dark


def tint_cell(item: QTableWidgetItem, colour: QColor | str) -> None:
    """A light background on a table cell, with black text on it in either theme.

    Untinted cells keep the palette's text colour, so a dark theme's table
    stays readable; a tinted cell is always light, so its text must be dark.
    """
    item.setBackground(QBrush(QColor(colour)))
    item.setForeground(QBrush(QColor("black")))


def make_plot() -> pg.PlotWidget:
    """A white, non-zoomable plot widget (a teaching figure, not a data explorer)."""
    widget = pg.PlotWidget(background="w")
    plot = widget.getPlotItem()
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    return widget


def position_ticks(labels: Sequence[str], max_ticks: int = 24) -> list[tuple[float, str]]:
    """Ticks at integer positions, thinned so labels do not overlap on a projector."""
    step = max(1, int(np.ceil(len(labels) / max_ticks)))
    return [(float(i), labels[i]) for i in range(0, len(labels), step)]


def thin_value_labels(plot: pg.PlotItem, labels: Sequence[pg.TextItem], values: Sequence[float]) -> None:
    """Value labels over bars, thinned so that no two are drawn over each other at the plot's width.

    On a narrow plot (a 1280 px screen) the labels of neighbouring bars
    collide; the labels of the largest values are kept, the others hidden
    (their bars still show them, and the hover read-outs and captions carry
    the numbers). Runs again whenever the plot is resized.
    """
    plot._value_labels = (list(labels), [abs(float(v)) for v in values])  # type: ignore[attr-defined]
    if not getattr(plot, "_thins_labels", False):
        plot._thins_labels = True  # type: ignore[attr-defined]
        plot.vb.sigResized.connect(lambda *_: _thin_labels(plot))
        plot.vb.sigXRangeChanged.connect(lambda *_: _thin_labels(plot))
    _thin_labels(plot)


def _thin_labels(plot: pg.PlotItem) -> None:
    if not shiboken6.isValid(plot) or not shiboken6.isValid(plot.vb):
        return
    labels, sizes = plot._value_labels  # type: ignore[attr-defined]
    (x0, x1), width = plot.vb.viewRange()[0], plot.vb.width()
    if x1 <= x0 or width <= 0:
        return
    px = width / (x1 - x0)  # pixels per x unit
    kept: list[tuple[float, float]] = []  # (centre px, width px) of the labels shown
    for i in sorted(range(len(labels)), key=lambda i: -sizes[i]):  # the largest values first
        label = labels[i]
        if not shiboken6.isValid(label):
            continue
        centre, w = label.pos().x() * px, label.boundingRect().width() - 2 * LABEL_MARGIN
        fits = all(abs(centre - c) >= (w + cw) / 2 for c, cw in kept)
        label.setVisible(fits)
        if fits:
            kept.append((centre, w))


def fit_position_ticks(plot: pg.PlotItem, labels: Sequence[str], max_ticks: int = 32) -> None:
    """Bottom-axis ticks at integer positions, thinned to what the plot's width holds without overlapping.

    A fixed number of ticks overlapped on a narrow plot (64 positions in 470 px
    read "2 4 6 8101214"); here the step follows the width and font, again on
    every resize.
    """
    plot._position_labels = (list(labels), max_ticks)  # type: ignore[attr-defined]
    if not getattr(plot, "_fits_ticks", False):
        plot._fits_ticks = True  # type: ignore[attr-defined]
        plot.vb.sigResized.connect(lambda *_: _fit_ticks(plot))
    _fit_ticks(plot)


def _fit_ticks(plot: pg.PlotItem) -> None:
    if not shiboken6.isValid(plot) or not shiboken6.isValid(plot.vb):
        return
    labels, max_ticks = plot._position_labels  # type: ignore[attr-defined]
    axis = plot.getAxis("bottom")
    metrics = QFontMetricsF(axis.style.get("tickFont") or QFont())
    widest = max((metrics.horizontalAdvance(s) for s in labels), default=0.0) + metrics.averageCharWidth() * 2
    fitting = int(plot.vb.width() // widest) if widest > 0 and plot.vb.width() > 0 else max_ticks
    axis.setTicks([position_ticks(labels, max_ticks=max(2, min(max_ticks, fitting)))])
