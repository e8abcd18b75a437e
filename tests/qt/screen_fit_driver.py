"""Open the real window on a real X screen, show every centre tab of every preset, and report rule violations.

Run by ``test_screen_fit.py`` under ``xvfb-run`` (``QT_QPA_PLATFORM=xcb``, fresh
settings folders), one process per screen size::

    python screen_fit_driver.py --largest 320x240 --out result.json [--presets a,b] [--settings FILE.ini]
        [--shots DIR]

The window opens as a learner's would: a fresh (or the given) settings file,
then maximized. Xvfb runs no window manager, so "maximized" is done the way a
window manager would do it: the window is given the screen's available
geometry. The JSON holds the screen, the window's minimum size, and every
:class:`screen_rules.Violation` found.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QSize
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parent))
import screen_rules  # noqa: E402


def _size(text: str) -> QSize:
    w, h = (int(v) for v in text.lower().split("x"))
    return QSize(w, h)


def settle(app: QApplication, window) -> None:  # noqa: ANN001 - the main window
    """Let the layout and the views settle: pending recomputes, slow entries, then layout passes."""
    window.wait_idle()
    for _ in range(3):
        app.processEvents()
    window.wait_idle()
    app.processEvents()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--largest", type=_size, required=True, help="WxH the largest plot of a tab must reach")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--presets", default="", help="comma-separated; default: every preset")
    parser.add_argument("--settings", type=Path, default=None, help="an ini file to open with (a saved layout)")
    parser.add_argument("--max-min-size", type=_size, default=None, help="the window's minimum size must fit this")
    parser.add_argument("--shots", type=Path, default=None, help="save an X-level screenshot of every tab here")
    parser.add_argument("--restore", action="store_true",
                        help="open with the layout the settings file holds, as restored (not maximized)")
    parser.add_argument("--save-layout", action="store_true",
                        help="close the window as a user would, saving its layout to --settings")
    args = parser.parse_args()

    app = QApplication([])
    app.setApplicationName("induction-gui")
    from induction_gui import load_scenario
    from induction_gui.model.document import Document
    from induction_gui.model.presets import PRESETS
    from induction_gui.qt.main_window import MainWindow
    from induction_gui.qt.settings import Settings

    presets = [p for p in args.presets.split(",") if p] or list(PRESETS)
    screen = app.primaryScreen()
    available = screen.availableGeometry()
    report: dict[str, object] = {"screen": [screen.size().width(), screen.size().height()],
                                 "available": [available.width(), available.height()], "windows": [],
                                 "violations": []}
    for preset in presets:
        settings = Settings(QSettings(str(args.settings), QSettings.Format.IniFormat)) if args.settings else None
        window = MainWindow(Document(load_scenario(preset)), settings)
        if args.restore:
            window.show()  # where and as large as the saved geometry says (clamped into this screen)
        else:
            window.showMaximized()
            window.setGeometry(available)  # what a window manager does to a maximized window (Xvfb has none)
        settle(app, window)
        hint = window.minimumSizeHint()
        report["windows"].append({"preset": preset, "min_size": [hint.width(), hint.height()],
                                  "size": [window.width(), window.height()],
                                  "compact": bool(getattr(window, "compact_layout", False))})
        for index in range(window.tabs.count()):
            window.tabs.setCurrentIndex(index)
            settle(app, window)
            tab = window.tabs.tabText(index)
            for v in screen_rules.check_main_window(window, available, largest_plot=args.largest,
                                                    max_min_size=args.max_min_size):
                report["violations"].append({**v.as_dict(), "preset": preset, "tab": tab})
            if args.shots is not None:
                args.shots.mkdir(parents=True, exist_ok=True)
                name = f"{preset}-{index}-{tab.replace(' ', '_')}.png"
                subprocess.run(["import", "-window", "root", str(args.shots / name)], check=True)
        hint = window.minimumSizeHint()  # with every tab built: the widest page counts too
        report["windows"][-1]["min_size_all_tabs"] = [hint.width(), hint.height()]
        report["windows"][-1]["geometry"] = [window.x(), window.y(), window.width(), window.height()]
        report["windows"][-1]["centre_width"] = window.centralWidget().width()
        window.undo_stack.setClean()
        if args.save_layout:
            window.close()  # saves geometry and dock state into the settings file, as quitting does
        else:
            window.shutdown()  # not close(): a fresh settings file stays fresh for the next preset
        window.deleteLater()
        app.processEvents()
    args.out.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.exit(main())
