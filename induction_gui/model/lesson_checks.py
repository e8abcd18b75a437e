"""Lesson checks: declarative tests of what the learner did, validated on load and evaluated on a document.

A check is a JSON object with a ``kind`` (see :data:`CHECK_KINDS`), never code:
a lesson file is data a learner may download, and it must not be able to run
anything. Each kind has a validator, which names the JSON path of a mistake,
and an evaluator, which reads only the document's scenario, selection and
results, so the checks are tested without a window.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .document import DETECTORS, Document
from .errors import LessonError
from .fields import child, describe, expect_bool, expect_choice, expect_int, expect_list, expect_number, expect_object

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


def _validate_all(check: dict, path: str) -> None:
    lesson_object(check, path, ("kind", "of"))
    checks = expect_list(check["of"], child(path, "of"), what="a non-empty list of checks", non_empty=True,
                         error=LessonError)
    for i, sub in enumerate(checks):
        validate_check(sub, f"{path}.of[{i}]")


HeadEvaluator = Callable[[Mapping[str, Any], Document, int, int, str], CheckResult]


def _on_head(evaluate: HeadEvaluator) -> Callable[[Mapping[str, Any], Document], CheckResult]:
    """An evaluator of a check that names a head: a head this model lacks is "not yet", with the reason.

    ``evaluate(check, doc, layer, head, name)`` gets the head's indices and its name ("L1H0").
    """

    def evaluator(check: Mapping[str, Any], doc: Document) -> CheckResult:
        cfg = doc.scenario.weights.config
        layer, head = int(check["layer"]), int(check["head"])
        if not (0 <= layer < cfg.n_layers and 0 <= head < cfg.n_heads):
            return CheckResult(False, f"this model has no head L{layer}H{head}")
        return evaluate(check, doc, layer, head, f"L{layer}H{head}")

    evaluator.__doc__ = evaluate.__doc__
    return evaluator


def _in_bounds(value: float, check: Mapping[str, Any]) -> tuple[bool, str]:
    parts = []
    ok = bool(np.isfinite(value))
    if "min" in check:
        ok = ok and value >= check["min"]
        parts.append(f"≥ {check['min']:g}")
    if "max" in check:
        ok = ok and value <= check["max"]
        parts.append(f"≤ {check['max']:g}")
    return ok, " and ".join(parts)


@_on_head
def _eval_attention(check: Mapping[str, Any], doc: Document, layer: int, h: int, name: str) -> CheckResult:
    s = doc.scenario
    q, why = resolve_position(check["query"], s.tokens, s.vocab)
    if q is None:
        return CheckResult(False, why)
    k, why = resolve_position(check["key"], s.tokens, s.vocab)
    if k is None:
        return CheckResult(False, why)
    value = float(doc.results.pattern(layer, h)[q, k])
    ok, want = _in_bounds(value, check)
    return CheckResult(ok, f"{name} attends {value:.2f} from position {q} to position {k} (want {want})")


@_on_head
def _eval_score(check: Mapping[str, Any], doc: Document, layer: int, h: int, name: str) -> CheckResult:
    measure, exclude_bos = check.get("measure", "mul"), bool(check.get("exclude_bos", False))
    value = float(doc.results.score(check["detector"], measure, exclude_bos)[layer, h])
    ok, want = _in_bounds(value, check)
    label = check["detector"].replace("_", " ")
    return CheckResult(ok, f"{name} {label} score is {value:.2f} (want {want})")


@_on_head
def _eval_ablated(check: Mapping[str, Any], doc: Document, layer: int, h: int, name: str) -> CheckResult:
    ablation = doc.override((layer, h)).ablation
    want = check.get("ablation", "any")
    if ablation is None:
        return CheckResult(False, f"{name} is not ablated")
    if want != "any" and ablation != want:
        return CheckResult(False, f"{name} is {ablation}-ablated (want {want}-ablation)")
    return CheckResult(True, f"{name} is {ablation}-ablated")


@_on_head
def _eval_key_shift(check: Mapping[str, Any], doc: Document, layer: int, h: int, name: str) -> CheckResult:
    shift = doc.override((layer, h)).key_shift
    return CheckResult(shift == check["equals"], f"{name} key shift is {shift} (want {check['equals']})")


def _eval_prediction_wrong(check: Mapping[str, Any], doc: Document) -> CheckResult:
    """Top-1 prediction differs from the actual next token, at a repeated token (or a given position).

    With ``copied`` the wrong guess must be a token that followed an earlier
    occurrence of the current one: the induction head did its job and the
    sequence, not the circuit, made it wrong.
    """
    s, results = doc.scenario, doc.results
    tokens = s.tokens
    n = int(tokens.size)
    if check["at"] == "repeat":
        positions = [i for i in range(1, n - 1) if (tokens[:i] == tokens[i]).any()]
        if not positions:
            return CheckResult(False, "no token repeats before the last position")
    else:
        pos, why = resolve_position(check["at"], tokens, s.vocab)
        if pos is None:
            return CheckResult(False, why)
        if pos >= n - 1:
            return CheckResult(False, f"position {pos} is the last one: there is no next token to get wrong")
        positions = [pos]
    guesses = results.logits.argmax(-1)
    copied = bool(check.get("copied", False))
    for i in positions:
        guess = int(guesses[i])
        if guess == int(tokens[i + 1]):
            continue
        followers = {int(tokens[j + 1]) for j in np.flatnonzero(tokens[:i] == tokens[i])}
        if copied and guess not in followers:
            continue
        return CheckResult(
            True,
            f"at position {i} ({s.vocab[tokens[i]]}) the model predicts {s.vocab[guess]}, "
            f"but {s.vocab[tokens[i + 1]]} comes next",
        )
    what = "copied a wrong token" if copied else "predicts wrongly"
    return CheckResult(False, f"the model never {what} at the {len(positions)} position(s) checked")


def _eval_all(check: Mapping[str, Any], doc: Document) -> CheckResult:
    results = [evaluate(sub, doc) for sub in check["of"]]
    for r in results:
        if not r.met:
            return CheckResult(False, r.detail)
    return CheckResult(True, "; ".join(r.detail for r in results))


# kind -> (validator of the object, evaluator on a document)
CHECK_KINDS: dict[str, tuple[Callable[[dict, str], None], Callable[[Mapping[str, Any], Document], CheckResult]]] = {
    "attention": (_validate_attention, _eval_attention),
    "score": (_validate_score, _eval_score),
    "ablated": (_validate_ablated, _eval_ablated),
    "prediction_wrong": (_validate_prediction_wrong, _eval_prediction_wrong),
    "key_shift": (_validate_key_shift, _eval_key_shift),
    "all": (_validate_all, _eval_all),
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
    CHECK_KINDS[kind][0](check, path)
    return check


def evaluate(check: Mapping[str, Any], document: Document) -> CheckResult:
    """Whether ``document`` (its scenario and results) satisfies ``check`` now.

    Never raises for a valid check: a missing token or head is "not yet" with a reason.
    """
    return CHECK_KINDS[check["kind"]][1](check, document)


