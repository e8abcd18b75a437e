"""The document's checks raise what its edits would, and change nothing; saving survives a shorter sequence."""

from __future__ import annotations

import numpy as np
import pytest

from induction_gui import load_scenario
from induction_gui.engine import HeadOverride
from induction_gui.model.document import Document


@pytest.fixture
def doc() -> Document:
    return Document(load_scenario("induction-circuit"))


@pytest.mark.parametrize(
    ("check", "edit"),
    [
        (lambda d: d.check_tokens([0, 10_000]), lambda d: d.set_tokens([0, 10_000])),
        (lambda d: d.check_weight("embed.W_E", np.zeros(3)), lambda d: d.set_weight("embed.W_E", np.zeros(3))),
        (lambda d: d.check_override((5, 0), None), lambda d: d.set_override((5, 0), None)),
        (lambda d: d.check_model_state(["x"], d.scenario.weights, d.scenario.tokens, None),
         lambda d: d.set_model_state(["x"], d.scenario.weights, d.scenario.tokens, None)),
    ],
    ids=["tokens", "weight", "override", "model_state"],
)
def test_a_check_raises_the_edits_error_and_changes_nothing(doc: Document, check, edit) -> None:  # noqa: ANN001
    generation = doc.generation
    with pytest.raises(ValueError) as checked:
        check(doc)
    assert doc.generation == generation
    with pytest.raises(ValueError) as edited:
        edit(doc)
    assert str(checked.value) == str(edited.value)
    assert doc.generation == generation


def test_a_huge_weight_is_refused_by_name_not_stored_as_inf(doc: Document) -> None:
    w = doc.scenario.weights["blocks.0.attn.W_Q"].astype(np.float64)
    w[0, 0, 1] = 1e300
    with pytest.raises(ValueError, match=r"blocks\.0\.attn\.W_Q\[0, 0, 1\]: 1e\+300 is too large for a float32"):
        doc.check_weight("blocks.0.attn.W_Q", w)
    assert np.isfinite(doc.scenario.weights["blocks.0.attn.W_Q"]).all()


def test_accepted_checks_return_what_the_edit_stores(doc: Document) -> None:
    tokens = doc.check_tokens([1, 2, 3])
    assert tokens.tolist() == [1, 2, 3] and tokens.dtype == np.int64
    doc.check_override((0, 0), HeadOverride(key_shift=1))
    assert doc.override((0, 0)) == HeadOverride()


def test_saving_after_the_sequence_got_shorter_than_the_saved_focus(doc: Document) -> None:
    """The opened file focuses query 5; a 3-token sequence must still save (with the focus clamped)."""
    assert doc.scenario.view["query_pos"] == 5
    doc.set_tokens(doc.scenario.tokens[:3])
    saved = doc.scenario_for_saving()
    assert saved.view["query_pos"] == 2
    assert doc.scenario.view["query_pos"] == 5  # the open scenario is not changed by saving
