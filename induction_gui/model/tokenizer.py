"""A scenario's ``"text"``: the engine's tokenizer, with errors that name the JSON path.

The file's text must mean exactly what the same text typed into the window
means, so this module does not tokenize itself; it calls
:func:`induction_gui.engine.sequences.tokenize` (``"words"``: words and
punctuation marks, ``<special>`` entries kept whole; ``"chars"``: every
character) and turns an unknown word into a :class:`ScenarioError` naming it.

A model folder with a Hugging Face ``tokenizer.json`` tokenizes typed text with
it instead (:func:`load_tokenizer`, :class:`HFTokenizer`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
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


# -- a model's own tokenizer (a Hugging Face tokenizer.json) -----------------------------------------

TOKENIZER_FILE = "tokenizer.json"
# where a folder names its start token when tokenizer_config.json does not (GPT-2, GPT-NeoX, Llama conventions)
_BOS_CANDIDATES = ("<|BOS|>", "<|endoftext|>", "<s>", "<bos>")


class HFTokenizer:
    """A Hugging Face ``tokenizer.json`` through the ``tokenizers`` library (no hand-written BPE).

    Text is encoded without the library's special tokens; the start token is
    prepended when ``prepend_bos`` (TransformerLens' ``default_prepend_bos``)
    and the tokenizer has one. Token strings are each id decoded on its own,
    as TransformerLens' ``to_str_tokens`` shows them (" the", not "Ġthe").
    """

    def __init__(self, tokenizer: object, *, bos_id: int | None, prepend_bos: bool = True) -> None:
        self._tok = tokenizer
        self.bos_id = bos_id
        self.prepend_bos = prepend_bos

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, bos_token: str | None = None,
                  prepend_bos: bool = True) -> HFTokenizer:
        """Read ``tokenizer.json``; ``bos_token`` (else a conventional one the vocabulary has) is the start token."""
        from tokenizers import Tokenizer as _Tokenizer  # lazily: start-up does not pay for it

        try:
            tok = _Tokenizer.from_file(os.fspath(path))
        except Exception as exc:  # noqa: BLE001 - the library raises its own exception types
            raise ScenarioError(str(path), f"not a readable Hugging Face tokenizer ({exc})") from None
        names = (bos_token,) if bos_token is not None else _BOS_CANDIDATES
        bos_id = next((i for i in (tok.token_to_id(n) for n in names if n) if i is not None), None)
        return cls(tok, bos_id=bos_id, prepend_bos=prepend_bos)

    def to_json_bytes(self) -> bytes:
        """The tokenizer as ``tokenizer.json`` text (what a scenario's sibling file holds)."""
        return self._tok.to_str().encode("utf-8")  # type: ignore[attr-defined]

    @property
    def d_vocab(self) -> int:
        """Number of ids, added tokens included."""
        return int(self._tok.get_vocab_size(with_added_tokens=True))  # type: ignore[attr-defined]

    def encode(self, text: str) -> np.ndarray:
        """Token ids [pos] of ``text``: the start token first if prepended, then the library's encoding."""
        ids = self._tok.encode(text, add_special_tokens=False).ids  # type: ignore[attr-defined]
        if self.prepend_bos and self.bos_id is not None:
            ids = [self.bos_id, *ids]
        return np.asarray(ids, dtype=np.int64)

    def char_ends(self, text: str) -> list[int]:
        """Where each token of :meth:`encode` ends in ``text``, in characters (a prepended start token: 0)."""
        encoding = self._tok.encode(text, add_special_tokens=False)  # type: ignore[attr-defined]
        ends = [end for _, end in encoding.offsets]
        return [0, *ends] if self.prepend_bos and self.bos_id is not None else ends

    def char_spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) in ``text`` of each token of :meth:`encode` (a prepended start token: (0, 0))."""
        encoding = self._tok.encode(text, add_special_tokens=False)  # type: ignore[attr-defined]
        spans = [(int(start), int(end)) for start, end in encoding.offsets]
        return [(0, 0), *spans] if self.prepend_bos and self.bos_id is not None else spans

    def decode_piece(self, ids: Sequence[int] | np.ndarray) -> str:
        """Some tokens from inside a sequence as text (no start token is taken off: there is none to prepend)."""
        return self._tok.decode([int(i) for i in ids], skip_special_tokens=False)  # type: ignore[attr-defined]

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """The text that :meth:`encode` turns back into ``ids``: a prepended start token left out, the rest decoded."""
        ids = [int(i) for i in ids]
        if self.prepend_bos and self.bos_id is not None and ids[:1] == [self.bos_id]:
            ids = ids[1:]
        return self._tok.decode(ids, skip_special_tokens=False)  # type: ignore[attr-defined]

    def to_str_tokens(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        """Each id decoded on its own (a byte-level piece of a longer character decodes to "�", as in TL)."""
        return self._tok.decode_batch([[int(i)] for i in ids], skip_special_tokens=False)  # type: ignore[attr-defined]

    def vocab(self) -> list[str]:
        """Distinct display strings of every id (a scenario's vocabulary, id order).

        Each id decoded on its own; where that is empty or not unique (the
        byte pieces of one character all decode to "�"), the tokenizer's own
        token string (e.g. "âĢ"), and failing that the id, so labels stay distinct.
        """
        decoded = self.to_str_tokens(range(self.d_vocab))
        counts: dict[str, int] = {}
        for text in decoded:
            counts[text] = counts.get(text, 0) + 1
        out: list[str] = []
        seen: set[str] = set()
        for i, text in enumerate(decoded):
            if not text or counts[text] > 1:
                text = self._tok.id_to_token(i) or ""  # type: ignore[attr-defined]
            if not text or text in seen:
                text = f"<id {i}>"
            seen.add(text)
            out.append(text)
        return out


def load_tokenizer(folder: str | os.PathLike[str]) -> HFTokenizer | None:
    """The tokenizer of a model folder: its ``tokenizer.json`` if it has one, else None.

    ``config.json``'s ``default_prepend_bos`` (TransformerLens' config key,
    true when absent) decides whether the start token is prepended;
    ``tokenizer_config.json``'s ``bos_token`` names it when present.
    """
    folder = Path(folder)
    path = folder / TOKENIZER_FILE
    if not path.is_file():
        return None
    prepend = _json_field(folder / "config.json", "default_prepend_bos")
    bos = _json_field(folder / "tokenizer_config.json", "bos_token")
    if isinstance(bos, dict):  # {"content": "<|endoftext|>", ...} in newer files
        bos = bos.get("content")
    return HFTokenizer.from_file(path, bos_token=bos if isinstance(bos, str) else None,
                                 prepend_bos=True if prepend is None else bool(prepend))


def _json_field(path: Path, key: str) -> object:
    """``key`` of a JSON object file, or None if the file or the key is missing."""
    if not path.is_file():
        return None
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScenarioError(str(path), f"not readable JSON ({exc})") from None
    return obj.get(key) if isinstance(obj, dict) else None
