"""A long run keeps a bounded, evenly thinned set of records and checkpoints, and its folder stays readable."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from induction_gui.engine.train_config import (
    TRAIN_PARAM,
    TRAINING_BYTES,
    TrainingConfigError,
    memory_estimate,
)
from induction_gui.engine.training import PRESETS
from induction_gui.model import training_session
from induction_gui.model.run_folder import CHECKPOINTS
from induction_gui.model.thinning import Thinned
from induction_gui.model.training_run import RunWriter, TrainingRun
from induction_gui.model.training_session import TrainingSession

# the tiny preset, smaller still: a step takes about a millisecond
CONFIG = dataclasses.replace(PRESETS["tiny"], d_model=16, d_head=8, batch_size=2, checkpoint_every=1)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 5000), limit=st.integers(3, 50), stride=st.integers(1, 7), first=st.integers(0, 3))
def test_a_thinned_series_is_bounded_even_and_keeps_its_ends(n: int, limit: int, stride: int, first: int) -> None:
    series: Thinned[int] = Thinned(limit, int, stride=stride)
    for step in range(first, first + n):
        series.add(step)
        assert len(series) <= limit
    kept = series.items
    assert kept[0] == first and kept[-1] == first + n - 1  # the first and the last are always there
    assert kept == sorted(kept)
    assert series.stride % stride == 0 and (series.stride // stride) & (series.stride // stride - 1) == 0
    middle = kept[1:-1]
    assert all(s % series.stride == 0 for s in middle)  # evenly spaced in between
    if n > 2 * limit * stride:  # a long series fills at least a quarter of its room
        assert len(kept) >= limit // 4


def test_a_pinned_item_survives_every_thinning() -> None:
    series: Thinned[int] = Thinned(5, int)
    for step in range(1, 8):
        series.add(step)
    series.pin(series[-1])  # step 7, off every later stride
    for step in range(8, 1000):
        series.add(step)
    assert 7 in series.items and len(series) <= 5 + 1


def test_the_memory_estimate_does_not_grow_with_steps_and_the_largest_step_count_is_allowed() -> None:
    most = int(TRAIN_PARAM["steps"].hi)  # the dock's Steps box goes this far
    for preset in PRESETS.values():
        short, longest = memory_estimate(preset), memory_estimate(dataclasses.replace(preset, steps=most))
        assert short == longest and longest.total < TRAINING_BYTES
        dataclasses.replace(preset, steps=most).validate()  # allowed: it runs in bounded memory


def test_a_setting_too_large_for_memory_is_refused_before_start_with_the_estimate() -> None:
    config = dataclasses.replace(PRESETS["default"], batch_size=354_878)
    with pytest.raises(TrainingConfigError, match=r"^batch_size: .*logits array \[354878, 64, 65\] \(5\.5 GiB\)"):
        config.validate()
    with pytest.raises(TrainingConfigError, match=r"GiB"):
        TrainingSession(config)  # the trainer allocates nothing before the check


def test_a_long_run_keeps_a_bounded_set_and_its_folder_reads_back(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Small limits stand for the real ones, so a few hundred steps thin as a million would."""
    monkeypatch.setattr(training_session, "MAX_RECORDS", 20)
    monkeypatch.setattr(training_session, "MAX_CHECKPOINTS", 6)
    config = dataclasses.replace(CONFIG, steps=300)
    writer = RunWriter(tmp_path / "run", config, flush_every=5)
    session = TrainingSession(config, writer=writer)
    sizes = []
    for progress in session.run():
        sizes.append((len(session.records), len(session.checkpoint_steps), len(writer.records)))
    assert max(s[0] for s in sizes) <= 20 + 1 and max(s[2] for s in sizes) <= 20 + 1  # + the pinned phase change
    assert max(s[1] for s in sizes) <= 6
    steps = [r.step for r in session.records]
    assert steps[0] == 1 and steps[-1] == 300 and steps == sorted(steps)
    assert session.checkpoint_steps[0] == 0 and session.checkpoint_steps[-1] == 300
    files = sorted((tmp_path / "run" / CHECKPOINTS).iterdir())
    assert len(files) == len(session.checkpoint_steps)  # thinned checkpoints are deleted from disk too
    session.finish()
    run = TrainingRun.open(tmp_path / "run")
    assert run.status == "finished" and run.records == session.records
    assert run.checkpoint_steps == session.checkpoint_steps
    assert run.load_checkpoint(300) == session.trainer.weights


def test_the_phase_change_record_survives_thinning(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The command line reports the record where the induction head formed: thinning must never drop it."""
    monkeypatch.setattr(training_session, "MAX_RECORDS", 16)
    config = dataclasses.replace(PRESETS["default"], steps=320)  # forms at about step 200
    writer = RunWriter(tmp_path / "run", config)
    session = TrainingSession(config, writer=writer)
    session.run_to_end()
    assert session.formed_at is not None, "the default preset forms an induction head within 320 steps"
    assert len(session.records) <= 16 + 1
    assert any(r.step == session.formed_at for r in session.records)
    session.finish()
    run = TrainingRun.open(tmp_path / "run")
    assert run.formed_at == session.formed_at and any(r.step == run.formed_at for r in run.records)
