"""The open scenario and what the learner is looking at; edits announce themselves.

Every edit in the window goes through a :class:`Document` method, which changes
the scenario, bumps the revision of each input it touched and announces a typed
change event (:mod:`.events`). The document never computes a number: the
analysis floor (:mod:`induction_gui.analysis`) reads the revisions to decide
what is out of date, so an edit recomputes only what depends on it.

Each edit method returns what it replaced, so an undo command can put it back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import engine
from ..engine.forward import HeadKey, check_tokens
from ..engine.snapshot import Snapshots
from .events import (
    Change,
    EventGroup,
    ModelReplaced,
    OverridesChanged,
    SettingsChanged,
    TokensChanged,
    VocabChanged,
    WeightsChanged,
)
from .markov_chain import VIEW_KEY as MARKOV_CHAIN_KEY
from .markov_chain import Chain, check_chain
from .scenario import Scenario
from .scenario_object import check_vocab

# The TransformerLens head detectors the dashboard, the heads grid and lesson checks offer.
DETECTORS: tuple[str, ...] = ("previous_token_head", "duplicate_token_head", "induction_head")
# Whether the window's detector scores ignore attention to position 0 when the scenario does not say:
# a head resting on the start token when nothing matches is not evidence against its job.
EXCLUDE_BOS_DEFAULT = True

@dataclass(frozen=True)
class Selection:
    """Which head and query position the views focus on."""

    layer: int = 0
    head: int = 0
    query_pos: int = 0


class Document:
    """The open scenario and the selection; edits announce themselves.

    Events (``document.events.<name>.connect(callback)``):

    - ``scenario(change)``: the scenario changed; ``change`` is one of the typed
      events of :mod:`.events` (:class:`TokensChanged`, :class:`WeightsChanged`,
      :class:`OverridesChanged`, :class:`SettingsChanged`, :class:`VocabChanged`,
      :class:`ModelReplaced`).
    - ``selection(selection)``: the focused layer, head or query position changed.
    - ``stale()``: numbers are out of date; the scheduler should recompute.
    - ``path(path_or_none)``: the file the document belongs to changed.
    """

    def __init__(self, scenario: Scenario, path: Path | None = None) -> None:
        self.events = EventGroup("scenario", "selection", "stale", "path")
        self._scenario = scenario
        self._path = path
        self._generation = 0
        # input name ("tokens", "overrides", "model", "weights/<name>") -> generation of its last edit
        self._revisions: dict[str, int] = {}
        self._snapshots = Snapshots()  # copies of the weights for workers (see snapshot_weights)
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
        """Increases with every edit that changes a number; results carry the generation they were computed for."""
        return self._generation

    @property
    def revisions(self) -> Mapping[str, int]:
        """Input name -> generation of its last edit (absent: never edited since the model was opened)."""
        return self._revisions

    def revision(self, name: str) -> int:
        """The generation of the last edit of one input (``"tokens"``, ``"weights/embed.W_E"``, ...)."""
        return self._revisions.get(name, 0)

    @property
    def selection(self) -> Selection:
        return self._selection

    def snapshot(self) -> tuple[engine.Weights, np.ndarray, dict[HeadKey, engine.HeadOverride], int]:
        """Copies a worker may compute on while the learner keeps editing."""
        s = self._scenario
        return self.snapshot_weights(), s.tokens.copy(), dict(s.overrides), self._generation

    def snapshot_weights(self) -> engine.Weights:
        """A copy of the weights a worker may keep; arrays no edit has replaced are shared with the last copy."""
        return self._snapshots.take(self._scenario.weights)

    def _changed(self, change: Change) -> None:
        self._generation += 1
        if isinstance(change, (VocabChanged, ModelReplaced)):
            self._revisions = {}  # "model" alone dates every input now
            self._snapshots.clear()
        for name in change.inputs:
            self._revisions[name] = self._generation
        self.events.scenario.emit(change)
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

    # -- checks: each raises what the edit of the same name would, and changes nothing ----------
    # An undo command runs its check before it is pushed, so an edit the document refuses never
    # becomes an undo step and a command's redo() never meets an error.
    def check_tokens(self, tokens: object) -> np.ndarray:
        """The sequence :meth:`set_tokens` would set, as a private [pos] copy; raises its TokenError."""
        cfg = self._scenario.weights.config
        return check_tokens(tokens, cfg.d_vocab, cfg.n_ctx)[0].copy()  # [pos]

    def check_weight(self, name: str, value: object) -> np.ndarray:
        """The array :meth:`set_weight` would store (a private copy in the parameter's dtype).

        Raises
        ------
        ValueError
            naming the parameter, for an unknown name, a wrong shape or a non-finite value
            (a number beyond the dtype's range counts as non-finite: it would be stored as inf).
        """
        weights = self._scenario.weights
        if name not in weights:
            raise ValueError(f"{name}: the model has no such parameter")
        old = weights[name]
        given = np.asarray(value)
        if given.shape != old.shape:
            raise ValueError(f"{name}: expected shape {list(old.shape)}, got {list(given.shape)}")
        if given.dtype.kind not in "biuf":
            raise ValueError(f"{name}: expected numbers, got dtype {given.dtype}")
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below, by cell
            new = np.array(given, dtype=old.dtype)  # a private copy
        if not np.isfinite(new).all():
            bad = np.argwhere(~np.isfinite(new))[0].tolist()
            shown = given[tuple(bad)]
            why = "is too large for a " + str(old.dtype) + " weight" if np.isfinite(shown) else "is not a finite number"
            raise ValueError(f"{name}{bad}: {shown:g} {why}")
        return new

    def check_override(self, key: HeadKey, override: engine.HeadOverride | None) -> None:
        """Raise the ValueError :meth:`set_override` would: a head that does not exist, a too small fixed pattern."""
        cfg = self._scenario.weights.config
        layer, head = key
        if not (0 <= layer < cfg.n_layers and 0 <= head < cfg.n_heads):
            raise ValueError(f"head L{layer}H{head} does not exist")
        if override is not None and not isinstance(override, engine.HeadOverride):
            raise ValueError(f"L{layer}H{head}: expected a head override, got {type(override).__name__}")
        if (override is not None and not override.is_default and override.fixed_pattern is not None
                and override.fixed_pattern.shape[0] < self._scenario.tokens.size):
            raise ValueError(f"L{layer}H{head} fixed pattern: {override.fixed_pattern.shape[0]} positions, "
                             f"smaller than the sequence ({self._scenario.tokens.size})")

    def check_model_state(self, vocab: list[str], weights: engine.Weights, tokens: object, bos: int | None) -> None:
        """Raise the ValueError :meth:`set_model_state` would: vocabulary, tokens and start token must fit the
        weights."""
        cfg = weights.config
        check_vocab(list(vocab), cfg.d_vocab)
        check_tokens(tokens, cfg.d_vocab, cfg.n_ctx)
        if bos is not None and not 0 <= int(bos) < cfg.d_vocab:
            raise ValueError(f"bos: id {bos} is outside the vocabulary 0..{cfg.d_vocab - 1}")

    # -- edits (each returns what it replaced) ----------------------------------------------
    def set_tokens(self, tokens: object) -> np.ndarray:
        """Replace the sequence.

        Raises
        ------
        TokenError
            for ids outside the vocabulary, an empty sequence or more tokens than n_ctx.
        """
        new = self.check_tokens(tokens)  # [pos]
        old = self._scenario.tokens
        self._scenario.tokens = new
        self._drop_too_small_fixed_patterns()
        self._changed_with_selection(TokensChanged())
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
        new = self.check_weight(name, value)
        weights[name] = new
        self._changed(WeightsChanged((name,)))
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
        self.check_override(key, override)
        old = self._scenario.overrides.get(key)
        if override is None or override.is_default:
            self._scenario.overrides.pop(key, None)
        else:
            self._scenario.overrides[key] = override
        self._changed(OverridesChanged(key))
        return old

    def override(self, key: HeadKey) -> engine.HeadOverride:
        """The head's override, or the default one."""
        return self._scenario.overrides.get(key, engine.HeadOverride())

    def set_model_state(self, vocab: list[str], weights: engine.Weights, tokens: np.ndarray, bos: int | None) -> tuple:
        """Replace vocabulary, weights and tokens together (extending the vocabulary); returns the old four.

        Raises
        ------
        ValueError
            as :meth:`check_model_state` does.
        """
        self.check_model_state(vocab, weights, tokens, bos)
        s = self._scenario
        old = (list(s.vocab), s.weights, s.tokens, s.bos)
        s.vocab, s.weights, s.tokens, s.bos = list(vocab), weights, np.asarray(tokens, np.int64), bos
        self._changed_with_selection(VocabChanged())
        return old

    def set_view_setting(self, key: str, value: object) -> object:
        """Change one saved view setting (colour map, show values, ...); returns the old value."""
        old = self._scenario.view.get(key)
        if value is None:
            self._scenario.view.pop(key, None)
        else:
            self._scenario.view[key] = value
        self.events.scenario.emit(SettingsChanged(key))
        return old

    def check_markov_chain(self, chain: object) -> Chain:
        """The chain :meth:`set_markov_chain` would store; raises :class:`ChainError` naming the row."""
        return check_chain(chain)

    def set_markov_chain(self, chain: object) -> Chain | None:
        """Replace the "Markov chain" generator's transition matrix (None: back to the default); returns the old.

        A view setting: saved with the scenario, and no number the window shows depends on it.
        """
        new = None if chain is None else self.check_markov_chain(chain)
        return self.set_view_setting(MARKOV_CHAIN_KEY, new)  # type: ignore[return-value]

    @property
    def exclude_bos(self) -> bool:
        """The one ``exclude_bos`` every detector score the window shows uses (a saved view setting)."""
        return bool(self._scenario.view.get("exclude_bos", EXCLUDE_BOS_DEFAULT))

    def set_exclude_bos(self, on: bool) -> bool:
        """Score heads with or without attention to position 0 everywhere; returns the old setting."""
        old = self.exclude_bos
        if bool(on) != old:
            self.set_view_setting("exclude_bos", bool(on))
        return old

    def replace_scenario(self, scenario: Scenario, path: Path | None = None) -> None:
        """Open another scenario (New / Open / recover): everything is replaced."""
        self._scenario = scenario
        self._selection = self._selection_from_view(scenario)
        self._changed(ModelReplaced())
        self.events.selection.emit(self._selection)
        self.set_path(path)

    def _changed_with_selection(self, change: Change) -> None:
        """Announce a change of the sequence or model with the selection already clamped to it.

        The selection is clamped *before* the change is announced: a listener
        that redraws on the change (a view, a panel) must never see a focused
        query position or head of the previous sequence or model (a focus on
        position 20 of a sequence shortened to 9 was an IndexError). The
        selection event follows, for those that only listen to it.
        """
        old = self._selection
        self._selection = self._clamped(old, self._scenario)
        self._changed(change)
        if self._selection != old:
            self.events.selection.emit(self._selection)

    # -- saving helpers ----------------------------------------------------------------------
    def scenario_for_saving(self) -> Scenario:
        """The scenario with the current selection recorded in its view settings.

        The selection goes in before the copy validates it: the view saved with the file may name a
        query position a later edit removed (a shorter sequence), which the copy would refuse.
        """
        s = self._scenario
        opened_view = s.view
        sel = self._selection
        s.view = {**opened_view, "layer": sel.layer, "head": sel.head, "query_pos": sel.query_pos}
        try:
            return s.copy()
        finally:
            s.view = opened_view
