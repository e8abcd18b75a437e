"""The NumPy engine: an attention-only transformer that matches TransformerLens.

NumPy and the standard library only, so notebooks, the command line and the
window share one implementation and nothing here needs a display.
"""

from .attention import HeadOverride, shift_matrix
from .config import ModelConfig
from .forward import TokenError, run, run_with_cache
from .hooks import ActivationCache, act_name
from .weights import Weights, WeightsError

__all__ = [
    "ActivationCache",
    "HeadOverride",
    "ModelConfig",
    "TokenError",
    "Weights",
    "WeightsError",
    "act_name",
    "run",
    "run_with_cache",
    "shift_matrix",
]
