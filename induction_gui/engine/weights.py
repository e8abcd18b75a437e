"""Model weights under TransformerLens parameter names, validated.

A ``Weights`` is a mutable mapping ``name -> ndarray``. Keeping TransformerLens'
names and shapes means a state dict exported from a real HookedTransformer
(attn_only) loads as it is, and every formula in METRICS.md can be written with
the names the literature uses. The shapes give the sizes; a declared config (a
``config.json``, a file's metadata) gives the forward-pass options, which no
tensor name can tell (an LNPre model has exactly the parameters of one without
normalisation). Files are read and written in :mod:`.weights_io`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Hashable, Iterator, Mapping, MutableMapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from .config import ModelConfig, WeightsError

__all__ = ["Weights", "WeightsError", "block_names"]

_BLOCK_RE = re.compile(r"^blocks\.(\d+)\.(?:attn\.(?:W_Q|W_K|W_V|W_O|b_Q|b_K|b_V|b_O)|ln1\.[wb])$")
# Buffers a TransformerLens state dict carries that are not parameters.
_IGNORED_SUFFIXES = (".attn.mask", ".attn.IGNORE", ".attn.rotary_sin", ".attn.rotary_cos")
_SIZE_FIELDS = ("n_layers", "n_heads", "d_model", "d_head", "d_vocab", "n_ctx", "attn_scale", "d_vocab_out")
# the forward-pass options of a config, which the weights carry but cannot show in their shapes
_OPTION_FIELDS = tuple(f.name for f in fields(ModelConfig) if f.name not in _SIZE_FIELDS)


def block_names(layer: int) -> dict[str, str]:
    """Short name -> full parameter name for one attention block."""
    return {n: f"blocks.{layer}.attn.{n}" for n in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O")}


def _as_float_array(name: str, value: object) -> np.ndarray:
    """Convert to a float array, refusing what is not a real-valued numeric array."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists, mixed types
        raise WeightsError(f"{name}: not a rectangular array of numbers ({exc})") from None
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.float32)
    if arr.dtype.kind != "f":
        raise WeightsError(f"{name}: expected a real-valued float array, got dtype {arr.dtype}")
    return arr


class Weights(MutableMapping[str, np.ndarray]):
    """TransformerLens-named parameters of an attention-only transformer.

    Missing biases are filled with zeros of the right shape, so that code
    downstream never branches on their presence. Call :meth:`validate` (done by
    the constructor and loaders) after editing to re-check shapes and values.

    Arrays may be edited in place (``weights[name][i, j] = x``); matrices the
    forward pass derives from them (:meth:`derived`) notice such edits.
    """

    def __init__(
        self,
        params: Mapping[str, object],
        *,
        validate: bool = True,
        attn_scale: float | None = None,
        config: ModelConfig | None = None,
    ) -> None:
        self._params: dict[str, np.ndarray] = {}
        self._attn_scale: float | None = None
        # The declared config (a config.json, a file's metadata): its options
        # decide the forward pass, its sizes must match the arrays.
        self._declared = config
        # Bumped whenever a name is bound, rebound or removed; with the shapes
        # it reads, keys the config cache.
        self._version = 0
        self._config_cache: tuple[tuple[object, ...], ModelConfig] | None = None
        # Names whose current array some outside code may hold (and edit in
        # place): handed out by __getitem__, assigned, or passed in. Arrays
        # created here (loaders, zeros, random, copy) are private until read.
        self._exposed: set[str] = set()
        self._derived_cache: dict[Hashable, tuple[tuple[np.ndarray, ...], tuple[Any, ...], Any]] = {}
        for name, value in params.items():
            if name.endswith(_IGNORED_SUFFIXES):
                continue
            self._params[name] = _as_float_array(name, value)
        self._exposed.update(self._params)
        self.attn_scale = attn_scale if config is None or attn_scale is not None else config.attn_scale
        if validate:
            self.validate()

    @property
    def attn_scale(self) -> float | None:
        """Divisor of q·k; None means sqrt(d_head), TransformerLens' default.

        Not a parameter (no array), but part of the model: it travels with the
        weights so that every engine function sees the same scale.
        """
        return self._attn_scale

    @attn_scale.setter
    def attn_scale(self, value: float | None) -> None:
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
                raise WeightsError(f"attn_scale: expected a positive number or None, got {value!r}")
            value = float(value)
            if not (np.isfinite(value) and value > 0):
                raise WeightsError(f"attn_scale: expected a positive finite number, got {value}")
        self._attn_scale = value
        self._version += 1

    # -- mapping protocol -------------------------------------------------
    def __getitem__(self, name: str) -> np.ndarray:
        array = self._params[name]
        self._exposed.add(name)
        return array

    def __setitem__(self, name: str, value: object) -> None:
        self._params[name] = _as_float_array(name, value)
        self._exposed.add(name)
        self._version += 1

    def __delitem__(self, name: str) -> None:
        del self._params[name]
        self._exposed.discard(name)
        self._version += 1

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __repr__(self) -> str:
        c = self.config
        return (
            f"Weights(n_layers={c.n_layers}, n_heads={c.n_heads}, d_model={c.d_model}, "
            f"d_head={c.d_head}, d_vocab={c.d_vocab}, n_ctx={c.n_ctx})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Weights):
            return NotImplemented
        if self._attn_scale != other._attn_scale or self._compared_options() != other._compared_options():
            return False
        return self._params.keys() == other._params.keys() and all(
            self._params[k].dtype == other._params[k].dtype and np.array_equal(self._params[k], other._params[k])
            for k in self._params
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def copy(self) -> Weights:
        """A deep copy: editing it never changes this one."""
        return Weights(
            {k: v.copy() for k, v in self._params.items()},
            validate=False,
            attn_scale=self._attn_scale,
            config=self._declared,
        )._owned()

    def astype(self, dtype: np.dtype | type) -> Weights:
        """All parameters cast to ``dtype`` (float32 or float64)."""
        return Weights(
            {k: v.astype(dtype) for k, v in self._params.items()},
            validate=False,
            attn_scale=self._attn_scale,
            config=self._declared,
        )._owned()

    def _owned(self) -> Weights:
        """Mark every array as created here, referenced by nothing else (for constructors)."""
        self._exposed.clear()
        return self

    # -- derived matrices -------------------------------------------------------
    def derived(self, key: Hashable, names: tuple[str, ...], build: Callable[..., Any]) -> Any:
        """``build(*arrays)`` of the named parameters, cached until one of them changes.

        For the forward pass, which would otherwise rebuild e.g. the fused
        [d_model, 3·n_heads·d_head] Q/K/V matrix on every call. The result is
        rebuilt when a name is rebound, or when an array that has left this
        object (read via ``weights[name]``, assigned, or passed in) differs
        from the copy taken when the result was built: in-place edits count.
        The result is shared: treat it as read-only.
        """
        arrays = tuple(self._params[n] for n in names)
        entry = self._derived_cache.get(key)
        if entry is not None and self._still_valid(names, arrays, *entry[:2]):
            return entry[2]
        value = build(*arrays)
        snapshots = tuple(
            (a.shape, a.dtype, a.tobytes()) if n in self._exposed else None for n, a in zip(names, arrays)
        )
        self._derived_cache[key] = (arrays, snapshots, value)
        return value

    def _still_valid(
        self, names: tuple[str, ...], arrays: tuple[np.ndarray, ...], built_from: tuple[np.ndarray, ...],
        snapshots: tuple[Any, ...],
    ) -> bool:
        for name, a, b, snap in zip(names, arrays, built_from, snapshots):
            if a is not b:  # rebound (the entry holds b, so its id cannot be reused)
                return False
            if name in self._exposed and (snap is None or snap != (a.shape, a.dtype, a.tobytes())):
                return False  # possibly edited in place since the build
        return True

    # -- structure ----------------------------------------------------------
    @property
    def n_layers(self) -> int:
        layers = {int(m.group(1)) for m in map(_BLOCK_RE.match, self._params) if m}
        return max(layers) + 1 if layers else 0

    @property
    def options(self) -> dict[str, object]:
        """The declared forward-pass options (normalisation, positions, ...), defaults if none."""
        base = self._declared if self._declared is not None else _PLAIN
        return {name: getattr(base, name) for name in _OPTION_FIELDS}

    def _compared_options(self) -> dict[str, object]:
        """The options that change what this model computes (equal weights compute equal numbers)."""
        o = self.options
        # the dtype a file stored is history; a BOS default only concerns text
        o = {k: v for k, v in o.items() if k not in ("dtype", "default_prepend_bos")}
        if o["normalization_type"] is None:
            del o["eps"]
        if o["positional_embedding_type"] != "rotary":
            for k in ("rotary_dim", "rotary_base", "rotary_adjacent_pairs"):
                del o[k]
        return o

    @property
    def config(self) -> ModelConfig:
        """Sizes inferred from the shapes, options as declared (see :class:`ModelConfig`).

        Cached, since every forward pass asks: the key is the binding version
        plus the shapes read, so even ``array.shape = ...`` in place is seen.
        """
        params = self._params
        w_q = params.get("blocks.0.attn.W_Q")
        w_pos = params.get("pos_embed.W_pos")
        w_u = params.get("unembed.W_U")
        key = (
            self._version,
            self._attn_scale,
            params["embed.W_E"].shape,
            None if w_pos is None else w_pos.shape,
            None if w_q is None else w_q.shape,
            None if w_u is None else w_u.shape,
        )
        cached = self._config_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        d_vocab, d_model = key[2]
        declared = self._declared if self._declared is not None else _PLAIN
        # rotary models have no W_pos: their context length is only in the config
        n_ctx = key[3][0] if key[3] is not None else declared.n_ctx
        n_layers = self.n_layers
        if n_layers and w_q is not None:
            n_heads, _, d_head = w_q.shape
        else:
            n_heads, d_head = 0, 0
        d_vocab_out = None if key[5] is None or key[5][-1] == d_vocab else key[5][-1]
        config = replace(
            declared, n_layers=n_layers, n_heads=n_heads, d_model=d_model, d_head=d_head, d_vocab=d_vocab,
            n_ctx=n_ctx, attn_scale=self._attn_scale, d_vocab_out=d_vocab_out,
        )  # fmt: skip
        self._config_cache = (key, config)
        return config

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape every parameter must have, given the inferred config."""
        return expected_shapes(self.config)

    def validate(self) -> None:
        """Check names, shapes and finiteness; fill missing biases with zeros.

        Raises
        ------
        WeightsError
            naming the first offending parameter and what was expected.
        """
        options = self.options
        for name in self._params:
            if name not in _GLOBAL_NAMES and not _BLOCK_RE.match(name):
                raise WeightsError(
                    f"{name}: unknown parameter (expected TransformerLens names such as "
                    "embed.W_E, pos_embed.W_pos, blocks.0.attn.W_Q, unembed.W_U)"
                )
        globals_ = [("embed.W_E", 2), ("unembed.W_U", 2)]
        if options["positional_embedding_type"] != "rotary":
            globals_.append(("pos_embed.W_pos", 2))
        for name, ndim in globals_:
            if name not in self._params:
                raise WeightsError(f"{name}: missing")
            if self._params[name].ndim != ndim:
                raise WeightsError(f"{name}: expected {ndim} dimensions, got shape {list(self._params[name].shape)}")
        layers = sorted({int(m.group(1)) for m in map(_BLOCK_RE.match, self._params) if m})
        if layers != list(range(len(layers))):
            raise WeightsError(f"blocks: layer indices must be 0..{len(layers) - 1} without gaps, got {layers}")
        for layer in layers:
            n = block_names(layer)
            for w in ("W_Q", "W_K", "W_V", "W_O"):
                if n[w] not in self._params:
                    raise WeightsError(f"{n[w]}: missing")
                if self._params[n[w]].ndim != 3:
                    raise WeightsError(f"{n[w]}: expected 3 dimensions, got shape {list(self._params[n[w]].shape)}")
        expected = self.expected_shapes()
        for name in self._params:
            if name not in expected:
                raise WeightsError(f"{name}: not a parameter of this model ({_describe(self.config)})")
        if self._declared is not None:
            self._check_declared_sizes()
        dtype = self._params["embed.W_E"].dtype
        for name, shape in expected.items():
            if name not in self._params:
                if ".b_" in name or name.endswith(".b"):
                    self._params[name] = np.zeros(shape, dtype=dtype)
                    self._version += 1
                    continue
                raise WeightsError(f"{name}: missing")
            got = self._params[name].shape
            if got != shape:
                raise WeightsError(f"{name}: expected shape {list(shape)}, got {list(got)}")
        for name, arr in self._params.items():
            if not np.isfinite(arr).all():
                bad = np.argwhere(~np.isfinite(arr))[0]
                value = arr[tuple(bad)]
                raise WeightsError(f"{name}: non-finite value {value} at index {bad.tolist()}")

    # -- construction ---------------------------------------------------------
    @classmethod
    def zeros(cls, config: ModelConfig, dtype: type = np.float32) -> Weights:
        """All-zero weights of the given sizes (a blank slate for hand construction).

        Normalisation gains (``ln1.w``, ``ln_final.w``) are ones, as TransformerLens initialises them.
        """
        shapes = expected_shapes(config)
        # matrices first, then biases: the order files and presets have always listed them in
        matrices = _matrix_order(config)
        names = [n for n in matrices if n in shapes] + [n for n in shapes if n not in matrices]
        params = {name: (np.ones if name.endswith(".w") else np.zeros)(shapes[name], dtype) for name in names}
        declared = None if config.is_plain and config == replace(_PLAIN, **_sizes(config)) else config
        return cls(params, validate=False, attn_scale=config.attn_scale, config=declared)._owned()

    @classmethod
    def random(cls, config: ModelConfig, seed: int = 0, dtype: type = np.float32) -> Weights:
        """Gaussian weights scaled like TransformerLens' init (std 1/sqrt(d_model)), seeded."""
        rng = np.random.default_rng(seed)
        w = cls.zeros(config, dtype)
        std = 1.0 / math.sqrt(config.d_model)
        params = w._params  # fresh arrays nobody else holds: keep them private
        # the order the draws have always been made in, so a seed keeps giving the same model
        for name in _matrix_order(config):
            if name in params:
                params[name] = (rng.standard_normal(params[name].shape) * std).astype(dtype)
        w._version += 1
        return w

    # -- files ------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Weights:
        """Read a model: a folder, ``.safetensors`` or ``.npz`` (see :func:`.weights_io.load_weights`)."""
        from .weights_io import load_weights

        return load_weights(path)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``.safetensors`` (config in its metadata) or ``.npz`` atomically."""
        from .weights_io import save_weights

        save_weights(self, path)

    def _check_declared_sizes(self) -> None:
        """A declared config's sizes must be the arrays' sizes: one of them would be wrong."""
        declared, inferred = self._declared, self.config
        assert declared is not None
        for name in ("n_layers", "n_heads", "d_model", "d_head", "d_vocab", "n_ctx"):
            if getattr(declared, name) != getattr(inferred, name):
                raise WeightsError(
                    f"config {name} is {getattr(declared, name)} but the weights have {getattr(inferred, name)}"
                )
        if declared.vocab_out != inferred.vocab_out:
            raise WeightsError(f"config d_vocab_out is {declared.vocab_out} but unembed.W_U has {inferred.vocab_out}")


_PLAIN = ModelConfig(0, 0, 0, 0, 0, 0)  # the options of the app's own models: all defaults
_GLOBAL_NAMES = ("embed.W_E", "pos_embed.W_pos", "unembed.W_U", "unembed.b_U", "ln_final.w", "ln_final.b")


def _matrix_order(config: ModelConfig) -> list[str]:
    order = ["embed.W_E", "pos_embed.W_pos", "unembed.W_U"]
    order += [block_names(layer)[n] for layer in range(config.n_layers) for n in ("W_Q", "W_K", "W_V")]
    return order + [block_names(layer)["W_O"] for layer in range(config.n_layers)]


def _sizes(config: ModelConfig) -> dict[str, object]:
    return {name: getattr(config, name) for name in _SIZE_FIELDS}


def _describe(config: ModelConfig) -> str:
    norm, pos = config.normalization_type, config.positional_embedding_type
    return f"normalization_type={norm}, positional_embedding_type={pos}"


def expected_shapes(c: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every parameter of a model with config ``c`` (TransformerLens' state dict)."""
    shapes: dict[str, tuple[int, ...]] = {"embed.W_E": (c.d_vocab, c.d_model)}
    if c.positional_embedding_type != "rotary":
        shapes["pos_embed.W_pos"] = (c.n_ctx, c.d_model)
    norm_params = {"LN": ("w", "b"), "RMS": ("w",)}.get(c.normalization_type or "", ())
    for layer in range(c.n_layers):
        for p in norm_params:
            shapes[f"blocks.{layer}.ln1.{p}"] = (c.d_model,)
        n = block_names(layer)
        for w in ("W_Q", "W_K", "W_V"):
            shapes[n[w]] = (c.n_heads, c.d_model, c.d_head)
        for b in ("b_Q", "b_K", "b_V"):
            shapes[n[b]] = (c.n_heads, c.d_head)
        shapes[n["W_O"]] = (c.n_heads, c.d_head, c.d_model)
        shapes[n["b_O"]] = (c.d_model,)
    for p in norm_params:
        shapes[f"ln_final.{p}"] = (c.d_model,)
    shapes["unembed.W_U"] = (c.d_model, c.vocab_out)
    shapes["unembed.b_U"] = (c.vocab_out,)
    return shapes
