"""The main window end to end: files, undo, compare, export, autosave, settings, live recompute."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from induction_gui import engine, load_scenario, save_scenario
from induction_gui.model.presets import PRESETS
from induction_gui.qt.autosave import discard, find_recoverable
from induction_gui.qt.commands import SetOverrideCommand, SetWeightCommand, set_weight_cell


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_renders_in_every_view(make_window, preset: str) -> None:
    window = make_window(preset)
    results = window.analysis.results
    assert not results.warnings
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        window.wait_idle()
        image = window.grab()
        assert not image.isNull() and image.width() > 600
    # every view has been drawn for the current results
    assert all(not v._out_of_date for v in window.views)


def test_edit_undo_redo_and_modified_title(make_window) -> None:
    window = make_window()
    doc = window.document
    name = "blocks.1.attn.W_Q"
    before = doc.scenario.weights[name].copy()
    assert not window.isWindowModified()
    window.undo_stack.push(set_weight_cell(doc, name, (0, 0, 0), 3.5))
    window.wait_idle()
    assert doc.scenario.weights[name][0, 0, 0] == 3.5
    assert window.isWindowModified() and "[*]" in window.windowTitle()
    assert window.analysis.latest_results.generation == doc.generation, "the edit was recomputed"
    window.action_table["undo"].trigger()
    window.wait_idle()
    np.testing.assert_array_equal(doc.scenario.weights[name], before)
    assert not window.isWindowModified()
    window.action_table["redo"].trigger()
    assert doc.scenario.weights[name][0, 0, 0] == 3.5


def test_burst_of_edits_is_coalesced_into_few_recomputes(make_window, qtbot) -> None:
    window = make_window()
    window.scheduler.force_sync = False
    doc = window.document
    count = []
    window.analysis.events.results.connect(count.append)
    for i in range(50):
        window.undo_stack.push(SetOverrideCommand(doc, (1, 0), engine.HeadOverride(score_scale=1 + i / 100),
                                                  merge_key="scale"))
    assert window.undo_stack.count() == 1, "a drag is one undo step"
    qtbot.waitUntil(lambda: not window.analysis.is_stale, timeout=3000)
    assert 1 <= len(count) <= 3, f"{len(count)} recomputes for one burst"
    expected = engine.run_with_cache(doc.scenario.weights, doc.scenario.tokens, doc.scenario.overrides)[1]
    np.testing.assert_allclose(window.analysis.latest_results.cache["pattern", 1], expected["pattern", 1])


def test_slow_recompute_runs_in_a_worker_and_applies_on_the_gui_thread(make_window, qtbot) -> None:
    window = make_window()
    sched = window.scheduler
    sched.force_sync = False
    sched._last_ms = 1e3  # pretend the model is slow
    doc = window.document
    with qtbot.waitSignal(sched.computed, timeout=5000) as blocker:
        window.undo_stack.push(set_weight_cell(doc, "blocks.0.attn.W_V", (0, 0, 0), 0.25))
    assert blocker.args[1] is True, "computed in the worker"
    assert not window.analysis.is_stale
    sched.task.wait()


def test_newer_edit_cancels_the_running_worker(make_window, qtbot) -> None:
    window = make_window()
    sched = window.scheduler
    sched.force_sync = False
    doc = window.document
    sched._last_ms = 1e3
    with qtbot.waitSignal(sched.busy, check_params_cb=lambda busy: busy, timeout=5000):  # the first worker started
        window.undo_stack.push(set_weight_cell(doc, "blocks.0.attn.W_V", (0, 0, 0), 0.5))
    sched._last_ms = 1e3
    window.undo_stack.push(set_weight_cell(doc, "blocks.0.attn.W_V", (0, 0, 1), 0.5))
    qtbot.waitUntil(lambda: not window.analysis.is_stale and not sched.pending, timeout=5000)
    assert window.analysis.latest_results.generation == doc.generation
    sched.task.wait()


def test_save_and_open_round_trip(make_window, tmp_path: Path) -> None:
    window = make_window()
    doc = window.document
    window.undo_stack.push(set_weight_cell(doc, "blocks.1.attn.W_K", (0, 1, 2), -1.25))
    doc.set_selection(layer=0, head=1, query_pos=3)
    path = tmp_path / "mine.json"
    assert window.save_to(path)
    assert not window.isWindowModified() and window.document.path == path
    assert path.name in window.windowTitle()
    saved = load_scenario(path)
    assert saved.weights == doc.scenario.weights
    assert saved.view["layer"] == 0 and saved.view["head"] == 1 and saved.view["query_pos"] == 3

    window.open_preset("lecture-demo")
    assert window.document.scenario.title != saved.title
    assert window.open_path(path)
    assert window.document.scenario.weights == saved.weights
    assert window.document.selection.head == 1
    assert str(path.resolve()) in window.settings.get("files/recent")


def test_broken_file_shows_the_problem_and_keeps_the_work(make_window, tmp_path: Path) -> None:
    window = make_window()
    doc = window.document
    window.undo_stack.push(set_weight_cell(doc, "blocks.1.attn.W_Q", (0, 0, 0), 2.0))
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"format": "induction-gui.scenario", "version": 1, "title": "x",
                                  "vocab": ["a"], "tokens": [0, 5], "model": {}}))
    errors: list[tuple[str, str]] = []
    window.show_error = lambda title, message: errors.append((title, message))
    assert not window.open_path(broken)
    assert len(errors) == 1 and "broken.json" in errors[0][1]
    assert doc.scenario.weights["blocks.1.attn.W_Q"][0, 0, 0] == 2.0, "nothing the user made is lost"
    assert window.isWindowModified()


def test_closing_with_unsaved_changes_asks(make_window) -> None:
    window = make_window()
    window.undo_stack.push(set_weight_cell(window.document, "blocks.1.attn.W_Q", (0, 0, 0), 2.0))
    asked = []
    window.ask_to_save = lambda: asked.append(1) or QMessageBox.StandardButton.Cancel
    assert not window.close()
    assert asked and window.isVisible()
    window.ask_to_save = lambda: QMessageBox.StandardButton.Discard
    assert window.close()


def test_pin_shows_differences_after_edits(make_window) -> None:
    window = make_window()
    doc = window.document
    window.action_table["pin"].trigger()
    assert window.analysis.pinned is not None and "pinned" in window.pin_label.text()
    window.undo_stack.push(SetOverrideCommand(doc, (0, 0), engine.HeadOverride(ablation="zero")))
    window.wait_idle()
    assert window.analysis.comparable(window.analysis.results)
    diff = window.analysis.results.cache["pattern", 1] - window.analysis.pinned.results.cache["pattern", 1]
    assert np.abs(diff).max() > 0.5, "ablating the previous-token head moves the induction pattern"
    window.action_table["pin"].trigger()
    assert window.analysis.pinned is None


def test_exports_png_svg_csv_npz(make_window, tmp_path: Path) -> None:
    window = make_window()
    window.export_view(tmp_path / "view.png")
    window.export_view(tmp_path / "view.svg")
    assert (tmp_path / "view.png").stat().st_size > 1000
    assert "<svg" in (tmp_path / "view.svg").read_text(encoding="utf-8", errors="replace")[:2000]
    written = window.export_matrices(tmp_path / "csv")
    assert written and all(p.suffix == ".csv" for p in written)
    window.export_cache(tmp_path / "cache.npz")
    with np.load(tmp_path / "cache.npz", allow_pickle=False) as cache:
        np.testing.assert_array_equal(cache["blocks.1.attn.hook_pattern"], window.analysis.results.cache["pattern", 1])


def test_autosave_and_recovery(make_window, tmp_path: Path) -> None:
    window = make_window()
    saver = window.autosaver
    assert not saver.save_now(), "nothing to save while unchanged"
    window.undo_stack.push(set_weight_cell(window.document, "blocks.1.attn.W_Q", (0, 0, 0), 7.0))
    assert saver.save_now() and saver.path.exists()
    # a file left by a process that no longer runs is offered back
    crashed = saver.folder / "autosave-999999999.json"
    save_scenario(window.document.scenario_for_saving(), crashed)
    found = find_recoverable(saver.folder)
    assert [f.path for f in found] == [crashed]
    assert load_scenario(crashed).weights["blocks.1.attn.W_Q"][0, 0, 0] == 7.0
    # the window's own autosave is not offered: its process is alive
    assert saver.save_now()
    assert all(f.path != saver.path for f in find_recoverable(saver.folder))
    discard(crashed)
    assert not crashed.exists() and find_recoverable(saver.folder) == []


def test_settings_remember_colormap_font_and_layout(make_window, settings) -> None:
    window = make_window()
    window.set_colormap("cividis")
    window.set_font_scale(1.5)
    window.weights_dock.hide()
    window.tabs.setCurrentIndex(2)
    window.save_layout()
    window.shutdown()
    again = make_window()
    assert settings.get("view/colormap") == "cividis"
    assert again.colormap_actions["cividis"].isChecked()
    assert abs(again._font_scale - 1.5) < 1e-9
    assert again.tabs.currentIndex() == 2
    assert not again.weights_dock.isVisible()
    again.reset_layout()
    assert again.weights_dock.isVisible()


@pytest.mark.slow  # a soak test: 2,000 edits take 10-15 s on 2 cores
def test_soak_random_edits_no_exception_and_bounded_memory(make_window) -> None:
    window = make_window("repeated-random")
    doc = window.document
    rng = np.random.default_rng(0)
    names = [n for n in doc.scenario.weights if ".W_" in n]
    tracemalloc.start()
    baseline = None
    for i in range(2000):
        kind = rng.integers(4)
        if kind == 0:
            name = names[rng.integers(len(names))]
            index = tuple(int(rng.integers(s)) for s in doc.scenario.weights[name].shape)
            window.undo_stack.push(set_weight_cell(doc, name, index, float(rng.normal())))
        elif kind == 1:
            window.undo_stack.push(SetOverrideCommand(doc, (int(rng.integers(2)), int(rng.integers(2))),
                                                      engine.HeadOverride(score_scale=float(rng.uniform(0, 3)))))
        elif kind == 2:
            window.action_table["undo"].trigger()
        else:
            doc.set_selection(layer=int(rng.integers(2)), head=int(rng.integers(2)),
                              query_pos=int(rng.integers(doc.scenario.tokens.size)))
        if i % 20 == 0:
            window.wait_idle()
        if i == 200:
            window.undo_stack.setUndoLimit(100)
            baseline = tracemalloc.get_traced_memory()[0]
    window.wait_idle()
    grown = tracemalloc.get_traced_memory()[0] - baseline
    tracemalloc.stop()
    assert grown < 20e6, f"memory grew by {grown / 1e6:.1f} MB over 1,800 edits"


def test_screenshot_flag_writes_a_png_and_exits(tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "c"),
               XDG_DATA_HOME=str(tmp_path / "d"))
    result = subprocess.run(
        [sys.executable, "-m", "induction_gui", "repeated-random", "--screenshot", str(out), "--size", "1200x800"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 10_000
    bad = subprocess.run(
        [sys.executable, "-m", "induction_gui", str(tmp_path / "missing.json"), "--screenshot", str(out)],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert bad.returncode == 2 and "missing.json" in bad.stderr


def test_trained_toy_preset_opens_its_training_run(tmp_path: Path) -> None:
    out = tmp_path / "trained.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "c"),
               XDG_DATA_HOME=str(tmp_path / "d"))
    result = subprocess.run(
        [sys.executable, "-m", "induction_gui", "trained-toy", "--screenshot", str(out)],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert out.stat().st_size > 10_000


def test_app_icon_and_desktop_entry_name(qapp) -> None:
    """Every window carries the project's icon; the desktop file name matches the installed entry."""
    from PySide6.QtGui import QIcon

    from induction_gui import app as app_module

    before_icon, before_name = QIcon(qapp.windowIcon()), qapp.desktopFileName()
    try:
        app_module._set_app_icon(qapp)
        assert not qapp.windowIcon().isNull()
        assert qapp.windowIcon().pixmap(48, 48).width() == 48, "the SVG renders at taskbar size"
        assert qapp.desktopFileName() == app_module.DESKTOP_ID
    finally:
        qapp.setWindowIcon(before_icon)
        qapp.setDesktopFileName(before_name)
    desktop = (Path(__file__).resolve().parents[2] / "packaging" / "linux" / "induction-gui.desktop").read_text()
    spec = (Path(__file__).resolve().parents[2] / "packaging" / "build-linux.sh").read_text()
    assert f"APP_ID={app_module.DESKTOP_ID}" in spec, "the .desktop file is installed under this name"
    assert "Icon=induction-gui" in desktop


def test_default_layout_shows_the_sequence_controls_whole(make_window, settle) -> None:
    """The sequence dock starts wide enough for its buttons (Insert … ▼, Generate): no sideways scrolling."""
    window = make_window()
    window.resize(1500, 950)
    window._default_dock_sizes()
    settle(window)
    panel = window.sequence_panel
    assert panel.full_width() > 200
    assert window.sequence_dock.width() >= panel.full_width() - 2
    assert not panel._scroll.horizontalScrollBar().isVisible()


def test_window_is_disposed_before_the_interpreter_shuts_down(qapp, settings, tmp_path: Path) -> None:
    """After the event loop, the window is deleted while Python is whole (pending layout requests of
    pyqtgraph items delivered during interpreter shutdown crashed ~1 exit in 10 after presentation mode)."""
    import shiboken6
    from PySide6.QtWidgets import QMessageBox

    from induction_gui import app as app_module
    from induction_gui.model.document import Document
    from induction_gui.qt.main_window import MainWindow

    window = MainWindow(Document(load_scenario("induction-circuit")), settings, autosave_folder=tmp_path / "a")
    window.ask_to_save = lambda: QMessageBox.StandardButton.Discard
    window.show()
    window.presentation.enter()
    window.wait_idle()
    assert window.close()  # leaves presentation mode, saves the layout, stops the threads
    app_module._dispose(window, qapp)
    assert not shiboken6.isValid(window)


def test_action_table_leaves_qwidget_actions_alone(make_window) -> None:
    """The window's actions by key live in ``action_table``; ``actions()`` stays Qt's method."""
    window = make_window()
    assert callable(window.actions)
    assert window.action_table["undo"] in window.actions() and window.action_table["presentation"] in window.actions()


def test_hidden_docks_build_their_panels_when_first_shown(make_window) -> None:
    """The Training and Lesson panels cost nothing before the first paint; showing a dock builds its panel."""
    window = make_window()
    assert window.training_dock.built_content is None and window.lesson_dock.built_content is None
    window.training_dock.show()
    window.wait_idle()
    assert window.training_dock.built_content is not None and window.training_panel.isVisible()
    assert window.training_dock.widget() is window.training_panel
    window.lesson_dock.raise_()
    window.wait_idle()
    panel = window.lesson_dock.built_content
    assert panel is not None and panel.isVisible() and window.lesson_panel is panel


def test_one_appearance_reaches_every_heatmap_and_a_scenarios_colormap_is_applied(make_window, tmp_path) -> None:
    """View ▸ Colour Map changes every built heatmap; a scenario naming view.colormap opens in it."""
    from induction_gui.model.scenario import save_scenario
    from induction_gui.qt.views.circuits_view import CircuitsView

    window = make_window()
    window.tabs.setCurrentIndex(next(i for i in range(window.tabs.count()) if window.tabs.tabText(i) == "Circuits"))
    window.wait_idle()
    circuits = next(v for v in window.views if isinstance(v, CircuitsView))
    window.colormap_actions["magma"].trigger()
    assert window.appearance.colormap == "magma" and window.colormap_actions["magma"].isChecked()
    assert window.attention_view.heatmap._sequential == "magma"
    assert circuits.pos_attn._sequential == "magma"
    assert window.settings.get("view/colormap") == "magma"

    scenario = window.document.scenario_for_saving()
    scenario.view["colormap"] = "cividis"
    save_scenario(scenario, tmp_path / "cividis.json")
    assert window.open_path(tmp_path / "cividis.json")
    assert window.appearance.colormap == "cividis" and window.colormap_actions["cividis"].isChecked()
    assert window.attention_view.heatmap._sequential == "cividis"
    assert window.settings.get("view/colormap") == "magma", "opening a file does not change the user's choice"
