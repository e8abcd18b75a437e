"""The Training dock's curves of a markov-chains run (Figure 1 of Edelman et al. 2024), on the real panel.

A 300-step run of the markov-chains preset (seed 0, about 4 s) goes uniform →
unigram → bigram; the expected points, floor, shading and marks are computed
here from the panel's records and from a second, headless session of the same
settings (the step-0 record), never typed in.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QUndoStack

from induction_gui import load_scenario
from induction_gui.model.document import Document
from induction_gui.model.markov_run import read_start, write_outputs
from induction_gui.model.training_run import RunWriter
from induction_gui.model.training_session import PRESETS, StepRecord, TrainingSession, phase_changes
from induction_gui.qt.panels.curve_marks import label_sides
from induction_gui.qt.panels.markov_curves import KL_FLOOR, STRATEGIES, MarkovCurves
from induction_gui.qt.panels.training_panel import TrainingPanel

sys.path.insert(0, str(Path(__file__).resolve().parent))  # as test_screen_fit imports the rules
import screen_rules  # noqa: E402

WAIT_MS = 60_000
STEPS = 300  # enough for both phase changes with the preset's settings (unigram at 20, bigram near 240)
MARKOV_KEYS = ["heldout", "kl", "previous", "statistical"]
INDUCTION_KEYS = ["loss", "split", "prefix", "previous"]


@pytest.fixture
def panel(qtbot) -> Iterator[TrainingPanel]:
    p = TrainingPanel(Document(load_scenario("induction-circuit")), QUndoStack())
    p.errors = []
    p.show_error = lambda title, message: p.errors.append((title, message))
    qtbot.addWidget(p)
    p.resize(1400, 520)  # the desk layout: the four plots side by side
    p.show()
    yield p
    p.detach()


def _train(qtbot, panel: TrainingPanel, preset: str, steps: int) -> None:
    panel.settings.select_preset(preset)
    panel.spins["steps"].setValue(steps)
    assert panel.settings_valid, panel.validation_label.text()
    assert panel.start()
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT_MS)
    assert panel.status == "finished" and not panel.errors


def _shown_keys(curves) -> list[str]:
    return [key for key, widget in curves.plots.items() if widget.isVisible()]


def _points(curve) -> int:
    return 0 if curve.xData is None else int(curve.xData.size)


def _expected_runs(records: list[StepRecord]) -> list[tuple[float, float, str]]:
    """(from, to, strategy) of each stretch of the same nearest strategy; a stretch ends where the next begins."""
    steps = [r.step for r in records]
    names = [r.nearest for r in records]
    starts = [i for i in range(len(records)) if i == 0 or names[i] != names[i - 1]]
    ends = [*starts[1:], len(records) - 1]
    return [(float(steps[a]), float(steps[b]), str(names[a])) for a, b in zip(starts, ends, strict=True)]


def _snapshot(curves: MarkovCurves) -> dict[str, object]:
    """What the Markov plots draw: the points of every line, the floor, the shading and the marks."""
    return {
        "heldout": (curves.curves["heldout"][0].xData.tolist(), curves.curves["heldout"][0].yData.tolist()),
        "kl": [(c.xData.tolist(), c.yData.tolist()) for c in curves.curves["kl"]],
        "floor": curves.floor_line.value(),
        "regions": [(*r.getRegion(), r.strategy) for r in curves.regions],
        "marks": {name: sorted({line.value() for line in lines.values() if line.isVisible()})
                  for name, lines in curves.marks.items()},
    }


def test_a_markov_run_draws_the_phases_of_figure_1(qtbot, panel: TrainingPanel) -> None:
    _train(qtbot, panel, "markov-chains", STEPS)
    curves = panel.curves
    assert curves is panel.run_curves.markov
    qtbot.waitUntil(lambda: _shown_keys(curves) == MARKOV_KEYS)
    assert not panel.run_curves.induction.isVisible()

    # the held-out curves: the untrained model (step 0, from the worker), then every evaluation
    start = TrainingSession(panel.config).trainer.initial_curves  # the same settings measure the same step 0
    assert start is not None and start.step == 0
    evaluated = [r for r in panel.records if r.nearest is not None]
    held = [start, *evaluated]
    x, y = curves.curves["heldout"][0].xData, curves.curves["heldout"][0].yData
    assert x.tolist() == [float(r.step) for r in held]
    assert y == pytest.approx([r.heldout_loss for r in held])
    bayes = {r.bayes_loss for r in evaluated}
    assert len(bayes) == 1  # one fixed held-out batch: one floor
    assert curves.floor_line.isVisible() and curves.floor_line.value() == pytest.approx(bayes.pop())
    assert "Bayes" in curves.floor_line.label.toPlainText()

    # the KLs: one line per strategy, on a log axis (a KL below the floor is drawn at it)
    kl_plot = curves.plots["kl"].getPlotItem()
    assert kl_plot.getAxis("left").logMode
    assert len(curves.curves["kl"]) == len(STRATEGIES) == 3
    for curve, name in zip(curves.curves["kl"], STRATEGIES, strict=True):
        assert curve.xData.tolist() == x.tolist()
        assert curve.yData == pytest.approx([max(getattr(r, f"kl_{name}"), KL_FLOOR) for r in held])
    # the shading: one region per stretch of the same nearest strategy, named after it
    runs = _expected_runs(held)
    assert [r.nearest for r in held][0] == "uniform" and {s for *_, s in runs} == {"uniform", "unigram", "bigram"}
    assert [(*r.getRegion(), r.strategy) for r in curves.regions] == runs
    assert all(r.scene() is kl_plot.scene() for r in curves.regions)

    # the phase marks, on every plot, where phase_changes puts them
    phases = phase_changes(panel.records)
    assert set(phases) == {"unigram", "bigram"}
    assert curves.phases == phases
    for name, step in phases.items():
        lines = curves.marks[name]
        assert sorted(lines) == sorted(MARKOV_KEYS)
        assert all(line.isVisible() and line.value() == step for line in lines.values())
        assert f"{name} phase" in lines["kl"].label.toPlainText() and f"step {step}" in lines["kl"].label.toPlainText()
    assert curves.marker_texts == [f"unigram phase (step {phases['unigram']})",
                                   f"bigram phase (step {phases['bigram']})"]
    assert (f"Phases: unigram from step {phases['unigram']}, bigram from step {phases['bigram']}."
            in panel.status_label.text())

    # the heads: one line per head, a point per step's record
    n_heads = panel.config.n_heads
    for key in ("previous", "statistical"):
        assert len(curves.curves[key]) == n_heads
        assert curves.curves[key][0].xData.tolist() == [float(r.step) for r in panel.records]
    last = panel.records[-1]
    assert curves.curves["statistical"][0].yData[-1] == pytest.approx(last.prefix_matching[-1][0])
    assert curves.curves["previous"][0].yData[-1] == pytest.approx(last.previous_token[0][0])
    assert curves.plots["statistical"].getPlotItem().titleLabel.text == "Statistical induction, layer 1"

    # every plot titled, both axes labelled, a tooltip; the scrub cursor on every plot
    for key in MARKOV_KEYS:
        plot = curves.plots[key].getPlotItem()
        assert plot.titleLabel.text and plot.getAxis("bottom").labelText == "step"
        assert plot.getAxis("left").labelText and curves.plots[key].toolTip()
    assert "nats" in curves.plots["heldout"].getPlotItem().getAxis("left").labelText
    assert "nats" in kl_plot.getAxis("left").labelText
    assert panel.load_checkpoint(160)
    qtbot.waitUntil(lambda: panel.loaded_step == 160, timeout=WAIT_MS)
    assert all(line.isVisible() and line.value() == 160 for line in curves.cursor_lines.values())


def test_another_dataset_brings_the_induction_curves_back_and_a_saved_markov_run_reopens_the_same(
        qtbot, panel: TrainingPanel, tmp_path: Path) -> None:
    _train(qtbot, panel, "markov-chains", 60)  # a short run has curves, a region and the unigram mark to clear
    markov = panel.run_curves.markov
    assert markov.regions and "unigram" in markov.phases
    qtbot.waitUntil(lambda: _shown_keys(markov) == MARKOV_KEYS)
    live = _snapshot(markov)
    saved = tmp_path / "markov-run"
    assert panel.save_run_to(saved)
    assert (saved / "curves.csv").is_file() and (saved / "model" / "config.json").is_file()  # as the CLI leaves

    _train(qtbot, panel, "tiny", 30)
    induction = panel.run_curves.induction
    assert panel.curves is induction
    qtbot.waitUntil(lambda: _shown_keys(induction) == INDUCTION_KEYS)
    # nothing of the old run kept behind the induction curves
    assert not markov.isVisible() and not markov.evaluated and markov.start is None
    assert not markov.regions and not markov.floor_line.isVisible()
    assert not any(line.isVisible() for lines in markov.marks.values() for line in lines.values())
    assert induction.curves["loss"][0].xData.tolist() == [float(r.step) for r in panel.records]
    assert "Phases" not in panel.status_label.text() and "unigram" not in panel.status_label.text()

    assert panel.open_run(saved), panel.errors
    assert panel.curves is markov
    qtbot.waitUntil(lambda: _shown_keys(markov) == MARKOV_KEYS)
    assert not induction.isVisible()
    assert _snapshot(markov) == live
    assert markov.held_out[0].step == 0  # the untrained model's point, read back from the folder


def test_the_step_zero_record_reads_back_from_curves_csv(qtbot, panel: TrainingPanel) -> None:
    """read_start gives the trainer's initial_curves back (KLs, loss, nearest), and None for a folder without it."""
    _train(qtbot, panel, "markov-chains", 20)
    start = TrainingSession(panel.config).trainer.initial_curves
    back = read_start(panel.run_folder)
    assert back is not None and back.step == 0 and back.nearest == start.nearest
    assert (back.heldout_loss, back.kl_uniform, back.kl_unigram, back.kl_bigram) == (
        start.heldout_loss, start.kl_uniform, start.kl_unigram, start.kl_bigram)  # repr keeps every digit
    (panel.run_folder / "curves.csv").write_text("step,loss\n0,1.0\n", encoding="utf-8")
    assert read_start(panel.run_folder) is None
    assert read_start(panel.run_folder / "missing") is None


def test_a_low_narrow_dock_shows_the_phase_pair_and_the_whole_set_comes_back(qtbot) -> None:
    """Under the views of a 1280x720 window the curves have about 660x200 px: Figure 1's two plots, not four strips."""
    curves = MarkovCurves()
    qtbot.addWidget(curves)
    curves.resize(660, 202)
    curves.show()
    qtbot.waitUntil(lambda: _shown_keys(curves) == ["heldout", "kl"])
    # the keys above the plots: a dock squeezed below its minimum cuts its bottom edge, not the keys
    qtbot.waitUntil(lambda: all(curves.legends[k].isVisible() and curves.legends[k].y() < curves.plots[k].y()
                                for k in ("heldout", "kl")))
    curves.resize(1400, 400)
    qtbot.waitUntil(lambda: _shown_keys(curves) == MARKOV_KEYS)
    curves.resize(900, 420)
    qtbot.waitUntil(lambda: _shown_keys(curves) == MARKOV_KEYS)  # two by two
    qtbot.waitUntil(lambda: curves.plots["previous"].y() > curves.plots["heldout"].y() == curves.plots["kl"].y())


def test_records_before_the_first_show_are_drawn_then_and_a_run_without_evaluations_has_no_marks(qtbot) -> None:
    curves = MarkovCurves()
    qtbot.addWidget(curves)
    plain = [StepRecord(s, 0.0, 1.0, 1.0, 1.0, [[0.1], [0.2]], [[0.3], [0.4]]) for s in (1, 2, 3)]
    curves.clear(10)
    curves.add_records(plain)
    assert not curves.plots  # not built while hidden
    curves.resize(1400, 400)
    curves.show()
    assert curves.curves["statistical"][0].yData.tolist() == [0.2, 0.2, 0.2]
    assert curves.curves["previous"][0].yData.tolist() == [0.3, 0.3, 0.3]
    assert not curves.held_out and _points(curves.curves["heldout"][0]) == 0 and not curves.regions
    assert not curves.floor_line.isVisible()
    assert not any(line.isVisible() for lines in curves.marks.values() for line in lines.values())
    evaluated = StepRecord(4, 0.0, 1.0, 1.0, 1.0, [[0.1], [0.2]], [[0.3], [0.4]], heldout_loss=1.0, bayes_loss=0.9,
                           kl_uniform=0.2, kl_unigram=0.0, kl_bigram=np.nan, nearest="unigram")
    curves.add_records([evaluated])
    assert curves.phases == {"unigram": 4}
    assert curves.curves["kl"][1].yData.tolist() == [KL_FLOOR]  # zero on a log axis: drawn at the floor
    assert np.isnan(curves.curves["kl"][2].yData[0])  # not a number: a gap, not the floor
    assert curves.floor_line.value() == pytest.approx(0.9)


def test_a_run_folder_of_the_train_command_opens_with_its_step_zero(qtbot, panel: TrainingPanel, tmp_path: Path) -> None:
    """What ``induction-gui train --preset markov-chains --out DIR`` leaves opens in the dock, curves from step 0."""
    config = dataclasses.replace(PRESETS["markov-chains"], steps=40)
    session = TrainingSession(config, writer=RunWriter(tmp_path / "cli-run", config))
    session.run_to_end()
    session.finish()
    write_outputs(session, tmp_path / "cli-run")  # as the command does after the session
    assert panel.open_run(tmp_path / "cli-run"), panel.errors
    markov = panel.run_curves.markov
    assert panel.curves is markov
    qtbot.waitUntil(lambda: _shown_keys(markov) == MARKOV_KEYS)
    assert markov.curves["heldout"][0].xData.tolist() == [0.0, 20.0, 40.0]
    assert markov.curves["heldout"][0].yData[0] == session.trainer.initial_curves.heldout_loss


@pytest.mark.parametrize("size", [(1400, 520), (900, 460), (660, 202)], ids=["row", "grid", "pair"])
def test_the_markov_curves_keep_the_screen_rules(qtbot, size: tuple[int, int]) -> None:
    """No title, axis label or mark label cut, no plot a strip, in each of the three arrangements."""
    curves = MarkovCurves()
    qtbot.addWidget(curves)
    records = _synthetic_run()
    curves.resize(*size)
    curves.show()
    curves.set_start(records[0])
    curves.set_records(records[1:], 300)
    qtbot.waitUntil(lambda: bool(curves.regions) and _laid_out(curves) and not curves._refit_pending)
    violations = screen_rules.check_widget(curves)
    assert violations == [], "\n".join(map(str, violations))


def _laid_out(curves: MarkovCurves) -> bool:
    """The grid has placed the shown plots: each its own place, inside the widget (before, all sit at 0,0)."""
    rects = [curves.plots[k].geometry() for k in _shown_keys(curves)]
    return len({r.getRect() for r in rects}) == len(rects) and all(curves.rect().contains(r) for r in rects)


def _synthetic_run() -> list[StepRecord]:
    """Step 0 nearest uniform, unigram from 20, bigram from 240: the shape of the preset's first 300 steps."""
    records = []
    for step in range(0, 301, 10):
        evaluated = step % 20 == 0
        nearest = "uniform" if step == 0 else "unigram" if step < 240 else "bigram"
        kls = {"uniform": 0.03 if step == 0 else 0.12, "unigram": 0.17 if step == 0 else 0.03,
               "bigram": 0.24 if step < 240 else 0.02}
        records.append(StepRecord(
            step, 0.0, 1.0, np.nan, np.nan, [[0.1], [0.4 + step / 1000]], [[0.05 + step / 1500], [0.1]],
            heldout_loss=1.1 - step / 2000 if evaluated else None, bayes_loss=0.89 if evaluated else None,
            kl_uniform=kls["uniform"] if evaluated else None, kl_unigram=kls["unigram"] if evaluated else None,
            kl_bigram=kls["bigram"] if evaluated else None, nearest=nearest if evaluated else None))
    return records


def test_phase_labels_take_the_side_with_room_and_share_a_gap_only_when_both_face_it() -> None:
    # the preset's 300 steps: the labels face each other across the gap and split it
    assert label_sides({"unigram": 20, "bigram": 240}, 300) == {"bigram": (1, 110.0), "unigram": (0, 110.0)}
    # a long run: the bigram label faces the open right, so the unigram label has the whole gap
    assert label_sides({"unigram": 20, "bigram": 240}, 2000) == {"bigram": (0, 1760), "unigram": (0, 220)}
    assert label_sides({"induction": 70}, 100) == {"induction": (1, 70)}
    assert label_sides({}, 100) == {}


def test_a_thinned_redraw_keeps_the_step_zero_point_and_a_new_run_forgets_it(qtbot) -> None:
    """The dock redraws a long run's kept records with set_records; the untrained model's point must stay."""
    curves = MarkovCurves()
    qtbot.addWidget(curves)
    curves.resize(1400, 400)
    curves.show()
    records = _synthetic_run()
    curves.set_start(records[0])
    curves.add_records(records[1:])
    kept = records[2::2]  # as after thinning: every other record (the evaluated ones, steps 20, 40, ...)
    curves.set_records(kept, 300)
    assert curves.held_out[0] is records[0]
    assert curves.curves["heldout"][0].xData.tolist() == [0.0, *(float(r.step) for r in kept)]
    assert [r.strategy for r in curves.regions] == ["uniform", "unigram", "bigram"]
    curves.set_start(None)  # a new run (the dock's switch), before its worker sends its own
    curves.clear(300)
    assert _points(curves.curves["heldout"][0]) == 0 and not curves.regions
