"""The attention cell under the pointer: a transient focus that views may follow, never saved or undone.

The document's selection is what the learner clicked (kept with the scenario);
the hover is where the pointer is now. A heatmap that shows a head's pattern
publishes the cell under the pointer here, and a view that prints numbers
(the Printed view) marks the same query and key, so no view reaches into
another's widgets.
"""

from __future__ import annotations

from dataclasses import dataclass

from .events import EventGroup


@dataclass(frozen=True)
class HoveredCell:
    """A cell of one head's attention pattern: query row ``query_pos``, key column ``key_pos``."""

    layer: int
    head: int
    query_pos: int
    key_pos: int


class Hover:
    """Which pattern cell the pointer is over, or None.

    Events (``hover.events.<name>.connect(callback)``):

    - ``changed(cell_or_none)``: the pointer moved to another cell, or off the heatmap.
    """

    def __init__(self) -> None:
        self.events = EventGroup("changed")
        self._cell: HoveredCell | None = None

    @property
    def cell(self) -> HoveredCell | None:
        return self._cell

    def set(self, cell: HoveredCell | None) -> None:
        """Publish the cell under the pointer (None: off every pattern); announces only a change."""
        if cell is not None and min(cell.query_pos, cell.key_pos) < 0:
            cell = None  # a heatmap says (-1, -1) when the pointer leaves it
        if cell != self._cell:
            self._cell = cell
            self.events.changed.emit(cell)
