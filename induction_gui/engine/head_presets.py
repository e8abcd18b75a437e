"""Head presets: new Q/K/V/O weights that make one head of *any* model do a named job.

The hand-built constructions (``constructions.py``) choose the residual stream's
layout themselves. A learner's model is already laid out, so a preset here
*fits* the head to the embeddings it finds, by least squares:

    the residual at a position is a sum of sources (token embedding W_E[t],
    position embedding W_pos[i], what an earlier head wrote, ...); a reader
    (W_Q, W_K or W_V plus its bias) is the linear map that best sends each
    source to the feature we want from it (the query's position, the key's
    previous token, ...) and every other source to nothing.

Each source is centred and the means go into the bias, which is exactly the
least-squares fit over every combination of sources. The fit is exact when the
sources span independent subspaces (e.g. ``d_model ≥ d_vocab + n_ctx`` with
generic embeddings), and degrades gracefully otherwise; when it degrades too
far a preset raises :class:`ValueError` saying why instead of returning a head
that silently does not work.

Every preset returns ``{parameter name: array}`` for the head's slice only
(``blocks.{l}.attn.W_Q`` -> [d_model, d_head], ``b_Q`` -> [d_head], ...);
:func:`apply_head_slices` puts them into full [n_heads, ...] arrays. The layer's
``b_O`` is shared by all heads and is never touched.

Scores below are in "score units" (the value of q·k after dividing by the
attention scale): the scale is folded into W_Q and b_Q.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .forward import HeadKey, Overrides, run_with_cache
from .detectors import detect_head_from_patterns
from .weights import Weights

PRESETS: tuple[str, ...] = ("previous_token", "induction", "identity_copy", "random", "zero")
HEAD_PARAMS: tuple[str, ...] = ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V")

PREV_GAP = 16.0  # score margin of the previous token over its neighbours i and i−2: e^-16 leaks
MATCH = 24.0  # induction: score of the key whose previous token equals the query's token
REST = 12.0  # induction: score of position 0, where queries with no match rest (MATCH − REST > ln n_ctx)
COPY_LOGIT = 10.0  # induction OV: logit added to the copied token at full attention
TL_INIT_GAIN = 0.8  # TransformerLens' gpt2 init: std = 0.8 / sqrt(d_model)
MIN_QUALITY = 0.5  # below this a fitted head "does not work" and the preset refuses
_CHECK_SEED = 0  # seeds the code book and the check sequences, so presets are reproducible


# -- helpers ------------------------------------------------------------------------


def _name(layer: int, param: str) -> str:
    return f"blocks.{layer}.attn.{param}"


def _check_head(weights: Weights, layer: int, head: int) -> None:
    cfg = weights.config
    if not (0 <= layer < cfg.n_layers and 0 <= head < cfg.n_heads):
        raise ValueError(f"head L{layer}H{head} does not exist in a {cfg.n_layers}-layer, {cfg.n_heads}-head model")


def _f64(weights: Weights, name: str) -> np.ndarray:
    return np.asarray(weights[name], dtype=np.float64)


def _fit_reader(
    sources: list[tuple[np.ndarray, np.ndarray | None]], d_out: int, rcond: float = 1e-6
) -> tuple[np.ndarray, np.ndarray, float]:
    """Least-squares reader of a residual stream that is a sum of sources.

    Parameters
    ----------
    sources
        ``(X, T)`` pairs: X [rows, d_model] the vectors a source can put in the
        residual (one row per token, position, ...); T [rows, d_out] the
        feature wanted from each row, or None for "read nothing from it".
    d_out
        width of the output.

    Returns
    -------
    W
        [d_model, d_out]
    b
        [d_out], so that mean inputs give mean targets exactly.
    residual
        relative fit error ``‖X_c W − T_c‖ / ‖T_c‖`` over the wanted features
        (0 = exact, 1 = nothing of the features could be read).
    """
    rows, targets, means_x, means_t = [], [], [], []
    for X, T in sources:
        T = np.zeros((X.shape[0], d_out)) if T is None else T
        mx, mt = X.mean(axis=0), T.mean(axis=0)
        # weighting by 1/sqrt(rows) gives every source the same say, however many rows it has
        w = 1.0 / np.sqrt(X.shape[0])
        rows.append((X - mx) * w)  # [rows, d_model]
        targets.append((T - mt) * w)  # [rows, d_out]
        means_x.append(mx)
        means_t.append(mt)
    A = np.concatenate(rows)  # [Σ rows, d_model]
    B = np.concatenate(targets)  # [Σ rows, d_out]
    W = np.linalg.lstsq(A, B, rcond=rcond)[0]  # [d_model, d_out]
    b = sum(means_t) - sum(means_x) @ W  # [d_out]
    norm = np.linalg.norm(B)
    residual = float(np.linalg.norm(A @ W - B) / norm) if norm > 0 else 0.0
    return W, b, residual


def _token_codes(n: int, width: int) -> np.ndarray:
    """[n, width] unit vectors, one per token: one-hot when width ≥ n, else seeded random directions.

    Random unit vectors in ``width`` dimensions overlap by about 1/sqrt(width):
    distinguishable, not orthogonal, which is the best a narrow head can do.
    """
    if width >= n:
        return np.eye(n, width)
    codes = np.random.default_rng(_CHECK_SEED).standard_normal((n, width))  # [n, width]
    return codes / np.linalg.norm(codes, axis=1, keepdims=True)


def _pad(a: np.ndarray, width: int) -> np.ndarray:
    """Zero-pad the last axis to ``width``."""
    out = np.zeros(a.shape[:-1] + (width,))
    out[..., : a.shape[-1]] = a
    return out


def _free_directions(weights: Weights, tol: float = 1e-6) -> np.ndarray:
    """[d_model, k] orthonormal directions no token or position embedding uses (k may be 0)."""
    X = np.concatenate([_f64(weights, "embed.W_E"), _f64(weights, "pos_embed.W_pos")])  # [rows, d_model]
    _, s, vt = np.linalg.svd(X, full_matrices=True)
    rank = int((s > tol * max(s.max(initial=0.0), 1.0)).sum())
    return vt[rank:].T  # [d_model, d_model − rank]


def _as_slices(weights: Weights, layer: int, params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Short names -> full names, cast to the model's dtype."""
    dtype = weights["embed.W_E"].dtype
    return {_name(layer, k): np.asarray(v, dtype=dtype) for k, v in params.items()}


def apply_head_slices(
    weights: Weights, layer: int, head: int, slices: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Full [n_heads, ...] arrays with ``head``'s slice replaced, ready for ``Document.set_weight``.

    ``weights`` is not modified.
    """
    out: dict[str, np.ndarray] = {}
    for name, value in slices.items():
        full = np.array(weights[name], copy=True)  # [n_heads, ...]
        full[head] = value
        out[name] = full
    return out


def head_slices(weights: Weights, layer: int, head: int) -> dict[str, np.ndarray]:
    """Copies of the head's current slices (what "reset head" restores)."""
    return {_name(layer, p): np.array(weights[_name(layer, p)][head], copy=True) for p in HEAD_PARAMS}


# -- the presets --------------------------------------------------------------------------


def zero(weights: Weights, layer: int, head: int) -> dict[str, np.ndarray]:
    """Every Q/K/V/O weight and bias zero: all scores 0, so the pattern is uniform over visible keys, and the output is 0."""
    _check_head(weights, layer, head)
    cfg = weights.config
    M, H = cfg.d_model, cfg.d_head
    return _as_slices(weights, layer, {
        "W_Q": np.zeros((M, H)), "W_K": np.zeros((M, H)), "W_V": np.zeros((M, H)), "W_O": np.zeros((H, M)),
        "b_Q": np.zeros(H), "b_K": np.zeros(H), "b_V": np.zeros(H),
    })  # fmt: skip


def random(weights: Weights, layer: int, head: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A freshly initialised head, as TransformerLens initialises one (normal, std 0.8/sqrt(d_model), zero biases).

    Deterministic in ``seed`` alone, so "random head, seed 7" is the same head in every lesson.
    """
    _check_head(weights, layer, head)
    cfg = weights.config
    M, H = cfg.d_model, cfg.d_head
    rng = np.random.default_rng(seed)
    std = TL_INIT_GAIN / np.sqrt(M)
    params = {n: rng.standard_normal(shape) * std for n, shape in (
        ("W_Q", (M, H)), ("W_K", (M, H)), ("W_V", (M, H)), ("W_O", (H, M)))}  # fmt: skip
    params.update(b_Q=np.zeros(H), b_K=np.zeros(H), b_V=np.zeros(H))
    return _as_slices(weights, layer, params)


def identity_copy(weights: Weights, layer: int, head: int) -> dict[str, np.ndarray]:
    """OV ≈ identity on the token subspace, restricted to d_head dimensions; QK unchanged.

    W_V projects onto the d_head directions in which the token embeddings vary
    most (their top right-singular vectors U) and W_O writes them back:
    ``W_V W_O = U Uᵀ``, a projection, whose copying score is 1. With
    d_head ≥ rank(W_E) every token is copied exactly.
    """
    _check_head(weights, layer, head)
    cfg = weights.config
    E = _f64(weights, "embed.W_E")  # [d_vocab, d_model]
    _, _, vt = np.linalg.svd(E, full_matrices=True)
    U = vt[: cfg.d_head].T  # [d_model, d_head] (d_head ≤ d_model always holds for a projection)
    U = _pad(U, cfg.d_head) if U.shape[1] < cfg.d_head else U
    return _as_slices(weights, layer, {"W_V": U, "W_O": U.T, "b_V": np.zeros(cfg.d_head)})


def _quadratic_position_features(n_ctx: int) -> tuple[np.ndarray, np.ndarray]:
    """Rank-2 query and key features whose product peaks at key i − 1, [n_ctx, 2] each.

    With v = position/(n_ctx−1) − ½: ``q_i = [v_{i−1}, 1]``, ``k_j = [2 v_j, −v_j²]``
    give ``q_i·k_j = v_{i−1}² − (v_j − v_{i−1})²``: the term in v_{i−1}² is the same
    for every key (softmax ignores it), the rest is largest at j = i − 1 and falls
    quadratically. Two dimensions suffice for any n_ctx, and the features are smooth,
    so even smooth (sinusoidal, learned) W_pos of low rank express them well.
    """
    pos = np.arange(n_ctx, dtype=np.float64)
    v = pos / max(n_ctx - 1, 1) - 0.5  # [n_ctx]
    v_prev = (pos - 1) / max(n_ctx - 1, 1) - 0.5
    q = np.stack([v_prev, np.ones(n_ctx)], axis=1)  # [n_ctx, 2]
    k = np.stack([2 * v, -(v**2)], axis=1)  # [n_ctx, 2]
    return q, k


def _head_pattern(x: np.ndarray, W_Q: np.ndarray, b_Q: np.ndarray, W_K: np.ndarray, b_K: np.ndarray,
                  scale: float) -> np.ndarray:
    """Causal softmax pattern of one head on residuals x [batch, pos, d_model] -> [batch, query_pos, key_pos]."""
    q = x @ W_Q + b_Q  # [batch, pos, d_head]
    k = x @ W_K + b_K  # [batch, pos, d_head]
    scores = np.einsum("bqh,bkh->bqk", q, k) / scale  # [batch, query_pos, key_pos]
    n = x.shape[1]
    scores = np.where(np.tril(np.ones((n, n), dtype=bool)), scores, -np.inf)
    scores -= scores.max(axis=-1, keepdims=True)
    p = np.exp(scores)
    return p / p.sum(axis=-1, keepdims=True)


def previous_token(weights: Weights, layer: int, head: int, *, scale: float | None = None) -> dict[str, np.ndarray]:
    """A previous-token head: QK aligns query i with key i − 1 through W_pos; OV copies the token.

    QK (key-query alignment): W_Q and W_K are fitted (least squares over every
    token and position) to read the rank-2 positional features of
    :func:`_quadratic_position_features` from W_pos and nothing from W_E.
    OV: W_V reads the token (a one-hot code when d_head ≥ d_vocab, else
    distinct unit codes) and W_O writes it into directions that no embedding
    uses, so that a later head can tell "the previous token" from "my token"
    (K-composition needs that); with no free direction it writes into the token
    subspace instead, which a later induction preset will refuse.

    Limits: exact when the centred W_pos contains the positional features (e.g.
    rank n_ctx, or smooth embeddings) and is linearly independent of W_E; a head
    in layer ≥ 1 also sees earlier heads' outputs, which the fit ignores.

    Raises
    ------
    ValueError
        when d_head < 2, or when the fitted head puts less than half its
        attention on the previous token (W_pos cannot express position).
    """
    _check_head(weights, layer, head)
    cfg = weights.config
    scale = cfg.scale if scale is None else float(scale)
    if cfg.d_head < 2:
        raise ValueError(f"previous-token preset: needs d_head ≥ 2 (query and key use two dimensions), got {cfg.d_head}")
    if cfg.n_ctx < 2:
        raise ValueError("previous-token preset: n_ctx is 1, there is no previous position")
    E, P = _f64(weights, "embed.W_E"), _f64(weights, "pos_embed.W_pos")  # [d_vocab, d_model], [n_ctx, d_model]
    q_feat, k_feat = _quadratic_position_features(cfg.n_ctx)  # [n_ctx, 2] each
    # score units: neighbours of the target are (1/(n_ctx−1))² below it; split the gain between q and k
    gain = np.sqrt(PREV_GAP) * (cfg.n_ctx - 1)
    W_Q, b_Q, _ = _fit_reader([(E, None), (P, q_feat * gain * scale)], 2)
    W_K, b_K, _ = _fit_reader([(E, None), (P, k_feat * gain)], 2)
    W_Q, W_K, b_Q, b_K = _pad(W_Q, cfg.d_head), _pad(W_K, cfg.d_head), _pad(b_Q, cfg.d_head), _pad(b_K, cfg.d_head)

    # check on random sequences through this head alone (embeddings only)
    rng = np.random.default_rng(_CHECK_SEED)
    toks = rng.integers(0, cfg.d_vocab, size=(4, cfg.n_ctx))  # [batch, pos]
    x = E[toks] + P[None]  # [batch, pos, d_model]
    pattern = _head_pattern(x, W_Q, b_Q, W_K, b_K, scale)  # [batch, query_pos, key_pos]
    quality = float(np.diagonal(pattern, offset=-1, axis1=1, axis2=2).mean())
    if quality < MIN_QUALITY:
        rank = int(np.linalg.matrix_rank(P - P.mean(axis=0)))
        raise ValueError(
            f"previous-token preset: the best fit puts only {quality:.2f} on the previous token. "
            f"The centred W_pos has rank {rank} (of n_ctx {cfg.n_ctx}) and must express position "
            "independently of the token embeddings; give W_pos more distinct, less token-like rows "
            "(e.g. one-hot positions) or a larger d_model."
        )

    codes = _token_codes(cfg.d_vocab, cfg.d_head)  # [d_vocab, d_head] unit rows
    W_V, b_V, _ = _fit_reader([(E, codes), (P, None)], cfg.d_head)
    free = _free_directions(weights)  # [d_model, k]
    if free.shape[1] >= cfg.d_head:
        W_O = free[:, : cfg.d_head].T  # [d_head, d_model]: code dimension c -> free direction c
    else:
        W_O = np.linalg.pinv(W_V)  # [d_head, d_model]: back into the token subspace
    return _as_slices(weights, layer, {"W_Q": W_Q, "W_K": W_K, "W_V": W_V, "W_O": W_O,
                                       "b_Q": b_Q, "b_K": b_K, "b_V": b_V})


def find_previous_token_head(
    weights: Weights, before_layer: int, overrides: Overrides | None = None
) -> tuple[HeadKey, float]:
    """The head in layers < ``before_layer`` with the highest previous-token score, and that score.

    Scored (TransformerLens detector, ``mul``) on a seeded random sequence of
    n_ctx tokens, with the lecture's overrides applied.
    """
    cfg = weights.config
    if before_layer < 1:
        raise ValueError("there is no layer before layer 0")
    toks = np.random.default_rng(_CHECK_SEED).integers(0, cfg.d_vocab, size=cfg.n_ctx)  # [pos]
    with np.errstate(all="ignore"):
        _, cache = run_with_cache(weights, toks, overrides)
        scores = detect_head_from_patterns(cache, toks, "previous_token_head")  # [layer, head_index]
    scores = np.nan_to_num(scores[:before_layer], nan=-1.0)
    layer, head = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return (int(layer), int(head)), float(scores[layer, head])


def induction(
    weights: Weights,
    layer: int,
    head: int,
    *,
    source: HeadKey | None = None,
    overrides: Overrides | None = None,
    scale: float | None = None,
) -> dict[str, np.ndarray]:
    """An induction head: K-composes with an earlier previous-token head and copies.

    QK: the query reads the current token (W_E); the key reads what the
    previous-token head ``source`` wrote, ``W_E W_V W_O`` of that head (the
    token *before* the key), so query i aligns with keys right after an earlier
    occurrence of its token. One more dimension makes position 0 a resting
    place (score REST < MATCH) for queries with nothing to match.
    OV: W_V reads the key's token and W_O writes what W_U turns into a logit
    of that same token (the copying circuit); with a zero W_U it copies into
    the token subspace instead.

    Parameters
    ----------
    source
        the previous-token head (default: the best-scoring head of an earlier layer).
    overrides
        the lecture's per-head overrides, used to find ``source``.

    Raises
    ------
    ValueError
        in layer 0 (no earlier head to compose with), when d_head < 2, when no
        earlier head is a previous-token head, or when the source writes its
        copy where the key cannot tell it from the current token.
    """
    _check_head(weights, layer, head)
    cfg = weights.config
    scale = cfg.scale if scale is None else float(scale)
    if layer < 1:
        raise ValueError("induction preset: needs an earlier layer to K-compose with; layer 0 has none")
    if cfg.d_head < 2:
        raise ValueError(f"induction preset: needs d_head ≥ 2 (a match and a resting dimension), got {cfg.d_head}")
    if source is None:
        source, score = find_previous_token_head(weights, layer, overrides)
        if score < MIN_QUALITY:
            raise ValueError(
                f"induction preset: no earlier head is a previous-token head (the best, L{source[0]}H{source[1]}, "
                f"scores {score:.2f}); make one first with the previous-token preset in layer 0"
            )
    src_layer, src_head = source
    if not 0 <= src_layer < layer:
        raise ValueError(f"induction preset: the source head must be in an earlier layer than {layer}")
    E, P = _f64(weights, "embed.W_E"), _f64(weights, "pos_embed.W_pos")
    ov = (_f64(weights, _name(src_layer, "W_V"))[src_head]
          @ _f64(weights, _name(src_layer, "W_O"))[src_head])  # [d_model, d_model]
    written = E @ ov  # [d_vocab, d_model]: what the source writes for each previous token
    if np.linalg.norm(written) == 0:
        raise ValueError(f"induction preset: L{src_layer}H{src_head} writes nothing (its W_V W_O is zero)")

    width = cfg.d_head - 1  # the last dimension is the resting dimension
    codes = _token_codes(cfg.d_vocab, width)  # [d_vocab, width] unit rows
    first = np.zeros((cfg.n_ctx, 1))
    first[0] = 1.0  # [n_ctx, 1]: the key at position 0
    # query: MATCH · code of my token, plus a constant REST on the resting dimension (bias)
    q_tok = np.concatenate([codes * MATCH, np.full((cfg.d_vocab, 1), REST)], axis=1) * scale  # [d_vocab, d_head]
    W_Q, b_Q, _ = _fit_reader([(E, q_tok), (P, None)], cfg.d_head)
    # key: the code of the previous token (K-composition) and the position-0 flag, nothing of my own token
    k_prev = _pad(codes, cfg.d_head)  # [d_vocab, d_head]
    k_pos = _pad(np.zeros((cfg.n_ctx, 0)), cfg.d_head)
    k_pos[:, -1:] = first
    W_K, b_K, residual = _fit_reader([(E, None), (P, k_pos), (written, k_prev), (P @ ov, None)], cfg.d_head)
    if residual > 0.5:
        raise ValueError(
            f"induction preset: W_K cannot tell the token L{src_layer}H{src_head} copied from the current "
            f"token (fit error {residual:.2f}); that head writes where the embeddings live. Make it with the "
            "previous-token preset, which writes into free directions, or give the model a larger d_model."
        )

    # OV, the copying circuit: value = code of my token, W_O chosen so that W_E W_V W_O W_U ≈ COPY_LOGIT · I
    v_codes = _token_codes(cfg.d_vocab, cfg.d_head)  # [d_vocab, d_head]
    W_V, b_V, _ = _fit_reader([(E, v_codes), (P, None)], cfg.d_head)
    W_U = _f64(weights, "unembed.W_U")  # [d_model, d_vocab]
    target = COPY_LOGIT * np.eye(cfg.d_vocab)  # [source_token, output_token]
    if np.linalg.norm(W_U) > 0:
        W_O = np.linalg.pinv(v_codes) @ target @ np.linalg.pinv(W_U)  # [d_head, d_model]
    else:
        W_O = np.linalg.pinv(W_V)  # nothing reads logits: copy the token back into its subspace
    return _as_slices(weights, layer, {"W_Q": W_Q, "W_K": W_K, "W_V": W_V, "W_O": W_O,
                                       "b_Q": b_Q, "b_K": b_K, "b_V": b_V})
