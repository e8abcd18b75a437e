"""Write tests/data/golden_tl/: TransformerLens' own numbers for every config variant the engine implements.

Development only: it imports torch and transformer_lens, which the app never
needs. Run it with a Python that has them installed:

    python scripts/make_tl_goldens.py                    # (re)write the goldens
    python scripts/make_tl_goldens.py --check-export DIR # DIR/<variant>/ from `induction-gui export-model`

For ``--check-export``, first export every golden with the app (its own Python):
``induction-gui export-model tests/data/golden_tl/<variant> --out DIR/<variant>``;
each folder must then load with ``HookedTransformerConfig.from_dict`` and
``load_state_dict(strict=False)`` missing only TransformerLens' buffers, and
give the golden logits.

Each variant folder holds what a notebook user writes (``config.json`` from
``json.dump(model.cfg.to_dict(), f, default=str)`` and ``model.safetensors``
from ``model.state_dict()``) plus ``expected.npz``: ``tokens`` [2, T],
``logits`` and ``cache/<hook>`` for every activation ``run_with_cache`` caches
(``use_attn_result=True``, so ``hook_result`` is among them).

The references run in float64 on the stored weights (float16/bfloat16 weights
widened): the engine computes in float32 and is compared within 1e-4 of each
entry's largest magnitude. Weights are drawn large enough (gains and biases far
from 1 and 0, positional embeddings as large as token embeddings) that every
config key visibly changes the numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformer_lens import HookedTransformer, HookedTransformerConfig

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "golden_tl"
BASE = dict(n_layers=2, d_model=16, n_ctx=16, d_head=4, n_heads=3, d_vocab=23, attn_only=True, act_fn=None)
T = 12
# name -> config overrides; the LN model of "folded" is folded as from_pretrained folds it
VARIANTS: dict[str, dict] = {
    "none_standard": dict(normalization_type=None),
    "ln_standard": dict(normalization_type="LN"),
    "lnpre_standard": dict(normalization_type="LNPre"),
    "rms_standard": dict(normalization_type="RMS", eps=0.05),
    "rmspre_standard": dict(normalization_type="RMSPre"),
    "ln_shortformer": dict(normalization_type="LN", positional_embedding_type="shortformer"),
    "none_shortformer": dict(normalization_type=None, positional_embedding_type="shortformer"),
    "ln_rotary": dict(normalization_type="LN", positional_embedding_type="rotary", rotary_dim=4, rotary_base=50),
    "rms_rotary_adjacent": dict(
        normalization_type="RMS", positional_embedding_type="rotary", rotary_dim=2, rotary_adjacent_pairs=True,
        rotary_base=7,
    ),
    "no_attn_scale": dict(normalization_type="LN", use_attn_scale=False),
    "custom_attn_scale": dict(normalization_type="LN", attn_scale=0.7),
    "float16": dict(normalization_type="LN", dtype=torch.float16),
    "bfloat16": dict(normalization_type="RMS", dtype=torch.bfloat16),
    "folded": dict(normalization_type="LN"),
    "vocab_out": dict(normalization_type="LN", d_vocab_out=11),
    "one_layer": dict(normalization_type="LN", n_layers=1),
    "four_layers": dict(normalization_type="LNPre", n_layers=4, n_heads=2),
}


def _random_state(model: HookedTransformer, seed: int) -> dict[str, torch.Tensor]:
    """Weights far from TransformerLens' init, so that gains, biases and positions all matter."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for name, t in model.state_dict().items():
        if not t.is_floating_point() or name.endswith(("mask", "IGNORE", "rotary_sin", "rotary_cos")):
            sd[name] = t
            continue
        r = torch.randn(t.shape, generator=g, dtype=torch.float64)
        if name.endswith(".w"):
            r = 1.0 + 0.5 * r
        elif name.endswith((".b", "b_Q", "b_K", "b_V", "b_O", "b_U")):
            r = 0.5 * r
        elif name.endswith(("W_E", "W_pos")):
            r = 1.0 * r
        else:
            r = r * (1.5 / np.sqrt(t.shape[-2]))
        sd[name] = r.to(t.dtype)
    return sd


def _reference(cfg_dict: dict, sd: dict[str, torch.Tensor], tokens: torch.Tensor) -> tuple[np.ndarray, dict]:
    """Logits and cache of a float64 HookedTransformer with these weights (widened)."""
    d = {k: v for k, v in cfg_dict.items() if k not in ("n_params",)}
    d["dtype"] = torch.float64
    d["use_attn_result"] = True
    cfg = HookedTransformerConfig.from_dict(d)
    model = HookedTransformer(cfg)
    model.load_state_dict({k: v.double() if v.is_floating_point() else v for k, v in sd.items()}, strict=False)
    model.eval()
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens)
    return logits.numpy(), {k: v.numpy() for k, v in cache.items()}


def make(name: str, overrides: dict, seed: int) -> None:
    torch.manual_seed(seed)
    cfg = HookedTransformerConfig(**{**BASE, **overrides})
    model = HookedTransformer(cfg)
    sd = _random_state(model, seed)
    model.load_state_dict(sd, strict=False)
    if name == "folded":
        # what HookedTransformer.from_pretrained does by default
        model.load_and_process_state_dict(
            sd, fold_ln=True, center_writing_weights=True, center_unembed=True, fold_value_biases=True
        )
    cfg_dict = model.cfg.to_dict()
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(seed)
    half = rng.integers(1, cfg.d_vocab, size=(2, T // 2))
    tokens = torch.tensor(np.concatenate([half, half], axis=1))  # [2, T]: a sequence repeated
    logits, cache = _reference(json.loads(json.dumps(cfg_dict, default=str)), state, tokens)
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "config.json", "w") as f:
        json.dump(cfg_dict, f, default=str, indent=1)
    save_file(state, str(folder / "model.safetensors"))
    arrays = {"tokens": tokens.numpy(), "logits": logits.astype(np.float32)}
    arrays |= {f"cache/{k}": v.astype(np.float32) for k, v in cache.items()}
    np.savez_compressed(folder / "expected.npz", **arrays)
    print(f"{name}: {cfg.normalization_type}, {cfg.positional_embedding_type}, {len(cache)} hooks")


def check_export(root: Path) -> int:
    """Each root/<variant>/ written by export-model loads into TransformerLens with the golden logits."""
    failures = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        cfg = HookedTransformerConfig.from_dict(json.loads((folder / "config.json").read_text()))
        model = HookedTransformer(cfg)
        result = model.load_state_dict(load_file(str(folder / "model.safetensors")), strict=False)
        buffers = ("mask", "IGNORE", "rotary_sin", "rotary_cos")
        missing = [k for k in result.missing_keys if not k.endswith(buffers)]
        expected = np.load(OUT / folder.name / "expected.npz")
        with torch.no_grad():
            logits = model(torch.tensor(expected["tokens"])).float().numpy()
        err = np.abs(logits - expected["logits"]).max() / np.abs(expected["logits"]).max()
        ok = not missing and not result.unexpected_keys and err < 1e-4
        failures += not ok
        print(f"{folder.name}: missing {missing} unexpected {result.unexpected_keys} error {err:.2g} {'ok' if ok else 'FAIL'}")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-export", type=Path, metavar="DIR")
    args = parser.parse_args()
    if args.check_export:
        return check_export(args.check_export)
    torch.set_grad_enabled(False)
    for seed, (name, overrides) in enumerate(VARIANTS.items()):
        make(name, overrides, seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
