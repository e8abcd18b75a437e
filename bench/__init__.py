"""Benchmarks: ``python -m bench`` from the repository root.

A benchmark is a function registered under a name that returns
``{metric_name: Metric}``. Modules listed in ``MODULES`` register theirs when
imported; ``bench/__main__.py`` imports them only after pinning BLAS to one
thread, so this file must not import NumPy (or anything that does).

To add one: write ``bench/<thing>_bench.py`` with a function decorated by
``@register("<thing>")`` and add the module to ``MODULES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Imported by __main__ after the environment is set, in this order.
MODULES: tuple[str, ...] = (
    "bench.engine_bench", "bench.gui_bench", "bench.train_bench", "bench.frozen_bench", "bench.real_size_bench",
    "bench.markov_bench",
)


@dataclass(frozen=True)
class Metric:
    """One measured number and what it should be."""

    value: float  # the measurement
    unit: str  # e.g. "ms"
    target: float | None = None  # the budget; None for informational metrics
    lower_is_better: bool = True  # False for throughputs and the like

    @property
    def ratio(self) -> float | None:
        """value / target (≤ 1 meets a lower-is-better target)."""
        return None if self.target is None else self.value / self.target

    @property
    def ok(self) -> bool | None:
        """Whether the target is met; None without a target."""
        if self.target is None:
            return None
        return self.value <= self.target if self.lower_is_better else self.value >= self.target


BenchFn = Callable[[bool], dict[str, Metric]]  # argument: quick
BENCHMARKS: dict[str, BenchFn] = {}


def register(name: str) -> Callable[[BenchFn], BenchFn]:
    """Register a benchmark ``fn(quick) -> {metric: Metric}`` under ``name``."""

    def wrap(fn: BenchFn) -> BenchFn:
        if name in BENCHMARKS:
            raise ValueError(f"benchmark {name!r} registered twice")
        BENCHMARKS[name] = fn
        return fn

    return wrap
