"""Window benchmarks: edit-to-paint latency and start-up time, offscreen.

``gui_edit_to_paint_p95_ms_T*``: from setting one weight cell (through the undo
stack, as the table editor does) to every visible view repainted, with the
recompute forced synchronous and the paint forced by ``repaint()`` of each
visible view, then pending paints of the rest (the weights table) flushed by
``processEvents``; default layout, 2 layers × 4 heads, d_model 64. ``startup_to_first_paint_s``: a fresh
process until the window has painted once, next to the same for a bare
PySide6 + pyqtgraph window with one ImageItem, measured in the same run
(registered on its own as ``startup``: ``python -m bench --only startup``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import Metric, register

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]

_BARE = """
import time, sys
t0 = float(sys.argv[1])
from PySide6.QtWidgets import QApplication
import pyqtgraph as pg
import numpy as np
app = QApplication([])
w = pg.GraphicsLayoutWidget()
plot = w.addPlot()
img = pg.ImageItem(axisOrder="row-major")
plot.addItem(img)
img.setImage(np.random.rand(64, 64).astype(np.float32), autoLevels=False, levels=(0, 1))
w.resize(1500, 950)
w.show()
w.repaint()
app.processEvents()
print("PAINTED", time.time() - t0)
"""

_APP = """
import time, sys, os
t0 = float(sys.argv[1])
from induction_gui.app import build_gui_parser
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication
QCoreApplication.setOrganizationName("InductionHeadExplorerBench")
app = QApplication([])
from induction_gui import load_scenario
from induction_gui.model.document import Document
from induction_gui.qt.main_window import MainWindow
window = MainWindow(Document(load_scenario("induction-circuit")))
window.resize(1500, 950)
window.show()
window.repaint()
app.processEvents()
print("PAINTED", time.time() - t0)
window.undo_stack.setClean()
window.shutdown()
"""


def _startup(code: str, env: dict[str, str]) -> float:
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", code, repr(t0)], capture_output=True, text=True, env=env,
                         cwd=REPO, timeout=120)
    for line in out.stdout.splitlines():
        if line.startswith("PAINTED"):
            return float(line.split()[1])
    raise RuntimeError(f"start-up benchmark failed: {out.stderr[-2000:]}")


def _model(n_ctx: int):
    from induction_gui import engine
    from induction_gui.model.scenario import Scenario

    cfg = engine.ModelConfig(n_layers=2, n_heads=4, d_model=64, d_head=16, d_vocab=64, n_ctx=n_ctx)
    weights = engine.Weights.random(cfg, seed=0)
    tokens = np.random.default_rng(0).integers(0, 64, n_ctx)
    vocab = [f"t{i}" for i in range(64)]
    return Scenario(title=f"bench T={n_ctx}", vocab=vocab, tokens=tokens, weights=weights)


def _edit_to_paint(n_ctx: int, n_edits: int) -> list[float]:
    """Edit-to-paint times of the benchmark's small model at ``n_ctx`` tokens."""
    return edit_to_paint(_model(n_ctx), n_edits)


def edit_to_paint(scenario: object, n_edits: int) -> list[float]:
    """Milliseconds from one ``W_Q`` cell edit (through the undo stack) to every visible view repainted.

    Default layout (the attention tab), recompute forced synchronous; slow
    analysis entries keep running in their workers, as in the app.
    """
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from induction_gui.model.document import Document
    from induction_gui.qt.commands import set_weight_cell
    from induction_gui.qt.main_window import MainWindow
    from induction_gui.qt.settings import Settings

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window = MainWindow(Document(scenario), settings, autosave_folder=Path(tmp) / "autosave")
        window.scheduler.force_sync = True
        window.resize(1500, 950)
        window.show()
        window.wait_idle()
        window.repaint()
        cfg = window.document.scenario.weights.config
        rng = np.random.default_rng(1)
        times = []
        for i in range(n_edits + 3):
            index = (int(rng.integers(cfg.n_heads)), int(rng.integers(cfg.d_model)), int(rng.integers(cfg.d_head)))
            t = time.perf_counter()
            window.undo_stack.push(set_weight_cell(window.document, "blocks.0.attn.W_Q", index, float(rng.normal())))
            window.scheduler.flush()
            for view in window.views:  # force the paint of every visible view now
                if view.isVisible():
                    view.repaint()
            app.processEvents()  # and whatever else the edit made dirty (the weights table)
            if i >= 3:  # the first edits warm caches
                times.append((time.perf_counter() - t) * 1e3)
        window.executor.wait()
        window.undo_stack.setClean()
        window.shutdown()
        window.close()
        window.deleteLater()
        app.processEvents()
    return times


@register("gui")
def bench_gui(quick: bool) -> dict[str, Metric]:
    n = 30 if quick else 100
    out: dict[str, Metric] = {}
    for n_ctx, target in ((64, 10.0), (512, 33.0)):  # issue targets: within a 100 Hz frame, within 30 Hz
        times = _edit_to_paint(n_ctx, n)
        out[f"gui_edit_to_paint_p95_ms_T{n_ctx}"] = Metric(float(np.percentile(times, 95)), "ms", target)
        out[f"gui_edit_to_paint_median_ms_T{n_ctx}"] = Metric(float(np.median(times)), "ms")
    return out


@register("startup")
def bench_startup(quick: bool) -> dict[str, Metric]:
    out: dict[str, Metric] = {}
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    with tempfile.TemporaryDirectory() as tmp:
        env["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        env["XDG_DATA_HOME"] = str(Path(tmp) / "data")
        runs = 2 if quick else 5
        bare_times, app_times = [], []
        for _ in range(runs):  # interleaved, so a change in machine load hits both alike
            bare_times.append(_startup(_BARE, env))
            app_times.append(_startup(_APP, env))
        bare, app = statistics.median(bare_times), statistics.median(app_times)
    out["startup_bare_window_s"] = Metric(bare, "s")
    out["startup_to_first_paint_s"] = Metric(app, "s", 1.5 * bare)
    out["startup_ratio_to_bare"] = Metric(app / bare, "x", 1.5)
    return out
