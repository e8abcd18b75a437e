"""Export the current view: a picture (PNG, SVG), its matrices (CSV), the cache (NPZ), a script.

A mixin of :class:`~induction_gui.qt.main_window.MainWindow`: ``self`` is
the window, whose current centre tab is what gets exported. Writers that are
rarely used (SVG, CSV, the script exporter) are imported when first used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QRectF
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QFileDialog, QWidget

from .settings import APP_NAME
from .views.base import View


class ExportActions:
    """The export commands of the main window (mixed into it; ``self`` is the window)."""

    def current_view_widget(self) -> QWidget:
        return self.tabs.currentWidget()

    def current_views(self) -> list[View]:
        widget = self.current_view_widget()
        if isinstance(widget, View):
            return [widget]
        return [v for v in widget.findChildren(View)]

    def export_view(self, path: Path) -> None:
        """The current centre view as PNG or SVG (by the file's suffix)."""
        widget = self.current_view_widget()
        if path.suffix.lower() == ".svg":
            from PySide6.QtSvg import QSvgGenerator

            generator = QSvgGenerator()
            generator.setFileName(str(path))
            generator.setSize(widget.size())
            generator.setViewBox(QRectF(0, 0, widget.width(), widget.height()))
            generator.setTitle(f"{APP_NAME}: {self.tabs.tabText(self.tabs.currentIndex())}")
            painter = QPainter(generator)
            try:
                widget.render(painter, QPoint(0, 0))
            finally:
                painter.end()
        else:
            if not widget.grab().save(str(path)):
                raise OSError(f"could not write {path}")

    def export_view_dialog(self, kind: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export view as {kind.upper()}", f"view.{kind}",
                                              f"{kind.upper()} (*.{kind})")
        if path:
            try:
                self.export_view(Path(path))
            except OSError as exc:
                self.show_error("Cannot export the view", str(exc))

    def export_matrices(self, folder: Path) -> list[Path]:
        """Every matrix of the current view as ``<name>.csv`` with row and column labels."""
        import csv

        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for view in self.current_views():
            for name, (matrix, rows, cols) in view.matrices().items():
                m = np.atleast_2d(np.asarray(matrix))
                safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
                path = folder / f"{safe}.csv"
                with open(path, "w", newline="", encoding="utf-8") as f:
                    writer = csv.writer(f)
                    writer.writerow(["", *(cols or range(m.shape[1]))])
                    for label, row in zip(rows or range(m.shape[0]), m, strict=False):
                        writer.writerow([label, *(f"{x:.9g}" for x in row)])
                written.append(path)
        return written

    def export_matrices_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export matrices into folder")
        if folder:
            try:
                written = self.export_matrices(Path(folder))
                self.statusBar().showMessage(f"Wrote {len(written)} CSV files to {folder}", 5000)
            except OSError as exc:
                self.show_error("Cannot export the matrices", str(exc))

    def export_cache(self, path: Path) -> None:
        self.scheduler.flush()
        np.savez_compressed(path, **self.analysis.results.cache.to_dict())

    def export_cache_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export cache", "cache.npz", "NumPy archive (*.npz)")
        if path:
            try:
                self.export_cache(Path(path))
            except OSError as exc:
                self.show_error("Cannot export the cache", str(exc))

    def export_script(self, path: Path) -> None:
        """The scenario as a self-contained NumPy script (what ``induction-gui export-script`` writes)."""
        from ..model.script_export import script_text

        text = script_text(self.document.scenario_for_saving(), filename=path.name)
        path.write_text(text, encoding="utf-8")

    def export_script_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export as Python script", "scenario.py", "Python (*.py)")
        if path:
            try:
                self.export_script(Path(path))
            except (OSError, ValueError) as exc:
                self.show_error("Cannot export the script", str(exc))
