"""Weight-space circuits of attention heads: QK and OV matrices, copying and composition scores.

Everything is computed from the weights alone, in float64, in TransformerLens'
row-vector convention (``x W``). Biases are left out, as in TransformerLens'
``FactoredMatrix`` circuits (``model.QK``, ``model.OV``): a circuit describes
how token directions interact, and ``b_Q``/``b_K``/``b_V``/``b_O`` are
constant offsets that the window shows separately.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Literal

import numpy as np

from . import budget
from .weights import Weights, block_names

HeadKey = tuple[int, int]  # (layer, head_index)
CompositionMode = Literal["Q", "K", "V"]
COMPOSITION_MODES: tuple[str, ...] = ("Q", "K", "V")


# -- stacked weights ------------------------------------------------------------------------


def stacked(weights: Weights, name: str) -> np.ndarray:
    """One block parameter of every layer, float64: e.g. ``W_Q`` -> [n_layers, n_heads, d_model, d_head]."""
    n_layers = weights.config.n_layers
    return np.stack([np.asarray(weights[block_names(layer)[name]], dtype=np.float64) for layer in range(n_layers)])


def _all_heads(weights: Weights, name: str) -> np.ndarray:
    """``stacked`` with layer and head merged: e.g. ``W_Q`` -> [n_layers * n_heads, d_model, d_head]."""
    w = stacked(weights, name)  # [layer, head_index, ., .]
    return w.reshape(w.shape[0] * w.shape[1], *w.shape[2:])  # [layer * head_index, ., .]


def _head(weights: Weights, layer: int, head: int, name: str) -> np.ndarray:
    """One head's ``W_Q``/``W_K``/``W_V`` [d_model, d_head] or ``W_O`` [d_head, d_model], float64."""
    cfg = weights.config
    if not (0 <= layer < cfg.n_layers and 0 <= head < cfg.n_heads):
        raise ValueError(f"head L{layer}H{head} does not exist in a {cfg.n_layers}×{cfg.n_heads} model")
    return np.asarray(weights[block_names(layer)[name]][head], dtype=np.float64)


def _global(weights: Weights, name: str) -> np.ndarray:
    return np.asarray(weights[name], dtype=np.float64)


# -- single-head circuits -----------------------------------------------------------------------


def qk_circuit(weights: Weights, layer: int, head: int) -> np.ndarray:
    """``W_QK = W_Q W_Kᵀ`` [d_model, d_model]: scores ≈ x_dest W_QK x_srcᵀ (biases excluded)."""
    return _head(weights, layer, head, "W_Q") @ _head(weights, layer, head, "W_K").T  # [d_model, d_model]


def ov_circuit(weights: Weights, layer: int, head: int) -> np.ndarray:
    """``W_OV = W_V W_O`` [d_model, d_model]: the head writes Σ_j A[i, j] x_j W_OV (biases excluded)."""
    return _head(weights, layer, head, "W_V") @ _head(weights, layer, head, "W_O")  # [d_model, d_model]


def _token_ids(ids: object, d_vocab: int) -> np.ndarray | slice:
    """Token ids as an int array (checked against the vocabulary), or every token for None."""
    if ids is None:
        return slice(None)
    arr = np.asarray(ids, dtype=np.int64).reshape(-1)  # [n]
    if arr.size and (arr.min() < 0 or arr.max() >= d_vocab):
        raise ValueError(f"token ids must be in 0..{d_vocab - 1}, got {arr.min()}..{arr.max()}")
    return arr


def _token_rows(weights: Weights, name: str, ids: object) -> np.ndarray:
    """Rows ``ids`` of a [d_vocab, d_model] parameter (all for None), float64, indexed before the conversion."""
    W = np.asarray(weights[name])  # [d_vocab, d_model]
    return np.asarray(W[_token_ids(ids, W.shape[0])], dtype=np.float64)


def _checked_product(what: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` after checking the [rows, cols] result against the memory budget."""
    budget.check(what, (a.shape[0], b.shape[-1]), np.result_type(a, b))
    return a @ b


def full_qk_circuit(weights: Weights, layer: int, head: int, rows: object = None, cols: object = None) -> np.ndarray:
    """``W_E W_QK W_Eᵀ`` [d_vocab, d_vocab]: rows are query tokens, columns key tokens.

    Computed as (W_E W_Q)(W_E W_K)ᵀ, which never forms a d_model × d_model matrix.
    ``rows``/``cols`` (token ids) restrict it to a subset, as TransformerLens'
    ``FactoredMatrix`` does: a large vocabulary's full matrix exceeds the memory
    budget (:class:`~.budget.BudgetError`).
    """
    q = _token_rows(weights, "embed.W_E", rows) @ _head(weights, layer, head, "W_Q")  # [query_token, d_head]
    k = _token_rows(weights, "embed.W_E", cols) @ _head(weights, layer, head, "W_K")  # [key_token, d_head]
    return _checked_product(f"full QK circuit of L{layer}H{head}", q, k.T)  # [query_token, key_token]


def full_ov_circuit(weights: Weights, layer: int, head: int, rows: object = None, cols: object = None) -> np.ndarray:
    """``W_E W_OV W_U`` [d_vocab, d_vocab]: rows are attended (source) tokens, columns output logits.

    A copying head has a dominant diagonal. ``rows``/``cols`` (token ids)
    restrict it to a subset, as for :func:`full_qk_circuit`.
    """
    v = _token_rows(weights, "embed.W_E", rows) @ _head(weights, layer, head, "W_V")  # [source_token, d_head]
    W_U = np.asarray(weights["unembed.W_U"])  # [d_model, d_vocab]
    W_U = np.asarray(W_U[:, _token_ids(cols, W_U.shape[1])], dtype=np.float64)  # [d_model, output_token]
    out = _head(weights, layer, head, "W_O") @ W_U  # [d_head, output_token]
    return _checked_product(f"full OV circuit of L{layer}H{head}", v, out)  # [source_token, output_token]


def positional_qk_circuit(weights: Weights, layer: int, head: int) -> np.ndarray:
    """``W_pos W_QK W_posᵀ`` [n_ctx, n_ctx]: the part of the scores that depends on positions only.

    Rows are query positions, columns key positions; unscaled and unmasked.
    """
    W_pos = _global(weights, "pos_embed.W_pos")  # [n_ctx, d_model]
    q = W_pos @ _head(weights, layer, head, "W_Q")  # [n_ctx, d_head]
    k = W_pos @ _head(weights, layer, head, "W_K")  # [n_ctx, d_head]
    return q @ k.T  # [query_pos, key_pos]


def positional_attention(weights: Weights, layer: int, head: int, n_pos: int | None = None) -> np.ndarray:
    """The pattern the positional QK circuit alone would produce: causal softmax of it over ``attn_scale``.

    A previous-token head built from positions puts ≈ 1 on the sub-diagonal here.

    Parameters
    ----------
    n_pos
        how many positions to show (default n_ctx).

    Returns
    -------
    np.ndarray
        [query_pos, key_pos], rows sum to 1, strict upper triangle 0.
    """
    cfg = weights.config
    n = cfg.n_ctx if n_pos is None else int(n_pos)
    if not 1 <= n <= cfg.n_ctx:
        raise ValueError(f"n_pos: expected 1..{cfg.n_ctx}, got {n}")
    scores = positional_qk_circuit(weights, layer, head)[:n, :n] / cfg.scale  # [query_pos, key_pos]
    scores = np.where(np.tril(np.ones((n, n), dtype=bool)), scores, -np.inf)  # [query_pos, key_pos]
    scores = scores - scores.max(axis=-1, keepdims=True)  # the diagonal is never masked, so the max is finite
    p = np.exp(scores)  # [query_pos, key_pos]
    return p / p.sum(axis=-1, keepdims=True)


def k_composition_circuit(weights: Weights, prev: HeadKey, ind: HeadKey, rows: object = None,
                          cols: object = None) -> np.ndarray:
    """Full K-composition circuit from a previous-token head into an induction head, [d_vocab, d_vocab].

    ``Q = W_E W_Q^{ind}``, ``K = W_E W_V^{prev} W_O^{prev} W_K^{ind}``, result ``Q Kᵀ``.
    Row = the query's token; column = the token the previous-token head moved
    into the key position (the token *before* the key). An induction head
    attends where those agree, so the diagonal should dominate. Unscaled, no biases.
    ``rows``/``cols`` (token ids) restrict it to a subset, as for :func:`full_qk_circuit`.
    """
    (lp, hp), (li, hi) = prev, ind
    if not lp < li:
        raise ValueError(f"prev must be in an earlier layer than ind, got L{lp}H{hp} and L{li}H{hi}")
    q = _token_rows(weights, "embed.W_E", rows) @ _head(weights, li, hi, "W_Q")  # [query_token, d_head]
    moved = (_token_rows(weights, "embed.W_E", cols) @ _head(weights, lp, hp, "W_V")) @ _head(weights, lp, hp, "W_O")
    k = moved @ _head(weights, li, hi, "W_K")  # [previous_token_of_key, d_head]; moved is [token, d_model]
    return _checked_product(f"K-composition circuit L{lp}H{hp} → L{li}H{hi}", q, k.T)


# -- copying ----------------------------------------------------------------------------------


def copy_score(matrix_or_eigenvalues: np.ndarray) -> np.ndarray | float:
    """``Re(Σ λ) / Σ |λ|`` in [−1, 1]: how much a map sends vectors to positive multiples of themselves.

    Parameters
    ----------
    matrix_or_eigenvalues
        a square matrix [..., n, n], or its eigenvalues [..., n] (1-D input is
        taken as eigenvalues).

    Returns
    -------
    float or np.ndarray
        [...]; 0 where every eigenvalue is 0 (the map copies nothing).
    """
    m = np.asarray(matrix_or_eigenvalues)
    if m.ndim >= 2:
        lam = np.linalg.eigvals(m if np.iscomplexobj(m) else m.astype(np.float64))  # [..., n]
    else:
        lam = m  # [n]
    num = np.real(lam.sum(axis=-1))  # [...]
    den = np.abs(lam).sum(axis=-1)  # [...]
    out = np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)
    return float(out) if out.ndim == 0 else out


def _copy_matrices(weights: Weights, full: bool) -> np.ndarray:
    """[n_layers, n_heads, d_head, d_head]: ``W_O W_V`` or ``W_O W_U W_E W_V``.

    These share their non-zero eigenvalues with ``W_V W_O`` and
    ``W_E W_V W_O W_U`` (eig(AB) = eig(BA) away from 0) and are d_head-sized.
    """
    W_V = stacked(weights, "W_V")  # [layer, head_index, d_model, d_head]
    W_O = stacked(weights, "W_O")  # [layer, head_index, d_head, d_model]
    if full:
        UE = _global(weights, "unembed.W_U") @ _global(weights, "embed.W_E")  # [d_model, d_model]
        return W_O @ UE @ W_V  # [layer, head_index, d_head, d_head]
    return W_O @ W_V  # [layer, head_index, d_head, d_head]


def copying_scores(weights: Weights, full: bool = False) -> np.ndarray:
    """Copying score of every head's OV circuit, [n_layers, n_heads].

    ``full=False``: eigenvalues of ``W_O W_V`` (the residual-stream OV circuit);
    ``full=True``: of ``W_O W_U W_E W_V`` (token in, logit out).
    """
    return np.asarray(copy_score(_copy_matrices(weights, full)))


def ov_eigenvalues(weights: Weights, layer: int, head: int, full: bool = False) -> np.ndarray:
    """The d_head non-trivial eigenvalues of a head's (full) OV circuit, largest modulus first.

    Returns
    -------
    np.ndarray
        [d_head] complex128.
    """
    _head(weights, layer, head, "W_V")  # validates the head index
    lam = np.linalg.eigvals(_copy_matrices(weights, full)[layer, head])  # [d_head]
    return lam[np.argsort(-np.abs(lam), kind="stable")]


def ov_top1_accuracy(weights: Weights, sources: object = None, chunk_rows: int | None = None) -> np.ndarray:
    """Fraction of tokens whose own logit is the largest in their row of the full OV circuit.

    ``mean_i[argmax_j M[i, j] == i]`` with ``M = W_E W_OV W_U``; the companion
    of the full copying score. Computed head by head in blocks of source rows
    that fit the memory budget, so ``M`` is never formed whole.

    Parameters
    ----------
    sources
        token ids the mean runs over (default: every token); a large
        vocabulary's analysis passes a fixed sample.
    chunk_rows
        source rows per block (default: as many as fit the budget).

    Returns
    -------
    np.ndarray
        [n_layers, n_heads] in [0, 1].
    """
    W_E = _global(weights, "embed.W_E")  # [d_vocab, d_model]
    W_U = _global(weights, "unembed.W_U")  # [d_model, d_vocab]
    d_vocab = W_E.shape[0]
    src = np.arange(d_vocab) if sources is None else np.asarray(_token_ids(sources, d_vocab))  # [source]
    step = chunk_rows or budget.rows_per_chunk((d_vocab,))
    W_V, W_O = stacked(weights, "W_V"), stacked(weights, "W_O")  # [layer, head_index, ., .]
    n_layers, n_heads = W_V.shape[:2]
    hits = np.zeros((n_layers, n_heads), dtype=np.int64)  # [layer, head_index]
    for layer in range(n_layers):
        for h in range(n_heads):
            out = W_O[layer, h] @ W_U  # [d_head, d_vocab]
            for start in range(0, src.size, step):
                ids = src[start : start + step]  # [chunk]
                M = (W_E[ids] @ W_V[layer, h]) @ out  # [chunk, output_token]
                hits[layer, h] += int((M.argmax(axis=-1) == ids).sum())
    return hits / max(src.size, 1)


# -- composition ---------------------------------------------------------------------------------


def _frobenius_ratio(A1: np.ndarray, B1: np.ndarray, A2: np.ndarray, B2: np.ndarray) -> np.ndarray:
    """``‖L R‖_F / (‖L‖_F ‖R‖_F)`` for ``L = A1 B1``, ``R = A2 B2`` (low rank), broadcast over leading axes.

    Uses ``‖A B‖_F² = tr(AᵀA · B Bᵀ)`` and ``‖A1 M B2‖_F² = tr(A1ᵀA1 · M · B2 B2ᵀ · Mᵀ)``
    with ``M = B1 A2`` [d_head, d_head], so no d_model × d_model product is formed
    and the cost per pair is O(d_head³).

    Parameters
    ----------
    A1, B1
        [..., d_model, d_head] and [..., d_head, d_model]: factors of the left matrices.
    A2, B2
        [..., d_model, d_head] and [..., d_head, d_model]: factors of the right matrices.

    Returns
    -------
    np.ndarray
        [...] float64 in [0, 1] (0 where L or R is 0).
    """
    G_A1 = np.einsum("...mi,...mj->...ij", A1, A1)  # [..., d_head, d_head]: A1ᵀ A1
    G_B1 = np.einsum("...im,...jm->...ij", B1, B1)  # [..., d_head, d_head]: B1 B1ᵀ
    G_A2 = np.einsum("...mi,...mj->...ij", A2, A2)  # [..., d_head, d_head]
    G_B2 = np.einsum("...im,...jm->...ij", B2, B2)  # [..., d_head, d_head]
    # rounding can make an exact 0 slightly negative before the square root
    norm_L = np.sqrt(np.maximum(np.einsum("...ij,...ji->...", G_A1, G_B1), 0.0))  # [...]
    norm_R = np.sqrt(np.maximum(np.einsum("...ij,...ji->...", G_A2, G_B2), 0.0))  # [...]
    M = np.matmul(B1, A2)  # [..., d_head, d_head]
    sq = np.einsum("...ij,...ij->...", np.matmul(G_A1, M), np.matmul(M, G_B2))  # [...]: tr(A1ᵀA1 M B2B2ᵀ Mᵀ)
    norm_LR = np.sqrt(np.maximum(sq, 0.0))  # [...]
    den = norm_L * norm_R  # [...]
    return np.divide(norm_LR, den, out=np.zeros(np.broadcast(norm_LR, den).shape), where=den > 0)


def composition_scores(weights: Weights, mode: CompositionMode) -> np.ndarray:
    """Q-, K- or V-composition score of every pair of heads (Elhage et al. 2021).

    ``score = ‖L R‖_F / (‖L‖_F ‖R‖_F)`` with ``L = W_OV`` of the earlier head and
    ``R = W_QK`` (Q), ``W_QKᵀ`` (K) or ``W_OV`` (V) of the later one, biases
    excluded. The layout is TransformerLens' ``all_composition_scores``:
    ``[l1, h1, l2, h2]``, zero unless ``l1 < l2``. Compare against
    :func:`composition_baseline`, not against 0.

    Returns
    -------
    np.ndarray
        [n_layers, n_heads, n_layers, n_heads] float64.
    """
    if mode not in COMPOSITION_MODES:
        raise ValueError(f"mode: expected one of {COMPOSITION_MODES}, got {mode!r}")
    cfg = weights.config
    L, H = cfg.n_layers, cfg.n_heads
    # every head of every layer on one axis
    W_Q, W_K, W_V, W_O = (_all_heads(weights, n) for n in ("W_Q", "W_K", "W_V", "W_O"))  # [L*H, ., .] each
    if mode == "Q":
        A2, B2 = W_Q, W_K.transpose(0, 2, 1)  # W_QK = W_Q W_Kᵀ
    elif mode == "K":
        A2, B2 = W_K, W_Q.transpose(0, 2, 1)  # W_QKᵀ = W_K W_Qᵀ
    else:
        A2, B2 = W_V, W_O  # W_OV
    # earlier heads on axis 0, later heads on axis 1
    scores = _frobenius_ratio(W_V[:, None], W_O[:, None], A2[None], B2[None])  # [L*H, L*H]
    scores = scores.reshape(L, H, L, H)  # [l1, h1, l2, h2]
    earlier = np.arange(L)[:, None, None, None] < np.arange(L)[None, None, :, None]  # [l1, 1, l2, 1]
    return np.where(earlier, scores, 0.0)


@dataclass(frozen=True)
class CompositionBaseline:
    """Composition scores of random rank-d_head products: the level that means "no composition"."""

    mean: float  # mean score over the samples
    std: float  # standard deviation over the samples
    samples: np.ndarray  # [n_samples] the individual scores
    d_model: int  # the sizes sampled for
    d_head: int
    seed: int  # the seed that reproduces them


def iter_composition_baseline(
    d_model: int, d_head: int, n_samples: int = 1000, seed: int = 0, chunk_size: int = 100
) -> Generator[tuple[int, int], None, CompositionBaseline]:
    """Sample the composition score of unrelated heads, yielding progress.

    Each sample is ``‖L R‖_F / (‖L‖_F ‖R‖_F)`` with ``L = A1 B1`` and ``R = A2 B2``,
    all four factors i.i.d. Gaussian ([d_model, d_head] and [d_head, d_model]).
    The numbers drawn do not depend on ``chunk_size``, so the result is fixed by
    the seed alone.

    Yields
    ------
    done, total
        samples drawn so far and ``n_samples``; the GUI runs this in a worker
        and can stop it between chunks.

    Returns
    -------
    CompositionBaseline
        as the generator's return value (``StopIteration.value``).
    """
    if d_model < 1 or d_head < 1 or n_samples < 1 or chunk_size < 1:
        raise ValueError(
            f"expected positive sizes, got d_model={d_model}, d_head={d_head}, "
            f"n_samples={n_samples}, chunk_size={chunk_size}"
        )
    rng = np.random.default_rng(seed)
    samples = np.empty(n_samples)  # [n_samples]
    done = 0
    yield done, n_samples
    while done < n_samples:
        k = min(chunk_size, n_samples - done)
        # one draw per chunk, in a fixed order, so chunking does not change the stream
        f = rng.standard_normal((k, 4, d_model, d_head))  # [sample, factor, d_model, d_head]
        A1, B1 = f[:, 0], f[:, 1].transpose(0, 2, 1)  # [sample, d_model, d_head], [sample, d_head, d_model]
        A2, B2 = f[:, 2], f[:, 3].transpose(0, 2, 1)
        samples[done : done + k] = _frobenius_ratio(A1, B1, A2, B2)  # [sample]
        done += k
        yield done, n_samples
    return CompositionBaseline(float(samples.mean()), float(samples.std()), samples, d_model, d_head, seed)


def composition_baseline(
    d_model: int, d_head: int, n_samples: int = 1000, seed: int = 0, chunk_size: int = 100
) -> CompositionBaseline:
    """Run :func:`iter_composition_baseline` to the end (for scripts and tests)."""
    gen = iter_composition_baseline(d_model, d_head, n_samples, seed, chunk_size)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value
