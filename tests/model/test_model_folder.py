"""A TransformerLens model folder as a scenario (Qt-free part of File ▸ Open Model)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from induction_gui.model.model_folder import default_tokens, is_model_path, scenario_from_model, tokenizer_vocab
from induction_gui.model.scenario import ScenarioError, save_scenario

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_tl"


def test_model_paths_are_told_from_scenarios() -> None:
    assert is_model_path(GOLDEN / "ln_standard") and is_model_path("m.safetensors")
    assert not is_model_path("induction-circuit") and not is_model_path("lesson.json")


def test_the_scenario_runs_the_folders_model() -> None:
    scenario = scenario_from_model(GOLDEN / "ln_rotary")
    assert scenario.weights.config.positional_embedding_type == "rotary"
    assert scenario.config.positional_embedding_type == "rotary"  # the options survive Scenario.config
    assert len(scenario.vocab) == 23


def test_a_plain_tl_model_saves_and_reloads(tmp_path: Path) -> None:
    from induction_gui.model.scenario import load_scenario

    scenario = scenario_from_model(GOLDEN / "none_standard")
    save_scenario(scenario, tmp_path / "s.json")
    assert load_scenario(tmp_path / "s.json").weights == scenario.weights


def test_refusals_are_scenario_errors_naming_the_feature(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(GOLDEN / "ln_standard", folder)
    config = json.loads((folder / "config.json").read_text()) | {"positional_embedding_type": "alibi"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ScenarioError, match="alibi"):
        scenario_from_model(folder)


def test_tokenizer_vocab_fills_gaps_and_ignores_what_it_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps({"model": {"vocab": {"a": 0, "b": 2, "a2": 9, "": 1}}}))
    assert tokenizer_vocab(path, 4) == ["a", "tok1", "b", "tok3"]
    path.write_text("not json")
    assert tokenizer_vocab(path, 2) == ["tok0", "tok1"]


def test_default_tokens_repeat_a_block() -> None:
    t = default_tokens(50, 64)
    assert t.tolist() == [*range(1, 9), *range(1, 9)]
    assert default_tokens(3, 4).tolist() == [1, 2, 1, 2]
