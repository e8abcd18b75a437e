"""The appearance model: one place for colour map, text size, theme, projector layout and colour levels."""

from __future__ import annotations

import numpy as np

from induction_gui.model import COLORMAPS
from induction_gui.model.appearance import DEFAULT_COLORMAP, SEQUENTIAL_MAPS, Appearance, levels_for


def test_set_announces_only_what_changed() -> None:
    a = Appearance()
    seen: list[tuple[str, ...]] = []
    a.events.changed.connect(seen.append)
    assert a.set(colormap="cividis", font_points=11.0) == ("colormap",)
    assert a.set(colormap="cividis") == ()
    assert a.set(font_points=17, presenting=True) == ("font_points", "presenting")
    assert seen == [("colormap",), ("font_points", "presenting")]
    assert (a.colormap, a.font_points, a.presenting) == ("cividis", 17.0, True)


def test_unknown_names_fall_back_to_defaults() -> None:
    a = Appearance()
    a.set(colormap="jet", theme="neon")
    assert a.colormap == DEFAULT_COLORMAP and a.theme == "light"


def test_scenario_files_accept_exactly_the_menus_maps() -> None:
    assert set(COLORMAPS) == set(SEQUENTIAL_MAPS)


def test_levels_fixed_for_patterns_and_symmetric_for_signed_data() -> None:
    assert levels_for(np.array([[0.2, 0.9]]), signed=False) == (0.0, 1.0)
    assert levels_for(np.array([[-0.5, 2.0]]), signed=True) == (-2.0, 2.0)
    assert levels_for(np.zeros((2, 2)), signed=True) == (-1.0, 1.0)
    assert levels_for(np.array([[np.nan, -3.0, np.inf]]), signed=True) == (-3.0, 3.0)
