"""Every undo command is validated before it is pushed: a refused edit is no undo step and changes nothing.

For each command kind, an edit the document refuses leaves the stack's count
and the scenario unchanged and returns a message naming what is wrong; an
accepted edit is one step that undo takes back. ``redo()`` never raises, even
when the document refuses a redo it accepted before.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6.QtGui import QUndoStack

from induction_gui import load_scenario
from induction_gui.engine import HeadOverride
from induction_gui.model.document import Document
from induction_gui.qt.commands import (
    SetModelStateCommand,
    SetOverrideCommand,
    SetTokensCommand,
    SetWeightCommand,
    push_validated,
    set_weight_cell,
)


@pytest.fixture
def doc() -> Document:
    return Document(load_scenario("induction-circuit"))


@pytest.fixture
def stack(qapp) -> QUndoStack:  # noqa: ANN001 - pytest-qt's QApplication
    return QUndoStack()


def state(doc: Document) -> tuple:
    """What the undo stack owns: vocabulary, tokens, weights, overrides and start token (not the saved view)."""
    s = doc.scenario
    return (list(s.vocab), s.tokens.tolist(), {k: v.tobytes() for k, v in s.weights.items()},
            {k: repr(o) + repr(None if o.fixed_pattern is None else o.fixed_pattern.tolist())
             for k, o in s.overrides.items()}, s.bos)


def _refused(stack: QUndoStack, doc: Document, command, *expected: str) -> None:  # noqa: ANN001 - a command
    before = state(doc)
    generation = doc.generation
    problem = push_validated(stack, command)
    assert problem is not None
    for word in expected:
        assert word in problem, (word, problem)
    assert stack.count() == 0
    assert state(doc) == before
    assert doc.generation == generation  # not even an event


def test_refused_tokens(stack, doc) -> None:
    d_vocab, n_ctx = doc.scenario.weights.config.d_vocab, doc.scenario.weights.config.n_ctx
    _refused(stack, doc, SetTokensCommand(doc, np.array([1, d_vocab])), "tokens[0][1]", f"id {d_vocab}")
    _refused(stack, doc, SetTokensCommand(doc, np.zeros(0, dtype=np.int64)), "empty")
    _refused(stack, doc, SetTokensCommand(doc, np.ones(n_ctx + 1, dtype=np.int64)), f"n_ctx is {n_ctx}")


def test_refused_weights(stack, doc) -> None:
    name = "blocks.0.attn.W_Q"
    w = doc.scenario.weights[name]
    nan = w.astype(np.float64)
    nan[0, 1, 2] = np.nan
    _refused(stack, doc, SetWeightCommand(doc, name, nan), f"{name}[0, 1, 2]", "not a finite number")
    _refused(stack, doc, SetWeightCommand(doc, name, w[:1]), name, "expected shape")
    _refused(stack, doc, SetWeightCommand(doc, "blocks.9.attn.W_Q", w), "blocks.9.attn.W_Q", "no such parameter")
    # a number beyond float32 would be stored as inf: refused, and said so
    _refused(stack, doc, set_weight_cell(doc, name, (0, 1, 2), 1e39), f"{name}[0, 1, 2]", "1e+39", "too large")


def test_refused_override(stack, doc) -> None:
    cfg = doc.scenario.weights.config
    _refused(stack, doc, SetOverrideCommand(doc, (cfg.n_layers, 0), HeadOverride(key_shift=1)),
             f"L{cfg.n_layers}H0", "does not exist")
    n = doc.scenario.tokens.size
    small = HeadOverride(fixed_pattern=np.eye(n - 1))
    _refused(stack, doc, SetOverrideCommand(doc, (0, 0), small), "L0H0", "fixed pattern", f"({n})")


def test_refused_model_state(stack, doc) -> None:
    s = doc.scenario
    _refused(stack, doc, SetModelStateCommand(doc, [*s.vocab, "extra"], s.weights, s.tokens, s.bos), "vocab")
    _refused(stack, doc, SetModelStateCommand(doc, s.vocab, s.weights, s.tokens, len(s.vocab)), "bos", "outside")
    _refused(stack, doc, SetModelStateCommand(doc, s.vocab, s.weights, np.array([len(s.vocab)]), s.bos),
             "outside the vocabulary")


def test_accepted_edits_are_one_step_each_and_undo_restores(stack, doc) -> None:
    initial = state(doc)
    s = doc.scenario
    commands = [
        SetTokensCommand(doc, s.tokens[::-1].copy()),
        set_weight_cell(doc, "blocks.0.attn.W_K", (0, 0, 0), 0.5),
        SetOverrideCommand(doc, (0, 0), HeadOverride(key_shift=1)),
        SetModelStateCommand(doc, list(s.vocab), s.weights.copy(), s.tokens[:3].copy(), s.bos),
    ]
    for i, command in enumerate(commands, start=1):
        assert push_validated(stack, command) is None
        assert stack.count() == i
    edited = state(doc)
    while stack.canUndo():
        stack.undo()
    assert state(doc) == initial
    while stack.canRedo():
        stack.redo()
    assert state(doc) == edited


def test_a_step_of_several_commands_is_all_or_nothing(stack, doc) -> None:
    good = set_weight_cell(doc, "blocks.0.attn.W_K", (0, 0, 0), 0.5)
    bad = SetOverrideCommand(doc, (7, 0), HeadOverride(key_shift=1))
    before = state(doc)
    problem = push_validated(stack, [good, bad], "Preset")
    assert problem is not None and "L7H0" in problem
    assert stack.count() == 0 and state(doc) == before
    assert push_validated(stack, [good, SetOverrideCommand(doc, (0, 0), HeadOverride(key_shift=1))], "Preset") is None
    assert stack.count() == 1 and stack.text(0) == "Preset"
    stack.undo()
    assert state(doc) == before


def test_redo_never_raises_and_drops_a_refused_step(stack, doc) -> None:
    """A command checked when pushed, whose redo the document later refuses, is dropped: no exception."""
    n = doc.scenario.tokens.size
    pattern = HeadOverride(fixed_pattern=np.eye(n))
    command = SetOverrideCommand(doc, (0, 0), pattern)
    command.check()
    # the sequence grows behind the command's back (as no window does: every edit is a command)
    doc.set_tokens(np.concatenate([doc.scenario.tokens, doc.scenario.tokens[:1]]))
    stack.push(command)  # Qt would abort on an exception from redo()
    assert command.error is not None and "fixed pattern" in command.error
    assert stack.count() == 0
    assert doc.override((0, 0)) == HeadOverride()


def test_merging_drags_validate_each_value(stack, doc) -> None:
    """A drag merges into one step; a refused value in the middle of it is not merged in."""
    o = doc.override((0, 0))
    for scale in (0.5, 0.75):
        assert push_validated(stack, SetOverrideCommand(doc, (0, 0), dataclasses.replace(o, score_scale=scale),
                                                        merge_key="drag")) is None
    assert push_validated(stack, SetOverrideCommand(doc, (9, 0), o, merge_key="drag")) is not None
    assert stack.count() == 1
    assert doc.override((0, 0)).score_scale == 0.75
    stack.undo()
    assert doc.override((0, 0)) == o


# -- every panel's push goes through the document's check and shows its reason ------------------------------------


def _refuse(monkeypatch: pytest.MonkeyPatch, method: str) -> str:
    reason = f"refused by {method} for this test"

    def refuse(self, *args: object) -> None:  # noqa: ANN001 - the Document
        raise ValueError(reason)

    monkeypatch.setattr(Document, method, refuse)
    return reason


def test_every_panel_shows_the_documents_reason_and_pushes_nothing(make_window, monkeypatch) -> None:
    window = make_window()
    doc, stack = window.document, window.undo_stack
    before = state(doc)
    hc = window.weights_panel.head_controls
    seq = window.sequence_panel

    reason = _refuse(monkeypatch, "check_override")
    hc.norm_buttons["linear"].click()
    assert reason in hc.status.text() and hc.status.isVisible()

    reason = _refuse(monkeypatch, "check_weight")
    hc.preset_buttons["zero"].click()
    assert reason in hc.status.text()
    editor = window.weights_panel.editor
    editor.model.edit_requested.emit(0, 0, 0.125)  # what a typed, well-formed cell asks for
    assert reason in editor.error.text() and editor.error.isVisible()

    reason = _refuse(monkeypatch, "check_tokens")
    seq.token_list.setCurrentRow(1)
    seq.delete_button.click()
    assert reason in seq.list_message.text() and seq.list_message.isVisible()
    seq.generator_combo.setCurrentIndex(0)
    seq.generate_button.click()
    assert reason in seq.generator_message.text()
    seq.text_edit.setPlainText(" ".join(doc.scenario.vocab[t] for t in doc.scenario.tokens[:3]))
    assert reason in seq.error_label.text()

    assert stack.count() == 0
    assert state(doc) == before
    assert not window.errors


def test_a_refused_redo_is_never_merged_into_the_step_before(stack, doc) -> None:
    """Qt merges a command after its redo; one whose redo the document refused must not lend its value."""
    o = doc.override((0, 0))
    assert push_validated(stack, SetOverrideCommand(doc, (0, 0), dataclasses.replace(o, score_scale=0.5),
                                                    merge_key="drag")) is None
    n = doc.scenario.tokens.size
    late = SetOverrideCommand(doc, (0, 0), HeadOverride(fixed_pattern=np.eye(n)), merge_key="drag")
    late.check()
    doc.set_tokens(np.concatenate([doc.scenario.tokens, doc.scenario.tokens[:1]]))  # behind the stack's back
    stack.push(late)
    assert late.error is not None
    assert stack.count() == 1
    assert doc.override((0, 0)).score_scale == 0.5 and doc.override((0, 0)).fixed_pattern is None
    stack.undo()
    stack.redo()
    assert doc.override((0, 0)).score_scale == 0.5 and doc.override((0, 0)).fixed_pattern is None
