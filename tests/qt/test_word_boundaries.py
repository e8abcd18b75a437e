"""Typed text keeps its word boundaries when the sequence changes under it (undo, redo, token-list edits).

The Sequence box used to rebuild the text from the tokens after every change
made elsewhere: a words vocabulary turned ``don't`` into ``don' t`` and
``(a)`` into ``( a)``, and a word-level tokenizer.json without a decoder put a
space between every token (``don ' t stop , the cat``). Now the tokens that
did not change keep the text the learner wrote.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QUndoStack

from induction_gui import engine
from induction_gui.model.document import Document
from induction_gui.model.scenario import Scenario
from induction_gui.model.sequence_edit import parse_sequence, sequence_text
from induction_gui.model.text_spans import edited_text, token_spans
from induction_gui.model.tokenizer import HFTokenizer
from induction_gui.qt.panels.sequence_panel import SequencePanel

WORDS = ["<s>", "the", "cat", "don", "'", "t", "stop", ",", "(", "a", ")", "sat"]
TYPED = "<s> don't stop, the (a) cat"


def _words_scenario() -> Scenario:
    cfg = engine.ModelConfig(n_layers=1, n_heads=1, d_model=8, d_head=4, d_vocab=len(WORDS), n_ctx=32)
    return Scenario(title="t", vocab=list(WORDS), tokens=[0, 1], weights=engine.Weights.random(cfg), bos=0)


def _word_level_scenario(tmp_path: Path) -> Scenario:
    """A word-level tokenizer.json without a decoder: the library joins decoded tokens with spaces."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(["don't stop, the (a) cat sat"] * 3,
                            trainers.WordLevelTrainer(special_tokens=["[UNK]", "<s>"]))
    tok.save(str(tmp_path / "tokenizer.json"))
    hf = HFTokenizer.from_file(tmp_path / "tokenizer.json", bos_token="<s>")
    cfg = engine.ModelConfig(n_layers=1, n_heads=1, d_model=8, d_head=4, d_vocab=hf.d_vocab, n_ctx=32)
    return Scenario(title="t", vocab=hf.vocab(), tokens=hf.encode("the cat"), weights=engine.Weights.random(cfg),
                    bos=hf.bos_id, hf_tokenizer=hf)


def _panel(qtbot, scenario: Scenario) -> tuple[SequencePanel, QUndoStack]:  # noqa: ANN001
    stack = QUndoStack()
    panel = SequencePanel(Document(scenario), stack)
    qtbot.addWidget(panel)
    panel.show()
    return panel, stack


def _type(qtbot, panel: SequencePanel, text: str) -> None:  # noqa: ANN001
    panel.text_edit.setFocus()
    panel.text_edit.selectAll()
    panel.text_edit.textCursor().removeSelectedText()
    for ch in text:  # one keystroke at a time, as a learner types
        qtbot.keyClicks(panel.text_edit, ch)


@pytest.mark.parametrize("kind", ["words", "word-level tokenizer.json", "byte-level BPE tokenizer.json"])
def test_typed_text_keeps_its_boundaries_through_undo_redo_and_token_edits(
        qtbot, tmp_path: Path, kind: str, bpe_model_folder: Path) -> None:  # noqa: ANN001
    if kind == "words":
        scenario, typed, cut = _words_scenario(), TYPED, "<s> don't stop, the (a)"
    elif kind == "word-level tokenizer.json":
        scenario, typed, cut = _word_level_scenario(tmp_path), TYPED[4:], "don't stop, the (a)"
    else:
        from induction_gui.model.model_folder import scenario_from_model

        scenario, typed, cut = scenario_from_model(bpe_model_folder), "the cat sat on the mat", "the cat sat on the"
    panel, stack = _panel(qtbot, scenario)
    doc = panel.document
    _type(qtbot, panel, typed)
    typed_tokens = parse_sequence(typed, doc.scenario).tokens
    assert typed_tokens is not None and np.array_equal(doc.scenario.tokens, typed_tokens)
    assert panel.text_edit.toPlainText() == typed
    if kind != "byte-level BPE tokenizer.json":  # the rebuilt text loses the boundaries: what this test guards
        assert sequence_text(doc.scenario) != typed

    stack.undo()
    assert not np.array_equal(doc.scenario.tokens, typed_tokens)
    stack.redo()
    assert panel.text_edit.toPlainText() == typed  # not "don' t stop" or "don ' t stop ,"

    panel.token_list.setCurrentRow(doc.scenario.tokens.size - 1)
    panel.delete_token()  # the last word goes; the rest stays as written
    assert panel.text_edit.toPlainText() == cut
    assert np.array_equal(parse_sequence(cut, doc.scenario).tokens, doc.scenario.tokens)
    panel.detach()


def test_token_spans_and_a_splice_in_the_middle() -> None:
    scenario = _words_scenario()
    spans = token_spans(TYPED, scenario)
    assert [TYPED[a:b] for a, b in spans] == ["<s>", "don", "'", "t", "stop", ",", "the", "(", "a", ")", "cat"]
    old = parse_sequence(TYPED, scenario).tokens
    assert old is not None
    new = old.copy()
    new[6] = WORDS.index("sat")  # "the" -> "sat" in the middle
    rebuilt = "unused"
    assert edited_text(TYPED, old, new, scenario, rebuilt) == "<s> don't stop, sat (a) cat"
    inserted = np.insert(old, 5, WORDS.index("cat"))  # a word before the comma
    assert edited_text(TYPED, old, inserted, scenario, rebuilt) == "<s> don't stop cat, the (a) cat"
