"""Seeded sequence generators for induction experiments, and the tokenisation they use.

Every generator takes an explicit ``seed`` and draws from its own
``numpy.random.Generator``, so a sequence in a saved scenario or a figure in the
lecture notes can be reproduced exactly. Each returns a :class:`GeneratedSequence`
whose ``marks`` name the positions a learner should look at. Text <-> token ids
is :mod:`.tokenizer`; its names are importable from here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .markov import sample_sequences
from .tokenizer import MODES, Mode, UnknownTokenError, detokenize, split_tokens, tokenize, vocab_from_text

__all__ = [
    "MODES",
    "GeneratedSequence",
    "Mode",
    "UnknownTokenError",
    "ambiguous_prefix",
    "detokenize",
    "markov_chain",
    "no_repeat",
    "planted_repeat",
    "repeat_beyond_context",
    "repeated_names_text",
    "repeated_random",
    "tokenize",
    "vocab_from_text",
]


@dataclass(frozen=True, eq=False)
class GeneratedSequence:
    """A generated sequence and the positions that matter in it.

    Attributes
    ----------
    tokens
        int64 [pos] (or [batch, pos] from a batched generator); read-only.
    description
        one line saying what the sequence tests.
    marks
        name -> positions of interest, e.g. ``{"first": (1, 2, 3), "second": (4, 5, 6)}``.
    text
        the text the tokens came from, for generators that write text.
    vocab
        the vocabulary of ``tokens`` when the generator chose it (text generators).
    """

    tokens: np.ndarray
    description: str
    marks: dict[str, tuple[int, ...]] = field(default_factory=dict)
    text: str | None = None
    vocab: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        toks = np.array(self.tokens, dtype=np.int64)  # [pos] or [batch, pos], a private copy
        toks.flags.writeable = False
        object.__setattr__(self, "tokens", toks)
        object.__setattr__(self, "marks", {k: tuple(int(p) for p in v) for k, v in self.marks.items()})


# -- generators ----------------------------------------------------------------------


def _content_ids(d_vocab: int, bos: int | None) -> np.ndarray:
    """The ids a generator may draw: every id but the start token. int64 [n_content]."""
    if d_vocab < 2:
        raise ValueError(f"d_vocab: expected at least 2 token ids, got {d_vocab}")
    if bos is not None and not 0 <= bos < d_vocab:
        raise ValueError(f"bos: expected None or an id in 0..{d_vocab - 1}, got {bos}")
    ids = np.arange(d_vocab, dtype=np.int64)
    return ids if bos is None else ids[ids != bos]


def _with_bos(body: np.ndarray, bos: int | None) -> np.ndarray:
    """Prepend the start token if there is one: [..., pos] -> [..., pos + 1]."""
    if bos is None:
        return body
    start = np.full(body.shape[:-1] + (1,), bos, dtype=np.int64)  # [..., 1]
    return np.concatenate([start, body], axis=-1)


def _fill(rng: np.random.Generator, pool: np.ndarray, n: int) -> np.ndarray:
    """``n`` ids drawn uniformly with replacement from ``pool``: int64 [n]."""
    return rng.choice(pool, size=n, replace=True).astype(np.int64)


def repeated_random(
    n_block: int,
    d_vocab: int,
    *,
    seed: int,
    bos: int | None = 0,
    batch: int | None = None,
) -> GeneratedSequence:
    """``[BOS, r1..rN, r1..rN]``: the standard test sequence for induction heads.

    A block is drawn without replacement when the vocabulary allows, so that
    inside one block no token repeats and every repeat is an induction
    opportunity in the second half only.

    Parameters
    ----------
    n_block
        N, the block length (≥ 1).
    d_vocab
        ids are drawn from 0..d_vocab−1 minus ``bos``.
    seed
        seeds the generator.
    bos
        start-token id, or None for no start token.
    batch
        None for tokens [pos]; an integer B for tokens [B, pos], one block per row.
    """
    if n_block < 1:
        raise ValueError(f"n_block: expected at least 1, got {n_block}")
    if batch is not None and batch < 1:
        raise ValueError(f"batch: expected None or at least 1, got {batch}")
    pool = _content_ids(d_vocab, bos)
    rng = np.random.default_rng(seed)
    distinct = n_block <= len(pool)
    rows = 1 if batch is None else batch
    blocks = np.stack([rng.choice(pool, size=n_block, replace=not distinct) for _ in range(rows)])  # [batch, N]
    body = np.concatenate([blocks, blocks], axis=1)  # [batch, 2N]
    tokens = _with_bos(body, bos)  # [batch, pos]
    off = 0 if bos is None else 1
    marks = {
        "first": tuple(range(off, off + n_block)),
        "second": tuple(range(off + n_block, off + 2 * n_block)),
    }
    if bos is not None:
        marks["bos"] = (0,)
    return GeneratedSequence(
        tokens=tokens[0] if batch is None else tokens,
        description=f"a random block of {n_block} tokens, then the same block again"
        + ("" if distinct else " (tokens repeat inside the block: the vocabulary is too small)"),
        marks=marks,
    )


def planted_repeat(
    length: int,
    distance: int,
    d_vocab: int,
    *,
    seed: int,
    bos: int | None = 0,
) -> GeneratedSequence:
    """A random sequence in which a pair A B recurs: the second A, ``distance`` after the first, should predict B.

    A occurs exactly twice and B differs from A, so an induction head has one
    right answer. The second B is included when it fits in ``length``.

    Parameters
    ----------
    length
        total length, the start token included.
    distance
        positions from the first A to the second (≥ 2, so that B fits between).

    Returns
    -------
    GeneratedSequence
        marks ``first_A``, ``first_B``, ``second_A`` (the query) and
        ``second_B`` (empty when the sequence ends at the second A).
    """
    if length < 1:
        raise ValueError(f"length: expected at least 1, got {length}")
    if distance < 2:
        raise ValueError(f"distance: expected at least 2 (B must fit between the two A's), got {distance}")
    if distance >= length:
        raise ValueError(f"distance: must be less than length ({length}), got {distance}")
    pool = _content_ids(d_vocab, bos)
    if len(pool) < 2:
        raise ValueError("d_vocab: need at least 2 ids besides the start token (A and B differ)")
    off = 0 if bos is None else 1
    n = length - off  # body length
    if distance > n - 1:
        raise ValueError(f"distance: at most {n - 1} fits after the start token in length {length}, got {distance}")
    rng = np.random.default_rng(seed)
    a, b = rng.choice(pool, size=2, replace=False)
    p = int(rng.integers(0, n - distance))  # first A, in body coordinates
    body = _fill(rng, pool[pool != a], n)  # [pos - off]: no stray A
    body[p], body[p + 1], body[p + distance] = a, b, a
    if p + distance + 1 < n:
        body[p + distance + 1] = b
    q = p + distance
    marks = {
        "first_A": (off + p,),
        "first_B": (off + p + 1,),
        "second_A": (off + q,),
        "second_B": (off + q + 1,) if q + 1 < n else (),
    }
    return GeneratedSequence(
        tokens=_with_bos(body, bos),
        description=f"the pair A B recurs {distance} positions later; the second A should predict B",
        marks=marks,
    )


def no_repeat(length: int, d_vocab: int, *, seed: int, bos: int | None = 0) -> GeneratedSequence:
    """A sequence in which no token occurs twice: nothing for an induction head to copy.

    Raises
    ------
    ValueError
        if ``length`` (start token included) exceeds what the vocabulary can fill.
    """
    if length < 1:
        raise ValueError(f"length: expected at least 1, got {length}")
    pool = _content_ids(d_vocab, bos)
    off = 0 if bos is None else 1
    if length - off > len(pool):
        raise ValueError(
            f"length: {length} needs {length - off} distinct tokens but the vocabulary has only {len(pool)}"
        )
    rng = np.random.default_rng(seed)
    body = rng.choice(pool, size=length - off, replace=False).astype(np.int64)  # [pos - off]
    return GeneratedSequence(
        tokens=_with_bos(body, bos),
        description="no token occurs twice: a counter-example with nothing to copy",
        marks={"body": tuple(range(off, length))},
    )


def ambiguous_prefix(n_filler: int, d_vocab: int, *, seed: int, bos: int | None = 0) -> GeneratedSequence:
    """``A B … A C … A``: two earlier occurrences of A with different continuations.

    An induction head with a recency bias answers C (the newer continuation);
    one without splits between B and C. Fillers never contain A, B or C.

    Parameters
    ----------
    n_filler
        tokens in each gap (≥ 0).

    Returns
    -------
    GeneratedSequence
        marks ``A`` (all three), ``B``, ``C`` and ``query`` (the last A).
    """
    if n_filler < 0:
        raise ValueError(f"n_filler: expected at least 0, got {n_filler}")
    pool = _content_ids(d_vocab, bos)
    need = 3 + (1 if n_filler else 0)
    if len(pool) < need:
        raise ValueError(f"d_vocab: need at least {need} ids besides the start token, got {len(pool)}")
    rng = np.random.default_rng(seed)
    a, b, c = rng.choice(pool, size=3, replace=False)
    fillers = pool[~np.isin(pool, [a, b, c])]
    gap1, gap2 = _fill(rng, fillers, n_filler), _fill(rng, fillers, n_filler)  # [n_filler] each
    body = np.concatenate([[a, b], gap1, [a, c], gap2, [a]]).astype(np.int64)  # [pos - off]
    off = 0 if bos is None else 1
    pa = (off, off + 2 + n_filler, off + 4 + 2 * n_filler)
    return GeneratedSequence(
        tokens=_with_bos(body, bos),
        description="A B … A C … A: which continuation does the last A predict?",
        marks={"A": pa, "B": (pa[0] + 1,), "C": (pa[1] + 1,), "query": (pa[2],)},
    )


def repeat_beyond_context(
    n_ctx: int,
    d_vocab: int,
    *,
    seed: int,
    bos: int | None = 0,
    overshoot: int = 4,
) -> GeneratedSequence:
    """A repeat whose first occurrence is farther back than the model can see.

    ``A B`` early, then fillers without A, then A again ``n_ctx + overshoot``
    positions later, at the end. A model reading the last ``n_ctx`` tokens (the
    ``window`` mark) has lost the first A, so induction cannot answer B.

    Returns
    -------
    GeneratedSequence
        the full long sequence; marks ``first_A``, ``first_B``, ``second_A`` and
        ``window`` (the positions of the last n_ctx tokens).
    """
    if n_ctx < 2:
        raise ValueError(f"n_ctx: expected at least 2, got {n_ctx}")
    if overshoot < 0:
        raise ValueError(f"overshoot: expected at least 0, got {overshoot}")
    pool = _content_ids(d_vocab, bos)
    if len(pool) < 3:
        raise ValueError("d_vocab: need at least 3 ids besides the start token (A, B and fillers)")
    rng = np.random.default_rng(seed)
    a, b = rng.choice(pool, size=2, replace=False)
    distance = n_ctx + overshoot  # ≥ n_ctx: the window ending at the second A starts after the first A
    body = _fill(rng, pool[pool != a], distance + 1)  # [distance + 1]
    body[0], body[1], body[distance] = a, b, a
    tokens = _with_bos(body, bos)  # [pos]
    off = 0 if bos is None else 1
    total = len(tokens)
    return GeneratedSequence(
        tokens=tokens,
        description=f"A B, then A again {distance} positions later: beyond a context of {n_ctx}",
        marks={
            "first_A": (off,),
            "first_B": (off + 1,),
            "second_A": (total - 1,),
            "window": tuple(range(total - n_ctx, total)),
        },
    )


def markov_chain(
    transitions: np.ndarray,
    length: int,
    d_vocab: int,
    *,
    seed: int,
    bos: int | None = 0,
) -> GeneratedSequence:
    """A sequence drawn from one given Markov chain: state j is the j-th id besides the start token.

    The first state comes from the chain's stationary distribution and each next
    one from the current state's row, exactly as the in-context Markov training
    data (:func:`.markov.sample_sequences`), so a chain a learner wrote by hand
    gives the kind of sequence a statistical induction head was trained on.

    Parameters
    ----------
    transitions
        [k, k], rows non-negative and summing to 1; k at most the ids besides ``bos``.
    length
        total length, the start token included (≥ 1 after it).
    """
    transitions = np.asarray(transitions, dtype=np.float64)  # [k, k]
    pool = _content_ids(d_vocab, bos)
    k = transitions.shape[0] if transitions.ndim == 2 else 0
    if k > len(pool):
        raise ValueError(f"d_vocab: {k} states need {k} ids besides the start token, got {len(pool)}")
    off = 0 if bos is None else 1
    if length - off < 1:
        raise ValueError(f"length: expected at least {off + 1}, got {length}")
    states = sample_sequences(transitions[None], length - off, seed)[0]  # [pos - off], values 0..k-1
    body = pool[states]  # [pos - off]: state j -> the j-th content id
    return GeneratedSequence(
        tokens=_with_bos(body, bos),
        description=f"a Markov chain over {k} states: each next token drawn from the current token's row",
        marks={"body": tuple(range(off, length))},
    )


_NAMES = ("Mary", "John", "Alice", "Bob", "Emma", "Oliver", "Sophie", "James")
_SURNAMES = ("Potter", "Evans", "Turner", "Dursley", "Baker", "Clarke", "Hughes", "Wright")
_PLACES = ("store", "park", "station", "library", "market", "garden")
_THINGS = ("drink", "book", "letter", "ticket", "apple", "map")


def repeated_names_text(seed: int, *, bos: str | None = "<s>") -> GeneratedSequence:
    """Natural-ish English in which two full names recur: a second first name should predict its surname.

    ``When Mary Potter and John Evans went to the store, John Evans gave a drink
    to Mary Potter.`` At the second ``John`` and the second ``Mary`` an
    induction head attends to the surname that followed them before.

    Returns
    -------
    GeneratedSequence
        ``text``; ``vocab`` (words mode, start token first); ``tokens`` of the
        text with the start token prepended; marks ``query`` (the repeated first
        names) and ``target`` (the surnames they should predict), both in token
        positions.
    """
    rng = np.random.default_rng(seed)
    n1, n2 = (str(x) for x in rng.choice(_NAMES, size=2, replace=False))
    s1, s2 = (str(x) for x in rng.choice(_SURNAMES, size=2, replace=False))
    place, thing = str(rng.choice(_PLACES)), str(rng.choice(_THINGS))
    text = f"When {n1} {s1} and {n2} {s2} went to the {place}, {n2} {s2} gave a {thing} to {n1} {s1}."
    vocab = vocab_from_text(text, "words", bos=bos)
    words = split_tokens(text, "words")
    tokens = tokenize(text, vocab, "words")  # [pos]
    off = 0 if bos is None else 1
    if bos is not None:
        tokens = _with_bos(tokens, vocab.index(bos))  # [pos + 1]
    # the second occurrence of each first name, in token positions
    queries = sorted(off + i for name in (n1, n2) for i in [k for k, w in enumerate(words) if w == name][1:])
    return GeneratedSequence(
        tokens=tokens,
        description="repeated full names: the second first name should predict its surname",
        marks={"query": tuple(queries), "target": tuple(q + 1 for q in queries)},
        text=text,
        vocab=tuple(vocab),
    )
