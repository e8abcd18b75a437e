"""Which tokens a vocabulary-sized circuit is shown on when the vocabulary is large.

A full QK, OV or K-composition circuit is [d_vocab, d_vocab]: 64 × 64 for the
lecture's toy vocabularies, 48,262 × 48,262 (18.6 GB) for a real model. Above
:data:`DISPLAY_LIMIT` tokens the circuit is computed on a subset, as
TransformerLens' ``FactoredMatrix`` is indexed: the sequence's distinct tokens
first (what the learner is looking at), then the tokens the head ranks highest
from them, so the rows and columns are the same tokens and the diagonal still
means "copies itself". The ranking is linear in the rows, so it is computed
from the mean of the sequence's embeddings in O(d_vocab · d_model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .circuits import HeadKey, _head
from .weights import Weights

CircuitKind = Literal["qk", "ov", "k_composition"]
DISPLAY_LIMIT = 256  # a vocabulary up to this size is shown whole
SUBSET_SIZE = 64  # tokens shown of a larger vocabulary (rows = columns)

_RANKED_BY = {
    "qk": "largest mean QK score from them (keys they attend to most)",
    "ov": "largest mean OV logit from them (outputs the head boosts most)",
    "k_composition": "largest mean K-composition score from them",
}


@dataclass(frozen=True)
class TokenSubset:
    """The tokens a circuit is shown on: rows and columns alike."""

    ids: np.ndarray  # [n] int64 token ids: the sequence's distinct tokens first, then the top-ranked ones
    n_sequence: int  # how many of ids are the sequence's own tokens
    kind: str  # the circuit ranked by: "qk", "ov" or "k_composition"
    d_vocab: int  # the vocabulary they were chosen from

    def describe(self) -> str:
        """What the view says under the matrix, e.g. "rows and columns: the 9 tokens of the sequence and …"."""
        extra = self.ids.size - self.n_sequence
        text = f"rows and columns: the {self.n_sequence} distinct tokens of the sequence"
        if extra:
            text += f" and the {extra} with the {_RANKED_BY[self.kind]}"
        return text + f", {self.ids.size} of {self.d_vocab:,} tokens"


def circuit_tokens(weights: Weights, kind: CircuitKind, tokens: np.ndarray, layer: int, head: int,
                   prev: HeadKey | None = None, size: int = SUBSET_SIZE) -> TokenSubset:
    """The sequence's distinct tokens plus the ``size`` − n tokens the circuit ranks highest from them.

    Parameters
    ----------
    kind
        "qk" ranks key tokens by mean ``W_E[seq] W_QK W_Eᵀ``; "ov" output tokens
        by mean ``W_E[seq] W_OV W_U``; "k_composition" previous tokens by mean
        K-composition score from ``prev`` into (``layer``, ``head``).
    tokens
        [pos] the sequence; its distinct tokens come first, in order of first
        appearance (the first ``size`` of them if there are more).
    """
    W_E = np.asarray(weights["embed.W_E"])  # [d_vocab, d_model], in its own dtype: only ranked, never shown
    d_vocab = W_E.shape[0]
    toks = np.asarray(tokens, dtype=np.int64).reshape(-1)  # [pos]
    _, first = np.unique(toks, return_index=True)
    seq = toks[np.sort(first)][:size]  # [n_seq] distinct, in order of appearance
    n_extra = min(size, d_vocab) - seq.size
    if n_extra <= 0 or seq.size == 0:
        return TokenSubset(seq, int(seq.size), kind, d_vocab)
    # the scores are linear in the row, so the mean row's scores are the mean scores
    x = W_E[seq].mean(axis=0, dtype=np.float64)  # [d_model]
    if kind == "qk":
        key_dir = _head(weights, layer, head, "W_K") @ (x @ _head(weights, layer, head, "W_Q"))  # [d_model]
        score = W_E @ key_dir.astype(W_E.dtype)  # [d_vocab]
    elif kind == "ov":
        out = (x @ _head(weights, layer, head, "W_V")) @ _head(weights, layer, head, "W_O")  # [d_model]
        W_U = np.asarray(weights["unembed.W_U"])  # [d_model, d_vocab]
        score = out.astype(W_U.dtype) @ W_U  # [d_vocab]
    elif kind == "k_composition":
        if prev is None:
            raise ValueError("k_composition needs the earlier head, prev")
        lp, hp = prev
        q = x @ _head(weights, layer, head, "W_Q")  # [d_head]
        k_dir = _head(weights, layer, head, "W_K") @ q  # [d_model]
        key_dir = _head(weights, lp, hp, "W_V") @ (_head(weights, lp, hp, "W_O") @ k_dir)  # [d_model]
        score = W_E @ key_dir.astype(W_E.dtype)  # [d_vocab]
    else:
        raise ValueError(f"kind: expected 'qk', 'ov' or 'k_composition', got {kind!r}")
    score = np.where(np.isfinite(score), score, -np.inf).astype(np.float64)  # [d_vocab]
    score[seq] = -np.inf  # already shown
    top = np.argpartition(-score, n_extra - 1)[:n_extra]  # [n_extra] unordered
    top = top[np.argsort(-score[top], kind="stable")]  # highest first
    return TokenSubset(np.concatenate([seq, top]).astype(np.int64), int(seq.size), kind, d_vocab)
