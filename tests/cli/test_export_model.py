"""``induction-gui export-model``: a folder a TransformerLens notebook loads, and the app too.

That TransformerLens itself loads these folders with the same logits is checked
by ``scripts/make_tl_goldens.py --check-export`` (development only: it needs torch).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from induction_gui.cli import main
from induction_gui.engine import Weights, run, run_with_cache
from induction_gui.model.scenario import load_scenario

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_tl"
# what HookedTransformerConfig.from_dict needs to build the same forward pass
TL_KEYS = (
    "n_layers", "d_model", "n_ctx", "d_head", "n_heads", "d_vocab", "d_vocab_out", "act_fn", "attn_only",
    "normalization_type", "positional_embedding_type", "rotary_dim", "rotary_base", "rotary_adjacent_pairs",
    "use_attn_scale", "attn_scale", "eps",
)  # fmt: skip


@pytest.mark.parametrize("variant", ["ln_rotary", "folded", "bfloat16", "vocab_out", "rms_rotary_adjacent"])
def test_a_tl_model_round_trips_with_the_same_logits(tmp_path: Path, variant: str) -> None:
    out = tmp_path / variant
    assert main(["export-model", str(GOLDEN / variant), "--out", str(out), "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((out / "config.json").read_text())
    assert set(TL_KEYS) <= set(config) and config["attn_only"] is True
    assert "dtype" not in config  # float32, TransformerLens' default: from_dict cannot parse a dtype string
    with np.load(GOLDEN / variant / "expected.npz") as golden:
        tokens, expected = golden["tokens"], golden["logits"]
    logits = run(Weights.load(out), tokens)
    np.testing.assert_array_equal(logits, run(Weights.load(GOLDEN / variant), tokens))
    assert np.abs(logits - expected).max() <= 1e-4 * np.abs(expected).max()


def test_a_preset_exports_as_a_plain_tl_model(tmp_path: Path) -> None:
    assert main(["export-model", "induction-circuit", "--out", str(tmp_path), "-q"]) == 0
    config = json.loads((tmp_path / "config.json").read_text())
    assert (config["normalization_type"], config["positional_embedding_type"]) == (None, "standard")
    scenario = load_scenario("induction-circuit")
    tokens = np.arange(min(8, scenario.weights.config.d_vocab))
    loaded = Weights.load(tmp_path)
    np.testing.assert_allclose(run(loaded, tokens), run(scenario.weights, tokens), rtol=0, atol=0)
    assert "unembed.hook_out" in run_with_cache(loaded, tokens)[1]


def test_a_refused_model_is_exit_2_naming_the_feature(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "model.safetensors").write_bytes((GOLDEN / "ln_standard" / "model.safetensors").read_bytes())
    config = json.loads((GOLDEN / "ln_standard" / "config.json").read_text()) | {"attention_dir": "bidirectional"}
    (src / "config.json").write_text(json.dumps(config))
    assert main(["export-model", str(src), "--out", str(tmp_path / "out")]) == 2
    assert "bidirectional attention" in capsys.readouterr().err
