"""A labelled heatmap: the one way every matrix in the app is drawn.

``pg.ImageItem`` with fixed levels (so colours mean the same number across
edits), token-labelled axes with cells centred on their ticks, a colour bar,
a hover read-out naming row, column and value, click-to-focus, a highlighted
row, and a visible warning when the data holds NaN or inf (they are drawn as
0 and the warning says so, never silently).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QFont, QFontMetricsF, QImage
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

import pyqtgraph as pg

from ...model.appearance import Appearance, levels_for
from .colormaps import DEFAULT_SEQUENTIAL, colormap, diverging
from .plot_text import fit_axis_labels, free_width
from .style import line_width

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
        self._hovered: tuple[int, int] | None = None  # the cell the read-out describes, if any
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
        with np.errstate(over="ignore"):  # beyond float32 becomes inf, which the warning below reports
            arr = np.asarray(data, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr[None, :]  # [1, cols]
        self._data = arr
        # labels with the data, before anything below can redraw the axes (a resize re-runs _update_ticks)
        rows, cols = arr.shape
        kept_fit = (self._row_labels is not None and len(self._row_labels) == rows
                    and (self._col_labels is None or len(self._col_labels) == cols))
        if row_labels is not None or col_labels is not None or not kept_fit:  # labels of another shape go
            self._row_labels = list(row_labels) if row_labels is not None else None
            self._col_labels = list(col_labels) if col_labels is not None else None
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
        if (rows, cols) != self._shown_shape:
            # geometry only when the shape changed: each call re-ranges the view and redraws the axes
            self._shown_shape = (rows, cols)
            self.image.setRect(0, 0, cols, rows)
            self.plot.setRange(xRange=(0, cols), yRange=(0, rows), padding=0)
        self._update_ticks()
        self._show_readout(*(self._hovered or (-1, -1)))  # never a value of the previous data


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
        self._show_readout(row, col)
        self.hovered.emit(row, col)

    def _show_readout(self, row: int, col: int) -> None:
        """Describe the hovered cell of the data shown now; the hint when none is (or it no longer exists)."""
        rows, cols = self._data.shape
        if 0 <= row < rows and 0 <= col < cols:
            self._hovered = (row, col)
            self.readout.setText(self.describe_cell(row, col))
            self.readout.setProperty("hint", False)
        else:
            self._hovered = None
            self.readout.setText(self._hint)
            self.readout.setProperty("hint", True)

    def _on_mouse_clicked(self, event: object) -> None:
        if event.button() != Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            return
        row, col = self.cell_at(event.scenePos())  # type: ignore[attr-defined]
        if row >= 0:
            self.clicked.emit(row, col)
