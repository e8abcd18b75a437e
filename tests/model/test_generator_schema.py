"""Every sequence generator works at every value its form allows, and refuses by name what it does not.

The ranges come from the same table the generator form builds its spin boxes
from (:data:`GENERATOR_PARAMS`), so the test and the form cannot drift apart.
Hypothesis draws a model (n_ctx, d_vocab, with or without a start token), a
generator, a seed and parameter values at and around the edges of the ranges.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from induction_gui.engine.config import ModelConfig
from induction_gui.engine.weights import Weights
from induction_gui.model.generator_schema import SEED_MAX, ModelLimits, check_params
from induction_gui.model.scenario_object import Scenario
from induction_gui.model.sequence_edit import GENERATORS, CannotGenerate, generated_tokens


def _scenario(n_ctx: int, d_vocab: int, bos: bool) -> Scenario:
    cfg = ModelConfig(n_layers=1, n_heads=1, d_model=4, d_head=2, d_vocab=d_vocab, n_ctx=n_ctx)
    vocab = ["<bos>", *(f"w{i}" for i in range(1, d_vocab))]
    return Scenario(title="t", vocab=vocab, tokens=np.array([0], np.int64), weights=Weights.zeros(cfg),
                    bos=0 if bos else None)


@st.composite
def requests(draw: st.DrawFn) -> tuple[Scenario, int, int, dict[str, int], bool]:
    """(scenario, generator index, seed, parameter values, whether every value is in its range)."""
    scenario = _scenario(draw(st.integers(1, 70)), draw(st.integers(2, 40)), draw(st.booleans()))
    index = draw(st.integers(0, len(GENERATORS) - 1))
    limits = ModelLimits.of(scenario)
    values: dict[str, int] = {}
    inside = True
    for param in GENERATORS[index].params:
        lo, hi = param.range(limits, values)
        # the edges, their neighbours just outside, and anything between
        value = draw(st.sampled_from([lo, hi, lo - 1, hi + 1]) | st.integers(min(lo, hi) - 2, max(lo, hi) + 2))
        inside = inside and lo <= value <= hi
        values[param.name] = value
    seed = draw(st.sampled_from([0, 1, SEED_MAX]) | st.integers(0, SEED_MAX))
    return scenario, index, seed, values, inside


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_every_generator_gives_a_valid_sequence_or_a_refusal_naming_why(request) -> None:
    scenario, index, seed, values, inside = request
    spec = GENERATORS[index]
    cfg = scenario.weights.config
    try:
        gen = spec.generate(scenario, seed, **values)
    except CannotGenerate as exc:
        message = str(exc)
        named = [p.name for p in spec.params if message.startswith(f"{p.name}:")]
        assert named or "d_vocab" in message or "n_ctx" in message, message
        if not inside:
            return
        # inside every range: a generator with parameters must work, unless no value fits the model at all;
        # one without (a fixed sentence, a repeat beyond n_ctx) may find the model too small, and says so
        if spec.params:
            assert "no value fits" in message, message
        else:
            assert "n_ctx" in message or "d_vocab" in message, message
        return
    assert inside, f"{spec.key} accepted {values} outside the declared ranges"
    tokens = generated_tokens(gen, scenario.vocab if gen.vocab is None else list(gen.vocab))  # [pos]
    assert tokens.ndim == 1 and 1 <= tokens.size <= cfg.n_ctx
    if gen.vocab is None:
        assert int(tokens.max()) < cfg.d_vocab and int(tokens.min()) >= 0


def test_a_value_outside_the_range_is_refused_naming_the_parameter() -> None:
    scenario = _scenario(32, 13, True)
    spec = next(s for s in GENERATORS if s.key == "planted_repeat")
    try:
        spec.generate(scenario, 0, length=20, distance=19)
    except CannotGenerate as exc:
        assert str(exc) == "distance: must be between 2 and 18 for this model, got 19"
    else:
        raise AssertionError("distance 19 in length 20 after a start token cannot fit")
    assert check_params("planted_repeat", ModelLimits.of(scenario), {"length": 20, "distance": 18}) == ""


def test_every_in_range_value_at_the_edges_of_every_preset_model_generates() -> None:
    """The real models: every edge of every range gives a sequence (or the model is too small, said so)."""
    from induction_gui import load_scenario
    from induction_gui.resources import preset_names

    for name in preset_names():
        scenario = load_scenario(name)
        limits = ModelLimits.of(scenario)
        for spec in GENERATORS:
            combos: list[dict[str, int]] = [{}]
            for param in spec.params:
                combos = [{**c, param.name: v} for c in combos for v in set(param.range(limits, c))]
            for values in combos:
                try:
                    gen = spec.generate(scenario, 0, **values)
                except CannotGenerate as exc:
                    assert "n_ctx" in str(exc), (name, spec.key, values, str(exc))  # the sentence is too long
                    continue
                assert len(gen.tokens) <= scenario.weights.config.n_ctx, (name, spec.key, values)
