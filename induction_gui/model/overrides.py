"""Per-head overrides in a scenario file: ``"overrides": {"L0H1": {"key_shift": 1}}``.

Heads are named as the literature names them (L0H1 = layer 0, head 1). Only the
fields that differ from plain softmax attention are written, so a file reads
as the list of experiments the lesson performs.

The window names a head's experiments through this module too: a
:class:`HeadOverride` per :data:`HeadKey`, the schema :data:`PARAMS` its
controls are built from, and :func:`shift_matrix` for a shifted fixed pattern.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from ..engine.attention import HeadOverride as HeadOverride  # the window's per-head experiment, named here
from ..engine.attention import shift_matrix as shift_matrix  # the fixed pattern of a key shift
from ..engine.override_schema import OVERRIDE_FIELDS, OVERRIDE_PARAMS
from ..engine.override_schema import PARAMS as PARAMS  # each experiment's type, range and meaning, by name
from .errors import ScenarioError
from .fields import (
    child,
    describe,
    entry,
    expect_choice,
    expect_int,
    expect_keyed_object,
    expect_number,
    expect_object,
    read_array,
    shape_str,
)

HeadKey = tuple[int, int]  # (layer, head_index)
_HEAD_NAME = re.compile(r"L(0|[1-9][0-9]{0,5})H(0|[1-9][0-9]{0,5})")


def head_name(key: HeadKey) -> str:
    """``(0, 1)`` -> ``"L0H1"``."""
    return f"L{key[0]}H{key[1]}"


def parse_head_name(name: str, path: str) -> HeadKey:
    """``"L0H1"`` -> ``(0, 1)``; leading zeros are refused so that one head has one name."""
    match = _HEAD_NAME.fullmatch(name)
    if match is None:
        raise ScenarioError(path, 'expected a head name such as "L0H1" (layer 0, head 1)')
    return int(match.group(1)), int(match.group(2))


def parse_override(value: object, path: str) -> HeadOverride:
    """One head's override object; absent fields keep their defaults (types and ranges: OVERRIDE_PARAMS)."""
    obj = expect_object(value, path, optional=OVERRIDE_FIELDS)
    kwargs: dict[str, object] = {}
    for param in OVERRIDE_PARAMS:
        if param.name not in obj or (obj[param.name] is None and param.default is None):
            continue  # null is the default of the fields whose default is null
        v, p = obj[param.name], child(path, param.name)
        if param.kind == "choice":
            kwargs[param.name] = expect_choice(v, p, [c for c in param.values if c is not None])
        elif param.kind == "int":
            kwargs[param.name] = expect_int(v, p, lo=None if param.lo is None else int(param.lo))
        elif param.kind == "number":
            kwargs[param.name] = expect_number(v, p, lo=param.lo)
        else:
            kwargs[param.name] = _parse_pattern(v, p)
    try:
        return HeadOverride(**kwargs)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise ScenarioError(path, str(exc)) from None


def _parse_pattern(value: object, path: str) -> np.ndarray:
    pattern = read_array(value, path, dtype=np.float64, ndim=2)
    if pattern.shape[0] != pattern.shape[1] or not pattern.size:
        raise ScenarioError(path, f"expected a square [n, n] nested list, got shape {shape_str(pattern.shape)}")
    return pattern


def parse_overrides(value: object, path: str) -> dict[HeadKey, HeadOverride]:
    """The ``overrides`` object, keyed by (layer, head)."""
    obj = expect_keyed_object(value, path, what='an object mapping head names such as "L0H1" to overrides')
    out: dict[HeadKey, HeadOverride] = {}
    for name, body in obj.items():
        p = entry(path, name)
        out[parse_head_name(name, p)] = parse_override(body, p)
    return out


def override_to_json(override: HeadOverride) -> dict[str, object]:
    """Only the fields that differ from the default, as JSON values."""
    out: dict[str, object] = {}
    for param in OVERRIDE_PARAMS:
        v = getattr(override, param.name)
        if param.kind == "matrix":
            if v is not None:
                out[param.name] = np.asarray(v, dtype=np.float64).tolist()
        elif v != param.default:
            out[param.name] = int(v) if param.kind == "int" else float(v) if param.kind == "number" else v
    return out


def overrides_to_json(overrides: Mapping[HeadKey, HeadOverride]) -> dict[str, object]:
    """The ``overrides`` object, heads in (layer, head) order."""
    return {head_name(key): override_to_json(overrides[key]) for key in sorted(overrides)}


def check_overrides(
    overrides: object, path: str, *, n_layers: int, n_heads: int, n_pos: int, n_ctx: int
) -> None:
    """Heads exist, and each override can run on this sequence and model."""
    if not isinstance(overrides, Mapping):
        raise ScenarioError(path, f"expected a mapping (layer, head) -> HeadOverride, got {describe(overrides)}")
    for key, override in overrides.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ScenarioError(path, f"expected (layer, head) keys, got {key!r}")
        layer, head = (expect_int(k, path, lo=0) for k in key)
        p = entry(path, head_name((layer, head)))
        if layer >= n_layers or head >= n_heads:
            raise ScenarioError(p, f"no such head in a model of {n_layers} layer(s) × {n_heads} head(s)")
        if not isinstance(override, HeadOverride):
            raise ScenarioError(p, f"expected a HeadOverride, got {type(override).__name__}")
        expect_int(override.key_shift, child(p, "key_shift"), lo=0)
        if override.key_shift >= n_ctx:
            raise ScenarioError(
                child(p, "key_shift"), f"expected less than model.config.n_ctx = {n_ctx}, got {override.key_shift}"
            )
        pattern = override.fixed_pattern
        if pattern is not None:
            n = pattern.shape[0]
            if n < n_pos:
                detail = f"is {n}×{n} but the sequence has {n_pos} tokens (expected at least {n_pos}×{n_pos})"
                raise ScenarioError(child(p, "fixed_pattern"), detail)
            if n > n_ctx:
                raise ScenarioError(
                    child(p, "fixed_pattern"), f"is {n}×{n}, larger than model.config.n_ctx = {n_ctx}"
                )
