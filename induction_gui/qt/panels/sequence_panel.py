"""The left dock: the token sequence as text and as a list, and generators of test sequences.

The learner edits the sequence three ways (typing, the token list, generators)
and every edit is a command on the window's undo stack, never a direct call of
a document setter, so Ctrl+Z undoes anything. The panel follows the document:
an edit made elsewhere (undo, another panel, opening a file) is read back into
the text field and the list without pushing commands. Two guards keep the two
directions from feeding each other: ``_syncing`` while the panel writes to its
own widgets, and ``_typing`` while a keystroke's command is being pushed (so the
text the learner is typing is never rewritten under the cursor).

What typed text means and how a generator fits its sequence to the model is
Qt-free (:mod:`induction_gui.model.sequence_edit`); the text editor is in
:mod:`~induction_gui.qt.panels.sequence_text`, the Tokens box in
:mod:`~induction_gui.qt.panels.token_list` and the generator's widgets are
:class:`~induction_gui.qt.panels.generator_form.GeneratorForm`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from PySide6.QtGui import QCloseEvent, QFont, QFontDatabase, QUndoStack
from PySide6.QtWidgets import QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

from ...model.document import Document, Selection
from ...model.markov_chain import chain_for, stored_size
from ...model.events import Change, ModelReplaced, TokensChanged, VocabChanged
from ...model.scenario import Scenario
from ...model.sequence_edit import (
    GeneratedSequence,
    GeneratorSpec,
    Parsed,
    add_generated_words,
    add_typed_words,
    focus_position,
    generated_tokens,
    parse_sequence,
    sequence_text,
)
from ...model.text_spans import TypedTexts, edited_text
from ..commands import SetMarkovChainCommand, SetModelStateCommand, SetTokensCommand, push_validated
from ..widgets.fitting import VerticalScrollArea
from .generator_form import GeneratorForm, message_label, show_message
from .sequence_text import INVALID_FRAME, VALID_FRAME, SequenceEdit, TypingCommand
from .token_list import TokenListEditing


# -- the panel ---------------------------------------------------------------------------------------


class SequencePanel(TokenListEditing, QWidget):
    """Edit the token sequence: type it, edit it token by token, or generate a test sequence.

    Parameters
    ----------
    document
        the open document; the panel reads it and follows its ``scenario`` and
        ``selection`` events.
    undo_stack
        where every edit goes, as a command.
    """

    def __init__(self, document: Document, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.undo_stack = undo_stack
        self._syncing = False  # the panel is writing to its own widgets: ignore their signals
        self._typing = False  # a keystroke's command is being pushed: do not rewrite the text
        self._burst = 0  # keystrokes with the same burst number merge into one undo step
        self._generated: np.ndarray | None = None  # tokens of the last generated sequence
        self._typed = TypedTexts()  # what the learner typed, shown again when undo or redo returns to it
        self.setToolTip("The token sequence the model reads. Every edit here can be undone with Ctrl+Z.")
        self._setup_ui()
        self._connect()
        self.set_font_size(12.0)
        self._refresh_from_document(ModelReplaced())
        self._on_selection_changed(document.selection)

    # -- building --------------------------------------------------------------------------------
    def _setup_ui(self) -> None:
        # Inside a scroll area: with a projector's font size the panel may be taller than the
        # dock, and scrolling beats squeezing the generator's fields into unreadable slivers.
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(8)
        layout.addWidget(self._build_text_box())
        layout.addWidget(self._build_token_box(), 1)
        layout.addWidget(self._build_generator_form())
        # up and down only: the dock is as wide as the controls need, never a sideways-scrolling sliver
        scroll = self._scroll = VerticalScrollArea(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def full_width(self) -> int:
        """Width at which every control shows whole, with no horizontal scrolling (the dock's default)."""
        return self._scroll.content_width() + 4

    def _build_text_box(self) -> QGroupBox:
        box = QGroupBox("Sequence")
        box.setToolTip("The sequence as text. Edits apply as you type; Enter ends one undo step.")
        self.text_hint = QLabel()
        self.text_hint.setWordWrap(True)
        self.text_edit = SequenceEdit()
        self.text_edit.setToolTip(
            "The sequence as text. Each valid edit applies at once; a burst of typing is one undo step, "
            "ended by Enter or leaving the field. Ctrl+Z undoes the document."
        )
        self.text_hint.setBuddy(self.text_edit)
        self.error_label = message_label()
        self.error_label.setToolTip("Why the typed text is not applied to the model.")
        self.add_words_button = QPushButton()
        self.add_words_button.setToolTip(
            "Append the unknown words to the vocabulary: each gets a small random embedding (W_E row) and a "
            "zero unembedding (W_U column), so the model can read it but never predicts it. Undoable."
        )
        self.add_words_button.hide()
        inner = QVBoxLayout(box)
        inner.addWidget(self.text_hint)
        inner.addWidget(self.text_edit)
        inner.addWidget(self.error_label)
        inner.addWidget(self.add_words_button)
        return box

    def _build_generator_form(self) -> GeneratorForm:
        """The generator form; its widgets keep their names on the panel, where menus and tests reach them."""
        form = self.generator_form = GeneratorForm(self.document, self.undo_stack)
        self.generator_combo, self.seed_spin, self.generate_button = (
            form.generator_combo, form.seed_spin, form.generate_button)
        self.generator_message, self.generator_description = form.generator_message, form.generator_description
        self.block_spin, self.length_spin, self.distance_spin, self.no_repeat_spin, self.filler_spin = (
            form.block_spin, form.length_spin, form.distance_spin, form.no_repeat_spin, form.filler_spin)
        return form

    def _connect(self) -> None:
        self.text_edit.textChanged.connect(self._on_text_changed)
        self.text_edit.committed.connect(self._end_burst)
        self.text_edit.undo_requested.connect(self._on_undo_requested)
        self.text_edit.redo_requested.connect(self._on_redo_requested)
        self.add_words_button.clicked.connect(self._on_add_words_clicked)
        self.token_list.currentRowChanged.connect(self._on_row_changed)
        self.token_list.model().rowsMoved.connect(self._on_rows_moved)
        self.token_list.drag_finished.connect(self._on_drag_finished)
        self.token_list.insert_requested.connect(self.insert_token)
        self.token_list.delete_requested.connect(self.delete_token)
        self.token_list.move_requested.connect(self.move_token)
        self.insert_button.clicked.connect(self.insert_token)
        self.delete_button.clicked.connect(self.delete_token)
        self.up_button.clicked.connect(lambda: self.move_token(-1))
        self.down_button.clicked.connect(lambda: self.move_token(1))
        self.token_combo.currentIndexChanged.connect(self._on_token_combo_changed)
        self.generate_button.clicked.connect(self.generate)
        self.document.events.scenario.connect(self._on_scenario_changed)
        self.document.events.selection.connect(self._on_selection_changed)

    def detach(self) -> None:
        """Stop following the document (before the panel is deleted)."""
        self.document.events.scenario.disconnect(self._on_scenario_changed)
        self.document.events.selection.disconnect(self._on_selection_changed)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.detach()
        super().closeEvent(event)

    def set_font_size(self, points: float) -> None:
        """Fonts of the sequence, the list and the token menu (the settings' font scale, projectors)."""
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        fixed.setPointSizeF(points)
        ui = QFont(self.font())
        ui.setPointSizeF(max(points - 1.0, 9.0))
        self.setFont(ui)
        for label in self.findChildren(QLabel):  # a style sheet stops a label from inheriting the font
            if label.styleSheet():
                label.setFont(ui)
        bold = QFont(ui)
        bold.setBold(True)
        self.error_label.setFont(bold)
        self.text_edit.setFont(fixed)
        self.token_list.setFont(fixed)
        self.token_list.setMinimumHeight(self.token_list.fontMetrics().lineSpacing() * 5)
        self.text_edit.fit_height()

    # -- small helpers ----------------------------------------------------------------------------
    @property
    def scenario(self) -> Scenario:
        return self.document.scenario

    @contextmanager
    def _writing_widgets(self) -> Iterator[None]:
        """Mark writes to our own widgets, so their change signals push nothing."""
        old, self._syncing = self._syncing, True
        try:
            yield
        finally:
            self._syncing = old

    def _push_tokens(self, tokens: np.ndarray, text: str, message: QLabel | None = None) -> bool:
        """One undoable token edit; False (the reason shown in ``message``, by default under the list) if refused."""
        self._end_burst()
        problem = push_validated(self.undo_stack, SetTokensCommand(self.document, tokens, text))
        show_message(message or self.list_message, f"Not changed: {problem}" if problem else "")
        return not problem

    def _end_burst(self) -> None:
        """The next keystroke starts a new undo step."""
        self._burst += 1

    # -- document -> widgets -----------------------------------------------------------------------
    def _on_scenario_changed(self, change: Change) -> None:
        if isinstance(change, (TokensChanged, VocabChanged, ModelReplaced)):
            self._refresh_from_document(change)

    def _refresh_from_document(self, change: Change) -> None:
        if not self._typing:
            self._end_burst()  # undo, another panel or a file: typing afterwards is a new step
            self._refresh_text(keep_boundaries=not isinstance(change, ModelReplaced))
        if isinstance(change, (VocabChanged, ModelReplaced)):
            self._refresh_combo_items()
        if isinstance(change, (VocabChanged, ModelReplaced)):  # d_vocab bounds the no-repeat length
            self.generator_form.refresh_limits(reset=isinstance(change, ModelReplaced))
        self._refresh_list()
        self._refresh_combo_value()
        show_message(self.list_message, "")
        if self._generated is not None and not np.array_equal(self._generated, self.scenario.tokens):
            self._generated = None
            show_message(self.generator_description, "")

    def _refresh_text(self, keep_boundaries: bool = True) -> None:
        """Show the document's tokens, unless the text already means exactly them (cursor kept).

        With ``keep_boundaries`` the tokens that did not change keep the text
        the learner wrote for them (``don't`` stays ``don't``, not ``don ' t``).
        """
        s = self.scenario
        current = self.text_edit.toPlainText()
        parsed = parse_sequence(current, s)
        if s.hf_tokenizer is not None:
            bos_first = s.hf_tokenizer.prepend_bos and s.hf_tokenizer.bos_id is not None
            mode = "the model's own tokenizer.json" + (", which puts the start token first" if bos_first else "")
        elif s.tokenizer == "words":
            mode = "words: separate tokens by spaces"
        else:
            mode = "characters: each one is a token"
        self.text_hint.setText(f"Type the sequence ({mode}):")
        if parsed.tokens is None or not np.array_equal(parsed.tokens, s.tokens):
            text = sequence_text(s)
            typed = self._typed.text_for(s.tokens, s) if keep_boundaries else None
            if typed is not None:
                text = typed
            elif keep_boundaries and parsed.tokens is not None:
                text = edited_text(current, parsed.tokens, s.tokens, s, text)
            cursor = self.text_edit.textCursor().position()
            with self._writing_widgets():
                self.text_edit.setPlainText(text)
                c = self.text_edit.textCursor()
                c.setPosition(min(cursor, len(text)))
                self.text_edit.setTextCursor(c)
        self._show_parse_problem(parse_sequence(self.text_edit.toPlainText(), s))

    def _on_selection_changed(self, selection: Selection) -> None:
        if self._syncing:
            return
        with self._writing_widgets():
            if 0 <= selection.query_pos < self.token_list.count():
                self.token_list.setCurrentRow(selection.query_pos)
        self._refresh_combo_value()
        self._refresh_buttons()

    # -- typing ----------------------------------------------------------------------------------------
    def _on_text_changed(self) -> None:
        if self._syncing:
            return
        text = self.text_edit.toPlainText()
        parsed = parse_sequence(text, self.scenario)
        self._show_parse_problem(parsed)
        if parsed.tokens is not None:
            self._typed.remember(parsed.tokens, text, self.scenario)
        if parsed.tokens is None or np.array_equal(parsed.tokens, self.scenario.tokens):
            return
        self._typing = True
        try:
            problem = push_validated(self.undo_stack, TypingCommand(self.document, parsed.tokens, self._burst))
            if problem:
                show_message(self.error_label, problem)
        finally:
            self._typing = False

    def _show_parse_problem(self, parsed: Parsed) -> None:
        show_message(self.error_label, parsed.problem)
        frame = INVALID_FRAME if parsed.problem else VALID_FRAME
        if self.text_edit.styleSheet() != frame:  # re-polishing on every keystroke would be wasted work
            self.text_edit.setStyleSheet(frame)
        can_add = bool(parsed.unknown) and not parsed.too_long
        if can_add:
            words = ", ".join(repr(u) for u in parsed.unknown)
            self.add_words_button.setText(f"&Add {words} to the vocabulary")
        self.add_words_button.setVisible(can_add)

    def _on_add_words_clicked(self) -> None:
        edit = add_typed_words(self.text_edit.toPlainText(), self.scenario)
        if edit is None:  # nothing to add, or still too long (parse_sequence said so); never push an invalid state
            return
        self._end_burst()
        words = ", ".join(repr(u) for u in edit.words)
        problem = push_validated(self.undo_stack, SetModelStateCommand(
            self.document, edit.vocab, edit.weights, edit.tokens, self.scenario.bos, f"Add {words} to the vocabulary"))
        if problem:
            show_message(self.error_label, problem)

    def _on_undo_requested(self) -> None:
        self._end_burst()
        self.undo_stack.undo()

    def _on_redo_requested(self) -> None:
        self._end_burst()
        self.undo_stack.redo()

    # -- generators ---------------------------------------------------------------------------------------------
    def generate(self) -> None:
        """Load the chosen generator's sequence for the current seed (one undo step) and describe it."""
        spec = self.generator_form.spec
        try:
            gen = spec.generate(self.scenario, self.seed_spin.value(), **self.generator_form.parameters())
        except ValueError as exc:  # CannotGenerate: the message names the parameter
            show_message(self.generator_message, f"Cannot generate “{spec.label}”: {exc}")
            return
        show_message(self.generator_message, "")
        # a chain drawn at another size than the saved one is saved with its sequence, in the same undo step,
        # so the Counting view and a reopened file count over the chain the sequence came from
        resize = self._resized_chain() if spec.key == "markov_chain" else None
        if resize is not None:
            self.undo_stack.beginMacro(f"Generate: {spec.label}")
        try:
            if resize is not None and push_validated(self.undo_stack, SetMarkovChainCommand(self.document, resize)):
                return
            if gen.vocab is not None:
                if not self._load_with_vocabulary(gen, spec):
                    return
            elif not self._push_tokens(np.asarray(gen.tokens), f"Generate: {spec.label}", self.generator_message):
                return
        finally:
            if resize is not None:
                self.undo_stack.endMacro()
        self._generated = self.scenario.tokens.copy()
        show_message(self.generator_description, f"Loaded: {gen.description.rstrip('.')}.")
        self.document.set_selection(query_pos=focus_position(gen))

    def _resized_chain(self) -> list[list[float]] | None:
        """The chain at the generator's k when that is not the saved chain's size (else None)."""
        k = self.generator_form.markov_k_spin.value()
        return None if stored_size(self.scenario.view) == k else chain_for(self.scenario.view, k)

    def _load_with_vocabulary(self, gen: GeneratedSequence, spec: GeneratorSpec) -> bool:
        """Extend the vocabulary with the generator's words and load its tokens: one undo step (False if refused)."""
        edit = add_generated_words(gen, self.scenario)
        if edit is None:
            tokens = generated_tokens(gen, self.scenario.vocab)  # [pos]
            return self._push_tokens(tokens, f"Generate: {spec.label}", self.generator_message)
        self._end_burst()
        # one command, so the document checks the new tokens against the new vocabulary before anything changes
        tokens = generated_tokens(gen, edit.vocab)  # [pos]
        problem = push_validated(self.undo_stack, SetModelStateCommand(
            self.document, edit.vocab, edit.weights, tokens, self.scenario.bos,
            f"Generate: {spec.label} (adds {len(edit.words)} words to the vocabulary)"))
        show_message(self.generator_message, f"Not changed: {problem}" if problem else "")
        return not problem
