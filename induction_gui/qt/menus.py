"""The menu bar: File, Edit, View and Help, made of the window's action table.

The presets menu fills itself when first opened (listing the presets reads
every preset file, ~50 ms of start-up); the recent-files menu is rebuilt
whenever a file is opened or saved.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup

from . import theme
from .actions import add_tab_actions
from .widgets import colormaps

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMenu


def build_menus(w) -> None:  # noqa: ANN001 - the MainWindow (not imported: it imports us)
    """File, Edit, View and Help on ``w``'s menu bar; keeps the menus and choice actions it needs later on ``w``."""
    bar = w.menuBar()
    a = w.action_table
    file_menu = bar.addMenu("&File")
    file_menu.addAction(a["new"])
    file_menu.addAction(a["open"])
    file_menu.addAction(a["open_model"])
    file_menu.addAction(a["open_run"])
    w.presets_menu = file_menu.addMenu("Open &Preset")
    w.presets_menu.aboutToShow.connect(lambda: fill_presets_menu(w.presets_menu, w.open_preset))
    w.recent_menu = file_menu.addMenu("Open &Recent")
    rebuild_recent_menu(w.recent_menu, w.settings.get("files/recent"), w.open_path)
    file_menu.addSeparator()
    file_menu.addAction(a["save"])
    file_menu.addAction(a["save_as"])
    file_menu.addSeparator()
    for key in ("export_png", "export_svg", "export_csv", "export_npz", "export_script"):
        file_menu.addAction(a[key])
    file_menu.addSeparator()
    file_menu.addAction(a["quit"])

    edit_menu = bar.addMenu("&Edit")
    edit_menu.addAction(a["undo"])
    edit_menu.addAction(a["redo"])
    edit_menu.addSeparator()
    edit_menu.addAction(a["pin"])

    view_menu = bar.addMenu("&View")
    view_menu.addAction(w.sequence_dock.toggleViewAction())
    view_menu.addAction(w.weights_dock.toggleViewAction())
    view_menu.addAction(w.training_dock.toggleViewAction())
    view_menu.addSeparator()
    cmap_menu = view_menu.addMenu("&Colour Map")
    w.colormap_actions = {}
    for label, name in colormaps.SEQUENTIAL.items():
        action = cmap_menu.addAction(label)
        action.setCheckable(True)
        action.triggered.connect(lambda checked=False, n=name: w.set_colormap(n))
        w.colormap_actions[name] = action
    view_menu.addAction(a["font_bigger"])
    view_menu.addAction(a["font_smaller"])
    view_menu.addAction(a["font_reset"])
    view_menu.addSeparator()
    for action in add_tab_actions(w):  # made from the tabs there are, so a new view gets its Ctrl+N
        view_menu.addAction(action)
    view_menu.addSeparator()
    view_menu.addAction(a["reset_layout"])
    view_menu.addSeparator()
    theme_menu = view_menu.addMenu("&Theme")
    w.theme_group = QActionGroup(w)
    w.theme_group.setExclusive(True)
    w.theme_actions = {}
    for name, label in theme.THEMES.items():
        action = theme_menu.addAction(label)
        action.setCheckable(True)
        action.setChecked(name == w.theme_name)
        action.triggered.connect(lambda checked=False, n=name: w.set_theme(n))
        w.theme_group.addAction(action)
        w.theme_actions[name] = action
    view_menu.addAction(a["presentation"])
    view_menu.addAction(a["next_step"])
    view_menu.addAction(a["previous_step"])

    help_menu = bar.addMenu("&Help")
    help_menu.addAction(a["what_is_this"])
    help_menu.addAction(a["shortcuts"])
    help_menu.addSeparator()
    help_menu.addAction(a["about"])
    help_menu.addAction(a["licence"])


def fill_presets_menu(menu: QMenu, open_preset) -> None:  # noqa: ANN001 - a callable taking the preset name
    """One entry per bundled preset, named and sorted by its title (the tooltip adds its description and
    file name), the first time the menu opens."""
    if not menu.isEmpty():
        return
    from ..model.scenario import preset_infos

    menu.setToolTipsVisible(True)
    for info in sorted(preset_infos(), key=lambda i: i.title.casefold()):  # a human list: by title
        action = menu.addAction(info.title.replace("&", "&&"))  # a title's "&" is text, not a mnemonic
        tip = f"{info.description} ({info.name})" if info.description else info.name
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.setData(info.name)
        action.triggered.connect(lambda checked=False, n=info.name: open_preset(n))


def rebuild_recent_menu(menu: QMenu, recent: list[str], open_path) -> None:  # noqa: ANN001 - callable(Path)
    """The recent files, newest first; the menu is disabled when there are none."""
    menu.clear()
    for p in recent:
        action: QAction = menu.addAction(p)
        action.triggered.connect(lambda checked=False, p=p: open_path(Path(p)))
    menu.setEnabled(bool(recent))
