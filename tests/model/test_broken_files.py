"""Broken scenario files: each raises ScenarioError naming where the problem is, never anything else.

The committed corpus (``tests/data/broken/``) holds one small file per problem,
each a copy of ``valid_base.json`` spoiled in one place. Files that would be big
(deep nesting, oversized files) or need the file system (symbolic links,
devices) are made by the tests instead.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from induction_gui.model import ScenarioError, load_scenario, loads_scenario
from induction_gui.model.limits import MAX_FILE_BYTES

BROKEN = Path(__file__).resolve().parent.parent / "data" / "broken"

# file -> a fragment the message must contain (the JSON path, or the file-level problem)
CORPUS: dict[str, str] = {
    "not_utf8.json": "not UTF-8 text: byte 0xff at line 4",
    "invalid_json.json": "invalid JSON at line 4, column 2",
    "empty_file.json": "invalid JSON at line 1, column 1",
    "top_level_list.json": "expected a JSON object at the top level",
    "wrong_format_tag.json": 'format: expected "induction-gui.scenario", got "induction-gui.lesson"',
    "missing_format.json": "format:",
    "newer_version.json": (
        "version: this file was written by a newer version (format version 7); this app reads up to 1"
    ),
    "version_bool.json": "version: expected an integer, got true",
    "unknown_top_field.json": "titel: unknown field",
    "duplicate_key.json": "title: this key appears twice",
    "title_not_string.json": "title: expected a string",
    "description_two_lines.json": "description: expected a single line",
    "seed_bool.json": "seed: expected an integer, got true",
    "seed_negative.json": "seed:",
    "tokenizer_unknown.json": "tokenizer:",
    "bos_out_of_range.json": "bos:",
    "tokens_out_of_range.json": "tokens[2]: id 40 is outside the vocabulary 0..2",
    "tokens_negative.json": "tokens[1]: id -1 is outside the vocabulary 0..2",
    "tokens_float.json": "tokens[1]: expected an integer token id, got 1.5",
    "tokens_bool.json": "tokens[2]: expected an integer token id, got true",
    "tokens_too_many.json": "tokens: the sequence has 5 tokens but model.config.n_ctx is 4",
    "tokens_empty.json": "tokens: the sequence is empty",
    "tokens_not_list.json": "tokens: expected a list",
    "tokens_and_text.json": "text:",
    "text_unknown_word.json": 'text: unknown word "dog"',
    "text_unknown_char.json": 'text: unknown character "z"',
    "vocab_empty.json": "vocab: the vocabulary is empty",
    "vocab_duplicate.json": "vocab[2]: duplicate of vocab[1]",
    "vocab_size_mismatch.json": "vocab: has 4 entries but model.config.d_vocab is 3",
    "vocab_not_string.json": "vocab[1]: expected a string",
    "vocab_surrogate.json": "vocab[1]: contains an unpaired surrogate",
    "weights_wrong_shape.json": 'model.weights["blocks.0.attn.W_Q"]: expected shape [1, 2, 1]',
    "weights_ragged.json": 'model.weights["embed.W_E"][1]: ragged nested list',
    "weights_nan.json": 'model.weights["unembed.W_U"][0][1]: NaN is not allowed',
    "weights_infinity.json": 'model.weights["pos_embed.W_pos"][1][1]: -Infinity is not allowed',
    "weights_overflow.json": 'model.weights["blocks.0.attn.W_O"][0][0][1]: -1e999 is not allowed',
    "weights_huge_integer.json": 'model.weights["blocks.0.attn.W_O"][0][0][1]',
    "weights_float32_overflow.json": 'model.weights["blocks.0.attn.W_V"][0][1][0]: 1e+39 is outside the float32 range',
    "weights_bool.json": 'model.weights["blocks.0.attn.W_K"][0][0][0]: expected a number, got false',
    "weights_string.json": 'model.weights["blocks.0.attn.W_K"][0][0][0]: expected a number',
    "weights_unknown_name.json": 'model.weights["blocks.0.mlp.W_in"]: unknown parameter',
    "weights_missing.json": 'model.weights["blocks.0.attn.W_K"]: missing',
    "weights_extra_layer.json": 'model.weights["blocks.1.attn.W_Q"]: layer 1 does not exist',
    "weights_not_object.json": "model.weights: expected an object",
    "config_disagrees.json": "model.config.d_model is 3",
    "config_missing_field.json": "model.config.n_ctx: missing",
    "config_float.json": "model.config.d_head: expected an integer, got 1.0",
    "config_absurd_dim.json": "model.config.n_ctx: expected an integer from 1 to",
    "config_too_many_params.json": "model.config: the model would have 134,299,651 parameters",
    "config_bad_attn_scale.json": "model.config.attn_scale",
    "dtype_unknown.json": "model.dtype:",
    "model_no_weights.json": "model.weights: missing",
    "model_both_weights.json": "model.weights_file: give either",
    "weights_file_absolute.json": "model.weights_file: expected a file name relative",
    "weights_file_windows_drive.json": "model.weights_file: expected a file name relative",
    "weights_file_dotdot.json": "model.weights_file: expected a file inside the scenario's folder",
    "weights_file_missing.json": "model.weights_file: no_such_weights.safetensors: no such weights file",
    "weights_file_not_safetensors.json": "model.weights_file: expected a .safetensors file",
    "weights_file_corrupt.json": "model.weights_file: weights_file_corrupt.safetensors: not a safetensors file",
    "override_unknown_field.json": 'overrides["L0H0"].temperature: unknown field',
    "override_negative_key_shift.json": 'overrides["L0H0"].key_shift: expected an integer ≥ 0, got -1',
    "override_key_shift_too_large.json": 'overrides["L0H0"].key_shift',
    "override_bad_normalization.json": 'overrides["L0H0"].normalization',
    "override_bad_ablation.json": 'overrides["L0H0"].ablation',
    "override_pattern_not_square.json": 'overrides["L0H0"].fixed_pattern: expected a square',
    "override_pattern_too_small.json": 'overrides["L0H0"].fixed_pattern: is 2×2 but the sequence has 3 tokens',
    "override_eps_negative.json": 'overrides["L0H0"].eps',
    "override_score_scale_nan.json": 'overrides["L0H0"].score_scale: NaN is not allowed',
    "override_bad_head_name.json": 'overrides["head0"]',
    "override_no_such_head.json": 'overrides["L5H0"]: no such head',
    "view_unknown_field.json": "view.zoom: unknown field",
    "view_layer_out_of_range.json": "view.layer",
    "view_query_pos_out_of_range.json": "view.query_pos",
    "view_colormap_unknown.json": "view.colormap",
}


def assert_refused(target: object, fragment: str) -> ScenarioError:
    """Loading ``target`` raises ScenarioError (a ValueError) whose message has ``fragment``."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(target)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert fragment in str(info.value), str(info.value)
    return info.value


def test_corpus_table_matches_the_folder():
    on_disk = {p.name for p in BROKEN.glob("*.json")} - {"valid_base.json"}
    assert on_disk == set(CORPUS)
    assert len(CORPUS) >= 25


def test_base_of_the_corpus_is_valid():
    s = load_scenario(BROKEN / "valid_base.json")
    assert s.tokens.tolist() == [0, 1, 2]


@pytest.mark.parametrize(("name", "fragment"), sorted(CORPUS.items()))
def test_broken_file_is_refused_with_its_path(name, fragment):
    err = assert_refused(BROKEN / name, fragment)
    assert err.file == name  # the message starts with the file it is about


# -- generated files ------------------------------------------------------------------
@pytest.mark.parametrize("depth", [65, 200, 100_000])
def test_deep_nesting_is_refused_before_parsing(tmp_path, monkeypatch, depth):
    """A linear scan of the brackets refuses the file; ``json`` never recurses into it."""
    path = tmp_path / "deep.json"
    path.write_text('{"title": ' + "[" * depth + "]" * depth + "}", encoding="utf-8")

    def parse(*args, **kwargs):
        raise AssertionError("json parsed a file nested too deep")

    monkeypatch.setattr(json, "loads", parse)
    assert_refused(path, "line 1, column")
    assert_refused(path, "nested deeper than 64 levels")


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path, base_doc, write_doc):
    base_doc["notes"] = "[" * 500 + '\\"{' * 100
    assert load_scenario(write_doc(tmp_path / "ok.json", base_doc)).notes == base_doc["notes"]


def test_oversized_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is written or read
    assert_refused(path, "larger than the limit of 209,715,200 bytes")


def test_missing_file_and_folder(tmp_path):
    assert_refused(tmp_path / "nowhere.json", "nowhere.json: no such file")
    (tmp_path / "dir.json").mkdir()
    assert_refused(tmp_path / "dir.json", "is a folder")


def test_named_pipe_does_not_hang(tmp_path):
    if not hasattr(os, "mkfifo"):  # Windows: no named pipes in the file system; /dev/zero-like files neither
        assert_refused(tmp_path, "is a folder")
        return
    os.mkfifo(tmp_path / "pipe.json")
    assert_refused(tmp_path / "pipe.json", "is not a regular file")


def test_unreadable_file(tmp_path, base_doc, write_doc, monkeypatch):
    path = write_doc(tmp_path / "locked.json", base_doc)
    real_open = open

    def deny(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
    assert_refused(path, "cannot read the file (Permission denied)")


def _with_weights_file(doc: dict, name: str) -> dict:
    doc = copy.deepcopy(doc)
    del doc["model"]["weights"]
    doc["model"]["weights_file"] = name
    return doc


def _base_arrays(doc: dict) -> dict[str, np.ndarray]:
    return {k: np.array(v, dtype=np.float32) for k, v in doc["model"]["weights"].items()}


def test_sibling_weights_with_wrong_shape(tmp_path, base_doc, write_doc):
    from safetensors.numpy import save_file

    arrays = _base_arrays(base_doc)
    arrays["blocks.0.attn.W_V"] = np.zeros((1, 2, 2), np.float32)
    save_file(arrays, str(tmp_path / "w.safetensors"))
    path = write_doc(tmp_path / "s.json", _with_weights_file(base_doc, "w.safetensors"))
    assert_refused(path, 'model.weights_file["blocks.0.attn.W_V"]: expected shape [1, 2, 1]')


def test_sibling_weights_with_nan_missing_or_integer_tensors(tmp_path, base_doc, write_doc):
    from safetensors.numpy import save_file

    path = write_doc(tmp_path / "s.json", _with_weights_file(base_doc, "w.safetensors"))
    arrays = _base_arrays(base_doc)
    arrays["unembed.W_U"][1, 2] = np.nan
    save_file(arrays, str(tmp_path / "w.safetensors"))
    assert_refused(path, 'model.weights_file["unembed.W_U"][1][2]: w.safetensors: non-finite value nan')
    del arrays["unembed.W_U"]
    save_file(arrays, str(tmp_path / "w.safetensors"))
    assert_refused(path, 'model.weights_file["unembed.W_U"]: w.safetensors: missing')
    arrays = _base_arrays(base_doc) | {"unembed.W_U": np.ones((2, 3), np.int64)}
    save_file(arrays, str(tmp_path / "w.safetensors"))
    assert_refused(path, 'model.weights_file["unembed.W_U"]: w.safetensors: expected a float tensor')


def test_truncated_sibling_weights(tmp_path, base_doc, write_doc):
    from safetensors.numpy import save

    data = save(_base_arrays(base_doc))
    (tmp_path / "w.safetensors").write_bytes(data[:-5])
    path = write_doc(tmp_path / "s.json", _with_weights_file(base_doc, "w.safetensors"))
    assert_refused(path, "model.weights_file: w.safetensors: corrupt safetensors file")
    (tmp_path / "w.safetensors").write_bytes(b"\xff" * 8 + data[8:])
    assert_refused(path, "model.weights_file: w.safetensors: not a safetensors file")


def test_weights_file_escaping_through_a_symlink(tmp_path, base_doc, write_doc):
    from safetensors.numpy import save_file

    outside = tmp_path / "outside"
    lesson = tmp_path / "lesson"
    outside.mkdir()
    lesson.mkdir()
    save_file(_base_arrays(base_doc), str(outside / "w.safetensors"))
    try:
        os.symlink(outside / "w.safetensors", lesson / "w.safetensors")
    except OSError:  # Windows without the privilege: the check below is then moot
        return
    path = write_doc(lesson / "s.json", _with_weights_file(base_doc, "w.safetensors"))
    assert_refused(path, "model.weights_file: \"w.safetensors\" leads outside the scenario's folder")


def test_weights_file_in_text_without_a_folder(base_doc):
    with pytest.raises(ScenarioError, match="model.weights_file: a weights file can only be used"):
        loads_scenario(json.dumps(_with_weights_file(base_doc, "w.safetensors")))


# -- anything else: never another exception ------------------------------------------------
_junk = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


def _paths(doc: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_corruption_raises_only_scenario_error(base_doc, data):
    doc = copy.deepcopy(base_doc)
    paths = _paths(doc)
    target = data.draw(st.sampled_from(paths[1:]))
    parent = doc
    for key in target[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[target[-1]]
    else:
        parent[target[-1]] = data.draw(_junk)
    try:
        loads_scenario(json.dumps(doc))
    except ScenarioError as exc:
        assert str(exc)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_text_edit_raises_only_scenario_error(data):
    text = (BROKEN / "valid_base.json").read_text(encoding="utf-8")
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 4))
        insert = data.draw(st.text(alphabet='[]{}",:-+.eE0123456789tfnulNIa \\', max_size=4))
        text = text[:at] + insert + text[at + cut :]
    try:
        loads_scenario(text)
    except ScenarioError as exc:
        assert str(exc)
