"""The Help menu's dialogs: keyboard shortcuts, "What Am I Looking At?", About and Licence.

Every text here is generated from what the window already holds, so none can
go stale: the shortcut list from the window's actions (the action table and the
docks' toggles), the explanation of a centre tab from its views' class text
(``help_text``, else ``tooltip``: a new view brings its own), the versions from
the running libraries and the licence from the bundled ``LICENSE.md``.
"""

from __future__ import annotations

import html
import platform
from typing import TYPE_CHECKING

import numpy as np
import PySide6
from PySide6.QtCore import QPoint, Qt, qVersion
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import pyqtgraph as pg

from .. import __version__
from ..resources import ResourceError, resource_path
from .layout import LazyTab
from .settings import APP_NAME
from .views.base import View

if TYPE_CHECKING:
    from collections.abc import Iterable

LICENCE_FILE = "LICENSE.md"  # in resources/: shipped in the wheel and the bundle, read without a network


def action_label(action: QAction) -> str:
    """An action's menu text without its mnemonic ampersands or trailing ellipsis."""
    return action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(what it does, its keys) of every action that has a shortcut, in the given order, each action once.

    Keys are in the platform's native text (``Ctrl+Z`` here, ``⌘Z`` on a Mac),
    several shortcuts of one action joined by " or ".
    """
    rows: list[tuple[str, str]] = []
    seen: set[int] = set()
    for action in actions:
        if id(action) in seen or not action.shortcuts():
            continue
        seen.add(id(action))
        keys = " or ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
        rows.append((action_label(action), keys))
    return rows


def window_actions(window) -> list[QAction]:  # noqa: ANN001 - the MainWindow (not imported: it imports us)
    """The window's action table, then the docks' show/hide toggles (Ctrl+T, Ctrl+L, ...)."""
    docks = [d.toggleViewAction() for d in window.findChildren(QDockWidget)]
    return [*window.action_table.values(), *docks]


class ShortcutsDialog(QDialog):
    """A two-column table, "Action" and "Keys", of every shortcut of the window."""

    def __init__(self, rows: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Action", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, (text, keys) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(text))
            self.table.setItem(r, 1, QTableWidgetItem(keys))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        note = QLabel("Inside a number box or text field, Ctrl+Z and Ctrl+Shift+Z undo that field's typing; "
                      "elsewhere they undo and redo edits of the scenario.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(520, min(640, 120 + 28 * len(rows)))


def show_shortcuts(window) -> ShortcutsDialog:  # noqa: ANN001 - the MainWindow
    """Open (non-modal) the list of the window's shortcuts; returned so tests and callers can reach it."""
    dialog = ShortcutsDialog(shortcut_rows(window_actions(window)), window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog


# -- "What am I looking at?" --------------------------------------------------------------------------------


def view_help(cls: type[View]) -> str:
    """A view's explanation: its ``help_text``, or its one-sentence ``tooltip`` when it has none."""
    return (getattr(cls, "help_text", "") or cls.tooltip or f"The {cls.title} view.").strip()


def page_views(page: QWidget) -> list[View]:
    """The views on a centre tab page, building a lazy page's view first (the learner is looking at it)."""
    if isinstance(page, LazyTab):
        page.ensure()
    if isinstance(page, View):
        return [page]
    views = page.findChildren(View)

    def place(view: View) -> tuple[int, int]:  # reading order: left to right, then top to bottom
        at = view.mapTo(page, QPoint(0, 0))
        return at.x(), at.y()

    return sorted(views, key=place)


def explanation(window) -> tuple[str, str]:  # noqa: ANN001 - the MainWindow
    """(tab title, HTML explanation) of the centre tab on show, one paragraph per view on it."""
    tabs = window.tabs
    title = tabs.tabText(tabs.currentIndex()).replace("&", "")
    parts = []
    for view in page_views(tabs.currentWidget()):
        cls = type(view)
        parts.append(f"<h4>{html.escape(cls.title)}</h4><p>{html.escape(view_help(cls))}</p>")
    if not parts:
        parts.append(f"<p>{html.escape(tabs.tabToolTip(tabs.currentIndex()) or title)}</p>")
    return title, "".join(parts)


def show_explanation(window) -> QMessageBox:  # noqa: ANN001 - the MainWindow
    """Explain the current centre tab in the lecture's terms (F1); non-modal, returned for callers."""
    title, text = explanation(window)
    box = QMessageBox(QMessageBox.Icon.Information, f"What am I looking at? — {title}", "",
                      QMessageBox.StandardButton.Close, window)
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(text)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setModal(False)
    box.show()
    return box


# -- About and Licence -----------------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    """The versions a bug report needs: the app's and those of the libraries it runs on."""
    return {
        APP_NAME: __version__,
        "Python": platform.python_version(),
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "pyqtgraph": pg.__version__,
        "NumPy": np.__version__,
    }


def about_html() -> str:
    """What the app is, and the version table."""
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>&nbsp;{html.escape(v)}</td></tr>" for k, v in versions().items())
    return (f"<h3>{html.escape(APP_NAME)} {html.escape(__version__)}</h3>"
            "<p>Edit tokens and attention-head weights and watch attention patterns, copied representations, "
            "predictions and circuit metrics change live. The engine follows TransformerLens' names and numbers.</p>"
            f"<table>{rows}</table><p>Free software under the MIT licence (Help ▸ Licence).</p>")


def show_about(window) -> None:  # noqa: ANN001 - the MainWindow
    QMessageBox.about(window, f"About {APP_NAME}", about_html())


def licence_text() -> str:
    """The project's licence, read from the bundled resource (never the network)."""
    try:
        return resource_path(LICENCE_FILE).read_text(encoding="utf-8")
    except (ResourceError, OSError) as exc:  # a broken installation: say so rather than show nothing
        return f"The licence file is missing from this installation ({exc}). {APP_NAME} is MIT-licensed."


class LicenceDialog(QDialog):
    """The licence text, read-only, in a fixed-width font."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{APP_NAME} — Licence")
        self.text = QPlainTextEdit(licence_text())
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.resize(600, 480)


def show_licence(window) -> LicenceDialog:  # noqa: ANN001 - the MainWindow
    dialog = LicenceDialog(window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
