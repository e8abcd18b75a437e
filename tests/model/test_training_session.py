"""The one training loop: checkpoints, the final one, stop requests, divergence, the run folder it writes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from induction_gui.engine.training import PRESETS
from induction_gui.model.training_run import RunWriter, TrainingRun
from induction_gui.model.training_session import TrainingSession

# the tiny preset, smaller still: a step takes about a millisecond
CONFIG = dataclasses.replace(PRESETS["tiny"], d_model=16, d_head=8, batch_size=4, steps=23, checkpoint_every=10)


def test_a_run_checkpoints_step_zero_every_n_steps_and_the_last_step(tmp_path: Path) -> None:
    session = TrainingSession(CONFIG, writer=RunWriter(tmp_path / "run", CONFIG))
    items = list(session.run())
    assert items[0].record is None and items[0].checkpoint[0] == 0
    assert [p.record.step for p in items if p.record is not None] == list(range(1, 24))
    assert [p.checkpoint[0] for p in items if p.checkpoint is not None] == [0, 10, 20, 23]
    assert session.status == "finished" and session.checkpoint_steps == [0, 10, 20, 23]
    written = session.finish()
    run = TrainingRun.open(tmp_path / "run")
    assert run.status == "finished" and run.checkpoint_steps == [0, 10, 20, 23]
    assert run.records == session.records and tmp_path / "run" / "scenario.json" in written
    assert run.load_checkpoint(23) == session.trainer.weights


def test_a_stop_request_ends_after_the_step_and_keeps_it(tmp_path: Path) -> None:
    session = TrainingSession(CONFIG, writer=RunWriter(tmp_path / "run", CONFIG))
    for progress in session.run():
        if progress.record is not None and progress.record.step == 13:
            session.stop()
    assert session.status == "interrupted" and session.step == 13
    assert session.checkpoint_steps == [0, 10, 13]
    session.finish()
    assert TrainingRun.open(tmp_path / "run").status == "interrupted"


def test_divergence_keeps_the_last_good_step_as_the_final_checkpoint() -> None:
    session = TrainingSession(dataclasses.replace(CONFIG, lr=1e6, steps=50))
    session.run_to_end()
    assert session.status == "diverged" and "step" in session.message
    assert session.checkpoint_steps[-1] == session.step == len(session.records) < 50
    weights = session.trainer.weights
    assert all(np.isfinite(weights[name]).all() for name in weights)


def test_an_error_mid_run_shows_the_last_checkpoint(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path / "run", CONFIG)
    session = TrainingSession(CONFIG, writer=writer)
    with pytest.raises(RuntimeError, match="disk gone"):
        for progress in session.run():
            if progress.record is not None and progress.record.step == 12:
                raise RuntimeError("disk gone")
    assert session.status == "interrupted"
    session.finish()
    run = TrainingRun.open(tmp_path / "run")
    assert run.status == "interrupted" and run.checkpoint_steps == [0, 10]
    assert run.scenario().weights == run.load_checkpoint(10)


def test_a_markov_run_keeps_its_phase_changes_through_thinning(monkeypatch: pytest.MonkeyPatch) -> None:
    from induction_gui.model import training_session
    from induction_gui.model.thinning import Thinned

    # a small record limit, so a short run is thinned many times over
    monkeypatch.setattr(training_session, "record_series", lambda: Thinned(5, lambda r: int(r.step)))
    config = dataclasses.replace(PRESETS["markov-chains"], steps=60, eval_every=7, seed=1)
    session = TrainingSession(config)
    session.run_to_end()
    assert len(session.records) <= 8
    phases = session.phases
    assert "unigram" in phases
    kept = {int(r.step): r for r in session.records}
    assert phases["unigram"] in kept and kept[phases["unigram"]].nearest == "unigram"
    monkeypatch.undo()
    whole = TrainingSession(config)
    whole.run_to_end()
    assert len(whole.records) == 60 and whole.phases == phases  # thinning lost no phase change
