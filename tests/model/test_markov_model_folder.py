"""The model folder a markov-chains run writes loads in TransformerLens with the engine's logits.

``tests/data/markov_tl/`` is the ``model/`` folder of
``induction-gui train --preset markov-chains --steps 400`` (seed 0) and
``expected.npz``: four chain sequences and TransformerLens' logits for them
from that folder (``HookedTransformerConfig.from_dict`` + ``load_state_dict``,
float64), made by ``scripts/check_markov_tl.py`` (development only: it needs
torch and transformer_lens). Here, without either, the engine must reproduce
those logits from the same files, and the run writer must still write such a
folder, so the golden keeps describing what the command line produces.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from induction_gui.engine import Weights, run_with_cache
from induction_gui.engine.weights_io import read_safetensors
from induction_gui.model.markov_run import write_model

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "markov_tl"
# The engine runs in float32 against TransformerLens in float64; the script measured 6e-7 on logits of
# magnitude 2. 1e-5 of the largest logit is well above float32 rounding and far below any modelling error
# (a wrong attention scale or a prepended token moves logits by more than 1e-2, see the last test).
RTOL = 1e-5


@pytest.fixture(scope="module")
def golden() -> tuple[Weights, np.ndarray, np.ndarray]:
    with np.load(GOLDEN / "expected.npz", allow_pickle=False) as data:
        tokens, logits = data["tokens"], data["logits"]
    return Weights.load(GOLDEN), tokens, logits


def _tolerance(reference: np.ndarray) -> float:
    return RTOL * float(np.abs(reference).max())


def test_the_folder_is_a_markov_model_over_the_k_states(golden: tuple[Weights, np.ndarray, np.ndarray]) -> None:
    weights, tokens, logits = golden
    config = json.loads((GOLDEN / "config.json").read_text(encoding="utf-8"))
    assert (config["d_vocab"], config["d_vocab_out"], config["n_ctx"], config["n_layers"]) == (3, 3, 100, 2)
    assert config["attn_only"] and config["normalization_type"] is None and config["default_prepend_bos"] is False
    assert weights.config.d_vocab == 3
    # no start token: every position, the first included, is one of the k states
    assert tokens.shape == (4, 100) and set(np.unique(tokens)) == {0, 1, 2}
    assert logits.shape == (4, 100, 3)


def test_the_engine_reproduces_transformer_lens_logits(golden: tuple[Weights, np.ndarray, np.ndarray]) -> None:
    weights, tokens, expected = golden
    logits, _ = run_with_cache(weights, tokens)  # [batch, pos, d_vocab]
    assert logits.shape == expected.shape
    assert np.abs(logits - expected).max() <= _tolerance(expected)
    # a prefix is a shorter context, not a different one (standard positions, causal attention)
    prefix, _ = run_with_cache(weights, tokens[:, :37])
    assert np.abs(prefix - expected[:, :37]).max() <= _tolerance(expected)


def test_the_run_writer_still_writes_this_folder(golden: tuple[Weights, np.ndarray, np.ndarray],
                                                 tmp_path: Path) -> None:  # fmt: skip
    weights, _, _ = golden
    folder = write_model(weights, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    assert (folder / "config.json").read_text(encoding="utf-8") == (GOLDEN / "config.json").read_text(encoding="utf-8")
    written, _ = read_safetensors(folder / "model.safetensors")
    stored, _ = read_safetensors(GOLDEN / "model.safetensors")
    assert sorted(written) == sorted(stored)
    for name, array in stored.items():
        assert written[name].dtype == np.float32
        np.testing.assert_array_equal(written[name], array, err_msg=name)


def test_the_comparison_would_see_a_wrong_reading(golden: tuple[Weights, np.ndarray, np.ndarray]) -> None:
    """A start token the model never had, or another attention scale, moves the logits far beyond the tolerance."""
    weights, tokens, expected = golden
    with_start, _ = run_with_cache(weights, np.concatenate([np.zeros((4, 1), np.int64), tokens[:, :-1]], axis=1))
    assert np.abs(with_start[:, 1:] - expected[:, :-1]).max() > 1e3 * _tolerance(expected)
    rescaled = weights.copy()
    rescaled.attn_scale = 2.0 * weights.config.scale
    logits, _ = run_with_cache(rescaled, tokens)
    assert np.abs(logits - expected).max() > 1e3 * _tolerance(expected)
