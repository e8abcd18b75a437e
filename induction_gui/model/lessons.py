"""Guided lessons: a list of steps, each opening a scenario and asking for one experiment.

A lesson is a JSON file in ``resources/lessons/`` (format described in that
folder's README). Teachers write them by hand, so everything is validated on
load and each complaint names the JSON path to fix (``steps[3].task.check.kind:
unknown kind "atention"``). Checks are declarative objects, never code: a lesson
file is data a learner may download, and it must not be able to run anything.

This module reads the file; :mod:`.lesson_checks` validates and evaluates
the checks (its names are importable from here too). Both are Qt-free.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..resources import ResourceError, preset_names, resource_root
from .errors import LessonError, ScenarioError
from .fields import child, describe, expect_choice, expect_int, expect_list, expect_str
from .header import FileKind, read_header
from .jsonfile import read_json_file
from .lesson_checks import (
    ABLATIONS,
    CHECK_KINDS,
    MEASURES,
    CheckResult,
    lesson_object,
    resolve_position,
    validate_check,
)
from .scenario import Scenario, load_scenario

__all__ = [
    "ABLATIONS",
    "CHECK_KINDS",
    "CIRCUITS",
    "MEASURES",
    "VIEWS",
    "CheckResult",
    "Lesson",
    "LessonError",
    "Step",
    "Task",
    "lesson_files",
    "lesson_from_json",
    "lessons_folder",
    "load_lesson",
    "resolve_position",
    "validate_check",
]

FORMAT = "induction-gui.lesson"
CURRENT_VERSION = 1
LESSONS = "lessons"  # sub-folder of resources/
VIEWS: tuple[str, ...] = (
    "attention", "copying", "predictions", "circuits", "metrics", "attribution", "printed", "counting", "training",
)
# pages of the Circuits view, in its order: a step on "circuits" may open the one its text is about
CIRCUITS: tuple[str, ...] = ("qk", "positional", "ov", "k-composition", "eigenvalues")
_TOP_REQUIRED = ("format", "version", "title", "steps")
_TOP_OPTIONAL = ("description",)
_STEP_REQUIRED = ("title", "text")
_STEP_OPTIONAL = ("scenario", "view", "circuit", "focus", "task", "run")
_FOCUS_FIELDS = ("layer", "head", "query_pos")
_TASK_REQUIRED = ("prompt", "check")
_TASK_OPTIONAL = ("hints",)
_KIND = FileKind(FORMAT, CURRENT_VERSION, "lesson", "is this an Induction Head Explorer lesson?")


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
def _str(value: object, path: str, *, non_empty: bool = True) -> str:
    return expect_str(value, path, not_blank=non_empty, what="text", error=LessonError)


def _choice(value: object, path: str, choices: tuple[str, ...]) -> str:
    return expect_choice(value, path, choices, error=LessonError)


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
    obj = lesson_object(value, path, _STEP_REQUIRED, _STEP_OPTIONAL)
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
        f = lesson_object(obj["focus"], child(path, "focus"), (), _FOCUS_FIELDS)
        focus = {k: expect_int(v, child(child(path, "focus"), k), lo=0, error=LessonError) for k, v in f.items()}
    task = None
    if "task" in obj:
        tpath = child(path, "task")
        t = lesson_object(obj["task"], tpath, _TASK_REQUIRED, _TASK_OPTIONAL)
        hints = expect_list(t.get("hints", []), child(tpath, "hints"), what="a list of texts", error=LessonError)
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
    obj = lesson_object(read_header(doc, _KIND, error=LessonError), "", _TOP_REQUIRED, _TOP_OPTIONAL)
    steps = expect_list(obj["steps"], "steps", what="a non-empty list of steps", non_empty=True, error=LessonError)
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
        doc = read_json_file(path, max_bytes=MAX_LESSON_BYTES, what="lesson file")
    except ScenarioError as exc:
        raise LessonError(exc.path, exc.detail, file=path.name) from None
    try:
        return lesson_from_json(doc, name=path.stem, folder=path.resolve().parent)
    except LessonError as exc:
        raise exc.in_file(path.name) from None


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
