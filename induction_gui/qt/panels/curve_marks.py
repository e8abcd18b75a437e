"""Where the phase marks' labels go: beside each dashed line, on the side with room, in words that fit.

A training plot carries one dashed line per phase change ("induction head
forms", or "unigram phase" then "bigram phase"). Its label sits at the top of
the line, on one side; labels of neighbouring marks must not run into each
other, and a label never runs past the plot's edge, where the view box cuts
it. Each mark has texts from longest to shortest; the first that fits is
shown, and none when nothing fits (the line alone: the status line under the
curves names the step).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF

LABEL_MARGIN_PX = 8  # between a label and whatever bounds its room


def label_sides(steps: Mapping[str, int], right: int) -> dict[str, tuple[int, float]]:
    """Each mark's label side (0: to the right of its line, 1: to the left) and its room in steps.

    The marks are taken from the last one back: the last label takes the
    larger side of its line; a label facing a neighbour whose own label faces
    it gets half the gap, else the whole gap (two labels never share it).
    """
    order = sorted(steps, key=lambda name: steps[name])
    sides: dict[str, tuple[int, float]] = {}
    for i in range(len(order) - 1, -1, -1):
        step = steps[order[i]]
        if i + 1 < len(order):
            after = steps[order[i + 1]]
            next_faces_us = sides[order[i + 1]][0] == 1
            room_right = (after - step) / 2 if next_faces_us else after - step
        else:
            room_right = right - step
        room_left = (step - steps[order[i - 1]]) / 2 if i > 0 else step
        side = 1 if room_left > room_right else 0
        sides[order[i]] = (side, room_left if side else room_right)
    return sides


def fitting_text(texts: Sequence[str], font: QFont, room_px: float) -> str:
    """The first of ``texts`` whose widest line fits ``room_px`` (less a margin), "" when none does."""
    metrics = QFontMetricsF(font)
    return next((t for t in texts if max(metrics.horizontalAdvance(part) for part in t.split("\n"))
                 < room_px - LABEL_MARGIN_PX), "")


def place_marks(marks: Mapping[str, Mapping[str, pg.InfiniteLine]],
                placed: Mapping[str, tuple[int, Sequence[str]]], right: int) -> None:
    """Put every mark line of every plot at its step with its fitted label; hide the marks not placed.

    ``marks`` maps a mark name to its line in each plot; ``placed`` a shown
    mark's name to (step, label texts from longest to shortest); ``right`` is
    the x range's right end, in steps.
    """
    right = max(right, 1)
    sides = label_sides({name: step for name, (step, _texts) in placed.items()}, right)
    for name, lines in marks.items():
        if name not in placed:
            for line in lines.values():
                line.hide()
            continue
        step, texts = placed[name]
        side, room_steps = sides[name]
        for line in lines.values():
            line.setPos(step)
            line.label.anchors = [(side, 0), (side, 0)]
            box = line.getViewBox()
            room_px = box.width() * room_steps / right if box else 0.0
            text = fitting_text(texts, line.label.textItem.font(), room_px)
            if line.label.toPlainText() != text:  # runs on every batch of a live run: relayout only on a change
                line.label.setText(text)
            line.label.updatePosition()
            line.show()
