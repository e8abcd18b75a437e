"""Text <-> token ids: the vocabulary of a text, tokenisation and its inverse.

Two modes: ``"words"`` splits text into words and single punctuation marks
(``<special>`` entries kept whole), ``"chars"`` makes every character a token.
The window, scenario files and the sequence generators all tokenize here, so
the same text means the same tokens everywhere.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np

Mode = Literal["words", "chars"]
MODES: tuple[str, ...] = ("words", "chars")

# Words mode: <special> tokens, runs of word characters, or single punctuation marks.
_WORD_RE = re.compile(r"<[^<>\s]+>|\w+|[^\w\s]")
# Punctuation written without a space before it when detokenising.
_NO_SPACE_BEFORE = frozenset(",.;:!?)]}'")


class UnknownTokenError(ValueError):
    """Text contains tokens the vocabulary lacks; ``unknown`` lists each once, in order of appearance."""

    def __init__(self, unknown: list[str]) -> None:
        self.unknown: tuple[str, ...] = tuple(unknown)
        super().__init__(f"not in the vocabulary: {', '.join(repr(u) for u in self.unknown)}")


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")


def split_tokens(text: str, mode: str, specials: frozenset[str] = frozenset()) -> list[str]:
    """Token strings of ``text``; in chars mode a ``<...>`` special in ``specials`` stays whole."""
    if mode == "words":
        return _WORD_RE.findall(text)
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "<":
            end = text.find(">", i)
            if end > 0 and text[i : end + 1] in specials:
                out.append(text[i : end + 1])
                i = end + 1
                continue
        out.append(text[i])
        i += 1
    return out


def vocab_from_text(text: str, mode: Mode = "words", *, bos: str | None = "<s>") -> list[str]:
    """The distinct tokens of ``text`` in first-seen order, the start token first if given.

    Words mode splits into words and single punctuation marks (``"store,"`` is
    ``"store"``, ``","``) so that a repeated name is the same token wherever it
    stands; chars mode keeps every character, spaces included.
    """
    _check_mode(mode)
    vocab: list[str] = [bos] if bos is not None else []
    seen = set(vocab)
    for t in split_tokens(text, mode, frozenset(seen)):
        if t not in seen:
            seen.add(t)
            vocab.append(t)
    return vocab


def tokenize(text: str, vocab: list[str] | tuple[str, ...], mode: Mode = "words") -> np.ndarray:
    """Token ids of ``text``: int64 [pos].

    In words mode a whitespace-separated chunk that is itself in the vocabulary
    is one token (so custom entries such as ``"A+B"`` work); other chunks are
    split into words and punctuation.

    Raises
    ------
    UnknownTokenError
        listing every token missing from the vocabulary, so the caller can offer
        to add them all at once.
    """
    _check_mode(mode)
    index = {t: i for i, t in enumerate(vocab)}
    specials = frozenset(t for t in vocab if t.startswith("<") and t.endswith(">") and len(t) > 2)
    if mode == "words":
        pieces: list[str] = []
        for chunk in text.split():
            pieces.extend([chunk] if chunk in index else split_tokens(chunk, mode))
    else:
        pieces = split_tokens(text, mode, specials)
    unknown = list(dict.fromkeys(p for p in pieces if p not in index))
    if unknown:
        raise UnknownTokenError(unknown)
    return np.array([index[p] for p in pieces], dtype=np.int64)  # [pos]


def detokenize(ids: object, vocab: list[str] | tuple[str, ...], mode: Mode = "words") -> str:
    """Text from token ids [pos]: words joined by spaces (none before punctuation), chars concatenated."""
    _check_mode(mode)
    arr = np.asarray(ids).reshape(-1)  # [pos]
    if arr.size and (arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= len(vocab)):
        raise ValueError(f"ids: expected integers in 0..{len(vocab) - 1}, got {arr.tolist()}")
    words = [vocab[int(i)] for i in arr]
    if mode == "chars":
        return "".join(words)
    out = ""
    for w in words:
        out += w if (not out or w in _NO_SPACE_BEFORE) else " " + w
    return out
