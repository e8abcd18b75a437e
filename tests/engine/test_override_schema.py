"""The per-head experiments are declared once: the engine, the scenario file and the script agree with the table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from induction_gui.engine.attention import HeadOverride, shift_matrix
from induction_gui.engine.override_schema import OVERRIDE_FIELDS, OVERRIDE_PARAMS, PARAMS
from induction_gui.model.overrides import override_to_json, parse_override


def test_every_head_override_field_is_declared_with_its_default() -> None:
    fields = {f.name: f for f in dataclasses.fields(HeadOverride)}
    assert tuple(fields) == OVERRIDE_FIELDS
    default = HeadOverride()
    for param in OVERRIDE_PARAMS:
        assert getattr(default, param.name) is param.default or getattr(default, param.name) == param.default
        assert param.doc and param.label


@pytest.mark.parametrize(
    ("name", "bad"),
    [("normalization", "cubic"), ("eps", -1.0), ("key_shift", -1), ("key_shift", True), ("score_scale", np.nan),
     ("ablation", "half")],
)
def test_the_engine_and_the_file_refuse_what_the_table_refuses(name: str, bad: object) -> None:
    assert PARAMS[name].problem(bad)
    with pytest.raises(ValueError, match=name):
        HeadOverride(**{name: bad})
    with pytest.raises(ValueError, match=name):
        parse_override({name: bad}, "o")


def test_a_file_round_trip_keeps_every_field() -> None:
    override = HeadOverride(normalization="linear", eps=1e-6, fixed_pattern=shift_matrix(3), key_shift=1,
                            score_scale=2.5, ablation="mean")
    doc = override_to_json(override)
    assert tuple(doc) == OVERRIDE_FIELDS
    assert parse_override(doc, "o") == override and np.array_equal(parse_override(doc, "o").fixed_pattern,
                                                                     override.fixed_pattern)
    assert override_to_json(HeadOverride()) == {}
