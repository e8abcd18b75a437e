"""Guided lessons: a list of steps, each opening a scenario and asking for one experiment.

A lesson is a JSON file in ``resources/lessons/`` (format described in that
folder's README). Teachers write them by hand, so everything is validated on
load and each complaint names the JSON path to fix (``steps[3].task.check.kind:
unknown kind "atention"``). Checks are declarative objects, never code: a lesson
file is data a learner may download, and it must not be able to run anything.

This module is Qt-free: :func:`evaluate` reads only the document's scenario,
selection and results, so the checks are tested without a window.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..resources import ResourceError, preset_names, resource_root
from .document import DETECTORS, Document
from .errors import ScenarioError
from .fields import child, describe, expect_object
from .jsonfile import parse_json_text, read_bytes
from .scenario import Scenario, load_scenario

FORMAT = "induction-gui.lesson"
CURRENT_VERSION = 1
LESSONS = "lessons"  # sub-folder of resources/
VIEWS: tuple[str, ...] = ("attention", "copying", "predictions", "circuits", "metrics", "attribution", "training")
# pages of the Circuits view, in its order: a step on "circuits" may open the one its text is about
CIRCUITS: tuple[str, ...] = ("qk", "positional", "ov", "k-composition", "eigenvalues")
MEASURES: tuple[str, ...] = ("mul", "abs")
ABLATIONS: tuple[str, ...] = ("zero", "mean", "any")
_TOP_REQUIRED = ("format", "version", "title", "steps")
_TOP_OPTIONAL = ("description",)
_STEP_REQUIRED = ("title", "text")
_STEP_OPTIONAL = ("scenario", "view", "circuit", "focus", "task", "run")
_FOCUS_FIELDS = ("layer", "head", "query_pos")
_TASK_REQUIRED = ("prompt", "check")
_TASK_OPTIONAL = ("hints",)


class LessonError(ValueError):
    """A lesson file is invalid; the message names the file, the JSON path and what was expected."""

    def __init__(self, path: str, detail: str, *, file: str | None = None) -> None:
        self.path = path
        self.detail = detail
        self.file = file
        super().__init__(": ".join(p for p in (file, path, detail) if p))


# -- the format ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """What the learner should achieve in a step, and how the app sees that it is done."""

    prompt: str
    check: dict[str, Any]  # a validated check object (see CHECK_KINDS)
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """One page of a lesson: explanation, which scenario and view, and an optional task."""

    title: str
    text: str
    scenario: str | None = None  # preset name or path relative to the lesson file; None keeps the current one
    view: str | None = None  # one of VIEWS
    focus: dict[str, int] = field(default_factory=dict)  # layer / head / query_pos
    task: Task | None = None
    run: str | None = None  # training-run folder relative to the lesson file, opened in the Training dock
    circuit: str | None = None  # one of CIRCUITS: the Circuits page shown (only with view "circuits")


@dataclass(frozen=True)
class Lesson:
    """A validated lesson file."""

    name: str  # file stem: the key progress is remembered under
    title: str
    steps: tuple[Step, ...]
    folder: Path | None = None  # where relative scenario and run paths are resolved
    description: str = ""

    def scenario_path(self, step: Step) -> str | Path | None:
        """What :func:`load_scenario` should read for ``step`` (None: keep the current scenario)."""
        if step.scenario is None:
            return None
        return _resolve_scenario(step.scenario, self.folder)

    def load_step_scenario(self, step: Step) -> Scenario | None:
        """A fresh copy of the step's scenario (None: keep the current one)."""
        where = self.scenario_path(step)
        return None if where is None else load_scenario(where)

    def run_path(self, step: Step) -> Path | None:
        """The training-run folder of ``step``, if it names one."""
        if step.run is None or self.folder is None:
            return None
        return (self.folder / step.run).resolve()


# -- validation helpers -----------------------------------------------------------------------
def _obj(value: object, path: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> dict:
    """An object with only known and all required fields (the scenario file's check, as LessonError)."""
    return expect_object(value, path, required=required, optional=optional, error=LessonError)


def _str(value: object, path: str, *, non_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise LessonError(path, f"expected text, got {describe(value)}")
    if non_empty and not value.strip():
        raise LessonError(path, "is empty")
    return value


def _int(value: object, path: str, lo: int | None = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LessonError(path, f"expected an integer, got {describe(value)}")
    if lo is not None and value < lo:
        raise LessonError(path, f"expected an integer ≥ {lo}, got {value}")
    return value


def _number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise LessonError(path, f"expected a number, got {describe(value)}")
    return float(value)


def _choice(value: object, path: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise LessonError(path, f"expected one of {', '.join(choices)}; got {describe(value)}")
    return value  # type: ignore[return-value]


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
    _obj(check, path, ("kind", "layer", "head", "query", "key"), ("min", "max"))
    _validate_head(check, path)
    _check_position(check["query"], child(path, "query"))
    _check_position(check["key"], child(path, "key"))
    _bounds(check, path)


def _bounds(check: dict, path: str) -> None:
    if "min" not in check and "max" not in check:
        raise LessonError(child(path, "min"), 'missing (give "min", "max" or both)')
    for key in ("min", "max"):
        if key in check:
            _number(check[key], child(path, key))


def _validate_score(check: dict, path: str) -> None:
    _obj(check, path, ("kind", "detector", "layer", "head"), ("measure", "exclude_bos", "min", "max"))
    _choice(check["detector"], child(path, "detector"), DETECTORS)
    _choice(check.get("measure", "mul"), child(path, "measure"), MEASURES)
    if not isinstance(check.get("exclude_bos", False), bool):
        raise LessonError(child(path, "exclude_bos"), f"expected true or false, got {describe(check['exclude_bos'])}")
    _validate_head(check, path)
    _bounds(check, path)


def _validate_ablated(check: dict, path: str) -> None:
    _obj(check, path, ("kind", "layer", "head"), ("ablation",))
    _validate_head(check, path)
    _choice(check.get("ablation", "any"), child(path, "ablation"), ABLATIONS)


def _validate_prediction_wrong(check: dict, path: str) -> None:
    _obj(check, path, ("kind", "at"), ("copied",))
    if check["at"] != "repeat":
        _check_position(check["at"], child(path, "at"))
    if not isinstance(check.get("copied", False), bool):
        raise LessonError(child(path, "copied"), f"expected true or false, got {describe(check['copied'])}")


def _validate_key_shift(check: dict, path: str) -> None:
    _obj(check, path, ("kind", "layer", "head", "equals"))
    _validate_head(check, path)
    _int(check["equals"], child(path, "equals"))


def _validate_all(check: dict, path: str) -> None:
    _obj(check, path, ("kind", "of"))
    if not isinstance(check["of"], list) or not check["of"]:
        raise LessonError(child(path, "of"), f"expected a non-empty list of checks, got {describe(check['of'])}")
    for i, sub in enumerate(check["of"]):
        validate_check(sub, f"{path}.of[{i}]")


def _resolve_head(check: Mapping[str, Any], doc: Document) -> tuple[int, int, str] | str:
    cfg = doc.scenario.weights.config
    layer, head = int(check["layer"]), int(check["head"])
    if not (0 <= layer < cfg.n_layers and 0 <= head < cfg.n_heads):
        return f"this model has no head L{layer}H{head}"
    return layer, head, f"L{layer}H{head}"


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


def _eval_attention(check: Mapping[str, Any], doc: Document) -> CheckResult:
    head = _resolve_head(check, doc)
    if isinstance(head, str):
        return CheckResult(False, head)
    layer, h, name = head
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


def _eval_score(check: Mapping[str, Any], doc: Document) -> CheckResult:
    head = _resolve_head(check, doc)
    if isinstance(head, str):
        return CheckResult(False, head)
    layer, h, name = head
    measure, exclude_bos = check.get("measure", "mul"), bool(check.get("exclude_bos", False))
    value = float(doc.results.score(check["detector"], measure, exclude_bos)[layer, h])
    ok, want = _in_bounds(value, check)
    label = check["detector"].replace("_", " ")
    return CheckResult(ok, f"{name} {label} score is {value:.2f} (want {want})")


def _eval_ablated(check: Mapping[str, Any], doc: Document) -> CheckResult:
    head = _resolve_head(check, doc)
    if isinstance(head, str):
        return CheckResult(False, head)
    layer, h, name = head
    ablation = doc.override((layer, h)).ablation
    want = check.get("ablation", "any")
    if ablation is None:
        return CheckResult(False, f"{name} is not ablated")
    if want != "any" and ablation != want:
        return CheckResult(False, f"{name} is {ablation}-ablated (want {want}-ablation)")
    return CheckResult(True, f"{name} is {ablation}-ablated")


def _eval_key_shift(check: Mapping[str, Any], doc: Document) -> CheckResult:
    head = _resolve_head(check, doc)
    if isinstance(head, str):
        return CheckResult(False, head)
    layer, h, name = head
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


# -- loading -----------------------------------------------------------------------------------
def _resolve_scenario(value: str, folder: Path | None) -> str | Path:
    """A preset name, or a path relative to the lesson's folder."""
    if value in preset_names():
        return value
    if folder is not None:
        candidate = folder / value
        if candidate.is_file():
            return candidate
    raise LookupError(value)


def _parse_step(value: object, path: str, folder: Path | None) -> Step:
    obj = _obj(value, path, _STEP_REQUIRED, _STEP_OPTIONAL)
    title = _str(obj["title"], child(path, "title"))
    text = _str(obj["text"], child(path, "text"))
    scenario = None
    if "scenario" in obj:
        scenario = _str(obj["scenario"], child(path, "scenario"))
        try:
            _resolve_scenario(scenario, folder)
        except LookupError:
            raise LessonError(
                child(path, "scenario"),
                f"unknown scenario {describe(scenario)}: neither a preset ({', '.join(preset_names())}) "
                "nor a file next to the lesson",
            ) from None
    view = _choice(obj["view"], child(path, "view"), VIEWS) if "view" in obj else None
    circuit = None
    if "circuit" in obj:
        circuit = _choice(obj["circuit"], child(path, "circuit"), CIRCUITS)
        if view != "circuits":
            raise LessonError(child(path, "circuit"), 'a circuit page needs "view": "circuits" in the same step')
    focus: dict[str, int] = {}
    if "focus" in obj:
        f = _obj(obj["focus"], child(path, "focus"), (), _FOCUS_FIELDS)
        focus = {k: _int(v, child(child(path, "focus"), k)) for k, v in f.items()}
    task = None
    if "task" in obj:
        tpath = child(path, "task")
        t = _obj(obj["task"], tpath, _TASK_REQUIRED, _TASK_OPTIONAL)
        hints = t.get("hints", [])
        if not isinstance(hints, list):
            raise LessonError(child(tpath, "hints"), f"expected a list of texts, got {describe(hints)}")
        task = Task(
            prompt=_str(t["prompt"], child(tpath, "prompt")),
            check=validate_check(t["check"], child(tpath, "check")),
            hints=tuple(_str(h, f"{tpath}.hints[{i}]") for i, h in enumerate(hints)),
        )
    run = None
    if "run" in obj:
        run = _str(obj["run"], child(path, "run"))
        if folder is not None and not (folder / run).is_dir():
            raise LessonError(child(path, "run"), f"no training-run folder {describe(run)} next to the lesson")
    return Step(title, text, scenario, view, focus, task, run, circuit)


def lesson_from_json(doc: object, *, name: str = "lesson", folder: Path | None = None) -> Lesson:
    """A validated :class:`Lesson` from a parsed JSON document."""
    obj = _obj(doc, "", _TOP_REQUIRED, _TOP_OPTIONAL)
    if obj["format"] != FORMAT:
        raise LessonError("format", f'expected "{FORMAT}", got {describe(obj["format"])}')
    version = _int(obj["version"], "version", lo=1)
    if version > CURRENT_VERSION:
        raise LessonError("version", f"written by a newer version ({version}); this app reads up to {CURRENT_VERSION}")
    steps = obj["steps"]
    if not isinstance(steps, list) or not steps:
        raise LessonError("steps", f"expected a non-empty list of steps, got {describe(steps)}")
    return Lesson(
        name=name,
        title=_str(obj["title"], "title"),
        steps=tuple(_parse_step(s, f"steps[{i}]", folder) for i, s in enumerate(steps)),
        folder=folder,
        description=_str(obj.get("description", ""), "description", non_empty=False),
    )


MAX_LESSON_BYTES = 4 * 1024 * 1024  # a course of texts and checks; the built-in one is ~20 kB


def load_lesson(path: str | os.PathLike[str]) -> Lesson:
    """Read and validate a lesson file.

    Raises
    ------
    LessonError
        prefixed with the file name, naming the JSON path of the problem.
    """
    path = Path(path)
    # the scenario file's guarded reader and parser: a size limit checked before reading, a nesting
    # pre-scan, NaN/Infinity and duplicate keys refused; a lesson is text, so far smaller than a scenario
    try:
        doc = parse_json_text(read_bytes(path, max_bytes=MAX_LESSON_BYTES, what="lesson file").decode("utf-8"))
    except ScenarioError as exc:
        raise LessonError(exc.path, exc.detail, file=path.name) from None
    except UnicodeDecodeError as exc:
        raise LessonError("", f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=path.name) from None
    try:
        return lesson_from_json(doc, name=path.stem, folder=path.resolve().parent)
    except LessonError as exc:
        raise LessonError(exc.path, exc.detail, file=path.name) from None


def lessons_folder() -> Path:
    """``resources/lessons`` of this installation (may not exist in a broken installation)."""
    try:
        return resource_root() / LESSONS
    except ResourceError:
        return Path(LESSONS)


def lesson_files(folder: Path | None = None) -> list[Path]:
    """Every ``*.json`` lesson in ``folder`` (default: the bundled ones), the course first."""
    folder = folder or lessons_folder()
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.glob("*.json") if p.is_file())
    return sorted(files, key=lambda p: p.stem != "course")
