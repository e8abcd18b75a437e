"""A minimal, Qt-free observer: the document announces changes, views subscribe.

The model layer must not import Qt (so the engine and document can be tested
and scripted headless), yet views need to hear about changes. This is the
smallest thing that does it: ``event.connect(callback)``, ``event.emit(...)``.
Callbacks run synchronously in the emitting thread; the document only emits
on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Callback = Callable[..., Any]


class Event:
    """A named list of callbacks."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callback] = []

    def connect(self, callback: Callback) -> None:
        """Call ``callback(*args)`` on every :meth:`emit` (connecting twice calls it once)."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callback) -> None:
        """Stop calling ``callback``; unknown callbacks are ignored (views disconnect on close)."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        """Call every callback, in connection order, on a snapshot of the list."""
        for callback in list(self._callbacks):
            callback(*args)

    def __len__(self) -> int:
        return len(self._callbacks)

    def __repr__(self) -> str:
        return f"Event({self.name!r}, {len(self._callbacks)} callbacks)"


class EventGroup:
    """Several events as attributes: ``doc.events.scenario.connect(...)``."""

    def __init__(self, *names: str) -> None:
        for name in names:
            setattr(self, name, Event(name))

    def __getattr__(self, name: str) -> Event:  # pragma: no cover - only for type checkers
        raise AttributeError(name)


# -- what changed: the document's typed change events ----------------------------------------
# Each names the inputs it touches, so a reader (the analysis floor) invalidates exactly what
# depends on them: editing blocks.1.attn.W_O must leave layer-0 circuits cached.


@dataclass(frozen=True)
class Change:
    """Base of the document's change events; ``inputs`` are the revision keys it bumps."""

    @property
    def inputs(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True)
class TokensChanged(Change):
    """The sequence was replaced."""

    @property
    def inputs(self) -> tuple[str, ...]:
        return ("tokens",)


@dataclass(frozen=True)
class WeightsChanged(Change):
    """Parameters were replaced (their TransformerLens names)."""

    names: tuple[str, ...] = ()

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(f"weights/{name}" for name in self.names)


@dataclass(frozen=True)
class OverridesChanged(Change):
    """A head's lecture experiment (fixed pattern, key shift, ablation, ...) changed."""

    key: tuple[int, int] | None = None

    @property
    def inputs(self) -> tuple[str, ...]:
        return ("overrides",)


@dataclass(frozen=True)
class SettingsChanged(Change):
    """A saved view setting (colour map, show values, ...) changed; no number depends on it."""

    key: str = ""


@dataclass(frozen=True)
class VocabChanged(Change):
    """Vocabulary, weights and tokens were replaced together (the vocabulary grew or shrank)."""

    @property
    def inputs(self) -> tuple[str, ...]:
        return ("model",)


@dataclass(frozen=True)
class ModelReplaced(Change):
    """Another scenario was opened: everything is new."""

    @property
    def inputs(self) -> tuple[str, ...]:
        return ("model",)
