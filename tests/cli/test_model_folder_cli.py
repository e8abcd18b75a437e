"""check and export on a TransformerLens model folder, typed text through the folder's own tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from induction_gui.cli import main
from induction_gui.model.model_folder import scenario_from_model

TEXT = "the cat sat on the mat the cat"


def test_export_of_a_model_folder_tokenizes_text_with_its_tokenizer(tmp_path: Path, bpe_model_folder: Path) -> None:
    folder = bpe_model_folder
    assert main(["check", str(folder)]) == 0
    assert main(["export", str(folder), "--out", str(tmp_path / "out"), "--text", TEXT, "-q"]) == 0
    report = json.loads((tmp_path / "out" / "metrics.json").read_text())
    library = Tokenizer.from_file(str(folder / "tokenizer.json"))
    bos = library.token_to_id("<|endoftext|>")
    assert report["scenario"]["tokens"] == [bos, *library.encode(TEXT, add_special_tokens=False).ids]
    logits = np.load(tmp_path / "out" / "logits.npy")
    assert logits.shape == (1, len(report["scenario"]["tokens"]), 320)


def test_a_model_folder_opens_with_decoded_token_strings_and_bos_first(bpe_model_folder: Path) -> None:
    folder = bpe_model_folder
    scenario = scenario_from_model(folder)
    library = Tokenizer.from_file(str(folder / "tokenizer.json"))
    the = library.encode(" the", add_special_tokens=False).ids
    assert len(the) == 1 and scenario.vocab[the[0]] == " the"  # as TransformerLens' to_str_tokens shows it
    assert scenario.bos == library.token_to_id("<|endoftext|>") and scenario.tokens[0] == scenario.bos


def test_check_names_what_a_refused_model_folder_lacks(capsys, bpe_model_folder: Path) -> None:  # noqa: ANN001
    folder = bpe_model_folder
    config = json.loads((folder / "config.json").read_text())
    config["positional_embedding_type"] = "alibi"
    (folder / "config.json").write_text(json.dumps(config))
    assert main(["check", str(folder)]) == 2
    assert "alibi" in capsys.readouterr().err
