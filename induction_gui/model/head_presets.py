"""Head presets as edits of a scenario: the weights a preset gives one head, and what "reset head" restores.

The constructions are the engine's (:mod:`induction_gui.engine.head_presets`):
each returns the head's W_Q, W_K, W_V, W_O slices (and biases). Here a preset's
name becomes the full parameter arrays that change, the edits the window pushes
as one undo step, and a :class:`HeadState` snapshot says what a head looked like
when the scenario was opened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..engine import head_presets
from ..engine.weights import Weights
from .overrides import HeadKey, HeadOverride
from .scenario_object import Scenario

PRESETS = ("previous_token", "induction", "identity_copy", "zero", "random")


@dataclass(frozen=True)
class HeadState:
    """One head's weights and experiment, as "reset head" restores them."""

    slices: dict[str, np.ndarray]  # parameter name -> the head's slice, e.g. W_Q [d_model, d_head]
    override: HeadOverride


def preset_slices(scenario: Scenario, key: HeadKey, preset: str, *, seed: int = 0) -> dict[str, np.ndarray]:
    """The head's new slices for ``preset`` (one of :data:`PRESETS`; ``seed`` is the random preset's).

    Raises ValueError when the preset cannot be built for this head (an
    induction head in layer 0, or a fit that does not work), saying why.
    """
    layer, head = key
    weights = scenario.weights
    if preset == "previous_token":
        return head_presets.previous_token(weights, layer, head)
    if preset == "induction":
        return head_presets.induction(weights, layer, head, overrides=scenario.overrides)
    if preset == "identity_copy":
        return head_presets.identity_copy(weights, layer, head)
    if preset == "random":
        return head_presets.random(weights, layer, head, seed=seed)
    if preset == "zero":
        return head_presets.zero(weights, layer, head)
    raise ValueError(f"unknown head preset {preset!r}; expected one of {', '.join(PRESETS)}")


def changed_weights(weights: Weights, key: HeadKey, slices: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Full [n_heads, ...] arrays with the head's slices set, only for the parameters that change.

    ``weights`` is not modified.
    """
    layer, head = key
    full = head_presets.apply_head_slices(weights, layer, head, slices)
    return {name: array for name, array in full.items() if not np.array_equal(array, weights[name])}


def preset_weights(scenario: Scenario, key: HeadKey, preset: str, *, seed: int = 0) -> dict[str, np.ndarray]:
    """The parameter arrays ``preset`` changes for the head ``key`` (see :func:`preset_slices`)."""
    return changed_weights(scenario.weights, key, preset_slices(scenario, key, preset, seed=seed))


def snapshot(scenario: Scenario) -> dict[HeadKey, HeadState]:
    """Every head's weights and experiment, copied (what "Reset head to scenario" restores)."""
    cfg = scenario.weights.config
    return {
        (layer, head): HeadState(
            head_presets.head_slices(scenario.weights, layer, head),
            scenario.overrides.get((layer, head), HeadOverride()),
        )
        for layer in range(cfg.n_layers)
        for head in range(cfg.n_heads)
    }
