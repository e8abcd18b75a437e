"""Head presets as scenario edits: the arrays a preset changes, and the snapshot "reset head" restores."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from induction_gui.engine import head_presets as engine_presets
from induction_gui.model import Scenario
from induction_gui.model.head_presets import PRESETS, changed_weights, preset_weights, snapshot
from induction_gui.model.overrides import HeadOverride


def test_a_preset_changes_only_the_head_it_targets(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario()
    before = s.weights.copy()
    changes = preset_weights(s, (0, 1), "zero")
    assert changes and all(name.startswith("blocks.0.attn.") for name in changes)
    for name, array in changes.items():
        assert np.all(array[1] == 0)
        np.testing.assert_array_equal(array[0], before[name][0])  # the other head is untouched
    assert s.weights == before  # the scenario is not modified


def test_preset_weights_match_the_engine_construction(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario()
    slices = engine_presets.random(s.weights, 1, 0, seed=7)
    expected = engine_presets.apply_head_slices(s.weights, 1, 0, slices)
    got = preset_weights(s, (1, 0), "random", seed=7)
    assert set(got) <= set(expected)
    for name, array in got.items():
        np.testing.assert_array_equal(array, expected[name])


def test_unchanged_parameters_are_left_out(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario()
    assert changed_weights(s.weights, (1, 1), snapshot(s)[(1, 1)].slices) == {}


def test_induction_in_layer_zero_is_refused_and_unknown_presets_too(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario()
    assert "induction" in PRESETS
    with pytest.raises(ValueError):
        preset_weights(s, (0, 0), "induction")
    with pytest.raises(ValueError, match="unknown head preset"):
        preset_weights(s, (0, 0), "nonsense")


def test_snapshot_holds_every_head_with_its_override(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario()
    s.overrides[(1, 0)] = HeadOverride(key_shift=1)
    snap = snapshot(s)
    assert set(snap) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert snap[(1, 0)].override == HeadOverride(key_shift=1)
    assert snap[(0, 0)].override == HeadOverride()
