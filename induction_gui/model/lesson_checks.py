"""Lesson checks: declarative tests of what the learner did, validated on load and evaluated on a document.

A check is a JSON object with a ``kind`` (see :data:`CHECK_KINDS`), never code:
a lesson file is data a learner may download, and it must not be able to run
anything. Each kind has a validator, which names the JSON path of a mistake,
and an evaluator in the analysis floor (:mod:`induction_gui.analysis.lesson_checks`),
which reads the scenario and the analysis's entries, so the checks are tested
without a window and show the numbers the views show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .document import DETECTORS
from .errors import LessonError
from .fields import (
    child,
    describe,
    expect_bool,
    expect_choice,
    expect_int,
    expect_list,
    expect_number,
    expect_object,
    expect_str,
)

MEASURES: tuple[str, ...] = ("mul", "abs")
ABLATIONS: tuple[str, ...] = ("zero", "mean", "any")


def lesson_object(value: object, path: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> dict:
    """An object with only known and all required fields, as LessonError."""
    return expect_object(value, path, required=required, optional=optional, error=LessonError)


def _int(value: object, path: str) -> int:
    return expect_int(value, path, lo=0, error=LessonError)


def _flag(check: dict, path: str, key: str) -> None:
    if key in check:
        expect_bool(check[key], child(path, key), error=LessonError)


# -- positions named in checks ---------------------------------------------------------------
_POSITION_PREFIXES = ("second_occurrence_of_", "after_first_", "first_occurrence_of_", "after_second_")


def _check_position(value: object, path: str) -> None:
    """An int (negative counts from the end), "last", or a named place such as "second_occurrence_of_A"."""
    if isinstance(value, int) and not isinstance(value, bool):
        return
    if isinstance(value, str):
        if value == "last":
            return
        for prefix in _POSITION_PREFIXES:
            if value.startswith(prefix) and len(value) > len(prefix):
                return
    raise LessonError(
        path,
        f"expected a position: an integer, \"last\", or {', '.join(p + '<token>' for p in _POSITION_PREFIXES)}; "
        f"got {describe(value)}",
    )


def resolve_position(spec: int | str, tokens: np.ndarray, vocab: list[str]) -> tuple[int | None, str]:
    """The position ``spec`` names in this sequence, or None and why it does not exist.

    Named positions follow the lecture's wording ("the second A", "the token
    after the first A") so a check stays right when the learner edits tokens.
    """
    n = int(tokens.size)
    if isinstance(spec, int):
        pos = spec + n if spec < 0 else spec
        return (pos, "") if 0 <= pos < n else (None, f"position {spec} is outside the sequence (length {n})")
    if spec == "last":
        return n - 1, ""
    for prefix in _POSITION_PREFIXES:
        if spec.startswith(prefix):
            name = spec[len(prefix):]
            break
    else:  # validated on load; a check built in code may still be wrong
        return None, f"unknown position {spec!r}"
    if name not in vocab:
        return None, f"the vocabulary has no token {name!r}"
    where = np.flatnonzero(tokens == vocab.index(name)).tolist()
    occurrence = 0 if prefix in ("first_occurrence_of_", "after_first_") else 1
    if len(where) <= occurrence:
        return None, f"the sequence has no {('first', 'second')[occurrence]} {name}"
    pos = where[occurrence] + (1 if prefix.startswith("after_") else 0)
    if pos >= n:
        return None, f"nothing follows the {('first', 'second')[occurrence]} {name}"
    return pos, ""


# -- checks ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckResult:
    """Whether a task is done, and a sentence for the learner either way."""

    met: bool
    detail: str


def _validate_head(check: dict, path: str) -> None:
    _int(check["layer"], child(path, "layer"))
    _int(check["head"], child(path, "head"))


def _validate_attention(check: dict, path: str) -> None:
    lesson_object(check, path, ("kind", "layer", "head", "query", "key"), ("min", "max"))
    _validate_head(check, path)
    _check_position(check["query"], child(path, "query"))
    _check_position(check["key"], child(path, "key"))
    _bounds(check, path)


def _bounds(check: dict, path: str) -> None:
    if "min" not in check and "max" not in check:
        raise LessonError(child(path, "min"), 'missing (give "min", "max" or both)')
    for key in ("min", "max"):
        if key in check:
            expect_number(check[key], child(path, key), error=LessonError)


def _validate_score(check: dict, path: str) -> None:
    lesson_object(check, path, ("kind", "detector", "layer", "head"), ("measure", "exclude_bos", "min", "max"))
    expect_choice(check["detector"], child(path, "detector"), DETECTORS, error=LessonError)
    expect_choice(check.get("measure", "mul"), child(path, "measure"), MEASURES, error=LessonError)
    _flag(check, path, "exclude_bos")
    _validate_head(check, path)
    _bounds(check, path)


def _validate_ablated(check: dict, path: str) -> None:
    lesson_object(check, path, ("kind", "layer", "head"), ("ablation",))
    _validate_head(check, path)
    expect_choice(check.get("ablation", "any"), child(path, "ablation"), ABLATIONS, error=LessonError)


def _validate_prediction_wrong(check: dict, path: str) -> None:
    lesson_object(check, path, ("kind", "at"), ("copied",))
    if check["at"] != "repeat":
        _check_position(check["at"], child(path, "at"))
    _flag(check, path, "copied")


def _validate_key_shift(check: dict, path: str) -> None:
    lesson_object(check, path, ("kind", "layer", "head", "equals"))
    _validate_head(check, path)
    _int(check["equals"], child(path, "equals"))


def _validate_follows(check: dict, path: str) -> None:
    """A state the Markov chain sends to one next state, and the model predicting that state after it.

    ``chain_min`` bounds the chain's entry (the learner's edit), ``min`` the
    model's probability (what the counts made of it); ``state`` and ``next``
    name the tokens, or leave the choice to the learner.
    """
    lesson_object(check, path, ("kind", "chain_min", "min"), ("state", "next"))
    for key in ("chain_min", "min"):
        expect_number(check[key], child(path, key), lo=0.0, hi=1.0, error=LessonError)
    for key in ("state", "next"):
        if key in check:
            expect_str(check[key], child(path, key), non_empty=True, error=LessonError)


def _validate_all(check: dict, path: str) -> None:
    lesson_object(check, path, ("kind", "of"))
    checks = expect_list(check["of"], child(path, "of"), what="a non-empty list of checks", non_empty=True,
                         error=LessonError)
    for i, sub in enumerate(checks):
        validate_check(sub, f"{path}.of[{i}]")


# kind -> validator of the object (the evaluators, which read numbers, are in the analysis floor:
# induction_gui.analysis.lesson_checks, with one evaluator for each of these kinds)
CHECK_KINDS: dict[str, Callable[[dict, str], None]] = {
    "attention": _validate_attention,
    "score": _validate_score,
    "ablated": _validate_ablated,
    "prediction_wrong": _validate_prediction_wrong,
    "key_shift": _validate_key_shift,
    "follows": _validate_follows,
    "all": _validate_all,
}


def validate_check(check: object, path: str = "check") -> dict[str, Any]:
    """Refuse an unknown kind or a missing/extra field, naming the JSON path."""
    if not isinstance(check, dict):
        raise LessonError(path, f"expected a check object, got {describe(check)}")
    if "kind" not in check:
        raise LessonError(child(path, "kind"), f"missing (known kinds: {', '.join(CHECK_KINDS)})")
    kind = check["kind"]
    if kind not in CHECK_KINDS:
        known = ", ".join(CHECK_KINDS)
        raise LessonError(child(path, "kind"), f"unknown kind {describe(kind)} (known kinds: {known})")
    CHECK_KINDS[kind](check, path)
    return check
