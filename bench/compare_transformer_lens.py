"""Dev-only: time and check the engine against TransformerLens itself.

Not part of the project or its benchmarks (``bench/__main__.py`` never imports
it) and never a dependency: run it from the repository root with a throwaway
virtualenv outside the project that has PyTorch and TransformerLens::

    python3 -m venv ../tlvenv
    ../tlvenv/bin/pip install torch==2.13.0 'transformer-lens<4'
    ../tlvenv/bin/python bench/compare_transformer_lens.py [--quick]

It builds a ``HookedTransformer`` (attn_only, normalization_type=None) with the
engine's benchmark sizes and the same random weights, checks that every cached
activation and the logits agree, then times ``run_with_cache`` of both at
T = 64 and 1024 on one thread.

``--real-sizes``: attn-only-2l's shapes instead (d_vocab 48,262, d_model 512,
8 heads × 64, n_ctx 2048; standard positions, no LayerNorm), timing the
attention cache (TransformerLens' ``return_type=None``) at T = 128 and 2048 and
the full pass with logits at T = 128, side by side in the same run.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import warnings  # noqa: E402
import torch  # noqa: E402
from transformer_lens import HookedTransformer, HookedTransformerConfig  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root
from bench.engine_bench import CONFIG, median_ms  # noqa: E402
from induction_gui.engine import Weights, run_with_cache  # noqa: E402

# float32 both sides, different summation orders: see tests/engine/test_golden_cache.py
RTOL = 2e-5
PATTERN_ATOL = 1e-4


def build_peer(weights: Weights) -> HookedTransformer:
    """A TransformerLens model with exactly these weights."""
    c = weights.config
    cfg = HookedTransformerConfig(
        n_layers=c.n_layers,
        n_heads=c.n_heads,
        d_model=c.d_model,
        d_head=c.d_head,
        d_vocab=c.d_vocab,
        n_ctx=c.n_ctx,
        attn_only=True,
        normalization_type=None,
        positional_embedding_type="standard",
        act_fn="relu",  # unused without MLPs, but required by the config
        device="cpu",
        dtype=torch.float32,
    )
    with warnings.catch_warnings():  # 3.x announces its successor
        warnings.simplefilter("ignore", DeprecationWarning)
        model = HookedTransformer(cfg)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in weights.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    assert all(k.endswith((".mask", ".IGNORE")) for k in missing), missing  # buffers only
    model.eval()
    return model


def check(weights: Weights, model: HookedTransformer, n_pos: int) -> float:
    """Assert every shared activation agrees; return the worst error relative to each array's max."""
    tokens = np.random.default_rng(1).integers(0, weights.config.d_vocab, size=(2, n_pos))
    logits, cache = run_with_cache(weights, tokens)
    with torch.inference_mode():
        peer_logits, peer_cache = model.run_with_cache(torch.from_numpy(tokens))
    worst = 0.0
    pairs = [("logits", logits, peer_logits.numpy())]
    pairs += [(name, cache[name], peer_cache[name].numpy()) for name in cache if name in peer_cache]
    assert len(pairs) > 10, "too few shared hooks"
    for name, ours, theirs in pairs:
        assert ours.shape == theirs.shape, (name, ours.shape, theirs.shape)
        finite = np.isfinite(theirs)
        np.testing.assert_array_equal(np.isfinite(ours), finite, err_msg=name)
        err = float(np.abs(ours[finite] - theirs[finite]).max())
        scale = 1.0 if name.endswith("hook_pattern") else float(np.abs(theirs[finite]).max())
        tol = PATTERN_ATOL if name.endswith("hook_pattern") else RTOL * scale
        assert err <= tol, f"{name}: max error {err:.3g} > {tol:.3g}"
        worst = max(worst, err / scale)
    return worst


def real_sizes(quick: bool) -> None:
    """The issue's real-size comparison: attention cache and full pass, ours and TransformerLens'."""
    from bench.real_size_bench import real_config
    from induction_gui.engine.attention_cache import run_attention_cache

    cfg = real_config()
    weights = Weights.random(cfg, seed=0)
    model = build_peer(weights)
    print(f"T=128: outputs agree (worst error {check(weights, model, 128):.1e} of max)")
    rng = np.random.default_rng(0)
    results: dict[str, float] = {}

    def peer_cache(tokens_t: torch.Tensor) -> None:
        with torch.inference_mode():
            model.run_with_cache(tokens_t, return_type=None)

    def peer_full(tokens_t: torch.Tensor) -> None:
        with torch.inference_mode():
            model.run_with_cache(tokens_t)

    for what, n_pos, repeats, ours_fn, peer_fn in (
        ("attention_cache", 128, 30, lambda t: run_attention_cache(weights, t), peer_cache),
        ("attention_cache", 2048, 5, lambda t: run_attention_cache(weights, t), peer_cache),
        ("forward_with_logits", 128, 15, lambda t: run_with_cache(weights, t), peer_full),
    ):
        repeats = 3 if quick else repeats
        tokens = rng.integers(0, cfg.d_vocab, size=(1, n_pos))
        tokens_t = torch.from_numpy(tokens)
        ours = median_ms(lambda: ours_fn(tokens), repeats, warmup=2)
        theirs = median_ms(lambda: peer_fn(tokens_t), repeats, warmup=2)
        results |= {f"real_{what}_ms_T{n_pos}": ours, f"transformer_lens_{what}_ms_T{n_pos}": theirs,
                    f"real_{what}_over_transformer_lens_T{n_pos}": ours / theirs}
        print(f"{what} T={n_pos}: engine {ours:.1f} ms, TransformerLens {theirs:.1f} ms; "
              f"TransformerLens/engine = {theirs / ours:.2f}x")
    print(json.dumps({k: round(v, 4) for k, v in results.items()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--real-sizes", action="store_true", help="attn-only-2l's shapes (see the docstring)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.real_sizes:
        real_sizes(args.quick)
        return
    weights = Weights.random(CONFIG, seed=0)
    model = build_peer(weights)
    for n_pos in (64, 1024):
        print(f"T={n_pos}: outputs agree (worst error {check(weights, model, n_pos):.1e} of max)")

    results: dict[str, float] = {}
    rng = np.random.default_rng(0)
    for n_pos, repeats in ((64, 500), (1024, 20)):
        repeats = max(3, repeats // 10) if args.quick else repeats
        tokens = rng.integers(0, CONFIG.d_vocab, size=(1, n_pos))
        tokens_t = torch.from_numpy(tokens)
        ours = median_ms(lambda: run_with_cache(weights, tokens), repeats)

        def peer() -> None:
            with torch.inference_mode():
                model.run_with_cache(tokens_t)

        def peer_grad() -> None:  # TransformerLens' default: autograd on
            model.run_with_cache(tokens_t)

        theirs = median_ms(peer, repeats)
        theirs_grad = median_ms(peer_grad, repeats)
        results |= {
            f"engine_forward_ms_T{n_pos}": ours,
            f"transformer_lens_ms_T{n_pos}": theirs,
            f"transformer_lens_grad_ms_T{n_pos}": theirs_grad,
            f"engine_over_transformer_lens_T{n_pos}": ours / theirs,
        }
        print(
            f"T={n_pos}: engine {ours:.3f} ms, TransformerLens {theirs:.3f} ms "
            f"(with autograd {theirs_grad:.3f} ms); engine/peer = {ours / theirs:.2f}"
        )
    print(json.dumps({k: round(v, 4) for k, v in results.items()}))


if __name__ == "__main__":
    main()
