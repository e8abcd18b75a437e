"""Engine forward-pass timings: median ``run_with_cache`` at several lengths.

The model is the app's default size (2 layers × 4 heads, d_model 64, d_head 16,
d_vocab 64), batch 1, float32, random weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from bench import Metric, register
from induction_gui.engine import ModelConfig, Weights, run_with_cache
from induction_gui.engine.attention import release_buffers

CONFIG = ModelConfig(n_layers=2, n_heads=4, d_model=64, d_head=16, d_vocab=64, n_ctx=1024)
# position count -> budget in ms (None: informational)
TARGETS_MS: dict[int, float | None] = {16: None, 64: 0.28, 256: None, 1024: 45.0}
# position count -> (timed calls, quick timed calls); about a second each
REPEATS: dict[int, tuple[int, int]] = {16: (3000, 300), 64: (2000, 200), 256: (200, 20), 1024: (30, 5)}


def median_ms(fn: Callable[[], object], repeats: int, warmup: int = 5) -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    for _ in range(warmup):
        fn()
    times = np.empty(repeats)
    for i in range(repeats):
        t0 = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - t0
    return float(np.median(times)) * 1e3


@register("engine")
def engine_forward(quick: bool) -> dict[str, Metric]:
    """``engine_forward_ms_T{n}``; plus ``..._T1024_fresh``: no recycled output arrays."""
    weights = Weights.random(CONFIG, seed=0)
    rng = np.random.default_rng(0)
    out: dict[str, Metric] = {}
    for n_pos, target in TARGETS_MS.items():
        tokens = rng.integers(0, CONFIG.d_vocab, size=(1, n_pos))
        repeats = REPEATS[n_pos][1 if quick else 0]
        ms = median_ms(lambda: run_with_cache(weights, tokens), repeats)
        out[f"engine_forward_ms_T{n_pos}"] = Metric(ms, "ms", target)

    # Without recycled output arrays (each from the system, as for a caller
    # that keeps every cache): release the pool before each timed call.
    tokens = rng.integers(0, CONFIG.d_vocab, size=(1, 1024))
    times = []
    for _ in range(3 if quick else 10):
        release_buffers()
        t0 = time.perf_counter()
        run_with_cache(weights, tokens)
        times.append(time.perf_counter() - t0)
    out["engine_forward_ms_T1024_fresh"] = Metric(float(np.median(times)) * 1e3, "ms")
    return out
