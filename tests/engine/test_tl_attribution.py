"""Direct logit attribution on TransformerLens models: with a final normalisation the parts still add up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from induction_gui.engine import Weights, logit_attribution, per_token_loss, run_with_cache

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_tl"
VARIANTS = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir() and p.name != "vocab_out")


@pytest.mark.parametrize("variant", VARIANTS)
def test_parts_add_up_to_the_logit(variant: str) -> None:
    weights = Weights.load(GOLDEN / variant)
    tokens = np.load(GOLDEN / variant / "expected.npz")["tokens"][0]
    logits, cache = run_with_cache(weights, tokens, dtype=np.float64)
    for position in (0, 5, len(tokens) - 2):
        a = logit_attribution(weights, cache, tokens, position)
        assert a.logit == pytest.approx(logits[0, position, tokens[position + 1]], rel=1e-9, abs=1e-12)
        assert a.total == pytest.approx(a.logit, rel=1e-9, abs=1e-12)


def test_a_model_with_other_outputs_has_no_next_token_logit() -> None:
    weights = Weights.load(GOLDEN / "vocab_out")
    tokens = np.load(GOLDEN / "vocab_out" / "expected.npz")["tokens"][0]
    logits, cache = run_with_cache(weights, tokens)
    with pytest.raises(ValueError, match="not next-token logits"):
        logit_attribution(weights, cache, tokens, 0)
    if tokens[1:].max() >= logits.shape[-1]:
        with pytest.raises(ValueError, match="has no logit"):
            per_token_loss(logits, tokens)
