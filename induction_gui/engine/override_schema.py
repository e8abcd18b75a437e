"""The per-head experiments' parameters, declared once: name, type, range, unit, default and meaning.

:class:`~.attention.HeadOverride` validates with this table, the scenario file
reads and writes with it, the head controls take their ranges and tooltips
from it and the exported script its comments, so a parameter cannot mean one
thing in the window and another in a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Kind = Literal["choice", "int", "number", "matrix"]


@dataclass(frozen=True)
class OverrideParam:
    """One field of a head override."""

    name: str  # the HeadOverride attribute and the scenario file's key
    kind: Kind  # choice (one of `choices`), int, number (finite float) or matrix ([n, n] scores)
    default: object  # plain softmax attention's value: a head at every default is not overridden
    label: str  # the control's caption
    doc: str  # what it does, one or two sentences (tooltips, the script's comments)
    unit: str = ""  # of the value, if it has one
    choices: tuple[tuple[str | None, str, str], ...] = ()  # (value, label, what it does) of a choice
    lo: float | None = None  # smallest value allowed anywhere
    widget_max: float | None = None  # top of the control's range (a file may go further)
    step: float = 1.0  # the control's step
    decimals: int = 0  # decimals the control shows

    @property
    def values(self) -> tuple[str | None, ...]:
        """The allowed values of a choice."""
        return tuple(value for value, _label, _doc in self.choices)

    def problem(self, value: object) -> str | None:
        """Why ``value`` is not allowed for this parameter (None if it is); a matrix is checked by its owner."""
        if self.kind == "choice":
            return None if value in self.values else f"expected one of {self.values}, got {value!r}"
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or (
                self.lo is not None and value < self.lo
            ):
                return f"expected an integer ≥ {self.lo:g}, got {value!r}"
            return None
        if self.kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
                return f"expected a number, got {value!r}"
            if not np.isfinite(value) or (self.lo is not None and value < self.lo):
                at_least = "" if self.lo is None else f" ≥ {self.lo:g}"
                return f"expected a finite number{at_least}, got {value!r}"
        return None


OVERRIDE_PARAMS: tuple[OverrideParam, ...] = (
    OverrideParam(
        "normalization", "choice", "softmax", "Normalisation",
        "how scores become attention: softmax, or the lecture's linear P / (P.sum(-1) + eps) with negative "
        "scores counted as 0",
        choices=(
            ("softmax", "Softmax", "exp(score) / Σ exp(score): the transformer's normalisation."),
            ("linear", "Linear", "P / (Σ P + 1e-8): the lecture's demo; rows read 0.99999999."),
        ),
    ),
    OverrideParam(
        "eps", "number", 1e-8, "eps",
        "the linear normaliser's guard; the lecture uses 1e-8, which is why its rows read 0.99999999 rather than 1",
        lo=0.0,
    ),
    OverrideParam(
        "fixed_pattern", "matrix", None, "Fixed pattern",
        "[n, n] scores used instead of q·k (n at least the sequence length); a shift matrix makes a "
        "previous-token head, and key_shift does not apply to it",
    ),
    OverrideParam(
        "key_shift", "int", 0, "Key shift s",
        "query i is compared with the key computed at position j − s. With s = 1 a "
        "head that matches equal tokens attends to the token after an earlier occurrence: induction by hand.",
        unit="positions", lo=0,
    ),
    OverrideParam(
        "score_scale", "number", 1.0, "Score scale (inverse temperature)",
        "multiplies the head's scores before normalising. 0 makes attention uniform; large values make it "
        "sharp (argmax-like).",
        widget_max=20.0, step=0.1, decimals=2, lo=None,
    ),
    OverrideParam(
        "ablation", "choice", None, "Ablation",
        "replaces the head's output z (the pattern is still computed and shown)",
        choices=(
            (None, "None", "The head works normally."),
            ("zero", "Zero", "Zero-ablate: the head's output z is set to 0 (the pattern is still shown)."),
            ("mean", "Mean", "Mean-ablate: z is replaced by its mean over positions."),
        ),
    ),
)
PARAMS: dict[str, OverrideParam] = {p.name: p for p in OVERRIDE_PARAMS}
OVERRIDE_FIELDS: tuple[str, ...] = tuple(PARAMS)
NORMALIZATIONS: tuple[str, ...] = PARAMS["normalization"].values  # type: ignore[assignment]
ABLATIONS: tuple[str, ...] = tuple(v for v in PARAMS["ablation"].values if v is not None)  # type: ignore[misc]
