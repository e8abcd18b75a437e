"""The Printed view's numbers as text and as CSV rows, in the exported script's own format.

The exported NumPy script (:mod:`induction_gui.model.script_export`) prints,
per head, a block like::

    === layer 0, head 0 (L0H0): fixed pattern, linear normalisation P / (P.sum + 1e-08) ===
    attention weights A (row i: how much position i attends to each position):
    [[0. 0. 0. 0.]
     ...]
    copied representations z = A @ V (hook_z, one row per position):
    [[...]]

with ``np.set_printoptions(precision=8, suppress=True, linewidth=150,
threshold=100_000)``. :func:`lecture_block` writes that block with the same
print options at a chosen precision, so at 8 decimals (and float32, the
script's ``--float32``) it is the script's text, character for character;
:func:`printed_text` adds the title and tokens lines the script starts with,
then X and the chosen z with their labels. NumPy's print drops trailing zeros
("1." where a table shows "1.00"): the digits are the same. Qt-free: the view
and any headless reader share it.
"""

from __future__ import annotations

import numpy as np

from .entries.printed import Printed

SCRIPT_DECIMALS = 8  # the exported script's print precision
LINE_WIDTH = 150  # the exported script's print line width
THRESHOLD = 100_000  # the exported script's summarisation threshold (never summarised in practice)


def array_text(values: np.ndarray, decimals: int) -> str:
    """``values`` as ``print`` shows it under the exported script's print options, at ``decimals`` digits."""
    with np.printoptions(precision=decimals, suppress=True, linewidth=LINE_WIDTH, threshold=THRESHOLD):
        return str(values)


def lecture_block(p: Printed, decimals: int = SCRIPT_DECIMALS) -> str:
    """The exported script's block of one head (header, A, hook_z), at ``decimals`` digits."""
    return "\n".join([
        f"=== layer {p.layer}, head {p.head} ({p.name}): {p.method} ===",
        "attention weights A (row i: how much position i attends to each position):",
        array_text(p.pattern, decimals),
        "copied representations z = A @ V (hook_z, one row per position):",
        array_text(p.hook_z, decimals),
    ])


def column_range_text(columns: range, width: int) -> str:
    """``"columns 0–15 of 512"`` (or ``"all 3 columns"``): what part of a wide matrix is shown."""
    if columns.start == 0 and columns.stop >= width:
        return f"all {width} columns"
    return f"columns {columns.start}–{columns.stop - 1} of {width}"


def printed_text(p: Printed, *, title: str, vocab: list[str] | tuple[str, ...], decimals: int, z_variant: str,
                 columns: range) -> str:
    """The view's text export: the script's opening lines and head block, then X and z as shown.

    ``columns`` is the part of X and z the view shows (all of them for a small
    model); the label says which, so nothing is dropped silently.
    """
    width = p.x.shape[1]
    shown = column_range_text(columns, width)
    cols = slice(columns.start, columns.stop)
    lines = [
        title,
        "tokens: " + " ".join(vocab[int(t)] for t in p.tokens),
        "",
        lecture_block(p, decimals),
        "",
        f"input representations {p.x_label} (one row per position, {shown} of d_model):",
        array_text(p.x[:, cols], decimals),
        f"copied representations {p.z_labels[z_variant]} (one row per position, {shown} of d_model):",
        array_text(p.z[z_variant][:, cols], decimals),
    ]
    lines += [f"note: {note}" for note in p.notes]
    lines.append(f"note: computed in {p.pattern.dtype} as the app does (the exported script's --float32; its float64 "
                 "default can differ in the last digits, e.g. 0.99999999 where float32 rounds to 1)")
    return "\n".join(lines) + "\n"


def csv_rows(p: Printed, *, vocab: list[str] | tuple[str, ...], decimals: int, z_variant: str,
             columns: range) -> list[list[str]]:
    """The three shown matrices as CSV rows: a label row, a header row, then one row per position, each block
    separated by an empty row; values rounded to ``decimals`` as the tables show them."""
    labels = [f"{i}: {vocab[int(t)]}" for i, t in enumerate(p.tokens)]
    keys = [f"{i}:{vocab[int(t)]}" for i, t in enumerate(p.tokens)]  # as the A table's column headers
    cols = slice(columns.start, columns.stop)
    shown = column_range_text(columns, p.x.shape[1])
    blocks = [
        (f"{p.x_label} ({shown})", [f"d{j}" for j in columns], p.x[:, cols]),
        (p.pattern_label, keys, p.pattern),
        (f"{p.z_labels[z_variant]} ({shown})", [f"d{j}" for j in columns], p.z[z_variant][:, cols]),
    ]
    rows: list[list[str]] = []
    for label, header, matrix in blocks:
        if rows:
            rows.append([])
        rows.append([f"{p.name}: {label}"])
        rows.append(["position: token", *header])
        rows += [[name, *(f"{float(v):.{decimals}f}" for v in row)] for name, row in zip(labels, matrix, strict=True)]
    return rows
