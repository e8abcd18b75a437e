"""The pattern hover: a transient cell that views follow, announced only when it changes."""

from __future__ import annotations

from induction_gui.model.hover import Hover, HoveredCell


def test_hover_announces_changes_only_and_a_heatmaps_leave_clears_it() -> None:
    hover, seen = Hover(), []
    hover.events.changed.connect(seen.append)
    hover.set(HoveredCell(1, 0, 5, 2))
    hover.set(HoveredCell(1, 0, 5, 2))  # the pointer moved inside the same cell
    assert hover.cell == HoveredCell(1, 0, 5, 2) and seen == [HoveredCell(1, 0, 5, 2)]
    hover.set(HoveredCell(1, 0, -1, -1))  # what a heatmap reports when the pointer leaves it
    assert hover.cell is None and seen[-1] is None
    hover.set(None)
    assert len(seen) == 2
