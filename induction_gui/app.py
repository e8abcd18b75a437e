"""Entry point of ``induction-gui``: sub-commands run headless, anything else opens the window.

Qt is imported only on the window path, so ``induction-gui export ...`` starts
fast and runs on machines without a display.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

# Before NumPy loads (BLAS reads this once): the engine's matrices are small, and with
# several BLAS threads on two cores a forward pass is slower and erratic; training
# leaves the other core to the window. A user's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from . import cli  # noqa: E402

DEFAULT_SCENARIO = "induction-circuit"


def build_gui_parser() -> argparse.ArgumentParser:
    """Arguments of the window (the sub-commands have their own, see ``induction-gui --help``)."""
    parser = argparse.ArgumentParser(
        prog="induction-gui",
        description="Open the Induction Head Explorer window.",
        epilog=f"Sub-commands: {', '.join(cli.COMMANDS)} (induction-gui COMMAND --help).",
    )
    parser.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO, metavar="NAME|FILE|FOLDER",
                        help=f"a preset name, a scenario file or a model folder (default: {DEFAULT_SCENARIO})")
    parser.add_argument("--screenshot", metavar="PNG", help="render the window once, save it as PNG and exit")
    parser.add_argument("--reset-layout", action="store_true", help="forget the saved window layout")
    parser.add_argument("--present", action="store_true",
                        help="start in presentation mode: full screen, large text, high contrast (F11/Esc leave)")
    parser.add_argument("--size", default="1500x950", metavar="WxH",
                        help="window size for --screenshot (default 1500x950)")
    return parser


def run_gui(args: argparse.Namespace) -> int:
    """Start Qt, open the scenario, and run the event loop (or take a screenshot)."""
    # The Qt-free floors first: once PySide6 is loaded, every later import passes through
    # its import hook (which reads each module's source), so NumPy, the engine and the
    # model load faster before it.
    from .model.document import Document
    from .model.scenario import ScenarioError, load_scenario

    import PySide6  # noqa: F401  # before pyqtgraph, so it binds to PySide6
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication, QMessageBox

    QCoreApplication.setOrganizationName("InductionHeadExplorer")
    QCoreApplication.setApplicationName("induction-gui")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    _set_app_icon(app)

    from .qt.autosave import default_folder, discard, find_recoverable
    from .qt.main_window import MainWindow, schedule_screenshot
    from .qt.settings import Settings

    settings = Settings()
    if args.reset_layout:
        settings.clear_layout()
    from .model.model_folder import is_model_path, scenario_from_model

    problem = None
    try:
        if is_model_path(args.scenario):
            scenario, path = scenario_from_model(args.scenario), None
        else:
            scenario = load_scenario(args.scenario)
            path = Path(args.scenario) if Path(args.scenario).suffix.lower() == ".json" else None
    except ScenarioError as exc:
        if args.screenshot:
            sys.stderr.write(f"induction-gui: {exc}\n")
            return 2
        problem = str(exc)
        scenario, path = load_scenario(DEFAULT_SCENARIO), None
    window = MainWindow(Document(scenario, path), settings)
    _install_excepthook(window)
    _open_bundled_run(window, args.scenario)
    if args.screenshot:
        width, _, height = args.size.partition("x")
        window.resize(int(width), int(height))
    window.show()
    if getattr(args, "present", False):
        window.presentation.enter()
        if args.screenshot:  # the shot is of the projector layout at --size, whatever the screen here is
            window.showNormal()
            window.resize(int(width), int(height))
    if args.screenshot:
        result: dict[str, bool] = {}

        def done(ok: bool) -> None:
            result["ok"] = ok
            window.undo_stack.setClean()
            window.close()
            app.quit()

        schedule_screenshot(window, Path(args.screenshot), done)
        app.exec()
        _dispose(window, app)
        return 0 if result.get("ok") else 1

    if problem:
        QMessageBox.critical(window, "Cannot open the scenario", f"{problem}\n\nOpened “{scenario.title}” instead.")
    for found in find_recoverable(default_folder()):
        answer = QMessageBox.question(
            window,
            "Recover unsaved work?",
            f"“{found.title}” was not saved when the app last closed unexpectedly.\nRecover it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            try:
                window.replace(load_scenario(found.path), None)
                window.undo_stack.resetClean()  # recovered work is unsaved work
            except ScenarioError as exc:
                QMessageBox.warning(window, "Cannot recover", str(exc))
        discard(found.path)
        break
    code = app.exec()
    _dispose(window, app)
    return code


# the installed .desktop file's name (packaging/build-linux.sh): lets Wayland docks match windows to it
DESKTOP_ID = "org.inductionheadexplorer.InductionHeadExplorer"


def _dispose(window: object, app: object) -> None:
    """Delete the window while Python is still whole, after the event loop has ended.

    Leaving presentation mode on close posts layout requests to pyqtgraph's
    graphics items; left pending, Qt delivered them while the interpreter was
    shutting down, into Python overrides that no longer worked, and the process
    died with a segmentation fault (about one exit in ten) after its work was done.
    """
    from PySide6.QtCore import QCoreApplication, QEvent

    app.processEvents()  # type: ignore[attr-defined]  # the posted layout requests and zero-delay timers
    window.deleteLater()  # type: ignore[attr-defined]
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app.processEvents()  # type: ignore[attr-defined]


def _set_app_icon(app: object) -> None:
    """The project's icon on every window and the desktop entry's name, so taskbars show the right one."""
    from PySide6.QtGui import QIcon

    from .resources import ResourceError, resource_path

    app.setDesktopFileName(DESKTOP_ID)  # type: ignore[attr-defined]
    try:
        icon = QIcon(str(resource_path("icons", "induction-gui.svg")))
    except ResourceError:  # a broken installation still runs, with Qt's default icon
        return
    app.setWindowIcon(icon)  # type: ignore[attr-defined]


def _open_bundled_run(window: object, name: str) -> None:
    """A preset that is a bundled training run's model (``trained-toy``) also opens its curves and checkpoints."""
    from .model.presets import BUNDLED_RUNS
    from .resources import resource_path

    if name in BUNDLED_RUNS:
        window.open_training_run(resource_path("runs", BUNDLED_RUNS[name]))  # type: ignore[attr-defined]


def _install_excepthook(window: object) -> None:
    """Report an unexpected exception in an event handler instead of losing the learner's work.

    PySide6 may abort the process when an exception escapes a Qt virtual; the
    hook prints the traceback, autosaves what the learner made, and says so.
    """
    import traceback

    def hook(exc_type, exc, tb) -> None:  # noqa: ANN001 - sys.excepthook signature
        traceback.print_exception(exc_type, exc, tb)
        try:
            window.autosaver.save_now()  # type: ignore[attr-defined]
            window.statusBar().showMessage(  # type: ignore[attr-defined]
                f"⚠ internal error ({exc_type.__name__}: {exc}); your work was autosaved", 15000
            )
        except Exception:  # noqa: BLE001 - the hook must never raise
            pass

    sys.excepthook = hook


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch: a known sub-command goes to :mod:`induction_gui.cli`; anything else opens the window.

    Returns the process exit code (0 ok, 1 internal error, 2 bad input).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args and (args[0] in cli.COMMANDS or args[0] == "--version"):
        return cli.main(args)
    if args and args[0] in ("-h", "--help"):
        build_gui_parser().print_help(sys.stdout)
        sys.stdout.write("\n")
        cli.print_usage(sys.stdout)
        return 0
    try:
        gui_args = build_gui_parser().parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return run_gui(gui_args)


if __name__ == "__main__":  # pragma: no cover - exercised through python -m induction_gui
    sys.exit(main())
