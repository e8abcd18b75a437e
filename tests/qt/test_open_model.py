"""File ▸ Open Model: a TransformerLens model folder becomes a scenario that saves; a refused one is named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from induction_gui.engine import run
from induction_gui.engine.weights import Weights
from induction_gui.qt.commands import set_weight_cell

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_tl"


# rotary models are left out: the Circuits view's positional circuit reads pos_embed.W_pos,
# which a rotary model does not have (to be handled with the circuits on real sizes)
@pytest.mark.parametrize("variant", ["ln_shortformer", "folded", "rms_standard", "ln_rotary", "vocab_out"])
def test_a_model_folder_opens_and_every_view_renders(make_window, tmp_path: Path, variant: str) -> None:
    """Every tab draws (the fixture fails a view that could not); what a model lacks is said in a sentence."""
    window = make_window()
    window.maybe_save = lambda: True
    assert window.open_model(GOLDEN / variant)
    scenario = window.document.scenario
    assert scenario.title == variant and scenario.vocab[:2] == ["tok0", "tok1"]
    assert scenario.weights.config.normalization_type in ("LN", "LNPre", "RMS")
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        window.wait_idle()
        assert not window.grab().isNull()
    views = {view.title: view for view in window.views}
    if variant == "ln_rotary":  # no W_pos: no positional circuit of the embedding
        assert "rotary positions have no W_pos" in views["Circuits"].pos_caption.text()
    if variant == "vocab_out":  # outputs that are not next tokens: no attribution to a next token
        assert "not next-token logits" in views["Attribution"].heading.text()


def test_the_tokenizer_json_vocabulary_names_the_tokens(make_window, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(GOLDEN / "ln_standard", folder)
    vocab = {f"w{i}": i for i in range(23)}
    (folder / "tokenizer.json").write_text(json.dumps({"model": {"type": "WordLevel", "vocab": vocab}}))
    window = make_window()
    assert window.open_model(folder)
    scenario = window.document.scenario
    assert scenario.vocab == [f"w{i}" for i in range(23)]
    assert len(scenario.tokens) == 16 and scenario.tokens[:8].tolist() == scenario.tokens[8:].tolist()
    assert np.isfinite(run(scenario.weights, scenario.tokens)).all()


def test_a_refused_model_shows_the_feature_and_keeps_the_work(make_window, tmp_path: Path) -> None:
    window = make_window()
    doc = window.document
    window.undo_stack.push(set_weight_cell(doc, "blocks.1.attn.W_Q", (0, 0, 0), 2.0))
    folder = tmp_path / "gqa"
    shutil.copytree(GOLDEN / "ln_standard", folder)
    config = json.loads((folder / "config.json").read_text()) | {"n_key_value_heads": 1}
    (folder / "config.json").write_text(json.dumps(config))
    errors: list[tuple[str, str]] = []
    window.show_error = lambda title, message: errors.append((title, message))
    assert not window.open_model(folder)
    assert len(errors) == 1 and "grouped-query attention" in errors[0][1]
    assert doc.scenario.weights["blocks.1.attn.W_Q"][0, 0, 0] == 2.0, "nothing the user made is lost"


def test_open_model_is_in_the_file_menu(make_window) -> None:
    window = make_window()
    file_menu = window.menuBar().actions()[0].menu()
    assert window.action_table["open_model"] in file_menu.actions()


@pytest.mark.parametrize("variant", ["ln_rotary", "vocab_out"])
def test_an_edited_model_folder_is_saved_autosaved_and_reopened(make_window, tmp_path: Path, variant: str) -> None:
    from induction_gui.analysis import Analysis
    from induction_gui.model.scenario import load_scenario

    window = make_window()
    assert window.open_model(GOLDEN / variant)
    doc = window.document
    window.undo_stack.push(set_weight_cell(doc, "blocks.1.attn.W_Q", (0, 1, 2), 1.5))
    edited = doc.scenario_for_saving()
    failures: list[str] = []
    window.autosaver.failed.connect(failures.append)
    assert window.autosaver.save_now() and not failures, failures
    assert load_scenario(window.autosaver.path).weights == edited.weights
    path = tmp_path / "mine.json"
    assert window.save_to(path), window.errors
    assert not window.isWindowModified() and doc.path == path

    window.open_preset("induction-circuit")
    assert window.open_path(path)
    reopened = window.document.scenario
    assert reopened is not edited and reopened.weights == edited.weights
    assert reopened.weights["blocks.1.attn.W_Q"][0, 1, 2] == 1.5
    options = {k: v for k, v in edited.weights.options.items() if k != "dtype"}
    assert {k: v for k, v in reopened.weights.options.items() if k != "dtype"} == options
    logits = Analysis.of(reopened.weights, reopened.tokens).results.logits
    np.testing.assert_array_equal(logits, Analysis.of(edited.weights, edited.tokens).results.logits)
    assert not np.array_equal(logits, Analysis.of(Weights.load(GOLDEN / variant), edited.tokens).results.logits)
    window.wait_idle()
    assert window.errors == []
