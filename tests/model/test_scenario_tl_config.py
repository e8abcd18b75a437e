"""A scenario holding a TransformerLens model saves its forward-pass options and reloads computing the same numbers."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from induction_gui.analysis import Analysis
from induction_gui.engine.weights import Weights
from induction_gui.resources import preset_names
from induction_gui.model.model_folder import scenario_from_model
from induction_gui.model.scenario import (
    ScenarioError,
    dumps_scenario,
    load_scenario,
    save_scenario,
    scenario_from_json,
    scenario_to_json,
)

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_tl"
VARIANTS = ["ln_rotary", "folded", "vocab_out", "float16", "rms_rotary_adjacent", "no_attn_scale", "rms_standard"]


def _options(weights: Weights) -> dict[str, object]:
    """The config but the dtype the model was read in (the saved arrays carry their own)."""
    return {k: v for k, v in weights.options.items() if k != "dtype"}


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "weights_file"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_an_edited_tl_model_reloads_with_its_config_and_logits(variant: str, inline: bool, tmp_path: Path) -> None:
    scenario = scenario_from_model(GOLDEN / variant)
    scenario.weights["blocks.0.attn.W_Q"][0, 1, 2] += 0.5  # a learner's edit
    save_scenario(scenario, tmp_path / "s.json", inline=inline)
    assert (tmp_path / "s.safetensors").exists() != inline
    back = load_scenario(tmp_path / "s.json")
    assert back == scenario
    assert set(back.weights) == set(scenario.weights)
    for name in scenario.weights:
        np.testing.assert_array_equal(back.weights[name], scenario.weights[name], err_msg=name)
    assert _options(back.weights) == _options(scenario.weights)
    assert back.config == replace(scenario.config, dtype=back.config.dtype)
    before = Analysis.of(scenario.weights, scenario.tokens).results.logits
    after = Analysis.of(back.weights, back.tokens).results.logits
    np.testing.assert_array_equal(after, before)  # the same arrays and options: the same numbers, bit for bit


def test_only_options_that_differ_from_the_plain_model_are_written() -> None:
    config = scenario_to_json(scenario_from_model(GOLDEN / "ln_rotary"))["model"]["config"]
    assert config["normalization_type"] == "LN" and config["positional_embedding_type"] == "rotary"
    assert config["rotary_dim"] == 4 and config["rotary_base"] == 50.0
    for default in ("use_attn_scale", "eps", "d_vocab_out", "rotary_adjacent_pairs"):
        assert default not in config


def test_the_app_s_own_models_are_written_as_before() -> None:
    for name in preset_names():
        doc = scenario_to_json(load_scenario(name))
        assert set(doc["model"]["config"]) <= {
            "n_layers", "n_heads", "d_model", "d_head", "d_vocab", "n_ctx", "attn_scale",
        }  # fmt: skip


def _doc() -> dict:  # type: ignore[type-arg]
    """A saved ln_rotary scenario as parsed JSON, to be spoiled by a test."""
    return json.loads(dumps_scenario(scenario_from_model(GOLDEN / "ln_rotary")))


def test_a_refused_feature_in_the_config_is_named() -> None:
    doc = _doc()
    doc["model"]["config"]["use_qk_norm"] = True
    with pytest.raises(ScenarioError, match=r"model\.config: QK normalisation"):
        scenario_from_json(doc)


def test_an_unknown_config_key_is_a_typo_not_a_feature() -> None:
    doc = _doc()
    doc["model"]["config"]["normalisation_type"] = "LN"
    with pytest.raises(ScenarioError, match=r"model\.config.*normalisation_type"):
        scenario_from_json(doc)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("rotary_dim", 5, r"model\.config\.rotary_dim: expected an even number"),
        ("normalization_type", "BatchNorm", r"model\.config: normalization_type 'BatchNorm' is not supported"),
        ("use_attn_scale", "yes", r"model\.config\.use_attn_scale: expected true or false"),
        ("d_vocab_out", 10**9, r"model\.config\.d_vocab_out"),
        ("rotary_base", 0, r"model\.config\.rotary_base"),
        ("eps", -1.0, r"model\.config\.eps: expected a non-negative number"),
    ],
)
def test_bad_options_are_refused_with_their_path(key: str, value: object, match: str) -> None:
    doc = _doc()
    doc["model"]["config"][key] = value
    with pytest.raises(ScenarioError, match=match):
        scenario_from_json(doc)


def test_options_and_weights_must_agree() -> None:
    doc = _doc()
    del doc["model"]["config"]["positional_embedding_type"]
    del doc["model"]["config"]["rotary_dim"]
    with pytest.raises(ScenarioError, match=r"pos_embed\.W_pos.*missing"):
        scenario_from_json(doc)
    doc = _doc()
    doc["model"]["config"]["normalization_type"] = "LNPre"
    with pytest.raises(ScenarioError, match=r"ln1\.[wb]\"\]: not a parameter of this model"):
        scenario_from_json(doc)


def test_a_hand_written_scenario_can_name_a_notebook_s_state_dict(tmp_path: Path) -> None:
    """TransformerLens' buffers (causal mask, rotary tables) in the file are passed over, as when opening the folder."""
    shutil.copy(GOLDEN / "ln_rotary" / "model.safetensors", tmp_path / "notebook.safetensors")
    doc = _doc()
    del doc["model"]["weights"]
    doc["model"]["weights_file"] = "notebook.safetensors"
    (tmp_path / "lesson.json").write_text(json.dumps(doc))
    assert load_scenario(tmp_path / "lesson.json").weights == Weights.load(GOLDEN / "ln_rotary")
