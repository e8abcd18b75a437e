"""Vocabulary-sized work within the memory budget: subsets, row blocks, the attention cache alone."""

from __future__ import annotations

import numpy as np
import pytest

from induction_gui import engine
from induction_gui.engine import budget
from induction_gui.engine.attention_cache import run_attention_cache, unembed
from induction_gui.engine.circuit_tokens import circuit_tokens

# a vocabulary whose full circuits (20,000² float64 = 3.2 GB) exceed the budget, in a tiny model
WIDE = engine.ModelConfig(n_layers=2, n_heads=2, d_model=16, d_head=4, d_vocab=20_000, n_ctx=32)


@pytest.fixture(scope="module")
def wide() -> engine.Weights:
    return engine.Weights.random(WIDE, seed=3)


def test_a_vocabulary_sized_circuit_over_the_budget_is_refused_by_name(wide: engine.Weights) -> None:
    with pytest.raises(budget.BudgetError, match="full OV circuit of L1H0.*20000, 20000"):
        engine.full_ov_circuit(wide, 1, 0)
    with pytest.raises(budget.BudgetError, match="full QK circuit"):
        engine.full_qk_circuit(wide, 0, 1)
    with pytest.raises(budget.BudgetError, match="K-composition"):
        engine.k_composition_circuit(wide, (0, 0), (1, 1))


def test_circuits_on_a_subset_are_the_rows_and_columns_of_the_whole() -> None:
    w = engine.Weights.random(engine.ModelConfig(2, 2, 16, 4, 50, 8), seed=1)
    ids = [7, 3, 49, 0]
    for full, sub in (
        (engine.full_qk_circuit(w, 1, 0), engine.full_qk_circuit(w, 1, 0, rows=ids, cols=ids)),
        (engine.full_ov_circuit(w, 1, 1), engine.full_ov_circuit(w, 1, 1, rows=ids, cols=ids)),
        (engine.k_composition_circuit(w, (0, 1), (1, 0)),
         engine.k_composition_circuit(w, (0, 1), (1, 0), rows=ids, cols=ids)),
    ):
        np.testing.assert_allclose(sub, full[np.ix_(ids, ids)], rtol=1e-12, atol=1e-12)


def test_top1_accuracy_in_row_blocks_equals_the_whole_matrix() -> None:
    w = engine.Weights.random(engine.ModelConfig(2, 2, 16, 4, 50, 8), seed=2)
    whole = engine.ov_top1_accuracy(w)
    np.testing.assert_array_equal(engine.ov_top1_accuracy(w, chunk_rows=7), whole)
    sources = np.arange(0, 50, 5)
    expected = np.array([[np.mean(engine.full_ov_circuit(w, l, h)[sources].argmax(axis=1) == sources)
                          for h in range(2)] for l in range(2)])
    np.testing.assert_array_equal(engine.ov_top1_accuracy(w, sources=sources, chunk_rows=3), expected)


def test_the_subset_is_the_sequence_then_the_tokens_the_circuit_ranks_highest(wide: engine.Weights) -> None:
    tokens = np.array([5, 9, 5, 17, 9, 5])
    sub = circuit_tokens(wide, "ov", tokens, 1, 0, size=12)
    assert sub.ids[:3].tolist() == [5, 9, 17] and sub.n_sequence == 3 and sub.ids.size == 12
    mean_row = engine.full_ov_circuit(wide, 1, 0, rows=[5, 9, 17]).mean(axis=0)  # [d_vocab]
    mean_row[[5, 9, 17]] = -np.inf
    assert sub.ids[3:].tolist() == np.argsort(-mean_row, kind="stable")[:9].tolist()
    assert "the 3 distinct tokens of the sequence and the 9 with the largest mean OV logit" in sub.describe()
    assert "12 of 20,000 tokens" in sub.describe()
    for kind, prev in (("qk", None), ("k_composition", (0, 1))):
        s = circuit_tokens(wide, kind, tokens, 1, 1, prev=prev, size=8)  # type: ignore[arg-type]
        assert s.ids[:3].tolist() == [5, 9, 17] and len(set(s.ids.tolist())) == 8


def test_top_k_by_partition_equals_a_stable_argsort_ties_included() -> None:
    rng = np.random.default_rng(0)
    logits = rng.integers(-3, 4, size=(6, 5000)).astype(np.float32)  # many ties
    expected = np.argsort(-logits.astype(np.float64), axis=-1, kind="stable")[:, :3]
    np.testing.assert_array_equal(engine.top_k_tokens(logits, 3), expected)


def test_the_attention_cache_is_the_forward_pass_without_its_logits(wide: engine.Weights) -> None:
    tokens = np.array([1, 19_999, 4, 1, 19_999, 4])
    logits, cache = engine.run_with_cache(wide, tokens)
    alone = run_attention_cache(wide, tokens)
    assert set(alone) == set(cache)
    for name in cache:
        np.testing.assert_array_equal(alone[name], cache[name], err_msg=name)
    np.testing.assert_array_equal(unembed(alone, WIDE.n_layers, wide["unembed.W_U"], wide["unembed.b_U"]), logits)
    assert wide["unembed.W_U"].shape == (16, 20_000)  # the weights themselves are untouched


def test_top_k_by_partition_without_ties_equals_a_stable_argsort() -> None:
    logits = np.random.default_rng(1).standard_normal((40, 6000)).astype(np.float32)
    logits[3, [10, 20, 30, 40]] = 9.0  # one row with a tie across the k-th value
    expected = np.argsort(-logits.astype(np.float64), axis=-1, kind="stable")[:, :3]
    np.testing.assert_array_equal(engine.top_k_tokens(logits, 3), expected)


def test_a_snapshot_copies_only_the_arrays_replaced_since_the_last_one() -> None:
    from induction_gui.engine.snapshot import Snapshots

    w = engine.Weights.random(engine.ModelConfig(2, 2, 16, 4, 50, 8), seed=4)
    snaps = Snapshots()
    first = snaps.take(w)
    assert first == w and all(first[n] is not w[n] for n in w)  # private copies
    w["blocks.0.attn.W_Q"] = w["blocks.0.attn.W_Q"] * 2  # an edit replaces the array
    second = snaps.take(w)
    assert second == w and second["blocks.0.attn.W_Q"] is not first["blocks.0.attn.W_Q"]
    assert second["embed.W_E"] is first["embed.W_E"]  # unchanged: shared, not copied again
    tokens = np.array([1, 2, 3])
    np.testing.assert_array_equal(engine.run(second, tokens), engine.run(w, tokens))
