"""Parity with TransformerLens 3.9: head detector, copying scores and composition scores.

The golden files (tests/data/golden, see its README) hold TransformerLens'
outputs, computed in float64 on float32 weights, for three random models.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from induction_gui.engine import Weights
from induction_gui.engine.circuits import composition_scores, copying_scores
from induction_gui.engine.metrics import HEAD_NAMES, detect_head, detect_head_from_patterns

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
MODELS = ("tiny", "small", "deep")
OPTIONS = [(bos, cur, m) for bos in (False, True) for cur in (False, True) for m in ("mul", "abs")]

# A float32 forward pass agrees with TransformerLens' float64 one to ~1e-6 relative; mul is a ratio of sums of it.
MUL_TOL = 1e-5
# abs is rounded to 3 decimals by TransformerLens; a float32 sum near a rounding boundary may land one unit away.
ABS_TOL = 1e-3 + 1e-9
# copying and composition scores are float64 maths on the same float32 weights; only summation order differs.
CIRCUIT_TOL = 1e-5


@cache
def load(name: str) -> tuple[Weights, dict[str, np.ndarray]]:
    weights = Weights.load(GOLDEN / f"{name}.safetensors")
    with np.load(GOLDEN / f"{name}.npz", allow_pickle=False) as data:
        return weights, {k: data[k] for k in data.files}


def detect_key(pattern: str, bos: bool, cur: bool, measure: str) -> str:
    return f"detect_head/{pattern}/exclude_bos={bos}/exclude_current_token={cur}/{measure}"


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("pattern", HEAD_NAMES)
@pytest.mark.parametrize(("bos", "cur", "measure"), OPTIONS)
def test_detect_head(name: str, pattern: str, bos: bool, cur: bool, measure: str) -> None:
    weights, gold = load(name)
    expected = gold[detect_key(pattern, bos, cur, measure)]
    tol = MUL_TOL if measure == "mul" else ABS_TOL
    for dtype in (np.float32, np.float64):
        got = detect_head(
            weights,
            gold["tokens"][0],
            pattern,
            exclude_bos=bos,
            exclude_current_token=cur,
            error_measure=measure,  # type: ignore[arg-type]
            dtype=dtype,
        )
        np.testing.assert_allclose(got, expected, rtol=0, atol=tol, err_msg=f"forward in {dtype.__name__}")


@pytest.mark.parametrize("name", MODELS)
def test_detect_head_on_transformerlens_patterns(name: str) -> None:
    """Scoring TransformerLens' own cached patterns isolates the scoring from our forward pass."""
    weights, gold = load(name)
    layers = [gold[f"cache/blocks.{layer}.attn.hook_pattern"][:1] for layer in range(weights.config.n_layers)]
    for pattern in HEAD_NAMES:
        for bos, cur, measure in OPTIONS:
            got = detect_head_from_patterns(
                layers,
                gold["tokens"][:1],
                pattern,
                exclude_bos=bos,
                exclude_current_token=cur,
                error_measure=measure,  # type: ignore[arg-type]
            )
            # same float64 numbers in, so the only difference is summation order (and abs rounding)
            np.testing.assert_allclose(got, gold[detect_key(pattern, bos, cur, measure)], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("full", [False, True])
def test_copying_scores(name: str, full: bool) -> None:
    weights, gold = load(name)
    expected = gold[f"copying_scores/full={full}"]
    np.testing.assert_allclose(copying_scores(weights, full=full), expected, rtol=0, atol=CIRCUIT_TOL)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("mode", ["Q", "K", "V"])
def test_composition_scores(name: str, mode: str) -> None:
    weights, gold = load(name)
    got = composition_scores(weights, mode)  # type: ignore[arg-type]
    np.testing.assert_allclose(got, gold[f"composition_scores/{mode}"], rtol=0, atol=CIRCUIT_TOL)
