"""Built-in scenarios: in step with the code that makes them, loadable, and doing what they claim."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from induction_gui import engine, list_presets, load_scenario
from induction_gui.model.presets import PRESETS, write_presets
from induction_gui.resources import resource_path

PRESET_NAMES = sorted(PRESETS)


def test_every_generated_preset_is_committed_and_identical(tmp_path: Path) -> None:
    write_presets(tmp_path)
    committed = Path(resource_path("scenarios"))
    generated = sorted(p.name for p in tmp_path.iterdir())
    assert generated == sorted(p.name for p in committed.iterdir()), "regenerate: python -m induction_gui.model.presets"
    for name in generated:
        assert (tmp_path / name).read_bytes() == (committed / name).read_bytes(), f"{name} is stale"


def test_list_presets_names_every_preset() -> None:
    assert [name for name, _ in list_presets()] == PRESET_NAMES
    assert all(description for _, description in list_presets())


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_loads_runs_and_reports(name: str) -> None:
    sc = load_scenario(name)
    logits, cache = engine.run_with_cache(sc.weights, sc.tokens, sc.overrides)
    assert np.isfinite(logits).all()
    for layer in range(sc.weights.config.n_layers):
        rows = cache["pattern", layer][0].sum(-1)  # [head_index, query_pos]
        assert np.all((np.abs(rows - 1) < 1e-5) | (rows == 0)), "rows sum to 1 (or stay 0 in the lecture's rows)"
    view = sc.view
    if "query_pos" in view:
        assert 0 <= int(view["query_pos"]) < sc.tokens.size


def _predictions(name: str) -> tuple[list[str], list[str]]:
    sc = load_scenario(name)
    logits = engine.run(sc.weights, sc.tokens, sc.overrides)[0]  # [pos, d_vocab]
    return [sc.vocab[t] for t in sc.tokens], [sc.vocab[t] for t in logits.argmax(-1)]


def test_lecture_demo_copies_each_vector_one_step_forward() -> None:
    sc = load_scenario("lecture-demo")
    _, cache = engine.run_with_cache(sc.weights, sc.tokens, sc.overrides, dtype=np.float64)
    pattern = cache["pattern", 0][0, 0]  # [query_pos, key_pos]
    np.testing.assert_array_equal(pattern[0], 0.0)
    np.testing.assert_allclose(np.diag(pattern, -1), 1 / (1 + 1e-8), rtol=1e-15)
    x = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0]])
    np.testing.assert_allclose(cache["z", 0][0, :, 0], pattern @ x, rtol=1e-15)
    assert f"{pattern[1, 0]:.8f}" == "0.99999999"


def test_repeated_random_predicts_the_whole_second_half() -> None:
    sc = load_scenario("repeated-random")
    tokens, predicted = _predictions("repeated-random")
    n = (len(tokens) - 1) // 2
    # position i in the second half predicts token i+1; the last has nothing to predict
    for i in range(n + 1, len(tokens) - 1):
        assert predicted[i] == tokens[i + 1], (i, tokens, predicted)
    effects = engine.ablation_effects(sc.weights, sc.tokens)
    assert effects.loss_change[0, 0] > 0.5, "ablating the previous-token head must hurt"
    assert abs(effects.loss_change[0, 1]) < 1e-6, "ablating the unrelated head changes nothing"


def test_ambiguous_prefix_prefers_the_most_recent_continuation() -> None:
    sc = load_scenario("ambiguous-prefix")
    tokens, predicted = _predictions("ambiguous-prefix")
    q = int(sc.view["query_pos"])
    a = tokens[q]
    continuations = [tokens[i + 1] for i in range(q) if tokens[i] == a]
    assert len(set(continuations)) == 2, "the prefix really is ambiguous"
    assert predicted[q] == continuations[-1]


def test_repeated_names_predicts_the_surname() -> None:
    sc = load_scenario("repeated-names")
    tokens, predicted = _predictions("repeated-names")
    q = int(sc.view["query_pos"])
    assert predicted[q] == tokens[q + 1]
    assert tokens[q] in tokens[:q], "the query is a repeated first name"


def test_no_repeat_has_nothing_to_match() -> None:
    sc = load_scenario("no-repeat")
    assert len(set(sc.tokens.tolist())) == sc.tokens.size
    score = engine.detect_head(sc.weights, sc.tokens, "induction_head", exclude_bos=True)
    assert score[1, 0] < 0.05


def test_bundled_training_run_shows_the_phase_change() -> None:
    from induction_gui.model.training_run import TrainingRun

    run = TrainingRun.open(resource_path("runs", "trained-toy"))
    assert run.status == "finished" and run.formed_at is not None
    steps = run.checkpoint_steps
    near = [s for s in steps if abs(s - run.formed_at) <= 50]
    assert len(near) >= 10, "checkpoints every few steps around the phase change"
    sc = load_scenario("trained-toy")
    tokens = sc.tokens

    def induction(step: int) -> float:
        weights = run.load_checkpoint(step)
        return float(engine.detect_head(weights, tokens, "induction_head", exclude_bos=True)[-1].max())

    assert induction(steps[0]) < 0.3, "before training there is no induction head"
    assert induction(steps[-1]) > 0.9, "after the phase change there is"
    records = run.records
    before = [r for r in records if r.step < run.formed_at - 50]
    after = [r for r in records if r.step > run.formed_at + 50]
    assert np.mean([r.loss_repeat for r in after]) < 0.5 * np.mean([r.loss_repeat for r in before])
