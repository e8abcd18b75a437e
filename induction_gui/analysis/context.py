"""What an entry computes from: a snapshot of the document's inputs and its forward pass.

A :class:`State` is taken on the GUI thread; its arrays are never edited in
place afterwards (the document replaces arrays on every edit, and a worker gets
a deep copy), so a slow entry may read it on another thread while the learner
keeps editing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import engine
from ..engine.forward import Overrides
from .registry import ENTRIES, drain
from .results import Results, compute_results

if TYPE_CHECKING:
    from ..model.document import Document


@dataclass(frozen=True)
class State:
    """The inputs of every entry: model, sequence, experiments and labels."""

    weights: engine.Weights
    tokens: np.ndarray  # [pos] int64
    overrides: Overrides
    bos: int | None = None  # the start token's id, if the vocabulary has one
    seed: int = 0  # the scenario's seed (composition baseline)
    vocab: tuple[str, ...] | list[str] = ()  # token strings (the scenario's list, not copied)
    generation: int = 0

    @classmethod
    def of(cls, document: Document, copy: bool = False) -> State:
        """The document's inputs now; ``copy`` for a worker (deep copies of the arrays)."""
        s = document.scenario
        return cls(
            document.snapshot_weights() if copy else s.weights,
            s.tokens.copy() if copy else s.tokens,
            dict(s.overrides),
            s.bos,
            int(s.seed),
            s.vocab,
            document.generation,
        )

    @property
    def config(self) -> engine.ModelConfig:
        return self.weights.config


class Context:
    """Handed to an entry's function: the state, the forward results, and the other entries.

    ``get`` reaches other entries through ``lookup`` (the owning analysis's memo
    on the GUI thread; a private one in a worker), so a dependency is computed
    once however many entries read it.
    """

    def __init__(self, state: State, results: Results | None = None,
                 lookup: Any = None) -> None:
        self.state = state
        self._results = results
        self._lookup = lookup
        self._private: dict[tuple[str, tuple], Any] = {}

    # the state's fields, so entries read like the maths
    @property
    def weights(self) -> engine.Weights:
        return self.state.weights

    @property
    def tokens(self) -> np.ndarray:
        return self.state.tokens

    @property
    def overrides(self) -> Overrides:
        return self.state.overrides

    @property
    def config(self) -> engine.ModelConfig:
        return self.state.config

    @property
    def results(self) -> Results:
        """The forward pass of this state (computed here if nobody has yet)."""
        if self._results is None:
            s = self.state
            self._results = compute_results(s.weights, s.tokens, s.overrides, s.generation)
        return self._results

    def get(self, name: str, /, **params: Any) -> Any:
        """Another entry's value for this state."""
        if self._lookup is not None:
            return self._lookup(name, **params)
        key = (name, tuple(sorted(params.items())))
        if key not in self._private:
            self._private[key] = drain(ENTRIES[name].compute(self, **params))
        return self._private[key]


def params_key(params: Mapping[str, Any]) -> tuple:
    """A hashable, order-free key of an entry's parameters."""
    return tuple(sorted(params.items()))
