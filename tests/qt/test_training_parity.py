"""The command line and the Training dock train through one session: the same run for the same settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtGui import QUndoStack

from induction_gui import load_scenario
from induction_gui.cli import main
from induction_gui.engine.training import StepRecord
from induction_gui.model.document import Document
from induction_gui.model.training_run import TrainingRun
from induction_gui.qt.panels.training_panel import TrainingPanel

STEPS = 25  # not a multiple of checkpoint_every (10): the final checkpoint is the one that used to differ


def _history(records: list[StepRecord]) -> list[dict]:
    """The records without their wall times, which differ from run to run."""
    return [{**dataclasses.asdict(r), "elapsed_s": None} for r in records]


def test_cli_and_dock_write_the_same_run(qtbot, tmp_path: Path) -> None:
    out = tmp_path / "cli-run"
    assert main(["train", "--preset", "tiny", "--steps", str(STEPS), "--out", str(out), "-q"]) == 0
    cli_run = TrainingRun.open(out)

    panel = TrainingPanel(Document(load_scenario("induction-circuit")), QUndoStack())
    qtbot.addWidget(panel)
    panel.settings.select_preset("tiny")
    panel.spins["steps"].setValue(STEPS)
    assert panel.start()
    qtbot.waitUntil(lambda: not panel.running, timeout=20_000)
    assert panel.status == "finished"

    assert panel.checkpoint_steps == cli_run.checkpoint_steps == [0, 10, 20, STEPS]
    assert _history(panel.records) == _history(cli_run.records)
    final = cli_run.checkpoint_steps[-1]
    assert panel.checkpoint_weights(final) == cli_run.load_checkpoint(final)
    dock_run = TrainingRun.open(panel.run_folder)
    assert dock_run.checkpoint_steps == cli_run.checkpoint_steps and dock_run.status == cli_run.status
    assert _history(dock_run.records) == _history(cli_run.records)
    assert dock_run.scenario().weights == cli_run.scenario().weights
    panel.detach()
