"""What a lesson step shows in the window: its centre tab, the training dock, a circuit page.

A step names the view it is about ("attention", "circuits", "training", …);
the panel asks this module to bring that view to the front, so a learner (or
the class watching a projector) never has to hunt for it.
"""

from __future__ import annotations

from typing import Any

from ...model.lessons import CIRCUITS, Lesson, Step

# lesson "view" -> centre tab title (the training view is a dock, not a tab)
TAB_TITLES: dict[str, str] = {
    "attention": "Attention",
    "copying": "Copied representation",
    "predictions": "Predictions",
    "circuits": "Circuits",
    "metrics": "Metrics",
    "attribution": "Attribution",
    "printed": "Printed",
    "counting": "Counting",
}


def show_step_view(window: Any, lesson: Lesson, step: Step) -> None:
    """Bring ``step``'s view to the front of ``window`` (the main window; not imported: it imports the panels)."""
    if window is None or step.view is None:
        return
    if step.view == "training":
        window.training_dock.show()
        window.training_dock.raise_()
        run = lesson.run_path(step)
        if run is not None:
            window.open_training_run(run)
        # scrubbing the checkpoints then shows the focused head's pattern forming above the curves
        title = TAB_TITLES["attention"]
    else:
        title = TAB_TITLES[step.view]
        # the dock a training step opened would halve this step's view (on a projector, crowd it);
        # a run the learner is training keeps its dock
        if not window.training_panel.running:
            window.training_dock.hide()
    tabs = window.tabs
    for i in range(tabs.count()):
        if tabs.tabText(i).replace("&", "") == title:
            tabs.setCurrentIndex(i)  # builds a lazy view
            break
    if step.circuit is not None:
        # the Circuits view's pages are in CIRCUITS order (a test holds the two together)
        show_circuit = getattr(getattr(tabs.currentWidget(), "view", None), "show_circuit", None)
        if callable(show_circuit):
            show_circuit(CIRCUITS.index(step.circuit))
