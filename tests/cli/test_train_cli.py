"""``induction-gui train`` through a real subprocess: the run folder, bad input, divergence, Ctrl+C, --overwrite."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from induction_gui import load_scenario
from induction_gui.engine.training import StepRecord, TrainConfig
from induction_gui.model.training_run import TrainingRun

REPO = Path(__file__).resolve().parents[2]
# the "tiny" preset made smaller still: a step takes about a millisecond
SMALL = ("--preset", "tiny", "--d-model", "16", "--d-head", "8", "--batch-size", "4")
CONFIG_KEYS = {f for f in TrainConfig.__dataclass_fields__}
RECORD_KEYS = {f for f in StepRecord.__dataclass_fields__}


def cli_env() -> dict[str, str]:
    """No display: the verb must not need one."""
    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m induction_gui ARGS``, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "induction_gui", *args],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=cli_env(),
    )  # fmt: skip


def test_a_short_run_writes_history_checkpoints_and_a_scenario(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_cli("train", *SMALL, "--steps", "12", "--checkpoint-every", "5", "--seed", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr

    doc = json.loads((out / "history.json").read_text(encoding="utf-8"))
    assert doc["format"] == "induction-gui.training" and doc["version"] == 1 and doc["status"] == "finished"
    assert set(doc["config"]) == CONFIG_KEYS
    assert doc["config"]["steps"] == 12 and doc["config"]["seed"] == 3 and doc["config"]["d_model"] == 16
    assert [r["step"] for r in doc["records"]] == list(range(1, 13))
    for record in doc["records"]:
        assert set(record) == RECORD_KEYS
        assert len(record["prefix_matching"]) == 2 and len(record["prefix_matching"][0]) == 1
    assert "formed_at" in doc
    # the untrained model, every checkpoint_every steps, and the last step
    names = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert names == [f"step-{s:05d}.safetensors" for s in (0, 5, 10, 12)]

    scenario = load_scenario(out / "scenario.json")
    run = TrainingRun.open(out)
    assert scenario.weights == run.load_checkpoint(12)
    assert scenario.vocab[0] == "<s>" and len(scenario.vocab) == 33 and len(scenario.tokens) <= 32

    assert f"wrote {out / 'history.json'}" in result.stdout and f"wrote {out / 'scenario.json'}" in result.stdout
    assert "4 checkpoints" in result.stdout
    # not a terminal: plain progress lines (every 10 %), no carriage returns
    assert "\r" not in result.stderr and "step 12/12" in result.stderr and "steps/s" in result.stderr


def test_quiet_prints_nothing(tmp_path: Path) -> None:
    result = run_cli("train", *SMALL, "--steps", "3", "--out", str(tmp_path / "run"), "-q")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lr", "0"], "lr: expected a positive finite number, got 0.0 (--lr)"),
        (["--lr=-1e-3"], "lr: expected a positive finite number, got -0.001"),
        (["--lr", "nan"], "lr: expected a positive finite number, got nan"),
        (["--n-ctx", "3"], "n_ctx: expected ≥ 4"),
        (["--d-vocab", "1"], "d_vocab: expected ≥ 2"),
        (["--dataset", "fixed-period", "--period", "40"], "period: a block of 40 tokens is too long for the context"),
        (["--n-heads", "0"], "n_heads: expected ≥ 1"),
        (["--dataset", "words"], "dataset: expected one of"),
        (["--preset", "huge"],
         "unknown preset 'huge' (known: default, slow-motion, tiny, fixed-period, markov-chains)"),
    ],
)
def test_bad_hyperparameters_exit_two_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "run"
    result = run_cli("train", *SMALL, *args, "--out", str(out))
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not out.exists(), "nothing is written for bad input"


def test_divergence_keeps_the_last_good_step_and_exits_two(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_cli("train", *SMALL, "--lr", "1e6", "--steps", "50", "--out", str(out))
    assert result.returncode == 2
    assert "training diverged" in result.stderr and "--lr" in result.stderr and "Traceback" not in result.stderr
    run = TrainingRun.open(out)
    assert run.status == "diverged"
    last = run.checkpoint_steps[-1]
    assert last == len(run.records) < 50, "the last good step is kept as a checkpoint"
    assert load_scenario(out / "scenario.json").weights == run.load_checkpoint(last)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT cannot be sent to a child process on Windows")
def test_ctrl_c_keeps_checkpoints_and_exits_130(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "induction_gui", "train", *SMALL, "--steps", "100000", "--checkpoint-every", "5",
         "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=cli_env(),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (out / "checkpoints" / "step-00005.safetensors").exists():  # training has started
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "interrupted at step" in stderr and "Traceback" not in stderr
    run = TrainingRun.open(out)
    assert run.status == "interrupted"
    assert run.checkpoint_steps[:2] == [0, 5]
    assert run.checkpoint_steps[-1] == len(run.records), "the step in progress completes and is saved"
    assert load_scenario(out / "scenario.json").weights == run.load_checkpoint(run.checkpoint_steps[-1])
    assert "scenario.json" in stdout


def test_overwrite_replaces_only_a_previous_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert run_cli("train", *SMALL, "--steps", "6", "--checkpoint-every", "2", "--out", str(out), "-q").returncode == 0
    (out / "notes.txt").write_text("mine")

    again = run_cli("train", *SMALL, "--steps", "3", "--out", str(out))
    assert again.returncode == 2
    assert "already holds a training run" in again.stderr and "--overwrite" in again.stderr
    assert TrainingRun.open(out).checkpoint_steps == [0, 2, 4, 6], "a refused run changes nothing"

    replaced = run_cli("train", *SMALL, "--steps", "3", "--checkpoint-every", "3", "--out", str(out), "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    run = TrainingRun.open(out)
    assert run.checkpoint_steps == [0, 3] and run.config.steps == 3
    assert (out / "notes.txt").read_text() == "mine"

    other = tmp_path / "other"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    refused = run_cli("train", *SMALL, "--steps", "3", "--out", str(other), "--overwrite")
    assert refused.returncode == 2 and "holds no training run" in refused.stderr
    assert [p.name for p in other.iterdir()] == ["thesis.tex"]


def test_train_never_imports_qt(tmp_path: Path) -> None:
    code = (
        "import sys; from induction_gui.app import main; "
        f"rc = main(['train', '--preset', 'tiny', '--steps', '2', '--out', {str(tmp_path / 'r')!r}, '-q']); "
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))]; "
        "print('RC:', rc, 'QT:', bad)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert "RC: 0 QT: []" in result.stdout, result.stderr
