"""The command line through a real subprocess: exit codes, files written, messages on bad input."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from induction_gui import engine, load_scenario

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m induction_gui ARGS`` with no display and no network needed."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(
        [sys.executable, "-m", "induction_gui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd or REPO,
        env=env,
    )


def test_presets_lists_every_preset_with_a_description() -> None:
    result = run_cli("presets")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    names = [line.split()[0] for line in lines]
    for required in ("lecture-demo", "previous-token-head", "induction-circuit", "repeated-random",
                     "no-repeat", "ambiguous-prefix"):
        assert required in names
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines), "every preset needs a description"


def test_check_valid_files_exits_zero() -> None:
    files = sorted(str(p) for p in (REPO / "resources" / "scenarios").glob("*.json"))
    result = run_cli("check", *files)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == len(files)


def test_check_broken_file_exits_two_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text((REPO / "resources" / "scenarios" / "lecture-demo.json").read_text())
    bad = tmp_path / "bad.json"
    doc = json.loads(good.read_text())
    doc["tokens"] = [0, 1, 99]
    doc.pop("text", None)
    bad.write_text(json.dumps(doc))
    truncated = tmp_path / "truncated.json"
    truncated.write_text('{"format": "induction-gui.scenario", ')
    result = run_cli("check", str(good), str(bad), str(truncated))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    err = result.stderr.strip().splitlines()
    assert len(err) == 2
    assert err[0].startswith(f"{bad}: tokens[2]") and "99" in err[0]
    assert err[1].startswith(f"{truncated}: ") and "line 1" in err[1]
    assert f"{good}: ok" in result.stdout


def test_check_missing_file_is_bad_input(tmp_path: Path) -> None:
    result = run_cli("check", str(tmp_path / "nope.json"))
    assert result.returncode == 2
    assert "nope.json" in result.stderr and "Traceback" not in result.stderr


def test_export_writes_cache_logits_metrics_and_csv(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("export", "induction-circuit", "--out", str(out))
    assert result.returncode == 0, result.stderr
    scenario = load_scenario("induction-circuit")
    logits_ref, cache_ref = engine.run_with_cache(scenario.weights, scenario.tokens, scenario.overrides)

    with np.load(out / "cache.npz", allow_pickle=False) as cache:
        assert set(cache.files) == set(cache_ref)
        pattern = cache["blocks.1.attn.hook_pattern"]
        assert pattern.shape == (1, 2, scenario.tokens.size, scenario.tokens.size)  # batch kept
        np.testing.assert_array_equal(pattern, cache_ref["pattern", 1])
    np.testing.assert_array_equal(np.load(out / "logits.npy", allow_pickle=False), logits_ref)

    report = json.loads((out / "metrics.json").read_text())
    metrics = report["metrics"]
    for entry in metrics.values():
        assert entry["variant"] and entry["description"], "every number says what it is and which variant"
    induction = np.array(metrics["induction.mul.exclude_bos"]["value"])
    assert induction.shape == (2, 2) and induction[1, 0] > 0.9
    assert "exclude_bos=True" in metrics["induction.mul.exclude_bos"]["variant"]
    assert np.array(metrics["previous_token.mul"]["value"])[0, 0] > 0.8
    assert report["scenario"]["token_strings"][:3] == ["<s>", "A", "B"]

    with open(out / "attention_L1H0.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][1:] == [f"{i}:{scenario.vocab[t]}" for i, t in enumerate(scenario.tokens)]
    values = np.array([[float(x) for x in row[1:]] for row in rows[1:]])
    np.testing.assert_allclose(values, cache_ref["pattern", 1][0, 0], rtol=1e-7, atol=1e-12)


def test_export_with_text_runs_that_text(tmp_path: Path) -> None:
    result = run_cli("export", "induction-circuit", "--out", str(tmp_path), "--text", "<s> C A F C A", "-q")
    assert result.returncode == 0, result.stderr
    logits = np.load(tmp_path / "logits.npy")
    vocab = load_scenario("induction-circuit").vocab
    # the induction circuit continues the repeat: after the second C comes A, after the second A comes F
    assert vocab[int(logits[0, 4].argmax())] == "A"
    assert vocab[int(logits[0, 5].argmax())] == "F"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text", "<s> A B Z Q"], "--text: not in the vocabulary: 'Z', 'Q'"),
        (["--text", " ".join(["A"] * 40)], "n_ctx is 32"),
        (["--text", ""], "empty"),
    ],
)
def test_export_bad_text_exits_two(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli("export", "induction-circuit", "--out", str(tmp_path / "o"), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists(), "nothing is written for bad input"


def test_export_unknown_preset_lists_the_known_ones(tmp_path: Path) -> None:
    result = run_cli("export", "no-such-preset", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "unknown preset 'no-such-preset'" in result.stderr and "lecture-demo" in result.stderr


def test_export_into_a_file_path_is_bad_input(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("export", "lecture-demo", "--out", str(blocker / "sub"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_two_and_help_lists_everything() -> None:
    assert run_cli("export").returncode == 2
    assert run_cli("--no-such-flag").returncode == 2
    helped = run_cli("--help")
    assert helped.returncode == 0
    for word in ("presets", "export", "check", "--screenshot", "--reset-layout"):
        assert word in helped.stdout
    assert run_cli("--version").stdout.startswith("induction-gui ")


def test_headless_verbs_never_import_qt(tmp_path: Path) -> None:
    code = (
        "import sys; from induction_gui.app import main; "
        f"main(['export', 'lecture-demo', '--out', {str(tmp_path)!r}, '-q']); main(['presets']); "
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))]; "
        "print('QT:', bad)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "QT: []" in result.stdout
