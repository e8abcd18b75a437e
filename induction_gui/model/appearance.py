"""How every heatmap looks: colour map, colour levels, text size, theme, projector layout.

One evented object, Qt-free, so the choices are made in one place: the View
menu and the settings change it, a scenario's ``view.colormap`` sets it when
the scenario opens, and every heatmap and view follows its ``changed`` event.
Levels are decided here too, so a colour means the same number in every view:
patterns and scores in [0, 1] on fixed levels, signed data (weights, logits,
differences) on levels symmetric around zero with a diverging map.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from .events import EventGroup

# sequential maps for unsigned data: name -> what the View menu says
SEQUENTIAL_MAPS: dict[str, str] = {
    "viridis": "viridis (perceptual)",
    "cividis": "cividis (colour-blind safe)",
    "magma": "magma",
    "inferno": "inferno",
    "plasma": "plasma",
    "gray": "gray (high contrast)",
}
DEFAULT_COLORMAP = "viridis"
DIVERGING_MAP = "CET-D1"  # blue - white - red, perceptually uniform, white exactly at zero
THEMES: tuple[str, ...] = ("light", "dark")
BASE_FONT_POINTS = 11.0  # the desk layout's text size; the settings' font scale multiplies it
PRESENTATION_COLORMAP = "gray"  # the projector's high-contrast map


@dataclass(frozen=True)
class Look:
    """One state of the appearance (immutable, so a change is a new Look)."""

    colormap: str = DEFAULT_COLORMAP  # sequential map of unsigned data
    font_points: float = BASE_FONT_POINTS  # text size of labels, ticks and captions
    theme: str = "light"  # window palette; plot canvases stay black on white
    presenting: bool = False  # the projector layout (presentation mode)


class Appearance:
    """The window's current :class:`Look`; ``events.changed(names)`` after every change."""

    def __init__(self, look: Look | None = None) -> None:
        self.events = EventGroup("changed")
        self._look = look or Look()

    @property
    def look(self) -> Look:
        return self._look

    @property
    def colormap(self) -> str:
        return self._look.colormap

    @property
    def font_points(self) -> float:
        return self._look.font_points

    @property
    def theme(self) -> str:
        return self._look.theme

    @property
    def presenting(self) -> bool:
        return self._look.presenting

    def set(self, **changes: object) -> tuple[str, ...]:
        """Change some fields (unknown colour maps and themes fall back to the defaults); returns what changed."""
        if "colormap" in changes and changes["colormap"] not in SEQUENTIAL_MAPS:
            changes["colormap"] = DEFAULT_COLORMAP
        if "theme" in changes and changes["theme"] not in THEMES:
            changes["theme"] = THEMES[0]
        if "font_points" in changes:
            changes["font_points"] = float(changes["font_points"])  # type: ignore[arg-type]
        new = replace(self._look, **changes)  # type: ignore[arg-type]
        changed = tuple(f.name for f in fields(Look) if getattr(new, f.name) != getattr(self._look, f.name))
        if changed:
            self._look = new
            self.events.changed.emit(changed)
        return changed


def levels_for(data: np.ndarray, signed: bool) -> tuple[float, float]:
    """Colour levels: (0, 1) for unsigned data, ±max|x| for signed data (±1 when all zero or not finite).

    Fixed for patterns so that the same colour is the same attention weight in
    every view and after every edit; symmetric for signed data so that white
    is exactly zero.
    """
    if not signed:
        return (0.0, 1.0)
    finite = np.abs(data[np.isfinite(data)]) if data.size else np.zeros(0)
    m = float(finite.max()) if finite.size else 0.0
    return (-m, m) if m > 0 else (-1.0, 1.0)
