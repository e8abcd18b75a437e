"""Remembered preferences, declared once in a table over QSettings.

Every setting has a key, a type, a default and a sentence saying what it is
for (STYLE: orange-canvas-core ``config.py``), so nothing reads QSettings with
a stray string and a wrong default somewhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

APP_NAME = "Induction Head Explorer"  # window titles and dialogs
ORGANIZATION = "InductionHeadExplorer"
APPLICATION = "induction-gui"
MAX_RECENT = 8


@dataclass(frozen=True)
class Setting:
    key: str
    type: type
    default: Any
    doc: str


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting("window/geometry", QByteArray, QByteArray(), "main window position and size"),
        Setting("window/state", QByteArray, QByteArray(), "dock and toolbar layout"),
        Setting("window/tab", int, 0, "the centre view shown last"),
        Setting("view/colormap", str, "viridis", "sequential colour map of patterns and probabilities"),
        Setting("view/font_scale", float, 1.0, "multiplier of every font, for projectors"),
        Setting("view/theme", str, "light", "light or dark palette of the whole application"),
        Setting("view/presentation_font_scale", float, 1.6, "font scale of presentation mode (F11)"),
        Setting("files/recent", list, [], "recently opened or saved scenario files, newest first"),
        Setting("files/last_dir", str, "", "folder of the last file dialog"),
    )
}


class Settings:
    """Typed access to the table above; tests pass their own QSettings (an ini file in tmp)."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings or QSettings(ORGANIZATION, APPLICATION)

    def get(self, key: str) -> Any:
        spec = SETTINGS[key]
        value = self.q.value(key, spec.default)
        if value is None:
            return spec.default
        try:
            if spec.type is list:
                if isinstance(value, str):
                    return [value]
                return [str(v) for v in value]
            if spec.type is QByteArray:
                return value if isinstance(value, QByteArray) else QByteArray(value)
            return spec.type(value)
        except (TypeError, ValueError):
            return spec.default  # a corrupted settings file never stops the app

    def set(self, key: str, value: Any) -> None:
        if key not in SETTINGS:
            raise KeyError(f"unknown setting {key!r}")
        self.q.setValue(key, value)

    def clear_layout(self) -> None:
        """Forget window geometry and dock layout (``--reset-layout``)."""
        for key in ("window/geometry", "window/state", "window/tab"):
            self.q.remove(key)
        self.q.sync()

    def add_recent(self, path: str) -> list[str]:
        recent = [p for p in self.get("files/recent") if p != path]
        recent.insert(0, path)
        recent = recent[:MAX_RECENT]
        self.set("files/recent", recent)
        return recent

    def sync(self) -> None:
        self.q.sync()
