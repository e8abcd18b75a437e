"""check and export on a TransformerLens model folder, typed text through the folder's own tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from induction_gui import engine
from induction_gui.cli import main
from induction_gui.engine.weights_io import save_model_folder
from induction_gui.model.model_folder import scenario_from_model

TEXT = "the cat sat on the mat the cat"


def _folder(tmp_path: Path, train_byte_level_bpe) -> Path:  # noqa: ANN001 - the conftest's factory
    """A random one-layer model of 320 tokens with a byte-level BPE tokenizer.json (300 tokens) beside it."""
    cfg = engine.ModelConfig(n_layers=1, n_heads=2, d_model=16, d_head=8, d_vocab=320, n_ctx=32)
    folder = save_model_folder(engine.Weights.random(cfg, seed=3), tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    config["default_prepend_bos"] = True  # TransformerLens' default, as a notebook's folder has it
    (folder / "config.json").write_text(json.dumps(config))
    train_byte_level_bpe(folder / "tokenizer.json")
    return folder


def test_export_of_a_model_folder_tokenizes_text_with_its_tokenizer(tmp_path: Path, capsys, train_byte_level_bpe) -> None:  # noqa: ANN001
    folder = _folder(tmp_path, train_byte_level_bpe)
    assert main(["check", str(folder)]) == 0
    assert main(["export", str(folder), "--out", str(tmp_path / "out"), "--text", TEXT, "-q"]) == 0
    report = json.loads((tmp_path / "out" / "metrics.json").read_text())
    library = Tokenizer.from_file(str(folder / "tokenizer.json"))
    bos = library.token_to_id("<|endoftext|>")
    assert report["scenario"]["tokens"] == [bos, *library.encode(TEXT, add_special_tokens=False).ids]
    logits = np.load(tmp_path / "out" / "logits.npy")
    assert logits.shape == (1, len(report["scenario"]["tokens"]), 320)


def test_a_model_folder_opens_with_decoded_token_strings_and_bos_first(tmp_path: Path, train_byte_level_bpe) -> None:  # noqa: ANN001,E501
    folder = _folder(tmp_path, train_byte_level_bpe)
    scenario = scenario_from_model(folder)
    library = Tokenizer.from_file(str(folder / "tokenizer.json"))
    the = library.encode(" the", add_special_tokens=False).ids
    assert len(the) == 1 and scenario.vocab[the[0]] == " the"  # as TransformerLens' to_str_tokens shows it
    assert scenario.bos == library.token_to_id("<|endoftext|>") and scenario.tokens[0] == scenario.bos


def test_check_names_what_a_refused_model_folder_lacks(tmp_path: Path, capsys, train_byte_level_bpe) -> None:  # noqa: ANN001
    folder = _folder(tmp_path, train_byte_level_bpe)
    config = json.loads((folder / "config.json").read_text())
    config["positional_embedding_type"] = "alibi"
    (folder / "config.json").write_text(json.dumps(config))
    assert main(["check", str(folder)]) == 2
    assert "alibi" in capsys.readouterr().err
