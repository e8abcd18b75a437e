"""The head detector: how much of each head's attention falls where a detection pattern says it should.

TransformerLens' ``detect_head`` (``mul`` and ``abs`` error measures, BOS and
current-token exclusions) over a cache or a model run, and the simpler
single-stripe scores the lecture reads off one pattern.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .detection_patterns import (
    ERROR_MEASURES,
    HEAD_NAMES,
    PREFIX_MATCHING_VARIANT,
    PREVIOUS_TOKEN_VARIANT,
    ErrorMeasure,
    HeadName,
    detection_pattern,
    one_sequence,
)
from .forward import Overrides, check_tokens, run_with_cache
from .hooks import act_name
from .weights import Weights


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
        return [one_sequence(t) for t in tokens]
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
    # Σ A'·D ≤ Σ A' holds exactly, but the subtractions above cancel catastrophically when the excluded
    # column holds almost all the attention (float32 rows, [0, 0, 0]: 1.00000008); the score is a fraction
    np.clip(out, 0.0, 1.0, out=out)
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
