"""The analysis floor: memoized by the revisions of declared inputs, lazy, slow entries cancellable."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from induction_gui import engine, load_scenario
from induction_gui.analysis import ENTRIES, Analysis, EntryFailed, Pending
from induction_gui.analysis.registry import entry
from induction_gui.analysis.report import metrics_of
from induction_gui.model.document import Document
from induction_gui.model.events import WeightsChanged


class FakeJob:
    def __init__(self, work: Callable[[], Iterator[tuple[int, int]]], progress: Callable, done: Callable,
                 failed: Callable) -> None:
        self.work, self.progress, self.done, self.failed = work, progress, done, failed
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def run(self) -> None:
        """Run to the end, as a worker would, then deliver on the 'GUI thread' (here: now)."""
        gen = self.work()
        while True:
            try:
                self.progress(*next(gen))
            except StopIteration as stop:
                self.done(stop.value)
                return
            except Exception as exc:  # noqa: BLE001 - what a worker reports
                self.failed(f"{type(exc).__name__}: {exc}")
                return


class FakeExecutor:
    """Holds submitted jobs until the test runs them: the order of events is the test's to choose."""

    def __init__(self) -> None:
        self.jobs: list[FakeJob] = []

    def submit(self, work: Any, *, progress: Any, done: Any, failed: Any) -> FakeJob:
        job = FakeJob(work, progress, done, failed)
        self.jobs.append(job)
        return job


@pytest.fixture
def live() -> Analysis:
    analysis = Analysis(Document(load_scenario("induction-circuit")), executor=FakeExecutor())
    analysis.recompute()
    return analysis


def _edit(analysis: Analysis, name: str, scale: float = 0.5) -> None:
    doc = analysis.document
    doc.set_weight(name, doc.scenario.weights[name] * scale)


def test_nothing_is_computed_until_asked(live: Analysis) -> None:
    assert list(live.computed) == []
    live.get("copying_scores.ov")
    assert list(live.computed) == ["copying_scores.ov"]


def test_a_value_is_computed_once_per_revision_of_its_inputs(live: Analysis) -> None:
    first = live.get("full_ov", layer=1, head=0)
    assert live.get("full_ov", layer=1, head=0) is first
    assert live.computed.count("full_ov") == 1
    live.document.set_selection(query_pos=2)  # the selection is no input of a circuit
    live.get("full_ov", layer=1, head=0)
    assert live.computed.count("full_ov") == 1


def test_editing_a_layer_1_weight_keeps_layer_0_circuits(live: Analysis) -> None:
    l0 = live.get("full_ov", layer=0, head=0)
    l1 = live.get("full_ov", layer=1, head=0)
    qk0 = live.get("full_qk", layer=0, head=0)
    _edit(live, "blocks.1.attn.W_O")
    assert live.get("full_ov", layer=0, head=0) is l0
    assert live.get("full_qk", layer=0, head=0) is qk0
    new = live.get("full_ov", layer=1, head=0)
    assert new is not l1
    np.testing.assert_allclose(new, 0.5 * l1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new, engine.full_ov_circuit(live.scenario.weights, 1, 0))


def test_editing_the_sequence_keeps_weight_only_entries_and_redoes_forward_ones(live: Analysis) -> None:
    copying = live.get("copying_scores.full_ov")
    scores = live.get("detector", pattern="induction_head", measure="mul", exclude_bos=True)
    doc = live.document
    doc.set_tokens(doc.scenario.tokens[:-1])
    live.recompute()
    assert live.get("copying_scores.full_ov") is copying
    again = live.get("detector", pattern="induction_head", measure="mul", exclude_bos=True)
    assert again is not scores
    expected = engine.detect_head(live.scenario.weights, doc.scenario.tokens, "induction_head", exclude_bos=True)
    np.testing.assert_allclose(again, expected, atol=1e-6)


def test_forward_entries_follow_the_results_the_views_draw(live: Analysis) -> None:
    """While a worker computes the newest forward pass, entries read the results on screen, not a newer guess."""
    before = live.get("top_k", k=3)
    _edit(live, "unembed.W_U", -1.0)
    assert live.is_stale
    assert live.get("top_k", k=3) is before  # still the drawn generation's
    live.recompute()
    assert not np.array_equal(live.get("top_k", k=3), before)


def test_slow_entry_is_pending_then_ready_once(live: Analysis) -> None:
    executor = live.executor
    ready: list[str] = []
    live.events.ready.connect(ready.append)
    first = live.get("ablation_effects", mode="zero")
    assert isinstance(first, Pending)
    assert isinstance(live.get("ablation_effects", mode="zero"), Pending)
    assert len(executor.jobs) == 1, "asking again while it runs starts no second job"
    executor.jobs[0].run()
    assert ready == ["ablation_effects"]
    effects = live.get("ablation_effects", mode="zero")
    expected = engine.ablation_effects(live.scenario.weights, live.scenario.tokens, mode="zero")
    np.testing.assert_allclose(effects.loss_change, expected.loss_change)


def test_a_newer_edit_cancels_a_superseded_slow_entry_and_drops_its_value(live: Analysis) -> None:
    executor = live.executor
    ready: list[str] = []
    live.events.ready.connect(ready.append)
    live.get("ablation_effects", mode="zero")
    old = executor.jobs[0]
    _edit(live, "blocks.0.attn.W_V", 0.0)  # ablation depends on every weight
    assert old.cancelled
    old.run()  # a worker that finished its step anyway: its value must not be taken
    assert ready == [] and live.running == []
    assert isinstance(live.get("ablation_effects", mode="zero"), Pending)
    executor.jobs[1].run()
    assert ready == ["ablation_effects"]
    assert live.get("ablation_effects", mode="zero").base_induction[1, 0] < 0.5  # the silenced circuit's


def test_an_edit_outside_a_slow_entrys_inputs_does_not_cancel_it(live: Analysis) -> None:
    cfg = live.scenario.weights.config
    live.get("composition_baseline", d_model=cfg.d_model, d_head=cfg.d_head, n_samples=20, seed=0)
    _edit(live, "blocks.1.attn.W_Q")
    job = live.executor.jobs[0]
    assert not job.cancelled
    job.run()
    value = live.get("composition_baseline", d_model=cfg.d_model, d_head=cfg.d_head, n_samples=20, seed=0)
    assert value.mean == pytest.approx(engine.composition_baseline(cfg.d_model, cfg.d_head, 20, 0).mean)


def test_a_failing_slow_entry_reports_instead_of_crashing(live: Analysis) -> None:
    live.get("composition_baseline", d_model=0, d_head=1, n_samples=5, seed=0)
    live.executor.jobs[0].run()
    failed = live.get("composition_baseline", d_model=0, d_head=1, n_samples=5, seed=0)
    assert isinstance(failed, EntryFailed) and "d_model=0" in str(failed)


def test_model_replaced_clears_memo_and_pin(live: Analysis) -> None:
    live.get("copying_scores.ov")
    live.pin()
    assert live.pinned is not None
    live.document.replace_scenario(load_scenario("repeated-random"))
    assert live.pinned is None and live.latest_results is None
    scores = live.get("copying_scores.ov")
    np.testing.assert_allclose(scores, engine.copying_scores(live.scenario.weights))


def test_pinned_analysis_keeps_the_state_it_was_pinned_with(live: Analysis) -> None:
    before = live.get("copying_scores.ov").copy()
    pinned = live.pin()
    _edit(live, "blocks.0.attn.W_O", -1.0)
    np.testing.assert_allclose(pinned.get("copying_scores.ov"), before)
    assert live.get("copying_scores.ov")[0, 0] == pytest.approx(-before[0, 0], abs=1e-6)


def test_typed_events_name_the_inputs_they_touch(live: Analysis) -> None:
    seen: list[object] = []
    live.document.events.scenario.connect(seen.append)
    _edit(live, "blocks.1.attn.W_O")
    assert seen == [WeightsChanged(("blocks.1.attn.W_O",))]
    assert live.document.revision("weights/blocks.1.attn.W_O") == live.document.generation
    assert live.document.revision("weights/blocks.0.attn.W_O") == 0


def test_headless_analysis_computes_slow_entries_on_the_spot_and_matches_the_report() -> None:
    sc = load_scenario("repeated-random")
    a = Analysis.of(sc.weights, sc.tokens, sc.overrides, bos=sc.bos, seed=sc.seed)
    metrics = metrics_of(a)
    assert metrics["ablation.loss_change"]["value"] == a.get("ablation_effects", mode="zero").loss_change.tolist()
    assert metrics["induction.mul.exclude_bos"]["value"] == a.get(
        "detector", pattern="induction_head", measure="mul", exclude_bos=True).astype(float).tolist()


def test_every_entry_is_declared_once_with_a_doc_and_a_cost() -> None:
    assert {"detector", "stripes", "full_qk", "full_ov", "positional", "k_composition", "copying_scores.ov",
            "composition_scores", "composition_baseline", "logit_attribution", "ablation_effects",
            "top_k", "loss_halves", "icl", "head_output"} <= set(ENTRIES)
    for e in ENTRIES.values():
        assert e.doc and (e.cost in ("fast", "slow") or callable(e.cost)), e.name
    with pytest.raises(ValueError, match="declared twice"):
        entry("detector", inputs=())(lambda ctx: None)
