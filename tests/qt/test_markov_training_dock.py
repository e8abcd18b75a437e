"""The Training dock runs the markov-chains preset: the shared session's held-out curves reach the dock's records."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtGui import QUndoStack

from induction_gui import load_scenario
from induction_gui.model.document import Document
from induction_gui.model.training_session import phase_changes
from induction_gui.qt.panels.training_panel import TrainingPanel

WAIT_MS = 30_000


@pytest.fixture
def panel(qtbot) -> Iterator[TrainingPanel]:
    p = TrainingPanel(Document(load_scenario("induction-circuit")), QUndoStack())
    p.errors = []
    p.show_error = lambda title, message: p.errors.append((title, message))
    qtbot.addWidget(p)
    p.resize(1400, 420)
    p.show()
    yield p
    p.detach()


def test_the_markov_preset_trains_in_the_dock_and_scrubs_to_a_model_of_k_states(qtbot, panel: TrainingPanel) -> None:
    panel.settings.select_preset("markov-chains")
    panel.spins["steps"].setValue(60)
    assert panel.settings_valid, panel.validation_label.text()
    assert panel.start()
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT_MS)
    assert panel.status == "finished" and not panel.errors
    evaluated = [r for r in panel.records if r.nearest is not None]
    assert [r.step for r in evaluated] == [20, 40, 60]
    assert all(r.kl_bigram is not None and r.kl_bigram >= 0 for r in evaluated)
    assert "unigram" in phase_changes(panel.records)
    assert panel.checkpoint_steps == [0, 20, 40, 60]
    assert panel.load_checkpoint(40)
    qtbot.waitUntil(lambda: panel.loaded_step == 40, timeout=WAIT_MS)
    scenario = panel.document.scenario
    assert len(scenario.vocab) == 3 and scenario.weights == panel.checkpoints[40]
