"""Reading a TransformerLens ``cfg.to_dict()`` dump: every key implemented, ignored or refused by name.

Three explicit tables decide each key. A key that changes the forward pass and
is not implemented here is refused with what it is, so a model is either
computed exactly or not at all; bookkeeping keys are ignored. A key none of
the tables knows (a newer TransformerLens) is refused unless it is off
(``None``, ``False``, ``-1``), because its effect cannot be known.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .config import DTYPES, NORMALIZATION_TYPES, POSITIONAL_EMBEDDING_TYPES, WeightsError

# Keys that never change the numbers of an attention-only forward pass.
IGNORED_KEYS = frozenset({
    "device", "seed", "model_name", "tokenizer_name", "n_devices", "from_checkpoint", "checkpoint_index",
    "checkpoint_label_type", "checkpoint_value", "n_params", "init_mode", "initializer_range", "init_weights",
    "use_attn_result", "use_split_qkv_input", "use_hook_mlp_in", "use_attn_in", "use_hook_tokens",
    "tokenizer_prepends_bos", "trust_remote_code", "layer_norm_folding", "uses_rms_norm", "train_seq_length",
    "ungroup_grouped_query_attention", "quantization_method", "decoder_start_token_id", "tie_word_embeddings",
    "window_size", "rotary_base_local", "attn_types",
    # MLP-only keys: meaningless once attn_only is true (checked first)
    "d_mlp", "act_fn", "gated_mlp", "num_experts", "experts_per_token", "norm_topk_prob",
    # parameters of rotary variants refused below by their switch
    "NTK_by_parts_low_freq_factor", "NTK_by_parts_high_freq_factor", "NTK_by_parts_factor",
    "NTK_original_ctx_len", "yarn_factor", "yarn_attention_factor", "yarn_beta_fast", "yarn_beta_slow",
    "yarn_original_max_position_embeddings", "yarn_truncate", "yarn_global_attn_only",
    "relative_attention_max_distance", "relative_attention_num_buckets",
})  # fmt: skip

# key -> (the value this engine computes, what the feature is): any other value is refused.
REFUSED_UNLESS_DEFAULT: dict[str, tuple[object, str]] = {
    "attn_only": (True, "MLP blocks (attn_only: false)"),
    "attention_dir": ("causal", "bidirectional attention (attention_dir)"),
    "n_key_value_heads": (None, "grouped-query attention (n_key_value_heads)"),
    "use_qk_norm": (False, "QK normalisation (use_qk_norm)"),
    "clip_qkv": (None, "clipped queries, keys and values (clip_qkv)"),
    "use_local_attn": (False, "local attention windows (use_local_attn)"),
    "use_logn_attn": (False, "log-n attention scaling (use_logn_attn)"),
    "scale_attn_by_inverse_layer_idx": (False, "attention scaled by the inverse layer index"),
    "attn_scores_soft_cap": (-1.0, "attention score soft cap (attn_scores_soft_cap)"),
    "output_logits_soft_cap": (-1.0, "logit soft cap (output_logits_soft_cap)"),
    "post_embedding_ln": (False, "a LayerNorm after the embedding (post_embedding_ln)"),
    "use_normalization_before_and_after": (False, "normalisation after attention too"),
    "final_rms": (False, "an RMS final norm in an LN model (final_rms)"),
    "parallel_attn_mlp": (False, "parallel attention and MLP (parallel_attn_mlp)"),
    "load_in_4bit": (False, "4-bit quantised weights (load_in_4bit)"),
    "use_dynamic_ntk_rope": (False, "dynamic NTK rotary scaling (use_dynamic_ntk_rope)"),
    "use_NTK_by_parts_rope": (False, "NTK-by-parts rotary scaling (use_NTK_by_parts_rope)"),
    "use_yarn_rope": (False, "YaRN rotary scaling (use_yarn_rope)"),
    "rotary_scaling_factor": (1.0, "linear rotary scaling (rotary_scaling_factor)"),
    "use_attention_sinks": (False, "attention sinks (use_attention_sinks)"),
}

# original_architecture values whose block differs from the pre-norm one computed here
_REFUSED_ARCHITECTURES = ("Olmo",)
_SIZE_KEYS = ("n_layers", "n_heads", "d_model", "d_head", "d_vocab", "n_ctx")
_IMPLEMENTED = frozenset({
    *_SIZE_KEYS, "d_vocab_out", "normalization_type", "positional_embedding_type", "rotary_dim", "rotary_base",
    "rotary_adjacent_pairs", "use_attn_scale", "attn_scale", "eps", "dtype", "default_prepend_bos",
    "original_architecture",
})  # fmt: skip


def _none(value: object) -> object:
    """``"None"`` (a ``default=str`` dump of an odd type) read as None."""
    return None if value in ("None", "none", "") else value


def _same(value: object, default: object) -> bool:
    value = _none(value)
    if isinstance(default, bool) or default is None or isinstance(default, str):
        return value == default and type(value) is type(default)
    return isinstance(value, int | float) and not isinstance(value, bool) and float(value) == float(default)


def _int(d: Mapping[str, Any], key: str) -> int:
    value = d.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value < 1:
        raise WeightsError(f"config.json: {key}: expected a positive integer, got {value!r}")
    return int(value)


def _flag(d: Mapping[str, Any], key: str, default: bool) -> bool:
    value = d.get(key, default)
    if not isinstance(value, bool):
        raise WeightsError(f"config.json: {key}: expected true or false, got {value!r}")
    return value


def _number(d: Mapping[str, Any], key: str, default: float) -> float:
    value = _none(d.get(key, default))
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise WeightsError(f"config.json: {key}: expected a number, got {value!r}")
    return float(value)


def refusal(d: Mapping[str, Any]) -> str | None:
    """The feature of ``d`` this engine cannot compute, named, or None."""
    for key, (default, what) in REFUSED_UNLESS_DEFAULT.items():
        if key in d and not _same(d[key], default):
            return f"{what} is not supported (got {key}={d[key]!r})"
    arch = _none(d.get("original_architecture"))
    if isinstance(arch, str) and arch.startswith(_REFUSED_ARCHITECTURES):
        return f"the {arch} block (post-norm or QK norm; original_architecture) is not supported"
    attn_types = _none(d.get("attn_types"))
    if isinstance(attn_types, list | tuple) and any(t != "global" for t in attn_types):
        return f"local attention windows (attn_types={attn_types!r}) are not supported"
    pos = _none(d.get("positional_embedding_type", "standard"))
    if pos not in POSITIONAL_EMBEDDING_TYPES:
        return f"positional_embedding_type {pos!r} is not supported (only {', '.join(POSITIONAL_EMBEDDING_TYPES)})"
    norm = _none(d.get("normalization_type", "LN"))
    if norm not in NORMALIZATION_TYPES:
        return f"normalization_type {norm!r} is not supported (only None, LN, LNPre, RMS, RMSPre)"
    for key, value in d.items():
        if key in IGNORED_KEYS or key in REFUSED_UNLESS_DEFAULT or key in _IMPLEMENTED:
            continue
        if _none(value) not in (None, False, -1, -1.0):
            return f"unknown config key {key!r} = {value!r} may change the forward pass; not supported"
    return None


def parse_tl_dict(d: Mapping[str, Any]) -> dict[str, Any]:
    """:class:`~.config.ModelConfig` keyword arguments from a TransformerLens config dict."""
    if not isinstance(d, Mapping):
        raise WeightsError(f"config.json: expected a JSON object, got {type(d).__name__}")
    reason = refusal(d)
    if reason is not None:
        raise WeightsError(f"config.json: {reason}")
    sizes = {k: _int(d, k) for k in _SIZE_KEYS}
    out = _none(d.get("d_vocab_out", -1))
    d_vocab_out = None if out in (None, -1) or out == sizes["d_vocab"] else _int(d, "d_vocab_out")
    pos = _none(d.get("positional_embedding_type", "standard"))
    rotary_dim = _none(d.get("rotary_dim"))
    if pos == "rotary":
        rotary_dim = _int(d, "rotary_dim")
        if rotary_dim % 2 or rotary_dim > sizes["d_head"]:
            raise WeightsError(f"config.json: rotary_dim: expected an even number ≤ d_head, got {rotary_dim}")
    elif rotary_dim is not None:
        rotary_dim = _int(d, "rotary_dim")
    dtype = str(_none(d.get("dtype")) or "torch.float32").removeprefix("torch.")
    if dtype not in DTYPES:
        raise WeightsError(f"config.json: dtype {dtype!r} is not supported (only {', '.join(DTYPES)})")
    use_attn_scale = _flag(d, "use_attn_scale", True)
    attn_scale: float | None = _number(d, "attn_scale", -1.0)
    if attn_scale == -1.0 or (attn_scale is not None and math.isclose(attn_scale, math.sqrt(sizes["d_head"]))):
        attn_scale = None  # TransformerLens' default, sqrt(d_head)
    elif attn_scale <= 0:
        raise WeightsError(f"config.json: attn_scale: expected a positive number, got {attn_scale}")
    eps = _number(d, "eps", 1e-5)
    if eps < 0:
        raise WeightsError(f"config.json: eps: expected a non-negative number, got {eps}")
    return {
        **sizes,
        "attn_scale": attn_scale,
        "normalization_type": _none(d.get("normalization_type", "LN")),  # TransformerLens' default
        "positional_embedding_type": pos,
        "rotary_dim": rotary_dim,
        "rotary_base": _number(d, "rotary_base", 10000.0),
        "rotary_adjacent_pairs": _flag(d, "rotary_adjacent_pairs", False),
        "use_attn_scale": use_attn_scale,
        "eps": eps,
        "d_vocab_out": d_vocab_out,
        "dtype": dtype,
        "default_prepend_bos": _flag(d, "default_prepend_bos", True),
    }
