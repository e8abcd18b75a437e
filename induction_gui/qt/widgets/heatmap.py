"""A labelled heatmap: the one way every matrix in the app is drawn.

``pg.ImageItem`` with fixed levels (so colours mean the same number across
edits), token-labelled axes with cells centred on their ticks, a colour bar,
a hover read-out naming row, column and value, click-to-focus, a highlighted
row, and a visible warning when the data holds NaN or inf (they are drawn as
0 and the warning says so, never silently).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QFont, QFontMetricsF, QImage
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

import pyqtgraph as pg

from ...model.appearance import Appearance, levels_for
from .colormaps import DEFAULT_SEQUENTIAL, colormap, diverging
from .style import line_width

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


MAX_TICKS = 40  # more labels than this overlap on a projector: show every k-th
TEXT_COLOR = "k"  # axis text and lines: pyqtgraph's default grey fades to nothing on a projector


def _ticks(labels: Sequence[str] | None, n: int, min_step: int = 1) -> list[tuple[float, str]]:
    """Tick positions at cell centres, thinned so at most MAX_TICKS are labelled (and every ``min_step``-th)."""
    if labels is None:
        labels = [str(i) for i in range(n)]
    step = max(1, int(np.ceil(n / MAX_TICKS)), min_step)
    return [(i + 0.5, str(labels[i])) for i in range(0, n, step)]


class FastImageItem(pg.ImageItem):
    """An ``ImageItem`` whose rendered image is kept in the raster engine's native pixel format.

    pyqtgraph renders float data through a LUT into an 8-bit indexed QImage;
    Qt then converts that to ARGB on *every* paint, which costs ~1.4 ms per
    heatmap at any size. Converting once per new data (µs at 64 × 64, ~0.2 ms
    at 512 × 512) makes each repaint a plain scaled blit (~0.16 ms).
    """

    def render(self) -> None:
        super().render()
        qimage = self.qimage
        if qimage is not None and qimage.format() != QImage.Format.Format_ARGB32_Premultiplied:
            self.qimage = qimage.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)


def _fitting_step(extent_px: float, n: int, label_px: float) -> int:
    """Label every k-th cell so that labels of ``label_px`` do not overlap along ``extent_px`` pixels."""
    if n <= 0 or extent_px <= 0:
        return 1
    return max(1, int(np.ceil(label_px / (extent_px / n))))


class Heatmap(QWidget):
    """A matrix as coloured cells with labelled rows and columns.

    Signals
    -------
    hovered(row, col)
        the cell under the mouse, (-1, -1) when it leaves.
    clicked(row, col)
        a left click on a cell.
    """

    hovered = Signal(int, int)
    clicked = Signal(int, int)

    def __init__(
        self,
        title: str = "",
        *,
        x_label: str = "",
        y_label: str = "",
        signed: bool = False,
        colorbar: bool = True,
        readout: bool = True,
        appearance: Appearance | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._signed = signed
        self._appearance = appearance  # followed for the colour map (and levels), when given
        self._x_label, self._y_label = x_label, y_label
        self._row_labels: list[str] | None = None
        self._col_labels: list[str] | None = None
        self._data = np.zeros((1, 1), dtype=np.float32)  # [rows, cols] as given (may hold NaN)
        self._format: Callable[[float], str] = lambda v: f"{v:.4g}"
        self._sequential = appearance.colormap if appearance is not None else DEFAULT_SEQUENTIAL
        self._describer: Callable[[int, int], str] | None = None
        self._title_points: float | None = None
        self._hint = " "  # read-out text while the mouse is not over a cell
        # what the plot items were last given, so an unchanged property is not set again: every
        # setter of a pyqtgraph axis, range or colour bar throws away its cached drawing
        self._shown_shape: tuple[int, int] | None = None
        self._shown_levels: tuple[float, float] | None = None
        self._shown_cmap: tuple[bool, str] | None = None
        self._shown_title: tuple[str, float | None] | None = None
        self._tick_key: tuple | None = None

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.plot = self.graphics.addPlot()
        self.set_title(title)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.invertY(True)
        fit_axis_labels(self.plot)  # a long axis name is elided to its axis, never cut by the canvas
        self.plot.setLabel("bottom", x_label)
        self.plot.setLabel("left", y_label)
        for name in ("bottom", "left"):
            self.plot.getAxis(name).setTextPen(TEXT_COLOR)
            self.plot.getAxis(name).setPen(TEXT_COLOR)
        # the first key label ("0:<s>") is wider than half a narrow cell; let it reach into the corner, not vanish
        self.plot.getAxis("bottom").setStyle(hideOverlappingLabels=False)
        self.image = FastImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.row_marker = pg.LinearRegionItem(orientation="horizontal", movable=False, brush=(255, 255, 255, 0),
                                              pen=pg.mkPen("#d62728", width=3))
        self.row_marker.setZValue(10)
        self.row_marker.hide()
        self.plot.addItem(self.row_marker)
        self.colorbar: pg.ColorBarItem | None = None
        if colorbar:
            self.colorbar = pg.ColorBarItem(values=(0, 1), interactive=False, width=18, colorMapMenu=False)
            self.colorbar.setImageItem(self.image, insert_in=self.plot)
            self.colorbar.axis.setTextPen(TEXT_COLOR)
            self.colorbar.axis.setPen(TEXT_COLOR)
        self._apply_colormap()
        if appearance is not None:
            appearance.events.changed.connect(self._on_appearance_changed)
            self.destroyed.connect(lambda *_: appearance.events.changed.disconnect(self._on_appearance_changed))

        self.plot.vb.sigResized.connect(self._update_ticks)

        self.warning = QLabel()
        self.warning.setTextFormat(Qt.TextFormat.PlainText)
        self.warning.setStyleSheet("color: #b00020; font-weight: bold;")
        self.warning.setWordWrap(True)
        self.warning.hide()
        self.readout = QLabel(" ")
        self.readout.setTextFormat(Qt.TextFormat.PlainText)  # token labels such as "<s>" are not HTML
        self.readout.setWordWrap(True)  # a long read-out wraps instead of widening the view
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.warning)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.readout)
        # only once it has a parent: showing a parentless label opens a window of its own for a moment,
        # which takes the keyboard focus (and PgDn) away from the main window
        self.readout.setVisible(readout)

        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.graphics.scene().sigMouseClicked.connect(self._on_mouse_clicked)

    # -- appearance ---------------------------------------------------------------------------
    def set_title(self, title: str) -> None:
        """Title above the plot, black and at the font size last set (an empty title hides it)."""
        if (title, self._title_points) == self._shown_title:
            return
        self._shown_title = (title, self._title_points)
        if not title:
            self.plot.setTitle(None)
            return
        size = f"{self._title_points:g}pt" if self._title_points else "11pt"
        self.plot.setTitle(title, color=TEXT_COLOR, size=size)
        free_width(self.plot.titleLabel)

    def set_axis_labels(self, x_label: str, y_label: str) -> None:
        if (x_label, y_label) == (self._x_label, self._y_label):
            return  # views call this on every refresh; re-setting relayouts the axes
        self._x_label, self._y_label = x_label, y_label
        self.plot.setLabel("bottom", x_label)
        self.plot.setLabel("left", y_label)

    def set_colormap(self, name: str) -> None:
        """Sequential map for unsigned data; signed data keeps the diverging map."""
        self._sequential = name
        self._apply_colormap()

    def _on_appearance_changed(self, names: tuple[str, ...]) -> None:
        if "colormap" in names and self._appearance is not None:
            self.set_colormap(self._appearance.colormap)

    def set_signed(self, signed: bool) -> None:
        self._signed = signed
        self._apply_colormap()

    def _apply_colormap(self) -> None:
        wanted = (self._signed, self._sequential)
        if wanted == self._shown_cmap:
            return  # a new LUT re-renders the image and the colour bar
        self._shown_cmap = wanted
        cmap = diverging() if self._signed else colormap(self._sequential)
        if self.colorbar is not None:
            self.colorbar.setColorMap(cmap)
        else:
            self.image.setColorMap(cmap)

    def set_value_format(self, fmt: Callable[[float], str]) -> None:
        self._format = fmt

    def set_font_size(self, points: float) -> None:
        """Axis and title fonts, for projectors; the focus marker's line grows with them."""
        font = QFont()
        font.setPointSizeF(points)
        for name in ("bottom", "left"):
            axis = self.plot.getAxis(name)
            axis.setTickFont(font)
            axis.label.setFont(font)
        if self.colorbar is not None:
            self.colorbar.axis.setTickFont(font)
            # the bar's axis has a fixed width; labels that do not fit ("-0.5" at 16 pt) would silently vanish
            self.colorbar.axis.setWidth(int(QFontMetricsF(font).horizontalAdvance("-0.00e+0") * 0.75) + 14)
        self.readout.setFont(font)
        self.warning.setFont(font)
        marker_pen = pg.mkPen("#d62728", width=line_width(3, points))
        for line in self.row_marker.lines:
            line.setPen(marker_pen)
        self._title_points = points
        self._tick_key = None  # the font changed: labels must be re-measured
        self._update_ticks()
        if self.plot.titleLabel.isVisible():
            self.plot.titleLabel.setText(self.plot.titleLabel.text, color=TEXT_COLOR, size=f"{points:g}pt")
            if self._shown_title is not None:
                self._shown_title = (self._shown_title[0], points)

    # -- data -------------------------------------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """The matrix last given (NaN kept), [rows, cols]."""
        return self._data

    def set_data(
        self,
        data: np.ndarray,
        *,
        row_labels: Sequence[str] | None = None,
        col_labels: Sequence[str] | None = None,
        levels: tuple[float, float] | None = None,
        what: str = "values",
    ) -> None:
        """Show ``data`` [rows, cols].

        Parameters
        ----------
        levels
            fixed colour range; default (0, 1) for unsigned data and ±max|data|
            for signed data, so zero is always the neutral colour.
        what
            what the numbers are, for the NaN warning ("attention weights").
        """
        arr = np.asarray(data, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr[None, :]  # [1, cols]
        self._data = arr
        finite = np.isfinite(arr)
        shown = arr if finite.all() else np.where(finite, arr, 0.0).astype(np.float32)  # [rows, cols]
        if finite.all():
            self.warning.hide()
        else:
            n_bad = int(arr.size - finite.sum())
            self.warning.setText(f"⚠ {n_bad} of the {what} are NaN or infinite (drawn as 0): "
                                 "a weight is too large or not a number")
            self.warning.show()
        if levels is None:
            levels = levels_for(shown, self._signed)  # the appearance's rule: fixed [0, 1], or ±max|x|
        levels = (float(levels[0]), float(levels[1]))
        self.image.setImage(np.ascontiguousarray(shown), autoLevels=False, levels=levels)
        if self.colorbar is not None and levels != self._shown_levels:
            self.colorbar.setLevels(levels)
        self._shown_levels = levels
        rows, cols = arr.shape
        if row_labels is not None or col_labels is not None or self._row_labels is None or len(
            self._row_labels
        ) != rows:
            self._row_labels = list(row_labels) if row_labels is not None else None
            self._col_labels = list(col_labels) if col_labels is not None else None
        if (rows, cols) != self._shown_shape:
            # geometry only when the shape changed: each call re-ranges the view and redraws the axes
            self._shown_shape = (rows, cols)
            self.image.setRect(0, 0, cols, rows)
            self.plot.setRange(xRange=(0, cols), yRange=(0, rows), padding=0)
        self._update_ticks()

    def _update_ticks(self, *_: object) -> None:
        """Set the token labels, thinned to what fits at the current size and font (they must never overlap).

        Runs on every resize of the view box and font change: a projector font on
        a long sequence shows every 2nd or 3rd label instead of a smear.
        """
        rows, cols = self._data.shape
        size = self.plot.vb.size()
        # same labels, shape, size and font as last time: the axes already show the right ticks
        key = (rows, cols, self._row_labels, self._col_labels, size.width(), size.height())
        if key == self._tick_key:
            return
        self._tick_key = (rows, cols, self._row_labels, self._col_labels, size.width(), size.height())
        left, bottom = self.plot.getAxis("left"), self.plot.getAxis("bottom")
        col_labels = self._col_labels or [str(i) for i in range(cols)]
        font = bottom.style.get("tickFont") or self.font()
        metrics = QFontMetricsF(font)
        widest = max((metrics.horizontalAdvance(str(t)) for t in col_labels), default=0.0)
        col_step = _fitting_step(size.width(), cols, widest + metrics.averageCharWidth())
        row_step = _fitting_step(size.height(), rows, QFontMetricsF(left.style.get("tickFont") or self.font()).height())
        left.setTicks([_ticks(self._row_labels, rows, row_step)])
        bottom.setTicks([_ticks(self._col_labels, cols, col_step)])

    def highlight_row(self, row: int | None) -> None:
        """Frame one row (the focused query position), or none."""
        if row is None or row < 0:
            self.row_marker.hide()
            return
        self.row_marker.setRegion((row, row + 1))
        self.row_marker.show()

    # -- interaction ----------------------------------------------------------------------------
    def cell_at(self, scene_pos: QPointF) -> tuple[int, int]:
        """(row, col) under a scene position, or (-1, -1) outside the matrix."""
        if not self.plot.sceneBoundingRect().contains(scene_pos):
            return -1, -1
        p = self.plot.vb.mapSceneToView(scene_pos)
        row, col = int(np.floor(p.y())), int(np.floor(p.x()))
        rows, cols = self._data.shape
        if 0 <= row < rows and 0 <= col < cols:
            return row, col
        return -1, -1

    def set_hint(self, hint: str) -> None:
        """What the read-out says while no cell is hovered (e.g. "click a row to focus it")."""
        self._hint = hint or " "
        if self.readout.text().strip() == "" or self.readout.property("hint"):
            self.readout.setText(self._hint)
            self.readout.setProperty("hint", True)

    def set_cell_describer(self, describer: Callable[[int, int], str] | None) -> None:
        """Let the owner word the read-out (``"query 5:A → key 2:B: weight 0.97"``); None restores the default.

        A view knows what its rows and columns mean in the lecture's terms; the
        heatmap only knows labels, so the view supplies the sentence.
        """
        self._describer = describer

    def describe_cell(self, row: int, col: int) -> str:
        """The read-out text of one cell."""
        if self._describer is not None:
            return self._describer(row, col)
        r = self._row_labels[row] if self._row_labels else str(row)
        c = self._col_labels[col] if self._col_labels else str(col)
        value = float(self._data[row, col])
        return f"{self._y_label} {r}  →  {self._x_label} {c}:  {self._format(value)}"

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        row, col = self.cell_at(scene_pos)
        if row < 0:
            self.readout.setText(self._hint)
            self.readout.setProperty("hint", True)
        else:
            self.readout.setText(self.describe_cell(row, col))
            self.readout.setProperty("hint", False)
        self.hovered.emit(row, col)

    def _on_mouse_clicked(self, event: object) -> None:
        if event.button() != Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            return
        row, col = self.cell_at(event.scenePos())  # type: ignore[attr-defined]
        if row >= 0:
            self.clicked.emit(row, col)
