"""check and export on a real-size model in a process capped at 8 GiB of address space (ulimit -v)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import induction_gui
from induction_gui import engine
from induction_gui.model.scenario import Scenario, save_scenario

ADDRESS_SPACE = 8 * 2**30  # the cap the issue sets: a laptop's share, not the machine's
ROOT = Path(induction_gui.__file__).resolve().parent.parent  # run this checkout, not an installed copy


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_capped(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["OPENBLAS_NUM_THREADS"] = "1"  # each BLAS thread reserves its own buffers of address space
    return subprocess.run([sys.executable, "-m", "induction_gui", *args], capture_output=True, text=True,
                          timeout=900, env=env, preexec_fn=_capped)


def _real_size_scenario(folder: Path, d_vocab: int, n_pos: int) -> Path:
    """attn-only-2l's shapes (d_model 512, 8 heads × 64, n_ctx 2048) at ``d_vocab``, a [BOS, r, r] sequence."""
    cfg = engine.ModelConfig(n_layers=2, n_heads=8, d_model=512, d_head=64, d_vocab=d_vocab, n_ctx=2048)
    rng = np.random.default_rng(0)
    block = rng.integers(1, d_vocab, size=(n_pos - 1) // 2)
    scenario = Scenario(title="real size", vocab=[f"t{i}" for i in range(d_vocab)],
                        tokens=np.concatenate([[0], block, block]).tolist(), weights=engine.Weights.random(cfg),
                        bos=0)
    path = folder / "real.json"
    save_scenario(scenario, path)
    return path


def _check_and_export(tmp_path: Path, d_vocab: int, n_pos: int) -> None:
    path = _real_size_scenario(tmp_path, d_vocab, n_pos)
    checked = run_capped("check", str(path))
    assert checked.returncode == 0, checked.stderr
    out = tmp_path / "out"
    exported = run_capped("export", str(path), "--out", str(out), "-q")
    assert exported.returncode == 0, exported.stderr
    report = json.loads((out / "metrics.json").read_text())
    assert len(report["scenario"]["tokens"]) == n_pos
    assert report["scenario"]["config"]["d_vocab"] == d_vocab
    assert np.load(out / "logits.npy", mmap_mode="r").shape == (1, n_pos, d_vocab)
    assert "blocks.1.attn.hook_pattern" in np.load(out / "cache.npz").files
    assert len(list(out.glob("attention_L*H*.csv"))) == (16 if n_pos <= 512 else 0)


def test_check_and_export_an_8000_token_model_within_8_gib(tmp_path: Path) -> None:
    _check_and_export(tmp_path, d_vocab=8000, n_pos=65)


@pytest.mark.slow
@pytest.mark.parametrize("n_pos", [129, 2047])
def test_check_and_export_attn_only_2l_sizes_within_8_gib(tmp_path: Path, n_pos: int) -> None:
    _check_and_export(tmp_path, d_vocab=48262, n_pos=n_pos)  # 2047: ~2 minutes, ~4 GB resident


def test_a_long_sequence_gets_no_pattern_csvs_but_says_where_they_are(tmp_path: Path) -> None:
    from induction_gui.analysis.export import CSV_MAX_POS, CSV_SKIPPED_NAME, export_scenario

    cfg = engine.ModelConfig(n_layers=1, n_heads=2, d_model=8, d_head=4, d_vocab=10, n_ctx=CSV_MAX_POS + 8)
    scenario = Scenario(title="long", vocab=[f"t{i}" for i in range(10)], tokens=np.arange(CSV_MAX_POS + 1) % 10,
                        weights=engine.Weights.random(cfg))
    written = export_scenario(scenario, tmp_path)
    assert not list(tmp_path.glob("attention_L*H*.csv"))
    assert (tmp_path / CSV_SKIPPED_NAME) in written
    assert "hook_pattern" in (tmp_path / CSV_SKIPPED_NAME).read_text()
