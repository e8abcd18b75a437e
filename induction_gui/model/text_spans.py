"""Keeping the learner's word boundaries when the sequence changes under the text they typed.

The Sequence box shows the tokens as text. Rebuilding that text from the
tokens alone loses how the learner wrote it: a words-mode vocabulary splits
``don't`` into ``don ' t`` and ``(a)`` into ``( a )``, and a word-level
``tokenizer.json`` without a decoder joins every token with a space. So when
the tokens change (an edit in the token list, a generator keeping a prefix),
:func:`edited_text` keeps the text of the tokens that stayed, exactly as it
was, and writes only the changed tokens anew; and when they return to a
sequence the learner typed (undo, redo), :class:`TypedTexts` gives back the
text as it was typed. Either is accepted only if it tokenizes back to the
tokens shown, else the text is rebuilt whole.

:func:`token_spans` says where each token of a text is, for the three ways a
scenario tokenizes (words, characters, its own tokenizer.json).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..engine import sequences
from .scenario import Scenario
from .sequence_edit import parse_sequence  # the one reading of typed text

Span = tuple[int, int]  # [start, end) in characters


def _spans_in_order(text: str, pieces: list[str], start: int = 0) -> list[Span]:
    """Where each of ``pieces`` (substrings of ``text``, in order) is, searching from ``start``."""
    spans, at = [], start
    for piece in pieces:
        at = text.index(piece, at)
        spans.append((at, at + len(piece)))
        at += len(piece)
    return spans


def token_spans(text: str, scenario: Scenario) -> list[Span]:
    """(start, end) of every token the scenario reads in ``text``, as :func:`~.sequence_edit.parse_sequence` does.

    A start token the model's own tokenizer prepends has the empty span (0, 0).
    The text is assumed to tokenize (unknown words are tokens here too).
    """
    if scenario.hf_tokenizer is not None:
        return scenario.hf_tokenizer.char_spans(text)
    if scenario.tokenizer == "chars":
        specials = frozenset(t for t in scenario.vocab if t.startswith("<") and t.endswith(">") and len(t) > 2)
        return _spans_in_order(text, sequences.split_tokens(text, "chars", specials))
    vocab = set(scenario.vocab)
    spans: list[Span] = []
    at = 0
    for chunk in text.split():  # as sequences.tokenize: a chunk in the vocabulary is one token
        at = text.index(chunk, at)
        pieces = [chunk] if chunk in vocab else sequences.split_tokens(chunk, "words")
        spans.extend(_spans_in_order(text, pieces, at))
        at += len(chunk)
    return spans


def edited_text(old_text: str, old: np.ndarray, new: np.ndarray, scenario: Scenario,
                rebuild: str) -> str:
    """The text of tokens ``new`` written as ``old_text`` (which means ``old``) was, where they agree.

    Parameters
    ----------
    old_text, old
        the text shown and the tokens [pos] it means under ``scenario``.
    new
        the tokens [pos] to show now.
    rebuild
        the text of ``new`` built from the tokens alone: the answer when no
        splice of ``old_text`` means exactly ``new``.
    """
    spans = token_spans(old_text, scenario)
    if len(spans) != old.size:
        return rebuild
    head = 0  # tokens the two sequences share at the start ...
    while head < min(old.size, new.size) and old[head] == new[head]:
        head += 1
    tail = 0  # ... and at the end, not overlapping the start
    while tail < min(old.size, new.size) - head and old[old.size - 1 - tail] == new[new.size - 1 - tail]:
        tail += 1
    prefix_end = spans[head - 1][1] if head else 0
    suffix_start = spans[old.size - tail][0] if tail else len(old_text)
    changed = spans[head:old.size - tail]  # the old tokens that were replaced
    gap_before = old_text[prefix_end:changed[0][0]] if changed else old_text[prefix_end:suffix_start]
    gap_after = old_text[changed[-1][1]:suffix_start] if changed else gap_before
    middle_tokens = new[head:new.size - tail]
    middle = _text_of(middle_tokens, scenario) if middle_tokens.size else ""
    prefix, suffix = old_text[:prefix_end], old_text[suffix_start:]
    seps = [(gap_before, gap_after), ("", ""), (" ", ""), ("", " "), (" ", " ")]
    for before, after in seps:
        candidate = prefix + before + middle + after + suffix if middle else prefix + before + suffix
        parsed = parse_sequence(candidate, scenario).tokens
        if parsed is not None and np.array_equal(parsed, new):
            return candidate
    return rebuild


def _text_of(tokens: np.ndarray, scenario: Scenario) -> str:
    """Some of a sequence's tokens as text (a middle piece: no start token prepended)."""
    if scenario.hf_tokenizer is not None:
        return scenario.hf_tokenizer.decode_piece(tokens)
    return sequences.detokenize(tokens, scenario.vocab, scenario.tokenizer)


class TypedTexts:
    """The texts the learner typed, by the tokens they mean (the last ``limit`` of them).

    Undo and redo bring back token sequences; the text they were typed as comes
    back with them instead of the tokens joined anew.
    """

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        self._texts: OrderedDict[bytes, str] = OrderedDict()

    @staticmethod
    def _key(tokens: np.ndarray) -> bytes:
        return np.asarray(tokens, dtype=np.int64).tobytes()

    def remember(self, tokens: np.ndarray, text: str, scenario: Scenario) -> None:
        """``text`` was typed and means ``tokens`` [pos] (kept without a trailing space that means nothing)."""
        stripped = text.rstrip()
        if stripped != text:
            parsed = parse_sequence(stripped, scenario).tokens
            if parsed is not None and np.array_equal(parsed, tokens):
                text = stripped  # the space before the next word, not yet typed
        key = self._key(tokens)
        self._texts[key] = text
        self._texts.move_to_end(key)
        while len(self._texts) > self.limit:
            self._texts.popitem(last=False)

    def text_for(self, tokens: np.ndarray, scenario: Scenario) -> str | None:
        """The text typed for ``tokens``, if it still means them in ``scenario`` (its vocabulary may have changed)."""
        text = self._texts.get(self._key(tokens))
        if text is None:
            return None
        parsed = parse_sequence(text, scenario).tokens
        return text if parsed is not None and np.array_equal(parsed, tokens) else None
