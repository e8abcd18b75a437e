"""Activation names and the activation cache, as TransformerLens spells them.

Every hook name in the project is built here, so that a typo cannot make a view
read a key the engine never writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache

import numpy as np

# Short names accepted by act_name, mapped to where the hook lives in a block.
_ATTN_HOOKS = {"q", "k", "v", "attn_scores", "pattern", "z", "result"}
_BLOCK_HOOKS = {"resid_pre", "attn_out", "resid_post"}
_ALIASES = {"attn": "pattern", "scores": "attn_scores"}


@lru_cache(maxsize=1024)
def act_name(name: str, layer: int | None = None) -> str:
    """Full hook name from a short one: ``act_name("pattern", 0)`` -> ``blocks.0.attn.hook_pattern``.

    Mirrors TransformerLens' ``utils.get_act_name`` for the hooks an
    attention-only model has. Cached: the forward pass and the views ask for
    the same few names on every update.
    """
    name = _ALIASES.get(name, name)
    if name in ("embed", "pos_embed"):
        return f"hook_{name}"
    if layer is None:
        raise ValueError(f"activation {name!r} needs a layer index")
    if name in _ATTN_HOOKS:
        return f"blocks.{layer}.attn.hook_{name}"
    if name in _BLOCK_HOOKS:
        return f"blocks.{layer}.hook_{name}"
    known = sorted(_ATTN_HOOKS | _BLOCK_HOOKS | {"embed", "pos_embed"})
    raise KeyError(f"unknown activation {name!r}; known: {', '.join(known)}")


class ActivationCache(Mapping[str, np.ndarray]):
    """Hook name -> activation, batch dimension first.

    Indexable by full hook name or, as in TransformerLens, by ``(name, layer)``:
    ``cache["pattern", 1]`` is ``cache["blocks.1.attn.hook_pattern"]``.

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

    def __getitem__(self, key: str | tuple[str, int]) -> np.ndarray:
        if isinstance(key, tuple):
            key = act_name(*key)
        value = self._data[key]
        if isinstance(value, _Lazy):
            value = self._data[key] = value.compute()
        return value

    def __contains__(self, key: object) -> bool:
        if isinstance(key, tuple):
            try:
                key = act_name(*key)
            except (KeyError, ValueError, TypeError):
                return False
        return key in self._data  # without computing a lazy entry

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"ActivationCache({len(self._data)} activations)"

    def to_dict(self) -> dict[str, np.ndarray]:
        """A plain dict of contiguous arrays, e.g. for ``np.savez``."""
        return {k: np.ascontiguousarray(self[k]) for k in self._data}


class _Lazy:
    """A cache entry not computed yet."""

    __slots__ = ("compute",)

    def __init__(self, compute: Callable[[], np.ndarray]) -> None:
        self.compute = compute
