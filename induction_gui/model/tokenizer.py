"""A scenario's ``"text"``: the engine's tokenizer, with errors that name the JSON path.

The file's text must mean exactly what the same text typed into the window
means, so this module does not tokenize itself; it calls
:func:`induction_gui.engine.sequences.tokenize` (``"words"``: words and
punctuation marks, ``<special>`` entries kept whole; ``"chars"``: every
character) and turns an unknown word into a :class:`ScenarioError` naming it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

import numpy as np

from ..engine import sequences
from .errors import ScenarioError

Tokenizer = Literal["words", "chars"]
TOKENIZERS: tuple[str, ...] = tuple(sequences.MODES)


def tokenize(text: str, vocab: Sequence[str], mode: Tokenizer, path: str = "text") -> np.ndarray:
    """Token ids [pos] of ``text``; unknown pieces raise, each named."""
    try:
        return sequences.tokenize(text, list(vocab), mode)
    except sequences.UnknownTokenError as exc:
        kind = "word" if mode == "words" else "character"
        names = ", ".join(json.dumps(u, ensure_ascii=False) for u in exc.unknown)
        plural = "s" if len(exc.unknown) > 1 else ""
        raise ScenarioError(path, f"unknown {kind}{plural} {names} (not in vocab)") from None
    except ValueError as exc:
        raise ScenarioError(path, str(exc)) from None


def detokenize(tokens: np.ndarray, vocab: Sequence[str], mode: Tokenizer) -> str | None:
    """Text that tokenizes back to exactly ``tokens``, or None if there is none.

    Entries with spaces, or punctuation glued to words, may not survive the
    trip through text; such sequences are kept as ids.
    """
    if not tokens.size:
        return None
    try:
        text = sequences.detokenize(tokens, list(vocab), mode)
        back = sequences.tokenize(text, list(vocab), mode)
    except ValueError:  # UnknownTokenError included
        return None
    return text if np.array_equal(back, tokens) else None
