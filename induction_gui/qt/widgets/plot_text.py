"""Text on plots that fits its room: titles, captions and axis labels cut with "…", whole in a tool tip.

pyqtgraph sizes a title to its text (widening the plot past its pane) and
draws an axis label centred on its axis however long it is (the canvas cuts
both ends). On a 1280 px screen both happen; here every such text is elided
to the room it gets, again whenever that room changes, and the whole text
stays readable in a tool tip. Callers keep setting and reading the whole text
(``LabelItem.text``, ``AxisItem.labelText``); only the drawing is cut.
"""

from __future__ import annotations

import re

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QWidget

import pyqtgraph as pg


def free_width(label: pg.LabelItem) -> pg.LabelItem:
    """Stop a pyqtgraph LabelItem from widening its layout column, and elide its text to the room it gets.

    LabelItem sets its minimum width to the text's width on every change, so a
    long title or caption widens the whole plot past its pane and the right
    edge (colour bar, last columns) is cut off. Freed, the label keeps its whole
    text (``full_text``, also its tool tip when cut) and shows each line cut
    with "…" to the label's width, again whenever its width changes. Returns the label.
    """
    if getattr(label, "_free_width", False):  # already freed: wrapping again would nest the patches
        return label
    label._free_width = True  # type: ignore[attr-defined]
    label.full_text = label.text  # type: ignore[attr-defined]
    original_min, original_set = label.updateMin, label.setText
    shown: list[str] = [label.text]  # the (maybe elided) text last handed to pyqtgraph

    def update_min() -> None:
        original_min()
        label.setMinimumWidth(0)

    def set_text(text: str, **args: object) -> None:
        if text != shown[0]:  # a new text, not the elided one given back (set_font_size re-sets label.text)
            label.full_text = text  # type: ignore[attr-defined]
        fitted = _elided_html(label, label.full_text, args)
        shown[0] = fitted
        original_set(fitted, **args)
        label.text = label.full_text  # what callers read back is the whole text; only the drawing is cut
        plain = _plain(label.full_text)
        label.setToolTip(plain if fitted != label.full_text else "")

    def refit() -> None:
        if not shiboken6.isValid(label) or not shiboken6.isValid(label.item):  # resized while being deleted
            return
        if label.full_text and _elided_html(label, label.full_text, {}) != shown[0]:
            set_text(label.full_text)

    label.updateMin = update_min  # type: ignore[method-assign]
    label.setText = set_text  # type: ignore[method-assign]
    label.geometryChanged.connect(refit)
    label.setMinimumWidth(0)
    return label


def fit_axis_labels(plot: pg.PlotItem) -> pg.PlotItem:
    """Cut the bottom and left axis labels with "…" to their axis' length (the whole text in the tool tip).

    pyqtgraph draws an axis label centred on its axis and lets a long one run
    past both ends, where the canvas cuts it; here it is elided instead, again
    whenever the axis is resized. Returns the plot.
    """
    for name in ("bottom", "left"):
        fit_axis_label(plot.getAxis(name))
    return plot


def fit_axis_label(axis: pg.AxisItem) -> pg.AxisItem:
    """Elide one axis' label to the axis' length (see :func:`fit_axis_labels`); returns the axis."""
    if not getattr(axis, "_fitted_label", False):
        axis._fitted_label = True  # type: ignore[attr-defined]
        _patch_axis(axis)
        if axis.labelText:
            axis._updateLabel()
    return axis


def fit_plot_text(widget: QWidget) -> None:
    """Every plot title and axis label on the canvases under ``widget`` elided to its room (idempotent).

    Views call it when shown, so a plot built without the styling helpers
    follows the same rule: text is cut with "…" and whole in a tool tip, never
    cut by the canvas' edge or widening the plot past its pane.
    """
    for canvas in widget.findChildren(pg.GraphicsView):
        for item in canvas.scene().items():
            if isinstance(item, pg.AxisItem):
                fit_axis_label(item)
            elif isinstance(item, pg.PlotItem):
                free_width(item.titleLabel)


def _patch_axis(axis: pg.AxisItem) -> None:
    """Elide in ``_updateLabel``, which every label change goes through (text, units, a new SI prefix).

    ``labelText`` keeps the whole text (what callers set and read); only the
    drawn label is cut.
    """
    original = axis._updateLabel
    shown = [axis.labelText]  # the (maybe elided) text last drawn
    busy = [False]  # drawing the label resizes the axis, which asks for a refit: not again while drawing

    def update_label() -> None:
        full = axis.labelText
        if busy[0] or not full:
            original()
            return
        busy[0] = True
        try:
            fitted = _elided_axis_text(axis, full, {})
            axis.labelText = fitted
            original()
            # units and SI prefixes ("(x1e-15)") are added by pyqtgraph: measure what is drawn, cut more if needed
            metrics = QFontMetricsF(axis.label.font())
            while len(fitted) > 2 and axis.label.boundingRect().width() > _axis_room(axis) + 2:
                fitted = metrics.elidedText(fitted, Qt.TextElideMode.ElideRight,
                                            metrics.horizontalAdvance(fitted) - 8)
                axis.labelText = fitted
                original()
            shown[0] = fitted
            axis.label.setToolTip(full if fitted != full else "")
        finally:
            axis.labelText = full
            busy[0] = False

    def refit() -> None:
        if not shiboken6.isValid(axis) or not shiboken6.isValid(axis.label):  # resized while being deleted
            return
        full = axis.labelText
        if not full or busy[0] or not axis.label.isVisible():
            return
        if (_elided_axis_text(axis, full, {}) != shown[0]
                or axis.label.boundingRect().width() > _axis_room(axis) + 2):
            update_label()

    axis._updateLabel = update_label  # type: ignore[method-assign]
    axis.geometryChanged.connect(refit)


def _axis_room(axis: pg.AxisItem) -> float:
    """Length of an axis: the room its label has."""
    return axis.width() if axis.orientation in ("top", "bottom") else axis.height()


def _elided_axis_text(axis: pg.AxisItem, text: str, args: dict[str, object]) -> str:
    room = _axis_room(axis) - 2 * axis.label.document().documentMargin() - 4
    if room <= 0:
        return text
    font = QFont(axis.label.font())
    size = str(args.get("font-size", axis.labelStyle.get("font-size", "")))
    if size.endswith("pt"):
        font.setPointSizeF(float(size[:-2]))
    return QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, room)


_TAG = re.compile(r"<[^>]+>")


def _plain(html: str) -> str:
    return _TAG.sub("", html.replace("<br>", "\n")).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _elided_html(label: pg.LabelItem, html: str, args: dict[str, object]) -> str:
    """``html`` with each ``<br>`` line cut with "…" to the label's width (the whole text when there is room)."""
    width = label.width() - 2 * label.item.document().documentMargin() - 2
    if width <= 0 or not html:
        return html
    font = QFont(label.item.font())
    size = str(args.get("size", label.opts.get("size") or ""))
    if size.endswith("pt"):
        font.setPointSizeF(float(size[:-2]))
    lines = []
    for line in html.split("<br>"):
        plain = _plain(line)
        line_font = QFont(font)
        line_font.setBold("<b>" in line or bool(args.get("bold", label.opts.get("bold"))))
        cut = QFontMetricsF(line_font).elidedText(plain, Qt.TextElideMode.ElideRight, width)
        if cut == plain:
            lines.append(line)
        elif plain and line.count(plain) == 1:  # tags wrap the whole text: keep them around the cut text
            lines.append(line.replace(plain, cut))
        else:
            lines.append(cut.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    return "<br>".join(lines)
