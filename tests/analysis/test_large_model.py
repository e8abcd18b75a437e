"""A large vocabulary in the analysis: attention first, logits in the slow tier, circuits on a subset."""

from __future__ import annotations

import numpy as np
import pytest

from induction_gui import engine
from induction_gui.analysis import Analysis, Pending, compute_results
from induction_gui.model.document import Document
from induction_gui.model.scenario import Scenario

from test_analysis import FakeExecutor  # the same module directory (pytest prepends it)

# large enough that the unembedding leaves the edit path, small enough for the default suite
LARGE = engine.ModelConfig(n_layers=2, n_heads=8, d_model=512, d_head=64, d_vocab=8000, n_ctx=256)


@pytest.fixture(scope="module")
def weights() -> engine.Weights:
    return engine.Weights.random(LARGE, seed=0)


@pytest.fixture
def live(weights: engine.Weights) -> Analysis:
    rng = np.random.default_rng(1)
    block = rng.integers(1, LARGE.d_vocab, size=20)
    tokens = np.concatenate([[0], block, block])  # [BOS, r, r]
    scenario = Scenario(title="large", vocab=[f"t{i}" for i in range(LARGE.d_vocab)], tokens=tokens.tolist(),
                        weights=weights.copy(), bos=0)
    analysis = Analysis(Document(scenario), executor=FakeExecutor())
    analysis.recompute()
    return analysis


def test_a_large_models_forward_pass_stops_at_the_attention_cache(weights: engine.Weights) -> None:
    tokens = np.arange(1, 129)
    results = compute_results(weights, tokens, {})
    assert not results.unembedded
    logits, cache = engine.run_with_cache(weights, tokens)
    np.testing.assert_array_equal(results.cache["pattern", 1], cache["pattern", 1])
    np.testing.assert_array_equal(results.logits, logits[0])  # unembedded on first use
    assert results.unembedded
    np.testing.assert_allclose(results.probs.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(results.loss, engine.per_token_loss(logits, tokens)[0], rtol=1e-5)
    assert compute_results(weights, tokens, {}, logits=True).unembedded


def test_the_logits_and_what_reads_them_are_slow_entries_of_a_large_model(live: Analysis) -> None:
    executor = live.executor
    assert not live.results.unembedded  # the attention views draw from this already
    assert live.get("detector", pattern="induction_head", measure="mul", exclude_bos=True).shape == (2, 8)
    for name in ("logits", "top_k", "loss_halves", "icl", "logit_columns"):
        assert isinstance(live.get(name), Pending), name
    executor.jobs[0].run()  # the logits
    assert live.latest_results is not None and live.latest_results.unembedded
    for job in executor.jobs[1:]:
        job.run()
    top = live.get("top_k")
    assert top.shape == (41, 3)
    np.testing.assert_array_equal(top[:, 0], live.results.logits.argmax(axis=-1))
    columns = live.get("logit_columns")
    assert set(live.scenario.tokens.tolist()) <= set(columns.tolist()) and columns.size <= 256


def test_a_large_vocabularys_circuits_are_shown_on_the_sequence_and_its_top_tokens(live: Analysis) -> None:
    subset = live.get("circuit_tokens", kind="ov", layer=1, head=0)
    distinct = np.unique(live.scenario.tokens).size
    assert subset.n_sequence == distinct and subset.ids.size == 64
    ids = tuple(int(t) for t in subset.ids)
    m = live.get("full_ov", layer=1, head=0, tokens=ids)
    assert m.shape == (64, 64)
    np.testing.assert_allclose(m, engine.full_ov_circuit(live.scenario.weights, 1, 0, rows=ids, cols=ids))
    assert f"the {distinct} distinct tokens of the sequence and the {64 - distinct} with the largest" in \
        subset.describe()
    # the vocabulary-sized scores go to the worker; the top-1 accuracy is sampled and says so
    assert isinstance(live.get("ov_top1"), Pending)
    assert "sampled source tokens" in live.get("ov_top1_sample")


def test_a_small_vocabulary_keeps_whole_circuits_and_synchronous_logits() -> None:
    from induction_gui import load_scenario

    analysis = Analysis(Document(load_scenario("induction-circuit")), executor=FakeExecutor())
    analysis.recompute()
    assert analysis.results.unembedded
    assert analysis.get("circuit_tokens", kind="ov", layer=1, head=0) is None
    assert not isinstance(analysis.get("top_k"), Pending) and not isinstance(analysis.get("ov_top1"), Pending)
    assert analysis.get("ov_top1_sample") == ""
