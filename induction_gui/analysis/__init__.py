"""Qt-free analysis floor: every number the app shows, declared once, memoized by revision.

The window's views, lesson checks, the command line (``check``, ``export``,
``metrics.json``) and notebooks all read the same entries, so a number on
screen and the number in a file cannot disagree::

    from induction_gui.analysis import Analysis
    analysis = Analysis.of(weights, tokens, overrides, bos=0)
    analysis.get("detector", pattern="induction_head", measure="mul", exclude_bos=True)
"""

from ..engine.circuits import COMPOSITION_MODES
from ..engine.metrics import PREVIOUS_TOKEN_VARIANT
from .analysis import Analysis, EntryFailed, Executor, Pending
from .context import Context, State
from .registry import ENTRIES, Cancelled, Entry
from .results import Results, compute_results

__all__ = [
    "COMPOSITION_MODES",
    "PREVIOUS_TOKEN_VARIANT",
    "ENTRIES",
    "Analysis",
    "Cancelled",
    "Context",
    "Entry",
    "EntryFailed",
    "Executor",
    "Pending",
    "Results",
    "State",
    "compute_results",
]
