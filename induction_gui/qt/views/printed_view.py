"""The lecture's matrices as numbers: X, A and z = A·X of the focused head, side by side, rounded.

The lecture did not draw its toy head; it printed it: the input
representations X (a row per position), the attention weights A, and the
copied representations z = A·X, whose row i is row i − 1 of X for a
previous-token head. This view prints the same three arrays for the focused
head of any model (the analysis's ``printed`` entry says exactly what each
one is), marks the focused query row and the row it copies from, and exports
them as CSV and as the text the exported NumPy script prints.
"""

from __future__ import annotations

import csv
from functools import partial
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QApplication, QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QSpinBox, QSplitter, QVBoxLayout, QWidget,
)

from ...analysis import Analysis
from ...analysis.entries.printed import NO_SOURCE, Printed, copy_source
from ...analysis.printed_text import column_range_text, csv_rows, printed_text
from ...model.appearance import Appearance
from ...model.hover import HoveredCell
from ..widgets.labels import plain_label, set_label_points
from ..widgets.style import mark_explanation
from .base import View
from .printed_table import HOVER_COLOR, QUERY_COLOR, SOURCE_COLOR, MatrixTable

PAGE = 16  # columns of X and z shown at once; wider models page through d_model
DEFAULT_DECIMALS = 2
MAX_DECIMALS = 8  # the exported script's precision: at 8 the text export is the script's text
Z_CHOICES = (("A·X", "AX"), ("A·X·W_OV", "AXWOV"))  # (shown, key): z = ...


class PrintedView(View):
    """The focused head's X, A and z as rounded numbers, with the query and the row it copies from marked."""

    title = "Printed"
    follows_hover = True
    tooltip = ("The numbers the lecture prints for the focused head: the input representations X, the attention "
               "pattern A and the copied representations z = A·X (or A·X·W_OV), rounded, with the focused query "
               "row and the row it copies from marked.")

    def __init__(self, analysis: Analysis, parent: QWidget | None = None, *,
                 appearance: Appearance | None = None) -> None:
        super().__init__(analysis, parent, appearance=appearance)
        self.printed: Printed | None = None  # what the tables show
        self.query = 0  # the focused query row shown
        self.source = NO_SOURCE  # the row it copies from
        self._own_hover: HoveredCell | None = None  # a cell of A under the pointer in this view
        self._hover_viewport: QWidget | None = None  # the table it is in
        self._applied_points: float | None = None

        self.heading = plain_label()
        self.legend = plain_label()
        self.labels = plain_label()  # what X, A and z are, exactly
        self.notes = plain_label()
        mark_explanation(self.labels)

        self.decimals = QSpinBox()
        self.decimals.setRange(0, MAX_DECIMALS)
        self.decimals.setValue(DEFAULT_DECIMALS)
        self.decimals.setToolTip(f"Digits after the decimal point in the tables and the exports "
                                 f"({MAX_DECIMALS}: the exported script's precision)")
        self.z_choice = QComboBox()
        for text, key in Z_CHOICES:
            self.z_choice.addItem(text, key)
        self.z_choice.setToolTip("A·X: the lecture's copy (values and outputs taken as the identity). "
                                 "A·X·W_OV: through the head's W_V and W_O, what it writes into the residual stream.")
        self.columns = QComboBox()
        self.columns.setToolTip(f"Columns: which {PAGE} components of d_model the X and z tables show")
        self.decimals.valueChanged.connect(self._on_option_changed)
        self.z_choice.currentIndexChanged.connect(self._on_option_changed)
        self.columns.currentIndexChanged.connect(self._on_option_changed)
        self.copy_button = QPushButton("Copy text")
        self.copy_button.setToolTip("Copy as text: the shown numbers as the exported script prints them")
        self.csv_button = QPushButton("CSV…")
        self.csv_button.setToolTip("Export CSV: X, A and z as shown (rounded) in one CSV file")
        self.text_button = QPushButton("Text…")
        self.text_button.setToolTip("Export text: the shown numbers as the exported script prints them")
        self.copy_button.clicked.connect(self.copy_text)
        self.csv_button.clicked.connect(self._export_csv_dialog)
        self.text_button.clicked.connect(self._export_text_dialog)

        # two short rows, not one long one: the view must fit the centre of a 1280-pixel window with docks
        options = QHBoxLayout()
        self.decimals_label = QLabel("Decimals")
        self.z_label = QLabel("z =")
        # the page choice needs no label of its own: its items read "d0–d15 of 85", and the tables' titles say it
        for widget in (self.decimals_label, self.decimals, self.z_label, self.z_choice, self.columns):
            options.addWidget(widget)
        options.addStretch(1)
        buttons = QHBoxLayout()
        for button in (self.copy_button, self.csv_button, self.text_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.x_table, self.a_table, self.z_table = MatrixTable("X"), MatrixTable("A"), MatrixTable("z")
        self.x_title, self.a_title, self.z_title = plain_label(), plain_label(), plain_label()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        for title, table in ((self.x_title, self.x_table), (self.a_title, self.a_table), (self.z_title, self.z_table)):
            pane = QWidget()
            column = QVBoxLayout(pane)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            column.addWidget(title)
            column.addWidget(table, 1)
            self.splitter.addWidget(pane)
            table.clicked.connect(self._on_cell_clicked)
            table.entered.connect(partial(self._on_cell_hovered, table))
            table.viewport().installEventFilter(self)
            table.verticalScrollBar().valueChanged.connect(self._sync_rows)
        self.splitter.splitterMoved.connect(self._align_titles)
        self._scroll_timer = QTimer(self)
        self._scroll_timer.setSingleShot(True)
        self._scroll_timer.setInterval(0)
        self._scroll_timer.timeout.connect(self._scroll_to_marks)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        for widget in (self.heading, self.legend, self.labels, self.notes):
            layout.addWidget(widget)
        layout.addLayout(options)
        layout.addLayout(buttons)
        layout.addWidget(self.splitter, 1)
        self.setToolTip(self.tooltip)

    # -- options ---------------------------------------------------------------------------------
    @property
    def z_variant(self) -> str:
        return str(self.z_choice.currentData())

    @property
    def shown_columns(self) -> range:
        """The columns of X and z in the tables (all of a narrow model's)."""
        width = self.printed.x.shape[1] if self.printed is not None else 0
        start = max(0, self.columns.currentIndex()) * PAGE if width > PAGE else 0
        return range(start, min(width, start + PAGE) if width > PAGE else width)

    def _on_option_changed(self, *_: object) -> None:
        self.update_if_visible()

    def _update_pages(self, width: int) -> None:
        """One choice per page of d_model (hidden when every column fits on one)."""
        pages = [f"d{s}–d{min(width, s + PAGE) - 1} of {width}" for s in range(0, width, PAGE)]
        if [self.columns.itemText(i) for i in range(self.columns.count())] != pages:
            keep = self.columns.currentIndex()
            self.columns.blockSignals(True)
            self.columns.clear()
            self.columns.addItems(pages)
            self.columns.setCurrentIndex(min(max(keep, 0), len(pages) - 1))
            self.columns.blockSignals(False)
        self.columns.setVisible(width > PAGE)

    # -- drawing -------------------------------------------------------------------------------------
    def refresh(self) -> None:
        sel = self.document.selection
        value = self.ask("printed", layer=sel.layer, head=sel.head)
        self._apply_appearance()
        if not isinstance(value, Printed):  # a failed or undefined entry: say so, show no stale numbers
            self.printed = None
            self.heading.setText(f"Printed — L{sel.layer}H{sel.head}: {value}")
            for table in (self.x_table, self.a_table, self.z_table):
                table.matrix.set_matrix(np.zeros((0, 0)), [], [], 0)
            return
        p = self.printed = value
        n = p.tokens.size
        self.query = min(sel.query_pos, n - 1)  # results a generation behind may be shorter than the selection
        vocab = self.document.scenario.vocab
        rows = [f"{i}: {vocab[int(t)]}" for i, t in enumerate(p.tokens)]
        keys = [f"{i}:{vocab[int(t)]}" for i, t in enumerate(p.tokens)]
        self._update_pages(p.x.shape[1])
        cols = self.shown_columns
        d = self.decimals.value()
        names = [f"d{j}" for j in cols]
        tips = [f"component {j} of d_model" for j in cols]
        z = p.z[self.z_variant]
        self.x_table.matrix.set_matrix(p.x[:, cols.start:cols.stop], rows, names, d, tips)
        self.a_table.matrix.set_matrix(p.pattern, rows, keys, d, [f"key position {k}" for k in rows])
        self.z_table.matrix.set_matrix(z[:, cols.start:cols.stop], rows, names, d, tips)
        for table in (self.x_table, self.a_table, self.z_table):
            table.fit_columns()
        self.source, ties = copy_source(p.pattern[self.query])
        self._draw_marks()
        self._write_labels(p, rows, ties, cols)
        self._align_titles()
        self._scroll_timer.start()  # once the layout has settled: the tables' heights are known then

    def _scroll_to_marks(self) -> None:
        """Bring the query row and A[q, s] on screen however small the panes (the rows scroll together)."""
        if self.printed is None or self.a_table.model().rowCount() == 0:
            return
        source = self.source if self.source != NO_SOURCE else self.query
        self.a_table.scrollTo(self.a_table.model().index(self.query, source))

    def _sync_rows(self, value: int) -> None:
        """The three tables have the same rows (positions): they scroll up and down as one."""
        for table in (self.x_table, self.a_table, self.z_table):
            table.verticalScrollBar().setValue(value)  # equal values emit nothing: no loop

    def _align_titles(self, *_: object) -> None:
        """Titles of equal height, so row i of X, A and z sits on one line across the three panes."""
        titles = (self.x_title, self.a_title, self.z_title)
        for title in titles:
            title.setMinimumHeight(0)
        height = max(0, *(t.heightForWidth(max(t.width(), 1)) for t in titles))  # -1: no text yet
        for title in titles:
            title.setMinimumHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._align_titles()

    def _write_labels(self, p: Printed, rows: list[str], ties: int, cols: range) -> None:
        """Short lines on screen (a 720-pixel projector leaves the tables little height); the full sentences
        in their tool tips and in the text export."""
        shown = column_range_text(cols, p.x.shape[1])
        zname = dict((key, text) for text, key in Z_CHOICES)[self.z_variant]
        q, d = self.query, self.decimals.value()
        self.heading.setText(f"Printed — {p.name}, query {rows[q]}")
        if self.source == NO_SOURCE:
            copies = f"Row {rows[q]} has no weight above 0 (nothing earlier to attend to): it copies nothing"
        else:
            tie = f"; {ties} keys tie, the earliest is marked" if ties > 1 else ""
            itself = " itself" if self.source == q else ""
            copies = (f"Blue: the row it copies from, {rows[self.source]}{itself} "
                      f"(A[{q}, {self.source}] = {p.pattern[q, self.source]:.{d}f}, its largest weight{tie})")
        self.legend.setText(f"Yellow: query {rows[q]}. {copies}. Grey: under the pointer. {d} decimals.")
        self.legend.setToolTip("Hover a cell for its unrounded value; click a row to focus that query position "
                               "(every view follows).")
        z_short = {"AX": "z = A·X", "AXWOV": "z = A·X·W_V·W_O (b_V left out)"}[self.z_variant]
        self.labels.setText(f"X = {p.x_source} · A = blocks.{p.layer}.attn.hook_pattern[0, {p.head}], "
                            f"{p.method} · {z_short}")
        self.labels.setToolTip(f"{p.x_label}.\n{p.pattern_label}.\n{p.z_labels[self.z_variant]}.")
        self.notes.setText("Note: " + "; ".join(p.notes) + "." if p.notes else "")
        self.notes.setVisible(bool(p.notes))
        # short titles (a narrow pane wraps at its longest word); the exact quantity is in the tool tip and above
        self.x_title.setText(f"X, {shown}")
        self.a_title.setText("A, query × key")
        self.z_title.setText(f"z = {zname}, {shown}")
        self.x_title.setToolTip(f"Input representations: {p.x_label} [pos × d_model]")
        self.a_title.setToolTip(f"Attention pattern: {p.pattern_label} [query_pos × key_pos]")
        self.z_title.setToolTip(f"Copied representations: {p.z_labels[self.z_variant]} [pos × d_model]")

    def _draw_marks(self) -> None:
        """Query yellow, source blue, and the hovered cell's query and key grey in every table."""
        q, s = self.query, self.source
        x_rows = {q: QUERY_COLOR}
        a_cells: dict[tuple[int, int], str] = {}
        z_rows = {q: QUERY_COLOR}
        if s != NO_SOURCE:
            x_rows[s] = SOURCE_COLOR
            a_cells[q, s] = SOURCE_COLOR
        hovered = self._hovered_cell()
        if hovered is not None:
            hq, hk = hovered
            x_rows.setdefault(hk, HOVER_COLOR)
            z_rows.setdefault(hq, HOVER_COLOR)
            a_cells.setdefault((hq, hk), HOVER_COLOR)
        self.x_table.matrix.set_marks(x_rows)
        self.a_table.matrix.set_marks({q: QUERY_COLOR}, a_cells)
        self.z_table.matrix.set_marks(z_rows)

    def _hovered_cell(self) -> tuple[int, int] | None:
        """(query, key) under the pointer here or in another view's heatmap of this head, if any."""
        p = self.printed
        for cell in (self._own_hover, self._hover.cell if self._hover is not None else None):
            if cell is not None and p is not None and (cell.layer, cell.head) == (p.layer, p.head) \
                    and max(cell.query_pos, cell.key_pos) < p.tokens.size:
                return cell.query_pos, cell.key_pos
        return None

    def _apply_appearance(self) -> None:
        points = self.font_points
        if points == self._applied_points:
            return
        self._applied_points = points
        set_label_points(self.heading, self.heading_points, bold=True)
        for label in (self.legend, self.labels, self.notes):
            set_label_points(label, points)
        for label in (self.x_title, self.a_title, self.z_title):
            set_label_points(label, points, bold=True)
        for widget in (self.decimals_label, self.decimals, self.z_label, self.z_choice, self.columns,
                       self.copy_button, self.csv_button, self.text_button):
            set_label_points(widget, points)
        for table in (self.x_table, self.a_table, self.z_table):
            table.set_points(points)

    # -- interaction ------------------------------------------------------------------------------------
    def _on_cell_clicked(self, index: QModelIndex) -> None:
        """A click on a row of any table focuses that query position (every view follows)."""
        self.document.set_selection(query_pos=index.row())

    def _on_cell_hovered(self, table: MatrixTable, index: QModelIndex) -> None:
        p = self.printed
        if p is None or not index.isValid():
            return
        row, col = index.row(), index.column()
        # a cell of A names a query and a key; a row of X or z names one position
        query, key = (row, col) if table is self.a_table else (row, row)
        self._own_hover = HoveredCell(p.layer, p.head, query, key)
        self._hover_viewport = table.viewport()
        self._draw_marks()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        # only the table the hover came from ends it: leaving another table's cells says nothing about this one
        if event.type() == QEvent.Type.Leave and watched is self._hover_viewport and self._own_hover is not None:
            self._own_hover = None
            self._draw_marks()
        return super().eventFilter(watched, event)

    def _on_hover_changed(self, cell: HoveredCell | None) -> None:
        if self.isVisible() and self.printed is not None:
            self._draw_marks()

    # -- export ------------------------------------------------------------------------------------------
    def text(self) -> str:
        """The shown numbers as the exported script prints them (its head block, then X and z as shown)."""
        if self.printed is None:
            return ""
        scenario = self.document.scenario
        return printed_text(self.printed, title=scenario.title, vocab=scenario.vocab, decimals=self.decimals.value(),
                            z_variant=self.z_variant, columns=self.shown_columns)

    def copy_text(self) -> None:
        QApplication.clipboard().setText(self.text())

    def write_text(self, path: Path) -> None:
        Path(path).write_text(self.text(), encoding="utf-8")

    def write_csv(self, path: Path) -> None:
        """X, A and z as shown (rounded, the shown columns) in one CSV file, each block under its label."""
        if self.printed is None:
            raise OSError("there are no numbers to export yet")
        rows = csv_rows(self.printed, vocab=self.document.scenario.vocab, decimals=self.decimals.value(),
                        z_variant=self.z_variant, columns=self.shown_columns)
        with open(path, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)

    def _export_csv_dialog(self) -> None:
        self._save_dialog("CSV", "printed.csv", "CSV (*.csv)", self.write_csv)

    def _export_text_dialog(self) -> None:
        self._save_dialog("text", "printed.txt", "Text (*.txt)", self.write_text)

    def _save_dialog(self, kind: str, default: str, filters: str, write: object) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export the printed numbers as {kind}", default, filters)
        if path:
            try:
                write(Path(path))  # type: ignore[operator]
            except OSError as exc:
                self.heading.setText(f"⚠ Could not write {path}: {exc}")

    def matrices(self) -> dict[str, tuple[np.ndarray, list[str] | None, list[str] | None]]:
        """Every array of the focused head, whole and unrounded, for File ▸ Export View Matrices as CSV."""
        sel = self.document.selection
        p = self.analysis.get("printed", layer=sel.layer, head=sel.head)
        if not isinstance(p, Printed):
            return {}
        vocab = self.document.scenario.vocab
        rows = [f"{i}: {vocab[int(t)]}" for i, t in enumerate(p.tokens)]
        dims = [f"d{j}" for j in range(p.x.shape[1])]
        return {
            f"{p.name} X (input representations)": (p.x, rows, dims),
            f"{p.name} A (attention pattern)": (p.pattern, rows, rows),
            f"{p.name} z = A·X": (p.z["AX"], rows, dims),
            f"{p.name} z = A·X·W_OV (b_V left out)": (p.z["AXWOV"], rows, dims),
            f"{p.name} hook_z = A·V": (p.hook_z, rows, [f"d_head {j}" for j in range(p.hook_z.shape[1])]),
        }
