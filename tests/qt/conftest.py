"""Qt test fixtures: an isolated settings file and data folder, a main window on a preset, a layout
that has settled, and a check that no test leaves a QThread running."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QSettings, QThread
from PySide6.QtWidgets import QApplication, QDockWidget, QMessageBox, QSplitter, QWidget

from induction_gui import load_scenario
from induction_gui.model.document import Document
from induction_gui.qt.views.base import View


@pytest.fixture(autouse=True)
def _isolated_user_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings and autosaves of tests never touch the user's real ones."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture(autouse=True)
def _no_running_qthreads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail a test that leaves a QThread running (Python's ``threading`` does not see them).

    Every ``QThread.start`` of the test is noted; after the test (and the windows' shutdown) each
    must have ended, after a short grace for one that is past its last step.
    """
    started: list[QThread] = []
    start = QThread.start

    def noting_start(thread: QThread, *args: object) -> None:
        started.append(thread)
        start(thread, *args)

    monkeypatch.setattr(QThread, "start", noting_start)
    yield
    running = [t for t in started if shiboken6.isValid(t) and t.isRunning()]
    for thread in running:
        thread.wait(2000)
    still = [type(t).__name__ for t in running if shiboken6.isValid(t) and t.isRunning()]
    started.clear()
    assert not still, f"test left QThreads running: {still}"


@pytest.fixture
def settings(tmp_path: Path):
    from induction_gui.qt.settings import Settings

    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def settle(qtbot) -> Callable[[QWidget], None]:
    """Wait until the layout of a window has settled: docks and splitters are sized on later turns of
    the event loop (zero-delay timers, then layout requests), so wait until one turn changes nothing."""

    def wait(window: QWidget) -> None:
        last: list[object] = [None]

        def unchanged() -> bool:
            QApplication.processEvents()
            now = ([d.geometry() for d in window.findChildren(QDockWidget)],
                   [s.sizes() for s in window.findChildren(QSplitter)], window.size())
            same, last[0] = now == last[0], now
            return same

        qtbot.waitUntil(unchanged, timeout=5000)

    return wait


@pytest.fixture
def make_window(qtbot, settings, tmp_path: Path) -> Iterator:
    """Factory of main windows on a preset; every window is shut down after the test."""
    from induction_gui.qt.main_window import MainWindow

    windows = []

    def make(preset: str = "induction-circuit", **kwargs):
        window = MainWindow(Document(load_scenario(preset)), settings, autosave_folder=tmp_path / "autosave",
                            **kwargs)
        window.scheduler.force_sync = True
        # a test that wants the question answers it itself; teardown must never block on a dialog
        window.ask_to_save = lambda: QMessageBox.StandardButton.Discard
        window.errors = []
        window.show_error = lambda title, message: window.errors.append((title, message))
        qtbot.addWidget(window)
        window.resize(1400, 900)
        window.show()
        window.wait_idle()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.undo_stack.setClean()
        window.shutdown()
    # the views built and drawn during the test (``window.views`` would build the others, ~0.6 s a window)
    errors = {view.title: view.last_error for window in windows for view in window.findChildren(View)
              if view.last_error}
    assert not errors, f"views failed to draw: {errors}"


@pytest.fixture
def show_view(qtbot):  # noqa: ANN001,ANN201 - pytest-qt fixture; returns show(view)
    """Show a view alone at desk size and wait until it is on screen (the view is closed after the test)."""

    def show(view) -> None:  # noqa: ANN001 - any QWidget
        qtbot.addWidget(view)
        view.resize(1200, 800)
        view.show()
        qtbot.waitExposed(view)

    return show
