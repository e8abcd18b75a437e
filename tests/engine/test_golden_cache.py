"""Parity with TransformerLens: every cached activation and the logits of three golden models.

The references were computed by TransformerLens 3.9 (``HookedTransformer``,
attn_only, no LayerNorm) in float64 from float32 weights; see
``tests/data/golden/README.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from induction_gui.engine import Weights, act_name, run_with_cache

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
MODELS = ("tiny", "small", "deep")

# float32 engine vs float64 reference. One float32 rounding is 6e-8 relative;
# a forward pass chains a few dozen of them through sums of up to d_model
# terms, which measures ≤ 1e-5 of each array's largest magnitude on these
# models. 2e-5 leaves headroom for other BLAS kernels' summation orders.
RTOL_F32 = 2e-5
# Patterns are the exception: softmax turns an absolute score error δ into a
# pattern error of up to δ/4 where two keys nearly tie, and these random
# models have scores up to 1e3..1e6, so δ ≈ 6e-8·|score| reaches 1e-4; we see
# up to 5e-5 (a probability, so absolute).
PATTERN_ATOL_F32 = 1e-4
# float64 engine vs float64 reference: only summation order differs (we see 1e-13).
RTOL_F64 = 1e-11


def _load(name: str) -> tuple[Weights, dict[str, np.ndarray]]:
    weights = Weights.load(GOLDEN / f"{name}.safetensors")
    with np.load(GOLDEN / f"{name}.npz", allow_pickle=False) as data:
        return weights, {k: data[k] for k in data.files}


def _assert_close(name: str, got: np.ndarray, ref: np.ndarray, rtol: float, pattern_atol: float) -> None:
    assert got.shape == ref.shape, f"{name}: shape {got.shape} != {ref.shape}"
    # masked attention scores are −inf in both, at exactly the same places
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(ref), err_msg=f"{name}: −inf positions")
    finite = np.isfinite(ref)
    assert np.isfinite(got[finite]).all(), f"{name}: non-finite value where the reference is finite"
    if name.endswith("hook_pattern"):
        tol = pattern_atol
    else:
        tol = rtol * np.abs(ref[finite]).max()
    err = np.abs(got[finite] - ref[finite]).max()
    assert err <= tol, f"{name}: max error {err:.3g} > tolerance {tol:.3g}"


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    ("dtype", "rtol", "pattern_atol"),
    [(np.float32, RTOL_F32, PATTERN_ATOL_F32), (np.float64, RTOL_F64, RTOL_F64)],
    ids=["float32", "float64"],
)
def test_every_hook_and_logits_match_transformer_lens(model: str, dtype: type, rtol: float, pattern_atol: float) -> None:
    weights, golden = _load(model)
    logits, cache = run_with_cache(weights, golden["tokens"], dtype=dtype)
    hooks = [k.removeprefix("cache/") for k in golden if k.startswith("cache/")]
    assert hooks, "golden file has no cached activations"
    n_layers = weights.config.n_layers
    # the golden set is every hook TransformerLens 3.9 caches without use_attn_result;
    # we cache those plus hook_result and the unembed's hooks, which later versions have
    unembed = {"unembed.hook_in", "unembed.hook_out"}
    assert set(cache) == set(hooks) | {act_name("result", layer) for layer in range(n_layers)} | unembed
    for hook in hooks:
        got = cache[hook]
        assert got.dtype == dtype, f"{hook}: dtype {got.dtype}"
        _assert_close(hook, got, golden[f"cache/{hook}"], rtol, pattern_atol)
    assert logits.dtype == dtype
    _assert_close("logits", logits, golden["logits"], rtol, pattern_atol)


@pytest.mark.parametrize("model", MODELS)
def test_masked_scores_are_minus_inf_exactly_above_the_diagonal(model: str) -> None:
    weights, golden = _load(model)
    _, cache = run_with_cache(weights, golden["tokens"])
    n_pos = golden["tokens"].shape[1]
    above = np.triu(np.ones((n_pos, n_pos), bool), k=1)  # [query_pos, key_pos]
    for layer in range(weights.config.n_layers):
        scores = cache["attn_scores", layer]  # [batch, head_index, query_pos, key_pos]
        assert np.isneginf(scores[..., above]).all()
        assert np.isfinite(scores[..., ~above]).all()


def test_pattern_by_short_name_and_layer() -> None:
    weights, golden = _load("small")
    _, cache = run_with_cache(weights, golden["tokens"])
    assert cache["pattern", 1] is cache["blocks.1.attn.hook_pattern"]
    assert cache["attn", 1] is cache["blocks.1.attn.hook_pattern"]  # TransformerLens' alias
    np.testing.assert_allclose(cache["pattern", 1], golden["cache/blocks.1.attn.hook_pattern"], atol=PATTERN_ATOL_F32)


@pytest.mark.parametrize("model", MODELS)
def test_head_results_sum_to_attn_out(model: str) -> None:
    """hook_result is not in the golden files (TransformerLens caches it only with use_attn_result)."""
    weights, golden = _load(model)
    _, cache = run_with_cache(weights, golden["tokens"], dtype=np.float64)
    for layer in range(weights.config.n_layers):
        result = cache["result", layer]  # [batch, pos, head_index, d_model]
        b_O = weights[f"blocks.{layer}.attn.b_O"]
        np.testing.assert_allclose(
            result.sum(axis=2) + b_O, golden[f"cache/blocks.{layer}.hook_attn_out"], rtol=1e-10, atol=1e-10
        )
