"""`induction-gui export-script`: the written script runs on NumPy alone and reproduces the engine."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from induction_gui import engine, load_scenario
from induction_gui.engine.config import ModelConfig
from induction_gui.engine.weights import Weights
from induction_gui.model.scenario import Scenario, save_scenario
from induction_gui.model.script_export import SCRIPT_MAX_PARAMS, ScriptExportError, script_text

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(
        [sys.executable, "-m", "induction_gui", *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env
    )


def run_script(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The script in a clean environment: no PYTHONPATH, run from its own folder, user site ignored."""
    env = {k: os.environ[k] for k in ("PATH", "SYSTEMROOT", "OPENBLAS_NUM_THREADS") if k in os.environ}
    return subprocess.run(
        [sys.executable, "-s", script.name, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=script.parent,
        env=env,
    )


def export(name: str, tmp_path: Path) -> Path:
    out = tmp_path / f"{name.replace('-', '_')}.py"
    result = run_cli("export-script", name, "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.name in result.stdout
    return out


@pytest.mark.parametrize("name", ["lecture-demo", "induction-circuit", "repeated-random"])
def test_script_reproduces_the_engine(name: str, tmp_path: Path) -> None:
    script = export(name, tmp_path)
    text = script.read_text(encoding="utf-8")
    assert "induction_gui" not in text, "the script must not need the app"
    assert str(REPO) not in text and str(tmp_path) not in text
    scenario = load_scenario(name)
    cfg = scenario.config
    for flag, dtype in (([], np.float64), (["--float32"], np.float32)):
        result = run_script(script, "--json", *flag)
        assert result.returncode == 0, result.stderr
        got = json.loads(result.stdout)
        assert got["tokens"] == scenario.tokens.tolist()
        assert got["vocab"] == list(scenario.vocab)
        logits, cache = engine.run_with_cache(scenario.weights, scenario.tokens, scenario.overrides, dtype=dtype)
        assert sorted(got["patterns"]) == sorted(f"L{l}H{h}" for l in range(cfg.n_layers) for h in range(cfg.n_heads))
        for layer in range(cfg.n_layers):
            pattern = cache[f"blocks.{layer}.attn.hook_pattern"][0]  # [head, query, key]
            z = cache[f"blocks.{layer}.attn.hook_z"][0]  # [pos, head, d_head]
            for head in range(cfg.n_heads):
                key = f"L{layer}H{head}"
                np.testing.assert_allclose(got["patterns"][key], pattern[head], atol=1e-5, rtol=0)
                np.testing.assert_allclose(got["z"][key], z[:, head], atol=1e-5, rtol=0)
        np.testing.assert_allclose(got["logits"], logits[0], atol=1e-5, rtol=1e-5)
        top = np.asarray(got["logits"]).max(axis=-1)
        picked = np.take_along_axis(logits[0], np.asarray(got["predictions"])[:, None], axis=-1)[:, 0]
        np.testing.assert_allclose(picked, top, atol=1e-5)  # its prediction is the engine's best (up to ties)

    printed = run_script(script)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.count("attention weights") == cfg.n_layers * cfg.n_heads
    assert printed.stdout.count("copied representations") == cfg.n_layers * cfg.n_heads
    assert printed.stdout.count(" -> ") == len(scenario.tokens)


def test_lecture_demo_prints_what_the_lecture_printed(tmp_path: Path) -> None:
    script = export("lecture-demo", tmp_path)
    result = run_script(script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "0.99999999" in out
    # the first matrix printed is A: its row 0 (no earlier token) is all zero, the others 0.99999999
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("attention weights"))
    rows = [[float(x) for x in re.findall(r"\d+\.\d*", line)] for line in lines[start + 1 : start + 5]]
    assert rows[0] == [0.0, 0.0, 0.0, 0.0]
    for i in range(1, 4):
        assert rows[i][i - 1] == pytest.approx(0.99999999, abs=1e-12)
        assert sum(rows[i]) == pytest.approx(0.99999999, abs=1e-12)
    # copied representations: z = A @ X, the previous token's vector scaled by 0.99999999
    got = json.loads(run_script(script, "--json").stdout)
    scenario = load_scenario("lecture-demo")
    X = np.asarray(scenario.weights["embed.W_E"], dtype=np.float64)[scenario.tokens]
    A = np.asarray(got["patterns"]["L0H0"])
    np.testing.assert_allclose(got["z"]["L0H0"], A @ X, atol=1e-12)
    np.testing.assert_allclose(A, np.eye(4, k=-1) / (1 + 1e-8), atol=1e-15)


def test_script_text_is_valid_python_naming_the_scenario() -> None:
    scenario = load_scenario("lecture-demo")
    text = script_text(scenario, filename="demo.py", source="lecture-demo")
    compile(text, "demo.py", "exec")
    assert scenario.title in text.split('"""')[1]
    assert "python demo.py" in text
    assert "dtype=np.float32" in text


def _big_scenario(folder: Path) -> Path:
    cfg = ModelConfig(n_layers=1, n_heads=1, d_model=256, d_head=4, d_vocab=400, n_ctx=8)
    scenario = Scenario(title="big", vocab=[f"t{i}" for i in range(400)], tokens=[0, 1], weights=Weights.zeros(cfg))
    path = folder / "big.json"
    save_scenario(scenario, path, inline=False)
    return path


def test_bad_inputs_exit_two_with_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "induction-gui.scenario", ')
    big = _big_scenario(tmp_path)
    with pytest.raises(ScriptExportError, match=f"{SCRIPT_MAX_PARAMS:,}"):
        script_text(load_scenario(big))
    cases = {
        "no-such-preset": ("no-such-preset", str(tmp_path / "a.py")),
        "broken": (str(broken), str(tmp_path / "b.py")),
        "unwritable": ("lecture-demo", str(tmp_path / "missing" / "c.py")),
        "a folder": ("lecture-demo", str(tmp_path)),
        "too big": (str(big), str(tmp_path / "d.py")),
    }
    for what, (scenario, out) in cases.items():
        result = run_cli("export-script", scenario, "--out", out, cwd=tmp_path)
        assert result.returncode == 2, (what, result.stderr)
        assert "Traceback" not in result.stderr, what
        assert len(result.stderr.strip().splitlines()) == 1, (what, result.stderr)
        assert result.stderr.startswith("induction-gui export-script: "), what
    assert "export" in run_cli("export-script", str(big), "--out", "d.py", cwd=tmp_path).stderr.split(":", 1)[1]
    assert not any(tmp_path.glob("*.py"))


def test_script_piped_into_a_reader_that_stops_early_ends_quietly(tmp_path: Path) -> None:
    """`python script.py | head` must not end in a BrokenPipeError traceback."""
    script = export("induction-circuit", tmp_path)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()  # read the title, then stop reading, as `head -1` does
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert proc.returncode in (0, 1)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
