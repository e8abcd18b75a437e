"""Growing a model's vocabulary: new words get embeddings and unembeddings without retraining.

A learner who types a word the model has never seen should be able to add it
and keep experimenting. Adding ``k`` words appends ``k`` rows to ``W_E``
[d_vocab, d_model] and ``k`` columns to ``W_U`` [d_model, d_vocab] (and ``k``
entries to ``b_U`` [d_vocab]); nothing else in an attention-only model depends
on ``d_vocab``.

Why the new ``W_E`` rows are small seeded random vectors (``init="random"``)
rather than zeros: zero rows would make every new word the *same* token as far
as the heads can tell (a zero embedding), so an induction head could not tell
"Potter" from "Evans" and would match any new word against any other. Random
directions keep new words distinguishable; making them *small* (by default a
tenth of the average existing row norm) keeps them from disturbing a
hand-built circuit whose heads read one-hot token dimensions, and seeding them
makes a saved scenario reproducible. ``init="zero"`` is there for teachers who
want the new words to be invisible until they edit the embedding by hand.

Why the new ``W_U`` columns and ``b_U`` entries are zeros: the model has
learned nothing about predicting the new words, so their logit is exactly 0
whatever the residual stream holds: neither promoted nor suppressed, and easy
to spot in the logit view.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from .weights import Weights

Init = Literal["random", "zero"]
DEFAULT_SCALE = 0.1  # new W_E row norm, as a fraction of the mean existing row norm


def missing_words(vocab: Sequence[str], words: Sequence[str]) -> list[str]:
    """The entries of ``words`` not in ``vocab``, each once, in first-seen order."""
    known = set(vocab)
    return [w for w in dict.fromkeys(words) if w not in known]


def _check_new_words(vocab: Sequence[str], words: Sequence[str]) -> list[str]:
    """``words`` as a list, refusing empty strings, duplicates and words already present."""
    words = list(words)
    if not words:
        raise ValueError("words: expected at least one new word")
    for w in words:
        if not isinstance(w, str) or not w:
            raise ValueError(f"words: expected non-empty strings, got {w!r}")
    dupes = sorted({w for w in words if words.count(w) > 1})
    if dupes:
        raise ValueError(f"words: listed more than once: {', '.join(repr(w) for w in dupes)}")
    present = [w for w in words if w in set(vocab)]
    if present:
        raise ValueError(f"words: already in the vocabulary: {', '.join(repr(w) for w in present)}")
    return words


def new_embedding_rows(
    weights: Weights, n_new: int, *, seed: int, init: Init = "random", scale: float = DEFAULT_SCALE
) -> np.ndarray:
    """``n_new`` rows to append to ``W_E``: [n_new, d_model], W_E's dtype.

    Random rows point in seeded Gaussian directions with norm about ``scale``
    times the mean norm of the existing rows (a unit norm if those are all zero).
    The generator is seeded by ``seed`` and the current ``d_vocab``, so adding
    the same words to the same model always gives the same rows.
    """
    w_e = weights["embed.W_E"]  # [d_vocab, d_model]
    d_vocab, d_model = w_e.shape
    if init == "zero":
        return np.zeros((n_new, d_model), dtype=w_e.dtype)
    if init != "random":
        raise ValueError(f"init: expected 'random' or 'zero', got {init!r}")
    if not np.isfinite(scale) or scale < 0:
        raise ValueError(f"scale: expected a finite number ≥ 0, got {scale}")
    norms = np.linalg.norm(w_e.astype(np.float64), axis=1)  # [d_vocab]
    typical = float(norms.mean()) if d_vocab and norms.mean() > 0 else 1.0
    rng = np.random.default_rng([seed, d_vocab])
    rows = rng.standard_normal((n_new, d_model)) / np.sqrt(d_model)  # [n_new, d_model], norm ≈ 1
    return (rows * scale * typical).astype(w_e.dtype)


def extend_vocab(
    vocab: Sequence[str],
    weights: Weights,
    words: Sequence[str],
    *,
    seed: int = 0,
    init: Init = "random",
    scale: float = DEFAULT_SCALE,
) -> tuple[list[str], Weights]:
    """Append ``words`` to the vocabulary and grow the weights to match.

    Existing ids keep their meaning (new words take ids ``d_vocab ..``), so a
    token sequence stays valid. The inputs are not modified.

    Parameters
    ----------
    vocab
        token id -> text; as many entries as ``weights.config.d_vocab``.
    weights
        the model; ``W_E`` [d_vocab, d_model], ``W_U`` [d_model, d_vocab], ``b_U`` [d_vocab].
    words
        new, distinct, non-empty words not yet in ``vocab``.
    seed, init, scale
        how the new ``W_E`` rows are made (see :func:`new_embedding_rows`).

    Returns
    -------
    (list[str], Weights)
        the longer vocabulary and a copy of the weights with ``W_E`` [d_vocab + k, d_model],
        ``W_U`` [d_model, d_vocab + k] and ``b_U`` [d_vocab + k].

    Raises
    ------
    ValueError
        if ``vocab`` and the weights disagree, or a word is empty, repeated or already present.
    """
    d_vocab = weights.config.d_vocab
    if len(vocab) != d_vocab:
        raise ValueError(f"vocab: has {len(vocab)} entries but the model's d_vocab is {d_vocab}")
    words = _check_new_words(vocab, words)
    k = len(words)
    new = weights.copy()
    rows = new_embedding_rows(weights, k, seed=seed, init=init, scale=scale)  # [k, d_model]
    w_e = new["embed.W_E"]  # [d_vocab, d_model]
    w_u = new["unembed.W_U"]  # [d_model, d_vocab]
    b_u = new["unembed.b_U"]  # [d_vocab]
    new["embed.W_E"] = np.concatenate([w_e, rows], axis=0)  # [d_vocab + k, d_model]
    new["unembed.W_U"] = np.concatenate([w_u, np.zeros((w_u.shape[0], k), w_u.dtype)], axis=1)  # [d_model, d_vocab + k]
    new["unembed.b_U"] = np.concatenate([b_u, np.zeros(k, b_u.dtype)])  # [d_vocab + k]
    new.validate()
    return [*vocab, *words], new


def translate_tokens(tokens: object, source: Sequence[str], target: Sequence[str]) -> np.ndarray:
    """Ids [pos] in ``source``'s numbering renumbered to ``target``'s, word by word.

    For sequences generated with their own vocabulary (text generators) that
    are loaded into a model whose vocabulary contains the same words.

    Raises
    ------
    ValueError
        naming the words ``target`` lacks.
    """
    ids = np.asarray(tokens, dtype=np.int64).reshape(-1)  # [pos]
    words = [source[int(i)] for i in ids]
    index = {w: i for i, w in enumerate(target)}
    lacking = [w for w in dict.fromkeys(words) if w not in index]
    if lacking:
        raise ValueError(f"not in the target vocabulary: {', '.join(repr(w) for w in lacking)}")
    return np.array([index[w] for w in words], dtype=np.int64)  # [pos]
