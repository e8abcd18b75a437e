"""The window fits a classroom's screens: every preset, every centre tab, at 1366x768 and 1280x720.

The geometry rules live in ``screen_rules.py``. Here they are run three ways:

- on deliberately broken widgets (offscreen), to show the checker finds a
  cut-off label, a sideways-scrolling dock, a hidden tab, overlapping value
  labels and a too-small plot, and stays quiet on widgets that fit;
- on the real window under Xvfb (the xcb platform, fresh settings folders,
  maximized), one process per screen size for every preset and every tab
  (1280x720 in the default run, 1366x768 with ``--run-slow``: each takes
  15-30 s on a shared 2-core machine);
- on a layout saved on a 1920x1080 screen and reopened at 1366x768.

The compact-layout choice and the clamping of saved geometry are tested
offscreen on the window's own methods.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QComboBox, QDockWidget, QLabel, QMainWindow, QScrollArea, QTabWidget, QVBoxLayout, QWidget

import pyqtgraph as pg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import screen_rules  # noqa: E402

DRIVER = Path(__file__).resolve().parent / "screen_fit_driver.py"
ROOT = Path(__file__).resolve().parents[2]
# the minimum size must leave room for a task bar and title bar on a 1280x720 projector
MAX_MIN_SIZE = QSize(1280, 680)


# -- the checker can fail ---------------------------------------------------------------------------------
def _rules(violations: list[screen_rules.Violation]) -> set[str]:
    return {v.rule for v in violations}


@pytest.fixture
def bad_window(qtbot) -> QMainWindow:  # noqa: ANN001 - pytest-qt fixture
    """A window with one of each defect: a cut label, a dock scrolling sideways, a tiny plot, a hidden tab."""
    window = QMainWindow()
    centre = QWidget()
    layout = QVBoxLayout(centre)
    cut = QLabel("a label far too long for the narrow box it was given")
    cut.setObjectName("cut_label")
    cut.setFixedWidth(60)  # a fixed width below the text: the label is drawn cut off
    layout.addWidget(cut)
    tiny = pg.PlotWidget()
    tiny.setObjectName("tiny_plot")
    tiny.setFixedSize(70, 60)  # its plot area is well under 48 px a side once axes take their share
    layout.addWidget(tiny)
    tabs = QTabWidget()
    for i in range(8):
        tabs.addTab(QWidget(), f"a long tab title number {i}")
    tabs.setFixedWidth(300)
    layout.addWidget(tabs)
    combo = QComboBox()
    combo.setObjectName("clipped_combo")
    combo.addItem("an item much longer than the combo box is wide")
    combo.setFixedWidth(120)  # Qt clips the item at the arrow, without "…"
    layout.addWidget(combo)
    window.setCentralWidget(centre)
    content = QWidget()
    content.setMinimumWidth(600)  # wider than the dock: its scroll area scrolls sideways
    scroll = QScrollArea()
    scroll.setWidget(content)
    scroll.setWidgetResizable(True)
    dock = QDockWidget("Wide", window)
    dock.setObjectName("dock_wide")
    dock.setWidget(scroll)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    qtbot.addWidget(window)
    window.resize(700, 500)
    window.show()
    qtbot.waitExposed(window)
    window.resizeDocks([dock], [150], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: dock.width() < 200)
    return window


def test_checker_finds_a_cut_label_a_scrolled_dock_a_small_plot_and_a_hidden_tab(bad_window: QMainWindow) -> None:
    found = screen_rules.check_widget(bad_window, largest_plot=QSize(320, 240))
    rules = _rules(found)
    assert {"cut_text", "scrolls_sideways", "plot_small", "largest_plot", "tab_scroll"} <= rules, found
    cut = [v for v in found if v.rule == "cut_text"]
    assert any("cut_label" in v.widget for v in cut), cut
    assert any("tiny_plot" in v.widget for v in found if v.rule == "plot_small")
    assert any("clipped_combo" in v.widget for v in cut), cut


def test_checker_finds_overlapping_value_labels_and_a_cut_axis_label(qtbot) -> None:  # noqa: ANN001
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.resize(200, 200)
    plot.setLabel("bottom", "an axis label much longer than two hundred pixels of axis can hold")
    for x in (0.0, 0.01):  # two labels at (almost) the same place
        text = pg.TextItem("+0.000")
        text.setPos(x, 0.5)
        plot.addItem(text)
    plot.setXRange(0, 1, padding=0)
    plot.show()
    qtbot.waitExposed(plot)
    found = screen_rules.check_plots(plot, None)
    assert "overlap" in _rules(found), found
    assert any(v.rule == "cut_plot_text" and "axis label" in v.widget for v in found), found


def test_checker_is_quiet_on_widgets_that_fit(qtbot) -> None:  # noqa: ANN001 - pytest-qt fixture
    from induction_gui.qt.widgets.fitting import ElidingComboBox
    from induction_gui.qt.widgets.labels import ElidedLabel

    window = QWidget()
    layout = QVBoxLayout(window)
    wrapped = QLabel("a long explanation that wraps onto as many lines as the width needs, never cut " * 3)
    wrapped.setWordWrap(True)
    elided = ElidedLabel("a long name elided with its whole text in the tool tip " * 2)
    combo = ElidingComboBox(8)
    combo.addItem("an item much longer than the combo box is wide")
    combo.setFixedWidth(120)  # drawn elided, the whole item in its tool tip
    layout.addWidget(wrapped)
    layout.addWidget(elided)
    layout.addWidget(combo)
    plot = pg.PlotWidget()
    plot.setMinimumSize(400, 300)
    layout.addWidget(plot, 1)
    qtbot.addWidget(window)
    window.resize(500, 600)
    window.show()
    qtbot.waitExposed(window)
    assert elided.text() != elided.full_text() and elided.full_text() in elided.toolTip()
    combo.grab()  # painted once: the elided item's whole text is its tool tip
    assert combo.itemText(0) in combo.toolTip()
    assert screen_rules.check_widget(window, largest_plot=QSize(320, 240)) == []


# -- the compact layout and saved geometry (offscreen) ---------------------------------------------------
def test_compact_layout_below_1400_pixels() -> None:
    from induction_gui.qt.layout import wants_compact

    assert wants_compact(QSize(1366, 768)) and wants_compact(QSize(1280, 720))
    assert not wants_compact(QSize(1920, 1080)) and not wants_compact(QSize(1600, 1000))


@pytest.mark.parametrize("screen, compact", [(QRect(0, 0, 1366, 768), True), (QRect(0, 0, 1920, 1080), False)])
def test_the_window_picks_its_layout_from_the_screen(make_window, monkeypatch: pytest.MonkeyPatch, screen: QRect,
                                                     compact: bool) -> None:
    from induction_gui.qt.layout import DockLayout

    monkeypatch.setattr(DockLayout, "_available", lambda self: screen)
    window = make_window()
    left = Qt.DockWidgetArea.LeftDockWidgetArea
    assert window.compact_layout is compact
    tabbed = set(window.tabifiedDockWidgets(window.sequence_dock))
    if compact:  # one column: sequence, weights and lesson as tabs on the left, the sequence in front
        assert {window.weights_dock, window.lesson_dock} <= tabbed
        assert all(window.dockWidgetArea(d) == left for d in (window.sequence_dock, window.weights_dock))
        assert not window.sequence_dock.visibleRegion().isEmpty()
    else:
        assert window.weights_dock not in tabbed
        assert window.dockWidgetArea(window.weights_dock) == Qt.DockWidgetArea.RightDockWidgetArea
    # the user can still move and float the docks
    features = window.weights_dock.features()
    assert features & QDockWidget.DockWidgetFeature.DockWidgetMovable
    assert features & QDockWidget.DockWidgetFeature.DockWidgetFloatable
    window.reset_layout()  # Reset Layout keeps the layout the screen calls for
    assert window.compact_layout is compact
    assert (window.weights_dock in set(window.tabifiedDockWidgets(window.sequence_dock))) is compact


def test_eight_tabs_fit_the_tab_bar_at_1280(make_window, settle, monkeypatch: pytest.MonkeyPatch) -> None:
    """All eight centre views, "Counting" the last, show whole on a 1280 px screen, no scroll arrows."""
    from induction_gui.qt.layout import DockLayout

    monkeypatch.setattr(DockLayout, "_available", lambda self: QRect(0, 0, 1280, 720))
    window = make_window()
    window.resize(1280, 720)
    window._default_dock_sizes()
    settle(window)
    bar = window.tabs.tabBar()
    assert bar.count() == 8 and bar.tabText(6) == "Printed" and bar.tabText(7) == "Counting"
    assert screen_rules.check_tab_bars([bar]) == []
    assert all(bar.tabRect(i).width() >= bar.fontMetrics().horizontalAdvance(bar.tabText(i)) for i in range(8)), \
        "a title is elided"


def test_docks_that_starve_the_centre_on_a_small_screen_are_narrowed_or_tabbed(make_window, settle,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A restored layout with wide docks on a 1366 screen: narrowed if they can be, else one tabbed column."""
    from induction_gui.qt.layout import DockLayout

    monkeypatch.setattr(DockLayout, "_available", lambda self: QRect(0, 0, 1366, 768))
    window = make_window()
    window.resize(1366, 768)
    right = Qt.DockWidgetArea.RightDockWidgetArea
    # as a layout from a 1920 screen restores: weights on the right, both docks wide
    window.addDockWidget(right, window.weights_dock)
    window.weights_dock.show()
    window.resizeDocks([window.sequence_dock, window.weights_dock], [500, 500], Qt.Orientation.Horizontal)
    settle(window)
    assert window.centralWidget().width() < 0.6 * window.width()
    window._fit_restored_docks()  # their minimum widths leave the centre too little: one tabbed column
    settle(window)
    assert window.weights_dock in window.tabifiedDockWidgets(window.sequence_dock)
    assert window.centralWidget().width() >= 0.6 * window.width()
    # one wide dock alone is only narrowed, and stays where the user put it
    window.weights_dock.hide()
    window.lesson_dock.hide()
    window.addDockWidget(right, window.sequence_dock)
    window.resizeDocks([window.sequence_dock], [700], Qt.Orientation.Horizontal)
    settle(window)
    assert window.centralWidget().width() < 0.6 * window.width()
    window._fit_restored_docks()
    settle(window)
    assert window.dockWidgetArea(window.sequence_dock) == right
    assert window.centralWidget().width() >= 0.55 * window.width()


def test_saved_geometry_is_clamped_into_a_smaller_screen() -> None:
    from induction_gui.qt.layout import clamp_rect

    room = QRect(0, 0, 1366, 768)
    assert clamp_rect(QRect(300, 200, 1500, 950), room) == QRect(0, 0, 1366, 768)  # a 1920 window, shrunk
    assert clamp_rect(QRect(1000, 600, 800, 500), room) == QRect(566, 268, 800, 500)  # moved back on screen
    assert clamp_rect(QRect(10, 20, 800, 500), room) == QRect(10, 20, 800, 500)  # already inside: kept


# -- the real window on a real X screen ----------------------------------------------------------------------
def _start_driver(tmp_path: Path, screen: str, *args: str) -> tuple[subprocess.Popen, Path]:
    """The driver under its own X server, started (two run side by side: the test process leaves a core idle)."""
    xvfb_run = shutil.which("xvfb-run")
    assert xvfb_run, "xvfb-run is missing: run scripts/setup.sh"
    n = len(list(tmp_path.glob("report-*"))) + len(list(tmp_path.glob("home-*")))
    out = tmp_path / f"report-{screen}-{n}.json"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    env.update(QT_QPA_PLATFORM="xcb", HOME=str(tmp_path / f"home-{screen}-{n}"),
               XDG_CONFIG_HOME=str(tmp_path / f"c-{screen}-{n}"), XDG_DATA_HOME=str(tmp_path / f"d-{screen}-{n}"),
               OPENBLAS_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    process = subprocess.Popen(
        [xvfb_run, "-a", "-s", f"-screen 0 {screen}x24", sys.executable, str(DRIVER), "--out", str(out), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(ROOT),
    )
    return process, out


def _finish_driver(started: tuple[subprocess.Popen, Path]) -> dict:
    process, out = started
    try:
        _, stderr = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, stderr[-3000:]
    return json.loads(out.read_text())


def _run_driver(tmp_path: Path, screen: str, *args: str) -> dict:
    return _finish_driver(_start_driver(tmp_path, screen, *args))


def _failure(report: dict) -> str:
    lines = [f"{v['preset']} / {v['tab']}: {v['rule']}: {v['widget']} ({v['sizes']})" for v in report["violations"]]
    return f"{len(lines)} violations on a {report['screen']} screen:\n" + "\n".join(lines[:80])


SCREENS = {"1280x720": "300x200", "1366x768": "320x240", "1920x1080": "320x240"}  # screen: largest plot at least


def _check_report(report: dict, screen: str) -> None:
    from induction_gui.model.presets import PRESETS

    assert [w["preset"] for w in report["windows"]] == list(PRESETS)
    narrow = int(screen.split("x")[0]) < 1400
    assert all(w["compact"] is narrow for w in report["windows"]), "the compact layout exactly below 1400 px"
    assert report["violations"] == [], _failure(report)


def test_every_preset_and_tab_fits_the_classroom_screens(tmp_path: Path) -> None:
    """Fresh settings, maximized, every preset, every centre tab, on the projector (1280x720) and the laptop
    (1366x768): no rule of ``screen_rules`` broken. The two screens run side by side."""
    screens = ("1280x720", "1366x768")
    started = {screen: _start_driver(tmp_path, screen, "--largest", SCREENS[screen], "--max-min-size",
                                     f"{MAX_MIN_SIZE.width()}x{MAX_MIN_SIZE.height()}") for screen in screens}
    reports = {screen: _finish_driver(started[screen]) for screen in screens}
    for screen in screens:
        _check_report(reports[screen], screen)


@pytest.mark.slow
def test_every_preset_and_tab_fits_a_desk_screen(tmp_path: Path) -> None:
    """The desk layout (not compact) at 1920x1080 keeps the same rules."""
    report = _run_driver(tmp_path, "1920x1080", "--largest", SCREENS["1920x1080"],
                         "--max-min-size", f"{MAX_MIN_SIZE.width()}x{MAX_MIN_SIZE.height()}")
    _check_report(report, "1920x1080")


def test_a_layout_saved_at_1920_is_fitted_at_1366(tmp_path: Path) -> None:
    """Saved maximized on a 1920x1080 screen, reopened on 1366x768: on screen, centre not starved, rules kept."""
    ini = tmp_path / "settings.ini"
    big = _run_driver(tmp_path, "1920x1080", "--largest", "320x240", "--presets", "induction-circuit",
                      "--settings", str(ini), "--save-layout")
    assert not big["windows"][0]["compact"] and ini.read_text().count("geometry") >= 1
    small = _run_driver(tmp_path, "1366x768", "--largest", "320x240", "--presets", "induction-circuit",
                        "--settings", str(ini), "--restore")
    window = small["windows"][0]
    x, y, width, height = window["geometry"]
    assert x >= 0 and y >= 0 and x + width <= 1366 and y + height <= 768, window
    assert window["centre_width"] >= 0.55 * width, window
    assert small["violations"] == [], _failure(small)
