"""One forward pass and what every view reads from it: logits, probabilities, loss, cache.

:func:`compute_results` is pure, so a worker thread may run it on a snapshot
while the learner keeps editing; the analysis keeps the newest and drops
results of an older document generation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .. import engine
from ..engine.forward import Overrides
from ..engine.metrics import score_patterns


@dataclass
class Results:
    """Everything the views draw from one forward pass (batch of one sequence)."""

    generation: int  # the document generation these belong to
    tokens: np.ndarray  # [pos] int64
    logits: np.ndarray  # [pos, d_vocab]
    probs: np.ndarray  # [pos, d_vocab] softmax of the logits
    loss: np.ndarray  # [pos - 1] loss of predicting token i+1 at position i
    cache: engine.ActivationCache  # batch dimension kept, as TransformerLens
    elapsed_ms: float = 0.0  # wall time of compute_results
    warnings: list[str] = field(default_factory=list)  # non-finite values, named
    _scores: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # detector_key -> [layer, head]
    # shared by every detector score of this run: patterns stacked once, detection patterns built once
    _stacked: np.ndarray | None = field(default=None, repr=False)
    _detection: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _total: np.ndarray | None = field(default=None, repr=False)  # [batch, layer, head_index] Σ A

    @property
    def n_layers(self) -> int:
        return sum(1 for name in self.cache if name.endswith("attn.hook_pattern"))

    def pattern(self, layer: int, head: int) -> np.ndarray:
        """[query_pos, key_pos] pattern of one head."""
        return self.cache["pattern", layer][0, head]

    def patterns(self) -> np.ndarray:
        """[layer, head_index, query_pos, key_pos] every head's pattern, stacked once per run."""
        if self._stacked is None:
            self._stacked = np.stack(
                [self.cache["pattern", layer] for layer in range(self.n_layers)], axis=1
            )  # [batch, layer, head_index, query_pos, key_pos]
            self._total = self._stacked.sum(axis=(-2, -1), dtype=np.float64)  # [batch, layer, head_index]
        return self._stacked[0]

    def score(self, pattern: str, measure: str = "mul", exclude_bos: bool = False) -> np.ndarray:
        """[n_layers, n_heads] head-detector score, computed on first use and kept.

        Lazy because only visible views ask: scoring every variant on every
        keystroke would cost more than the forward pass on long sequences.
        """
        key = detector_key(pattern, measure, exclude_bos)
        if key not in self._scores:
            self.patterns()
            assert self._stacked is not None
            if pattern not in self._detection:
                self._detection[pattern] = _detection_pattern(pattern, self.tokens)  # [1, q, k]
            with np.errstate(invalid="ignore", divide="ignore"):
                self._scores[key] = score_patterns(
                    self._stacked, self._detection[pattern], exclude_bos=exclude_bos,
                    exclude_current_token=False, error_measure=measure, total=self._total,
                )[0]  # [layer, head_index]
        return self._scores[key]


def detector_key(pattern: str, measure: str, exclude_bos: bool) -> str:
    """Key of one detector variant, e.g. ``induction_head/mul/exclude_bos``."""
    return f"{pattern}/{measure}" + ("/exclude_bos" if exclude_bos else "")


_DETECTION_CACHE: dict[tuple[str, bytes], np.ndarray] = {}
_DETECTION_CACHE_SIZE = 12


def _detection_pattern(pattern: str, tokens: np.ndarray) -> np.ndarray:
    """[1, pos, pos] detection pattern, reused across recomputes while the tokens stay the same.

    Weight edits (the common case while dragging) keep the sequence, and
    building the three patterns costs more than scoring with them at 512 tokens.
    """
    key = (pattern, tokens.tobytes())
    found = _DETECTION_CACHE.get(key)
    if found is None:
        found = engine.detection_pattern(pattern, tokens)[None]
        found.flags.writeable = False
        if len(_DETECTION_CACHE) >= _DETECTION_CACHE_SIZE:
            _DETECTION_CACHE.pop(next(iter(_DETECTION_CACHE)))
        _DETECTION_CACHE[key] = found
    return found


def compute_results(
    weights: engine.Weights,
    tokens: np.ndarray,
    overrides: Overrides,
    generation: int = 0,
) -> Results:
    """One forward pass plus loss and probabilities; pure, so a worker thread may run it.

    Non-finite activations (weights so large that the scores overflow) are not
    hidden: they are listed in ``warnings`` by hook name, and the views show them.
    """
    start = time.perf_counter()
    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)  # [pos]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        logits_b, cache = engine.run_with_cache(weights, tokens, overrides)  # [1, pos, d_vocab]
        logits = logits_b[0]  # [pos, d_vocab]
        log_probs = engine.metrics.log_softmax(logits.astype(np.float64))  # [pos, d_vocab]
        probs = np.exp(log_probs)  # [pos, d_vocab]
        loss = -log_probs[np.arange(tokens.size - 1), tokens[1:]]  # [pos - 1]
    warnings = []
    n_layers = weights.config.n_layers
    finite = bool(np.isfinite(logits).all() and np.isfinite(cache["resid_post", n_layers - 1]).all())
    with np.errstate(over="ignore", invalid="ignore"):
        # every non-finite activation reaches the last residual stream, so only then name the culprits
        for name in [] if finite else cache:
            # masked scores are −inf by definition; hook_result is computed lazily and
            # is finite whenever hook_attn_out is
            if name.endswith(("hook_attn_scores", "hook_result")):
                continue
            a = cache[name]
            if not np.isfinite(a).all():
                warnings.append(f"{name} has {int(np.size(a) - np.isfinite(a).sum())} non-finite values")
    if not np.isfinite(logits).all():
        warnings.append("logits are not finite: a weight is too large for float32")
    elapsed = (time.perf_counter() - start) * 1e3
    return Results(generation, tokens, logits, probs, loss, cache, elapsed, warnings)
