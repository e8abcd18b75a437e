"""A model folder's own tokenizer.json, read through the tokenizers library (built here, no network)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from induction_gui import engine
from induction_gui.analysis.export import export_scenario
from induction_gui.model.model_folder import scenario_from_model
from induction_gui.model.scenario import Scenario
from induction_gui.model.sequence_edit import generate_repeated_names, parse_sequence, sequence_text
from induction_gui.model.tokenizer import HFTokenizer, load_tokenizer


@pytest.fixture
def folder(tmp_path: Path, train_byte_level_bpe) -> Path:  # noqa: ANN001 - the conftest's factory
    train_byte_level_bpe(tmp_path / "tokenizer.json")
    return tmp_path


def test_a_folder_tokenizes_with_its_own_tokenizer_bos_first(folder: Path) -> None:
    from tokenizers import Tokenizer

    tok = load_tokenizer(folder)
    assert isinstance(tok, HFTokenizer)
    library = Tokenizer.from_file(str(folder / "tokenizer.json"))
    ids = tok.encode("the cat sat on the log")
    bos = library.token_to_id("<|endoftext|>")
    assert ids[0] == bos == tok.bos_id
    assert ids[1:].tolist() == library.encode("the cat sat on the log", add_special_tokens=False).ids
    # token strings as TransformerLens' to_str_tokens shows them: each id decoded alone, spaces not "Ġ"
    strings = tok.to_str_tokens(ids)
    assert strings[0] == "<|endoftext|>"
    assert "".join(strings[1:]) == "the cat sat on the log"
    assert any(s.startswith(" ") for s in strings) and not any("Ġ" in s for s in strings)
    assert len(tok.vocab()) == tok.d_vocab == library.get_vocab_size()


def test_default_prepend_bos_false_leaves_the_start_token_out(folder: Path) -> None:
    (folder / "config.json").write_text(json.dumps({"default_prepend_bos": False}))
    tok = load_tokenizer(folder)
    assert tok is not None and tok.encode("the cat")[0] != tok.bos_id


def test_a_folder_without_tokenizer_json_has_none(tmp_path: Path) -> None:
    assert load_tokenizer(tmp_path) is None


def test_export_text_writes_the_tokenizers_ids_under_scenario_tokens(folder: Path, tmp_path: Path) -> None:
    tok = load_tokenizer(folder)
    assert tok is not None
    cfg = engine.ModelConfig(n_layers=1, n_heads=2, d_model=16, d_head=8, d_vocab=tok.d_vocab, n_ctx=32)
    scenario = Scenario(title="bpe", vocab=tok.vocab(), tokens=[0, 1], weights=engine.Weights.random(cfg),
                        bos=tok.bos_id)
    out = tmp_path / "out"
    export_scenario(scenario, out, text="the dog sat on the mat", tokenizer=tok)
    report = json.loads((out / "metrics.json").read_text())
    assert report["scenario"]["tokens"] == tok.encode("the dog sat on the mat").tolist()
    assert report["scenario"]["token_strings"] == tok.to_str_tokens(tok.encode("the dog sat on the mat"))
    assert np.load(out / "logits.npy").shape == (1, len(report["scenario"]["tokens"]), tok.d_vocab)


# -- typed text in a scenario opened from the folder -----------------------------------------------


def test_typed_text_goes_through_the_folders_tokenizer_bos_first(bpe_model_folder: Path) -> None:
    from tokenizers import Tokenizer

    scenario = scenario_from_model(bpe_model_folder)
    assert scenario.copy().hf_tokenizer is scenario.hf_tokenizer is not None  # kept by copies, never saved
    library = Tokenizer.from_file(str(bpe_model_folder / "tokenizer.json"))
    bos = library.token_to_id("<|endoftext|>")
    text = "the cat sat on the mat"
    parsed = parse_sequence(text, scenario)
    assert parsed.problem == "" and parsed.unknown == ()
    assert parsed.tokens is not None
    assert parsed.tokens.tolist() == [bos, *library.encode(text, add_special_tokens=False).ids]
    # words the tokenizer never saw whole are split into byte pieces: nothing typed is unknown
    zebra = parse_sequence("the zebra ünï", scenario)
    assert zebra.problem == "" and zebra.unknown == () and " zebra" not in scenario.vocab
    # the text box shows the sequence as the tokenizer decodes it, start token left out, and it round-trips
    scenario.tokens = parsed.tokens
    assert sequence_text(scenario) == text
    assert np.array_equal(parse_sequence(sequence_text(scenario), scenario).tokens, parsed.tokens)


def test_text_longer_than_n_ctx_or_beyond_the_models_vocabulary_is_refused(bpe_model_folder: Path) -> None:
    scenario = scenario_from_model(bpe_model_folder)
    long = parse_sequence("the cat sat on the mat " * 10, scenario)
    assert long.tokens is None and long.too_long and "n_ctx is 32" in long.problem
    tok = scenario.hf_tokenizer
    assert tok is not None
    small = engine.ModelConfig(n_layers=1, n_heads=2, d_model=16, d_head=8, d_vocab=260, n_ctx=32)
    narrow = Scenario(title="narrow", vocab=tok.vocab()[:260], tokens=[0], weights=engine.Weights.random(small),
                      hf_tokenizer=tok)  # a tokenizer with more ids than the model embeds
    high = next(i for i in range(260, tok.d_vocab) if tok.to_str_tokens([i])[0].strip())
    refused = parse_sequence(tok.decode([high]), narrow)
    assert refused.tokens is None and "outside the model's vocabulary 0..259" in refused.problem


def test_a_folder_without_tokenizer_json_keeps_the_words_tokenizer(tmp_path: Path) -> None:
    from induction_gui.engine.weights_io import save_model_folder

    cfg = engine.ModelConfig(n_layers=1, n_heads=1, d_model=8, d_head=4, d_vocab=5, n_ctx=8)
    scenario = scenario_from_model(save_model_folder(engine.Weights.random(cfg), tmp_path / "m"))
    assert scenario.hf_tokenizer is None
    assert parse_sequence("tok1 tok2", scenario).tokens.tolist() == [1, 2]


def test_the_names_generator_uses_the_folders_tokenizer_and_marks_the_names_last_piece(bpe_model_folder: Path) -> None:
    tok = load_tokenizer(bpe_model_folder)
    assert tok is not None
    cfg = engine.ModelConfig(n_layers=1, n_heads=2, d_model=16, d_head=8, d_vocab=tok.d_vocab, n_ctx=128)
    scenario = Scenario(title="bpe", vocab=tok.vocab(), tokens=[0], weights=engine.Weights.random(cfg),
                        bos=tok.bos_id, hf_tokenizer=tok)  # the tiny tokenizer spells names letter by letter
    gen = generate_repeated_names(scenario, seed=0)
    assert gen.vocab is None and gen.text is not None  # no words to add: the tokenizer covers the sentence
    assert gen.tokens.tolist() == tok.encode(gen.text).tolist() and gen.tokens[0] == tok.bos_id
    first_names = gen.text.split()[1], gen.text.split()[4]  # "When Mary Potter and John Evans ..."
    assert len(gen.marks["query"]) == 2
    for q in gen.marks["query"]:
        before = tok.decode(gen.tokens[: q + 1])  # the text up to and including the query token
        assert before.endswith(first_names) and before.count(before.split()[-1]) == 2  # a name's second time
    assert [t - 1 for t in gen.marks["target"]] == list(gen.marks["query"])


def test_without_default_prepend_bos_typed_text_has_no_start_token_unless_typed(bpe_model_folder: Path) -> None:
    config = json.loads((bpe_model_folder / "config.json").read_text())
    (bpe_model_folder / "config.json").write_text(json.dumps(config | {"default_prepend_bos": False}))
    scenario = scenario_from_model(bpe_model_folder)
    tok = scenario.hf_tokenizer
    assert tok is not None and not tok.prepend_bos
    assert tok.bos_id not in parse_sequence("the cat", scenario).tokens.tolist()
    assert scenario.tokens[0] != tok.bos_id, "the opening sequence has no start token either"
    # a start token typed is kept, shown as its text, and typing the shown text back gives the same ids
    scenario.tokens = parse_sequence("<|endoftext|> the cat", scenario).tokens
    assert scenario.tokens[0] == tok.bos_id and sequence_text(scenario).startswith("<|endoftext|>")
    assert parse_sequence(sequence_text(scenario), scenario).tokens.tolist() == scenario.tokens.tolist()


def test_a_saved_model_folder_scenario_keeps_its_tokenizer(bpe_model_folder: Path, tmp_path: Path) -> None:
    """Saved, reopened (or recovered from autosave), typed text still goes through the model's own tokenizer."""
    from induction_gui.model.scenario import load_scenario, save_scenario

    scenario = scenario_from_model(bpe_model_folder)
    before = parse_sequence("the cat sat on the mat", scenario).tokens.tolist()
    for inline in (True, False):
        path = tmp_path / f"saved-{inline}.json"
        save_scenario(scenario, path, inline=inline)
        assert (tmp_path / f"saved-{inline}.tokenizer.json").is_file()
        again = load_scenario(path)
        assert again.hf_tokenizer is not None and again.bos == scenario.bos
        assert parse_sequence("the cat sat on the mat", again).tokens.tolist() == before
        assert again.vocab == scenario.vocab and np.array_equal(again.tokens, scenario.tokens)


def test_a_scenario_naming_a_missing_tokenizer_file_is_refused_by_field(bpe_model_folder: Path, tmp_path: Path) -> None:
    from induction_gui.model.errors import ScenarioError
    from induction_gui.model.scenario import load_scenario, save_scenario

    path = tmp_path / "s.json"
    save_scenario(scenario_from_model(bpe_model_folder), path, inline=True)
    (tmp_path / "s.tokenizer.json").unlink()
    with pytest.raises(ScenarioError, match="tokenizer_file.*beside the scenario"):
        load_scenario(path)
