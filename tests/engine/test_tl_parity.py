"""Parity with TransformerLens on every config variant the engine implements.

``tests/data/golden_tl/<variant>/`` holds what a notebook writes
(``config.json`` = ``cfg.to_dict()``, ``model.safetensors`` = the state dict)
and TransformerLens' logits and cache on two sequences, made by
``scripts/make_tl_goldens.py`` (development only; see its docstring).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from induction_gui.engine import Weights, run_with_cache

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_tl"
VARIANTS = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())
# The bar: within 1e-4 of the entry's largest TransformerLens value.
# The engine runs in float32 against a float64 reference; we see ≤ 3e-6.
RTOL = 1e-4


def _golden(variant: str) -> tuple[Weights, dict[str, np.ndarray]]:
    weights = Weights.load(GOLDEN / variant)
    with np.load(GOLDEN / variant / "expected.npz", allow_pickle=False) as data:
        return weights, {k: data[k] for k in data.files}


def _close(name: str, got: np.ndarray, ref: np.ndarray) -> None:
    assert got.shape == ref.shape, f"{name}: shape {got.shape} != {ref.shape}"
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(ref), err_msg=f"{name}: −inf positions")
    finite = np.isfinite(ref)
    tol = RTOL * max(np.abs(ref[finite]).max(), 1e-30)
    err = np.abs(got[finite] - ref[finite]).max()
    assert err <= tol, f"{name}: max error {err:.3g} > {tol:.3g}"


def test_there_is_a_golden_per_variant() -> None:
    assert len(VARIANTS) >= 17


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_cache_entry_and_the_logits_match(variant: str) -> None:
    weights, golden = _golden(variant)
    logits, cache = run_with_cache(weights, golden["tokens"])
    hooks = {k.removeprefix("cache/") for k in golden if k.startswith("cache/")}
    assert set(cache) == hooks
    for hook in sorted(hooks):
        _close(hook, cache[hook], golden[f"cache/{hook}"])
    _close("logits", logits, golden["logits"])


@pytest.mark.parametrize("variant", ["ln_rotary", "ln_shortformer"])
def test_a_single_sequence_is_a_batch_of_one(variant: str) -> None:
    weights, golden = _golden(variant)
    logits, cache = run_with_cache(weights, golden["tokens"][1])
    _close("logits", logits, golden["logits"][1:])
    _close("pattern", cache["pattern", -1], golden["cache/blocks.1.attn.hook_pattern"][1:])


@pytest.mark.parametrize(
    "option",
    [
        {"normalization_type": "LNPre"},
        {"normalization_type": "RMS"},
        {"normalization_type": "RMSPre"},
        {"normalization_type": None},
        {"positional_embedding_type": "shortformer"},
        {"use_attn_scale": False},
        {"attn_scale": 0.7},
        {"eps": 0.05},
    ],
    ids=repr,
)
def test_each_option_visibly_changes_the_numbers(option: dict) -> None:
    """A wrong guess must fail: the same arrays under another option differ by far more than the tolerance."""
    base, golden = _golden("ln_standard")
    config = replace(base.config, **option)
    keep = {"LN": (".w", ".b"), "RMS": (".w",)}.get(config.normalization_type or "", ())
    params = {k: v for k, v in base.items() if "ln" not in k.split(".")[-2] or k.endswith(keep)}
    other = Weights(params, config=config)
    ref, got = run_with_cache(base, golden["tokens"])[0], run_with_cache(other, golden["tokens"])[0]
    assert np.abs(got - ref).max() > 100 * RTOL * np.abs(ref).max()


def test_transformer_lens_indexing_forms() -> None:
    weights, golden = _golden("ln_rotary")
    _, cache = run_with_cache(weights, golden["tokens"])
    last = cache["blocks.1.attn.hook_pattern"]
    assert cache["pattern", 1] is last
    assert cache["pattern", -1] is last
    assert cache["pattern", -1, "attn"] is last
    assert cache["attn", 1] is last
    assert cache["z", 1] is cache["blocks.1.attn.hook_z"]
    assert cache["k1"] is cache["blocks.1.attn.hook_k"]
    assert cache["rot_q", 0] is cache["blocks.0.attn.hook_rot_q"]
    assert cache["scale", 0, "ln1"] is cache["blocks.0.ln1.hook_scale"]
    assert cache["scale4ln1".replace("4", "1")] is cache["blocks.1.ln1.hook_scale"]
    assert cache["normalized"] is cache["ln_final.hook_normalized"]
    assert cache["scale"] is cache["ln_final.hook_scale"]
    assert cache["resid_post", -2] is cache["blocks.0.hook_resid_post"]
    assert cache["embed"] is cache["hook_embed"]
    assert ("pattern", -1) in cache and ("pattern", 5) not in cache
    with pytest.raises(KeyError, match="unknown activation"):
        cache["patern", 0]


@pytest.mark.parametrize("variant", ["ln_rotary", "ln_shortformer", "rms_standard"])
def test_head_overrides_work_on_transformer_lens_models(variant: str) -> None:
    from induction_gui.engine import HeadOverride

    weights, golden = _golden(variant)
    tokens = golden["tokens"]
    n = tokens.shape[1]
    _, base = run_with_cache(weights, tokens)
    _, ablated = run_with_cache(weights, tokens, {(0, 1): HeadOverride(ablation="zero")})
    assert not ablated["z", 0][:, :, 1].any()
    np.testing.assert_array_equal(ablated["z", 0][:, :, 0], base["z", 0][:, :, 0])
    uniform = np.tril(np.ones((n, n))) / np.arange(1, n + 1)[:, None]  # [query_pos, key_pos]
    _, fixed = run_with_cache(weights, tokens, {(1, 0): HeadOverride(fixed_pattern=uniform)})
    np.testing.assert_allclose(fixed["pattern", 1][:, 0], np.broadcast_to(uniform, (2, n, n)), atol=1e-6)
    _, cold = run_with_cache(weights, tokens, {(1, 2): HeadOverride(score_scale=0.0)})
    np.testing.assert_allclose(cold["pattern", 1][:, 2], np.broadcast_to(uniform, (2, n, n)), atol=1e-6)
