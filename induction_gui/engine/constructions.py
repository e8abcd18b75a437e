"""Hand-built models: the lecture's demo, a previous-token head and a two-layer induction circuit.

Every weight here is set by hand from one-hot subspaces and scaled identities,
so a learner can read each matrix and say what it does. Scores are written in
"score units" (the value of q·k / sqrt(d_head)); ``sqrt(d_head)`` is folded
into W_Q / b_Q so that the units survive TransformerLens' attention scale.

Residual-stream layout of ``induction-circuit`` (d_vocab 13, n_ctx 32, d_model 85)
-------------------------------------------------------------------------------
========  ==========  ============================================================
dims      name        written by, read by
========  ==========  ============================================================
0–12      token       W_E (one-hot current token); read by L0 values, L1H0 query
                      and value, L1H1 value
13–44     position    W_pos (one-hot position); read by L0 queries and keys, and
                      by L1H0 keys as the recency bias
45        first       W_pos[0] only: the "no previous token" flag; read by L1H0
                      keys (pushes position 0 down) and L1H1 keys
46–58     prev        L0H0 (previous-token head) writes the previous token, the
                      copied representation; read by L1H0 keys (K-composition)
59–71     out         L1H0 (induction head) writes the token it attends to; read
                      by W_U, the only thing W_U reads
72–84     scratch     L0H1 (current-token head) and L1H1 (first-token head)
                      write here; nothing reads it
========  ==========  ============================================================

In L1H0 the score of query i against key j is, in score units::

    MATCH·[prev_j == token_i] + RECENCY·j − FIRST·[j == 0] + REST·[token_j == <s>]

MATCH (56) makes the query's current token find keys whose previous token is the
same (key-query alignment across the two layers). RECENCY (1 per position) makes
the newest of several matches win: each newer match weighs e ≈ 2.7 times the one
before it, so the newest continuation outweighs all older ones put together.
FIRST (16) stops position 0 from looking like a match: with nothing before it,
the previous-token head can only attend to position 0 itself and copies its own
token into ``prev``. REST (56) makes a start token a resting place (net score 40
at position 0) for queries with no match; its value is zero, so resting writes
nothing and the prediction stays uniform. The start token belongs at position 0:
a later ``<s>`` would also attract attention.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .attention import HeadOverride, shift_matrix
from .config import ModelConfig
from .forward import HeadKey
from .weights import Weights

LETTERS: tuple[str, ...] = tuple("ABCDEFGHIJKL")
BOS = "<s>"

# Score units of the hand-built heads (see the module docstring).
PREV_SCORE = 16.0  # L0 positional alignment: 31·e^-16 ≈ 3.5e-6 leaks off the sub-diagonal
MATCH = 56.0  # L1H0: current token == key's previous token
RECENCY = 1.0  # L1H0: per key position; > ln 2 so the newest match outweighs all older ones
FIRST = 16.0  # L1H0: penalty of position 0, whose "previous token" is itself
REST = 56.0  # L1H0: bonus of a start-token key; REST − FIRST = 40 > RECENCY·(n_ctx − 1)
COPY_GAIN = 20.0  # L1H0 OV: logit of the copied token
UNRELATED_SCORE = 16.0  # score of the two unrelated heads' targets


@dataclass(frozen=True, eq=False)
class Construction:
    """A hand-built model ready to run, with what a learner needs to read it.

    Attributes
    ----------
    name
        registry key, e.g. ``"induction-circuit"``.
    title
        human title for menus.
    description
        one line.
    notes
        a short paragraph explaining the mechanism in the lecture's terms.
    vocab
        token strings, index = token id.
    tokens
        int64 [pos]: a default sequence that shows the mechanism at work.
    weights
        the model (TransformerLens names).
    overrides
        ``{(layer, head): HeadOverride}`` the construction needs (the lecture's
        fixed pattern); empty when the weights alone do it.
    bos
        id of the start token, or None when the vocabulary has none.
    """

    name: str
    title: str
    description: str
    notes: str
    vocab: list[str]
    tokens: np.ndarray
    weights: Weights
    overrides: dict[HeadKey, HeadOverride] = field(default_factory=dict)
    bos: int | None = None

    def __post_init__(self) -> None:
        toks = np.asarray(self.tokens, dtype=np.int64).copy()  # [pos]
        toks.flags.writeable = False  # shared default: a caller must copy before editing
        object.__setattr__(self, "tokens", toks)


def _letters_vocab() -> list[str]:
    """``<s>`` then A–L: short enough to read in a heatmap's tick labels."""
    return [BOS, *LETTERS]


def _ids(vocab: list[str], text: str) -> np.ndarray:
    """Space-separated token strings -> int64 [pos]."""
    return np.array([vocab.index(t) for t in text.split()], dtype=np.int64)


def _block(weights: Weights, layer: int, name: str) -> np.ndarray:
    """The stored array of a block parameter itself, so that slice assignment edits the model."""
    return weights[f"blocks.{layer}.attn.{name}"]


# -- the lecture's demo ------------------------------------------------------------


def lecture_demo() -> Construction:
    """The seed lecture's demo: a fixed shift pattern, normalised linearly, copying X.

    Token ids 0–3 embed to the lecture's rows X = [[1,0,0],[0,1,0],[0,0,1],[.5,.5,0]];
    with W_V = W_O = I the head's ``hook_z`` is exactly the lecture's ``A @ X``.
    """
    n_ctx = 8  # room to add tokens; the shift matrix covers every position
    cfg = ModelConfig(n_layers=1, n_heads=1, d_model=3, d_head=3, d_vocab=4, n_ctx=n_ctx)
    w = Weights.zeros(cfg)
    # [d_vocab, d_model]: the lecture's X, one row per token
    w["embed.W_E"] = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0]], dtype=np.float32)
    _block(w, 0, "W_V")[0] = np.eye(3)  # [d_model, d_head]: value = the token vector itself
    _block(w, 0, "W_O")[0] = np.eye(3)  # [d_head, d_model]: written back unchanged
    # [d_model, d_vocab]: logits are dot products with each token's vector
    w["unembed.W_U"] = w["embed.W_E"].T.copy()
    override = HeadOverride(fixed_pattern=shift_matrix(n_ctx), normalization="linear", eps=1e-8)
    return Construction(
        name="lecture-demo",
        title="Lecture demo: a fixed previous-token pattern",
        description="The lecture's four vectors, copied one step forward by a fixed shift pattern.",
        notes=(
            "The lecture's toy previous-token head. The pattern is not computed from "
            "queries and keys: it is the shift matrix P with P[i, i-1] = 1, normalised "
            "linearly as A = P / (P.sum(1) + 1e-8), which is why the rows read 0.99999999 "
            "and row 0, with no earlier token, stays all zero. Values and outputs are the "
            "identity, so the head's output at position i is the copied representation of "
            "token i-1, added to the residual stream next to token i's own vector. The "
            "unembedding scores each token by its dot product with the residual stream."
        ),
        vocab=["A", "B", "C", "mix"],
        tokens=np.arange(4, dtype=np.int64),
        weights=w,
        overrides={(0, 0): override},
        bos=None,
    )


# -- a previous-token head from positional embeddings ------------------------------


def _previous_token_qk(w: Weights, layer: int, head: int, pos: slice, score: float, offset: int) -> None:
    """Key-query alignment through one-hot positions: query i matches key i − offset.

    W_Q sends position i to head dimension i; W_K sends position j to head
    dimension j + offset, so q_i · k_j is nonzero only for j = i − offset.
    """
    n_ctx = pos.stop - pos.start
    d_head = w.config.d_head
    root = math.sqrt(d_head)
    W_Q = _block(w, layer, "W_Q")[head]  # [d_model, d_head]
    W_K = _block(w, layer, "W_K")[head]  # [d_model, d_head]
    for i in range(n_ctx):
        W_Q[pos.start + i, i] = score * root
        if 0 <= i + offset < n_ctx:
            W_K[pos.start + i, i + offset] = 1.0


def previous_token_head() -> Construction:
    """One layer whose only head attends i → i − 1 on any sequence.

    The head copies the previous token into its own subspace, and W_U reads that
    subspace: the model predicts that the token before the current one comes
    next, a rule that is right on period-2 sequences such as A B A B.
    """
    vocab = _letters_vocab()
    V, n_ctx = len(vocab), 32
    tok, pos, prev = slice(0, V), slice(V, V + n_ctx), slice(V + n_ctx, 2 * V + n_ctx)
    cfg = ModelConfig(n_layers=1, n_heads=1, d_model=prev.stop, d_head=n_ctx, d_vocab=V, n_ctx=n_ctx)
    w = Weights.zeros(cfg)
    w["embed.W_E"][:, tok] = np.eye(V)  # [d_vocab, token]
    w["pos_embed.W_pos"][:, pos] = np.eye(n_ctx)  # [n_ctx, position]
    _previous_token_qk(w, 0, 0, pos, PREV_SCORE, offset=1)
    _block(w, 0, "W_V")[0][tok, :V] = np.eye(V)  # [token, d_head]
    _block(w, 0, "W_O")[0][:V, prev] = np.eye(V)  # [d_head, prev]
    # [prev, d_vocab]: predict the previous token, but never the start token
    w["unembed.W_U"][prev, :] = 10.0 * np.eye(V)
    w["unembed.W_U"][prev.start + 0, 0] = 0.0
    return Construction(
        name="previous-token-head",
        title="Previous-token head",
        description="One head that attends from each token to the one before it, through positions.",
        notes=(
            "A previous-token head built from positional embeddings alone. Key-query "
            "alignment: W_Q reads the query's position i, W_K reads the key's position j "
            "shifted by one, so the only large score is at j = i-1 and the softmax puts "
            "more than 0.99 there on any sequence. The OV circuit copies that previous "
            "token into its own 'previous token' subspace of the residual stream, and the "
            "unembedding reads it: this one-layer model predicts that the token before the "
            "current one comes next, which is right on A B A B but wrong on A B C A B C. "
            "Copying the whole earlier continuation needs a second layer: the induction head."
        ),
        vocab=vocab,
        tokens=_ids(vocab, "<s> A B A B A B A B"),
        weights=w,
        bos=0,
    )


# -- the induction circuit ----------------------------------------------------------

N_CTX_INDUCTION = 32


def induction_subspaces(d_vocab: int = len(LETTERS) + 1, n_ctx: int = N_CTX_INDUCTION) -> dict[str, slice]:
    """Name -> residual dimensions of ``induction-circuit`` (the table in the module docstring)."""
    V = d_vocab
    edges = {"token": V, "position": n_ctx, "first": 1, "prev": V, "out": V, "scratch": V}
    out: dict[str, slice] = {}
    start = 0
    for name, width in edges.items():
        out[name] = slice(start, start + width)
        start += width
    return out


def induction_circuit(
    vocab: list[str] | None = None,
    n_ctx: int = N_CTX_INDUCTION,
    tokens: np.ndarray | None = None,
) -> Construction:
    """Two layers, built by hand: a previous-token head K-composing with an induction head.

    Layer 0 head 0 writes the previous token into ``prev``; layer 1 head 0 asks,
    with its current token as query, for the key whose ``prev`` holds the same
    token, and copies the token found there into ``out``, which W_U reads. The
    second head of each layer writes only into ``scratch``, which nothing reads,
    so ablating it changes nothing.

    Parameters
    ----------
    vocab
        the vocabulary, start token ``<s>`` first (default ``<s>`` and A–L).
        Any vocabulary works: the mechanism never looks at what a token means.
    n_ctx
        context length, at most 40: the resting bonus of ``<s>`` (REST − FIRST)
        must beat the largest recency bonus RECENCY·(n_ctx − 1).
    tokens
        the default sequence [pos] (default ``<s> A B C D A B C D``).
    """
    vocab = _letters_vocab() if vocab is None else list(vocab)
    if not vocab or vocab[0] != BOS:
        raise ValueError(f"vocab: the first entry must be the start token {BOS!r}")
    if not 2 <= n_ctx <= int((REST - FIRST) / RECENCY):
        raise ValueError(f"n_ctx: expected 2..{int((REST - FIRST) / RECENCY)}, got {n_ctx}")
    V = len(vocab)
    s = induction_subspaces(V, n_ctx)
    # the one-hot positional alignment needs one head dimension per position;
    # the induction head one per token plus one for its query-independent terms
    d_head = max(n_ctx, V + 1)
    cfg = ModelConfig(n_layers=2, n_heads=2, d_model=s["scratch"].stop, d_head=d_head, d_vocab=V, n_ctx=n_ctx)
    root = math.sqrt(d_head)
    w = Weights.zeros(cfg)
    w["embed.W_E"][:, s["token"]] = np.eye(V)  # [d_vocab, token]
    w["pos_embed.W_pos"][:, s["position"]] = np.eye(n_ctx)  # [n_ctx, position]
    w["pos_embed.W_pos"][0, s["first"]] = 1.0  # the "no previous token" flag
    tok0, first = s["token"].start, s["first"].start

    # L0H0, previous-token head: attend i -> i-1, copy the token into `prev`.
    _previous_token_qk(w, 0, 0, s["position"], PREV_SCORE, offset=1)
    _block(w, 0, "W_V")[0][s["token"], :V] = np.eye(V)  # [token, d_head]
    _block(w, 0, "W_O")[0][:V, s["prev"]] = np.eye(V)  # [d_head, prev]

    # L0H1, current-token head (unrelated): attend i -> i, copy the token into `scratch`.
    _previous_token_qk(w, 0, 1, s["position"], UNRELATED_SCORE, offset=0)
    _block(w, 0, "W_V")[1][s["token"], :V] = np.eye(V)
    _block(w, 0, "W_O")[1][:V, s["scratch"]] = np.eye(V)

    # L1H0, induction head. Head dims 0..V-1 match tokens; dim V carries the
    # query-independent terms (a constant query times per-key offsets).
    W_Q, b_Q = _block(w, 1, "W_Q")[0], _block(w, 1, "b_Q")[0]  # [d_model, d_head], [d_head]
    W_K = _block(w, 1, "W_K")[0]  # [d_model, d_head]
    W_Q[s["token"], :V] = MATCH * root * np.eye(V)  # query: the current token
    b_Q[V] = root  # constant query component
    W_K[s["prev"], :V] = np.eye(V)  # key: the previous token, as layer 0 wrote it (K-composition)
    W_K[s["position"], V] = RECENCY * np.arange(n_ctx)  # newer keys score higher
    W_K[first, V] = -FIRST  # position 0's "previous token" is itself: push it down
    W_K[tok0 + 0, V] = REST  # a start token is where unmatched queries rest
    W_V = _block(w, 1, "W_V")[0]  # [d_model, d_head]
    W_V[s["token"], :V] = np.eye(V)
    W_V[tok0 + 0, 0] = 0.0  # the start token's value is zero: resting writes nothing
    _block(w, 1, "W_O")[0][:V, s["out"]] = COPY_GAIN * np.eye(V)  # [d_head, out]

    # L1H1, first-token head (unrelated): attend to position 0, copy into `scratch`.
    _block(w, 1, "b_Q")[1][0] = UNRELATED_SCORE * root
    _block(w, 1, "W_K")[1][first, 0] = 1.0
    _block(w, 1, "W_V")[1][s["token"], :V] = np.eye(V)
    _block(w, 1, "W_O")[1][:V, s["scratch"]] = np.eye(V)

    w["unembed.W_U"][s["out"], :] = np.eye(V)  # [out, d_vocab]
    return Construction(
        name="induction-circuit",
        title="Induction circuit (two layers, by hand)",
        description="A previous-token head and an induction head that together continue any repeat.",
        notes=(
            "Layer 0 head 0 is a previous-token head: it copies token i-1 into a 'previous "
            "token' subspace of the residual stream at position i. Layer 1 head 0 is an "
            "induction head: its query reads the current token, its key reads that copied "
            "representation (K-composition: W_K of layer 1 reads what W_V W_O of layer 0 "
            "wrote), so key-query alignment picks the position right after an earlier "
            "occurrence of the current token; its OV circuit copies the token found there "
            "into the output subspace that the unembedding reads, so the model predicts "
            "what came next last time. A small recency bias prefers the newest earlier "
            "occurrence. With nothing to copy the head rests on <s>, which writes nothing. "
            "The second head of each layer writes where nothing reads: ablate it and "
            "nothing changes; ablate the previous-token head and induction breaks."
        ),
        vocab=vocab,
        tokens=_ids(vocab, "<s> A B C D A B C D") if tokens is None else np.asarray(tokens, dtype=np.int64),
        weights=w,
        bos=0,
    )


# -- a duplicate-token head --------------------------------------------------------


def duplicate_token_head() -> Construction:
    """One layer whose head attends from a token to its earlier copies, or rests on ``<s>``.

    Query and key both read the current token; a positional term removes the
    query's own position, so the head finds *earlier* duplicates only.
    """
    vocab = _letters_vocab()
    V, n_ctx = len(vocab), 32
    tok, pos, dup = slice(0, V), slice(V, V + n_ctx), slice(V + n_ctx, 2 * V + n_ctx)
    d_head = V + 1 + n_ctx  # token match, rest, own-position penalty
    cfg = ModelConfig(n_layers=1, n_heads=1, d_model=dup.stop, d_head=d_head, d_vocab=V, n_ctx=n_ctx)
    root = math.sqrt(d_head)
    w = Weights.zeros(cfg)
    w["embed.W_E"][:, tok] = np.eye(V)
    w["pos_embed.W_pos"][:, pos] = np.eye(n_ctx)
    W_Q, b_Q, W_K = _block(w, 0, "W_Q")[0], _block(w, 0, "b_Q")[0], _block(w, 0, "W_K")[0]
    W_Q[tok, :V] = MATCH * root * np.eye(V)  # query: my token
    W_K[tok, :V] = np.eye(V)  # key: its token
    W_K[tok.start + 0, :V] = 0.0  # a start token is never a duplicate
    b_Q[V] = root
    W_K[tok.start + 0, V] = 32.0  # rest on <s> when there is no earlier copy
    W_Q[pos, V + 1 :] = MATCH * root * np.eye(n_ctx)  # query: my position ...
    W_K[pos, V + 1 :] = -np.eye(n_ctx)  # ... cancels the match with myself
    _block(w, 0, "W_V")[0][tok, :V] = np.eye(V)
    _block(w, 0, "W_V")[0][tok.start + 0, 0] = 0.0
    _block(w, 0, "W_O")[0][:V, dup] = np.eye(V)
    return Construction(
        name="duplicate-token-head",
        title="Duplicate-token head",
        description="One head that attends from each token to its earlier copies.",
        notes=(
            "A duplicate-token head: query and key both read the current token, so a "
            "token's query aligns with the keys of its earlier copies; a positional term "
            "cancels the match with itself. With no earlier copy it rests on <s>. Its OV "
            "circuit writes the duplicated token into a 'duplicate' subspace of the residual "
            "stream that the unembedding ignores, so all logits are zero: look at the "
            "attention pattern, not the predictions."
        ),
        vocab=vocab,
        tokens=_ids(vocab, "<s> A B C A D B E A"),
        weights=w,
        bos=0,
    )


CONSTRUCTIONS: dict[str, Callable[[], Construction]] = {
    "lecture-demo": lecture_demo,
    "previous-token-head": previous_token_head,
    "induction-circuit": induction_circuit,
    "duplicate-token-head": duplicate_token_head,
}


def build(name: str) -> Construction:
    """A fresh construction by registry name (its weights are never shared between calls).

    Raises
    ------
    KeyError
        for an unknown name, listing the known ones.
    """
    try:
        factory = CONSTRUCTIONS[name]
    except KeyError:
        raise KeyError(f"unknown construction {name!r}; known: {', '.join(CONSTRUCTIONS)}") from None
    return factory()
