"""Reading TransformerLens configs: implemented, ignored, or refused by the feature's name."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from induction_gui.engine import ModelConfig, Weights, WeightsError, run
from induction_gui.engine.weights_io import CONFIG_SNIPPET

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_tl"


def _tl_dict(**changes: object) -> dict:
    d = json.loads((GOLDEN / "ln_standard" / "config.json").read_text())
    return d | changes


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"attn_only": False, "d_mlp": 64, "act_fn": "gelu"}, "MLP blocks"),
        ({"positional_embedding_type": "alibi"}, "alibi"),
        ({"attention_dir": "bidirectional"}, "bidirectional attention"),
        ({"use_local_attn": True, "window_size": 4}, "local attention"),
        ({"attn_types": ["global", "local"], "window_size": 4}, "local attention"),
        ({"n_key_value_heads": 1}, "grouped-query attention"),
        ({"use_qk_norm": True}, "QK normalisation"),
        ({"attn_scores_soft_cap": 50.0}, "soft cap"),
        ({"output_logits_soft_cap": 30.0}, "logit soft cap"),
        ({"scale_attn_by_inverse_layer_idx": True}, "inverse layer index"),
        ({"use_NTK_by_parts_rope": True}, "NTK-by-parts"),
        ({"original_architecture": "Olmo2ForCausalLM"}, "Olmo2ForCausalLM"),
        ({"normalization_type": "GroupNorm"}, "normalization_type 'GroupNorm'"),
        ({"some_future_switch": True}, "unknown config key 'some_future_switch'"),
        ({"dtype": "torch.int8"}, "dtype 'int8'"),
    ],
)
def test_refused_features_are_named(changes: dict, named: str) -> None:
    with pytest.raises(WeightsError, match="not supported") as info:
        ModelConfig.from_tl_dict(_tl_dict(**changes))
    assert named in str(info.value)


def test_refused_folder_names_the_feature_and_the_file(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes((GOLDEN / "ln_standard" / "model.safetensors").read_bytes())
    (tmp_path / "config.json").write_text(json.dumps(_tl_dict(n_key_value_heads=1)))
    with pytest.raises(WeightsError, match=r"grouped-query attention .*not supported"):
        Weights.load(tmp_path)


def test_bookkeeping_keys_are_ignored() -> None:
    d = _tl_dict(device="cuda:3", seed=7, model_name="x", tokenizer_name="gpt2", n_devices=4, checkpoint_index=3)
    assert ModelConfig.from_tl_dict(d) == ModelConfig.from_tl_dict(_tl_dict())


def test_options_are_read() -> None:
    c = ModelConfig.from_tl_dict(_tl_dict(
        normalization_type="RMSPre", positional_embedding_type="rotary", rotary_dim=2, rotary_base=99,
        rotary_adjacent_pairs=True, use_attn_scale=False, eps=0.5, d_vocab_out=7, dtype="torch.bfloat16",
    ))  # fmt: skip
    assert (c.normalization_type, c.positional_embedding_type, c.rotary_dim) == ("RMSPre", "rotary", 2)
    assert (c.rotary_base, c.rotary_adjacent_pairs, c.eps, c.vocab_out, c.dtype) == (99, True, 0.5, 7, "bfloat16")
    assert c.scale == 1.0
    assert ModelConfig.from_tl_dict(_tl_dict(attn_scale=0.7)).scale == 0.7
    assert ModelConfig.from_tl_dict(_tl_dict()).scale == math.sqrt(4)


def test_to_tl_dict_round_trips() -> None:
    c = ModelConfig.from_tl_dict(_tl_dict(normalization_type="RMS", attn_scale=0.7, d_vocab_out=7))
    d = c.to_tl_dict()
    for key in ("n_layers", "d_model", "n_ctx", "d_head", "n_heads", "d_vocab", "act_fn", "attn_only",
                "normalization_type", "positional_embedding_type", "d_vocab_out"):  # fmt: skip
        assert key in d  # what HookedTransformerConfig.from_dict needs
    assert ModelConfig.from_tl_dict(json.loads(json.dumps(d))) == c


def test_a_bare_state_dict_is_refused_with_the_snippet(tmp_path: Path) -> None:
    w = Weights.load(GOLDEN / "ln_standard")
    save_file({k: np.ascontiguousarray(v) for k, v in w.items()}, str(tmp_path / "bare.safetensors"))
    with pytest.raises(WeightsError) as info:
        Weights.load(tmp_path / "bare.safetensors")
    assert CONFIG_SNIPPET in str(info.value)


def test_a_safetensors_with_config_json_beside_it_loads(tmp_path: Path) -> None:
    (tmp_path / "weights.safetensors").write_bytes((GOLDEN / "ln_standard" / "model.safetensors").read_bytes())
    (tmp_path / "config.json").write_text((GOLDEN / "ln_standard" / "config.json").read_text())
    assert Weights.load(tmp_path / "weights.safetensors") == Weights.load(GOLDEN / "ln_standard")


def test_sizes_in_the_config_must_match_the_arrays(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes((GOLDEN / "ln_standard" / "model.safetensors").read_bytes())
    (tmp_path / "config.json").write_text(json.dumps(_tl_dict(d_model=32)))
    with pytest.raises(WeightsError, match="d_model is 32 but the weights have 16"):
        Weights.load(tmp_path)


def test_ln_weights_under_an_lnpre_config_are_refused(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes((GOLDEN / "ln_standard" / "model.safetensors").read_bytes())
    (tmp_path / "config.json").write_text(json.dumps(_tl_dict(normalization_type="LNPre")))
    with pytest.raises(WeightsError, match=r"ln1\.[wb]: not a parameter of this model"):
        Weights.load(tmp_path)


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_the_apps_files_carry_their_config(tmp_path: Path, suffix: str) -> None:
    w = Weights.load(GOLDEN / "ln_rotary")
    w.save(tmp_path / f"m{suffix}")
    loaded = Weights.load(tmp_path / f"m{suffix}")
    assert loaded == w and loaded.config == w.config
    tokens = np.arange(1, 9)
    np.testing.assert_array_equal(run(loaded, tokens), run(w, tokens))


def test_attn_only_2l_as_from_pretrained_loads_it_is_accepted() -> None:
    """The keys TransformerLens sets for NeelNanda's attn-only-2l (original_architecture "neel"), folded."""
    d = _tl_dict(
        n_layers=2, d_model=512, d_head=64, n_heads=8, d_mlp=2048, d_vocab=48262, d_vocab_out=48262, n_ctx=2048,
        act_fn="solu_ln", normalization_type="LNPre", positional_embedding_type="shortformer",
        original_architecture="neel", model_name="attn-only-2l", tokenizer_name="NeelNanda/gpt-neox-tokenizer-digits",
        layer_norm_folding=True, n_params=1048576, device="cuda", from_checkpoint=False, attn_scale=8.0,
    )  # fmt: skip
    c = ModelConfig.from_tl_dict(d)
    assert (c.normalization_type, c.positional_embedding_type, c.d_vocab, c.n_ctx) == ("LNPre", "shortformer", 48262, 2048)
    assert c.scale == 8.0
