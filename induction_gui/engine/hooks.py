"""Activation names and the activation cache, as TransformerLens spells them.

Every hook name in the project is built here, so that a typo cannot make a view
read a key the engine never writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
import re
from functools import lru_cache

import numpy as np

# Short names accepted by act_name, mapped to where the hook lives in a block.
_ATTN_HOOKS = {"q", "k", "v", "rot_q", "rot_k", "attn_scores", "pattern", "z", "result"}
_BLOCK_HOOKS = {"resid_pre", "attn_out", "resid_post"}
_NORM_HOOKS = {"scale", "normalized"}  # of ln1 (with a layer) or ln_final (without)
_GLOBAL_HOOKS = {"embed", "pos_embed"}
_ALIASES = {
    "attn": "pattern", "scores": "attn_scores", "attn_logits": "attn_scores", "key": "k", "query": "q", "value": "v",
}  # fmt: skip
_LAYER_TYPE_ALIASES = {"a": "attn", "attention": "attn", "b": "", "block": "", "blocks": ""}
# TransformerLens' compact form: "k6" is ("k", 6), "scale4ln1" is ("scale", 4, "ln1")
_COMPACT = re.compile(r"([a-z]+)(\d+)([a-z]?.*)")


@lru_cache(maxsize=1024)
def act_name(name: str, layer: int | None = None, layer_type: str | None = None) -> str:
    """Full hook name from a short one: ``act_name("pattern", 0)`` -> ``blocks.0.attn.hook_pattern``.

    Mirrors TransformerLens' ``utils.get_act_name`` for the hooks an
    attention-only model has: a full name is returned as it is; ``"k6"`` is
    ``("k", 6)``; ``act_name("scale", 0, "ln1")`` is ``blocks.0.ln1.hook_scale``
    and ``act_name("normalized")`` is ``ln_final.hook_normalized``. Cached:
    the forward pass and the views ask for the same few names on every update.
    """
    if ("." in name or name.startswith("hook_")) and layer is None and layer_type is None:
        return name
    match = _COMPACT.match(name)
    if match is not None:
        name, layer_text, layer_type = match.groups()
        layer = int(layer_text)
    name = _ALIASES.get(name, name)
    if name not in _ATTN_HOOKS | _BLOCK_HOOKS | _NORM_HOOKS | _GLOBAL_HOOKS:
        known = sorted(_ATTN_HOOKS | _BLOCK_HOOKS | _NORM_HOOKS | _GLOBAL_HOOKS)
        raise KeyError(f"unknown activation {name!r}; known: {', '.join(known)}")
    if name in _GLOBAL_HOOKS:
        return f"hook_{name}"
    if layer is None:
        if name in _NORM_HOOKS:
            return f"ln_final.hook_{name}"
        raise ValueError(f"activation {name!r} needs a layer index")
    if name in _ATTN_HOOKS:
        layer_type = "attn"
    elif name in _NORM_HOOKS and not layer_type:
        layer_type = "ln1"  # the only normalisation in an attention-only block
    else:
        layer_type = _LAYER_TYPE_ALIASES.get(layer_type or "", layer_type)
    return f"blocks.{layer}.{layer_type + '.' if layer_type else ''}hook_{name}"


class ActivationCache(Mapping[str, np.ndarray]):
    """Hook name -> activation, batch dimension first.

    Indexable as in TransformerLens: by full hook name, by short name
    (``cache["k1"]``, ``cache["normalized"]`` for ``ln_final``) or by
    ``(name, layer[, layer_type])`` with negative layers counted from the end:
    ``cache["pattern", -1, "attn"]``, ``cache["scale", 0, "ln1"]``.

    An entry may be given as a zero-argument function (``lazy``), computed on
    first access and kept: per-head outputs (``hook_result``) cost as much as
    the rest of a short forward pass and most views never read them.
    """

    def __init__(
        self,
        data: dict[str, np.ndarray],
        lazy: Mapping[str, Callable[[], np.ndarray]] | None = None,
    ) -> None:
        self._data: dict[str, np.ndarray | _Lazy] = dict(data)
        for name, compute in (lazy or {}).items():
            self._data[name] = _Lazy(compute)

    def __getitem__(self, key: str | tuple[str | int | None, ...]) -> np.ndarray:
        key = self._full_name(key)
        value = self._data[key]
        if isinstance(value, _Lazy):
            value = self._data[key] = value.compute()
        return value

    def __contains__(self, key: object) -> bool:
        try:
            key = self._full_name(key)  # type: ignore[arg-type]
        except (KeyError, ValueError, TypeError):
            return False
        return key in self._data  # without computing a lazy entry

    def _full_name(self, key: str | tuple[str | int | None, ...]) -> str:
        """TransformerLens' indexing forms: a full name, a short one, or (name, layer[, layer_type])."""
        if isinstance(key, str):
            return key if key in self._data else act_name(key)
        name, *rest = key
        if rest and isinstance(rest[0], int) and rest[0] < 0:
            rest[0] += self.n_layers  # counted from the end, as in TransformerLens
        return act_name(name, *rest)  # type: ignore[arg-type]

    @property
    def n_layers(self) -> int:
        """Number of blocks whose activations are here."""
        layers = [int(k.split(".")[1]) for k in self._data if k.startswith("blocks.") and k.endswith(".hook_resid_pre")]
        return max(layers) + 1 if layers else 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"ActivationCache({len(self._data)} activations)"

    def replaced_lazily(self, name: str, compute: Callable[[], np.ndarray]) -> ActivationCache:
        """The same cache with entry ``name`` computed on first access by ``compute`` (the other entries shared)."""
        data = dict(self._data)
        data[name] = _Lazy(compute)
        return ActivationCache(data)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, np.ndarray]:
        """A plain dict of contiguous arrays, e.g. for ``np.savez``."""
        return {k: np.ascontiguousarray(self[k]) for k in self._data}


class _Lazy:
    """A cache entry not computed yet."""

    __slots__ = ("compute",)

    def __init__(self, compute: Callable[[], np.ndarray]) -> None:
        self.compute = compute
