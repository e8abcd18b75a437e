"""The ``printed`` entry (X, A, z of one head) against the engine's cache, and its text against the exported script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from induction_gui import load_scenario
from induction_gui.analysis import Analysis
from induction_gui.analysis.entries.printed import NO_SOURCE, copy_source, describe_method
from induction_gui.analysis.printed_text import SCRIPT_DECIMALS, lecture_block, printed_text
from induction_gui.engine import Weights, run_with_cache
from induction_gui.engine.attention import HeadOverride
from induction_gui.model.document import Document
from induction_gui.model.script_export import script_text

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_tl"
# float32 products recomputed in another order than the engine's fused GEMMs: a few ulp of the largest value
TOL = dict(rtol=1e-5, atol=1e-5)


def _check_against_cache(analysis: Analysis, layer: int, head: int) -> None:
    """X, A, z of one head from the entry equal what the engine's own cache says the head read and wrote."""
    p = analysis.get("printed", layer=layer, head=head)
    weights = analysis.state().weights
    _, cache = run_with_cache(weights, analysis.state().tokens, analysis.state().overrides)
    w_v = weights[f"blocks.{layer}.attn.W_V"][head]  # [d_model, d_head]
    b_v = weights[f"blocks.{layer}.attn.b_V"][head]  # [d_head]
    w_o = weights[f"blocks.{layer}.attn.W_O"][head]  # [d_head, d_model]
    np.testing.assert_array_equal(p.pattern, cache["pattern", layer][0, head])
    # X is what the head reads: its values are X·W_V + b_V (hook_v), whatever the normalisation
    np.testing.assert_allclose(p.x @ w_v + b_v, cache["v", layer][0, :, head], **TOL)
    if weights.config.normalization_type is None:
        np.testing.assert_array_equal(p.x, cache["resid_pre", layer][0])
    np.testing.assert_allclose(p.z["AX"], cache["pattern", layer][0, head] @ p.x, **TOL)
    np.testing.assert_allclose(p.z["AXWOV"], p.z["AX"] @ w_v @ w_o, **TOL)
    # with b_V put back, A·X·W_OV is the head's output hook_result (row i gains Σ_k A[i, k] · b_V · W_O)
    with_bias = p.z["AXWOV"] + p.pattern.sum(axis=1, keepdims=True) * (b_v @ w_o)  # [pos, d_model]
    np.testing.assert_allclose(with_bias, cache["result", layer][0, :, head], **TOL)
    np.testing.assert_array_equal(p.hook_z, cache["z", layer][0, :, head])
    assert p.x.shape == p.z["AX"].shape == p.z["AXWOV"].shape == (p.tokens.size, weights.config.d_model)


@pytest.mark.parametrize(("preset", "layer", "head"), [("lecture-demo", 0, 0), ("induction-circuit", 1, 0),
                                                       ("repeated-random", 1, 1)])
def test_entry_matches_the_cache_on_presets(preset: str, layer: int, head: int) -> None:
    analysis = Analysis(Document(load_scenario(preset)))
    _check_against_cache(analysis, layer, head)
    assert "hook_resid_pre" in analysis.get("printed", layer=layer, head=head).x_label


@pytest.mark.parametrize("variant", ["ln_standard", "lnpre_standard", "rms_standard", "ln_shortformer", "ln_rotary"])
def test_entry_matches_the_cache_on_normalised_models(variant: str) -> None:
    weights = Weights.load(GOLDEN / variant)
    with np.load(GOLDEN / variant / "expected.npz", allow_pickle=False) as data:
        tokens = data["tokens"][0]
    analysis = Analysis.of(weights, tokens)
    for layer in range(weights.config.n_layers):
        _check_against_cache(analysis, layer, weights.config.n_heads - 1)
    p = analysis.get("printed", layer=1, head=0)
    assert f"{weights.config.normalization_type} output of blocks.1.ln1" in p.x_label
    kind = weights.config.positional_embedding_type
    assert ("X holds none" in p.x_label) == (kind != "standard")


def test_a_layer_with_a_gain_reads_the_gain_not_the_bare_normalised_stream() -> None:
    """LN's w and b change X: the entry's X differs from hook_normalized when they are not 1 and 0."""
    weights = Weights.load(GOLDEN / "ln_standard")
    params = dict(weights.items())
    params["blocks.0.ln1.w"] = params["blocks.0.ln1.w"] * 2.0
    params["blocks.0.ln1.b"] = params["blocks.0.ln1.b"] + 0.5
    changed = Weights(params, config=weights.config)
    analysis = Analysis.of(changed, [1, 2, 3, 4])
    _check_against_cache(analysis, 0, 0)
    p = analysis.get("printed", layer=0, head=0)
    assert not np.allclose(p.x, analysis.results.cache["blocks.0.ln1.hook_normalized"][0])


def test_copy_source_takes_the_earliest_of_ties_and_none_from_an_empty_row() -> None:
    assert copy_source(np.array([0.1, 0.6, 0.3])) == (1, 1)
    assert copy_source(np.array([0.5, 0.0, 0.5])) == (0, 2)
    assert copy_source(np.array([0.0, 0.0])) == (NO_SOURCE, 0)
    assert copy_source(np.array([np.nan, 1.0])) == (NO_SOURCE, 0)


def test_an_ablated_head_and_a_bias_are_named_in_the_notes() -> None:
    doc = Document(load_scenario("induction-circuit"))
    doc.set_override((1, 0), HeadOverride(ablation="zero"))
    name = "blocks.1.attn.b_V"
    doc.set_weight(name, doc.scenario.weights[name] + 0.25)
    p = Analysis(doc).get("printed", layer=1, head=0)
    assert p.method.endswith("zero-ablated") and not p.hook_z.any()
    assert any("zero-ablated" in n for n in p.notes)
    assert any("largest |b_V| = 0.25" in n for n in p.notes)
    assert np.abs(p.z["AX"]).max() > 0  # the pattern still copies: A·X is not ablated


def test_the_entry_is_recomputed_when_the_heads_weights_change_and_kept_otherwise() -> None:
    doc = Document(load_scenario("induction-circuit"))
    analysis = Analysis(doc)
    first = analysis.get("printed", layer=1, head=0)
    assert analysis.get("printed", layer=1, head=0) is first
    name = "blocks.1.attn.W_O"
    doc.set_weight(name, doc.scenario.weights[name] * 2.0)
    analysis.recompute()
    second = analysis.get("printed", layer=1, head=0)
    assert second is not first
    np.testing.assert_allclose(second.z["AXWOV"], 2.0 * first.z["AXWOV"], **TOL)


def _run_script(scenario: object, tmp_path: Path, *args: str) -> str:
    script = tmp_path / "scenario_script.py"
    script.write_text(script_text(scenario, filename=script.name), encoding="utf-8")  # type: ignore[arg-type]
    env = {k: os.environ[k] for k in ("PATH", "SYSTEMROOT", "OPENBLAS_NUM_THREADS") if k in os.environ}
    done = subprocess.run([sys.executable, "-s", script.name, *args], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def script_block(stdout: str, layer: int, head: int) -> str:
    """The script's printed block of one head: its "=== layer ..." line up to the next empty line."""
    lines = stdout.splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"=== layer {layer}, head {head} ")))
    end = lines.index("", start)
    return "\n".join(lines[start:end])


@pytest.mark.parametrize(("preset", "layer", "head", "decimals"), [
    ("lecture-demo", 0, 0, SCRIPT_DECIMALS),
    # float32 sums in another order than the engine's GEMMs may differ in the 8th digit: compared at 4
    ("induction-circuit", 1, 0, 4),
    ("repeated-random", 0, 1, 4),
])
def test_the_text_is_the_exported_scripts_block(preset: str, layer: int, head: int, decimals: int,
                                                tmp_path: Path) -> None:
    scenario = load_scenario(preset)
    stdout = _run_script(scenario, tmp_path, "--float32")  # the app computes in float32
    p = Analysis(Document(scenario)).get("printed", layer=layer, head=head)
    expected = script_block(stdout, layer, head)
    if decimals != SCRIPT_DECIMALS:  # the script prints 8 digits: reprint its numbers at `decimals`
        expected = _reprinted(expected, decimals)
    assert lecture_block(p, decimals) == expected
    text = printed_text(p, title=scenario.title, vocab=scenario.vocab, decimals=decimals, z_variant="AX",
                        columns=range(0, p.x.shape[1]))
    assert text.startswith("\n".join(stdout.splitlines()[:2]) + "\n")  # the title and tokens lines
    assert expected in text


def _reprinted(block: str, decimals: int) -> str:
    """The script's block with each array read back and printed at ``decimals`` (header lines kept)."""
    from induction_gui.analysis.printed_text import array_text

    out, array = [], ""
    for line in block.splitlines():
        if line.startswith("[") or array:  # an array's text, whose rows may wrap over several lines
            array += " " + line
            if line.endswith("]]"):
                rows = [[float(v) for v in row.strip(" [").split()] for row in array.split("]") if row.strip(" [")]
                out.append(array_text(np.array(rows, dtype=np.float32), decimals))
                array = ""
            continue
        out.append(line)
    return "\n".join(out)


def test_the_method_sentence_is_the_scripts_for_every_override(tmp_path: Path) -> None:
    scenario = load_scenario("induction-circuit")
    scenario.overrides = {(0, 0): HeadOverride(key_shift=1, score_scale=2.5, ablation="mean"),
                          (1, 0): HeadOverride(normalization="linear", eps=1e-6)}
    stdout = _run_script(scenario, tmp_path)
    for (layer, head), o in scenario.overrides.items():
        assert script_block(stdout, layer, head).splitlines()[0].endswith(f": {describe_method(o)} ===")
    assert f"(L1H1): {describe_method(None)} ===" in stdout


def test_a_long_sequence_of_a_wide_model_goes_to_a_worker() -> None:
    from induction_gui import engine
    from induction_gui.analysis import State
    from induction_gui.analysis.entries.printed import printed_is_slow

    cfg = engine.ModelConfig(n_layers=1, n_heads=8, d_model=512, d_head=64, d_vocab=50, n_ctx=2048)
    weights = engine.Weights.random(cfg)
    assert printed_is_slow(State(weights, np.zeros(2048, dtype=np.int64), {}))  # 4.3 GFLOP of A·X
    assert not printed_is_slow(State(weights, np.zeros(64, dtype=np.int64), {}))
    for preset in ("lecture-demo", "induction-circuit", "repeated-random"):
        assert not printed_is_slow(Analysis(Document(load_scenario(preset))).state())
