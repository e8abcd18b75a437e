"""The Counting tab with real numbers on a real X screen: generate Markov chain sequences, check the screen rules.

``screen_fit_driver.py`` shows every tab of every preset, and no preset's own
sequence is a Markov chain over the generator's states, so there the Counting
tab shows its refusal. This driver generates a chain sequence through the
sequence panel (3 states with the default chain, 8 with a random one), focuses
a middle position, shows the Counting tab, in the desk layout and in
presentation mode, and reports every :mod:`screen_rules` violation as JSON.
Run by ``test_markov_view.py`` under ``xvfb-run`` (``QT_QPA_PLATFORM=xcb``,
fresh settings folders)::

    python markov_fit_driver.py --largest 300x200 --out result.json [--shots DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parent))
import screen_rules  # noqa: E402
from screen_fit_driver import _size, settle  # noqa: E402

PRESET = "build-your-own"
STATES = (3, 8)
FOCUS = 20  # a middle position: counts on both sides of it


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--largest", type=_size, required=True, help="WxH the largest plot must reach")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--shots", type=Path, default=None, help="save an X-level screenshot of every case here")
    args = parser.parse_args()

    app = QApplication([])
    app.setApplicationName("induction-gui")
    from induction_gui import load_scenario
    from induction_gui.model.document import Document
    from induction_gui.model.sequence_edit import GENERATORS
    from induction_gui.qt.main_window import MainWindow

    available = app.primaryScreen().availableGeometry()
    report: dict[str, object] = {"cases": [], "violations": []}
    window = MainWindow(Document(load_scenario(PRESET)))
    window.showMaximized()
    window.setGeometry(available)  # what a window manager does to a maximized window (Xvfb has none)
    settle(app, window)
    panel = window.sequence_panel
    form = panel.generator_form
    panel.generator_combo.setCurrentIndex([s.key for s in GENERATORS].index("markov_chain"))
    for k in STATES:
        form.markov_k_spin.setValue(k)
        if k != 3:
            form.markov_editor.randomize()  # stores a k-state chain: the view counts over the stored chain's states
        form.markov_length_spin.setValue(form.markov_length_spin.maximum())
        panel.generate_button.click()
        window.document.set_selection(query_pos=FOCUS)
        window.action_table["tab8"].trigger()
        for presenting in (False, True):
            if presenting:
                window.presentation.enter()
            settle(app, window)
            view = window.tabs.currentWidget().view
            case = f"k={k}" + (" presenting" if presenting else "")
            report["cases"].append({"case": case, "position": view.shown.position if view.shown else None,
                                    "states": view.counting.k if view.counting else None,
                                    "message": view.message, "error": view.last_error,
                                    "numbers_in_cells": view.true_map.numbers_shown})
            for v in screen_rules.check_main_window(window, available, largest_plot=args.largest):
                report["violations"].append({**v.as_dict(), "case": case})
            if args.shots is not None:
                args.shots.mkdir(parents=True, exist_ok=True)
                name = f"counting-k{k}{'-present' if presenting else ''}.png"
                subprocess.run(["import", "-window", "root", str(args.shots / name)], check=True)
            if presenting:
                window.presentation.leave()
    window.undo_stack.setClean()
    window.shutdown()
    window.deleteLater()  # deleted while the application lives: Python's exit would tear it down out of order
    app.processEvents()
    args.out.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
