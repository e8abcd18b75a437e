"""How a derived quantity is declared: once, with its inputs and its cost class.

An :class:`Entry` names what it reads from the document (``tokens``,
``overrides``, ``weights/<TransformerLens name>`` with ``{layer}`` filled from
its parameters, or ``forward`` for the forward pass's results) and whether it
fits in a frame (``fast``: computed on the edit path) or not (``slow``: a
generator computed in a worker, cancelled when a newer edit supersedes it), or
a function of the state that says which (slow for a large model only: see
:mod:`.sizes`).
The analysis memoizes every entry on the revisions of exactly those inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .context import Context, State

Cost = Literal["fast", "slow"] | Callable[["State"], bool]  # a callable: slow for the states it returns True for


@dataclass(frozen=True)
class Entry:
    """One derived quantity.

    ``compute(ctx, **params)`` returns the value (fast) or is a generator that
    yields ``(done, total)`` progress and returns the value (slow).
    """

    name: str
    inputs: tuple[str, ...]  # revision keys; "{layer}" / "{prev_layer}" are filled from the parameters
    cost: Cost
    compute: Callable[..., Any]
    doc: str = ""

    def is_slow(self, state: State) -> bool:
        """True if this entry goes to a worker for ``state`` (some are slow only for a large model)."""
        return self.cost == "slow" or (callable(self.cost) and bool(self.cost(state)))

    def resolved_inputs(self, params: dict[str, Any]) -> tuple[str, ...]:
        """The inputs with the parameters filled in (``weights/blocks.1.attn.*`` for layer 1)."""
        return tuple(name.format(**params) if "{" in name else name for name in self.inputs)


ENTRIES: dict[str, Entry] = {}


def entry(name: str, *, inputs: tuple[str, ...], cost: Cost = "fast") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a function as the entry ``name`` (its docstring documents the entry)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in ENTRIES:
            raise ValueError(f"analysis entry {name!r} is declared twice")
        ENTRIES[name] = Entry(name, inputs, cost, fn, (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else "")
        return fn

    return register


def drain(values: Iterator[tuple[int, int]] | Any, progress: Callable[[int, int], None] | None = None,
          cancelled: Callable[[], bool] | None = None) -> Any:
    """Run a slow entry's generator to its value on this thread (the command line and notebooks)."""
    if not isinstance(values, Iterator):
        return values
    while True:
        if cancelled is not None and cancelled():
            raise Cancelled
        try:
            done, total = next(values)
        except StopIteration as stop:
            return stop.value
        if progress is not None:
            progress(done, total)


class Cancelled(Exception):
    """A slow entry was superseded by a newer edit before it finished."""


class NotDefined(Exception):
    """Raised by an entry whose quantity does not exist for this model (a sentence saying why).

    For example the positional QK circuit of a rotary model (it has no W_pos),
    or a copying score of a model whose outputs are not tokens. The analysis
    turns it into a :class:`~.analysis.NotDefinedHere` value the views print,
    so the app says what it does not compute instead of failing or guessing.
    """
