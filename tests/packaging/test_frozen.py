"""The frozen app (PyInstaller onedir bundle) does everything the installed one does, offline.

A bundle can build and still fail at run time: a resource left out, a Qt plugin
or font missing (every glyph a box), a module PyInstaller did not see. So each
test runs the real executable: the window is rendered to a PNG (offscreen and
through the X11 plugin under Xvfb) and every headless sub-command runs, with
the numbers compared against the source install. Where the tests may create a
network namespace, the executable runs with no network at all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from induction_gui import cli

REPO = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1500),  # the first test pays for the one build of the run
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux bundle is built on Linux only"),
]

BUNDLE_BUDGET_MB = 250.0
MIN_COLOURS = 50  # a window with text and heatmaps has many colours; a blank or all-box render has few


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a learner's first start: no display variables, fresh settings folders."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"), **extra)
    return env


def run(prefix: list[str], frozen: Path, *args: str, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run the frozen executable from a folder outside the checkout (nothing there to fall back on)."""
    return subprocess.run([*prefix, str(frozen), *args], capture_output=True, text=True, cwd=cwd,
                          env=env or _env(cwd, QT_QPA_PLATFORM="offscreen"), timeout=timeout)


def assert_window_png(path: Path, width: int) -> None:
    """``path`` is a rendered window of ``width`` px with real content (text and heatmaps, not blank)."""
    from PySide6.QtGui import QImage

    assert path.is_file(), f"no screenshot {path}"
    image = QImage(str(path))
    assert not image.isNull() and image.width() == width
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > MIN_COLOURS, f"only {len(colours)} colours in {path.name}: the window looks empty"


def test_bundle_layout_and_size(dist: Path, frozen: Path) -> None:
    assert os.access(frozen, os.X_OK)
    internal = frozen.parent / "_internal"
    for resource in ("scenarios/induction-circuit.json", "lessons/course.json", "runs/trained-toy/history.json",
                     "icons/induction-gui.svg"):
        assert (internal / "resources" / resource).is_file(), f"{resource} is not bundled"
    assert any((internal / "pyqtgraph" / "colors" / "maps").glob("*.csv")), "pyqtgraph's colour maps are missing"
    dangling = [p for p in frozen.parent.rglob("*") if p.is_symlink() and not p.exists()]
    assert not dangling, f"dangling symlinks in the bundle: {dangling[:5]}"
    size_mb = sum(p.lstat().st_size for p in frozen.parent.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6
    assert size_mb <= BUNDLE_BUDGET_MB, f"bundle is {size_mb:.0f} MB, budget {BUNDLE_BUDGET_MB:.0f} MB"


def test_version_and_presets(frozen: Path, version: str, offline: list[str], tmp_path: Path) -> None:
    result = run(offline, frozen, "--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"induction-gui {version}"
    result = run(offline, frozen, "presets", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert {"induction-circuit", "trained-toy", "lecture-demo"} <= set(names)


@pytest.mark.parametrize("preset", ["induction-circuit", "trained-toy"])
def test_screenshot_offscreen(frozen: Path, offline: list[str], tmp_path: Path, preset: str) -> None:
    out = tmp_path / f"{preset}.png"
    result = run(offline, frozen, preset, "--screenshot", str(out), "--size", "1400x900", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_window_png(out, 1400)


def test_screenshot_under_xvfb(frozen: Path, offline: list[str], tmp_path: Path) -> None:
    """The X11 path: the bundled xcb plugin and libraries, and fonts through fontconfig."""
    xvfb_run = shutil.which("xvfb-run")
    assert xvfb_run, "xvfb-run is missing: run scripts/setup.sh"
    out = tmp_path / "xcb.png"
    result = subprocess.run(
        [*offline, xvfb_run, "-a", "-s", "-screen 0 1600x1000x24", str(frozen), "induction-circuit",
         "--screenshot", str(out), "--size", "1500x950"],
        capture_output=True, text=True, cwd=tmp_path, env=_env(tmp_path, QT_QPA_PLATFORM="xcb"), timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert_window_png(out, 1500)


def test_export_matches_the_source_install(frozen: Path, offline: list[str], tmp_path: Path) -> None:
    frozen_out, source_out = tmp_path / "frozen", tmp_path / "source"
    result = run(offline, frozen, "export", "induction-circuit", "--out", str(frozen_out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert cli.main(["export", "induction-circuit", "--out", str(source_out), "--quiet"]) == 0
    assert sorted(p.name for p in frozen_out.iterdir()) == sorted(p.name for p in source_out.iterdir())
    with np.load(frozen_out / "cache.npz") as got, np.load(source_out / "cache.npz") as want:
        assert "blocks.0.attn.hook_pattern" in got.files
        assert sorted(got.files) == sorted(want.files)
        for name in want.files:
            # the same NumPy wheel and the same single BLAS thread: the same floats, bit for bit
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    np.testing.assert_array_equal(np.load(frozen_out / "logits.npy"), np.load(source_out / "logits.npy"))
    assert json.loads((frozen_out / "metrics.json").read_text()) == json.loads((source_out / "metrics.json").read_text())


def test_check_accepts_presets_and_rejects_broken_files(frozen: Path, offline: list[str], tmp_path: Path) -> None:
    good = sorted((REPO / "resources" / "scenarios").glob("*.json"))
    result = run(offline, frozen, "check", *map(str, good), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == len(good)
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "induction-gui.scenario", ')
    result = run(offline, frozen, "check", str(broken), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"{broken}: ") and "Traceback" not in result.stderr


def test_train_writes_a_run_the_window_opens(frozen: Path, offline: list[str], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run(offline, frozen, "train", "--preset", "tiny", "--steps", "20", "--checkpoint-every", "10",
                 "--out", str(run_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    history = json.loads((run_dir / "history.json").read_text())
    assert history["status"] == "finished"
    steps = sorted(p.name for p in (run_dir / "checkpoints").glob("step-*.safetensors"))
    assert steps == ["step-00000.safetensors", "step-00010.safetensors", "step-00020.safetensors"]
    result = run(offline, frozen, "check", str(run_dir / "scenario.json"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_export_script_runs_with_plain_numpy(frozen: Path, offline: list[str], tmp_path: Path) -> None:
    script = tmp_path / "lecture.py"
    result = run(offline, frozen, "export-script", "induction-circuit", "--out", str(script), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {script}"
    printed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                             timeout=120)
    assert printed.returncode == 0, printed.stderr
    assert "layer 0, head 0" in printed.stdout and "attention weights" in printed.stdout
