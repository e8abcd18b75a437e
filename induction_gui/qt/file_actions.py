"""New, Open, Save, Save As, recent files and training runs: the window's file commands.

A mixin of :class:`~induction_gui.qt.main_window.MainWindow`: it reads the
window's document, undo stack, settings, autosaver and status bar. Unsaved
work is always asked about (:meth:`FileActions.maybe_save`) before it is
replaced; a broken file shows its problem and keeps the current work.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..model.scenario import Scenario, ScenarioError, load_scenario, save_scenario
from .menus import rebuild_recent_menu
from .settings import APP_NAME
FILE_FILTER = "Scenario files (*.json);;All files (*)"
DEFAULT_SCENARIO = "induction-circuit"  # what File ▸ New starts from


class FileActions:
    """The file commands of the main window (mixed into it; ``self`` is the window)."""

    def ask_to_save(self) -> QMessageBox.StandardButton:
        """Save / Discard / Cancel for unsaved changes (tests replace this)."""
        return QMessageBox.question(
            self,
            APP_NAME,
            f"Save the changes to “{self.document.scenario.title}”?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )

    def show_error(self, title: str, message: str) -> None:
        """A modal error dialog (tests replace this)."""
        QMessageBox.critical(self, title, message)

    def maybe_save(self) -> bool:
        """True if it is fine to drop the current work (saved, discarded or unchanged)."""
        if self.undo_stack.isClean():
            return True
        answer = self.ask_to_save()
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def replace(self, scenario: Scenario, path: Path | None) -> None:
        """Show another scenario; its history starts empty."""
        self.document.replace_scenario(scenario, path)
        self.undo_stack.clear()
        self.undo_stack.setClean()
        if self.action_table["pin"].isChecked():
            self.action_table["pin"].setChecked(False)
            self.pin_label.setText("")
        self.scheduler.flush()
        self._update_title()

    def new_document(self) -> None:
        if self.maybe_save():
            self.replace(load_scenario(DEFAULT_SCENARIO), None)

    def open_preset(self, name: str) -> None:
        if self.maybe_save():
            self.replace(load_scenario(name), None)

    def open_path(self, path: Path) -> bool:
        """Open a scenario file; a broken file shows the problem and keeps the current work."""
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            self.show_error("Cannot open the scenario", str(exc))
            return False
        if not self.maybe_save():
            return False
        self.replace(scenario, Path(path))
        self._remember(path)
        return True

    def open_model(self, path: Path) -> bool:
        """Open a model folder or weights file; a refused model names why and keeps the current work."""
        from ..model.model_folder import scenario_from_model

        try:
            scenario = scenario_from_model(path)
        except ScenarioError as exc:
            self.show_error("Cannot open the model", str(exc))
            return False
        if not self.maybe_save():
            return False
        self.replace(scenario, None)
        self.settings.set("files/last_dir", str(Path(path).resolve().parent))
        return True

    def open_model_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Open model folder (config.json + model.safetensors)", self.settings.get("files/last_dir")
        )
        if folder:
            self.open_model(Path(folder))

    def open_training_run(self, folder: Path) -> bool:
        """Show the Training dock with a saved run's curves and checkpoints (a broken folder changes nothing)."""
        self.training_dock.show()
        self.training_dock.raise_()
        return self.training_panel.open_run(folder)

    def open_training_run_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open training run folder", self.settings.get("files/last_dir"))
        if folder:
            self.open_training_run(Path(folder))

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open scenario", self.settings.get("files/last_dir"), FILE_FILTER)
        if path:
            self.open_path(Path(path))

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as_dialog()
        return self.save_to(self.document.path)

    def save_to(self, path: Path) -> bool:
        try:
            save_scenario(self.document.scenario_for_saving(), path)
        except (OSError, ScenarioError) as exc:
            self.show_error("Cannot save the scenario", f"{path}: {exc}")
            return False
        self.document.set_path(Path(path))
        self.undo_stack.setClean()
        self.autosaver.remove()
        self._remember(path)
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def save_as_dialog(self) -> bool:
        start = str(self.document.path or Path(self.settings.get("files/last_dir") or ".") / "scenario.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save scenario", start, FILE_FILTER)
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".json"
        return self.save_to(Path(path))

    def _remember(self, path: Path | str) -> None:
        self.settings.add_recent(str(Path(path).resolve()))
        self.settings.set("files/last_dir", str(Path(path).resolve().parent))
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        rebuild_recent_menu(self.recent_menu, self.settings.get("files/recent"), self.open_path)
