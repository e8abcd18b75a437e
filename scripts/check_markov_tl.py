"""Load a Markov-chain model folder in TransformerLens and compare its logits with the engine's.

Development only: it imports torch and transformer_lens, which the app never
needs. Run it with a Python that has them installed, from the repository root::

    induction-gui train --preset markov-chains --out RUN         # the app's own Python
    python scripts/check_markov_tl.py RUN/model                   # prints the differences
    python scripts/check_markov_tl.py RUN/model --write-golden    # (re)writes tests/data/markov_tl/

The folder is what ``induction-gui train --preset markov-chains`` writes
(``config.json`` + ``model.safetensors``): vocabulary = the k states (d_vocab
= k, token id = state, no start token), attention only. It must load with
``HookedTransformerConfig.from_dict`` and ``load_state_dict(strict=False)``
missing only TransformerLens' buffers, and TransformerLens must give the
engine's logits and attention patterns on chain sequences fed as token ids
(nothing prepended).

``--write-golden`` copies the folder to ``tests/data/markov_tl/`` with
``expected.npz``: ``tokens`` [4, n_ctx] (chains drawn by the engine's
``sample_chains``, seed 0) and TransformerLens' ``logits`` from a float64 copy
of the model, the reference ``tests/model/test_markov_model_folder.py``
checks the engine against.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from transformer_lens import HookedTransformer, HookedTransformerConfig

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from induction_gui.engine import Weights, run_with_cache  # noqa: E402
from induction_gui.engine.markov import MarkovTask, sample_chains  # noqa: E402

GOLDEN = ROOT / "tests" / "data" / "markov_tl"
BUFFERS = ("mask", "IGNORE", "rotary_sin", "rotary_cos")
N_SEQUENCES = 4


def load_tl(folder: Path, dtype: torch.dtype) -> HookedTransformer:
    """The folder as a notebook user loads it: config from config.json, the state dict without buffers."""
    cfg = json.loads((folder / "config.json").read_text())
    cfg["dtype"] = dtype
    with warnings.catch_warnings():  # 3.x announces its successor
        warnings.simplefilter("ignore", DeprecationWarning)
        model = HookedTransformer(HookedTransformerConfig.from_dict(cfg))
    state = {k: v.to(dtype) for k, v in load_file(str(folder / "model.safetensors")).items()}
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith(BUFFERS)]
    if missing or result.unexpected_keys:
        raise SystemExit(f"{folder}: missing {missing}, unexpected {result.unexpected_keys}")
    model.eval()
    return model


def chain_tokens(k: int, n_ctx: int) -> np.ndarray:
    """[N_SEQUENCES, n_ctx] int64 chain sequences, each from its own random chain (seed 0)."""
    return sample_chains(MarkovTask(k=k, T=n_ctx), N_SEQUENCES, np.random.default_rng(0)).tokens


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a model folder written by `induction-gui train --preset markov-chains`")
    parser.add_argument("--write-golden", action="store_true", help=f"copy it with TL's logits to {GOLDEN}")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)

    tl32, tl64 = load_tl(args.folder, torch.float32), load_tl(args.folder, torch.float64)
    c = tl32.cfg
    print(f"TransformerLens config: d_vocab {c.d_vocab}, n_ctx {c.n_ctx}, n_layers {c.n_layers}, n_heads {c.n_heads}, "
          f"d_model {c.d_model}, attn_only {c.attn_only}, normalization {c.normalization_type}, "
          f"default_prepend_bos {c.default_prepend_bos}")
    weights = Weights.load(args.folder)
    tokens = chain_tokens(c.d_vocab, c.n_ctx)
    ours, cache = run_with_cache(weights, tokens)  # [batch, pos, d_vocab], float32
    theirs32, tl_cache = tl32.run_with_cache(torch.from_numpy(tokens))
    theirs64 = tl64(torch.from_numpy(tokens)).numpy()
    scale = float(np.abs(theirs64).max())
    print(f"{N_SEQUENCES} chains x {c.n_ctx} tokens, largest |logit| {scale:.3f}")
    print(f"engine vs TransformerLens float32: max |logit diff| {np.abs(ours - theirs32.numpy()).max():.3g}")
    print(f"engine vs TransformerLens float64: max |logit diff| {np.abs(ours - theirs64).max():.3g}")
    for layer in range(c.n_layers):
        name = f"blocks.{layer}.attn.hook_pattern"
        print(f"{name}: max |diff| {np.abs(cache[name] - tl_cache[name].numpy()).max():.3g}")
    # the shorter prefix a learner types: positions 0..36 only
    short = np.abs(run_with_cache(weights, tokens[:, :37])[0] - theirs64[:, :37]).max()
    print(f"first 37 tokens: max |logit diff| vs float64 {short:.3g}")

    if args.write_golden:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "model.safetensors"):
            shutil.copyfile(args.folder / name, GOLDEN / name)
        np.savez_compressed(GOLDEN / "expected.npz", tokens=tokens, logits=theirs64)
        print(f"wrote {GOLDEN.relative_to(ROOT)}/ (config.json, model.safetensors, expected.npz)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
