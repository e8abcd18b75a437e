"""The ``model`` block of a scenario file: declared sizes and options, then weights that must match them.

The sizes come first so that absurd ones are refused before a single array is
allocated, and so that every weight can be checked against a shape whose
origin the message can name (``[n_heads, d_model, d_head] from model.config``).
The forward-pass options of a TransformerLens model (normalisation, positions,
...) are stated next to the sizes, and only where they differ from the app's
plain model, so that a file of the app's own models reads as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from ..engine.config import ModelConfig
from ..engine.tl_config import REFUSED_UNLESS_DEFAULT
from ..engine.weights import Weights, WeightsError
from .errors import ScenarioError
from .fields import (
    child,
    entry,
    expect_choice,
    expect_int,
    expect_keyed_object,
    expect_number,
    expect_object,
    probe_shape,
    read_array,
    shape_str,
)
from .jsonfile import RawNumber
from .limits import MAX_DIM, MAX_LAYERS, MAX_PARAMS

SIZE_FIELDS = ("n_layers", "n_heads", "d_model", "d_head", "d_vocab", "n_ctx")
# forward-pass options ``model.config`` may state (TransformerLens names); an absent one is the plain model's
OPTION_FIELDS = (
    "normalization_type", "positional_embedding_type", "rotary_dim", "rotary_base", "rotary_adjacent_pairs",
    "use_attn_scale", "eps", "d_vocab_out", "default_prepend_bos",
)  # fmt: skip
INLINE_DTYPES = ("float32", "float64", "float16")

# Axis names of every parameter, in TransformerLens order.
_GLOBAL_AXES: dict[str, tuple[str, ...]] = {
    "embed.W_E": ("d_vocab", "d_model"),
    "pos_embed.W_pos": ("n_ctx", "d_model"),
    "unembed.W_U": ("d_model", "d_vocab"),
    "unembed.b_U": ("d_vocab",),
    "ln_final.w": ("d_model",),
    "ln_final.b": ("d_model",),
}
_BLOCK_AXES: dict[str, tuple[str, ...]] = {
    "attn.W_Q": ("n_heads", "d_model", "d_head"),
    "attn.W_K": ("n_heads", "d_model", "d_head"),
    "attn.W_V": ("n_heads", "d_model", "d_head"),
    "attn.W_O": ("n_heads", "d_head", "d_model"),
    "attn.b_Q": ("n_heads", "d_head"),
    "attn.b_K": ("n_heads", "d_head"),
    "attn.b_V": ("n_heads", "d_head"),
    "attn.b_O": ("d_model",),
    "ln1.w": ("d_model",),
    "ln1.b": ("d_model",),
}
_BLOCK_NAME = re.compile(r"blocks\.(0|[1-9][0-9]{0,5})\.(attn\.(?:W_Q|W_K|W_V|W_O|b_Q|b_K|b_V|b_O)|ln1\.[wb])")
_KNOWN_NAMES = (
    "embed.W_E, pos_embed.W_pos, blocks.{layer}.attn.W_Q|W_K|W_V|W_O|b_Q|b_K|b_V|b_O, blocks.{layer}.ln1.w|b, "
    "ln_final.w|b, unembed.W_U, unembed.b_U"
)
# normalisation parameters each normalization_type has (the Pre kinds have none)
_NORM_PARAMS = {"LN": ("w", "b"), "RMS": ("w",)}


def parameter_count(config: ModelConfig) -> int:
    """Number of parameters a model of these sizes has (biases and normalisation gains included)."""
    c = config
    norm = len(_NORM_PARAMS.get(c.normalization_type or "", ())) * c.d_model
    pos = 0 if c.positional_embedding_type == "rotary" else c.n_ctx * c.d_model
    per_layer = 4 * c.n_heads * c.d_model * c.d_head + 3 * c.n_heads * c.d_head + c.d_model + norm
    return c.d_vocab * c.d_model + (c.d_model + 1) * c.vocab_out + pos + c.n_layers * per_layer + norm


def is_optional(name: str) -> bool:
    """Biases may be left out of a file; they are zeros then (as the engine fills them)."""
    return ".b_" in name or name.endswith(".b")


def _has(name: str, config: ModelConfig) -> bool:
    """Whether a model with ``config``'s options has parameter ``name`` (rotary: no W_pos; norms: ln*)."""
    if name == "pos_embed.W_pos":
        return config.positional_embedding_type != "rotary"
    if name.startswith("ln_final.") or ".ln1." in name:
        return name[-1] in _NORM_PARAMS.get(config.normalization_type or "", ())
    return True


def _vocab_axes(name: str, axes: tuple[str, ...], config: ModelConfig) -> tuple[str, ...]:
    """The unembedding's output axis is ``d_vocab_out`` when the config sets one."""
    if name.startswith("unembed.") and config.d_vocab_out is not None:
        return tuple("d_vocab_out" if a == "d_vocab" else a for a in axes)
    return axes


def expected_axes(config: ModelConfig) -> dict[str, tuple[str, ...]]:
    """Name -> axis names of every parameter a model of these sizes and options has."""
    axes = dict(_GLOBAL_AXES)
    for layer in range(config.n_layers):
        axes.update({f"blocks.{layer}.{short}": a for short, a in _BLOCK_AXES.items()})
    return {name: _vocab_axes(name, a, config) for name, a in axes.items() if _has(name, config)}


def axes_of(name: str, path: str, config: ModelConfig) -> tuple[str, ...]:
    """Axis names of parameter ``name``, or an error if the config has no such parameter."""
    if name in _GLOBAL_AXES:
        axes = _GLOBAL_AXES[name]
    else:
        match = _BLOCK_NAME.fullmatch(name)
        if match is None:
            raise ScenarioError(path, f"unknown parameter (expected TransformerLens names: {_KNOWN_NAMES})")
        layer = int(match.group(1))
        if layer >= config.n_layers:
            raise ScenarioError(path, f"layer {layer} does not exist (model.config.n_layers is {config.n_layers})")
        axes = _BLOCK_AXES[match.group(2)]
    if not _has(name, config):
        norm, pos = config.normalization_type, config.positional_embedding_type
        options = f"normalization_type={norm}, positional_embedding_type={pos}"
        raise ScenarioError(path, f"not a parameter of this model (model.config: {options})")
    return _vocab_axes(name, axes, config)


def check_shape(
    path: str, got: list[int] | tuple[int, ...], axes: tuple[str, ...], config: ModelConfig
) -> tuple[int, ...]:
    """The expected shape; a mismatch names the config fields that disagree with the array."""
    expected = tuple(getattr(config, a) for a in axes)
    if tuple(got) == expected:
        return expected
    detail = f"expected shape {shape_str(expected)} ([{', '.join(axes)}] from model.config), got {shape_str(got)}"
    if len(got) == len(expected):
        clashes = [f"model.config.{a} is {e}" for a, e, g in zip(axes, expected, got, strict=True) if e != g]
        detail += f" ({'; '.join(clashes)})"
    raise ScenarioError(path, detail)


def missing_names(given: Mapping[str, object], config: ModelConfig) -> list[str]:
    """Required parameters (not biases) of the config that ``given`` lacks."""
    return [n for n in expected_axes(config) if n not in given and not is_optional(n)]


# -- config ------------------------------------------------------------------------
def parse_config(value: object, path: str) -> ModelConfig:
    """``model.config`` as a ModelConfig, refusing sizes too large to allocate and features not computed."""
    optional = ("attn_scale", *OPTION_FIELDS, *REFUSED_UNLESS_DEFAULT)  # the latter to name a refused feature
    obj = expect_object(value, path, required=SIZE_FIELDS, optional=optional)
    sizes: dict[str, int] = {}
    for name in SIZE_FIELDS:
        lo = 0 if name in ("n_layers", "n_heads", "d_head") else 1
        hi = MAX_LAYERS if name == "n_layers" else MAX_DIM
        sizes[name] = expect_int(obj[name], child(path, name), lo=lo, hi=hi)
    for name in ("n_heads", "d_head"):
        if sizes["n_layers"] and not sizes[name]:
            raise ScenarioError(child(path, name), "expected an integer ≥ 1 (the model has layers)")
        if not sizes["n_layers"] and sizes[name]:
            raise ScenarioError(child(path, name), "expected 0 (a model without layers has no heads)")
    attn_scale = obj.get("attn_scale")
    if attn_scale is not None:
        attn_scale = expect_number(attn_scale, child(path, "attn_scale"), positive=True)
    config = _with_options(ModelConfig(**sizes, attn_scale=attn_scale), obj, path)
    count = parameter_count(config)
    if count > MAX_PARAMS:
        raise ScenarioError(path, f"the model would have {count:,} parameters; the limit is {MAX_PARAMS:,}")
    return config


def _with_options(plain: ModelConfig, obj: Mapping[str, object], path: str) -> ModelConfig:
    """``plain`` with the options ``obj`` states, checked by the rules a TransformerLens config.json obeys."""
    stated = {k: v for k, v in obj.items() if k not in SIZE_FIELDS and k != "attn_scale"}
    if not stated:
        return plain
    if "d_vocab_out" in stated:
        expect_int(stated["d_vocab_out"], child(path, "d_vocab_out"), lo=1, hi=MAX_DIM)
    if "rotary_base" in stated:  # a base of 0 or less makes no frequencies (TransformerLens does not check)
        expect_number(stated["rotary_base"], child(path, "rotary_base"), positive=True)
    sizes = {k: max(1, getattr(plain, k)) for k in SIZE_FIELDS}  # TransformerLens has no empty model
    # the plain model's options where TransformerLens' defaults differ (it defaults to LN and a BOS)
    tl = {**sizes, "normalization_type": None, "default_prepend_bos": False, **stated}
    try:
        options = ModelConfig.from_tl_dict(tl)
    except WeightsError as exc:
        detail = str(exc).removeprefix("config.json: ")
        key, sep, rest = detail.partition(": ")
        if sep and key in stated:  # "rotary_dim: expected an even number ..." belongs to that field
            raise ScenarioError(child(path, key), rest) from None
        raise ScenarioError(path, detail) from None
    return replace(options, **{k: getattr(plain, k) for k in SIZE_FIELDS}, attn_scale=plain.attn_scale)


def config_to_json(weights: Weights, attn_scale: float | None) -> dict[str, object]:
    """``model.config`` as written: the sizes the weights have, and the options that differ from the plain model's.

    The dtype the model was read in is left out: the weights carry their own
    (inline ``model.dtype``, or the weights file's tensors).
    """
    cfg = weights.config
    out: dict[str, object] = {k: v for k, v in cfg.to_dict().items() if k in SIZE_FIELDS}
    if attn_scale is not None:
        out["attn_scale"] = float(attn_scale)
    plain = ModelConfig(cfg.n_layers, cfg.n_heads, cfg.d_model, cfg.d_head, cfg.d_vocab, cfg.n_ctx)
    for name in OPTION_FIELDS:
        value = getattr(cfg, name)
        if value != getattr(plain, name):
            out[name] = value
    return out


def declared_config(config: ModelConfig) -> ModelConfig | None:
    """The config a scenario's Weights are built with: None for the plain model (its options are the defaults)."""
    sizes = {k: getattr(config, k) for k in SIZE_FIELDS}
    return None if config == ModelConfig(**sizes, attn_scale=config.attn_scale) else config


# -- inline weights ------------------------------------------------------------------
def parse_inline_weights(value: object, path: str, config: ModelConfig, dtype: str) -> dict[str, np.ndarray]:
    """``model.weights``: TransformerLens name -> nested list, each checked against the config."""
    obj = expect_keyed_object(value, path, what="an object mapping TransformerLens names to nested lists")
    params: dict[str, np.ndarray] = {}
    for name, nested in obj.items():
        p = entry(path, name)
        axes = axes_of(name, p, config)
        shape = check_shape(p, probe_shape(nested), axes, config)
        params[name] = read_array(nested, p, dtype=np.dtype(dtype), shape=shape)
    for name in missing_names(params, config):
        raise ScenarioError(entry(path, name), "missing (model.config requires it)")
    return params


def inline_weights_to_json(weights: Weights) -> tuple[str, dict[str, object]]:
    """(dtype name, name -> nested list); all-zero biases are left out to keep files readable."""
    dtypes = {arr.dtype for arr in weights.values()}
    if len(dtypes) != 1:
        names = ", ".join(sorted(d.name for d in dtypes))
        raise ScenarioError(
            "model.weights",
            f"inline weights share one dtype but these have {names}; "
            "cast with Weights.astype or save with inline=False",
        )
    dtype = dtypes.pop()
    if dtype.name not in INLINE_DTYPES:
        raise ScenarioError("model.dtype", f"expected one of {', '.join(INLINE_DTYPES)}, got {dtype.name}")
    out: dict[str, object] = {}
    for name, arr in weights.items():
        # bitwise test: a -0.0 bias must be written to come back bit for bit
        if is_optional(name) and not np.ascontiguousarray(arr).view(np.uint8).any():
            continue
        out[name] = short_floats(arr) if arr.dtype.itemsize < 8 else arr.tolist()
    return dtype.name, out


def short_floats(arr: np.ndarray) -> list[object]:
    """Nested lists of the shortest decimal text of each float32 / float16 value.

    ``0.12218247`` rather than the float64 repr ``0.1221824660897255``: files
    are read by people. Each text is checked to read back (as float64, then
    cast, which is what loading does) to the same bits; where it would not,
    the float64 repr, which always does, is written instead.
    """
    flat = arr.ravel()
    texts = list(map(str, flat))  # NumPy prints the shortest text that is unique for the dtype
    back = np.array(list(map(float, texts)), dtype=np.float64).astype(arr.dtype)
    same = back.view(f"u{arr.dtype.itemsize}") == flat.view(f"u{arr.dtype.itemsize}")
    for i in np.flatnonzero(~same):
        texts[i] = repr(float(flat[i]))
    return np.array(list(map(RawNumber, texts)), dtype=object).reshape(arr.shape).tolist()


def parse_dtype(value: object, path: str) -> str:
    """``model.dtype`` of inline weights."""
    return expect_choice(value, path, INLINE_DTYPES)


def build_weights(params: dict[str, np.ndarray], path: str, config: ModelConfig | None = None) -> Weights:
    """The engine's Weights from checked arrays (its own validation is the last safety net)."""
    try:
        return Weights(params, config=None if config is None else declared_config(config))
    except (WeightsError, ValueError) as exc:
        raise ScenarioError(path, str(exc)) from None
