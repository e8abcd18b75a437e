"""The Counting tab in the real window: generate a Markov chain sequence, move the position, read the bars and maps.

The expected numbers are counted here by loops over the document's tokens
(state j = id j + 1 behind the start token), never read back from the entry.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QKeySequence

from induction_gui.model.hover import HoveredCell
from induction_gui.model.markov_chain import random_chain, stored_chain
from induction_gui.model.sequence_edit import GENERATORS
from induction_gui.qt.commands import SetMarkovChainCommand
from induction_gui.qt.views.markov_view import SERIES, MarkovView

K = 3
DRIVER = Path(__file__).resolve().parent / "markov_fit_driver.py"
ROOT = Path(__file__).resolve().parents[2]
SCREENS = {"1280x720": "300x200", "1366x768": "320x240"}  # screen: the largest plot at least (as test_screen_fit)


def _counting_view(qtbot, window) -> MarkovView:  # noqa: ANN001 - the MainWindow
    """Show the Counting tab with its Ctrl+8 action, as the keyboard does."""
    action = window.action_table["tab8"]
    assert action.shortcut() == QKeySequence("Ctrl+8") and window.tabs.tabText(7) == "Counting"
    action.trigger()
    page = window.tabs.currentWidget()
    qtbot.waitUntil(lambda: page.view is not None and page.view.isVisible())
    view = page.view
    assert isinstance(view, MarkovView)
    return view


def _generate(window, length: int = 25, seed: int = 5) -> None:  # noqa: ANN001 - the MainWindow
    panel = window.sequence_panel
    panel.generator_combo.setCurrentIndex([s.key for s in GENERATORS].index("markov_chain"))
    panel.generator_form.markov_k_spin.setValue(K)
    panel.generator_form.markov_length_spin.setValue(length)
    panel.seed_spin.setValue(seed)
    panel.generate_button.click()
    window.wait_idle()


def _by_hand(tokens: np.ndarray, position: int, a: float = 1.0) -> dict[str, object]:
    """Counts and estimates (prior α = ``a``) at ``position`` of ``[BOS, states + 1...]``, by loops."""
    states = [int(t) - 1 for t in tokens[1:]]
    t = position - 1
    unigram = [0] * K
    for s in range(t + 1):
        unigram[states[s]] += 1
    pairs = [[0] * K for _ in range(K)]
    for s in range(1, t + 1):
        pairs[states[s - 1]][states[s]] += 1
    i = states[t]
    return {
        "current": i,
        "unigram": [(unigram[j] + a) / (t + 1 + K * a) for j in range(K)],
        "bigram": [(pairs[i][j] + a) / (sum(pairs[i]) + K * a) for j in range(K)],
        "matrix": [[(pairs[r][j] + a) / (sum(pairs[r]) + K * a) for j in range(K)] for r in range(K)],
        "pairs": pairs, "unigram_counts": unigram, "seen": t + 1,
    }


def _bars(view: MarkovView) -> dict[str, np.ndarray]:
    """The heights of the drawn bars, by series name."""
    items = [i for i in view.bars.getPlotItem().items if isinstance(i, pg.BarGraphItem)]
    return {item.name(): np.asarray(item.opts["height"], dtype=np.float64) for item in items}


def _check_position(view: MarkovView, window, position: int, a: float = 1.0) -> None:  # noqa: ANN001
    doc = window.document
    tokens = doc.scenario.tokens
    expect = _by_hand(tokens, position, a)
    bars = _bars(view)
    assert list(bars) == [name for name, _ in SERIES]
    np.testing.assert_allclose(bars["unigram"], expect["unigram"], rtol=1e-12)
    np.testing.assert_allclose(bars["bigram"], expect["bigram"], rtol=1e-12)
    probs = window.analysis.results.probs[position]  # [d_vocab] the Predictions view's softmax
    np.testing.assert_allclose(bars["model"], probs[1:K + 1], rtol=1e-9)
    np.testing.assert_allclose(view.estimate_map.data, expect["matrix"], rtol=1e-6)  # float32 in the heatmap
    np.testing.assert_allclose(view.true_map.data, stored_chain(doc.scenario.view), rtol=1e-6)
    names = doc.scenario.vocab[1:K + 1]
    i = expect["current"]
    c_i = sum(expect["pairs"][i])
    text = view.counts.text()
    for j in range(K):
        assert f"{names[i]}→{names[j]}: {expect['pairs'][i][j]} of {c_i} times after {names[i]}" in text
        assert f"{names[j]}: {expect['unigram_counts'][j]} of {expect['seen']} tokens" in text
    assert f"Position {position}: current state <b>{names[i]}</b>" in view.heading.text()
    bands = [item.getRegion() for item in view.bars.getPlotItem().items if isinstance(item, pg.LinearRegionItem)]
    nxt = int(tokens[position + 1]) - 1 if position + 1 < tokens.size else None  # the state that comes next
    assert bands == ([] if nxt is None else [(nxt - 0.48, nxt + 0.48)])
    assert f"up to position {position}" in view.estimate_map.title.text()
    assert f"α = {a:g})" in view.estimate_map.title.text()


def test_counting_follows_the_generated_sequence_the_position_and_the_chain(qtbot, make_window) -> None:
    window = make_window()
    doc = window.document
    _generate(window)
    view = _counting_view(qtbot, window)
    assert doc.selection.query_pos == 24  # the generator focuses the last position
    _check_position(view, window, 24)
    assert view.true_map.numbers_shown and view.true_map.cell_texts[1].toPlainText() == \
        f"{stored_chain(doc.scenario.view)[0][1]:.2f}"

    # click a token in the sequence panel: the view follows the query position
    window.sequence_panel.token_list.setCurrentRow(9)
    qtbot.waitUntil(lambda: view.shown is not None and view.shown.position == 9)
    _check_position(view, window, 9)

    # the pointer over the Attention pattern's row 14 shows position 14; leaving it goes back to the focus
    window.hover.set(HoveredCell(0, 0, 14, 3))
    qtbot.waitUntil(lambda: view.shown.position == 14)
    _check_position(view, window, 14)
    window.hover.set(None)
    qtbot.waitUntil(lambda: view.shown.position == 9)

    # the start token is not a state: the view says so and shows the first state
    doc.set_selection(query_pos=0)
    qtbot.waitUntil(lambda: view.shown.position == 1)
    assert "position 0 is the start token" in view.heading.text()

    # a new chain (undoable) is the true matrix drawn; the counts do not change
    doc.set_selection(query_pos=20)
    qtbot.waitUntil(lambda: view.shown.position == 20)
    before = view.estimate_map.data.copy()
    chain = random_chain(K, 1.0, 11)
    window.undo_stack.push(SetMarkovChainCommand(doc, chain))
    qtbot.waitUntil(lambda: np.allclose(view.true_map.data, chain, rtol=1e-6))
    np.testing.assert_array_equal(view.estimate_map.data, before)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: not np.allclose(view.true_map.data, chain, rtol=1e-6))
    _check_position(view, window, 20)

    # the learner's prior: every estimate, the matrix and the labels follow it
    view.alpha_spin.setValue(0.5)
    qtbot.waitUntil(lambda: view.counting.alpha == 0.5)
    _check_position(view, window, 20, a=0.5)
    assert "α = 0.5" in view.summary.text()
    assert view.last_error is None


def test_the_whole_sequence_kls_and_the_model_mass_elsewhere_are_written(qtbot, make_window) -> None:
    window = make_window()
    _generate(window, length=30, seed=2)
    view = _counting_view(qtbot, window)
    counting = view.counting
    assert counting is not None
    summary = view.summary.text()
    assert f"KL(bigram ‖ model) = {counting.kl['bigram']:.3f}" in summary
    assert f"KL(unigram ‖ model) = {counting.kl['unigram']:.3f}" in summary
    assert f"nearest: <b>{counting.nearest}</b>" in summary
    # 13 ids, 3 states: the model's probability on the other 10 is shown, not renormalised away
    other = 1.0 - float(window.analysis.results.probs[29, 1:K + 1].sum())
    assert f"{other:.4f} of it is on the 10 tokens that are not states" in view.counts.text()
    assert set(view.matrices()) == {"true_transition_matrix", "bigram_estimate", "transition_counts",
                                    "next_state_probabilities"}


def test_a_model_whose_vocabulary_is_the_states(qtbot, make_window) -> None:
    """No start token, d_vocab = k (a trained Markov model's vocabulary): position 0 is a state, nothing else."""
    from induction_gui.engine import ModelConfig, Weights
    from induction_gui.model.scenario_object import Scenario

    chain = random_chain(K, 1.0, 4)
    weights = Weights.random(ModelConfig(n_layers=2, n_heads=1, d_model=16, d_head=8, d_vocab=K, n_ctx=40), seed=2)
    scenario = Scenario(title="three states", vocab=["x", "y", "z"], tokens=np.zeros(1, np.int64), weights=weights,
                        bos=None, view={"markov_chain": chain})
    window = make_window("build-your-own")
    window.replace(scenario, None)
    _generate(window, length=40, seed=3)
    tokens = window.document.scenario.tokens
    assert tokens.size == 40 and tokens.max() < K  # the generator on a model without a start token
    view = _counting_view(qtbot, window)
    window.document.set_selection(query_pos=0)  # the first token is a state here: nothing counted before it
    qtbot.waitUntil(lambda: view.shown is not None and view.shown.position == 0)
    np.testing.assert_allclose(_bars(view)["bigram"], 1.0 / K)  # the prior alone
    window.document.set_selection(query_pos=30)
    qtbot.waitUntil(lambda: view.shown.position == 30)
    states = [int(t) for t in tokens]
    pairs = [[0] * K for _ in range(K)]
    for s in range(1, 31):
        pairs[states[s - 1]][states[s]] += 1
    i = states[30]
    bars = _bars(view)
    np.testing.assert_allclose(bars["bigram"], [(pairs[i][j] + 1) / (sum(pairs[i]) + K) for j in range(K)])
    np.testing.assert_allclose(bars["model"], window.analysis.results.probs[30], rtol=1e-9)
    np.testing.assert_allclose(view.true_map.data, chain, rtol=1e-6)
    assert "softmax over its vocabulary, the k states themselves" in view.counts.text()
    assert view.last_error is None


def test_a_sequence_not_over_the_states_is_refused_in_words(qtbot, make_window) -> None:
    window = make_window("induction-circuit")  # <s> A B C D A B C D: D is not one of the 3 states
    view = _counting_view(qtbot, window)
    qtbot.waitUntil(lambda: bool(view.message))
    assert "position 4 holds “D”" in view.message and '"Markov chain" generator' in view.message
    assert view.heading.isVisible() and "position 4 holds" in view.heading.text()
    assert not view.splitter.isVisible() and view.counting is None and view.matrices() == {}
    # generating a Markov chain sequence brings the numbers back
    _generate(window)
    qtbot.waitUntil(lambda: view.counting is not None)
    assert view.splitter.isVisible() and view.message == ""
    _check_position(view, window, 24)


def test_the_counting_tab_with_numbers_fits_the_classroom_screens(tmp_path: Path) -> None:
    """3 and 8 states, desk layout and presentation, 1280x720 and 1366x768 under Xvfb: no screen rule broken.

    The presets' own sequences only show the refusal (test_screen_fit covers that); here the bars, counts and
    both matrices are drawn. The two screens run side by side, each in a fresh settings folder.
    """
    xvfb_run = shutil.which("xvfb-run")
    assert xvfb_run, "xvfb-run is missing: run scripts/setup.sh"
    started = {}
    for screen, largest in SCREENS.items():
        out = tmp_path / f"report-{screen}.json"
        env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
        env.update(QT_QPA_PLATFORM="xcb", HOME=str(tmp_path / f"home-{screen}"),
                   XDG_CONFIG_HOME=str(tmp_path / f"c-{screen}"), XDG_DATA_HOME=str(tmp_path / f"d-{screen}"),
                   OPENBLAS_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
        started[screen] = (subprocess.Popen(
            [xvfb_run, "-a", "-s", f"-screen 0 {screen}x24", sys.executable, str(DRIVER), "--largest", largest,
             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(ROOT)),
            out)
    for screen, (process, out) in started.items():
        try:
            _, stderr = process.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert process.returncode == 0, stderr[-3000:]
        report = json.loads(out.read_text())
        cases = {c["case"]: c for c in report["cases"]}
        assert list(cases) == ["k=3", "k=3 presenting", "k=8", "k=8 presenting"], cases
        for case in cases.values():
            assert case["states"] == int(case["case"][2]) and case["position"] == 20, case
            assert case["message"] == "" and case["error"] is None, case
        assert cases["k=3"]["numbers_in_cells"], "3 states: the numbers fit their cells"
        assert report["violations"] == [], f"{screen}: " + "\n".join(
            f"{v['case']}: {v['rule']}: {v['widget']} ({v['sizes']})" for v in report["violations"])


def test_hovering_the_sequence_strip_counts_up_to_that_position_and_a_click_focuses_it(qtbot, make_window) -> None:  # noqa: ANN001
    from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    window = make_window("build-your-own")
    _generate(window, length=25)
    view = _counting_view(qtbot, window)
    strip = view.strip
    tokens = window.document.scenario.tokens
    assert strip.isVisible() and len(strip.states) == tokens.size and strip.states[0] is None  # the start token
    assert [s + 1 for s in strip.states[1:]] == [int(t) for t in tokens[1:]]
    focused = window.document.selection.query_pos
    assert strip.focused == focused and view.shown.position == focused

    def centre(pos: int) -> QPoint:
        return strip.cell_rect(pos).center().toPoint()

    # a move event sent to the strip itself (QTest.mouseMove lands by window position, which offscreen misplaces)
    move = QMouseEvent(QEvent.Type.MouseMove, QPointF(centre(10)), QPointF(strip.mapToGlobal(centre(10))),
                       Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(strip, move)
    qtbot.waitUntil(lambda: view.shown is not None and view.shown.position == 10)
    _check_position(view, window, 10)  # the bars and counts are those of position 10
    assert window.document.selection.query_pos == focused, "hovering does not move the focus"
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=centre(20))
    qtbot.waitUntil(lambda: window.document.selection.query_pos == 20)
    QApplication.sendEvent(strip, QEvent(QEvent.Type.Leave))  # the pointer leaves the strip
    qtbot.waitUntil(lambda: view.shown.position == 20 and strip.focused == 20)
