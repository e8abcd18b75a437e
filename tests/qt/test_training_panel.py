"""The Training dock: live training off the GUI thread, the phase-change marker, scrubbing, run folders.

Runs use the tiny preset (d_vocab 33, n_ctx 32, about 4 ms a step) and few
steps, so the whole file stays well under a minute.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtGui import QUndoStack

from induction_gui import load_scenario
from induction_gui.engine.training import PRESETS, StepRecord, Trainer, induction_formed
from induction_gui.engine.weights import Weights
from induction_gui.analysis import Analysis
from induction_gui.model.document import Document
from induction_gui.model.training_run import RunWriter
from induction_gui.qt.commands import SetWeightCommand
from induction_gui.qt.panels.training_curves import TrainingCurves
from induction_gui.qt.panels.training_panel import TrainingPanel

LONG_RUN = 100_000  # steps of runs a test pauses or cancels: never finishes by itself
WAIT_MS = 20_000
PARKED_WATCH_MS = 150


@pytest.fixture
def doc() -> Document:
    return Document(load_scenario("induction-circuit"))


@pytest.fixture
def stack() -> QUndoStack:
    return QUndoStack()


@pytest.fixture
def panel(qtbot, doc: Document, stack: QUndoStack) -> Iterator[TrainingPanel]:
    p = TrainingPanel(doc, stack)
    p.errors = []
    p.show_error = lambda title, message: p.errors.append((title, message))
    qtbot.addWidget(p)
    p.resize(1400, 420)
    p.show()
    p.settings.select_preset("tiny")
    yield p
    p.detach()


def _set_steps(panel: TrainingPanel, steps: int) -> None:
    panel.spins["steps"].setValue(steps)
    assert panel.settings_valid, panel.validation_label.text()


def _finish(qtbot, panel: TrainingPanel) -> None:
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT_MS)


def _thread_end_flag(panel: TrainingPanel) -> list[bool]:
    """A list that gets True from the worker thread itself as it ends (the panel deletes the object later)."""
    ended: list[bool] = []
    panel._worker.finished.connect(lambda: ended.append(True), Qt.ConnectionType.DirectConnection)
    return ended


def _record(step: int, formed: bool) -> StepRecord:
    """A synthetic record: 1 layer-0 and 1 last-layer head, formed or still on the plateau."""
    prefix, repeat = (0.9, 0.5) if formed else (0.1, 3.0)
    return StepRecord(step=step, elapsed_s=0.01 * step, loss=3.2, loss_first=3.4, loss_repeat=repeat,
                      prefix_matching=[[0.1], [prefix]], previous_token=[[0.6], [0.1]])


def _write_run(folder: Path, steps: int = 30) -> tuple[list[StepRecord], dict[int, Weights]]:
    """A real tiny run folder, written as the command line writes one."""
    config = dataclasses.replace(PRESETS["tiny"], steps=steps, checkpoint_every=10)
    trainer = Trainer(config)
    writer = RunWriter(folder, config)
    checkpoints = {0: trainer.weights.copy()}
    writer.checkpoint(0, checkpoints[0])
    records = []
    while trainer.step_index < steps:
        record = trainer.step()
        records.append(record)
        writer.add(record)
        if trainer.step_index % config.checkpoint_every == 0:
            checkpoints[trainer.step_index] = trainer.weights.copy()
            writer.checkpoint(trainer.step_index, checkpoints[trainer.step_index])
    writer.finish("finished", trainer.weights, trainer.step_index)
    return records, checkpoints


# -- settings ---------------------------------------------------------------------------------------------
def test_invalid_settings_show_the_reason_and_disable_start(panel: TrainingPanel) -> None:
    panel.spins["lr"].setValue(0.0)
    assert panel.validation_label.text().startswith("lr:")
    assert not panel.start_button.isEnabled()
    assert panel.start() is False and not panel.running
    panel.spins["lr"].setValue(0.01)
    assert panel.validation_label.text() == ""
    assert panel.start_button.isEnabled()


def test_preset_fills_the_hyperparameters(panel: TrainingPanel) -> None:
    panel.settings.select_preset("slow-motion")
    slow = PRESETS["slow-motion"]
    assert panel.spins["n_heads"].value() == slow.n_heads
    assert panel.spins["d_model"].value() == slow.d_model
    assert panel.spins["lr"].value() == pytest.approx(slow.lr)


def test_presets_are_listed_by_title_with_the_command_line_key_as_tooltip(panel: TrainingPanel) -> None:
    from PySide6.QtCore import Qt

    combo = panel.preset_combo
    assert [combo.itemData(i) for i in range(combo.count())] == list(PRESETS)
    titles = [combo.itemText(i) for i in range(combo.count())]
    assert all(title not in PRESETS for title in titles), titles  # no file-stem-like keys on screen
    assert combo.itemData(1, Qt.ItemDataRole.ToolTipRole) == f"--preset {list(PRESETS)[1]}"
    combo.setCurrentIndex(list(PRESETS).index("tiny"))  # as a click in the list does
    assert panel.settings.preset_key == "tiny"
    assert panel.spins["steps"].value() == PRESETS["tiny"].steps
    with pytest.raises(KeyError, match="no training preset 'nope'"):
        panel.settings.select_preset("nope")


# -- training ------------------------------------------------------------------------------------------------
def test_start_streams_records_into_curves_and_progress(qtbot, panel: TrainingPanel) -> None:
    _set_steps(panel, 60)
    assert panel.start()
    assert not panel.start_button.isEnabled() and panel.pause_button.isEnabled()
    qtbot.waitUntil(lambda: len(panel.records) >= 10, timeout=WAIT_MS)
    assert panel.progress.value() >= 10
    assert panel.curves.curves["loss"][0].xData.size >= 10
    _finish(qtbot, panel)
    assert panel.status == "finished"
    assert [r.step for r in panel.records] == list(range(1, 61))
    assert panel.checkpoint_steps == [0, 10, 20, 30, 40, 50, 60]
    assert panel.progress.value() == 60 and panel.progress.text().startswith("step 60 / 60")
    for key in ("loss", "split", "prefix", "previous"):
        for curve in panel.curves.curves[key]:
            assert curve.xData.size == 60
    assert panel.slider.isEnabled() and panel.slider.maximum() == 6
    # the run folder is complete, so it can be saved and reopened
    assert (panel.run_folder / "history.json").exists() and panel.save_button.isEnabled()


def test_space_starts_and_pauses(qtbot, panel: TrainingPanel) -> None:
    _set_steps(panel, LONG_RUN)
    qtbot.keyClick(panel, Qt.Key.Key_Space)
    assert panel.status == "training"
    qtbot.keyClick(panel, Qt.Key.Key_Space)
    assert panel.status == "paused"
    panel.cancel()
    _finish(qtbot, panel)


def test_pause_stops_records_and_resume_continues(qtbot, panel: TrainingPanel) -> None:
    _set_steps(panel, LONG_RUN)
    panel.start()
    qtbot.waitUntil(lambda: len(panel.records) >= 5, timeout=WAIT_MS)
    panel.pause()
    assert panel.resume_button.isEnabled() and not panel.pause_button.isEnabled()
    # the worker says when it has parked, after sending what it had
    qtbot.waitUntil(lambda: panel.status_label.text().startswith("Paused"), timeout=WAIT_MS)
    paused_at = len(panel.records)
    # absence can only be watched for a while: three of the parked worker's 50 ms pause polls
    with qtbot.assertNotEmitted(panel._worker.batch, wait=PARKED_WATCH_MS):
        pass
    assert len(panel.records) == paused_at
    panel.resume()
    qtbot.waitUntil(lambda: len(panel.records) > paused_at + 5, timeout=WAIT_MS)
    assert [r.step for r in panel.records] == list(range(1, len(panel.records) + 1))  # nothing lost or repeated
    panel.cancel()
    _finish(qtbot, panel)


def test_cancel_stops_the_thread_and_keeps_the_run(qtbot, panel: TrainingPanel) -> None:
    _set_steps(panel, LONG_RUN)
    panel.start()
    ended = _thread_end_flag(panel)
    qtbot.waitUntil(lambda: len(panel.records) >= 12, timeout=WAIT_MS)
    panel.cancel()
    _finish(qtbot, panel)
    assert ended  # the thread itself has returned, not only the panel's bookkeeping
    assert panel.status == "cancelled"
    assert panel.status_label.text().startswith("Cancelled")
    done = len(panel.records)
    QCoreApplication.processEvents()  # the thread has ended: whatever it sent is delivered by now
    assert len(panel.records) == done < LONG_RUN
    assert panel.checkpoint_steps[0] == 0 and panel.checkpoint_steps[-1] <= done
    assert panel.start_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_cancel_while_paused_ends_the_run(qtbot, panel: TrainingPanel) -> None:
    _set_steps(panel, LONG_RUN)
    panel.start()
    qtbot.waitUntil(lambda: len(panel.records) >= 3, timeout=WAIT_MS)
    panel.pause()
    panel.cancel()
    _finish(qtbot, panel)
    assert panel.status == "cancelled"


def test_detach_joins_a_running_thread(qtbot, panel: TrainingPanel) -> None:
    _set_steps(panel, LONG_RUN)
    panel.start()
    ended = _thread_end_flag(panel)
    qtbot.waitUntil(lambda: len(panel.records) >= 3, timeout=WAIT_MS)
    panel.detach()
    assert ended and not panel.running


def test_gui_timer_keeps_firing_while_training(qtbot, panel: TrainingPanel) -> None:
    """The window stays responsive: a 20 ms timer on the GUI thread keeps ticking between training batches.

    How often it ticks and its longest gap are latencies, for the benchmark to measure; here each tick
    notes how many records had arrived, and the ticks must interleave with the batches.
    """
    _set_steps(panel, LONG_RUN)
    seen: list[int] = []  # len(panel.records) at each tick
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: seen.append(len(panel.records)))
    panel.start()
    qtbot.waitUntil(lambda: len(panel.records) >= 3, timeout=WAIT_MS)
    start_records = len(panel.records)
    timer.start()
    # several batches (at most 10 a second) arrive while the timer keeps ticking
    qtbot.waitUntil(lambda: len(seen) >= 10 and len(set(seen)) >= 4 and seen[-1] - start_records > 20,
                    timeout=WAIT_MS)
    timer.stop()
    panel.cancel()
    _finish(qtbot, panel)
    assert seen[-1] - start_records > 20  # training really ran meanwhile


# -- the phase change -------------------------------------------------------------------------------------------
def test_phase_change_marker_appears_on_every_plot(qtbot) -> None:
    curves = TrainingCurves(induction_formed)
    qtbot.addWidget(curves)
    curves.resize(1200, 300)
    curves.show()
    curves.clear(100)
    curves.add_records([_record(step, formed=False) for step in range(1, 40)])
    assert curves.formed_at is None and curves.marker_text == ""
    assert not any(line.isVisible() for line in curves.phase_lines.values())
    curves.add_records([_record(40, formed=True), _record(41, formed=True)])
    assert curves.formed_at == 40
    assert curves.marker_text == "induction head forms (step 40)"
    for line in curves.phase_lines.values():
        assert line.isVisible() and line.value() == 40
        assert "induction head" in line.label.toPlainText() and "(step 40)" in line.label.toPlainText()
    curves.add_records([_record(60, formed=True)])
    assert curves.formed_at == 40  # the first formed record marks the phase change
    curves.set_cursor(20)
    assert all(line.isVisible() and line.value() == 20 for line in curves.cursor_lines.values())
    assert len(curves.curves["prefix"]) == 1 and "L1H0" in curves.legends["prefix"].text()
    assert "L0H0" in curves.legends["previous"].text()


def test_records_before_the_first_show_are_drawn_then(qtbot) -> None:
    curves = TrainingCurves(induction_formed)
    qtbot.addWidget(curves)
    curves.clear(10)
    curves.add_records([_record(1, formed=False), _record(2, formed=True)])
    assert not curves.plots  # not built while hidden (start-up cost)
    curves.show()
    assert curves.curves["loss"][0].xData.tolist() == [1.0, 2.0]
    assert curves.phase_lines["loss"].isVisible()


# -- scrubbing --------------------------------------------------------------------------------------------------
def test_scrubbing_loads_checkpoints_without_undo_entries(qtbot, panel: TrainingPanel, doc: Document,
                                                          stack: QUndoStack) -> None:
    _set_steps(panel, 40)
    panel.start()
    _finish(qtbot, panel)
    assert panel.checkpoint_steps == [0, 10, 20, 30, 40]
    panel.slider.setValue(2)
    qtbot.waitUntil(lambda: panel.loaded_step == 20, timeout=WAIT_MS)
    scenario = doc.scenario
    assert scenario.weights == panel.checkpoints[20]
    assert scenario.vocab[:3] == ["<s>", "t1", "t2"] and len(scenario.vocab) == PRESETS["tiny"].d_vocab
    assert scenario.tokens[0] == 0 and scenario.tokens.size <= PRESETS["tiny"].n_ctx
    assert stack.count() == 0 and stack.isClean()
    assert panel.step_spin.value() == 20 and panel.curves.cursor_step == 20

    for index in (4, 1, 3):
        panel.slider.setValue(index)
        step = panel.checkpoint_steps[index]
        qtbot.waitUntil(lambda step=step: panel.loaded_step == step, timeout=WAIT_MS)
        assert doc.scenario is scenario  # later scrubs swap weights only
        assert doc.scenario.weights == panel.checkpoints[step]
        assert stack.count() == 0 and stack.isClean()

    # the spin box snaps to the checkpoint at or before the step typed
    panel.step_spin.setValue(27)
    qtbot.waitUntil(lambda: panel.loaded_step == 20, timeout=WAIT_MS)
    assert doc.scenario.weights == panel.checkpoints[20]

    # an edit works on a copy: the stored checkpoint stays as trained
    stored = panel.checkpoints[20].copy()
    name = "blocks.0.attn.W_Q"
    stack.push(SetWeightCommand(doc, name, doc.scenario.weights[name] + 1.0))
    assert panel.checkpoints[20] == stored
    panel.load_checkpoint(30)  # history recorded on other weights would undo into the wrong model
    assert stack.count() == 0


def test_scrub_loads_each_checkpoint(qtbot, panel: TrainingPanel, doc: Document) -> None:
    """Scrubbing back and forth swaps in each checkpoint (its latency is the benchmark's to measure)."""
    _set_steps(panel, 30)
    panel.start()
    _finish(qtbot, panel)
    panel.load_checkpoint(0)
    for step in (10, 20, 30, 0, 20):
        assert panel.load_checkpoint(step)
        Analysis(doc).recompute()
        assert panel.loaded_step == step
        assert doc.scenario.weights == panel.checkpoints[step]


# -- run folders ----------------------------------------------------------------------------------------------
def test_open_run_shows_curves_and_checkpoints(qtbot, panel: TrainingPanel, doc: Document, tmp_path: Path) -> None:
    records, checkpoints = _write_run(tmp_path / "run")
    assert panel.open_run(tmp_path / "run")
    assert panel.errors == []
    assert [r.step for r in panel.records] == [r.step for r in records]
    assert panel.curves.curves["loss"][0].yData.tolist() == pytest.approx([r.loss for r in records])
    assert panel.checkpoint_steps == [0, 10, 20, 30]
    assert panel.slider.maximum() == 3 and panel.slider.isEnabled()
    assert panel.progress.text().startswith("step 30 / 30")
    assert "Opened run" in panel.status_label.text()
    panel.slider.setValue(1)
    qtbot.waitUntil(lambda: panel.loaded_step == 10, timeout=WAIT_MS)
    assert doc.scenario.weights == checkpoints[10]
    # a saved copy opens the same
    assert panel.save_run_to(tmp_path / "copy")
    assert panel.open_run(tmp_path / "copy") and panel.checkpoint_steps == [0, 10, 20, 30]


def test_broken_run_folder_shows_an_error_and_changes_nothing(qtbot, panel: TrainingPanel, doc: Document,
                                                              tmp_path: Path) -> None:
    _write_run(tmp_path / "good")
    assert panel.open_run(tmp_path / "good")
    panel.load_checkpoint(20)
    before = (list(panel.records), list(panel.checkpoint_steps), panel.config, panel.run_folder, doc.scenario,
              doc.scenario.weights.copy())
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "history.json").write_text(json.dumps({"format": "induction-gui.training", "version": 1}))
    assert not panel.open_run(broken)
    assert panel.open_run(tmp_path / "no-such-folder") is False
    assert len(panel.errors) == 2
    title, message = panel.errors[0]
    assert title == "Cannot open the training run" and "history.json" in message
    after = (list(panel.records), list(panel.checkpoint_steps), panel.config, panel.run_folder, doc.scenario,
             doc.scenario.weights)
    assert after[:5] == before[:5] and after[5] == before[5]
    assert panel.loaded_step == 20


# -- in the window ------------------------------------------------------------------------------------------------
def test_window_training_dock(qtbot, make_window, tmp_path: Path) -> None:
    window = make_window()
    dock = window.training_dock
    assert dock.objectName() == "dock_training" and dock.isHidden()
    toggle = dock.toggleViewAction()
    assert toggle.shortcut().toString() == "Ctrl+T"
    toggle.trigger()
    assert dock.isVisible()
    assert window.action_table["open_run"] in window.menuBar().actions()[0].menu().actions()

    panel = window.training_panel
    panel.settings.select_preset("tiny")
    _set_steps(panel, 160)
    panel.start()
    _finish(qtbot, panel)
    step = panel.checkpoint_steps[-4]
    assert panel.load_checkpoint(step)
    window.wait_idle()
    assert window.document.scenario.weights == panel.checkpoints[step]
    assert window.undo_stack.count() == 0 and not window.isWindowModified()
    # every view draws the trained model (make_window fails the test on a view error)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        window.wait_idle()
    window.tabs.setCurrentIndex(0)
    window.wait_idle()
    assert panel.load_checkpoint(panel.checkpoint_steps[-1])
    window.wait_idle()
    assert window.document.scenario.weights == panel.checkpoints[panel.checkpoint_steps[-1]]
    window.grab().save(str(tmp_path / "training.png"))

    # a broken folder, from the File menu's action: an error dialog, the document untouched
    scenario = window.document.scenario
    assert not window.open_training_run(tmp_path / "missing")
    assert window.errors and window.errors[-1][0] == "Cannot open the training run"
    assert window.document.scenario is scenario


# -- bounded memory ----------------------------------------------------------------------------------------------
def test_the_largest_step_count_the_form_allows_starts_and_keeps_bounded_arrays(
        qtbot, panel: TrainingPanel, monkeypatch: pytest.MonkeyPatch) -> None:
    from induction_gui.engine.train_config import TRAINING_BYTES, memory_estimate
    from induction_gui.model import training_session

    # small limits stand for the real ones, so a few dozen steps thin as a million would
    monkeypatch.setattr(training_session, "MAX_RECORDS", 12)
    monkeypatch.setattr(training_session, "MAX_CHECKPOINTS", 5)
    panel.settings.select_preset("tiny")
    steps = panel.spins["steps"]
    _set_steps(panel, steps.maximum())
    assert memory_estimate(panel.settings_config()).total < TRAINING_BYTES
    assert panel.start()
    qtbot.waitUntil(lambda: bool(panel.records) and panel.records[-1].step >= 120, timeout=WAIT_MS)
    panel.cancel()
    _finish(qtbot, panel)
    assert panel.config.steps == steps.maximum()
    assert 3 <= len(panel.records) <= 12 + 1  # + the record of a phase change, if one happened
    assert len(panel.checkpoints) <= 5 and sorted(panel.checkpoints) == panel.checkpoint_steps
    assert panel.curves.curves["loss"][0].xData.size == len(panel.records)
    assert panel.checkpoint_steps[0] == 0 and panel.checkpoint_steps[-1] == panel.records[-1].step


def test_a_batch_too_large_for_memory_is_refused_with_its_estimate(panel: TrainingPanel) -> None:
    panel.spins["batch_size"].setValue(354_878)
    text = panel.validation_label.text()
    assert text.startswith("batch_size:") and "GiB" in text
    assert not panel.start_button.isEnabled() and panel.start() is False


def test_opening_another_scenario_leaves_no_claim_that_the_views_show_a_checkpoint(
        qtbot, panel: TrainingPanel, doc: Document) -> None:
    _set_steps(panel, 20)
    panel.start()
    _finish(qtbot, panel)
    panel.slider.setValue(1)
    qtbot.waitUntil(lambda: panel.loaded_step == 10, timeout=WAIT_MS)
    assert panel.checkpoint_label.text().startswith("views show step 10")
    doc.replace_scenario(load_scenario("induction-circuit"))  # File ▸ Open: the run's model is gone
    assert panel.loaded_step is None and panel.curves.cursor_step is None
    assert "views show" not in panel.checkpoint_label.text()
    panel.slider.setValue(2)  # scrubbing again opens the run's scenario anew
    qtbot.waitUntil(lambda: panel.loaded_step == 20, timeout=WAIT_MS)
    assert doc.scenario.weights == panel.checkpoints[20]
