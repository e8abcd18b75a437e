"""The Printed view: the focused head's X, A and z as the ``printed`` entry gives them, rounded, marked, exported.

Each test shows a real view on a live document and reads what the tables
display (the models' DisplayRole and BackgroundRole), the labels and the
written files, and compares them with the analysis entry or the exported
NumPy script computed independently.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget

from induction_gui import engine, load_scenario
from induction_gui.analysis import Analysis
from induction_gui.analysis.printed_text import lecture_block
from induction_gui.model.document import Document
from induction_gui.model.hover import HoveredCell
from induction_gui.model.scenario import Scenario
from induction_gui.model.script_export import script_text
from induction_gui.qt.views.printed_table import HOVER_COLOR, QUERY_COLOR, SOURCE_COLOR, MatrixTable
from induction_gui.qt.views.printed_view import PAGE, PrintedView


def _view(show_view, preset: str = "induction-circuit", **selection: int) -> PrintedView:  # noqa: ANN001
    analysis = Analysis(Document(load_scenario(preset)))
    analysis.recompute()
    if selection:
        analysis.document.set_selection(**selection)
    view = PrintedView(analysis)
    show_view(view)
    return view


def _shown(table: MatrixTable) -> list[list[str]]:
    """Every cell's text as the table displays it."""
    m = table.model()
    return [[m.data(m.index(r, c)) for c in range(m.columnCount())] for r in range(m.rowCount())]


def _rounded(values: np.ndarray, decimals: int) -> list[list[str]]:
    return [[f"{float(v):.{decimals}f}" for v in row] for row in values]


def _mark(table: MatrixTable, row: int, col: int = 0) -> str | None:
    brush = table.model().data(table.model().index(row, col), Qt.ItemDataRole.BackgroundRole)
    return None if brush is None else brush.color().name()


def _entry(view: PrintedView):  # noqa: ANN202 - the entry's Printed
    sel = view.document.selection
    return view.analysis.get("printed", layer=sel.layer, head=sel.head)


def test_the_tables_show_the_focused_heads_numbers_rounded(qtbot, show_view) -> None:  # noqa: ANN001
    view = _view(show_view, layer=1, head=0, query_pos=6)
    p = _entry(view)
    assert (p.layer, p.head) == (1, 0) and view.last_error is None
    assert _shown(view.x_table) == _rounded(p.x[:, :PAGE], 2)
    assert _shown(view.a_table) == _rounded(p.pattern, 2)
    assert _shown(view.z_table) == _rounded(p.z["AX"][:, :PAGE], 2)
    m = view.a_table.model()
    rows = [m.headerData(i, Qt.Orientation.Vertical) for i in range(m.rowCount())]
    assert rows[:3] == ["0: <s>", "1: A", "2: B"]
    assert m.headerData(2, Qt.Orientation.Horizontal) == "2:B"
    assert view.x_table.model().headerData(0, Qt.Orientation.Horizontal) == "d0"
    # induction-circuit's d_model is 85: the first 16 columns, and the tables say so
    assert "columns 0–15 of 85" in view.x_title.text() and "columns 0–15 of 85" in view.z_title.text()
    assert "L1H0" in view.heading.text() and "hook_resid_pre" in view.labels.text()
    for table in (view.x_table, view.a_table, view.z_table):  # every number fits its column: none is elided
        widest = max(table.fontMetrics().horizontalAdvance(t) for row in _shown(table) for t in row)
        assert min(table.horizontalHeader().sectionSize(c) for c in range(table.model().columnCount())) > widest


def test_the_query_row_and_the_row_it_copies_from_are_marked(qtbot, show_view) -> None:  # noqa: ANN001
    view = _view(show_view, layer=1, head=0, query_pos=6)  # <s> A B C D A [B] C D
    p = _entry(view)
    source = int(np.argmax(p.pattern[6]))
    assert source == 3  # the induction head attends to the token after the earlier B
    for table in (view.x_table, view.z_table):
        assert _mark(table, 6) == QUERY_COLOR
    assert _mark(view.a_table, 6, 0) == QUERY_COLOR and _mark(view.a_table, 6, source) == SOURCE_COLOR
    assert _mark(view.x_table, source) == SOURCE_COLOR and _mark(view.z_table, source) is None
    assert [r for r in range(9) if _mark(view.x_table, r)] == [3, 6]
    assert "query 6: B" in view.legend.text() and "copies from, 3: C" in view.legend.text()


def test_the_view_follows_the_focus_and_a_token_edit(qtbot, show_view) -> None:  # noqa: ANN001
    view = _view(show_view, layer=1, head=0, query_pos=6)
    doc = view.document
    doc.set_selection(layer=0, head=1, query_pos=2)
    p = _entry(view)
    assert (p.layer, p.head) == (0, 1) and "L0H1" in view.heading.text()
    assert _shown(view.a_table) == _rounded(p.pattern, 2)
    source = int(np.argmax(p.pattern[2]))
    # X marks the row copied from over the query's own row (a head that attends to itself copies its own row)
    assert _mark(view.x_table, 2) == (SOURCE_COLOR if source == 2 else QUERY_COLOR)
    assert _mark(view.z_table, 2) == QUERY_COLOR and _mark(view.a_table, 2, source) == SOURCE_COLOR
    doc.set_tokens(doc.scenario.tokens[:5])  # a shorter sequence
    view.analysis.recompute()
    p = _entry(view)
    assert view.a_table.model().rowCount() == view.x_table.model().rowCount() == 5
    assert _shown(view.x_table) == _rounded(p.x[:, :PAGE], 2)
    assert view.last_error is None


def test_decimals_and_the_z_variant_change_what_is_shown(qtbot, show_view) -> None:  # noqa: ANN001
    view = _view(show_view, "repeated-random", layer=1, head=1, query_pos=10)
    p = _entry(view)
    view.decimals.setValue(4)
    assert _shown(view.a_table) == _rounded(p.pattern, 4)
    assert "4 decimals" in view.legend.text()
    view.z_choice.setCurrentIndex(view.z_choice.findData("AXWOV"))
    width = min(PAGE, p.x.shape[1])
    assert _shown(view.z_table) == _rounded(p.z["AXWOV"][:, :width], 4)
    assert "A·X·W_OV" in view.z_title.text() and "W_V·W_O (b_V left out)" in view.labels.text()
    assert "W_V·W_O" in view.z_title.toolTip()
    assert "b_V" in view.notes.text()


def test_csv_and_text_exports_hold_what_is_shown(qtbot, show_view, tmp_path: Path) -> None:  # noqa: ANN001
    view = _view(show_view, layer=1, head=0, query_pos=6)
    view.decimals.setValue(3)
    view.write_csv(tmp_path / "printed.csv")
    with open(tmp_path / "printed.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    blocks = [[]]  # label row, header row, then one row per position; blocks separated by an empty row
    for row in rows:
        blocks[-1].append(row) if row else blocks.append([])
    assert len(blocks) == 3
    for block, table in zip(blocks, (view.x_table, view.a_table, view.z_table), strict=True):
        m = table.model()
        assert block[1][1:] == [m.headerData(c, Qt.Orientation.Horizontal) for c in range(m.columnCount())]
        assert [r[0] for r in block[2:]] == [m.headerData(r, Qt.Orientation.Vertical) for r in range(m.rowCount())]
        assert [r[1:] for r in block[2:]] == _shown(table)
    assert "hook_resid_pre" in blocks[0][0][0] and "hook_pattern" in blocks[1][0][0]

    view.write_text(tmp_path / "printed.txt")
    text = (tmp_path / "printed.txt").read_text(encoding="utf-8")
    assert text == view.text()
    p = _entry(view)
    assert lecture_block(p, 3) in text
    x_part = text.split("input representations ", 1)[1].split("\n", 1)[1].split("copied representations")[0]
    x_read = np.array([[float(v) for v in line.strip(" []").split()] for line in x_part.strip().splitlines()])
    np.testing.assert_array_equal(x_read, np.array(_shown(view.x_table), dtype=float))  # same numbers, same rounding
    view.copy_text()
    assert QApplication.clipboard().text() == text


def test_the_text_export_is_what_the_exported_script_prints(qtbot, show_view, tmp_path: Path) -> None:  # noqa: ANN001
    """The lecture's own setting, at the script's 8 digits: the script's block is in the view's text unchanged."""
    view = _view(show_view, "lecture-demo")
    view.decimals.setValue(8)
    script = tmp_path / "lecture.py"
    script.write_text(script_text(view.document.scenario, filename=script.name), encoding="utf-8")
    env = {k: os.environ[k] for k in ("PATH", "SYSTEMROOT", "OPENBLAS_NUM_THREADS") if k in os.environ}
    done = subprocess.run([sys.executable, "-s", script.name, "--float32"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env=env)  # the app computes in float32
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("=== layer 0, head 0 ")))
    block = "\n".join(lines[start:lines.index("", start)])
    text = view.text()
    assert text.startswith("\n".join(lines[:2]) + "\n\n" + block + "\n")
    assert "fixed pattern, linear normalisation" in block


def test_a_wide_model_pages_through_its_columns_and_says_which(qtbot, show_view) -> None:  # noqa: ANN001
    cfg = engine.ModelConfig(n_layers=2, n_heads=8, d_model=512, d_head=64, d_vocab=8000, n_ctx=64)
    rng = np.random.default_rng(0)
    block = rng.integers(1, cfg.d_vocab, 20)
    scenario = Scenario(title="wide", vocab=[f"t{i}" for i in range(cfg.d_vocab)],
                        tokens=np.concatenate([[0], block, block]), weights=engine.Weights.random(cfg), bos=0)
    analysis = Analysis(Document(scenario))
    analysis.recompute()
    analysis.document.set_selection(layer=1, head=7, query_pos=30)
    view = PrintedView(analysis)
    show_view(view)
    assert view.columns.isVisible() and view.columns.count() == 512 // PAGE
    assert "columns 0–15 of 512" in view.x_title.text()
    view.columns.setCurrentIndex(2)
    p = _entry(view)
    assert view.x_table.model().headerData(0, Qt.Orientation.Horizontal) == "d32"
    assert _shown(view.x_table) == _rounded(p.x[:, 32:48], 2)
    assert "columns 32–47 of 512" in view.z_title.text() and "columns 32–47 of 512" in view.text()
    assert view.last_error is None


def test_one_token_and_the_last_layer_do_not_fail(qtbot, show_view) -> None:  # noqa: ANN001
    view = _view(show_view, layer=1, head=1)
    view.document.set_tokens(view.document.scenario.tokens[:1])
    view.analysis.recompute()
    assert view.a_table.model().rowCount() == 1 and view.last_error is None
    assert _mark(view.x_table, 0) in (QUERY_COLOR, SOURCE_COLOR)
    lecture = _view(show_view, "lecture-demo", query_pos=0)  # row 0 of the shift attends to nothing
    assert "copies nothing" in lecture.legend.text() and lecture.last_error is None
    assert [r for r in range(4) if _mark(lecture.x_table, r)] == [0]


def _move(widget: QWidget, pos: QPoint) -> None:
    """A mouse move delivered to ``widget`` (QTest.mouseMove lands by window position, which the offscreen
    platform maps onto another table)."""
    event = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(widget.mapToGlobal(pos)),
                        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def test_a_slow_head_says_computing_then_shows_its_numbers(qtbot, show_view, monkeypatch) -> None:  # noqa: ANN001
    from induction_gui.analysis.entries import printed
    from induction_gui.qt.analysis_executor import QtExecutor

    monkeypatch.setattr(printed, "PRINTED_SLOW_FLOPS", 0.0)  # every head is "large": its numbers come from a worker
    executor = QtExecutor()
    try:
        analysis = Analysis(Document(load_scenario("induction-circuit")), executor=executor)
        analysis.recompute()
        view = PrintedView(analysis)
        show_view(view)
        assert "computing" in view.heading.text() and view.a_table.model().rowCount() == 0
        assert view.matrices() == {}
        executor.wait()
        qtbot.waitUntil(lambda: view.a_table.model().rowCount() == 9)
        assert "computing" not in view.heading.text() and view.last_error is None
        view.detach()
    finally:
        executor.shutdown()


def test_hover_and_click_in_a_table(qtbot, show_view) -> None:  # noqa: ANN001
    view = _view(show_view, layer=1, head=0, query_pos=6)
    table = view.a_table
    table.scrollTo(table.model().index(8, 5))
    center = table.visualRect(table.model().index(8, 5)).center()
    _move(table.viewport(), center)
    qtbot.waitUntil(lambda: _mark(view.x_table, 5) == HOVER_COLOR)  # key 5's row of X
    assert _mark(view.z_table, 8) == HOVER_COLOR and _mark(table, 8, 5) == HOVER_COLOR
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert view.document.selection.query_pos == 8
    assert _mark(view.x_table, 8) == QUERY_COLOR
    QApplication.sendEvent(table.viewport(), QEvent(QEvent.Type.Leave))  # the pointer leaves the table
    qtbot.waitUntil(lambda: _mark(view.x_table, 5) != HOVER_COLOR)


def test_the_window_has_a_printed_tab_that_follows_the_attention_hover_and_exports(
        make_window, tmp_path: Path) -> None:  # noqa: ANN001
    window = make_window("induction-circuit")
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles.index("Printed") == 6  # tab 7, Ctrl+7
    window.document.set_selection(layer=1, head=0, query_pos=6)
    window.tabs.setCurrentIndex(6)
    window.wait_idle()
    view = window.tabs.currentWidget().view
    assert isinstance(view, PrintedView) and "L1H0" in view.heading.text()
    window.attention_view.heatmap.hovered.emit(7, 4)  # the pointer over A[7, 4] of the focused head
    assert window.hover.cell == HoveredCell(1, 0, 7, 4)
    assert _mark(view.x_table, 4) == HOVER_COLOR and _mark(view.z_table, 7) == HOVER_COLOR
    window.attention_view.heatmap.hovered.emit(-1, -1)
    assert window.hover.cell is None and _mark(view.x_table, 4) is None
    written = window.export_matrices(tmp_path / "csv")
    names = sorted(p.name for p in written)
    assert len(names) == 5 and any("A__attention_pattern" in n for n in names)
    pattern_csv = next(p for p in written if "attention_pattern" in p.name)
    with open(pattern_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    np.testing.assert_allclose(np.array([r[1:] for r in rows[1:]], dtype=float), _entry(view).pattern, rtol=1e-6)


@pytest.mark.parametrize("presenting", [False, True])
def test_the_view_fits_the_centre_of_a_small_window(qtbot, show_view, presenting: bool) -> None:  # noqa: ANN001
    """At 1280x720 with both docks the centre is about 520 x 560 pixels: the view asks for less, and its three
    tables share the width (each scrolls inside) instead of pushing the window wider."""
    view = _view(show_view, "repeated-random", layer=1, head=1, query_pos=10)
    view.set_presentation(presenting)
    if presenting:
        view.set_font_size(20.0)  # the projector's large text
    view.resize(520, 560)
    qtbot.waitUntil(lambda: view.heading.font().pointSizeF() == view.heading_points)
    hint = view.minimumSizeHint()
    assert hint.width() <= 520 and hint.height() <= 560, hint
    widths = view.splitter.sizes()
    assert len(widths) == 3 and min(widths) >= 100, widths  # none squeezed to a sliver
    assert view.labels.isHidden() == presenting  # the exact labels are prose: in tool tips on the projector
    assert view.last_error is None
