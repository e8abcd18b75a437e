"""Lesson files: the course validates, each check kind evaluates on real documents, broken files name the place."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from induction_gui.engine import HeadOverride, head_presets
from induction_gui.analysis import Analysis
from induction_gui.analysis.lesson_checks import EVALUATORS, evaluate
from induction_gui.model.document import Document
from induction_gui.model.lessons import (
    CHECK_KINDS,
    VIEWS,
    LessonError,
    lesson_files,
    lesson_from_json,
    lessons_folder,
    load_lesson,
    resolve_position,
)
from induction_gui.model.scenario import load_scenario
from induction_gui.resources import resource_path

COURSE = lessons_folder() / "course.json"


def doc(name: str) -> Analysis:
    """A live analysis of a preset: lesson checks read the document and its forward pass."""
    return Analysis(Document(load_scenario(name)))


def tokens_of(d: Analysis, text: str) -> list[int]:
    return [d.scenario.vocab.index(t) for t in text.split()]


# -- the course ----------------------------------------------------------------------------
def test_course_loads_with_every_scenario_and_view() -> None:
    lesson = load_lesson(COURSE)
    assert lesson.name == "course" and len(lesson.steps) >= 8
    assert COURSE in lesson_files() and lesson_files()[0] == COURSE
    for step in lesson.steps:
        assert step.view is None or step.view in VIEWS
        if step.scenario is not None:
            assert lesson.load_step_scenario(step) is not None
    scenarios = [s.scenario for s in lesson.steps]
    assert scenarios[0] == "lecture-demo" and scenarios[-4:] == ["trained-toy", *["statistical-induction"] * 3]
    runs = [lesson.run_path(s) for s in lesson.steps if s.run is not None]
    assert [r.name for r in runs] == ["trained-toy", "markov-chains"] and all(r.is_dir() for r in runs)
    kinds = json.dumps([s.task.check for s in lesson.steps if s.task])
    for kind in ("key_shift", "attention", "score", "ablated", "prediction_wrong", "follows", "all"):
        assert f'"kind": "{kind}"' in kinds


def test_course_tasks_start_unsolved() -> None:
    """A task already done when the step opens would teach nothing."""
    lesson = load_lesson(COURSE)
    for step in lesson.steps:
        if step.task is not None:
            result = evaluate(step.task.check, Analysis(Document(lesson.load_step_scenario(step))))
            assert not result.met, (step.title, result.detail)
            assert result.detail


# -- positions -------------------------------------------------------------------------------
def test_named_positions() -> None:
    vocab = ["<s>", "A", "B", "C"]
    tokens = np.array([0, 1, 2, 3, 1, 2])
    assert resolve_position("second_occurrence_of_A", tokens, vocab) == (4, "")
    assert resolve_position("after_first_A", tokens, vocab) == (2, "")
    assert resolve_position("first_occurrence_of_B", tokens, vocab) == (2, "")
    assert resolve_position("last", tokens, vocab) == (5, "")
    assert resolve_position(-2, tokens, vocab) == (4, "")
    assert resolve_position("second_occurrence_of_C", tokens, vocab)[0] is None
    assert resolve_position("after_second_B", tokens, vocab) == (None, "nothing follows the second B")
    assert "no token 'Z'" in resolve_position("after_first_Z", tokens, vocab)[1]
    assert resolve_position(9, tokens, vocab)[0] is None


# -- each check kind, met and not met --------------------------------------------------------------
def test_attention_check() -> None:
    check = {"kind": "attention", "layer": 0, "head": 0, "query": "second_occurrence_of_A", "key": "after_first_A",
             "min": 0.5}
    d = doc("duplicate-token-head")
    assert not evaluate(check, d).met
    d.document.set_override((0, 0), HeadOverride(key_shift=1))
    result = evaluate(check, d)
    assert result.met and "L0H0 attends 1.00 from position 4 to position 2" in result.detail
    assert not evaluate({**check, "max": 0.1}, d).met
    d.document.set_tokens(tokens_of(d, "<s> B C D"))
    assert "no second A" in evaluate(check, d).detail


def test_score_check() -> None:
    check = {"kind": "score", "detector": "induction_head", "measure": "mul", "exclude_bos": True,
             "layer": 1, "head": 0, "min": 0.5}
    d = doc("build-your-own")
    assert not evaluate(check, d).met
    w = d.scenario.weights
    for name, value in head_presets.apply_head_slices(w, 0, 0, head_presets.previous_token(w, 0, 0)).items():
        d.document.set_weight(name, value)
    w = d.scenario.weights
    for name, value in head_presets.apply_head_slices(w, 1, 0, head_presets.induction(w, 1, 0)).items():
        d.document.set_weight(name, value)
    assert evaluate(check, d).met
    low = {k: v for k, v in check.items() if k != "min"} | {"max": 0.2}
    assert not evaluate(low, d).met
    assert "no head L5H0" in evaluate({**check, "layer": 5}, d).detail


def test_ablated_and_key_shift_checks() -> None:
    d = doc("induction-circuit")
    ablated = {"kind": "ablated", "layer": 0, "head": 0}
    shift = {"kind": "key_shift", "layer": 0, "head": 0, "equals": 1}
    assert not evaluate(ablated, d).met and not evaluate(shift, d).met
    d.document.set_override((0, 0), HeadOverride(ablation="mean", key_shift=1))
    assert evaluate(ablated, d).met and evaluate(shift, d).met
    assert not evaluate({**ablated, "ablation": "zero"}, d).met
    assert not evaluate({**shift, "equals": 2}, d).met


def test_prediction_wrong_check() -> None:
    check = {"kind": "prediction_wrong", "at": "repeat", "copied": True}
    d = doc("induction-circuit")
    assert not evaluate(check, d).met  # A B C D A B C D: every copy is right
    d.document.set_tokens(tokens_of(d, "<s> A B C D A C D"))  # after the second A comes C, the head copies B
    result = evaluate(check, d)
    assert result.met and "predicts B, but C comes next" in result.detail
    assert evaluate(check, doc("ambiguous-prefix")).met
    assert "no token repeats" in evaluate(check, doc("no-repeat")).detail
    assert not evaluate({"kind": "prediction_wrong", "at": 5}, doc("induction-circuit")).met
    assert evaluate({"kind": "prediction_wrong", "at": 5}, d).met


def test_all_check_reports_the_first_failure() -> None:
    d = doc("induction-circuit")
    check = {"kind": "all", "of": [
        {"kind": "ablated", "layer": 0, "head": 0},
        {"kind": "score", "detector": "induction_head", "exclude_bos": True, "layer": 1, "head": 0, "max": 0.3},
    ]}
    assert evaluate(check, d).detail == "L0H0 is not ablated"
    d.document.set_override((0, 0), HeadOverride(ablation="zero"))
    assert evaluate(check, d).met
    assert set(CHECK_KINDS) == set(EVALUATORS) == {"attention", "score", "ablated", "prediction_wrong", "key_shift",
                                                  "follows", "all"}


# -- broken lesson files --------------------------------------------------------------------------
def minimal() -> dict:
    return {"format": "induction-gui.lesson", "version": 1, "title": "T", "steps": [
        {"title": "S", "text": "x", "scenario": "induction-circuit", "view": "attention",
         "task": {"prompt": "p", "check": {"kind": "all", "of": [
             {"kind": "key_shift", "layer": 0, "head": 0, "equals": 1}]}, "hints": ["h"]}}]}


def spoil(path: list, value: object) -> dict:
    d = copy.deepcopy(minimal())
    target = d
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return d


@pytest.mark.parametrize(
    ("doc_", "where", "words"),
    [
        (spoil(["format"], "scenario"), "format", "induction-gui.lesson"),
        (spoil(["version"], 2), "version", "newer"),
        (spoil(["steps"], []), "steps", "non-empty"),
        (spoil(["steps", 0, "title"], KeyError), "steps[0].title", "missing"),
        (spoil(["steps", 0, "colour"], "red"), "steps[0].colour", "unknown field"),
        (spoil(["steps", 0, "scenario"], "inductoin"), "steps[0].scenario", "unknown scenario"),
        (spoil(["steps", 0, "view"], "heatmap"), "steps[0].view", "expected one of attention"),
        (spoil(["steps", 0, "circuit"], "qk"), "steps[0].circuit", '"view": "circuits"'),
        (spoil(["steps", 0, "focus"], {"layer": -1}), "steps[0].focus.layer", "≥ 0"),
        (spoil(["steps", 0, "task", "check", "of", 0, "kind"], "eval"), "steps[0].task.check.of[0].kind",
         "unknown kind"),
        (spoil(["steps", 0, "task", "check", "of", 0, "equals"], KeyError), "steps[0].task.check.of[0].equals",
         "missing"),
        (spoil(["steps", 0, "task", "check"], {"kind": "attention", "layer": 1, "head": 0, "query": "second A",
                                               "key": 2, "min": 0.5}), "steps[0].task.check.query", "position"),
        (spoil(["steps", 0, "task", "check"], {"kind": "score", "detector": "induction", "layer": 1, "head": 0,
                                               "min": 0.5}), "steps[0].task.check.detector", "induction_head"),
        (spoil(["steps", 0, "task", "check"], {"kind": "score", "detector": "induction_head", "layer": 1,
                                               "head": 0}), "steps[0].task.check.min", "min"),
        (spoil(["steps", 0, "task", "check"], {"kind": "follows", "chain_min": 1.5, "min": 0.5}),
         "steps[0].task.check.chain_min", "≤ 1"),
        (spoil(["steps", 0, "task", "check"], {"kind": "follows", "chain_min": 0.9}), "steps[0].task.check.min",
         "missing"),
        (spoil(["steps", 0, "task", "check"], {"kind": "follows", "chain_min": 0.9, "min": 0.5, "state": 2}),
         "steps[0].task.check.state", "string"),
        (spoil(["steps", 0, "task", "hints"], "one"), "steps[0].task.hints", "list"),
        (spoil(["steps", 0, "task", "prompt"], 3), "steps[0].task.prompt", "text"),
    ],
)
def test_broken_lessons_name_the_json_path(tmp_path: Path, doc_: dict, where: str, words: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc_), encoding="utf-8")
    with pytest.raises(LessonError) as info:
        load_lesson(path)
    assert info.value.path == where and info.value.file == "broken.json"
    assert words in str(info.value) and str(info.value).startswith(f"broken.json: {where}: ")


def test_unreadable_files_and_relative_scenarios(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(LessonError, match="bad.json: invalid JSON at line 1, column 2"):
        load_lesson(tmp_path / "bad.json")
    # the scenario loader's guards hold for lessons too: NaN, duplicate keys, bytes that are not text, folders
    (tmp_path / "nan.json").write_text('{"format": "induction-gui.lesson", "version": NaN, "title": "t", "steps": []}',
                                         encoding="utf-8")
    with pytest.raises(LessonError, match="nan.json: version: expected an integer, got NaN"):
        load_lesson(tmp_path / "nan.json")
    (tmp_path / "dup.json").write_text('{"title": "a", "title": "b", "steps": []}', encoding="utf-8")
    with pytest.raises(LessonError, match="dup.json: .*title"):
        load_lesson(tmp_path / "dup.json")
    (tmp_path / "latin.json").write_bytes(b'{"title": "caf\xe9"}')
    with pytest.raises(LessonError, match="latin.json: not UTF-8 text"):
        load_lesson(tmp_path / "latin.json")
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(LessonError, match="folder.json: is a folder"):
        load_lesson(tmp_path / "folder.json")
    # a scenario next to the lesson file is found by its relative path
    src = resource_path("scenarios", "lecture-demo.json")
    (tmp_path / "mine.json").write_bytes(src.read_bytes())
    lesson = lesson_from_json(spoil(["steps", 0, "scenario"], "mine.json"), folder=tmp_path)
    assert lesson.load_step_scenario(lesson.steps[0]).title == load_scenario("lecture-demo").title
    keep = lesson_from_json(spoil(["steps", 0, "scenario"], KeyError))
    assert keep.load_step_scenario(keep.steps[0]) is None  # no scenario: the step keeps the current one
    assert lesson_files(tmp_path / "nowhere") == []

