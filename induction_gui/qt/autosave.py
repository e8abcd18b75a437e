"""Autosave every 30 s, and after a crash offer to recover the unsaved work.

Each running window writes ``autosave-<pid>.json`` (plus its weights file) to
the user's data folder while it has unsaved changes, and removes it when it
closes cleanly. A file whose process is no longer running is what a crash left
behind: the next start offers it back.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal

from ..model.document import Document
from ..model.scenario import ScenarioError, load_scenario, save_scenario

INTERVAL_MS = 30_000


def default_folder() -> Path:
    """``<user data folder>/autosave``, e.g. ``~/.local/share/InductionHeadExplorer/induction-gui/autosave``."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base) / "autosave"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Recoverable:
    path: Path  # the autosave file
    title: str  # the scenario's title, for the question
    modified: float  # seconds since the epoch


def find_recoverable(folder: Path) -> list[Recoverable]:
    """Autosaves left by processes that are no longer running, newest first."""
    found = []
    for path in folder.glob("autosave-*.json"):
        try:
            pid = int(path.stem.split("-", 1)[1])
        except ValueError:
            continue
        if _pid_alive(pid):
            continue
        try:
            title = load_scenario(path).title
        except ScenarioError:
            title = "(damaged autosave)"
        found.append(Recoverable(path, title, path.stat().st_mtime))
    return sorted(found, key=lambda r: -r.modified)


def discard(path: Path) -> None:
    """Remove an autosave file and its weights file."""
    for p in (path, path.with_suffix(".safetensors")):
        with contextlib.suppress(OSError):
            p.unlink()


class Autosaver(QObject):
    """Saves the document every ``interval_ms`` while ``is_modified()`` says there is unsaved work.

    Signals
    -------
    saved(path), failed(message)
    """

    saved = Signal(str)
    failed = Signal(str)

    def __init__(self, document: Document, is_modified, folder: Path | None = None,
                 interval_ms: int = INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._is_modified = is_modified
        self.folder = folder or default_folder()
        self.path = self.folder / f"autosave-{os.getpid()}.json"
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.save_now)
        self._timer.start(interval_ms)

    def save_now(self) -> bool:
        """Write the autosave if there are unsaved changes (else remove a stale one)."""
        if not self._is_modified():
            self.remove()
            return False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            save_scenario(self.document.scenario_for_saving(), self.path)
        except (OSError, ScenarioError) as exc:
            self.failed.emit(f"autosave failed: {exc}")
            return False
        self.saved.emit(str(self.path))
        return True

    def remove(self) -> None:
        """Called on a clean close and after a save: nothing to recover."""
        discard(self.path)

    def stop(self) -> None:
        self._timer.stop()
