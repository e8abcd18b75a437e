"""The memory budget: how many bytes one temporary array may take, checked before allocating.

A vocabulary-sized circuit of a real model (d_vocab 48,262) would be an
18.6 GB float64 matrix; nothing may allocate that. Functions that build a
large temporary ask :func:`check` first, and loops over a vocabulary take
their chunk size from :func:`rows_per_chunk`, so the whole app stays within a
few budgets of memory whatever the model's size.
"""

from __future__ import annotations

import math

import numpy as np

TEMPORARY_BYTES = 512 * 2**20  # the largest single temporary array the engine allocates (512 MiB)


class BudgetError(MemoryError):
    """An array would exceed the memory budget; the message names it, its shape and its size."""


def nbytes(shape: tuple[int, ...], dtype: object = np.float64) -> int:
    """Bytes an array of ``shape`` and ``dtype`` takes."""
    return math.prod(int(n) for n in shape) * np.dtype(dtype).itemsize


def check(what: str, shape: tuple[int, ...], dtype: object = np.float64, budget: int = TEMPORARY_BYTES) -> None:
    """Raise :class:`BudgetError` if an array ``shape`` of ``dtype`` would not fit in ``budget`` bytes.

    ``what`` names the array in the message, e.g. ``"full OV circuit of L0H1"``.
    """
    size = nbytes(shape, dtype)
    if size > budget:
        raise BudgetError(
            f"{what}: {list(shape)} {np.dtype(dtype).name} would take {human_bytes(size)}, more than the "
            f"{human_bytes(budget)} one temporary array may use; compute it on a subset of tokens or in chunks"
        )


def rows_per_chunk(row_shape: tuple[int, ...], dtype: object = np.float64, budget: int = TEMPORARY_BYTES) -> int:
    """How many rows of ``row_shape`` fit in ``budget`` bytes (at least 1)."""
    return max(1, budget // max(1, nbytes(row_shape, dtype)))


def human_bytes(n: int) -> str:
    """A byte count as people read it ("5.5 GiB"), for messages that refuse an allocation."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"
