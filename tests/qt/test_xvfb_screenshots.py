"""Every preset rendered by the real X11 platform plugin under Xvfb, as a learner's machine would.

The rest of the suite runs offscreen; this proves the xcb path (its libraries,
fonts and plugin) works too. ``scripts/setup.sh`` installs Xvfb, so a missing
``xvfb-run`` is a set-up failure, not a reason to skip.

Each preset is a fresh process under a fresh X server (about 2 s). The default
run renders one preset and the presentation layout, enough to prove the xcb
path; every preset renders in every view offscreen in ``test_main_window.py``,
and ``--run-slow`` renders each of them under Xvfb too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from induction_gui.model.presets import PRESETS


XCB_SMOKE_PRESET = "induction-circuit"  # the default preset, rendered in the default run


@pytest.mark.parametrize(
    "preset", [p if p == XCB_SMOKE_PRESET else pytest.param(p, marks=pytest.mark.slow) for p in sorted(PRESETS)]
)
def test_preset_screenshot_under_xvfb(preset: str, tmp_path: Path) -> None:
    xvfb_run = shutil.which("xvfb-run")
    assert xvfb_run, "xvfb-run is missing: run scripts/setup.sh"
    out = tmp_path / f"{preset}.png"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    env.update(QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_DATA_HOME=str(tmp_path / "d"))
    result = subprocess.run(
        [xvfb_run, "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "-m", "induction_gui", preset,
         "--screenshot", str(out), "--size", "1500x950"],
        capture_output=True, text=True, timeout=180, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    image = QImage(str(out))
    assert not image.isNull() and image.width() == 1500
    # a window with text and heatmaps has many colours; a blank or all-box render has few
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 50, f"only {len(colours)} colours: the window looks empty"


def test_presentation_screenshot_under_xvfb(tmp_path: Path) -> None:
    """``--present`` on a 1280x720 X screen: the projector layout renders with the lesson beside the views."""
    xvfb_run = shutil.which("xvfb-run")
    assert xvfb_run, "xvfb-run is missing: run scripts/setup.sh"
    out = tmp_path / "present.png"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    env.update(QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_DATA_HOME=str(tmp_path / "d"))
    result = subprocess.run(
        [xvfb_run, "-a", "-s", "-screen 0 1280x720x24", sys.executable, "-m", "induction_gui", "induction-circuit",
         "--present", "--screenshot", str(out), "--size", "1280x720"],
        capture_output=True, text=True, timeout=180, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    image = QImage(str(out))
    assert not image.isNull() and (image.width(), image.height()) == (1280, 720)
    colours = {image.pixel(x, y) for x in range(0, image.width(), 5) for y in range(0, image.height(), 5)}
    assert len(colours) > 50, f"only {len(colours)} colours: the window looks empty"
