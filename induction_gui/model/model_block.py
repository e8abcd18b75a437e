"""The ``model`` block of a scenario file: declared sizes, then weights that must match them.

The sizes come first so that absurd ones are refused before a single array is
allocated, and so that every weight can be checked against a shape whose
origin the message can name (``[n_heads, d_model, d_head] from model.config``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from ..engine.config import ModelConfig
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
INLINE_DTYPES = ("float32", "float64", "float16")

# Axis names of every parameter, in TransformerLens order.
_GLOBAL_AXES: dict[str, tuple[str, ...]] = {
    "embed.W_E": ("d_vocab", "d_model"),
    "pos_embed.W_pos": ("n_ctx", "d_model"),
    "unembed.W_U": ("d_model", "d_vocab"),
    "unembed.b_U": ("d_vocab",),
}
_BLOCK_AXES: dict[str, tuple[str, ...]] = {
    "W_Q": ("n_heads", "d_model", "d_head"),
    "W_K": ("n_heads", "d_model", "d_head"),
    "W_V": ("n_heads", "d_model", "d_head"),
    "W_O": ("n_heads", "d_head", "d_model"),
    "b_Q": ("n_heads", "d_head"),
    "b_K": ("n_heads", "d_head"),
    "b_V": ("n_heads", "d_head"),
    "b_O": ("d_model",),
}
_BLOCK_NAME = re.compile(r"blocks\.(0|[1-9][0-9]{0,5})\.attn\.(W_Q|W_K|W_V|W_O|b_Q|b_K|b_V|b_O)")
_KNOWN_NAMES = (
    "embed.W_E, pos_embed.W_pos, blocks.{layer}.attn.W_Q|W_K|W_V|W_O|b_Q|b_K|b_V|b_O, unembed.W_U, unembed.b_U"
)


def parameter_count(config: ModelConfig) -> int:
    """Number of parameters a model of these sizes has (biases included)."""
    c = config
    per_layer = 4 * c.n_heads * c.d_model * c.d_head + 3 * c.n_heads * c.d_head + c.d_model
    return 2 * c.d_vocab * c.d_model + c.d_vocab + c.n_ctx * c.d_model + c.n_layers * per_layer


def is_optional(name: str) -> bool:
    """Biases may be left out of a file; they are zeros then (as the engine fills them)."""
    return ".b_" in name


def expected_axes(config: ModelConfig) -> dict[str, tuple[str, ...]]:
    """Name -> axis names of every parameter a model of these sizes has."""
    axes = dict(_GLOBAL_AXES)
    for layer in range(config.n_layers):
        axes.update({f"blocks.{layer}.attn.{short}": a for short, a in _BLOCK_AXES.items()})
    return axes


def axes_of(name: str, path: str, config: ModelConfig) -> tuple[str, ...]:
    """Axis names of parameter ``name``, or an error if the config has no such parameter."""
    if name in _GLOBAL_AXES:
        return _GLOBAL_AXES[name]
    match = _BLOCK_NAME.fullmatch(name)
    if match is None:
        raise ScenarioError(path, f"unknown parameter (expected TransformerLens names: {_KNOWN_NAMES})")
    layer = int(match.group(1))
    if layer >= config.n_layers:
        raise ScenarioError(path, f"layer {layer} does not exist (model.config.n_layers is {config.n_layers})")
    return _BLOCK_AXES[match.group(2)]


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
    """``model.config`` as a ModelConfig, refusing sizes too large to allocate."""
    obj = expect_object(value, path, required=SIZE_FIELDS, optional=("attn_scale",))
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
    config = ModelConfig(**sizes, attn_scale=attn_scale)
    count = parameter_count(config)
    if count > MAX_PARAMS:
        raise ScenarioError(path, f"the model would have {count:,} parameters; the limit is {MAX_PARAMS:,}")
    return config


def config_to_json(weights: Weights, attn_scale: float | None) -> dict[str, object]:
    """``model.config`` as written: the sizes the weights have.

    The format holds the app's own models only: a TransformerLens model with
    normalisation, other positions or another attention scale would reload
    computing other numbers, so it is refused (export-model writes it whole).
    """
    cfg = weights.config
    if not cfg.is_plain:
        raise ScenarioError(
            "model",
            f"a model with normalization_type={cfg.normalization_type}, "
            f"positional_embedding_type={cfg.positional_embedding_type} cannot be saved in a scenario file; "
            "keep it as a model folder (induction-gui export-model)",
        )
    out: dict[str, object] = {k: v for k, v in weights.config.to_dict().items() if k in SIZE_FIELDS}
    if attn_scale is not None:
        out["attn_scale"] = float(attn_scale)
    return out


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


def build_weights(params: dict[str, np.ndarray], path: str) -> Weights:
    """The engine's Weights from checked arrays (its own validation is the last safety net)."""
    try:
        return Weights(params)
    except (WeightsError, ValueError) as exc:
        raise ScenarioError(path, str(exc)) from None
