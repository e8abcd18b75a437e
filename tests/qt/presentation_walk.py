"""Walk the course in presentation mode on the real screen and report every step that does not fit it.

Run by ``test_presentation_xvfb.py`` in a fresh process under Xvfb (the xcb
platform, fresh settings), as a teacher's laptop on a projector would run it:

    python tests/qt/presentation_walk.py [--steps N] [--shots DIR]

It enters presentation mode full screen, then clicks the presenter bar's Next
button through every step of the course and checks, at each step, what a
class would see:

- the lesson's prose needs no scroll bar, and no label in the lesson column
  needs more room than it has (wrapped: its height for its width; else its width);
- the lesson column and its Prev/Next buttons lie inside the screen, and no
  other part of the window is drawn over the column;
- the window is the screen's size and its minimum size fits the screen;
- the largest plot beside the lesson (centre or training dock) is at least
  300x200 px.

It prints one JSON object: ``{"steps": [...], "violations": [...]}``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import QRect, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QDockWidget, QLabel, QSplitter, QWidget

MIN_PLOT = (300, 200)  # the floor for the largest plot at 1280x720
SETTLE_SECONDS = 10.0


def settle(app: QApplication, window: QWidget) -> None:
    """Process events until a turn of the event loop moves no dock or splitter (docks are sized on later turns)."""
    last = None
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        window.wait_idle()
        for _ in range(5):
            app.processEvents()
        now = ([d.geometry().getRect() for d in window.findChildren(QDockWidget)],
               [s.sizes() for s in window.findChildren(QSplitter)], window.size().toTuple())
        if now == last:
            return
        last = now
        time.sleep(0.05)


def _in_window(widget: QWidget, window: QWidget) -> QRect:
    return QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())


def label_needs(label: QLabel) -> str | None:
    """Why ``label`` cannot show its whole text in its size, or None."""
    if label.wordWrap():
        need = label.heightForWidth(label.width())
        return f"needs {need} px of height, has {label.height()}" if need > label.height() else None
    need = label.sizeHint().width()
    return f"needs {need} px of width, has {label.width()}" if need > label.width() else None


def check_step(window: QWidget) -> tuple[dict[str, object], list[str]]:
    """What the current step shows, and what of it breaks the rules above."""
    problems: list[str] = []
    screen = window.screen().geometry()
    visible = QRect(0, 0, screen.width(), screen.height())
    if window.size() != screen.size():
        problems.append(f"window is {window.width()}x{window.height()}, screen {screen.width()}x{screen.height()}")
    hint = window.minimumSizeHint()
    if hint.width() > screen.width() or hint.height() > screen.height():
        problems.append(f"window's minimum size {hint.width()}x{hint.height()} exceeds the screen")
    presentation = window.presentation
    dock = window.lesson_dock
    panel = window.lesson_panel
    column = _in_window(dock, window)
    if not dock.isVisible() or not visible.contains(column):
        problems.append(f"lesson column {column.getRect()} not inside the screen")
    if panel.text.verticalScrollBar().maximum() > 0:
        problems.append("the lesson's prose needs a scroll bar")
    for label in dock.findChildren(QLabel):
        if label.isVisible() and label.text():
            why = label_needs(label)
            if why:
                problems.append(f"label {label.text()[:40]!r} {why}")
            if not visible.contains(_in_window(label, window)):
                problems.append(f"label {label.text()[:40]!r} outside the screen")
    for button in dock.findChildren(QAbstractButton):
        if button.isVisible() and not visible.contains(_in_window(button, window)):
            problems.append(f"button {button.text()!r} outside the screen")
    for name in ("prev_button", "next_button", "leave_button"):
        button = getattr(presentation.bar, name)
        if not button.isVisible() or not visible.contains(_in_window(button, window)):
            problems.append(f"presenter bar's {name} not visible")
    for child in window.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly):
        if child is not dock and child.isVisible() and not child.isWindow() and child.geometry().intersects(column):
            problems.append(f"{type(child).__name__} {child.objectName()!r} is drawn over the lesson column")
    import pyqtgraph as pg  # after PySide6, so it binds to it

    plots = [v for v in window.findChildren(pg.GraphicsView) if v.isVisible() and not dock.isAncestorOf(v)]
    sizes = sorted(((v.width(), v.height()) for v in plots), key=lambda s: s[0] * s[1], reverse=True)
    big = [s for s in sizes if s[0] >= MIN_PLOT[0] and s[1] >= MIN_PLOT[1]]
    if not big:
        problems.append(f"no plot of at least {MIN_PLOT[0]}x{MIN_PLOT[1]} beside the lesson (largest: "
                        f"{sizes[0] if sizes else None})")
    info = {"index": panel.index, "title": panel.current_step.title if panel.current_step else None,
            "font_points": panel.fit_points, "position": presentation.bar.position_label.text(),
            "largest_plot": list(big[0] if big else sizes[0] if sizes else (0, 0)),
            "column": list(column.getRect())}
    return info, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="lecture-demo")
    parser.add_argument("--steps", type=int, default=0, help="walk only this many steps (0: the whole course)")
    parser.add_argument("--shots", type=Path, help="save an X-level screenshot of each step here")
    args = parser.parse_args()

    from induction_gui import load_scenario
    from induction_gui.model.document import Document
    from induction_gui.qt.main_window import MainWindow

    from PySide6.QtCore import QCoreApplication

    QCoreApplication.setOrganizationName("InductionHeadExplorer")  # as the app starts: its settings, its style
    QCoreApplication.setApplicationName("induction-gui")
    app = QApplication([sys.argv[0]])
    app.setStyle("Fusion")
    window = MainWindow(Document(load_scenario(args.preset)))
    window.showMaximized()  # as a teacher leaves the window before presenting (leaving must give it back so)
    window.presentation.enter()  # as --present does
    settle(app, window)
    panel = window.lesson_panel
    panel.go_to(0, force=True)
    count = len(panel.lesson.steps)
    walk = min(args.steps or count, count)
    steps, violations = [], []
    for index in range(walk):
        if index:
            QTest.mouseClick(window.presentation.bar.next_button, Qt.MouseButton.LeftButton)
        settle(app, window)
        info, problems = check_step(window)
        if info["index"] != index:
            problems.append(f"the Next button did not reach step {index + 1}")
        steps.append(info)
        violations += [{"step": index + 1, "problem": p} for p in problems]
        if args.shots:
            args.shots.mkdir(parents=True, exist_ok=True)
            subprocess.run(["import", "-window", "root", str(args.shots / f"step{index + 1}.png")], check=True)
    if walk == count and window.presentation.bar.next_button.isEnabled():
        violations.append({"step": count, "problem": "Next is still enabled on the last step"})
    # Esc: the desk window comes back inside its screen (the projector fonts once left it wider)
    QTest.keyClick(window, Qt.Key.Key_Escape)
    settle(app, window)
    room = window.screen().availableGeometry()
    if window.presentation.active or not room.contains(window.geometry()):
        violations.append({"step": walk, "problem": f"after Esc the window {window.geometry().getRect()} is not "
                                                     f"inside the screen {room.getRect()} (or still presenting)"})
    print(json.dumps({"steps": steps, "violations": violations}, indent=1))
    window.undo_stack.setClean()
    window.close()
    app.processEvents()
    window.deleteLater()  # while Python is whole (see app._dispose)
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
