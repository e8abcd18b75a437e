"""Model weights under TransformerLens parameter names, validated.

A ``Weights`` is a mutable mapping ``name -> ndarray``. Keeping TransformerLens'
names and shapes means a state dict exported from a real HookedTransformer
(attn_only, no LayerNorm) loads as it is, and every formula in METRICS.md can be
written with the names the literature uses.
"""

from __future__ import annotations

import math
import os
import tempfile
import re
from collections.abc import Callable, Hashable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import numpy as np

from .config import ModelConfig

_BLOCK_RE = re.compile(r"^blocks\.(\d+)\.attn\.(W_Q|W_K|W_V|W_O|b_Q|b_K|b_V|b_O)$")
# Buffers a TransformerLens state dict carries that are not parameters.
_IGNORED_SUFFIXES = (".attn.mask", ".attn.IGNORE")
_GLOBAL_NAMES = ("embed.W_E", "pos_embed.W_pos", "unembed.W_U", "unembed.b_U")


# where the attention scale (not a parameter) is kept in weights files
_ATTN_SCALE_KEY = "config.attn_scale"


class WeightsError(ValueError):
    """A weight is missing, misshapen, non-finite or unreadable; the message names it."""


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
        self, params: Mapping[str, object], *, validate: bool = True, attn_scale: float | None = None
    ) -> None:
        self._params: dict[str, np.ndarray] = {}
        self._attn_scale: float | None = None
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
        self.attn_scale = attn_scale
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
        return self._attn_scale == other._attn_scale and self._params.keys() == other._params.keys() and all(
            self._params[k].dtype == other._params[k].dtype and np.array_equal(self._params[k], other._params[k])
            for k in self._params
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def copy(self) -> Weights:
        """A deep copy: editing it never changes this one."""
        return Weights(
            {k: v.copy() for k, v in self._params.items()}, validate=False, attn_scale=self._attn_scale
        )._owned()

    def astype(self, dtype: np.dtype | type) -> Weights:
        """All parameters cast to ``dtype`` (float32 or float64)."""
        return Weights(
            {k: v.astype(dtype) for k, v in self._params.items()}, validate=False, attn_scale=self._attn_scale
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
    def config(self) -> ModelConfig:
        """Sizes inferred from the shapes (see :class:`ModelConfig`).

        Cached, since every forward pass asks: the key is the binding version
        plus the shapes read, so even ``array.shape = ...`` in place is seen.
        """
        params = self._params
        w_q = params.get("blocks.0.attn.W_Q")
        key = (
            self._version,
            self._attn_scale,
            params["embed.W_E"].shape,
            params["pos_embed.W_pos"].shape,
            None if w_q is None else w_q.shape,
        )
        cached = self._config_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        d_vocab, d_model = key[2]
        n_ctx = key[3][0]
        n_layers = self.n_layers
        if n_layers and w_q is not None:
            n_heads, _, d_head = w_q.shape
        else:
            n_heads, d_head = 0, 0
        config = ModelConfig(n_layers, n_heads, d_model, d_head, d_vocab, n_ctx, self._attn_scale)
        self._config_cache = (key, config)
        return config

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape every parameter must have, given the inferred config."""
        c = self.config
        shapes: dict[str, tuple[int, ...]] = {
            "embed.W_E": (c.d_vocab, c.d_model),
            "pos_embed.W_pos": (c.n_ctx, c.d_model),
            "unembed.W_U": (c.d_model, c.d_vocab),
            "unembed.b_U": (c.d_vocab,),
        }
        for layer in range(c.n_layers):
            n = block_names(layer)
            for w in ("W_Q", "W_K", "W_V"):
                shapes[n[w]] = (c.n_heads, c.d_model, c.d_head)
            for b in ("b_Q", "b_K", "b_V"):
                shapes[n[b]] = (c.n_heads, c.d_head)
            shapes[n["W_O"]] = (c.n_heads, c.d_head, c.d_model)
            shapes[n["b_O"]] = (c.d_model,)
        return shapes

    def validate(self) -> None:
        """Check names, shapes and finiteness; fill missing biases with zeros.

        Raises
        ------
        WeightsError
            naming the first offending parameter and what was expected.
        """
        for name in self._params:
            if name not in _GLOBAL_NAMES and not _BLOCK_RE.match(name):
                raise WeightsError(
                    f"{name}: unknown parameter (expected TransformerLens names such as "
                    "embed.W_E, pos_embed.W_pos, blocks.0.attn.W_Q, unembed.W_U)"
                )
        for name, ndim in (("embed.W_E", 2), ("pos_embed.W_pos", 2), ("unembed.W_U", 2)):
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
        dtype = self._params["embed.W_E"].dtype
        for name, shape in expected.items():
            if name not in self._params:
                if ".b_" in name:
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
        """All-zero weights of the given sizes (a blank slate for hand construction)."""
        w = cls(
            {
                "embed.W_E": np.zeros((config.d_vocab, config.d_model), dtype),
                "pos_embed.W_pos": np.zeros((config.n_ctx, config.d_model), dtype),
                "unembed.W_U": np.zeros((config.d_model, config.d_vocab), dtype),
                **{
                    block_names(layer)[w]: np.zeros((config.n_heads, config.d_model, config.d_head), dtype)
                    for layer in range(config.n_layers)
                    for w in ("W_Q", "W_K", "W_V")
                },
                **{
                    block_names(layer)["W_O"]: np.zeros((config.n_heads, config.d_head, config.d_model), dtype)
                    for layer in range(config.n_layers)
                },
            },
            validate=False,
        )._owned()
        w.validate()  # fills biases
        return w

    @classmethod
    def random(cls, config: ModelConfig, seed: int = 0, dtype: type = np.float32) -> Weights:
        """Gaussian weights scaled like TransformerLens' init (std 1/sqrt(d_model)), seeded."""
        rng = np.random.default_rng(seed)
        w = cls.zeros(config, dtype)
        std = 1.0 / math.sqrt(config.d_model)
        params = w._params  # fresh arrays nobody else holds: keep them private
        for name in params:
            if ".b_" not in name and not name.endswith("b_U"):
                params[name] = (rng.standard_normal(params[name].shape) * std).astype(dtype)
        w._version += 1
        return w

    # -- files ------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Weights:
        """Read ``.safetensors`` or ``.npz`` (never pickled objects) and validate.

        Raises
        ------
        WeightsError
            for an unreadable file, an unknown extension or invalid contents,
            with the file name in the message.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        try:
            if suffix == ".safetensors":
                from safetensors.numpy import load_file

                from safetensors import safe_open

                params: dict[str, np.ndarray] = load_file(str(path))
                with safe_open(str(path), framework="numpy") as f:
                    metadata = f.metadata() or {}
                scale_text = metadata.get(_ATTN_SCALE_KEY)
                attn_scale = None if scale_text in (None, "", "None") else float(scale_text)
            elif suffix == ".npz":
                with np.load(path, allow_pickle=False) as data:
                    params = {k: data[k] for k in data.files}
                scale_arr = params.pop(_ATTN_SCALE_KEY, None)
                attn_scale = None if scale_arr is None else float(np.asarray(scale_arr).reshape(-1)[0])
            else:
                raise WeightsError(f"{path.name}: unknown weights format {suffix!r} (use .safetensors or .npz)")
        except WeightsError:
            raise
        except FileNotFoundError:
            raise WeightsError(f"{path}: no such file") from None
        except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file, said with its name
            raise WeightsError(f"{path.name}: cannot read weights ({type(exc).__name__}: {exc})") from None
        try:
            # the reader's arrays are referenced nowhere else
            return cls(params, attn_scale=attn_scale)._owned()
        except WeightsError as exc:
            raise WeightsError(f"{path.name}: {exc}") from None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``.safetensors`` or ``.npz`` atomically (temporary file, then rename)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".safetensors", ".npz"):
            raise WeightsError(f"{path.name}: unknown weights format {suffix!r} (use .safetensors or .npz)")
        # a unique temporary name: two saves at once never write the same file
        fd, tmp_name = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=f".tmp{suffix}")
        os.close(fd)
        tmp = Path(tmp_name)
        arrays = {k: np.ascontiguousarray(v) for k, v in self._params.items()}
        try:
            if suffix == ".safetensors":
                from safetensors.numpy import save_file

                metadata = {} if self._attn_scale is None else {_ATTN_SCALE_KEY: repr(self._attn_scale)}
                save_file(arrays, str(tmp), metadata=metadata)
            else:
                if self._attn_scale is not None:
                    arrays[_ATTN_SCALE_KEY] = np.array([self._attn_scale])
                with open(tmp, "wb") as f:
                    np.savez(f, **arrays)
            os.replace(tmp, path)
        except BaseException:
            # a failed save leaves the previous file as it was and no debris
            tmp.unlink(missing_ok=True)
            raise
