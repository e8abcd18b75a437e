"""The open scenario, what the learner is looking at, and the latest results.

Every edit in the window goes through a :class:`Document` method, which changes
the scenario, marks the results stale and announces what changed. The document
never recomputes on its own: the Qt layer coalesces bursts of edits (typing,
dragging) into at most one :meth:`Document.recompute` per frame, or runs
:func:`compute_results` on a snapshot in a worker for long sequences and hands
the outcome back through :meth:`Document.apply_results`, which drops results of
an older generation. That split is the recompute scheduling contract.

Each edit method returns what it replaced, so an undo command can put it back.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import engine
from ..engine.forward import HeadKey, check_tokens
from ..engine.metrics import score_patterns
from .events import EventGroup
from .scenario import Scenario

# Detector variants computed on every recompute (the dashboard's table and the heads grid).
DETECTORS: tuple[str, ...] = ("previous_token_head", "duplicate_token_head", "induction_head")
DETECTOR_VARIANTS: tuple[tuple[str, bool], ...] = (("mul", False), ("mul", True), ("abs", False), ("abs", True))


def detector_key(pattern: str, measure: str, exclude_bos: bool) -> str:
    """Key of one detector variant in :attr:`Results.scores`, e.g. ``induction_head/mul/exclude_bos``."""
    return f"{pattern}/{measure}" + ("/exclude_bos" if exclude_bos else "")


@dataclass(frozen=True)
class Selection:
    """Which head and query position the views focus on."""

    layer: int = 0
    head: int = 0
    query_pos: int = 0


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

    def pattern(self, layer: int, head: int) -> np.ndarray:
        """[query_pos, key_pos] pattern of one head."""
        return self.cache["pattern", layer][0, head]

    def score(self, pattern: str, measure: str = "mul", exclude_bos: bool = False) -> np.ndarray:
        """[n_layers, n_heads] head-detector score, computed on first use and kept.

        Lazy because only visible views ask: scoring every variant on every
        keystroke would cost more than the forward pass on long sequences.
        """
        key = detector_key(pattern, measure, exclude_bos)
        if key not in self._scores:
            if self._stacked is None:
                n_layers = sum(1 for name in self.cache if name.endswith("attn.hook_pattern"))
                self._stacked = np.stack(
                    [self.cache["pattern", layer] for layer in range(n_layers)], axis=1
                )  # [batch, layer, head_index, query_pos, key_pos]
                self._total = self._stacked.sum(axis=(-2, -1), dtype=np.float64)  # [batch, layer, head_index]
            if pattern not in self._detection:
                self._detection[pattern] = _detection_pattern(pattern, self.tokens)  # [1, q, k]
            with np.errstate(invalid="ignore", divide="ignore"):
                self._scores[key] = score_patterns(
                    self._stacked, self._detection[pattern], exclude_bos=exclude_bos,
                    exclude_current_token=False, error_measure=measure, total=self._total,
                )[0]  # [layer, head_index]
        return self._scores[key]


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
    overrides: dict[HeadKey, engine.HeadOverride],
    generation: int = 0,
) -> Results:
    """One forward pass plus the per-head detector scores; pure, so a worker thread may run it.

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
    finite = bool(np.isfinite(logits).all() and np.isfinite(cache["resid_post", len(cache_layers(cache)) - 1]).all())
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


def cache_layers(cache: engine.ActivationCache) -> list[int]:
    """The layer indices a cache holds patterns for."""
    return [layer for layer in range(len(cache)) if engine.act_name("pattern", layer) in cache]


class Document:
    """The open scenario, the selection, and results; edits announce themselves.

    Events (``document.events.<name>.connect(callback)``):

    - ``scenario(kind)``: the scenario changed; ``kind`` is ``"tokens"``,
      ``"weights"``, ``"overrides"``, ``"vocab"``, ``"view"`` or ``"replaced"``.
    - ``selection(selection)``: the focused layer, head or query position changed.
    - ``stale()``: results are out of date; the scheduler should recompute.
    - ``results(results)``: new results are in.
    - ``pinned(results_or_none)``: the compare baseline was pinned or cleared.
    - ``path(path_or_none)``: the file the document belongs to changed.
    """

    def __init__(self, scenario: Scenario, path: Path | None = None) -> None:
        self.events = EventGroup("scenario", "selection", "stale", "results", "pinned", "path")
        self._scenario = scenario
        self._path = path
        self._generation = 0
        self._results: Results | None = None
        self._pinned: Results | None = None
        self._pinned_weights: engine.Weights | None = None
        self._selection = self._selection_from_view(scenario)

    # -- state ------------------------------------------------------------------------
    @property
    def scenario(self) -> Scenario:
        return self._scenario

    @property
    def path(self) -> Path | None:
        return self._path

    def set_path(self, path: Path | None) -> None:
        self._path = path
        self.events.path.emit(path)

    @property
    def generation(self) -> int:
        """Increases with every edit; results carry the generation they were computed for."""
        return self._generation

    @property
    def selection(self) -> Selection:
        return self._selection

    @property
    def is_stale(self) -> bool:
        return self._results is None or self._results.generation != self._generation

    @property
    def results(self) -> Results:
        """The latest results, computed now if they are stale (synchronous fallback)."""
        if self.is_stale:
            self.recompute()
        assert self._results is not None
        return self._results

    @property
    def latest_results(self) -> Results | None:
        """The last results applied, possibly stale (what the views show right now)."""
        return self._results

    @property
    def pinned(self) -> Results | None:
        return self._pinned

    # -- recomputation --------------------------------------------------------------------
    def recompute(self) -> Results:
        """Compute the results for the current generation on this thread and announce them."""
        s = self._scenario
        results = compute_results(s.weights, s.tokens, s.overrides, self._generation)
        self.apply_results(results)
        return results

    def snapshot(self) -> tuple[engine.Weights, np.ndarray, dict[HeadKey, engine.HeadOverride], int]:
        """Copies a worker may compute on while the learner keeps editing."""
        s = self._scenario
        return s.weights.copy(), s.tokens.copy(), dict(s.overrides), self._generation

    def apply_results(self, results: Results) -> bool:
        """Take results computed for the current generation; drop stale ones (returns False)."""
        if results.generation != self._generation:
            return False
        self._results = results
        self.events.results.emit(results)
        return True

    def _changed(self, kind: str) -> None:
        self._generation += 1
        self.events.scenario.emit(kind)
        self.events.stale.emit()

    # -- selection --------------------------------------------------------------------------
    @staticmethod
    def _selection_from_view(scenario: Scenario) -> Selection:
        view = scenario.view
        cfg = scenario.weights.config
        sel = Selection(int(view.get("layer", cfg.n_layers - 1)), int(view.get("head", 0)),
                        int(view.get("query_pos", scenario.tokens.size - 1)))
        return Document._clamped(sel, scenario)

    @staticmethod
    def _clamped(sel: Selection, scenario: Scenario) -> Selection:
        cfg = scenario.weights.config
        return Selection(
            min(max(sel.layer, 0), cfg.n_layers - 1),
            min(max(sel.head, 0), cfg.n_heads - 1),
            min(max(sel.query_pos, 0), max(scenario.tokens.size - 1, 0)),
        )

    def set_selection(self, layer: int | None = None, head: int | None = None, query_pos: int | None = None) -> None:
        """Focus another head or query position (clamped to what exists)."""
        sel = self._selection
        new = self._clamped(
            Selection(
                sel.layer if layer is None else layer,
                sel.head if head is None else head,
                sel.query_pos if query_pos is None else query_pos,
            ),
            self._scenario,
        )
        if new != sel:
            self._selection = new
            self.events.selection.emit(new)

    # -- edits (each returns what it replaced) ----------------------------------------------
    def set_tokens(self, tokens: object) -> np.ndarray:
        """Replace the sequence.

        Raises
        ------
        TokenError
            for ids outside the vocabulary, an empty sequence or more tokens than n_ctx.
        """
        cfg = self._scenario.weights.config
        new = check_tokens(tokens, cfg.d_vocab, cfg.n_ctx)[0].copy()  # [pos]
        old = self._scenario.tokens
        self._scenario.tokens = new
        self._drop_too_small_fixed_patterns()
        self._changed("tokens")
        self.set_selection()  # re-clamp the query position
        if self._selection.query_pos != min(self._selection.query_pos, new.size - 1):
            self.set_selection(query_pos=new.size - 1)
        return old

    def _drop_too_small_fixed_patterns(self) -> None:
        # a fixed pattern smaller than the sequence cannot be applied; fixed patterns are n_ctx-sized
        # when made in the window, so this only concerns hand-written files
        n = self._scenario.tokens.size
        for key, o in list(self._scenario.overrides.items()):
            if o.fixed_pattern is not None and o.fixed_pattern.shape[0] < n:
                padded = np.zeros((n, n))
                k = o.fixed_pattern.shape[0]
                padded[:k, :k] = o.fixed_pattern
                self._scenario.overrides[key] = dataclasses.replace(o, fixed_pattern=padded)

    def set_weight(self, name: str, value: np.ndarray) -> np.ndarray:
        """Replace one parameter array (same shape, finite values).

        Raises
        ------
        ValueError
            naming the parameter, for a wrong shape or a non-finite value.
        """
        weights = self._scenario.weights
        old = weights[name]
        new = np.array(value, dtype=old.dtype)  # a private copy
        if new.shape != old.shape:
            raise ValueError(f"{name}: expected shape {list(old.shape)}, got {list(new.shape)}")
        if not np.isfinite(new).all():
            bad = np.argwhere(~np.isfinite(new))[0].tolist()
            raise ValueError(f"{name}{bad}: {new[tuple(bad)]} is not a finite number")
        weights[name] = new
        self._changed("weights")
        return old

    def set_weight_cell(self, name: str, index: tuple[int, ...], value: float) -> float:
        """Set one entry of a parameter; returns the previous value."""
        if not np.isfinite(value):
            raise ValueError(f"{name}{list(index)}: {value} is not a finite number")
        arr = self._scenario.weights[name].copy()
        old = float(arr[index])
        arr[index] = value
        self.set_weight(name, arr)
        return old

    def set_override(self, key: HeadKey, override: engine.HeadOverride | None) -> engine.HeadOverride | None:
        """Set (or with None, clear) the lecture experiment of one head."""
        cfg = self._scenario.weights.config
        layer, head = key
        if not (0 <= layer < cfg.n_layers and 0 <= head < cfg.n_heads):
            raise ValueError(f"head L{layer}H{head} does not exist")
        old = self._scenario.overrides.get(key)
        if override is None or override.is_default:
            self._scenario.overrides.pop(key, None)
        else:
            if override.fixed_pattern is not None and override.fixed_pattern.shape[0] < self._scenario.tokens.size:
                raise ValueError("fixed pattern: smaller than the sequence")
            self._scenario.overrides[key] = override
        self._changed("overrides")
        return old

    def override(self, key: HeadKey) -> engine.HeadOverride:
        """The head's override, or the default one."""
        return self._scenario.overrides.get(key, engine.HeadOverride())

    def set_model_state(self, vocab: list[str], weights: engine.Weights, tokens: np.ndarray, bos: int | None) -> tuple:
        """Replace vocabulary, weights and tokens together (extending the vocabulary); returns the old four."""
        s = self._scenario
        old = (list(s.vocab), s.weights, s.tokens, s.bos)
        s.vocab, s.weights, s.tokens, s.bos = list(vocab), weights, np.asarray(tokens, np.int64), bos
        self._results = None  # old results may name token ids the new vocabulary lacks
        self._changed("vocab")
        self.set_selection()
        return old

    def set_view_setting(self, key: str, value: object) -> object:
        """Change one saved view setting (colour map, show values, ...); returns the old value."""
        old = self._scenario.view.get(key)
        if value is None:
            self._scenario.view.pop(key, None)
        else:
            self._scenario.view[key] = value
        self.events.scenario.emit("view")
        return old

    def replace_scenario(self, scenario: Scenario, path: Path | None = None) -> None:
        """Open another scenario (New / Open / recover): everything is replaced."""
        self._scenario = scenario
        self._pinned = None
        self._pinned_weights = None
        self._results = None  # results of the old scenario must not be drawn with the new vocabulary
        self._selection = self._selection_from_view(scenario)
        self._changed("replaced")
        self.events.pinned.emit(None)
        self.events.selection.emit(self._selection)
        self.set_path(path)

    # -- compare ------------------------------------------------------------------------------
    def pin(self) -> None:
        """Keep the current results (and weights, for weight-only scores) as the compare baseline."""
        self._pinned = self.results
        self._pinned_weights = self._scenario.weights.copy()
        self.events.pinned.emit(self._pinned)

    def unpin(self) -> None:
        self._pinned = None
        self._pinned_weights = None
        self.events.pinned.emit(None)

    @property
    def pinned_weights(self) -> engine.Weights | None:
        """The weights as they were when pinned (copying scores and circuits compare against them)."""
        return self._pinned_weights

    def comparable(self, results: Results) -> bool:
        """True if the pinned results can be subtracted from ``results`` (same shapes)."""
        p = self._pinned
        return p is not None and p.logits.shape == results.logits.shape and set(p.cache) == set(results.cache) and all(
            p.cache[k].shape == results.cache[k].shape for k in p.cache
        )

    # -- saving helpers ----------------------------------------------------------------------
    def scenario_for_saving(self) -> Scenario:
        """The scenario with the current selection recorded in its view settings."""
        s = self._scenario.copy()
        s.view.update(layer=self._selection.layer, head=self._selection.head, query_pos=self._selection.query_pos)
        return s
