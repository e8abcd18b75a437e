"""Packaging fixtures: the Linux bundle and .deb, built once per pytest run.

Building takes a minute or two (a fresh build venv, PyInstaller, dpkg-deb), so
every packaging test shares one build. ``INDUCTION_GUI_DIST=path/to/dist`` reuses
a build made by ``packaging/build-linux.sh`` instead (the caller vouches that it
is fresh); otherwise the tests run the script, as a maintainer would.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 1200  # generous: ~1.5 min on 2 cores, plus apt/pip on a cold machine


@pytest.fixture(scope="session")
def version() -> str:
    """The version in pyproject.toml, which the bundle and the .deb must carry."""
    with open(REPO / "pyproject.toml", "rb") as f:
        return str(tomllib.load(f)["project"]["version"])


@pytest.fixture(scope="session")
def dist() -> Path:
    """The ``dist/`` folder holding ``induction-gui/`` and the .deb (built here unless INDUCTION_GUI_DIST is set)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the Linux bundle and .deb are built on Linux only")
    given = os.environ.get("INDUCTION_GUI_DIST")
    if given:
        folder = Path(given)
        assert (folder / "induction-gui" / "induction-gui").is_file(), f"INDUCTION_GUI_DIST={given} holds no bundle"
        return folder
    # Under pytest-xdist (scripts/test.sh runs two workers) each worker has its own session: the first to
    # take the lock builds, the others wait and reuse that build (the build script empties dist/ first, so
    # a second build would pull the bundle from under the first worker's tests).
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"pid-{os.getpid()}")
    (REPO / "build").mkdir(exist_ok=True)
    with open(REPO / "build" / "dist.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = REPO / "build" / "dist-run.txt"
        if built.is_file() and built.read_text() == run_id:
            return REPO / "dist"
        env = dict(os.environ, SKIP_BENCH="1")  # timings are the benchmark's job, not the tests'
        result = subprocess.run(["bash", str(REPO / "packaging" / "build-linux.sh")], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
        log = REPO / "build" / "build-linux.log"
        log.write_text(result.stdout + "\n--- stderr ---\n" + result.stderr, encoding="utf-8")
        assert result.returncode == 0, f"packaging/build-linux.sh failed (full log: {log}):\n{result.stderr[-4000:]}"
        built.write_text(run_id)
    return REPO / "dist"


@pytest.fixture(scope="session")
def frozen(dist: Path) -> Path:
    """The frozen executable."""
    return dist / "induction-gui" / "induction-gui"


@pytest.fixture(scope="session")
def deb(dist: Path, version: str) -> Path:
    """The Debian package of the version in pyproject.toml."""
    path = dist / f"induction-gui_{version}_amd64.deb"
    assert path.is_file(), f"no {path.name} in {dist}"
    return path


@pytest.fixture(scope="session")
def offline() -> list[str]:
    """A command prefix that runs a program without any network (an empty network namespace), if we may.

    Creating a namespace needs root; elsewhere the prefix is empty and the
    tests still run, only without the proof that nothing reached the network.
    """
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "--net", "true"], capture_output=True).returncode == 0:
        return [unshare, "--net"]
    return []
