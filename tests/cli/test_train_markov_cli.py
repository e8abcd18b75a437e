"""``induction-gui train --preset markov-chains``: curves.csv and a model folder (issue 15, point 7)."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from induction_gui.engine.weights import Weights
from induction_gui.model.model_folder import scenario_from_model

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m induction_gui ARGS``, as a user runs it, without a display."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(
        [sys.executable, "-m", "induction_gui", *args], capture_output=True, text=True, timeout=120, cwd=REPO, env=env
    )


def test_a_markov_run_writes_the_curves_and_a_model_of_k_states(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_cli("train", "--preset", "markov-chains", "--steps", "40", "--k", "4", "--alpha", "0.5",
                     "--T", "40", "--no-unigram", "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr

    with (out / "curves.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["step", "loss", "kl_uniform", "kl_unigram", "kl_bigram"]
    assert [int(r[0]) for r in rows[1:]] == [0, 20, 40]  # the untrained model, then every eval_every steps
    for row in rows[1:]:
        values = [float(v) for v in row[1:]]
        assert all(math.isfinite(v) for v in values) and all(v >= 0 for v in values)
        assert values[0] > 0.5  # a cross-entropy over 4 states, in nats, far from 0 after 40 steps

    config = json.loads((out / "history.json").read_text(encoding="utf-8"))["config"]
    settings = (config["k"], config["d_vocab"], config["alpha"], config["no_unigram"], config["n_ctx"])
    assert settings == (4, 4, 0.5, True, 40)

    weights = Weights.load(out / "model")
    assert weights.config.d_vocab == 4 and weights.config.n_ctx == 40 and weights.config.n_layers == 2
    tl = json.loads((out / "model" / "config.json").read_text(encoding="utf-8"))
    assert tl["d_vocab"] == 4 and tl["attn_only"] is True and tl["default_prepend_bos"] is False
    scenario = scenario_from_model(out / "model")  # what the window's File > Open model reads
    assert len(scenario.vocab) == 4
    assert scenario.weights == Weights.load(out / "checkpoints" / "step-00040.safetensors")

    assert f"wrote {out / 'curves.csv'}" in result.stdout and "unigram" in result.stdout
    assert "KL bigram" in result.stderr  # the progress line shows the phase


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--k", "9"], "k: expected 2 to 8 states, got 9 (--k)"),
        (["--alpha", "0"], "alpha: expected a positive finite number, got 0.0 (--alpha)"),
        (["--d-vocab", "5"], "d_vocab: a Markov-chain model's tokens are its k states"),
        (["--n-ctx", "2"], "n_ctx: expected ≥ 4"),
    ],
)
def test_bad_markov_options_are_refused_by_name(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "run"
    result = run_cli("train", "--preset", "markov-chains", *args, "--out", str(out))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("args", [["--k", "4"], ["--alpha", "0.5"], ["--no-unigram"]])
def test_a_chain_option_on_another_preset_is_refused_not_ignored(tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "run"
    result = run_cli("train", "--preset", "tiny", *args, "--out", str(out))
    assert result.returncode == 2, result.stderr
    name = args[0].removeprefix("--").replace("-", "_")
    assert f"{name}: only the markov-chains dataset has Markov chains" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
