"""Head metrics over activations: detectors, loss, in-context learning, attribution, ablation.

Pure functions over arrays, each written as METRICS.md states it. Where a metric
has variants (which positions are excluded, which loss indices are compared) the
function either takes the variant as an argument or returns its label, so that
the window can print the variant next to the number.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from .attention import HeadOverride
from .forward import Overrides, check_tokens, run_with_cache
from .hooks import act_name
from .weights import Weights, block_names

HeadName = Literal["previous_token_head", "duplicate_token_head", "induction_head"]
ErrorMeasure = Literal["mul", "abs"]
HEAD_NAMES: tuple[str, ...] = ("previous_token_head", "duplicate_token_head", "induction_head")
ERROR_MEASURES: tuple[str, ...] = ("mul", "abs")

# The variant every "induction score" in this module means, printed beside the number.
PREFIX_MATCHING_VARIANT = "induction_head detector, mul, exclude_bos=True, exclude_current_token=False"
PREVIOUS_TOKEN_VARIANT = "previous_token_head detector, mul, exclude_bos=False, exclude_current_token=False"


# -- detection patterns ---------------------------------------------------------------


def _one_sequence(tokens: object) -> np.ndarray:
    """Token ids as an int64 [pos] array (a [1, pos] array is accepted too)."""
    arr = np.asarray(tokens)
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 1:
        raise ValueError(f"tokens: expected one sequence of shape [pos], got shape {list(arr.shape)}")
    return arr.astype(np.int64, copy=False)


def previous_token_pattern(tokens: object) -> np.ndarray:
    """Detection pattern of a previous-token head: ``D[i, i-1] = 1`` for i ≥ 1.

    Parameters
    ----------
    tokens
        [pos] token ids (only the length is used).

    Returns
    -------
    np.ndarray
        [query_pos, key_pos] float64, lower-triangular.
    """
    n_pos = _one_sequence(tokens).shape[0]
    return np.eye(n_pos, k=-1)  # [query_pos, key_pos]


def duplicate_token_pattern(tokens: object) -> np.ndarray:
    """Detection pattern of a duplicate-token head: ``D[i, j] = 1`` iff ``t_j == t_i`` and ``j < i``.

    A token is always equal to itself; the diagonal is left out so that a head
    attending to the current token does not count as a duplicate-token head.

    Returns
    -------
    np.ndarray
        [query_pos, key_pos] float64, strictly lower-triangular.
    """
    t = _one_sequence(tokens)
    same = t[:, None] == t[None, :]  # [query_pos, key_pos]
    same &= _strictly_lower(t.shape[0])
    return same.astype(np.float64)


def _strictly_lower(n_pos: int) -> np.ndarray:
    """[query_pos, key_pos] boolean mask of j < i."""
    return np.arange(n_pos)[None, :] < np.arange(n_pos)[:, None]


def induction_pattern(tokens: object) -> np.ndarray:
    """Detection pattern of an induction (prefix-matching) head.

    ``D[i, j] = 1`` iff ``1 ≤ j ≤ i`` and ``t_{j-1} == t_i`` with ``j − 1 < i``:
    the query attends to the token right after an earlier occurrence of itself.
    This is the duplicate-token pattern shifted one key to the right.

    Returns
    -------
    np.ndarray
        [query_pos, key_pos] float64, lower-triangular; column 0 is zero.
    """
    t = _one_sequence(tokens)
    n_pos = t.shape[0]
    out = np.zeros((n_pos, n_pos))  # [query_pos, key_pos]
    # key j (≥ 1) gets the verdict of key j − 1: t_{j-1} == t_i and j − 1 < i
    out[:, 1:] = (t[:, None] == t[None, :-1]) & _strictly_lower(n_pos)[:, :-1]
    return out


_PATTERN_BUILDERS = {
    "previous_token_head": previous_token_pattern,
    "duplicate_token_head": duplicate_token_pattern,
    "induction_head": induction_pattern,
}


def detection_pattern(pattern: str | np.ndarray, tokens: object) -> np.ndarray:
    """The [pos, pos] detection pattern for a head name, or a validated custom one.

    Raises
    ------
    ValueError
        for an unknown name, or a custom array that is not [pos, pos], not finite
        or has a non-zero entry above the diagonal (keys a causal head cannot see).
    """
    t = _one_sequence(tokens)
    n_pos = t.shape[0]
    if isinstance(pattern, str):
        if pattern not in _PATTERN_BUILDERS:
            raise ValueError(f"pattern: expected one of {HEAD_NAMES} or a [pos, pos] array, got {pattern!r}")
        return _PATTERN_BUILDERS[pattern](t)
    d = np.asarray(pattern, dtype=np.float64)
    if d.shape != (n_pos, n_pos):
        raise ValueError(
            f"pattern: a custom detection pattern must have shape [pos, pos] = [{n_pos}, {n_pos}] "
            f"for this {n_pos}-token sequence, got {list(d.shape)}"
        )
    if not np.isfinite(d).all():
        raise ValueError("pattern: the custom detection pattern contains NaN or inf")
    upper = np.argwhere(np.triu(d, k=1) != 0)
    if upper.size:
        i, j = upper[0]
        raise ValueError(
            f"pattern: the custom detection pattern must be lower-triangular (a query cannot attend to later "
            f"keys), but entry [{i}, {j}] = {d[i, j]:g} lies above the diagonal ({len(upper)} such entries)"
        )
    return d


# -- the head detector ------------------------------------------------------------------


def _as_sequences(tokens: object) -> list[np.ndarray]:
    """A 1-D sequence, a [batch, pos] array or a list of (ragged) sequences, as a list of [pos] arrays."""
    if isinstance(tokens, np.ndarray):
        if tokens.ndim == 1:
            return [tokens]
        if tokens.ndim == 2:
            return list(tokens)
        raise ValueError(f"tokens: expected [pos] or [batch, pos], got shape {list(tokens.shape)}")
    if isinstance(tokens, Sequence) and not isinstance(tokens, str | bytes):
        if len(tokens) == 0:
            raise ValueError("tokens: no sequences given")
        if all(np.ndim(t) == 0 for t in tokens):
            return [np.asarray(tokens)]
        return [_one_sequence(t) for t in tokens]
    raise ValueError(f"tokens: expected token ids, got {type(tokens).__name__}")


def _layer_patterns(patterns: Mapping[str, np.ndarray] | Sequence[np.ndarray] | np.ndarray) -> list[np.ndarray]:
    """Per-layer [batch, head_index, query_pos, key_pos] patterns from a cache or a sequence of arrays."""
    if isinstance(patterns, Mapping):
        layers = []
        while act_name("pattern", len(layers)) in patterns:
            layers.append(np.asarray(patterns[act_name("pattern", len(layers))]))
        if not layers:
            raise ValueError("patterns: the cache holds no attention patterns (blocks.<l>.attn.hook_pattern)")
    else:
        layers = [np.asarray(p) for p in patterns]
    # a pattern without a batch axis is one sequence
    return [p[None] if p.ndim == 3 else p for p in layers]  # [batch, head_index, query_pos, key_pos] each


def _mul_scores(
    attn: np.ndarray,
    detect: np.ndarray,
    *,
    exclude_bos: bool,
    exclude_current_token: bool,
    total: np.ndarray | None = None,
) -> np.ndarray:
    """``Σ A'·D / Σ A'`` where A' is A with column 0 and/or the diagonal zeroed.

    Computed without building A' (it would be a [batch, layer, head, pos, pos]
    float64 temporary per call, 60 ms at 512 tokens): the excluded column and
    diagonal are summed separately and subtracted, the entry [0, 0] added back
    once when both are excluded. The cached pattern is only read.

    Parameters
    ----------
    attn
        [batch, layer, head_index, query_pos, key_pos]
    detect
        [batch, query_pos, key_pos]
    total
        [batch, layer, head_index] Σ A per head in float64, if the caller
        scores several detectors on the same patterns and computed it once.

    Returns
    -------
    np.ndarray
        [batch, layer, head_index] float64
    """
    b, n_layers, n_heads, n_pos, _ = attn.shape
    flat = attn.reshape(b, n_layers * n_heads, n_pos * n_pos)  # [batch, layer·head, q·k]
    where = np.flatnonzero(detect[0]) if b == 1 else None  # [n_targets] indices into q·k
    if where is not None and where.size < 0.25 * n_pos * n_pos and np.all(detect[0].ravel()[where] == 1):
        # detection patterns are sparse 0/1 masks (a stripe, a few duplicates): gather, don't multiply
        num = flat[0][:, where].sum(axis=-1, dtype=np.float64)[None]  # [batch, layer·head]
    else:
        d = detect.astype(attn.dtype).reshape(b, n_pos * n_pos, 1)  # [batch, q·k, 1]
        num = np.matmul(flat, d)[..., 0].astype(np.float64)  # [batch, layer·head]
    if total is None:
        total = flat.sum(axis=-1, dtype=np.float64)  # [batch, layer·head]
    den = total.reshape(b, n_layers * n_heads).copy()  # [batch, layer·head]
    a = attn.reshape(b, n_layers * n_heads, n_pos, n_pos)  # [batch, layer·head, q, k]
    if exclude_bos:
        col = a[..., :, 0].astype(np.float64)  # [batch, layer·head, q]
        num -= (col * detect[:, None, :, 0]).sum(-1)
        den -= col.sum(-1)
    if exclude_current_token:
        diag = np.diagonal(a, axis1=-2, axis2=-1).astype(np.float64)  # [batch, layer·head, q]
        num -= (diag * np.diagonal(detect, axis1=-2, axis2=-1)[:, None]).sum(-1)
        den -= diag.sum(-1)
    if exclude_bos and exclude_current_token:  # [0, 0] was subtracted twice
        corner = a[..., 0, 0].astype(np.float64)  # [batch, layer·head]
        num += corner * detect[:, None, 0, 0]
        den += corner
    # with everything excluded there is no attention left to score; report 0 rather than NaN
    out = np.divide(num, den, out=np.zeros_like(num), where=den > 1e-12)
    return out.reshape(b, n_layers, n_heads)


def score_patterns(
    attn: np.ndarray,
    detect: np.ndarray,
    *,
    exclude_bos: bool,
    exclude_current_token: bool,
    error_measure: str,
    total: np.ndarray | None = None,
) -> np.ndarray:
    """Detector score of each head on each sequence, from stacked patterns.

    The building block of :func:`detect_head_from_patterns`, public so that a
    caller scoring several detectors on one run stacks the patterns and builds
    each detection pattern once.

    Parameters
    ----------
    attn
        [batch, layer, head_index, query_pos, key_pos] attention patterns (not modified).
    detect
        [batch, query_pos, key_pos] detection pattern of each sequence.

    Returns
    -------
    np.ndarray
        [batch, layer, head_index] float64; ``abs`` scores rounded per sequence as TransformerLens does.
    """
    n_pos = attn.shape[-1]
    d = detect[:, None, None]  # [batch, 1, 1, query_pos, key_pos]
    if error_measure == "mul":
        return _mul_scores(
            attn, detect, exclude_bos=exclude_bos, exclude_current_token=exclude_current_token, total=total
        )
    keep = np.ones((n_pos, n_pos), dtype=bool)  # [query_pos, key_pos]
    if exclude_bos:
        keep[:, 0] = False
    if exclude_current_token:
        np.fill_diagonal(keep, False)
    diff = np.where(keep, np.abs(attn.astype(np.float64) - d), 0.0)  # [batch, layer, head_index, q, k]
    raw = diff.sum(axis=(-2, -1)) / n_pos  # [batch, layer, head_index]
    # Python's round, element by element, reproduces TransformerLens' rounding exactly
    rounded = np.vectorize(lambda x: round(float(x), 3), otypes=[np.float64])(raw)
    return 1.0 - rounded


def _check_options(error_measure: str) -> None:
    if error_measure not in ERROR_MEASURES:
        raise ValueError(f"error_measure: expected one of {ERROR_MEASURES}, got {error_measure!r}")


def detect_head_from_patterns(
    patterns: Mapping[str, np.ndarray] | Sequence[np.ndarray],
    tokens: object,
    pattern: HeadName | str | np.ndarray,
    *,
    exclude_bos: bool = False,
    exclude_current_token: bool = False,
    error_measure: ErrorMeasure = "mul",
    per_sequence: bool = False,
) -> np.ndarray:
    """Head-detector scores from attention patterns that are already computed.

    The window has the cache of the current run; scoring from it avoids a second
    forward pass. The formulas are TransformerLens' ``detect_head`` (see
    METRICS.md), computed on a copy so that the cache is never modified.

    Parameters
    ----------
    patterns
        an activation cache, or one array per layer of shape
        [batch, head_index, query_pos, key_pos] (or [head_index, query_pos, key_pos]).
    tokens
        [pos] or [batch, pos] token ids the patterns were computed on.
    pattern
        a name in ``HEAD_NAMES`` or a custom lower-triangular [pos, pos] array.
    exclude_bos, exclude_current_token
        zero column 0 / the diagonal of a copy of the pattern (and, for
        ``abs``, of the difference) before scoring.
    error_measure
        ``"mul"``: ``Σ A·D / Σ A``; ``"abs"``: ``1 − round(Σ |A − D| / pos, 3)``.
    per_sequence
        return [batch, n_layers, n_heads] instead of the mean over the batch.

    Returns
    -------
    np.ndarray
        [n_layers, n_heads] float64, the mean over the sequences of the batch.
    """
    _check_options(error_measure)
    layers = _layer_patterns(patterns)  # [batch, head_index, query_pos, key_pos] each
    attn = np.stack(layers, axis=1)  # [batch, layer, head_index, query_pos, key_pos]
    toks = np.asarray(tokens)
    toks = toks[None] if toks.ndim == 1 else toks  # [batch, pos]
    if toks.ndim != 2 or toks.shape[0] != attn.shape[0] or toks.shape[1] != attn.shape[-1]:
        raise ValueError(
            f"tokens: shape {list(toks.shape)} does not match patterns of {attn.shape[0]} sequence(s) "
            f"× {attn.shape[-1]} positions"
        )
    detect = np.stack([detection_pattern(pattern, t) for t in toks])  # [batch, query_pos, key_pos]
    scores = score_patterns(
        attn, detect, exclude_bos=exclude_bos, exclude_current_token=exclude_current_token, error_measure=error_measure
    )  # [batch, layer, head_index]
    return scores if per_sequence else scores.mean(axis=0)


def detect_head(
    weights: Weights,
    tokens: object,
    pattern: HeadName | str | np.ndarray,
    *,
    exclude_bos: bool = False,
    exclude_current_token: bool = False,
    error_measure: ErrorMeasure = "mul",
    overrides: Overrides | None = None,
    dtype: type = np.float32,
) -> np.ndarray:
    """Score every head against a detection pattern (TransformerLens' ``detect_head``).

    Unlike TransformerLens, a list of sequences is scored with the options
    honoured (TransformerLens silently drops ``exclude_bos``,
    ``exclude_current_token`` and ``error_measure`` for lists); each sequence is
    scored on its own and the scores are averaged over sequences.

    Parameters
    ----------
    weights
        the model.
    tokens
        [pos], [batch, pos], or a list of sequences of different lengths.
    pattern
        a name in ``HEAD_NAMES`` or a custom lower-triangular [pos, pos] array
        (then every sequence must have that length).
    exclude_bos, exclude_current_token, error_measure
        as in :func:`detect_head_from_patterns`.
    overrides
        per-head overrides applied during the forward pass.
    dtype
        forward-pass precision.

    Returns
    -------
    np.ndarray
        [n_layers, n_heads] float64.
    """
    _check_options(error_measure)
    cfg = weights.config
    seqs = [check_tokens(s, cfg.d_vocab, cfg.n_ctx)[0] for s in _as_sequences(tokens)]  # [pos] each
    by_length: dict[int, list[np.ndarray]] = {}
    for s in seqs:
        by_length.setdefault(len(s), []).append(s)
    per_seq = []
    for group in by_length.values():
        batch = np.stack(group)  # [batch, pos]
        _, cache = run_with_cache(weights, batch, overrides, dtype=dtype)
        per_seq.append(
            detect_head_from_patterns(
                cache,
                batch,
                pattern,
                exclude_bos=exclude_bos,
                exclude_current_token=exclude_current_token,
                error_measure=error_measure,
                per_sequence=True,
            )
        )  # [batch, layer, head_index]
    return np.concatenate(per_seq).mean(axis=0)  # [layer, head_index]


def prefix_matching_score(weights: Weights, tokens: object, *, overrides: Overrides | None = None) -> np.ndarray:
    """Induction (prefix-matching) score of every head, [n_layers, n_heads].

    Meant for repeated random sequences ``[BOS, r, r]`` (see
    :func:`induction_gui.engine.sequences.repeated_random`). The variant is
    :data:`PREFIX_MATCHING_VARIANT`: ``mul`` with ``exclude_bos=True``, so that a
    head resting on BOS when there is nothing to match is not penalised (without
    it a perfect head scores only N/(2N+1)).
    """
    return detect_head(weights, tokens, "induction_head", exclude_bos=True, overrides=overrides)


def previous_token_score(weights: Weights, tokens: object, *, overrides: Overrides | None = None) -> np.ndarray:
    """Previous-token score of every head, [n_layers, n_heads].

    The variant is :data:`PREVIOUS_TOKEN_VARIANT`: ``mul`` without exclusions,
    because at position 1 the previous token *is* BOS, a true target.
    """
    return detect_head(weights, tokens, "previous_token_head", overrides=overrides)


# -- single-pattern stripe detectors ------------------------------------------------------


def _diag_mean(pattern: np.ndarray, offset: int, name: str) -> np.ndarray | float:
    a = np.asarray(pattern, dtype=np.float64)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: expected a [..., query_pos, key_pos] pattern, got shape {list(a.shape)}")
    if abs(offset) >= a.shape[-1]:
        raise ValueError(f"{name}: a {a.shape[-1]}-position pattern has no diagonal at offset {offset}")
    out = np.diagonal(a, offset=offset, axis1=-2, axis2=-1).mean(axis=-1)  # [...]
    return float(out) if out.ndim == 0 else out


def induction_stripe_score(pattern: np.ndarray, n_block: int) -> np.ndarray | float:
    """The ARENA / TransformerLens demo induction score: ``mean(diag(A, offset=1 − N))``.

    On ``[BOS, r1..rN, r1..rN]`` (2N+1 positions) the query at N+k holds r_k;
    the token after its first occurrence is at k+1, i.e. offset 1 − N. The stripe
    has N+2 entries of which N are true targets, so a perfect head that rests on
    BOS when nothing matches scores (N+1)/(N+2), not 1.

    Parameters
    ----------
    pattern
        [..., query_pos, key_pos], e.g. [head_index, query_pos, key_pos].
    n_block
        N, the length of the repeated block.

    Returns
    -------
    float or np.ndarray
        one score per leading index ([...]).
    """
    if n_block < 1:
        raise ValueError(f"n_block: expected ≥ 1, got {n_block}")
    return _diag_mean(pattern, 1 - n_block, "induction_stripe_score")


def previous_token_stripe_score(pattern: np.ndarray) -> np.ndarray | float:
    """``mean(diag(A, −1))`` over [..., query_pos, key_pos]: attention to the previous token."""
    return _diag_mean(pattern, -1, "previous_token_stripe_score")


def current_token_score(pattern: np.ndarray) -> np.ndarray | float:
    """``mean(diag(A))`` over [..., query_pos, key_pos]: attention to the current token."""
    return _diag_mean(pattern, 0, "current_token_score")


def first_token_score(pattern: np.ndarray) -> np.ndarray | float:
    """``mean(A[:, 0])`` over [..., query_pos, key_pos]: attention resting on the first (BOS) token."""
    a = np.asarray(pattern, dtype=np.float64)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"first_token_score: expected a [..., query_pos, key_pos] pattern, got shape {list(a.shape)}")
    out = a[..., :, 0].mean(axis=-1)  # [...]
    return float(out) if out.ndim == 0 else out


# -- loss and in-context learning ---------------------------------------------------------


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Max-subtracted log-softmax over the last axis, float64, so large logits do not overflow."""
    x = np.asarray(logits, dtype=np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)  # [..., d_vocab]
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def per_token_loss(logits: np.ndarray, tokens: object) -> np.ndarray:
    """Cross-entropy of the prediction at position i for token i+1.

    Parameters
    ----------
    logits
        [batch, pos, d_vocab] (or [pos, d_vocab]).
    tokens
        [batch, pos] (or [pos]).

    Returns
    -------
    np.ndarray
        [batch, pos − 1] float64 losses in nats.
    """
    lg = np.asarray(logits)
    lg = lg[None] if lg.ndim == 2 else lg  # [batch, pos, d_vocab]
    toks = np.asarray(tokens)
    toks = toks[None] if toks.ndim == 1 else toks  # [batch, pos]
    if lg.ndim != 3 or toks.shape != lg.shape[:2]:
        raise ValueError(f"per_token_loss: logits {list(lg.shape)} and tokens {list(toks.shape)} do not match")
    logp = log_softmax(lg[:, :-1])  # [batch, pos - 1, d_vocab]
    nxt = toks[:, 1:, None].astype(np.int64)  # [batch, pos - 1, 1]
    return -np.take_along_axis(logp, nxt, axis=-1)[..., 0]  # [batch, pos - 1]


class RepeatLoss(NamedTuple):
    """Mean loss on the first occurrence of a repeated block and on its repeat."""

    first: float  # predicting r1..rN the first time (loss columns 0..N−1)
    repeat: float  # predicting r1..rN again (loss columns N..2N−1)


def first_and_repeat_loss(loss: np.ndarray, n_block: int) -> RepeatLoss:
    """Split per-token loss of ``[BOS, r1..rN, r1..rN]`` into first-half and repeat means.

    Loss column i predicts token i+1, so columns 0..N−1 predict the first block
    and columns N..2N−1 the repeat; an induction head makes the second low.

    Parameters
    ----------
    loss
        [batch, pos − 1] from :func:`per_token_loss` (pos = 2N+1), or [pos − 1].
    """
    lo = np.asarray(loss, dtype=np.float64)
    lo = lo[None] if lo.ndim == 1 else lo  # [batch, pos - 1]
    if n_block < 1 or lo.shape[1] < 2 * n_block:
        raise ValueError(f"n_block: {n_block} needs at least {2 * n_block} loss columns, got {lo.shape[1]}")
    return RepeatLoss(float(lo[:, :n_block].mean()), float(lo[:, n_block : 2 * n_block].mean()))


@dataclass(frozen=True)
class IclScore:
    """An in-context-learning score with the loss columns it compares."""

    value: float  # mean over examples of L(late) − L(early); more negative = more in-context learning
    early_index: int  # loss column subtracted (prediction made at this position)
    late_index: int  # loss column taken
    variant_label: str  # e.g. "scaled ICL: L(19) − L(3)", shown beside the number


def icl_score(loss: np.ndarray, *, reference_length: int | None = None) -> IclScore:
    """Olsson et al.'s in-context-learning score, or its scaled version for short contexts.

    Olsson et al. take the loss at token 500 minus the loss at token 50. Toy
    contexts are far shorter, so when there are not more than 500 loss columns
    this uses ``L(last) − L(reference_length // 10)`` and says so in the label.

    Parameters
    ----------
    loss
        [batch, pos − 1] per-token loss (column i predicts token i+1), or [pos − 1].
    reference_length
        the length whose tenth is the early index: ``n_ctx`` to compare models,
        default the sequence length (pos).

    Returns
    -------
    IclScore
    """
    lo = np.asarray(loss, dtype=np.float64)
    lo = lo[None] if lo.ndim == 1 else lo  # [batch, pos - 1]
    n_cols = lo.shape[1]
    if n_cols > 500:
        early, late = 50, 500
        label = "Olsson ICL: L(500) − L(50)"
    else:
        ref = n_cols + 1 if reference_length is None else int(reference_length)
        early, late = ref // 10, n_cols - 1
        label = f"scaled ICL: L({late}) − L({early}) (last − length/10; Olsson uses L(500) − L(50))"
    if not 0 <= early < late:
        raise ValueError(f"icl_score: {n_cols} loss columns are too few to compare L({late}) with L({early})")
    value = float((lo[:, late] - lo[:, early]).mean())
    return IclScore(value, early, late, label)


# -- direct logit attribution ---------------------------------------------------------------


@dataclass(frozen=True)
class LogitAttribution:
    """The correct token's logit split into the paths that write it (direct logit attribution).

    For a single position the fields are numbers; for a half of a repeated
    sequence they are sums over its positions. ``total`` equals ``logit``.
    """

    direct: float  # u · (embed + pos_embed): the token and position embeddings read straight out
    heads: np.ndarray  # [n_layers, n_heads]: u · result of each head
    b_O: np.ndarray  # [n_layers]: u · b_O of each layer
    b_U: float  # the unembedding bias of the correct token
    logit: float  # the correct token's logit, from the cached final residual stream

    @property
    def total(self) -> float:
        """Sum of all parts; equals ``logit`` up to rounding."""
        return float(self.direct + self.heads.sum() + self.b_O.sum() + self.b_U)


def _attribution_parts(
    weights: Weights, cache: Mapping[str, np.ndarray], tokens: object, batch_index: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every position's attribution parts, float64: direct [P], heads [P, L, H], b_O [P, L], b_U [P], logit [P].

    P = pos − 1: position t is attributed for predicting token t+1.
    """
    cfg = weights.config
    toks = np.asarray(tokens)
    toks = toks[None] if toks.ndim == 1 else toks  # [batch, pos]
    t = toks[batch_index].astype(np.int64)  # [pos]
    f = np.float64
    U = np.asarray(weights["unembed.W_U"], dtype=f)[:, t[1:]].T  # [P, d_model]: u of each position
    b_U = np.asarray(weights["unembed.b_U"], dtype=f)[t[1:]]  # [P]
    emb = np.asarray(cache[act_name("embed")][batch_index, :-1], dtype=f)  # [P, d_model]
    emb = emb + np.asarray(cache[act_name("pos_embed")][batch_index, :-1], dtype=f)  # [P, d_model]
    direct = np.einsum("pm,pm->p", emb, U)  # [P]
    heads = np.zeros((len(t) - 1, cfg.n_layers, cfg.n_heads))  # [P, layer, head_index]
    b_O = np.zeros((len(t) - 1, cfg.n_layers))  # [P, layer]
    resid = emb
    for layer in range(cfg.n_layers):
        result = np.asarray(cache[act_name("result", layer)][batch_index, :-1], dtype=f)  # [P, head_index, d_model]
        heads[:, layer] = np.einsum("phm,pm->ph", result, U)  # [P, head_index]
        b_O[:, layer] = U @ np.asarray(weights[block_names(layer)["b_O"]], dtype=f)  # [P]
        resid = np.asarray(cache[act_name("resid_post", layer)][batch_index, :-1], dtype=f)  # [P, d_model]
    logit = np.einsum("pm,pm->p", resid, U) + b_U  # [P]
    return direct, heads, b_O, b_U, logit


def logit_attribution(
    weights: Weights, cache: Mapping[str, np.ndarray], tokens: object, position: int, *, batch_index: int = 0
) -> LogitAttribution:
    """Split the logit of the next token at ``position`` into direct, per-head and bias parts.

    With ``u = W_U[:, t_{position+1}]``: direct ``u·(embed + pos_embed)``, each
    head ``u·result^{l,h}``, each layer ``u·b_O^l``, and ``b_U``. An attention-only
    model has no LayerNorm, so these add up exactly to the logit.

    Parameters
    ----------
    weights
        the model the cache came from.
    cache
        activations of ``run_with_cache`` (needs embed, pos_embed, result, resid_post).
    tokens
        [pos] or [batch, pos].
    position
        the predicting position, 0 ≤ position < pos − 1 (negative counts from the end).
    batch_index
        which sequence of the batch.
    """
    direct, heads, b_O, b_U, logit = _attribution_parts(weights, cache, tokens, batch_index)
    n = len(direct)
    if not -n <= position < n:
        raise ValueError(f"position: {position} has no next token to predict (valid 0..{n - 1})")
    p = position
    return LogitAttribution(float(direct[p]), heads[p], b_O[p], float(b_U[p]), float(logit[p]))


def logit_attribution_by_half(
    weights: Weights, cache: Mapping[str, np.ndarray], tokens: object, n_block: int, *, batch_index: int = 0
) -> tuple[LogitAttribution, LogitAttribution]:
    """Attribution summed over the first block and over its repeat of ``[BOS, r1..rN, r1..rN]``.

    Positions 0..N−1 predict the first block, N..2N−1 the repeat; induction
    heads should dominate the second.

    Returns
    -------
    first, repeat
        each a :class:`LogitAttribution` whose fields are sums over N positions.
    """
    direct, heads, b_O, b_U, logit = _attribution_parts(weights, cache, tokens, batch_index)
    if n_block < 1 or len(direct) < 2 * n_block:
        raise ValueError(f"n_block: {n_block} needs a sequence of at least {2 * n_block + 1} tokens")
    halves = (slice(0, n_block), slice(n_block, 2 * n_block))
    first, repeat = (
        LogitAttribution(
            direct=float(direct[s].sum()),
            heads=heads[s].sum(axis=0),  # [n_layers, n_heads]
            b_O=b_O[s].sum(axis=0),  # [n_layers]
            b_U=float(b_U[s].sum()),
            logit=float(logit[s].sum()),
        )
        for s in halves
    )
    return first, repeat


# -- ablation -------------------------------------------------------------------------


@dataclass(frozen=True)
class AblationEffects:
    """What ablating each head does, one forward pass per head."""

    mode: str  # "zero" or "mean"
    base_loss: float  # mean per-token loss with nothing ablated
    loss_change: np.ndarray  # [n_layers, n_heads]: mean loss with head (l, h) ablated − base_loss
    base_induction: np.ndarray  # [n_layers, n_heads]: induction scores with nothing ablated
    induction_change: np.ndarray  # [l, h, l2, h2]: change of head (l2, h2)'s score when (l, h) is ablated
    induction_variant: str = PREFIX_MATCHING_VARIANT  # the detector behind the induction scores


def ablation_effects(
    weights: Weights,
    tokens: object,
    *,
    mode: Literal["zero", "mean"] = "zero",
    overrides: Overrides | None = None,
) -> AblationEffects:
    """Ablate each head in turn and measure the change in loss and in every head's induction score.

    The induction score is :data:`PREFIX_MATCHING_VARIANT` (``mul``,
    ``exclude_bos=True``), from the ablated run's own patterns. Ablating the
    previous-token head of an induction circuit should destroy the induction
    head's score; ablating an unrelated head should not change it. A head's own
    pattern and earlier layers never change (ablation acts on its output).

    Parameters
    ----------
    weights
        the model.
    tokens
        [pos] or [batch, pos]; mean ablation averages z over batch and positions.
    mode
        ``"zero"`` or ``"mean"`` ablation (see :class:`HeadOverride`).
    overrides
        the scenario's other per-head overrides, kept in every run; an ablated
        head keeps its own override and gains the ablation.
    """
    cfg = weights.config
    toks = check_tokens(tokens, cfg.d_vocab, cfg.n_ctx)  # [batch, pos]
    base = dict(overrides or {})

    def measure(ov: Overrides) -> tuple[float, np.ndarray]:
        logits, cache = run_with_cache(weights, toks, ov)
        loss = float(per_token_loss(logits, toks).mean())
        score = detect_head_from_patterns(cache, toks, "induction_head", exclude_bos=True)  # [layer, head_index]
        return loss, score

    base_loss, base_score = measure(base)
    L, H = cfg.n_layers, cfg.n_heads
    loss_change = np.zeros((L, H))  # [layer, head_index]
    induction_change = np.zeros((L, H, L, H))  # [layer, head_index, layer, head_index]
    for layer in range(L):
        for head in range(H):
            ov = dict(base)
            ov[(layer, head)] = dataclasses.replace(ov.get((layer, head), HeadOverride()), ablation=mode)
            loss, score = measure(ov)
            loss_change[layer, head] = loss - base_loss
            induction_change[layer, head] = score - base_score
    return AblationEffects(mode, base_loss, loss_change, base_score, induction_change)
