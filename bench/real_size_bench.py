"""Real sizes: attn-only-2l's shapes (d_vocab 48,262, d_model 512, 8 heads × 64, n_ctx 2048), 1 thread.

``real_attention_cache_ms_T{128,2048}``: the forward pass without the
unembedding (TransformerLens' ``run_with_cache(tokens, return_type=None)``);
``real_forward_with_logits_ms_T128``: the same with the logits;
``real_peak_rss_gb_T2048``: a fresh process that runs the window's forward
pass at T = 2048 with its logits, probabilities and loss (``ru_maxrss``);
``real_edit_to_attention_paint_p95_ms_T256``: one weight cell edited through
the undo stack to the visible attention views repainted, at T = 256, with the
logits left to the slow tier. TransformerLens' numbers for the same sizes come
from the dev-only ``bench/compare_transformer_lens.py --real-sizes``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from bench import Metric, register
from bench.engine_bench import median_ms

REPO = Path(__file__).resolve().parents[1]
REAL_SIZES = dict(n_layers=2, n_heads=8, d_model=512, d_head=64, d_vocab=48262, n_ctx=2048)
PEAK_RSS_TARGET_GB = 3.0
EDIT_TO_PAINT_TARGET_MS = 50.0

_PEAK_RSS = """
import resource, sys
import numpy as np
from induction_gui import engine
from induction_gui.analysis import compute_results
cfg = engine.ModelConfig(**{sizes})
weights = engine.Weights.random(cfg, seed=0)
tokens = np.random.default_rng(0).integers(0, cfg.d_vocab, 2048)
results = compute_results(weights, tokens, {{}})
results.unembed()  # logits [pos, d_vocab], probabilities and loss, as the Predictions view reads them
print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def real_config():
    from induction_gui import engine

    return engine.ModelConfig(**REAL_SIZES)


def _peak_rss_gb() -> float:
    env = {"OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", _PEAK_RSS.format(sizes=REAL_SIZES)], capture_output=True,
                         text=True, env=env, cwd=REPO, timeout=600)
    for line in out.stdout.splitlines():
        if line.startswith("MAXRSS_KB"):
            return int(line.split()[1]) / 2**20
    raise RuntimeError(f"peak RSS benchmark failed: {out.stderr[-2000:]}")


def _edit_to_attention_paint(n_pos: int, n_edits: int) -> list[float]:
    """Edit to attention views repainted at attn-only-2l's sizes, ``[BOS, r, r]`` of ``n_pos`` tokens."""
    from induction_gui import engine
    from induction_gui.model.scenario import Scenario

    from bench.gui_bench import edit_to_paint

    cfg = real_config()
    rng = np.random.default_rng(0)
    block = rng.integers(1, cfg.d_vocab, (n_pos - 1) // 2)
    scenario = Scenario(title=f"bench real T={n_pos}", vocab=[f"t{i}" for i in range(cfg.d_vocab)],
                        tokens=np.concatenate([[0], block, block]), weights=engine.Weights.random(cfg, seed=0), bos=0)
    return edit_to_paint(scenario, n_edits)


@register("real_sizes")
def bench_real_sizes(quick: bool) -> dict[str, Metric]:
    from induction_gui import engine
    from induction_gui.engine.attention_cache import run_attention_cache

    cfg = real_config()
    weights = engine.Weights.random(cfg, seed=0)
    rng = np.random.default_rng(0)
    out: dict[str, Metric] = {}
    for n_pos, repeats in ((128, 30), (2048, 5)):
        tokens = rng.integers(0, cfg.d_vocab, size=(1, n_pos))
        ms = median_ms(lambda: run_attention_cache(weights, tokens), max(3, repeats // 5) if quick else repeats,
                       warmup=2)
        out[f"real_attention_cache_ms_T{n_pos}"] = Metric(ms, "ms")
    tokens = rng.integers(0, cfg.d_vocab, size=(1, 128))
    out["real_forward_with_logits_ms_T128"] = Metric(
        median_ms(lambda: engine.run_with_cache(weights, tokens), 3 if quick else 15, warmup=2), "ms")
    del weights
    out["real_peak_rss_gb_T2048"] = Metric(_peak_rss_gb(), "GB", PEAK_RSS_TARGET_GB)
    times = _edit_to_attention_paint(256, 10 if quick else 40)
    out["real_edit_to_attention_paint_p95_ms_T256"] = Metric(float(np.percentile(times, 95)), "ms",
                                                             EDIT_TO_PAINT_TARGET_MS)
    out["real_edit_to_attention_paint_median_ms_T256"] = Metric(float(np.median(times)), "ms")
    return out
