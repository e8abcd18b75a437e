"""The Lesson dock: a guided course through the lecture, one experiment per step.

Each step opens its scenario, shows the right centre view and focuses the head
under discussion, so a learner (or a teacher at the projector) never has to
hunt for it. A step's task is re-checked on every new result, so the "✓ done"
appears the moment the learner's edit works, whichever panel it was made in.
Progress is remembered per lesson: closing the app mid-course is normal.
:func:`~induction_gui.qt.panels.lesson_dock.install_lessons` puts the panel in
the main window.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ...analysis import Analysis, Results
from ...analysis.lesson_checks import evaluate
from ...model.document import Selection
from ...model.events import Change, ModelReplaced, SettingsChanged
from ...model.lessons import CheckResult, Lesson, LessonError, Step, lesson_files, load_lesson
from ...model.scenario import ScenarioError
from . import lesson_fit
from .lesson_view import show_step_view

DONE_COLOUR = "#1b7f3b"
NOT_YET_COLOUR = "#9a5b00"


def _qsettings(settings: Any) -> QSettings:
    """The QSettings behind the app's ``Settings`` table, a QSettings itself, or the app's default file.

    Lesson keys are per lesson file, so they cannot be declared in the fixed
    settings table; they live beside it in the same store.
    """
    if settings is None:
        from ..settings import APPLICATION, ORGANIZATION

        return QSettings(ORGANIZATION, APPLICATION)
    return getattr(settings, "q", settings)


class LessonPanel(lesson_fit.CompactLesson, QWidget):
    """Title, step k of n, explanation, task with live status, hints, and Previous/Next.

    ``step_changed(index, count)`` follows every step shown (presentation mode's bar shows "3 / 9");
    ``fitted(ok)`` follows every fit of a compact panel (False: the step does not fit even the smallest font).
    """

    step_changed = Signal(int, int)
    fitted = Signal(bool)

    def __init__(
        self,
        analysis: Analysis,
        undo_stack: QUndoStack | None = None,
        window: QMainWindow | None = None,
        parent: QWidget | None = None,
        *,
        settings: Any = None,
        folder: Path | None = None,
    ) -> None:
        super().__init__(parent)
        assert analysis.document is not None, "lessons check a live document"
        self.analysis = analysis
        self.document = document = analysis.document
        self.undo_stack = undo_stack
        self.window_ = window
        self.q = _qsettings(settings)
        self.lessons: dict[str, Lesson | LessonError] = {}
        self.lesson: Lesson | None = None
        self.index = 0
        self.hints_shown = 0
        self.last_result: CheckResult | None = None
        # True once this step's scenario is open: only then is the task checked (and counted as done),
        # so a task is never "solved" by whatever document happened to be open
        self.active = False
        self._entering = False
        self._build()
        for path in lesson_files(folder):
            try:
                self.lessons[path.stem] = load_lesson(path)
            except LessonError as exc:
                self.lessons[path.stem] = exc
        self.chooser.blockSignals(True)
        for name, lesson in self.lessons.items():
            self.chooser.addItem(lesson.title if isinstance(lesson, Lesson) else f"{name} (broken)", name)
        current = str(self.q.value("lessons/current", "") or "")
        if current in self.lessons:
            self.chooser.setCurrentIndex(list(self.lessons).index(current))
        self.chooser.blockSignals(False)  # choosing a lesson later enters it; opening the panel does not
        self._on_lesson_chosen(self.chooser.currentIndex(), enter=False)
        analysis.events.results.connect(self._on_results)
        document.events.selection.connect(self._on_selection)
        document.events.scenario.connect(self._on_scenario)

    # -- construction -------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.chooser = QComboBox()
        self.chooser.setToolTip("Every lesson in the lessons folder; progress is remembered for each.")
        self.chooser.currentIndexChanged.connect(lambda i: self._on_lesson_chosen(i, enter=True))
        layout.addWidget(self.chooser)
        self.title_label = QLabel()
        self.title_label.setWordWrap(True)
        font = self.title_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title_label.setFont(font)
        layout.addWidget(self.title_label)
        self.step_label = QLabel()
        self.step_label.setWordWrap(True)
        layout.addWidget(self.step_label)
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.text.setMinimumHeight(lesson_fit.DESK_MIN_HEIGHT)
        # the explanation takes what is left: the task's wrapped labels must never be clipped
        self.text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.text.document().setDefaultStyleSheet("p { margin-bottom: 6px; } b { color: palette(highlight); }")
        layout.addWidget(self.text, 1)

        self.task_box = QGroupBox("Try it")
        task_layout = QVBoxLayout(self.task_box)
        self.prompt_label = QLabel()
        self.prompt_label.setWordWrap(True)
        task_layout.addWidget(self.prompt_label)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.RichText)
        task_layout.addWidget(self.status_label)
        self.hint_label = QLabel()
        self.hint_label.setWordWrap(True)
        self.hint_label.setTextFormat(Qt.TextFormat.RichText)
        task_layout.addWidget(self.hint_label)
        self.hint_button = QPushButton("Hint")
        self.hint_button.setToolTip("Reveal the next hint.")
        self.hint_button.clicked.connect(self.show_hint)
        self.hint_button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        task_layout.addWidget(self.hint_button)
        layout.addWidget(self.task_box)

        self.buttons_row = QWidget()
        buttons = QHBoxLayout(self.buttons_row)
        buttons.setContentsMargins(0, 0, 0, 0)
        self.prev_button = QPushButton("◀ Previous")
        self.prev_button.setToolTip("Previous step (PgUp)")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.restart_button = QPushButton("Start step")
        self.restart_button.setToolTip("Open this step's scenario again (drops your edits after asking).")
        self.restart_button.clicked.connect(lambda: self.go_to(self.index, force=True))
        self.next_button = QPushButton("Next ▶")
        self.next_button.setToolTip("Next step (PgDn)")
        self.next_button.clicked.connect(lambda: self.step(1))
        buttons.addWidget(self.prev_button)
        buttons.addWidget(self.restart_button)
        buttons.addWidget(self.next_button)
        layout.addWidget(self.buttons_row)
        # compact, the prose box is exactly as tall as its text: what is left over goes below the step, not between
        layout.addStretch(0)

        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self.next_shortcut = QShortcut(QKeySequence(Qt.Key.Key_PageDown), self, lambda: self.step(1), context=context)
        self.prev_shortcut = QShortcut(QKeySequence(Qt.Key.Key_PageUp), self, lambda: self.step(-1), context=context)

    def detach(self) -> None:
        """Stop following the document (before the panel is deleted)."""
        self.analysis.events.results.disconnect(self._on_results)
        self.document.events.selection.disconnect(self._on_selection)
        self.document.events.scenario.disconnect(self._on_scenario)

    # -- progress ---------------------------------------------------------------------------------
    def _key(self, what: str) -> str:
        assert self.lesson is not None
        return f"lessons/{self.lesson.name}/{what}"

    def completed(self) -> set[int]:
        """Indices of the steps whose task the learner has done in this lesson."""
        if self.lesson is None:
            return set()
        raw = str(self.q.value(self._key("completed"), "") or "")
        return {int(x) for x in raw.split(",") if x.strip().isdigit()}

    def _mark_completed(self) -> None:
        done = self.completed()
        if self.index not in done:
            done.add(self.index)
            self.q.setValue(self._key("completed"), ",".join(str(i) for i in sorted(done)))

    # -- navigation -------------------------------------------------------------------------------
    @property
    def current_step(self) -> Step | None:
        return self.lesson.steps[self.index] if self.lesson is not None else None

    def _on_lesson_chosen(self, row: int, *, enter: bool) -> None:
        name = self.chooser.itemData(row)
        found = self.lessons.get(name) if name is not None else None
        if not isinstance(found, Lesson):
            self.lesson = None
            self.title_label.setText("No lesson" if found is None else "This lesson cannot be read")
            self.step_label.setText("")
            self.text.setHtml("<p>Put lesson files in <code>resources/lessons/</code>.</p>" if found is None
                              else f"<p>{html.escape(str(found))}</p>")
            self.task_box.hide()
            for b in (self.prev_button, self.next_button, self.restart_button):
                b.setEnabled(False)
            return
        self.lesson = found
        self.q.setValue("lessons/current", found.name)
        try:
            saved = int(self.q.value(self._key("step"), 0) or 0)
        except (TypeError, ValueError):
            saved = 0  # a corrupted settings file never stops the app
        self.index = min(max(saved, 0), len(found.steps) - 1)
        if enter:
            self.go_to(self.index, force=True)
        else:
            self._show_step()

    def step(self, delta: int) -> bool:
        """Move ``delta`` steps (presentation mode's PgDn/PgUp call this); False at either end."""
        if self.lesson is None:
            return False
        target = self.index + delta
        if not 0 <= target < len(self.lesson.steps):
            return False
        return self.go_to(target)

    def go_to(self, index: int, *, force: bool = False) -> bool:
        """Enter step ``index``: its scenario, view and focus; False if the learner kept their work."""
        if self.lesson is None or not 0 <= index < len(self.lesson.steps):
            return False
        if index == self.index and not force and self.active:
            return True  # already there: keep the learner's edits
        step = self.lesson.steps[index]
        self._entering = True
        try:
            if not self._open_scenario(step):
                return False
        finally:
            self._entering = False
        self.active = True
        self.index = index
        self.q.setValue(self._key("step"), index)
        assert self.lesson is not None
        show_step_view(self.window_, self.lesson, step)
        if step.focus:
            self.document.set_selection(**step.focus)
        self._show_step()
        return True

    def _open_scenario(self, step: Step) -> bool:
        assert self.lesson is not None
        try:
            scenario = self.lesson.load_step_scenario(step)
        except (ScenarioError, OSError) as exc:
            self.status_label.setText(f"<span style='color:#b00020'>Cannot open the step's scenario: "
                                      f"{html.escape(str(exc))}</span>")
            return False
        if scenario is None:
            return True
        w = self.window_
        if w is not None:
            if not w.maybe_save():
                return False
            w.replace(scenario, None)
        else:
            self.document.replace_scenario(scenario, None)
            if self.undo_stack is not None:
                self.undo_stack.clear()  # the old commands refer to the replaced scenario
        return True

    # -- showing a step -------------------------------------------------------------------------
    def _show_step(self) -> None:
        lesson, step = self.lesson, self.current_step
        if lesson is None or step is None:
            return
        self.hints_shown = 0
        self.hint_label.setText("")
        done = self.completed()
        self.title_label.setText(lesson.title)
        tick = "  ✓" if self.index in done else ""
        # compact, the presentation bar says "3 / 9"
        where = "" if self.compact else f"Step {self.index + 1} of {len(lesson.steps)}: "
        self.step_label.setText(f"{where}<b>{html.escape(step.title)}</b>{tick}")
        body = step.text if step.text.lstrip().startswith("<") else f"<p>{html.escape(step.text)}</p>"
        self.text.setHtml(body)
        self.prev_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(self.index < len(lesson.steps) - 1)
        self.restart_button.setEnabled(step.scenario is not None)
        self.restart_button.setText("Restart step" if self.active else "Start step")
        self.task_box.setVisible(step.task is not None)
        if step.task is not None:
            self.prompt_label.setText(step.task.prompt)
            self._update_hint_button()
            self.refresh_status(force=self.window_ is None)
        self.step_changed.emit(self.index, len(lesson.steps))
        self.refit()

    def _update_hint_button(self) -> None:
        step = self.current_step
        left = len(step.task.hints) - self.hints_shown if step is not None and step.task is not None else 0
        self.hint_button.setEnabled(left > 0)
        self.hint_button.setText(f"Hint ({left} left)" if left else "No more hints")

    def show_hint(self) -> None:
        """Reveal the next hint: one at a time, so the learner tries before reading the answer."""
        step = self.current_step
        if step is None or step.task is None or self.hints_shown >= len(step.task.hints):
            return
        self.hints_shown += 1
        shown = step.task.hints[: self.hints_shown]
        self.hint_label.setText("".join(f"<p><b>Hint {i + 1}:</b> {html.escape(h)}</p>" for i, h in enumerate(shown)))
        self._update_hint_button()
        self.refit()

    # -- live status -------------------------------------------------------------------------------
    def _on_results(self, results: Results) -> None:
        if shiboken6.isValid(self):
            self._refresh_and_refit()

    def _on_scenario(self, change: Change) -> None:
        if isinstance(change, ModelReplaced) and not self._entering and shiboken6.isValid(self):
            self.active = False  # another file was opened: the task no longer applies to it
            self._show_step()
        elif isinstance(change, SettingsChanged) and shiboken6.isValid(self):
            # a view setting a check reads (the Markov chain) changes no result: re-check now, not at the next edit
            self._refresh_and_refit()

    def _on_selection(self, selection: Selection) -> None:
        if shiboken6.isValid(self):
            self._refresh_and_refit()

    def _refresh_and_refit(self) -> None:
        before = self.status_label.text()
        self.refresh_status()
        if self.status_label.text() != before:  # a longer status line may no longer fit the projector column
            self.refit()

    def refresh_status(self, *, force: bool = False) -> CheckResult | None:
        """Re-evaluate the task on the latest results.

        Stale results are not recomputed here (``force`` aside): the window's
        scheduler coalesces edits and the ``results`` event brings us back.
        """
        step = self.current_step
        if step is None or step.task is None:
            self.last_result = None
            return None
        if not self.active and step.scenario is not None:
            self.last_result = None
            self.status_label.setText("<span style='color:gray'>Press <b>Start step</b> to open this step's "
                                      "scenario.</span>")
            return None
        if self.analysis.is_stale and not force:
            self.status_label.setText("<span style='color:gray'>checking…</span>")
            return None
        result = evaluate(step.task.check, self.analysis)
        self.last_result = result
        if result.met:
            self.status_label.setText(f"<b style='color:{DONE_COLOUR}'>✓ done</b> — {html.escape(result.detail)}")
            if self.index not in self.completed():
                self._mark_completed()
                self._show_step_label_tick()
        else:
            self.status_label.setText(f"<b style='color:{NOT_YET_COLOUR}'>not yet</b> — {html.escape(result.detail)}")
        return result

    def _show_step_label_tick(self) -> None:
        text = self.step_label.text()
        if not text.endswith("✓"):
            self.step_label.setText(text + "  ✓")

    def status_text(self) -> str:
        """The status line as plain text (for tests and screen readers)."""
        r = self.last_result
        if r is None:
            return ""
        return ("✓ done — " if r.met else "not yet — ") + r.detail
