"""A bounded, thinned series of step-numbered items: what a long training run keeps of its records and checkpoints.

A run of a million steps cannot keep a record per step (the curves, the
history file) nor a checkpoint every ten steps (the slider, the disk): memory
and files would grow without bound. A :class:`Thinned` series keeps at most
``limit`` items: the first, those whose step is a multiple of its *stride*,
and the latest. When it would hold more, the stride doubles and the items off
the new stride are dropped, so the series always spans the whole run at an
even spacing, the phase change of a short run is kept step by step, and a long
run costs the same as a short one.

The rule depends only on the steps, so every holder of a copy (the session,
the run writer, the window's curves and slider) can apply it independently
and keep the same items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_RECORDS = 2000  # curve points of a run: finer than any plot's pixels
MAX_CHECKPOINTS = 100  # checkpoints of a run: a slider's worth of stops


class Thinned(Generic[T]):
    """At most ``limit`` items of an ascending step series: the first, every stride-th, and the last.

    Parameters
    ----------
    limit
        most items kept (≥ 3).
    step_of
        the step number of an item.
    stride
        the initial spacing (a run's ``checkpoint_every``; 1 for records).
    """

    def __init__(self, limit: int, step_of: Callable[[T], int], stride: int = 1) -> None:
        if limit < 3:
            raise ValueError(f"limit: expected at least 3 (the first, one on the stride, the last), got {limit}")
        self.limit = int(limit)
        self.stride = max(1, int(stride))
        self._step_of = step_of
        self._items: list[T] = []
        self._pinned: list[T] = []  # kept whatever the stride (the step a phase change happened)

    def on_stride(self, step: int) -> bool:
        """Whether an item of ``step`` stays when later ones arrive (the first always does)."""
        return step % self.stride == 0

    def _keeps(self, item: T) -> bool:
        return (item is self._items[0] or self.on_stride(self._step_of(item))
                or any(item is p for p in self._pinned))

    def pin(self, item: T) -> None:
        """Keep ``item`` (one of the kept ones) whatever the stride; meant for a handful of landmarks."""
        if not any(item is x for x in self._items):
            raise ValueError("pin: only a kept item can be pinned")
        self._pinned.append(item)

    @property
    def pinned(self) -> list[T]:
        """The pinned items (a copy)."""
        return list(self._pinned)

    def add(self, item: T) -> list[T]:
        """Append ``item`` (its step after every other); returns the items this drops, oldest first."""
        dropped: list[T] = []
        if len(self._items) > 1 and not self._keeps(self._items[-1]):
            dropped.append(self._items.pop())  # the previous last was kept only for being the last
        self._items.append(item)
        while len(self._items) > self.limit:
            self.stride *= 2
            last = self._items[-1]
            kept = [x for x in self._items if x is last or self._keeps(x)]
            kept_ids = {id(x) for x in kept}
            dropped.extend(x for x in self._items if id(x) not in kept_ids)
            self._items = kept
        return dropped

    def clear(self) -> None:
        self._items, self._pinned = [], []

    @property
    def items(self) -> list[T]:
        """The kept items, in step order (a copy)."""
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __getitem__(self, index: int) -> T:
        return self._items[index]

    def __bool__(self) -> bool:
        return bool(self._items)

    def __eq__(self, other: object) -> bool:
        """Equal to another series or a list holding the same items (a run read back from its folder)."""
        if isinstance(other, Thinned):
            return self._items == other._items
        return isinstance(other, list) and self._items == other

    __hash__ = None  # type: ignore[assignment] - mutable

    def __repr__(self) -> str:
        return f"Thinned({len(self._items)} of at most {self.limit}, stride {self.stride})"
