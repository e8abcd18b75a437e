"""Colour maps: perceptual by default, a colour-blind-safe choice, and a diverging map for signed values.

Patterns (in [0, 1]) use the chosen sequential map; weights, logits and
differences (signed) always use a diverging map centred at 0, so that white
means zero and the eye reads sign from hue.
"""

from __future__ import annotations

import PySide6  # noqa: F401  # bind pyqtgraph to PySide6
import pyqtgraph as pg

from ...model.appearance import DEFAULT_COLORMAP, DIVERGING_MAP, SEQUENTIAL_MAPS

# name shown in the menu -> pyqtgraph colour map name (the list is the appearance model's)
SEQUENTIAL: dict[str, str] = {label: name for name, label in SEQUENTIAL_MAPS.items()}
DEFAULT_SEQUENTIAL = DEFAULT_COLORMAP
DIVERGING = DIVERGING_MAP

_cache: dict[str, pg.ColorMap] = {}


def colormap(name: str) -> pg.ColorMap:
    """The pyqtgraph colour map of that name (``gray`` is built here)."""
    if name not in _cache:
        if name == "gray":
            _cache[name] = pg.ColorMap(pos=[0.0, 1.0], color=[(0, 0, 0), (255, 255, 255)], name="gray")
        else:
            _cache[name] = pg.colormap.get(name)
    return _cache[name]


def diverging() -> pg.ColorMap:
    """The map for signed values; pair it with levels symmetric around zero."""
    return colormap(DIVERGING)
