"""Entries computed while the results on screen lag the document by a frame read one sequence, not two.

The views draw the last forward pass while a worker computes the next; an
entry that took the block length of the document's new ``[BOS, r, r]``
sequence and applied it to the old patterns failed ("a 9-position pattern has
no diagonal at offset -9").
"""

from __future__ import annotations

import numpy as np

from induction_gui import engine, load_scenario
from induction_gui.analysis import Analysis
from induction_gui.model.document import Document


def test_stripes_and_loss_halves_read_the_sequence_of_the_results_they_use() -> None:
    analysis = Analysis(Document(load_scenario("repeated-random")))  # [BOS, r1..r10, r1..r10]
    analysis.recompute()
    doc = analysis.document
    bos, block = doc.scenario.bos, doc.scenario.tokens[1:5]
    doc.set_tokens(np.concatenate([[bos], block, block]))  # [BOS, r1..r4, r1..r4]: not computed yet
    assert analysis.latest_results is not None and analysis.latest_results.tokens.size == 21
    shown = analysis.latest_results.patterns()  # [layer, head_index, query_pos, key_pos] of 21 positions
    stripes = analysis.get("stripes")  # from the 21-token results on screen: their own block of 10, not 4
    np.testing.assert_allclose(stripes["induction"], engine.induction_stripe_score(shown, 10))
    halves = analysis.get("loss_halves")
    assert halves == engine.first_and_repeat_loss(analysis.latest_results.loss, 10)
    analysis.recompute()
    new = analysis.latest_results.patterns()  # [layer, head_index, 9, 9]
    np.testing.assert_allclose(analysis.get("stripes")["induction"], engine.induction_stripe_score(new, 4))


def test_a_one_token_sequence_has_no_previous_token_stripe_and_no_error() -> None:
    analysis = Analysis(Document(load_scenario("induction-circuit")))
    analysis.document.set_tokens(analysis.document.scenario.tokens[:1])
    analysis.recompute()
    stripes = analysis.get("stripes")
    assert np.isnan(stripes["previous_token"]).all() and stripes["previous_token"].shape == (2, 2)
