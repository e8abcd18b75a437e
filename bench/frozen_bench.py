"""Frozen-app benchmarks: what a learner downloads and how fast the packaged window appears.

Measures what ``packaging/build-linux.sh`` left in ``dist/`` (or in the folder
``INDUCTION_GUI_DIST`` names); without a bundle it reports "not built" and
returns no metrics, so ``python -m bench`` works on a development checkout.

``frozen_bundle_size_mb``: the onedir bundle on disk (10^6 bytes, symlinks
counted once). ``frozen_deb_size_mb``: the .deb file. ``frozen_startup_to_first_paint_s``:
spawn of ``dist/induction-gui/induction-gui PRESET --screenshot`` until the main
window's first paint, offscreen like ``gui_bench``. The app needs no hook for
this: Qt logs every backing-store flush under the ``qt.widgets.painting``
category, and a message pattern stamps each with the wall-clock time; the first
flush of the MainWindow is the first painted window. The log itself costs a
little, so the figure errs on the slow side. ``source_startup_to_first_paint_s``
is the same for ``python -m induction_gui`` (interleaved, to show what freezing
costs); ``frozen_screenshot_run_s`` is spawn to exit, an upper bound that
includes the screenshot's fixed 300 ms wait.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from bench import Metric, register

REPO = Path(__file__).resolve().parents[1]
PRESET = "induction-circuit"
BUNDLE_TARGET_MB, DEB_TARGET_MB, STARTUP_TARGET_S = 250.0, 90.0, 1.5
# Qt's message pattern: wall-clock time with milliseconds, then category and message
_PATTERN = "%{time yyyy-MM-ddTHH:mm:ss.zzz}|%{category}|%{message}"


def dist_dir() -> Path:
    """Where the build put its outputs: ``$INDUCTION_GUI_DIST`` or ``dist/`` of this checkout."""
    return Path(os.environ.get("INDUCTION_GUI_DIST") or REPO / "dist")


def project_version() -> str:
    """The version in pyproject.toml (the .deb's file name carries it)."""
    with open(REPO / "pyproject.toml", "rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def frozen_binary(dist: Path | None = None) -> Path:
    """The frozen executable's path (it may not exist)."""
    return (dist or dist_dir()) / "induction-gui" / "induction-gui"


def deb_file(dist: Path | None = None) -> Path:
    """The .deb of the current version (it may not exist)."""
    return (dist or dist_dir()) / f"induction-gui_{project_version()}_amd64.deb"


def tree_size_mb(folder: Path) -> float:
    """Bytes of the regular files under ``folder`` in 10^6 (symlinks are not followed, so not counted twice)."""
    total = sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return total / 1e6


def _first_paint(stderr: str) -> float | None:
    """Wall-clock time (epoch seconds) of the first MainWindow flush in Qt's painting log, if any."""
    for line in stderr.splitlines():
        parts = line.split("|", 2)
        if len(parts) == 3 and parts[1] == "qt.widgets.painting":
            message = parts[2]
            if message.startswith("Flushing QRegion(") and " of MainWindow(" in message:
                return dt.datetime.fromisoformat(parts[0]).timestamp()  # Qt prints local time
    return None


def startup(command: list[str], tmp: Path) -> tuple[float, float]:
    """(spawn to first paint, spawn to exit) in seconds of one ``--screenshot`` run of ``command``.

    Raises RuntimeError when the run fails or Qt logged no paint of the main window.
    """
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_MESSAGE_PATTERN=_PATTERN,
               QT_LOGGING_RULES="qt.widgets.painting=true")
    # a fresh settings folder: a saved layout from earlier use would change what is built
    env["XDG_CONFIG_HOME"] = str(tmp / "config")
    env["XDG_DATA_HOME"] = str(tmp / "data")
    shot = tmp / "shot.png"
    t0 = time.time()
    result = subprocess.run([*command, PRESET, "--screenshot", str(shot)], capture_output=True, text=True,
                            env=env, cwd=tmp, timeout=120)
    wall = time.time() - t0
    painted = _first_paint(result.stderr)
    if result.returncode != 0 or painted is None or not shot.is_file():
        tail = "\n".join(line for line in result.stderr.splitlines() if "qt.widgets.painting" not in line)[-2000:]
        raise RuntimeError(f"{command[0]} exited {result.returncode}, first paint {'not ' if painted is None else ''}"
                           f"found: {tail}")
    return painted - t0, wall


def measure(runs: int, *, source: bool) -> dict[str, Metric]:
    """Sizes and start-up of the built bundle; empty (and says so on stderr) when it was not built."""
    binary = frozen_binary()
    if not binary.is_file():
        print(f"frozen: not built (no {binary}; run packaging/build-linux.sh)", file=sys.stderr)
        return {}
    out = {"frozen_bundle_size_mb": Metric(tree_size_mb(binary.parent), "MB", BUNDLE_TARGET_MB)}
    deb = deb_file()
    if deb.is_file():
        out["frozen_deb_size_mb"] = Metric(deb.stat().st_size / 1e6, "MB", DEB_TARGET_MB)
    else:
        print(f"frozen: no {deb.name} (the bundle was built without the .deb)", file=sys.stderr)
    frozen_first, frozen_wall, source_first = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs + 1):  # interleaved, so a change in machine load hits both alike
            first, wall = startup([str(binary)], Path(tmp))
            if source:
                source_time = startup([sys.executable, "-m", "induction_gui"], Path(tmp))[0]
            if i == 0:
                continue  # the first run fills the page cache with the bundle's ~200 MB
            frozen_first.append(first)
            frozen_wall.append(wall)
            if source:
                source_first.append(source_time)
    out["frozen_startup_to_first_paint_s"] = Metric(statistics.median(frozen_first), "s", STARTUP_TARGET_S)
    out["frozen_screenshot_run_s"] = Metric(statistics.median(frozen_wall), "s")
    if source:
        out["source_startup_to_first_paint_s"] = Metric(statistics.median(source_first), "s")
    return out


@register("frozen")
def bench_frozen(quick: bool) -> dict[str, Metric]:
    return measure(3 if quick else 7, source=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.frozen_bench``: the build's summary lines; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(prog="python -m bench.frozen_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="start-up runs (median; default 5)")
    parser.add_argument("--no-source", action="store_true", help="skip the comparison with python -m induction_gui")
    args = parser.parse_args(argv)
    results = measure(args.runs, source=not args.no_source)
    if not results:
        return 1
    for name, m in results.items():
        target = "" if m.target is None else f"  (target <= {m.target:g} {m.unit}: {'ok' if m.ok else 'OVER BUDGET'})"
        print(f"{name:<34} {m.value:8.2f} {m.unit}{target}")
    return 0 if all(m.ok is not False for m in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
