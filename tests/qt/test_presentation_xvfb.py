"""The course stepped through in presentation mode on a real X server at 1280x720, as on a projector.

``presentation_walk.py`` runs in a fresh process under Xvfb (xcb platform,
fresh settings folders) and reports, for every lesson step, whatever a class
would not see whole: prose that scrolls, a label cut off, the presenter's
buttons off screen, something drawn over the lesson, no plot of 300x200 px.
The second test runs the same walk on a screen too small for it, so the
check is seen to fail when the layout does not fit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


from induction_gui.model.lessons import lesson_files, load_lesson

WALK = Path(__file__).with_name("presentation_walk.py")
REPO = Path(__file__).resolve().parents[2]


def walk(tmp_path: Path, screen: str, *args: str) -> dict:
    xvfb_run = shutil.which("xvfb-run")
    assert xvfb_run, "xvfb-run is missing: run scripts/setup.sh"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    env.update(QT_QPA_PLATFORM="xcb", HOME=str(tmp_path / "h"), XDG_CONFIG_HOME=str(tmp_path / "c"),
               XDG_DATA_HOME=str(tmp_path / "d"), OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p))
    result = subprocess.run(
        [xvfb_run, "-a", "-s", f"-screen 0 {screen}x24", sys.executable, str(WALK), *args],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout[result.stdout.index("{"):])


def test_every_lesson_step_fits_a_1280x720_projector(tmp_path: Path) -> None:
    report = walk(tmp_path, "1280x720")
    course = load_lesson(next(p for p in lesson_files(None) if p.stem == "course"))
    assert [s["index"] for s in report["steps"]] == list(range(len(course.steps))), "the Next button walks them all"
    assert [s["position"] for s in report["steps"]] == [f"{i + 1} / {len(course.steps)}"
                                                        for i in range(len(course.steps))]
    assert report["violations"] == [], json.dumps(report["violations"], indent=1)
    # the large font the issue asks for: no step fell back to a scrolling prose box
    assert all(s["font_points"] is not None and s["font_points"] >= 14 for s in report["steps"]), report["steps"]


def test_the_walk_reports_a_screen_too_small_for_the_course(tmp_path: Path) -> None:
    report = walk(tmp_path, "800x450", "--steps", "2")
    problems = " | ".join(v["problem"] for v in report["violations"])
    assert report["violations"], "on an 800x450 screen the course cannot fit: the check must say so"
    assert "scroll bar" in problems or "not inside the screen" in problems, problems
