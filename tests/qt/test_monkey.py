"""A seeded random-action ("monkey") test of the whole window.

The monkey drives real widgets the way a restless learner would: menu actions
(file dialogs and message boxes answered at once), tab switches, typed weight
cells (huge numbers, NaN, text that is no number), the head controls and
presets, the token list, typed sequences, every sequence generator with random
values from its form's ranges, Ctrl+Z in spin boxes, undo and redo. After every
action it asserts that nothing raised (in Python or in a Qt slot), no view failed
to draw, no error reached the status bar or an error dialog, and from time to
time that the undo stack is sound: undoing everything gives the scenario as it
was opened, redoing gives back the state before the undos.

A failure names the seed and prints the action log, so
``pytest tests/qt/test_monkey.py -k "seed-<n>"`` replays it exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDockWidget,
    QFileDialog,
    QLineEdit,
    QMessageBox,
    QWidget,
)

from induction_gui.model.events import ModelReplaced
from induction_gui.qt.views.base import View

# (seed, preset): each seed starts from another kind of scenario (a hand-made circuit, the lecture's demo
# with its fixed pattern, a words vocabulary that generators extend)
SEEDS = [(1, "induction-circuit"), (2, "lecture-demo"), (3, "repeated-names")]
ACTIONS = 150  # per seed in the default tier
LONG_ACTIONS = 1500  # the slow tier's soak

# typed cell values: ordinary numbers and the ones a learner should be told off for
CELL_TEXTS = ["0.5", "-2", "1e-3", "0,25", "3e38", "1e39", "-1e300", "nan", "NaN", "inf", "-inf", "abc", "", "  7 ",
              "123456789012345678901234567890"]
# the action table's entries the monkey leaves alone: quitting ends the test
SKIPPED_ACTIONS = {"quit"}
# status bar messages that report success; anything else there is a problem
OK_STATUS = ("Saved ", "Wrote ", "")


def state(doc) -> tuple:  # noqa: ANN001 - a Document
    """What the undo stack owns: vocabulary, tokens, weights, overrides and start token (not the saved view)."""
    s = doc.scenario
    weights = {k: (v.dtype.str, v.shape, v.tobytes()) for k, v in s.weights.items()}
    overrides = {k: (repr(o), None if o.fixed_pattern is None else o.fixed_pattern.tobytes())
                 for k, o in s.overrides.items()}
    return list(s.vocab), s.tokens.tolist(), weights, overrides, s.bos


class MonkeyFailure(AssertionError):
    pass


class Monkey:
    """Random actions on one window, each logged; :meth:`check` after each one."""

    def __init__(self, window, qtbot, seed: int, tmp_path: Path) -> None:  # noqa: ANN001 - MainWindow, QtBot
        self.w = window
        self.qtbot = qtbot
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.tmp = tmp_path
        self.log: list[str] = []
        self.status: list[str] = []
        self.replaced = False
        self.baseline = state(window.document)
        window.statusBar().messageChanged.connect(self.status.append)
        window.document.events.scenario.connect(self._on_scenario)
        self.actions: list[tuple[float, Callable[[], str]]] = [
            (6, self.type_cell), (3, self.switch_tab), (3, self.pick_matrix), (2, self.pick_head),
            (4, self.head_spin), (2, self.scale_drag), (2, self.head_radio), (2, self.fixed_pattern),
            (2, self.head_preset), (4, self.token_edit), (3, self.type_sequence), (4, self.generate),
            (5, self.undo_redo), (2, self.ctrl_z_in_spin), (3, self.menu_action), (1, self.open_preset),
            (1, self.toggle_dock), (1, self.soundness),
        ]
        weights = np.array([a[0] for a in self.actions], dtype=float)
        self.p = weights / weights.sum()

    # -- bookkeeping ------------------------------------------------------------------------------------------
    def _on_scenario(self, change) -> None:  # noqa: ANN001 - a Change
        if isinstance(change, ModelReplaced):
            self.replaced = True  # a new scenario: its undo stack starts empty

    def fail(self, message: str) -> None:
        tail = "\n".join(self.log[-60:])
        raise MonkeyFailure(f"monkey seed {self.seed}, after action {len(self.log) - 1}: {message}\n"
                            f"replay: pytest tests/qt/test_monkey.py --run-slow -k 'seed-{self.seed}]'\n"
                            f"last actions:\n{tail}")

    def run(self, count: int) -> None:
        for _ in range(count):
            self.step()
        self.log.append(f"{len(self.log)}: final soundness check")
        self.soundness()

    def step(self) -> None:
        action = self.actions[int(self.rng.choice(len(self.actions), p=self.p))][1]
        self.replaced = False
        with self.qtbot.captureExceptions() as exceptions:
            try:
                what = action()
            except MonkeyFailure:
                raise
            except Exception as exc:  # noqa: BLE001 - any exception is the monkey's finding
                self.log.append(f"{len(self.log)}: {action.__name__} raised")
                self.fail(f"{type(exc).__name__}: {exc}")
            self.log.append(f"{len(self.log)}: {what}")
            self.w.wait_idle()
            self._close_dialogs()
        if exceptions:
            self.fail("exception in a Qt slot: " + "; ".join(f"{e[0].__name__}: {e[1]}" for e in exceptions))
        self.check()

    def check(self) -> None:
        w = self.w
        if self.replaced:
            if w.undo_stack.count():
                self.fail("a new scenario kept the previous scenario's undo steps")
            self.baseline = state(w.document)
        if w.errors:
            self.fail(f"error dialog: {w.errors}")
        failed = {v.title: v.last_error for v in w.findChildren(View) if v.last_error}
        if failed:
            self.fail(f"views failed to draw: {failed}")
        bad = [m for m in self.status if not m.startswith(OK_STATUS)]
        if bad:
            self.fail(f"status bar: {bad}")
        if not 0 <= w.undo_stack.index() <= w.undo_stack.count():
            self.fail("undo stack index out of range")

    def _close_dialogs(self) -> None:
        for top in QApplication.topLevelWidgets():
            if top is not self.w and isinstance(top, QDialog) and top.isVisible():
                top.close()

    def _reveal(self, widget: QWidget) -> str:
        """Make a panel's widget reachable as a learner would: leave presentation mode, show and raise its dock."""
        done = []
        if not widget.isVisible() and self.w.presentation.active:
            self.w.action_table["leave_presentation"].trigger()
            done.append("leave presentation")
        dock = next((d for d in (self.w.sequence_dock, self.w.weights_dock) if d.isAncestorOf(widget)), None)
        if dock is not None and not widget.isVisible():
            if dock.isHidden():
                dock.toggleViewAction().trigger()
                done.append(f"show {dock.windowTitle()}")
            dock.raise_()  # tabbed with the lessons
            QApplication.processEvents()
        if not widget.isVisible():
            self.fail(f"cannot reach {type(widget).__name__} ({', '.join(done) or 'nothing tried'})")
        return f"[{', '.join(done)}] " if done else ""

    def _pick(self, items: list):  # noqa: ANN202 - one of the items
        return items[int(self.rng.integers(len(items)))]

    def _int(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))

    # -- actions: each returns what it did, for the log ------------------------------------------------------
    def type_cell(self) -> str:
        editor = self.w.weights_panel.editor
        table, model = editor.table, editor.model
        editor.tabs.setCurrentWidget(table)
        shown = self._reveal(table)
        if model.rowCount() == 0 or model.columnCount() == 0:
            return "type cell: empty matrix"
        row, col = self._int(0, model.rowCount() - 1), self._int(0, model.columnCount() - 1)
        text = self._pick(CELL_TEXTS) if self.rng.random() < 0.6 else f"{self.rng.normal(0, 2):.4g}"
        index = model.index(row, col)
        table.setCurrentIndex(index)
        table.scrollTo(index)
        table.edit(index)
        editors = [e for e in table.viewport().findChildren(QLineEdit) if e.isVisible()]
        if len(editors) != 1:
            self.fail(f"cell editor of {editor.name}[{row},{col}] did not open ({len(editors)} editors)")
        editors[0].selectAll()
        self.qtbot.keyClicks(editors[0], text)
        self.qtbot.keyClick(editors[0], Qt.Key.Key_Return)
        self.qtbot.waitUntil(lambda: table.state() != QAbstractItemView.State.EditingState, timeout=2000)
        return f"{shown}type cell {editor.name}{list(editor.slice_index)}[{row},{col}] <- {text!r}"

    def switch_tab(self) -> str:
        i = self._int(0, self.w.tabs.count() - 1)
        self.w.action_table[f"tab{i + 1}"].trigger()
        if self.w.tabs.currentIndex() != i:
            self.fail(f"View ▸ {self.w.tabs.tabText(i)} showed tab {self.w.tabs.currentIndex()}")
        return f"tab {i} ({self.w.tabs.tabText(i)})"

    def pick_matrix(self) -> str:
        combo = self.w.weights_panel.param_combo
        shown = self._reveal(combo)
        combo.setCurrentIndex(self._int(0, combo.count() - 1))
        return f"{shown}matrix {combo.currentText()}"

    def pick_head(self) -> str:
        panel = self.w.weights_panel
        shown = self._reveal(panel.layer_combo)
        panel.layer_combo.setCurrentIndex(self._int(0, panel.layer_combo.count() - 1))
        panel.head_combo.setCurrentIndex(self._int(0, panel.head_combo.count() - 1))
        return f"{shown}head L{panel.layer_combo.currentIndex()}H{panel.head_combo.currentIndex()}"

    def head_spin(self) -> str:
        hc = self.w.weights_panel.head_controls
        self._reveal(hc)
        spin = self._pick([s for s in (hc.scale_spin, hc.shift_spin, hc.seed_spin, hc.offset_spin, hc.cell_value)
                           if s.isVisible()])
        if self.rng.random() < 0.3:  # typed, then Enter (the scale box applies on Enter)
            value = self.rng.uniform(spin.minimum(), spin.maximum())
            text = f"{value:.2f}" if hasattr(spin, "decimals") else str(int(value))
            spin.lineEdit().selectAll()
            self.qtbot.keyClicks(spin, text)
            self.qtbot.keyClick(spin, Qt.Key.Key_Return)
            return f"type {text!r} into {spin.toolTip()[:30]!r}"
        if hasattr(spin, "decimals"):
            value = round(float(self.rng.uniform(spin.minimum(), spin.maximum())), spin.decimals())
        else:
            value = self._int(spin.minimum(), spin.maximum())
        spin.setValue(value)
        return f"set {value} in {spin.toolTip()[:30]!r}"

    def scale_drag(self) -> str:
        slider = self.w.weights_panel.head_controls.scale_slider
        self._reveal(slider)
        slider.setSliderDown(True)  # sliderPressed: one undo step for the drag
        values = [self._int(slider.minimum(), slider.maximum()) for _ in range(self._int(1, 5))]
        for v in values:
            slider.setValue(v)
        slider.setSliderDown(False)
        return f"drag score scale through {values}"

    def head_radio(self) -> str:
        hc = self.w.weights_panel.head_controls
        self._reveal(hc)
        button = self._pick([*hc.norm_buttons.values(), *hc.ablate_buttons.values()])
        button.click()
        return f"click {button.text()!r}"

    def fixed_pattern(self) -> str:
        hc = self.w.weights_panel.head_controls
        self._reveal(hc.fixed_check)
        choice = self._int(0, 2)
        if choice == 0 or not hc.fixed_check.isChecked():
            hc.fixed_check.click()
            return f"fixed pattern {'on' if hc.fixed_check.isChecked() else 'off'}"
        if choice == 1:
            hc.fill_button.click()
            return f"fill shift {hc.offset_spin.value()}"
        n = hc.override.fixed_pattern.shape[0]
        row, col = self._int(0, n - 1), self._int(0, n - 1)
        hc.pattern_view.clicked.emit(row, col)  # what a click on the heatmap's cell sends
        return f"click pattern cell [{row},{col}]"

    def head_preset(self) -> str:
        hc = self.w.weights_panel.head_controls
        self._reveal(hc.presets)
        enabled = [k for k, b in hc.preset_buttons.items() if b.isEnabled()]
        key = self._pick(enabled)
        hc.preset_buttons[key].click()
        return f"head preset {key}"

    def token_edit(self) -> str:
        p = self.w.sequence_panel
        self._reveal(p.token_list)
        if p.token_list.count():
            p.token_list.setCurrentRow(self._int(0, p.token_list.count() - 1))
        choice = self._int(0, 4)
        if choice == 4:
            if p.token_combo.count() == 0 or not p.token_combo.isEnabled():
                return "token menu: disabled"
            i = self._int(0, p.token_combo.count() - 1)
            p.token_combo.setCurrentIndex(i)
            return f"row {p.token_list.currentRow()}: token {p.token_combo.itemText(i)!r}"
        button = (p.insert_button, p.delete_button, p.up_button, p.down_button)[choice]
        if not button.isEnabled():
            return f"row {p.token_list.currentRow()}: {button.accessibleName() or button.text()} disabled"
        button.click()
        return f"row {p.token_list.currentRow()}: {button.accessibleName() or button.text()}"

    def type_sequence(self) -> str:
        p = self.w.sequence_panel
        self._reveal(p.text_edit)
        s = self.w.document.scenario
        n_ctx = s.weights.config.n_ctx
        words = [self._pick(s.vocab) for _ in range(self._int(1, min(n_ctx + 2, 14)))]
        if self.rng.random() < 0.2:
            words.append(self._pick(["zebra", "Mary", "qq"]))  # a word the vocabulary may lack
        sep = "" if s.tokenizer == "chars" else self._pick([" ", "  ", " "])
        text = sep.join(words)
        if self.rng.random() < 0.3:  # keystrokes: a burst of typing
            p.text_edit.setFocus()
            self.qtbot.keyClicks(p.text_edit, text[:6])
            what = f"keystrokes {text[:6]!r}"
        else:
            p.text_edit.setPlainText(text)
            what = f"sequence text {text!r}"
        p.text_edit.committed.emit()  # Enter: the burst ends
        if p.add_words_button.isVisible() and self.rng.random() < 0.7:
            p.add_words_button.click()
            what += " + add words"
        return what

    def generate(self) -> str:
        form = self.w.sequence_panel.generator_form
        self._reveal(form.generate_button)
        form.generator_combo.setCurrentIndex(self._int(0, form.generator_combo.count() - 1))
        values = {}
        for name, spin in form._parameters.get(form.spec.key, {}).items():
            spin.setValue(self._int(spin.minimum(), spin.maximum()))
            values[name] = spin.value()
        form.seed_spin.setValue(self._int(0, 1000))
        form.generate_button.click()
        return f"generate {form.spec.key} {values} seed {form.seed_spin.value()}"

    def undo_redo(self) -> str:
        key = self._pick(["undo", "undo", "redo"])
        times = self._int(1, 3)
        for _ in range(times):
            self.w.action_table[key].trigger()
        return f"{key} ×{times}"

    def ctrl_z_in_spin(self) -> str:
        hc = self.w.weights_panel.head_controls
        spin = self._pick([hc.shift_spin, hc.scale_spin])
        self._reveal(spin)
        self.w.activateWindow()
        spin.setFocus()
        redo = self.rng.random() < 0.3
        mods = Qt.KeyboardModifier.ControlModifier | (Qt.KeyboardModifier.ShiftModifier if redo else
                                                      Qt.KeyboardModifier.NoModifier)
        self.qtbot.keyClick(spin, Qt.Key.Key_Z, mods)
        return f"Ctrl+{'Shift+' if redo else ''}Z in {spin.toolTip()[:20]!r}"

    def menu_action(self) -> str:
        keys = sorted(k for k in self.w.action_table if k not in SKIPPED_ACTIONS)
        key = self._pick(keys)
        self.w.action_table[key].trigger()
        return f"menu action {key}"

    def toggle_dock(self) -> str:
        """View ▸ Sequence / Weights / Training / Lesson (the lesson's steps replace the scenario)."""
        dock = self._pick(sorted(self.w.findChildren(QDockWidget), key=lambda d: d.objectName()))
        dock.toggleViewAction().trigger()
        return f"{'show' if dock.isVisible() else 'hide'} dock {dock.windowTitle()}"

    def open_preset(self) -> str:
        menu = self.w.presets_menu
        menu.aboutToShow.emit()
        action = self._pick(menu.actions())
        action.trigger()
        return f"open preset {action.data()}"

    def soundness(self) -> str:
        """Undo everything: the scenario as opened; redo as many: the state before the undos."""
        stack, doc = self.w.undo_stack, self.w.document
        before, index = state(doc), stack.index()
        while stack.canUndo():
            stack.undo()
        if state(doc) != self.baseline:
            self.fail(f"undoing all {index} steps did not give back the scenario as opened")
        for _ in range(index):
            stack.redo()
        if stack.index() != index or state(doc) != before:
            self.fail(f"redoing {index} steps did not give back the state before the undos")
        return f"soundness check over {index} steps"


@pytest.fixture
def no_blocking_dialogs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """File dialogs answer at once (saves and exports into the test's folder, opening is cancelled);
    message boxes return without waiting."""
    out = tmp_path / "out"
    out.mkdir()

    def save_name(parent=None, caption="", start="", *args, **kwargs):  # noqa: ANN001,ANN002,ANN003,ANN202
        name = Path(start).name if start else "scenario.json"
        return str(out / name), ""

    def folder(parent=None, caption="", *args, **kwargs):  # noqa: ANN001,ANN002,ANN003,ANN202
        return str(out) if "export" in caption.lower() else ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_name))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: ("", "")))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(folder))
    for name in ("about", "information", "warning", "critical"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(lambda *a, **k: QMessageBox.StandardButton.Ok))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard))


def _run(make_window, qtbot, tmp_path: Path, seed: int, preset: str, count: int) -> None:  # noqa: ANN001
    window = make_window(preset)
    window.resize(1366, 768)
    Monkey(window, qtbot, seed, tmp_path).run(count)


@pytest.mark.parametrize(("seed", "preset"), SEEDS, ids=[f"seed-{s}" for s, _ in SEEDS])
def test_monkey(make_window, qtbot, tmp_path: Path, no_blocking_dialogs,  # noqa: ANN001 - fixtures
                seed: int, preset: str) -> None:
    _run(make_window, qtbot, tmp_path, seed, preset, ACTIONS)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [101, 102], ids=["seed-101", "seed-102"])
def test_monkey_soak(make_window, qtbot, tmp_path: Path, no_blocking_dialogs, seed: int) -> None:  # noqa: ANN001
    _run(make_window, qtbot, tmp_path, seed, "induction-circuit", LONG_ACTIONS)


def test_the_monkey_reports_a_failure_with_its_seed_and_log(make_window, qtbot, tmp_path: Path,
                                                            no_blocking_dialogs) -> None:  # noqa: ANN001
    """An edit behind the undo stack's back is caught by the soundness check, named by seed and actions."""
    window = make_window()
    monkey = Monkey(window, qtbot, 7, tmp_path)
    monkey.step()
    name = "blocks.0.attn.W_Q"
    # not a command: undo cannot take it back
    window.document.set_weight(name, window.document.scenario.weights[name] + 1.0)
    with pytest.raises(MonkeyFailure, match=r"(?s)monkey seed 7.*undoing all .* steps.*last actions:\n0: "):
        monkey.soundness()
