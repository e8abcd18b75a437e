"""One forward pass and what every view reads from it: logits, probabilities, loss, cache.

:func:`compute_results` is pure, so a worker thread may run it on a snapshot
while the learner keeps editing; the analysis keeps the newest and drops
results of an older document generation.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .. import engine
from ..engine import budget
from ..engine.attention_cache import run_attention_cache
from ..engine.forward import Overrides
from ..engine.metrics import score_patterns
from .sizes import logits_are_slow_for


@dataclass
class Results:
    """Everything the views draw from one forward pass (batch of one sequence).

    The logits, probabilities and loss of a large model are computed after the
    attention cache, on first use (:meth:`unembed`; the analysis's ``logits``
    entry does it in a worker), so the attention views never wait for them.
    """

    generation: int  # the document generation these belong to
    tokens: np.ndarray  # [pos] int64
    _logits: np.ndarray | None = field(repr=False)  # [pos, d_vocab], None until unembedded
    _probs: np.ndarray | None = field(repr=False)  # [pos, d_vocab] softmax of the logits
    _loss: np.ndarray | None = field(repr=False)  # [pos - 1] loss of predicting token i+1 at position i
    cache: engine.ActivationCache  # batch dimension kept, as TransformerLens
    elapsed_ms: float = 0.0  # wall time of compute_results (the attention cache alone if unembedded later)
    warnings: list[str] = field(default_factory=list)  # non-finite values, named
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _scores: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # detector_key -> [layer, head]
    # shared by every detector score of this run: patterns stacked once, detection patterns built once
    _stacked: np.ndarray | None = field(default=None, repr=False)
    _detection: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _total: np.ndarray | None = field(default=None, repr=False)  # [batch, layer, head_index] Σ A

    @property
    def unembedded(self) -> bool:
        """True once the logits, probabilities and loss are there (reading them never waits)."""
        return self._logits is not None

    def unembed(self) -> Results:
        """Compute the logits, probabilities and loss if they are not there yet (any thread; once)."""
        with self._lock:
            if self._logits is None:
                logits = self.cache["unembed.hook_out"][0]  # [pos, d_vocab], computed now and kept in the cache
                self._probs, self._loss = _probabilities(logits, self.tokens)
                if not np.isfinite(logits).all():
                    self.warnings.append(LOGITS_NOT_FINITE)
                self._logits = logits
        return self

    @property
    def logits(self) -> np.ndarray:
        """[pos, d_vocab]"""
        return self.unembed()._logits  # type: ignore[return-value]

    @property
    def probs(self) -> np.ndarray:
        """[pos, d_vocab] softmax of the logits"""
        return self.unembed()._probs  # type: ignore[return-value]

    @property
    def loss(self) -> np.ndarray:
        """[pos - 1] loss of predicting token i+1 at position i"""
        return self.unembed()._loss  # type: ignore[return-value]

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


LOGITS_NOT_FINITE = "logits are not finite: a weight is too large for float32"
EXP_ONCE_ABOVE = 4096  # vocabularies above this get probabilities with one exp per logit instead of two


def _probabilities(logits: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities [pos, d_vocab] and loss [pos - 1] of float32 ``logits`` [pos, d_vocab].

    The log-softmax runs in float64 on one row block at a time, so no
    float64 copy of the whole [pos, d_vocab] logits is ever held.
    """
    n_pos, d_vocab = logits.shape
    probs = np.empty((n_pos, d_vocab), dtype=np.float64)  # [pos, d_vocab]
    loss = np.empty(max(n_pos - 1, 0), dtype=np.float64)  # [pos - 1]
    step = budget.rows_per_chunk((d_vocab,), np.float64, budget.TEMPORARY_BYTES // 4)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for start in range(0, n_pos, step):
            rows = slice(start, min(start + step, n_pos))
            i = np.arange(rows.start, rows.stop)  # [chunk] positions
            has_next = i < n_pos - 1
            nxt = tokens[i[has_next] + 1]  # [chunk'] the token each position predicts
            if d_vocab <= EXP_ONCE_ABOVE:  # the lecture's sizes: exactly as the engine's log-softmax
                log_probs = engine.metrics.log_softmax(logits[rows].astype(np.float64))  # [chunk, d_vocab]
                loss[i[has_next]] = -log_probs[has_next, nxt]
                np.exp(log_probs, out=probs[rows])
                continue
            # a large vocabulary: one exp per logit, not two (equal up to rounding)
            shifted = logits[rows].astype(np.float64)  # [chunk, d_vocab]
            shifted -= shifted.max(axis=-1, keepdims=True)
            p = probs[rows]  # [chunk, d_vocab] a view written in place
            np.exp(shifted, out=p)
            total = p.sum(axis=-1, keepdims=True)  # [chunk, 1]
            p /= total
            loss[i[has_next]] = np.log(total[has_next, 0]) - shifted[has_next, nxt]
    return probs, loss


def compute_results(
    weights: engine.Weights,
    tokens: np.ndarray,
    overrides: Overrides,
    generation: int = 0,
    *,
    logits: bool | None = None,
) -> Results:
    """One forward pass plus loss and probabilities; pure, so a worker thread may run it.

    ``logits=False`` stops at the attention cache (TransformerLens'
    ``return_type=None``) and leaves the unembedding to :meth:`Results.unembed`;
    the default does so exactly when the unembedding would not fit in a frame
    (:func:`.sizes.logits_are_slow_for`).

    Non-finite activations (weights so large that the scores overflow) are not
    hidden: they are listed in ``warnings`` by hook name, and the views show them.
    """
    start = time.perf_counter()
    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)  # [pos]
    cfg = weights.config
    if logits is None:
        logits = not logits_are_slow_for(cfg, int(tokens.size))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        cache = run_attention_cache(weights, tokens, overrides)
    results = Results(generation, tokens, None, None, None, cache)
    if logits:
        results.unembed()
    warnings = []
    n_layers = cfg.n_layers
    finite = bool(np.isfinite(cache["resid_post", n_layers - 1]).all())
    if logits:
        finite = finite and LOGITS_NOT_FINITE not in results.warnings
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
    results.warnings[:0] = warnings  # the activations first, then the logits, as before
    results.elapsed_ms = (time.perf_counter() - start) * 1e3
    return results
