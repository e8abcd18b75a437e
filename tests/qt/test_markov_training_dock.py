"""The Training dock runs the markov-chains preset: the shared session's held-out curves reach the dock's records."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtGui import QUndoStack

from induction_gui import load_scenario
from induction_gui.engine.markov import sample_chains
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
    # the scrubbed scenario is one of states: no start token, a sequence of the k states, and its own chain
    assert scenario.vocab == ["A", "B", "C"] and scenario.bos is None
    assert len(scenario.tokens) == 99 and int(scenario.tokens.max()) < 3
    chain = np.array(scenario.view["markov_chain"])  # [k, k]
    np.testing.assert_allclose(chain.sum(axis=1), 1.0)
    counts = np.zeros((3, 3))  # [k, k] transitions seen in the sequence
    np.add.at(counts, (scenario.tokens[:-1], scenario.tokens[1:]), 1)
    assert (chain[counts > 0] > 0).all(), "every transition of the sequence is possible under its chain"
    drawn = sample_chains(panel.config.markov_task, 1, np.random.default_rng(panel.config.seed))
    np.testing.assert_array_equal(chain, drawn.transitions[0])  # the chain the sequence was drawn from
    np.testing.assert_array_equal(scenario.tokens, drawn.tokens[0, :-1])  # all but the untrained last
    assert panel.document.scenario.view["layer"] == 1
    # a later checkpoint swaps only the weights: the sequence and its chain stay
    assert panel.load_checkpoint(60)
    qtbot.waitUntil(lambda: panel.loaded_step == 60, timeout=WAIT_MS)
    assert panel.document.scenario.bos is None and panel.document.scenario.view["markov_chain"] == chain.tolist()
    np.testing.assert_array_equal(panel.document.scenario.tokens, scenario.tokens)


def test_the_statistical_induction_preset_opens_its_run_and_scrubs_on_the_same_chain(make_window, qtbot) -> None:
    from induction_gui.app import _open_bundled_run

    window = make_window("statistical-induction")
    preset = window.document.scenario
    _open_bundled_run(window, "statistical-induction")
    panel = window.training_panel
    assert panel.run_folder is not None and panel.run_folder.name == "markov-chains" and not window.errors
    assert panel.checkpoint_steps[0] == 0 and len(panel.checkpoint_steps) > 20
    # the settings are the run's, under its own preset: Start would train a Markov run, not the default one
    assert panel.settings.preset_key == "markov-chains" and panel.settings.config() == panel._run.config
    assert panel.load_checkpoint(100)  # in the unigram plateau
    qtbot.waitUntil(lambda: panel.loaded_step == 100, timeout=WAIT_MS)
    scenario = window.document.scenario
    assert scenario.bos is None and scenario.vocab == preset.vocab and int(scenario.tokens.max()) < 3
    np.testing.assert_array_equal(scenario.tokens, preset.tokens)
    assert scenario.view["markov_chain"] == preset.view["markov_chain"]
    assert scenario.weights != preset.weights and not window.errors
