"""The sequence panel both ways: drive the widgets and check the document, change the document and check the widgets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QTextCursor, QUndoStack

from induction_gui import load_scenario
from induction_gui.model.document import Document
from induction_gui.model.generator_schema import ModelLimits
from induction_gui.model.sequence_edit import GENERATORS, CannotGenerate
from induction_gui.qt.commands import SetTokensCommand
from induction_gui.qt.panels.sequence_panel import SequencePanel

KEYS = [spec.key for spec in GENERATORS]


@pytest.fixture
def doc() -> Document:
    return Document(load_scenario("induction-circuit"))  # <s> A B C D A B C D, d_vocab 13, n_ctx 32


@pytest.fixture
def stack() -> QUndoStack:
    return QUndoStack()


@pytest.fixture
def panel(qtbot, doc: Document, stack: QUndoStack) -> SequencePanel:
    widget = SequencePanel(doc, stack)
    qtbot.addWidget(widget)
    widget.resize(380, 800)
    widget.show()
    return widget


def ids(doc: Document, text: str) -> list[int]:
    return [doc.scenario.vocab.index(w) for w in text.split()]


def type_at_end(qtbot, panel: SequencePanel, keys: str) -> None:
    panel.text_edit.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(panel.text_edit, keys)


def choose_generator(panel: SequencePanel, key: str, seed: int = 0) -> None:
    panel.generator_combo.setCurrentIndex(KEYS.index(key))
    panel.seed_spin.setValue(seed)


# -- typing --------------------------------------------------------------------------------------


def test_shows_the_document(panel: SequencePanel, doc: Document) -> None:
    assert panel.text_edit.toPlainText() == "<s> A B C D A B C D"
    assert panel.token_list.count() == 9
    assert panel.token_list.item(5).text() == "5: A"
    assert panel.token_list.currentRow() == doc.selection.query_pos


def test_a_typing_burst_is_one_undo_step(qtbot, panel: SequencePanel, doc: Document, stack: QUndoStack) -> None:
    before = doc.scenario.tokens.copy()
    type_at_end(qtbot, panel, " E F G")
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> A B C D A B C D E F G")
    assert stack.count() == 1  # three applied keystrokes merged
    stack.undo()
    np.testing.assert_array_equal(doc.scenario.tokens, before)
    assert panel.text_edit.toPlainText() == "<s> A B C D A B C D"


def test_enter_ends_the_burst(qtbot, panel: SequencePanel, doc: Document, stack: QUndoStack) -> None:
    type_at_end(qtbot, panel, " E")
    qtbot.keyClick(panel.text_edit, Qt.Key.Key_Return)
    type_at_end(qtbot, panel, " F")
    assert stack.count() == 2
    assert panel.text_edit.toPlainText() == "<s> A B C D A B C D E F"  # Enter inserted no line break
    qtbot.keyClick(panel.text_edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the document's undo
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> A B C D A B C D E")


def test_typing_is_not_rewritten_under_the_cursor(qtbot, panel: SequencePanel, doc: Document) -> None:
    panel.text_edit.setPlainText("<s>  A   B")  # the spacing is the learner's, the tokens are the same
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> A B")
    assert panel.text_edit.toPlainText() == "<s>  A   B"
    assert panel.token_list.count() == 3


def test_unknown_word_offers_to_extend_the_vocabulary(qtbot, panel: SequencePanel, doc: Document,
                                                     stack: QUndoStack) -> None:
    before = doc.scenario.tokens.copy()
    d_vocab, d_model = doc.scenario.weights["embed.W_E"].shape
    type_at_end(qtbot, panel, " cat dog")
    np.testing.assert_array_equal(doc.scenario.tokens, before)  # not applied
    assert panel.error_label.isVisible()
    assert "'cat', 'dog'" in panel.error_label.text()
    assert "not in the vocabulary" in panel.error_label.text()
    assert panel.add_words_button.isVisible()
    assert "'cat', 'dog'" in panel.add_words_button.text()

    qtbot.mouseClick(panel.add_words_button, Qt.MouseButton.LeftButton)
    assert doc.scenario.vocab[-2:] == ["cat", "dog"]
    assert doc.scenario.weights["embed.W_E"].shape == (d_vocab + 2, d_model)
    assert doc.scenario.weights["unembed.W_U"].shape == (d_model, d_vocab + 2)
    assert doc.scenario.tokens.tolist()[-2:] == [d_vocab, d_vocab + 1]
    assert not panel.error_label.isVisible() and not panel.add_words_button.isVisible()
    assert panel.text_edit.toPlainText().endswith("D cat dog")

    stack.undo()
    assert len(doc.scenario.vocab) == d_vocab
    assert doc.scenario.weights["embed.W_E"].shape == (d_vocab, d_model)
    assert doc.scenario.weights["unembed.W_U"].shape == (d_model, d_vocab)
    np.testing.assert_array_equal(doc.scenario.tokens, before)


def test_too_long_is_refused(qtbot, panel: SequencePanel, doc: Document, stack: QUndoStack) -> None:
    before = doc.scenario.tokens.copy()
    panel.text_edit.setPlainText("<s> " + "A " * 32)
    assert "33 tokens but the model's context n_ctx is 32 — the sequence is refused" in panel.error_label.text()
    assert panel.error_label.isVisible()
    np.testing.assert_array_equal(doc.scenario.tokens, before)
    assert stack.count() == 0


def test_empty_text_is_refused(panel: SequencePanel, doc: Document) -> None:
    panel.text_edit.setPlainText("   ")
    assert doc.scenario.tokens.size == 9
    assert "No tokens" in panel.error_label.text()


# -- the token list --------------------------------------------------------------------------------


def test_insert_key_copies_the_selected_token(qtbot, panel: SequencePanel, doc: Document, stack: QUndoStack) -> None:
    panel.token_list.setCurrentRow(2)  # B
    qtbot.keyClick(panel.token_list, Qt.Key.Key_Insert)
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> A B B C D A B C D")
    assert doc.selection.query_pos == 3
    assert panel.token_list.count() == 10
    stack.undo()
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> A B C D A B C D")


def test_insert_after_the_start_token_copies_the_first_real_token(qtbot, panel: SequencePanel, doc: Document) -> None:
    panel.token_list.setCurrentRow(0)
    qtbot.mouseClick(panel.insert_button, Qt.MouseButton.LeftButton)
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> A A B C D A B C D")


def test_delete_button_and_key(qtbot, panel: SequencePanel, doc: Document, stack: QUndoStack) -> None:
    panel.token_list.setCurrentRow(1)
    qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> B C D A B C D")
    qtbot.keyClick(panel.token_list, Qt.Key.Key_Delete)
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> C D A B C D")
    assert panel.text_edit.toPlainText() == "<s> C D A B C D"
    stack.undo()
    stack.undo()
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> A B C D A B C D")


def test_drag_reorder(panel: SequencePanel, doc: Document, stack: QUndoStack) -> None:
    # what QListWidget's internal-move drop does: move row 1 (A) to before row 4
    assert panel.token_list.model().moveRow(QModelIndex(), 1, QModelIndex(), 4)
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> B C A D A B C D")
    assert [panel.token_list.item(i).text() for i in range(4)] == ["0: <s>", "1: B", "2: C", "3: A"]
    assert doc.selection.query_pos == 3
    stack.undo()
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> A B C D A B C D")
    assert panel.token_list.item(1).text() == "1: A"


def test_drop_done_as_insert_then_remove(panel: SequencePanel, doc: Document, stack: QUndoStack) -> None:
    lst = panel.token_list
    lst.insertItem(4, lst.takeItem(1))  # the other way a view may carry out a move
    lst.setCurrentRow(4)
    lst.drag_finished.emit()
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> B C D A A B C D")
    assert doc.selection.query_pos == 4
    assert stack.count() == 1
    assert [lst.item(i).text() for i in range(5)] == ["0: <s>", "1: B", "2: C", "3: D", "4: A"]


def test_move_buttons(qtbot, panel: SequencePanel, doc: Document, stack: QUndoStack) -> None:
    panel.token_list.setCurrentRow(2)
    qtbot.mouseClick(panel.up_button, Qt.MouseButton.LeftButton)
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> B A C D A B C D")
    qtbot.keyClick(panel.token_list, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> A B C D A B C D")
    assert stack.count() == 2


def test_change_one_token_from_the_vocabulary(panel: SequencePanel, doc: Document, stack: QUndoStack) -> None:
    panel.token_list.setCurrentRow(3)
    assert panel.token_combo.currentText() == "C"
    panel.token_combo.setCurrentIndex(doc.scenario.vocab.index("K"))
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> A B K D A B C D")
    assert panel.token_list.item(3).text() == "3: K"
    stack.undo()
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> A B C D A B C D")
    assert panel.token_combo.currentText() == "C"


def test_insert_is_refused_when_the_context_is_full(qtbot, panel: SequencePanel, doc: Document,
                                                    stack: QUndoStack) -> None:
    stack.push(SetTokensCommand(doc, np.ones(32, np.int64)))
    qtbot.keyClick(panel.token_list, Qt.Key.Key_Insert)
    assert doc.scenario.tokens.size == 32
    assert "n_ctx is 32" in panel.list_message.text()


# -- document -> widgets, selection ---------------------------------------------------------------------


def test_follows_edits_made_elsewhere(panel: SequencePanel, doc: Document, stack: QUndoStack) -> None:
    stack.push(SetTokensCommand(doc, ids(doc, "<s> C C"), "from another panel"))
    assert panel.text_edit.toPlainText() == "<s> C C"
    assert [panel.token_list.item(i).text() for i in range(panel.token_list.count())] == ["0: <s>", "1: C", "2: C"]
    assert panel.token_box.title() == "Tokens (3 of n_ctx 32)"
    assert stack.count() == 1  # following pushed nothing


def test_follows_a_replaced_scenario(panel: SequencePanel, doc: Document) -> None:
    doc.replace_scenario(load_scenario("lecture-demo"))
    assert panel.text_edit.toPlainText() == " ".join(doc.scenario.vocab[t] for t in doc.scenario.tokens)
    assert panel.token_combo.count() == len(doc.scenario.vocab)
    assert panel.block_spin.maximum() == doc.scenario.weights.config.n_ctx // 2  # no start token: two blocks


def test_selection_both_ways(panel: SequencePanel, doc: Document) -> None:
    panel.token_list.setCurrentRow(2)
    assert doc.selection.query_pos == 2
    doc.set_selection(query_pos=6)
    assert panel.token_list.currentRow() == 6
    assert panel.token_combo.currentText() == "B"


# -- generators --------------------------------------------------------------------------------------------


def test_repeated_random_structure_and_seed(qtbot, panel: SequencePanel, doc: Document, stack: QUndoStack) -> None:
    choose_generator(panel, "repeated_random", seed=4)
    panel.block_spin.setValue(6)
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    t = doc.scenario.tokens
    assert t.size == 13 and t[0] == doc.scenario.bos
    np.testing.assert_array_equal(t[1:7], t[7:])
    assert "the same block again" in panel.generator_description.text()
    first = t.copy()
    panel.generate()
    np.testing.assert_array_equal(doc.scenario.tokens, first)  # same seed, same sequence
    panel.seed_spin.setValue(5)
    panel.generate()
    assert not np.array_equal(doc.scenario.tokens, first)
    stack.undo()
    np.testing.assert_array_equal(doc.scenario.tokens, first)


def test_planted_repeat(panel: SequencePanel, doc: Document) -> None:
    choose_generator(panel, "planted_repeat", seed=1)
    panel.length_spin.setValue(20)
    panel.distance_spin.setValue(12)
    panel.generate()
    t, q = doc.scenario.tokens, doc.selection.query_pos  # the query is the second A
    assert t.size == 20
    a, b = t[q - 12], t[q - 11]
    assert t[q] == a and b != a and (t == a).sum() == 2
    assert q + 1 == t.size or t[q + 1] == b  # the second B when it fits


def test_no_repeat(panel: SequencePanel, doc: Document) -> None:
    choose_generator(panel, "no_repeat", seed=2)
    panel.no_repeat_spin.setValue(12)
    panel.generate()
    t = doc.scenario.tokens
    assert t.size == 12 and len(set(t.tolist())) == 12


def test_ambiguous_prefix(panel: SequencePanel, doc: Document) -> None:
    choose_generator(panel, "ambiguous_prefix", seed=3)
    panel.filler_spin.setValue(3)
    panel.generate()
    t = doc.scenario.tokens
    assert t.size == 1 + 5 + 2 * 3
    a, b, c = t[1], t[2], t[7]
    assert t[6] == a and t[-1] == a and b != c
    assert doc.selection.query_pos == t.size - 1


def test_repeat_beyond_context_loads_the_window(panel: SequencePanel, doc: Document) -> None:
    choose_generator(panel, "beyond_context", seed=0)
    panel.generate()
    t = doc.scenario.tokens
    assert t.size == doc.scenario.weights.config.n_ctx
    assert t[-1] not in t[:-1]  # the first A fell out of the window
    assert "fell out of the context" in panel.generator_description.text()


def test_repeated_names_extends_the_vocabulary_in_one_undo_step(panel: SequencePanel, doc: Document,
                                                              stack: QUndoStack) -> None:
    before_vocab, before_tokens = list(doc.scenario.vocab), doc.scenario.tokens.copy()
    choose_generator(panel, "repeated_names", seed=0)
    panel.generate()
    words = [doc.scenario.vocab[i] for i in doc.scenario.tokens]
    assert words[0] == "<s>" and words[1] == "When"
    q = doc.selection.query_pos  # a repeated first name, followed by its surname as before
    first = words.index(words[q])
    assert first < q and words[first + 1] == words[q + 1]
    assert doc.scenario.weights.config.d_vocab == len(doc.scenario.vocab) > len(before_vocab)
    assert stack.count() == 1
    stack.undo()
    assert doc.scenario.vocab == before_vocab
    np.testing.assert_array_equal(doc.scenario.tokens, before_tokens)


def test_the_form_allows_only_what_fits_and_a_request_beyond_is_refused_by_name(
        panel: SequencePanel, doc: Document, stack: QUndoStack) -> None:
    choose_generator(panel, "repeated_random")
    panel.block_spin.setValue(20)
    assert panel.block_spin.value() == 15  # [BOS, 15, 15] fills n_ctx 32: the box stops there
    with pytest.raises(CannotGenerate, match=r"^block: must be between 1 and 15 for this model, got 20$"):
        panel.generator_form.spec.generate(doc.scenario, 0, block=20)
    panel.generate()
    assert not panel.generator_message.isVisible() and doc.scenario.tokens.size == 31
    assert stack.count() == 1


def test_a_model_too_small_for_a_generator_shows_a_message(panel: SequencePanel, doc: Document,
                                                          stack: QUndoStack) -> None:
    doc.replace_scenario(load_scenario("lecture-demo"))  # d_vocab 4, n_ctx 8, no start token
    choose_generator(panel, "repeated_names")
    panel.generate()
    assert "n_ctx is 8" in panel.generator_message.text()
    assert stack.count() == 0
    choose_generator(panel, "no_repeat")
    panel.no_repeat_spin.setValue(8)
    assert panel.no_repeat_spin.value() == 4  # four distinct ids: no longer sequence without a repeat
    panel.generate()
    assert not panel.generator_message.isVisible() and len(set(doc.scenario.tokens.tolist())) == 4


@pytest.mark.parametrize("preset", ["lecture-demo", "repeated-names", "trained-toy", "induction-circuit"])
def test_every_spin_box_range_is_the_declared_one_and_works_at_both_ends(panel: SequencePanel, doc: Document,
                                                                       preset: str) -> None:
    doc.replace_scenario(load_scenario(preset))
    limits = ModelLimits.of(doc.scenario)
    for spec in GENERATORS:
        if not spec.params:
            continue
        choose_generator(panel, spec.key)
        spins = panel.generator_form._parameters[spec.key]
        for end in ("minimum", "maximum"):
            values: dict[str, int] = {}
            for param in spec.params:  # in order: a later range depends on the earlier values
                spin = spins[param.name]
                lo, hi = param.range(limits, values)
                assert (spin.minimum(), spin.maximum()) == (lo, max(lo, hi)), (spec.key, param.name)
                spin.setValue(getattr(spin, end)())
                values[param.name] = spin.value()
            panel.generate()
            assert not panel.generator_message.isVisible(), (spec.key, end, panel.generator_message.text())
            assert doc.scenario.tokens.size <= doc.scenario.weights.config.n_ctx


# -- looks ---------------------------------------------------------------------------------------------------


def test_every_control_has_a_tooltip(panel: SequencePanel) -> None:
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QListWidget, QPlainTextEdit

    controls = panel.findChildren(QAbstractButton) + panel.findChildren(QAbstractSpinBox) + panel.findChildren(
        QComboBox) + panel.findChildren(QListWidget) + panel.findChildren(QPlainTextEdit)
    assert controls
    assert all(w.toolTip() for w in controls), [w for w in controls if not w.toolTip()]


def test_screenshot(panel: SequencePanel, tmp_path: Path) -> None:
    path = tmp_path / "sequence_panel.png"
    assert panel.grab().save(str(path))
    assert path.stat().st_size > 1000


def test_chars_mode(qtbot, stack: QUndoStack) -> None:
    scenario = load_scenario("induction-circuit")
    scenario.tokenizer = "chars"
    doc = Document(scenario)
    panel = SequencePanel(doc, stack)
    qtbot.addWidget(panel)
    assert panel.text_edit.toPlainText() == "<s>ABCDABCD"
    type_at_end(qtbot, panel, "E")
    assert doc.scenario.tokens.tolist() == ids(doc, "<s> A B C D A B C D E")
    type_at_end(qtbot, panel, " ")
    assert "Unknown characters: ' '" in panel.error_label.text()
    qtbot.mouseClick(panel.add_words_button, Qt.MouseButton.LeftButton)
    assert doc.scenario.vocab[-1] == " "
    assert panel.token_list.item(panel.token_list.count() - 1).text() == "10: ␣"


def test_unknown_and_too_long_offers_no_vocabulary_button(panel: SequencePanel) -> None:
    panel.text_edit.setPlainText("<s> " + "zz " * 32)
    assert "'zz'" in panel.error_label.text() and "n_ctx is 32" in panel.error_label.text()
    assert not panel.add_words_button.isVisible()


def test_typing_into_a_model_folder_goes_through_its_own_tokenizer(qtbot, make_window, bpe_model_folder: Path) -> None:
    """Typed text is encoded by the folder's tokenizer.json (start token first), shown as it decodes; undo restores."""
    from tokenizers import Tokenizer

    window = make_window()
    assert window.open_model(bpe_model_folder)
    window.wait_idle()
    doc, panel = window.document, window.sequence_panel
    before = doc.scenario.tokens.copy()
    library = Tokenizer.from_file(str(bpe_model_folder / "tokenizer.json"))
    bos = library.token_to_id("<|endoftext|>")
    assert "tokenizer.json" in panel.text_hint.text()

    text = "the cat sat on the mat"
    panel.text_edit.setFocus()
    panel.text_edit.selectAll()
    qtbot.keyClick(panel.text_edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(panel.text_edit, text)
    qtbot.keyClick(panel.text_edit, Qt.Key.Key_Return)  # ends the burst
    window.wait_idle()
    assert doc.scenario.tokens.tolist() == [bos, *library.encode(text, add_special_tokens=False).ids]
    assert panel.error_label.text() == "" and panel.text_edit.toPlainText() == text
    rows = [panel.token_list.item(i).text() for i in range(panel.token_list.count())]
    assert rows[0] == "0: <|endoftext|>" and any(row.endswith(": ␣cat") for row in rows)  # as the tokenizer decodes
    assert window.errors == []

    window.undo_stack.undo()  # the whole burst is one step
    window.wait_idle()
    np.testing.assert_array_equal(doc.scenario.tokens, before)
    assert panel.text_edit.toPlainText() == library.decode(before[1:].tolist(), skip_special_tokens=False)
