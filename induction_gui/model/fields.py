"""Typed reading of parsed JSON values, each complaint naming its JSON path.

Python's ``json`` module gives untyped dicts and lists; a scenario needs ints
that are not booleans, finite floats, rectangular arrays. These helpers check
one value each and raise :class:`ScenarioError` with the path where it sits,
so the schema code reads as a list of fields rather than a thicket of ``if``\\ s.
Every file kind uses these same checks: lessons and training runs plug in
their own exception with ``error=`` (any ``(path, detail) -> Exception``), so
one value is described the same way whichever file it sits in.

Paths are spelled the way a reader finds the value in the file:
``model.weights["blocks.0.attn.W_Q"][1][3]``, ``overrides["L0H1"].key_shift``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Sequence

import numpy as np

from .errors import ScenarioError

ErrorFactory = Callable[[str, str], Exception]  # (JSON path, detail) -> the file kind's exception

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class BadNumber:
    """A JSON number that has no finite value (``NaN``, ``Infinity``, ``1e999``).

    The parser substitutes this for such literals instead of failing at once,
    because only the schema walk knows the path to report.
    """

    __slots__ = ("literal", "reason")

    def __init__(self, literal: str, reason: str) -> None:
        self.literal = literal
        self.reason = reason

    def __repr__(self) -> str:
        return f"BadNumber({self.literal!r})"


class DuplicateKeyDict(dict):  # type: ignore[type-arg]
    """A JSON object that repeated a key; ``json`` would silently keep the last value."""

    duplicate: str = ""


# -- paths ----------------------------------------------------------------------
def child(path: str, key: str) -> str:
    """Path of ``key`` inside the object at ``path``."""
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def entry(path: str, key: str) -> str:
    """Path of a data key (a weight or head name) inside ``path``: always ``path["key"]``."""
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def item(path: str, index: int) -> str:
    """Path of element ``index`` of the list at ``path``."""
    return f"{path}[{index}]"


def shape_str(shape: Sequence[int]) -> str:
    """``[2, 8, 4]``: shapes are written as JSON lists, the way the file nests them."""
    return "[" + ", ".join(str(n) for n in shape) + "]"


def describe(value: object) -> str:
    """A short JSON-flavoured description of ``value`` for error messages."""
    if isinstance(value, BadNumber):
        return f"{value.literal} ({value.reason})"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a boolean)"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return json.dumps(text, ensure_ascii=False)
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' * (len(value) != 1)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _number_problem(value: object) -> str | None:
    if isinstance(value, BadNumber):
        if value.reason == "NaN":
            return "NaN is not allowed (JSON numbers must be finite)"
        return f"{value.literal} is not allowed ({value.reason}; numbers must be finite)"
    return None


# -- scalars ----------------------------------------------------------------------
def expect_object(
    value: object,
    path: str,
    *,
    required: Collection[str] = (),
    optional: Collection[str] = (),
    what: str = "an object",
    error: ErrorFactory = ScenarioError,
) -> dict[str, object]:
    """``value`` as a dict with only the known keys and all the required ones.

    ``error(path, detail)`` builds the exception, so other JSON formats (lessons)
    share these checks and their wording.
    """
    if not isinstance(value, dict):
        where = "" if path else " at the top level"
        raise error(path, f"expected {what}{where}, got {describe(value)}")
    if isinstance(value, DuplicateKeyDict):
        raise error(child(path, value.duplicate), "this key appears twice in the same object")
    known = [*required, *optional]
    for key in value:
        if key not in known:
            raise error(child(path, key), f"unknown field (known fields: {', '.join(known)})")
    for key in required:
        if key not in value:
            raise error(child(path, key), "missing (this field is required)")
    return value


def expect_keyed_object(
    value: object, path: str, *, what: str, error: ErrorFactory = ScenarioError
) -> dict[str, object]:
    """``value`` as a dict whose keys are data (weight names, head names), not fields."""
    if not isinstance(value, dict):
        raise error(path, f"expected {what}, got {describe(value)}")
    if isinstance(value, DuplicateKeyDict):
        raise error(entry(path, value.duplicate), "this key appears twice in the same object")
    return value


def expect_str(
    value: object,
    path: str,
    *,
    one_line: bool = False,
    non_empty: bool = False,
    not_blank: bool = False,
    what: str = "a string",
    error: ErrorFactory = ScenarioError,
) -> str:
    """``value`` as a string that can be written back as UTF-8.

    ``non_empty`` refuses ``""``; ``not_blank`` also refuses white space only
    (a title of spaces), which ``non_empty`` allows (a space can be a token).
    """
    if not isinstance(value, str):
        raise error(path, f"expected {what}, got {describe(value)}")
    if non_empty and not value:
        raise error(path, "expected a non-empty string")
    if not_blank and not value.strip():
        raise error(path, "is empty")
    if one_line and ("\n" in value or "\r" in value):
        raise error(path, "expected a single line, got a line break")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        # "\ud800" is legal JSON but no UTF-8 file can hold it
        bad = value[exc.start]
        detail = f"contains an unpaired surrogate U+{ord(bad):04X}, which UTF-8 cannot store"
        raise error(path, detail) from None
    return value


def expect_choice(value: object, path: str, choices: Sequence[str], *, error: ErrorFactory = ScenarioError) -> str:
    """``value`` as one of the strings in ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise error(path, f"expected one of {', '.join(choices)}; got {describe(value)}")
    return value


def expect_bool(value: object, path: str, *, error: ErrorFactory = ScenarioError) -> bool:
    """``value`` as true or false (never 0 or 1)."""
    if not isinstance(value, bool):
        raise error(path, f"expected true or false, got {describe(value)}")
    return value


def expect_int(
    value: object,
    path: str,
    *,
    lo: int | None = None,
    hi: int | None = None,
    what: str = "an integer",
    error: ErrorFactory = ScenarioError,
) -> int:
    """``value`` as an int in ``[lo, hi]``; booleans and floats such as 3.0 are refused."""
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        problem = _number_problem(value)
        raise error(path, problem or f"expected {what}, got {describe(value)}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if hi is None:
            bounds = f"≥ {lo}"
        elif lo is None:
            bounds = f"≤ {hi}"
        else:
            bounds = f"from {lo} to {hi}"
        raise error(path, f"expected {what} {bounds}, got {value}")
    return value


def expect_number(
    value: object,
    path: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    positive: bool = False,
    error: ErrorFactory = ScenarioError,
) -> float:
    """``value`` as a finite float (ints accepted, booleans refused), optionally in ``[lo, hi]``."""
    if isinstance(value, np.integer | np.floating):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        problem = _number_problem(value)
        raise error(path, problem or f"expected a finite number, got {describe(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise error(path, f"expected a finite number, got an integer of {len(str(value))} digits") from None
    if not math.isfinite(number):
        raise error(path, f"expected a finite number, got {number}")
    if positive and number <= 0:
        raise error(path, f"expected a number > 0, got {value}")
    if lo is not None and number < lo:
        raise error(path, f"expected a number ≥ {lo}, got {value}")
    if hi is not None and number > hi:
        raise error(path, f"expected a number ≤ {hi}, got {value}")
    return number


def expect_list(
    value: object, path: str, *, what: str = "a list", non_empty: bool = False, error: ErrorFactory = ScenarioError
) -> list[object]:
    """``value`` as a list (with at least one item if ``non_empty``)."""
    if not isinstance(value, list) or (non_empty and not value):
        raise error(path, f"expected {what}, got {describe(value)}")
    return value


# -- arrays --------------------------------------------------------------------------
def probe_shape(value: object) -> list[int]:
    """Shape implied by following the first element down; the walk checks the rest."""
    shape: list[int] = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


_NUMBER_TYPES = frozenset({int, float})


def _check_rectangular(value: object, shape: Sequence[int], path: str) -> None:
    """Every sub-list has the probed length and every leaf is a plain number."""
    if not isinstance(value, list) or len(value) != shape[0]:
        expected = f"a list of {shape[0]} {'numbers' if len(shape) == 1 else 'lists'}"
        raise ScenarioError(path, f"ragged nested list: expected {expected} like the first one, got {describe(value)}")
    if len(shape) > 1:
        for i, sub in enumerate(value):
            _check_rectangular(sub, shape[1:], item(path, i))
        return
    if set(map(type, value)) <= _NUMBER_TYPES:  # fast path: one C-level pass per row
        return
    for i, x in enumerate(value):
        if type(x) not in _NUMBER_TYPES:
            problem = _number_problem(x)
            raise ScenarioError(item(path, i), problem or f"expected a number, got {describe(x)}")


def read_array(
    value: object,
    path: str,
    *,
    dtype: np.dtype | type,
    shape: Sequence[int] | None = None,
    ndim: int | None = None,
    explain: str = "",
) -> np.ndarray:
    """A rectangular nested list of finite numbers as an array of ``dtype``.

    Parameters
    ----------
    value
        the parsed JSON value.
    path
        its JSON path, for messages.
    dtype
        float dtype of the result; values outside its range are refused rather
        than turned into inf.
    shape, ndim
        the exact shape, or only the number of dimensions, expected.
    explain
        appended to a shape mismatch, e.g. which config fields set the shape.
    """
    got = probe_shape(value)
    if not isinstance(value, list):
        raise ScenarioError(path, f"expected a nested list of numbers, got {describe(value)}")
    if shape is not None and tuple(got) != tuple(shape):
        raise ScenarioError(path, f"expected shape {shape_str(shape)}{explain}, got {shape_str(got)}")
    if ndim is not None and len(got) != ndim:
        raise ScenarioError(path, f"expected a {ndim}-dimensional nested list, got shape {shape_str(got)}")
    if 0 not in got:
        _check_rectangular(value, got, path)
    try:
        wide = np.array(value, dtype=np.float64)
    except OverflowError:
        wide = None
    if wide is None or not np.isfinite(wide).all():
        _raise_first_out_of_range(value, path)
    assert wide is not None
    with np.errstate(over="ignore"):  # overflow is reported below, with its path
        out = wide.astype(dtype, copy=False)
    if not np.isfinite(out).all():
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
        bad_path = path + "".join(f"[{i}]" for i in index)
        raise ScenarioError(bad_path, f"{float(wide[index])!r} is outside the {np.dtype(dtype).name} range")
    return out.reshape(got)


def _raise_first_out_of_range(value: object, path: str) -> None:
    """Find the integer literal too large for a float and name it."""
    stack: list[tuple[object, str]] = [(value, path)]
    while stack:
        v, p = stack.pop()
        if isinstance(v, list):
            stack.extend((x, item(p, i)) for i, x in reversed(list(enumerate(v))))
            continue
        try:
            if math.isfinite(float(v)):  # type: ignore[arg-type]
                continue
        except OverflowError:
            pass
        raise ScenarioError(p, f"a number of {len(str(v))} digits is outside the float64 range")
    raise ScenarioError(path, "contains a number outside the float64 range")
