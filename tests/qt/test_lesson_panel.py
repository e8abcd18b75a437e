"""The Lesson panel: every course task driven to success and to a wrong answer, navigation, progress, the dock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QUndoStack

from induction_gui import load_scenario
from induction_gui.engine import HeadOverride, head_presets
from induction_gui.analysis import Analysis
from induction_gui.model.document import Document
from induction_gui.qt.commands import SetOverrideCommand, SetTokensCommand, SetWeightCommand
from induction_gui.model.lessons import CIRCUITS, LessonError, lesson_from_json
from induction_gui.qt.panels.lesson_panel import LessonPanel
from induction_gui.resources import resource_path
from induction_gui.qt.views.circuits_view import KCOMP_PAGE, PAGE_KEYS, PAGES


@pytest.fixture
def qsettings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "lessons.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def panel(qtbot, qsettings: QSettings) -> LessonPanel:
    document = Document(load_scenario("induction-circuit"))
    p = LessonPanel(Analysis(document), QUndoStack(), settings=qsettings)
    qtbot.addWidget(p)
    p.resize(420, 700)
    p.show()
    yield p
    p.detach()


def step_titled(panel: LessonPanel, words: str) -> int:
    assert panel.lesson is not None
    return next(i for i, s in enumerate(panel.lesson.steps) if words in s.title)


def push(panel: LessonPanel, command) -> None:
    """An edit as the window makes it: an undo command, then the recompute the scheduler would do."""
    panel.undo_stack.push(command)
    panel.analysis.recompute()


def apply_preset(panel: LessonPanel, preset, layer: int, head: int) -> None:
    d = panel.document
    w = d.scenario.weights
    for name, value in head_presets.apply_head_slices(w, layer, head, preset(w, layer, head)).items():
        push(panel, SetWeightCommand(d, name, value))


def tokens(panel: LessonPanel, text: str) -> list[int]:
    return [panel.document.scenario.vocab.index(t) for t in text.split()]


def test_opening_shows_the_course_without_replacing_the_document(panel: LessonPanel) -> None:
    assert panel.lesson is not None and panel.lesson.name == "course"
    assert panel.document.scenario.title == load_scenario("induction-circuit").title  # not replaced on opening
    assert panel.step_label.text().startswith(f"Step 1 of {len(panel.lesson.steps)}")
    assert "shift matrix" in panel.text.toPlainText()
    assert not panel.prev_button.isEnabled() and panel.next_button.isEnabled()
    assert panel.restart_button.text() == "Start step"
    panel.restart_button.click()
    assert panel.document.scenario.title == load_scenario("lecture-demo").title
    assert panel.restart_button.text() == "Restart step"
    panel.grab().save(str(Path(panel.q.fileName()).with_name("lesson.png")))


def test_key_shift_task(panel: LessonPanel) -> None:
    assert panel.go_to(step_titled(panel, "Key-query"))
    assert panel.document.scenario.title == load_scenario("duplicate-token-head").title
    assert panel.document.selection.query_pos == 4
    assert panel.status_text().startswith("not yet")
    push(panel, SetOverrideCommand(panel.document, (0, 0), HeadOverride(key_shift=2)))  # a wrong answer
    assert panel.status_text() == "not yet — L0H0 key shift is 2 (want 1)"
    assert "not yet" in panel.status_label.text()
    push(panel, SetOverrideCommand(panel.document, (0, 0), HeadOverride(key_shift=1)))
    assert panel.status_text().startswith("✓ done")
    assert "✓ done" in panel.status_label.text() and panel.step_label.text().endswith("✓")
    assert panel.index in panel.completed()
    panel.undo_stack.undo()
    panel.analysis.recompute()
    assert panel.status_text().startswith("not yet")


def test_build_the_induction_circuit_task(panel: LessonPanel) -> None:
    panel.go_to(step_titled(panel, "Build the two-layer"))
    apply_preset(panel, head_presets.previous_token, 0, 0)  # half the circuit: L1H0 is still random
    assert panel.status_text().startswith("not yet — L1H0 attends")
    apply_preset(panel, head_presets.induction, 1, 1)  # the wrong head
    assert panel.status_text().startswith("not yet — L1H0 attends")
    apply_preset(panel, head_presets.induction, 1, 0)
    assert panel.status_text().startswith("✓ done"), panel.status_text()


def test_fool_the_induction_head_task(panel: LessonPanel) -> None:
    panel.go_to(step_titled(panel, "Fool"))
    d = panel.document
    push(panel, SetTokensCommand(d, tokens(panel, "<s> A B C D E F G")))  # wrong answer: no repeat at all
    assert panel.status_text() == "not yet — no token repeats before the last position"
    push(panel, SetTokensCommand(d, tokens(panel, "<s> A B C D A C D")))
    assert panel.status_text().startswith("✓ done — at position 5 (A) the model predicts B, but C comes next")


def test_ablation_task(panel: LessonPanel) -> None:
    panel.go_to(step_titled(panel, "Ablation"))
    d = panel.document
    push(panel, SetOverrideCommand(d, (1, 0), HeadOverride(ablation="zero")))  # the tempting wrong head
    assert panel.status_text() == "not yet — L0H0 is not ablated"
    push(panel, SetOverrideCommand(d, (1, 0), None))
    push(panel, SetOverrideCommand(d, (0, 0), HeadOverride(ablation="zero")))
    assert panel.status_text().startswith("✓ done — L0H0 is zero-ablated; L1H0 induction head score is 0.00")


def test_hints_one_by_one(panel: LessonPanel) -> None:
    panel.go_to(step_titled(panel, "Build the two-layer"))
    hints = panel.current_step.task.hints
    assert panel.hint_button.text() == f"Hint ({len(hints)} left)" and panel.hint_label.text() == ""
    panel.hint_button.click()
    assert hints[0][:20] in panel.hint_label.text() and hints[1][:20] not in panel.hint_label.text()
    for _ in hints:
        panel.hint_button.click()
    assert not panel.hint_button.isEnabled() and hints[-1][:20] in panel.hint_label.text()
    panel.step(1)
    assert panel.hint_label.text() == ""


def test_keyboard_navigation_and_remembered_progress(qtbot, panel: LessonPanel, qsettings: QSettings) -> None:
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_PageDown)
    assert panel.index == 1 and panel.step_label.text().startswith("Step 2")
    assert panel.document.scenario.title == load_scenario("duplicate-token-head").title
    qtbot.keyClick(panel, Qt.Key.Key_PageDown)
    qtbot.keyClick(panel, Qt.Key.Key_PageUp)
    assert panel.index == 1
    qtbot.keyClick(panel, Qt.Key.Key_PageUp)
    qtbot.keyClick(panel, Qt.Key.Key_PageUp)  # already at the first step: stays
    assert panel.index == 0 and not panel.step(-1)
    panel.go_to(len(panel.lesson.steps) - 1)
    assert not panel.next_button.isEnabled() and not panel.step(1)
    panel.go_to(1)
    push(panel, SetOverrideCommand(panel.document, (0, 0), HeadOverride(key_shift=1)))
    panel.go_to(3)

    again = LessonPanel(Analysis(Document(load_scenario("induction-circuit"))), settings=qsettings)
    qtbot.addWidget(again)
    try:
        assert again.index == 3 and again.completed() == {1}
        assert "Start step" in again.status_label.text() and again.status_text() == ""
        again.go_to(1, force=True)
        assert again.step_label.text().endswith("✓")
    finally:
        again.detach()


def test_install_lessons_in_the_window(make_window) -> None:
    window = make_window("induction-circuit")
    panel = window.lesson_panel  # the window installs the course with install_lessons
    dock = window.findChild(type(window.training_dock), "dock_lesson")
    assert dock is not None and dock.widget() is panel
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "View")
    assert dock.toggleViewAction() in view_menu.actions()
    assert window.step_lesson(1)  # step 2: key shift on the duplicate-token head, attention tab
    assert panel.index == 1 and window.undo_stack.count() == 0
    assert window.document.scenario.title == load_scenario("duplicate-token-head").title
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Attention"
    window.undo_stack.push(SetOverrideCommand(window.document, (0, 0), HeadOverride(key_shift=1)))
    window.wait_idle()
    assert panel.status_text().startswith("✓ done")
    panel.go_to(step_titled(panel, "residual stream"))  # the learner's edit is dropped after asking
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Copied representation"
    window.maybe_save = lambda: False  # "Cancel": the step and the work stay
    assert not window.step_lesson(1) and panel.step_label.text().startswith("Step 3")
    del window.maybe_save
    panel.go_to(step_titled(panel, "Circuit analysis"))
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Circuits"
    circuits = window.tabs.currentWidget().view
    assert circuits.stack.currentIndex() == KCOMP_PAGE, "the step opens the page its text is about"
    panel.go_to(step_titled(panel, "phase change"))
    assert window.training_dock.isVisible() and not window.errors
    assert window.training_panel.run_folder.name == "trained-toy"
    panel.go_to(step_titled(panel, "copying to counting"))  # the statistical induction head's run
    assert window.training_dock.isVisible() and window.training_panel.run_folder.name == "markov-chains"
    panel.go_to(step_titled(panel, "Which head"))
    assert not window.training_dock.isVisible(), "a step about another view gives it the room the dock took"
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Attention"
    panel.go_to(len(panel.lesson.steps) - 1)
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Counting", "edit the chain: the counts in view"
    assert not window.errors and not window.step_lesson(1)
    panel.detach()



def test_circuit_page_names_match_the_circuits_view() -> None:
    """A lesson names a Circuits page; the view must have that page, in the same order."""
    assert PAGE_KEYS == CIRCUITS and len(PAGES) == len(CIRCUITS)
    doc_ = json.loads(resource_path("lessons", "course.json").read_text(encoding="utf-8"))
    step = next(s for s in doc_["steps"] if s.get("view") == "circuits")
    step["circuit"] = "eigenvalues"
    assert lesson_from_json(doc_).steps[doc_["steps"].index(step)].circuit == "eigenvalues"
    step["circuit"] = "kcomp"
    with pytest.raises(LessonError, match=r"circuit: expected one of qk, positional, ov, k-composition"):
        lesson_from_json(doc_)


def _cut_labels(panel: LessonPanel) -> list[str]:
    """Visible wrapped labels of the panel whose text needs more height than they have."""
    from PySide6.QtWidgets import QLabel

    return [label.text()[:30] for label in panel.findChildren(QLabel)
            if label.isVisible() and label.text() and label.heightForWidth(label.width()) > label.height()]


def test_compact_panel_shows_a_step_whole_in_the_largest_font_that_fits(qtbot, panel: LessonPanel) -> None:
    """Presentation mode: the longest step in a projector column, no scrolling, nothing cut; smaller when short."""
    from PySide6.QtWidgets import QApplication, QWidget

    from induction_gui.qt.panels.lesson_fit import MIN_POINTS

    host = QWidget()  # as in the dock: a child, sized by its parent (a window would keep its layout's minimum)
    qtbot.addWidget(host)
    host.resize(500, 700)
    panel.setParent(host)
    host.show()
    panel.setGeometry(0, 0, 426, 660)  # the lesson column at 1280x720
    panel.show()
    assert panel.go_to(step_titled(panel, "Circuit analysis"))  # the course's longest text
    verdicts: list[bool] = []
    panel.fitted.connect(verdicts.append)
    panel.set_compact(True, 17.6)
    assert panel.chooser.isHidden() and panel.buttons_row.isHidden()
    assert not panel.step_label.text().startswith("Step"), "the presenter bar shows the step number"
    roomy = panel.fit_points
    assert roomy is not None and MIN_POINTS <= roomy <= 17.6 and verdicts[-1] is True
    assert panel.font().pointSizeF() == roomy
    qtbot.waitUntil(lambda: panel.text.verticalScrollBar().maximum() == 0 and not _cut_labels(panel))

    panel.resize(426, 520)  # less room: a smaller font, still whole
    qtbot.waitUntil(lambda: panel.fit_points is not None and panel.fit_points < roomy)
    qtbot.waitUntil(lambda: panel.text.verticalScrollBar().maximum() == 0 and not _cut_labels(panel))

    panel.resize(426, 200)  # no room even at the floor: said so, and the prose scrolls rather than vanish
    qtbot.waitUntil(lambda: panel.fit_points is None)
    assert verdicts[-1] is False and panel.font().pointSizeF() == MIN_POINTS
    assert panel.text.verticalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAsNeeded

    panel.set_compact(False)
    assert panel.font().pointSizeF() == QApplication.font().pointSizeF(), "the desk's font again"
    assert not panel.chooser.isHidden() and panel.step_label.text().startswith("Step")
    panel.setParent(None)  # the fixture closes and detaches the panel after the host is gone


def test_which_head_task_on_the_trained_markov_model(panel: LessonPanel) -> None:
    assert panel.go_to(step_titled(panel, "Which head"))
    assert panel.document.scenario.title == load_scenario("statistical-induction").title
    assert panel.document.selection.query_pos == 98
    push(panel, SetOverrideCommand(panel.document, (1, 0), HeadOverride(ablation="zero")))  # the wrong head
    assert panel.status_text() == "not yet — L0H0 is not ablated"
    push(panel, SetOverrideCommand(panel.document, (1, 0), None))
    push(panel, SetOverrideCommand(panel.document, (0, 0), HeadOverride(ablation="mean")))
    assert panel.status_text().startswith("✓ done — L0H0 is mean-ablated; L1H0 induction head score is 0.4")


def test_edit_the_chain_task_needs_the_chain_and_a_sequence_drawn_from_it(panel: LessonPanel) -> None:
    from induction_gui.model.markov_chain import stored_chain, with_cell
    from induction_gui.model.sequence_edit import generate_markov_chain
    from induction_gui.qt.commands import SetMarkovChainCommand

    assert panel.go_to(step_titled(panel, "edit the chain"))
    d = panel.document
    assert panel.status_text() == ("not yet — in the Markov chain no state goes on to another state with "
                                   "probability ≥ 0.9 (the most: B → C, 0.75)")
    chain = with_cell(stored_chain(d.scenario.view), 2, 0, 20.0)  # typed into row C, column A
    panel.undo_stack.push(SetMarkovChainCommand(d, chain, "edit"))  # a view setting: no recompute follows
    assert panel.status_text().startswith("not yet — the chain sends C to A with probability 0.96; at the last C")
    push(panel, SetTokensCommand(d, generate_markov_chain(d.scenario, 0, k=3, length=40).tokens))
    assert panel.status_text().startswith("✓ done — the chain sends C to A with probability 0.96")
    panel.undo_stack.undo()  # back to the sequence of the old chain
    panel.analysis.recompute()
    assert panel.status_text().startswith("not yet")
