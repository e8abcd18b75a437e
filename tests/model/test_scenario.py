"""Scenario files: exact round trips, atomic saves, presets and the package surface."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import induction_gui
from induction_gui import resources
from induction_gui.engine import HeadOverride, ModelConfig, Weights, run
from induction_gui.model import (
    Scenario,
    ScenarioError,
    dumps_scenario,
    list_presets,
    load_scenario,
    loads_scenario,
    save_scenario,
)
from induction_gui.model import scenario as scenario_module
from induction_gui.model.limits import INLINE_MAX_PARAMS

REPO = Path(__file__).resolve().parents[2]


def bits(weights: Weights) -> dict[str, bytes]:
    """Every parameter's raw bytes and dtype: equality stricter than array_equal (-0.0 vs 0.0)."""
    return {k: (v.dtype.str, v.shape, np.ascontiguousarray(v).tobytes()) for k, v in weights.items()}


# -- round trips ------------------------------------------------------------------------
def test_inline_round_trip_is_exact(tmp_path, make_scenario):
    s = make_scenario()
    path = tmp_path / "lesson.induction.json"
    save_scenario(s, path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert "weights" in doc["model"] and "weights_file" not in doc["model"]
    assert not (tmp_path / "lesson.induction.safetensors").exists()
    loaded = load_scenario(path)
    assert loaded == s
    assert bits(loaded.weights) == bits(s.weights)
    assert loaded.tokens.dtype == np.int64 and loaded.tokens.ndim == 1
    assert loaded.overrides[(0, 1)].fixed_pattern is not None
    assert loaded.notes == s.notes and loaded.view == s.view


def test_sibling_safetensors_round_trip_is_exact(tmp_path, make_scenario):
    s = make_scenario()
    path = tmp_path / "lesson.induction.json"
    save_scenario(s, path, inline=False)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["model"]["weights_file"] == "lesson.induction.safetensors"
    assert "weights" not in doc["model"]
    assert (tmp_path / "lesson.induction.safetensors").is_file()
    loaded = load_scenario(path)
    assert loaded == s
    assert bits(loaded.weights) == bits(s.weights)
    # only the two files: no temporary or backup file is left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lesson.induction.json", "lesson.induction.safetensors"]


def test_size_threshold_chooses_inline_or_sibling(tmp_path, make_scenario):
    small = make_scenario()
    big_cfg = ModelConfig(n_layers=2, n_heads=4, d_model=64, d_head=16, d_vocab=6, n_ctx=16)
    assert small.weights.config.d_model * 100 < INLINE_MAX_PARAMS
    big = make_scenario(weights=Weights.random(big_cfg, seed=1), overrides={})
    save_scenario(small, tmp_path / "small.json")
    save_scenario(big, tmp_path / "big.json")
    assert "weights" in json.loads((tmp_path / "small.json").read_text())["model"]
    assert json.loads((tmp_path / "big.json").read_text())["model"]["weights_file"] == "big.safetensors"
    assert load_scenario(tmp_path / "big.json") == big
    save_scenario(big, tmp_path / "forced.json", inline=True)
    assert load_scenario(tmp_path / "forced.json") == big


def test_overrides_round_trip_field_by_field(tmp_path, make_scenario):
    pattern = np.tril(np.full((9, 9), 0.125)) + np.eye(9) * -0.0  # negative zeros on purpose
    overrides = {
        (0, 0): HeadOverride(fixed_pattern=pattern),
        (0, 1): HeadOverride(normalization="linear", eps=0.0),
        (1, 0): HeadOverride(key_shift=3, score_scale=0.0),
        (1, 1): HeadOverride(ablation="zero"),
    }
    s = make_scenario(overrides=overrides)
    save_scenario(s, tmp_path / "o.json")
    loaded = load_scenario(tmp_path / "o.json")
    assert loaded.overrides == overrides
    got = loaded.overrides[(0, 0)].fixed_pattern
    assert got is not None and got.tobytes() == pattern.tobytes()
    written = json.loads((tmp_path / "o.json").read_text())["overrides"]
    assert written["L1H1"] == {"ablation": "zero"}  # only what differs from the default
    assert written["L1H0"] == {"key_shift": 3, "score_scale": 0.0}


def test_text_with_word_tokenizer(tmp_path, base_doc, write_doc):
    del base_doc["tokens"]
    base_doc["text"] = " <bos> the\tcat\n  the "
    s = load_scenario(write_doc(tmp_path / "t.json", base_doc))
    assert s.tokens.tolist() == [0, 1, 2, 1]
    assert s.text() == "<bos> the cat the"
    save_scenario(s, tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text())["text"] == "<bos> the cat the"
    assert load_scenario(tmp_path / "again.json") == s


def test_text_with_char_tokenizer(tmp_path, base_doc, write_doc):
    del base_doc["tokens"]
    base_doc.update(tokenizer="chars", vocab=["a", "b", " "], bos=None, text="ab a")
    s = load_scenario(write_doc(tmp_path / "c.json", base_doc))
    assert s.tokens.tolist() == [0, 1, 2, 0] and s.tokenizer == "chars" and s.bos is None
    save_scenario(s, tmp_path / "c2.json")
    assert load_scenario(tmp_path / "c2.json") == s


def test_tokens_without_text_form_are_saved_as_ids(tmp_path, make_scenario):
    s = make_scenario(vocab=["<bos>", "the", "big cat", "sat", "on", "mat"])
    save_scenario(s, tmp_path / "ids.json")
    doc = json.loads((tmp_path / "ids.json").read_text())
    assert "text" not in doc and doc["tokens"] == s.tokens.tolist()
    assert load_scenario(tmp_path / "ids.json") == s


def test_loaded_scenario_runs_in_the_engine(tmp_path, make_scenario):
    s = make_scenario()
    save_scenario(s, tmp_path / "run.json")
    loaded = load_scenario(tmp_path / "run.json")
    np.testing.assert_array_equal(
        run(loaded.weights, loaded.tokens, loaded.overrides), run(s.weights, s.tokens, s.overrides)
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float16])
def test_other_float_dtypes_round_trip_inline(tmp_path, make_scenario, dtype):
    s = make_scenario(weights=Weights.random(make_scenario().weights.config, seed=5, dtype=dtype))
    save_scenario(s, tmp_path / "d.json")
    doc = json.loads((tmp_path / "d.json").read_text())
    assert doc["model"]["dtype"] == np.dtype(dtype).name
    loaded = load_scenario(tmp_path / "d.json")
    assert bits(loaded.weights) == bits(s.weights)


def test_attn_scale_and_zero_biases(tmp_path, make_scenario):
    s = make_scenario(attn_scale=3.0)
    s.weights["blocks.0.attn.b_Q"] = np.full((2, 4), -0.0, dtype=np.float32)  # must survive as -0.0
    save_scenario(s, tmp_path / "a.json")
    doc = json.loads((tmp_path / "a.json").read_text())
    assert doc["model"]["config"]["attn_scale"] == 3.0
    assert "blocks.0.attn.b_Q" in doc["model"]["weights"] and "blocks.0.attn.b_K" not in doc["model"]["weights"]
    loaded = load_scenario(tmp_path / "a.json")
    assert loaded == s and loaded.config.scale == 3.0
    assert bits(loaded.weights) == bits(s.weights)


finite_f32 = st.floats(width=32, allow_nan=False, allow_infinity=False, allow_subnormal=True)
special_f32 = st.sampled_from(
    [0.0, -0.0, 1.4e-45, -1.4e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38, 1 / 3, 0.1, 16777217.0]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=arrays(np.float32, (6, 8), elements=st.one_of(finite_f32, special_f32)))
def test_float32_weights_survive_json_bit_for_bit(make_scenario, values):
    s = make_scenario()
    s.weights["embed.W_E"] = values
    s.weights["unembed.W_U"] = values.T.copy()
    loaded = loads_scenario(dumps_scenario(s))
    assert bits(loaded.weights) == bits(s.weights)
    assert loaded == s


def test_float32_file_round_trip_keeps_subnormals_and_extremes(tmp_path, make_scenario):
    info = np.finfo(np.float32)
    s = make_scenario()
    extremes = np.array(
        [info.max, -info.max, info.tiny, info.smallest_subnormal, -0.0, 0.1, 1e-40, 123456.79], np.float32
    )
    s.weights["embed.W_E"] = np.resize(extremes, (6, 8)).astype(np.float32)
    save_scenario(s, tmp_path / "x.json")
    assert bits(load_scenario(tmp_path / "x.json").weights) == bits(s.weights)


# -- atomic saves -------------------------------------------------------------------------
def _failing_replace(monkeypatch, fail_on: str) -> None:
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == fail_on:
            raise OSError("disk full (simulated)")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def test_failed_save_leaves_the_old_file_intact(tmp_path, make_scenario, monkeypatch):
    path = tmp_path / "keep.json"
    old = make_scenario(title="old")
    save_scenario(old, path)
    before = path.read_bytes()
    _failing_replace(monkeypatch, "keep.json")
    with pytest.raises(OSError, match="simulated"):
        save_scenario(make_scenario(title="new"), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.json"]  # no temporary file left


def test_failed_save_restores_sibling_weights(tmp_path, make_scenario, monkeypatch):
    path = tmp_path / "pair.json"
    old = make_scenario(title="old")
    save_scenario(old, path, inline=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    new = make_scenario(title="new", weights=Weights.random(old.weights.config, seed=99))
    _failing_replace(monkeypatch, "pair.json")  # weights are replaced first, then the JSON fails
    with pytest.raises(OSError, match="simulated"):
        save_scenario(new, path, inline=False)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    monkeypatch.undo()
    assert load_scenario(path) == old


def test_failed_first_save_leaves_nothing(tmp_path, make_scenario, monkeypatch):
    _failing_replace(monkeypatch, "fresh.json")
    with pytest.raises(OSError):
        save_scenario(make_scenario(), tmp_path / "fresh.json", inline=False)
    assert list(tmp_path.iterdir()) == []


def test_invalid_scenario_is_not_saved(tmp_path, make_scenario):
    s = make_scenario()
    s.tokens = np.array([0, 1, 99])
    with pytest.raises(ScenarioError, match=r"tokens\[2\]: id 99 is outside the vocabulary 0..5"):
        save_scenario(s, tmp_path / "bad.json")
    assert list(tmp_path.iterdir()) == []


# -- in-memory validation -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"tokens": [0, 1.0]}, "tokens[1]"),
        ({"tokens": np.array([[0, 1]])}, "1-dimensional"),
        ({"tokens": np.array([0.0, 1.0])}, "dtype float64"),
        ({"vocab": ["a"] * 6}, "vocab[1]"),
        ({"bos": 6}, "bos"),
        ({"seed": True}, "seed"),
        ({"title": "two\nlines"}, "title"),
        ({"tokenizer": "bpe"}, "tokenizer"),
        ({"overrides": {(2, 0): HeadOverride()}}, 'overrides["L2H0"]'),
        ({"overrides": {(0, 0): "softmax"}}, 'overrides["L0H0"]'),
        ({"view": {"head": 2}}, "view.head"),
        ({"attn_scale": float("nan")}, "model.config.attn_scale"),
        ({"weights": {"embed.W_E": [[1.0]]}}, "model.weights"),
    ],
)
def test_constructor_validates_with_file_paths(make_scenario, changes, fragment):
    with pytest.raises(ScenarioError) as info:
        make_scenario(**changes)
    assert fragment in str(info.value)


def test_nan_edited_into_weights_is_caught_before_saving(tmp_path, make_scenario):
    s = make_scenario()
    s.weights["embed.W_E"][2, 3] = np.nan
    with pytest.raises(ScenarioError, match=r"model\.weights: embed\.W_E: non-finite value nan at index \[2, 3\]"):
        save_scenario(s, tmp_path / "nan.json")


def test_equality_and_copy(make_scenario):
    a, b = make_scenario(), make_scenario()
    assert a == b
    c = a.copy()
    c.weights["embed.W_E"][0, 0] += 1.0
    c.tokens[0] = 1
    c.overrides[(0, 1)].fixed_pattern[1, 0] = 7.0
    assert c != a and a == b
    assert make_scenario(view={}) != a
    assert make_scenario(overrides={}) != a
    assert make_scenario(weights=a.weights.astype(np.float64)) != a  # same values, other dtype
    with pytest.raises(TypeError):
        hash(a)


def test_scenario_error_is_a_value_error_and_pickles():
    err = ScenarioError("tokens[7]", "id 40 is outside the vocabulary 0..11", file="lesson.json")
    assert isinstance(err, ValueError)
    assert str(err) == "lesson.json: tokens[7]: id 40 is outside the vocabulary 0..11"
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.path, copy.detail, copy.file, str(copy)) == (err.path, err.detail, err.file, str(err))


def test_migration_hook_upgrades_older_versions(tmp_path, base_doc, write_doc, monkeypatch):
    calls = []

    def v1_to_v2(doc):
        calls.append(doc["version"])
        doc["notes"] = doc["notes"] + "(migrated)"
        return doc

    monkeypatch.setattr(scenario_module, "CURRENT_VERSION", 2)
    monkeypatch.setitem(scenario_module.MIGRATIONS, 1, v1_to_v2)
    s = load_scenario(write_doc(tmp_path / "old.json", base_doc))
    assert calls == [1] and s.notes.endswith("(migrated)")
    base_doc["version"] = 3
    with pytest.raises(ScenarioError, match=r"format version 3\); this app reads up to 2"):
        load_scenario(write_doc(tmp_path / "new.json", base_doc))


# -- presets and resources -----------------------------------------------------------------
@pytest.fixture
def frozen_bundle(tmp_path, monkeypatch, make_scenario):
    """A fake PyInstaller bundle with two presets, one of them unreadable."""
    scenarios = tmp_path / "bundle" / "resources" / "scenarios"
    scenarios.mkdir(parents=True)
    save_scenario(make_scenario(description="The hand-built circuit."), scenarios / "induction.json")
    (scenarios / "broken.json").write_text("{", encoding="utf-8")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "bundle"), raising=False)
    return scenarios


def test_presets_load_by_name_from_a_frozen_bundle(frozen_bundle, make_scenario):
    assert resources.resource_root() == frozen_bundle.parent
    assert load_scenario("induction") == make_scenario(description="The hand-built circuit.")
    names = dict(list_presets())
    assert list(names) == ["broken", "induction"]
    assert names["induction"] == "The hand-built circuit."
    assert names["broken"].startswith("(unreadable: invalid JSON")


def test_unknown_preset_lists_the_known_ones(frozen_bundle):
    with pytest.raises(ScenarioError, match=r"unknown preset 'inductoin'; known presets: broken, induction"):
        load_scenario("inductoin")


def test_paths_are_not_preset_names(frozen_bundle, tmp_path, make_scenario, monkeypatch):
    s = make_scenario(title="local")
    save_scenario(s, tmp_path / "induction.json")
    monkeypatch.chdir(tmp_path)
    assert load_scenario("induction.json") == s  # a .json suffix means a path
    assert load_scenario(Path("induction.json")) == s  # so does a Path
    assert load_scenario("induction").title != "local"  # a bare name is the preset
    with pytest.raises(ScenarioError, match="induction.json: no such file"):
        load_scenario(tmp_path / "sub" / "induction.json")


def test_wheel_layout_is_found(tmp_path, monkeypatch):
    package = tmp_path / "site-packages" / "induction_gui"
    (package / "_resources" / "scenarios").mkdir(parents=True)
    monkeypatch.setattr(resources, "_PACKAGE_DIR", package)
    assert resources.resource_root() == package / "_resources"
    assert resources.preset_names() == []
    with pytest.raises(resources.ResourceError, match=r"known presets: \(none installed\)"):
        resources.preset_path("induction")


def test_source_checkout_layout_and_resource_path(monkeypatch):
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)
    assert resources.resource_root() == REPO / "resources"
    assert resources.resource_path("scenarios") == REPO / "resources" / "scenarios"
    with pytest.raises(resources.ResourceError, match=r"no resource 'icons/nope.svg'"):
        resources.resource_path("icons", "nope.svg")
    with pytest.raises(resources.ResourceError, match="relative path"):
        resources.resource_path("..", "pyproject.toml")


def test_missing_resources_folder_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "_PACKAGE_DIR", tmp_path / "pkg")
    with pytest.raises(resources.ResourceError, match="no resources folder found"):
        resources.resource_root()


# -- package surface -------------------------------------------------------------------------
def test_package_exports_and_version():
    assert induction_gui.load_scenario is load_scenario
    assert induction_gui.save_scenario is save_scenario
    assert induction_gui.Scenario is Scenario
    assert induction_gui.ScenarioError is ScenarioError
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert induction_gui.__version__ == project["version"]
    with pytest.raises(AttributeError):
        _ = induction_gui.no_such_name


def test_import_is_light_and_qt_free():
    code = (
        "import sys, induction_gui\n"
        "assert 'numpy' not in sys.modules, 'numpy imported eagerly'\n"
        "induction_gui.load_scenario\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=60)
