"""Head metrics over activations: detectors, loss, in-context learning, attribution, ablation.

Pure functions over arrays, each written as METRICS.md states it. Where a metric
has variants (which positions are excluded, which loss indices are compared) the
function either takes the variant as an argument or returns its label, so that
the window can print the variant next to the number.

The metrics live in one module per concept: :mod:`.detection_patterns`,
:mod:`.detectors`, :mod:`.losses` and :mod:`.attribution`; this module keeps
every name importable from ``induction_gui.engine.metrics``.
"""

from __future__ import annotations

from .detection_patterns import (
    ERROR_MEASURES,
    HEAD_NAMES,
    PREFIX_MATCHING_VARIANT,
    PREVIOUS_TOKEN_VARIANT,
    ErrorMeasure,
    HeadName,
    detection_pattern,
    duplicate_token_pattern,
    induction_pattern,
    previous_token_pattern,
)
from .detectors import (
    current_token_score,
    detect_head,
    detect_head_from_patterns,
    first_token_score,
    induction_stripe_score,
    prefix_matching_score,
    previous_token_score,
    previous_token_stripe_score,
    score_patterns,
)
from .losses import (
    IclScore,
    RepeatLoss,
    first_and_repeat_loss,
    icl_score,
    log_softmax,
    per_token_loss,
)
from .attribution import (
    AblationEffects,
    LogitAttribution,
    ablation_effects,
    logit_attribution,
    logit_attribution_by_half,
)

__all__ = [
    "ERROR_MEASURES",
    "HEAD_NAMES",
    "PREFIX_MATCHING_VARIANT",
    "PREVIOUS_TOKEN_VARIANT",
    "AblationEffects",
    "ErrorMeasure",
    "HeadName",
    "IclScore",
    "LogitAttribution",
    "RepeatLoss",
    "ablation_effects",
    "current_token_score",
    "detect_head",
    "detect_head_from_patterns",
    "detection_pattern",
    "duplicate_token_pattern",
    "first_and_repeat_loss",
    "first_token_score",
    "icl_score",
    "induction_pattern",
    "induction_stripe_score",
    "log_softmax",
    "logit_attribution",
    "logit_attribution_by_half",
    "per_token_loss",
    "prefix_matching_score",
    "previous_token_pattern",
    "previous_token_score",
    "previous_token_stripe_score",
    "score_patterns",
]
