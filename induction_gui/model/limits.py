"""Sizes beyond which a scenario is refused before anything is allocated.

A scenario file may come from anywhere (a colleague, a download), so loading it
must never exhaust memory or the interpreter's stack. Every limit is far above
what a teaching model needs.
"""

from __future__ import annotations

MAX_FILE_BYTES = 200 * 1024 * 1024  # largest scenario JSON or sibling weights file read
MAX_DEPTH = 64  # deepest bracket nesting accepted; a real scenario needs 6
MAX_PARAMS = 64_000_000  # largest parameter count a scenario's model may declare (attn-only-4l: 54.7M)
MAX_LAYERS = 256  # largest n_layers
MAX_DIM = 1 << 20  # largest n_heads, d_model, d_head, d_vocab or n_ctx
INLINE_MAX_PARAMS = 20_000  # save_scenario writes weights inline up to this many parameters
MAX_SEED = 2**63 - 1  # seeds must fit an int64 so NumPy and file readers agree
