"""Weights: validation messages name the parameter, files round-trip exactly and safely."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from induction_gui.engine import ModelConfig, Weights, WeightsError, run_with_cache

CFG = ModelConfig(n_layers=2, n_heads=3, d_model=8, d_head=4, d_vocab=11, n_ctx=16)


def _params() -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in Weights.random(CFG, seed=1).items()}


def test_config_is_inferred_from_shapes() -> None:
    assert Weights.random(CFG).config == CFG


def test_missing_embedding_is_named() -> None:
    p = _params()
    del p["embed.W_E"]
    with pytest.raises(WeightsError, match=r"embed\.W_E: missing"):
        Weights(p)


def test_wrong_shape_is_named_with_expected_and_actual() -> None:
    p = _params()
    p["blocks.1.attn.W_K"] = np.zeros((3, 8, 5), np.float32)
    with pytest.raises(WeightsError, match=r"blocks\.1\.attn\.W_K: expected shape \[3, 8, 4\], got \[3, 8, 5\]"):
        Weights(p)


def test_nan_is_named_with_its_index() -> None:
    p = _params()
    p["blocks.0.attn.W_O"][2, 1, 7] = np.nan
    with pytest.raises(WeightsError, match=r"blocks\.0\.attn\.W_O: non-finite value nan at index \[2, 1, 7\]"):
        Weights(p)


def test_unknown_parameter_is_named() -> None:
    p = _params()
    p["blocks.0.mlp.W_in"] = np.zeros((8, 32), np.float32)
    with pytest.raises(WeightsError, match=r"blocks\.0\.mlp\.W_in: unknown parameter"):
        Weights(p)


def test_layer_gap_is_reported() -> None:
    p = _params()
    for name in list(p):
        if name.startswith("blocks.1."):
            p[name.replace("blocks.1.", "blocks.2.")] = p.pop(name)
    with pytest.raises(WeightsError, match=r"without gaps, got \[0, 2\]"):
        Weights(p)


def test_non_float_parameter_is_refused() -> None:
    p = _params()
    p["unembed.b_U"] = np.array(["a"] * 11)
    with pytest.raises(WeightsError, match=r"unembed\.b_U: expected a real-valued float array"):
        Weights(p)


def test_missing_biases_are_zeros_of_the_right_shape() -> None:
    p = {k: v for k, v in _params().items() if ".b_" not in k and not k.endswith("b_U")}
    w = Weights(p)
    assert w["blocks.1.attn.b_Q"].shape == (3, 4) and not w["blocks.1.attn.b_Q"].any()
    assert w["blocks.0.attn.b_O"].shape == (8,) and not w["blocks.0.attn.b_O"].any()
    assert w["unembed.b_U"].shape == (11,) and not w["unembed.b_U"].any()
    assert w["unembed.b_U"].dtype == np.float32


def test_transformer_lens_buffers_are_ignored() -> None:
    p = _params()
    p["blocks.0.attn.mask"] = np.tril(np.ones((16, 16), bool))
    p["blocks.1.attn.IGNORE"] = np.array(-1e5, np.float32)
    w = Weights(p)
    assert "blocks.0.attn.mask" not in w and "blocks.1.attn.IGNORE" not in w
    assert w.config == CFG


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_file_round_trip_is_exact(tmp_path: Path, suffix: str, dtype: type) -> None:
    w = Weights.random(CFG, seed=2).astype(dtype)
    path = tmp_path / f"model{suffix}"
    w.save(path)
    loaded = Weights.load(path)
    assert loaded == w  # same names, dtypes and bit-identical values
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_saved_weights_are_readable_by_others_as_open_would_make_them(tmp_path: Path, suffix: str) -> None:
    old = os.umask(0o022)
    try:
        Weights.random(CFG).save(tmp_path / f"model{suffix}")
    finally:
        os.umask(old)
    assert (tmp_path / f"model{suffix}").stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600


def test_npz_never_loads_pickles(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    p = _params()
    np.savez(path, **p, payload=np.array([{"x": 1}], dtype=object))  # an object array needs pickle
    with pytest.raises(WeightsError, match=r"evil\.npz"):
        Weights.load(path)


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_corrupt_file_names_the_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(b"\x00\x01 not a weights file \xff" * 10)
    with pytest.raises(WeightsError, match=f"broken\\{suffix}"):
        Weights.load(path)


def test_truncated_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.safetensors"
    Weights.random(CFG).save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(WeightsError, match=r"cut\.safetensors"):
        Weights.load(path)


def test_missing_file_and_unknown_format_are_weights_errors(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="no such file"):
        Weights.load(tmp_path / "absent.safetensors")
    with pytest.raises(WeightsError, match=r"model\.pt: unknown weights format"):
        Weights.load(tmp_path / "model.pt")
    with pytest.raises(WeightsError, match=r"model\.pt: unknown weights format"):
        Weights.random(CFG).save(tmp_path / "model.pt")


def test_invalid_contents_name_the_file_and_the_parameter(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    p = _params()
    p["pos_embed.W_pos"][3, 2] = np.inf
    np.savez(path, **p)
    with pytest.raises(WeightsError, match=r"bad\.npz: pos_embed\.W_pos: non-finite value inf at index \[3, 2\]"):
        Weights.load(path)


def test_failed_save_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.npz"
    Weights.random(CFG, seed=1).save(path)
    before = path.read_bytes()

    def explode(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", explode)
    with pytest.raises(OSError, match="disk full"):
        Weights.random(CFG, seed=9).save(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]


def test_copy_is_independent() -> None:
    w = Weights.random(CFG)
    c = w.copy()
    c["blocks.0.attn.W_Q"][0, 0, 0] += 1.0
    assert c != w


def test_config_follows_rebinding_and_deletion() -> None:
    w = Weights.random(CFG)
    assert w.config.d_vocab == 11
    w["embed.W_E"] = np.zeros((13, 8), np.float32)
    assert w.config.d_vocab == 13
    w["unembed.W_U"] = np.zeros((8, 13), np.float32)
    w["unembed.b_U"] = np.zeros(13, np.float32)
    w.validate()
    for name in [n for n in w if n.startswith("blocks.1.")]:
        del w[name]
    assert w.config.n_layers == 1
    w.validate()


def test_in_place_edits_take_effect_on_the_next_run() -> None:
    """No derived-matrix cache can go stale: edits through ``weights[name]`` count at once."""
    w = Weights.random(CFG, seed=4)
    tokens = np.arange(10)
    before, _ = run_with_cache(w, tokens)
    for name in ("blocks.0.attn.W_K", "blocks.0.attn.b_V", "blocks.1.attn.W_O", "unembed.W_U", "pos_embed.W_pos"):
        w[name][...] += 0.25  # an in-place edit of the stored array
        after, _ = run_with_cache(w, tokens)
        assert not np.array_equal(after, before), name
        before = after
    np.testing.assert_array_equal(run_with_cache(w, tokens)[0], run_with_cache(w.copy(), tokens)[0])


def test_fused_matrices_follow_every_kind_of_edit() -> None:
    """The forward pass caches fused Q/K/V weights; no way of changing a source may leave them stale."""
    params = _params()
    held = params["blocks.0.attn.W_Q"]  # the caller keeps the array it passed in
    w = Weights(params)
    tokens = np.arange(10)

    def fresh_logits() -> np.ndarray:  # the same weights without any cache
        return run_with_cache(w.copy(), tokens)[0]

    run_with_cache(w, tokens)  # builds the cache
    held[1, 2, 3] += 1.0  # in place, through a reference taken before the cache existed
    np.testing.assert_array_equal(run_with_cache(w, tokens)[0], fresh_logits())
    b_K = w["blocks.1.attn.b_K"]
    run_with_cache(w, tokens)
    b_K[0] += 0.5  # in place, through a reference read after
    np.testing.assert_array_equal(run_with_cache(w, tokens)[0], fresh_logits())
    w["blocks.1.attn.W_V"] = w["blocks.1.attn.W_V"] * 2  # rebound
    np.testing.assert_array_equal(run_with_cache(w, tokens)[0], fresh_logits())
    loaded = Weights.random(CFG, seed=7)  # private arrays: cached without snapshots...
    run_with_cache(loaded, tokens)
    loaded["blocks.0.attn.W_V"][0] = 0.0  # ...until one is read and edited
    np.testing.assert_array_equal(run_with_cache(loaded, tokens)[0], run_with_cache(loaded.copy(), tokens)[0])
    # float64 runs get their own fused copy
    np.testing.assert_allclose(run_with_cache(w, tokens, dtype=np.float64)[0], fresh_logits(), atol=1e-5)


def test_attn_scale_travels_with_the_weights(tmp_path) -> None:
    from induction_gui.engine import ModelConfig, Weights, run_with_cache

    w = Weights.random(ModelConfig(1, 1, 4, 2, 5, 6), seed=1)
    tokens = np.array([0, 1, 2, 3])
    plain = run_with_cache(w, tokens)[1]["attn_scores", 0]
    w.attn_scale = 1.0  # TransformerLens use_attn_scale=False
    assert w.config.scale == 1.0
    scaled = run_with_cache(w, tokens)[1]["attn_scores", 0]
    finite = np.isfinite(plain)
    np.testing.assert_allclose(scaled[finite], plain[finite] * np.sqrt(2), rtol=1e-5)
    for suffix in (".safetensors", ".npz"):
        w.save(tmp_path / f"w{suffix}")
        again = Weights.load(tmp_path / f"w{suffix}")
        assert again.attn_scale == 1.0 and again == w
    assert w.copy().attn_scale == 1.0
    with pytest.raises(WeightsError, match="attn_scale"):
        w.attn_scale = -2.0


def test_ragged_nested_list_names_the_parameter() -> None:
    from induction_gui.engine import Weights

    with pytest.raises(WeightsError, match="embed.W_E"):
        Weights({"embed.W_E": [[1.0, 2.0], [3.0]]}, validate=False)
