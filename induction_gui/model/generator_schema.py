"""The parameters of the sequence generators, declared once: name, label, meaning, range and default.

The generator form builds its spin boxes from this table and the generators
check their requests against it, so the range a learner can dial in and the
range a generator accepts cannot drift apart: every value the form allows
gives a sequence that fits the model (length ≤ n_ctx, ids < d_vocab), and a
request outside it (a script, a model with too small a context) is refused
with a sentence naming the parameter.

Ranges follow the open model: its context ``n_ctx``, its vocabulary
``d_vocab`` and whether sequences start with a start token (one position and
one id fewer for the body). A range may also depend on another parameter of
the same generator (the planted repeat's distance on its length); those are
listed after the parameter they depend on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..engine.markov import MAX_STATES, MIN_STATES
from .scenario import Scenario

SEED_MAX = 2**31 - 1  # what a QSpinBox holds; numpy seeds take any non-negative integer


@dataclass(frozen=True)
class ModelLimits:
    """What a generator's ranges depend on: the model's context and vocabulary, and the start token."""

    n_ctx: int  # longest sequence the model reads
    d_vocab: int  # token ids 0..d_vocab-1
    off: int  # 1 if sequences start with a start token (which takes a position and an id), else 0

    @property
    def n_content(self) -> int:
        """Ids a generator may draw for the body (every id but the start token)."""
        return self.d_vocab - self.off

    @classmethod
    def of(cls, scenario: Scenario) -> ModelLimits:
        cfg = scenario.weights.config
        return cls(cfg.n_ctx, cfg.d_vocab, 0 if scenario.bos is None else 1)


Bound = Callable[[ModelLimits, Mapping[str, int]], int]  # (limits, the other parameters' values) -> bound


@dataclass(frozen=True)
class GeneratorParam:
    """One integer parameter of a generator: the keyword of its build function and its range for a model."""

    name: str  # keyword of the generator's build function
    label: str  # the form's row label
    tooltip: str  # what it means, in the lecture's terms
    low: Bound  # smallest allowed value
    high: Bound  # largest allowed value (below ``low``: the generator cannot run on this model)
    default: Bound  # a value worth showing first (clamped into the range)

    def range(self, limits: ModelLimits, values: Mapping[str, int] | None = None) -> tuple[int, int]:
        """(lowest, highest) allowed value for this model; highest < lowest when no value fits."""
        values = values or {}
        return self.low(limits, values), self.high(limits, values)

    def default_value(self, limits: ModelLimits, values: Mapping[str, int] | None = None) -> int:
        lo, hi = self.range(limits, values)
        return max(lo, min(self.default(limits, values or {}), hi))


def _const(value: int) -> Bound:
    return lambda limits, values: value


# key of a generator (sequence_edit.GENERATORS) -> its parameters, in form order
GENERATOR_PARAMS: dict[str, tuple[GeneratorParam, ...]] = {
    "repeated_random": (
        GeneratorParam("block", "Block length N:", "Block length N: the sequence is [BOS, r1..rN, r1..rN].",
                       low=_const(1),
                       high=lambda m, v: (m.n_ctx - m.off) // 2,  # BOS + two blocks fit the context
                       default=_const(10)),
    ),
    "planted_repeat": (
        GeneratorParam("length", "Length:", "Length of the whole sequence, the start token included.",
                       # A, B and the second A need three positions after the start token
                       low=lambda m, v: m.off + 3,
                       high=lambda m, v: m.n_ctx if m.n_content >= 2 else 0,  # A and B are two distinct ids
                       default=_const(20)),
        GeneratorParam("distance", "Distance d:", "Distance d from the first A to the second A (B sits between).",
                       low=_const(2),
                       # the first A is at body position ≥ 0 and the second A at most at the last one
                       high=lambda m, v: v.get("length", m.n_ctx) - m.off - 1,
                       default=_const(12)),
    ),
    "no_repeat": (
        GeneratorParam("length", "Length:", "Length of the whole sequence, the start token included; no token "
                       "occurs twice, so it is at most the vocabulary's size.",
                       low=lambda m, v: m.off + 1,
                       high=lambda m, v: min(m.n_ctx, m.n_content + m.off),
                       default=_const(12)),
    ),
    "ambiguous_prefix": (
        GeneratorParam("filler", "Filler per gap:", "Filler tokens in each gap of A B … A C … A (never A, B or C).",
                       low=_const(0),
                       # A B, gap, A C, gap, A after the start token; fillers need a fourth id besides A, B, C
                       high=lambda m, v: (m.n_ctx - m.off - 5) // 2 if m.n_content >= 4 else
                       (0 if m.n_content == 3 and m.n_ctx >= m.off + 5 else -1),
                       default=_const(3)),
    ),
    "markov_chain": (
        GeneratorParam("k", "States k:", "Number of states k of the chain: state j is the j-th token that is not "
                       "the start token. At most 8, and at most the vocabulary's size.",
                       low=_const(MIN_STATES),
                       high=lambda m, v: min(MAX_STATES, m.n_content),
                       default=_const(3)),
        GeneratorParam("length", "Length:", "Length of the whole sequence, the start token included.",
                       low=lambda m, v: m.off + 2,  # at least one transition after the start token
                       high=lambda m, v: m.n_ctx,
                       default=_const(40)),
    ),
}


def params_of(key: str) -> tuple[GeneratorParam, ...]:
    """The parameters of generator ``key`` (none for those that take only a seed)."""
    return GENERATOR_PARAMS.get(key, ())


def check_params(key: str, limits: ModelLimits, values: Mapping[str, int]) -> str:
    """Why ``values`` are outside generator ``key``'s ranges for this model, naming the parameter; "" if inside."""
    for param in params_of(key):
        if param.name not in values:
            return f"{param.name}: missing"
        value = values[param.name]
        lo, hi = param.range(limits, values)
        if hi < lo:
            return (f"{param.name}: no value fits this model (n_ctx {limits.n_ctx}, {limits.n_content} token ids "
                    f"besides the start token)")
        if not lo <= value <= hi:
            return f"{param.name}: must be between {lo} and {hi} for this model, got {value}"
    return ""
