"""What every centre view shares: it draws the analysis and redraws only when visible.

A view takes the analysis in ``__init__`` (the document is ``analysis.document``),
connects to its events there and disconnects in :meth:`View.detach`. A view
never computes a number: it asks the analysis for named entries and paints
them; a slow entry answers :class:`~induction_gui.analysis.Pending` until a
worker is done, and the view redraws when it is ready. When new results arrive
while the view is hidden (another tab), it only remembers that it is out of
date and redraws when shown, so an edit costs the repaint of the visible views
alone, and a number nobody shows is never computed.
"""

from __future__ import annotations

import traceback

import numpy as np
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QWidget

import pyqtgraph as pg

from ...analysis import Analysis, Pending, Results
from ...model.appearance import Appearance
from ...model.document import Selection
from ...model.events import Change, SettingsChanged
from ...model.hover import Hover, HoveredCell
from ..widgets.plot_text import fit_plot_text
from ..widgets.style import EXPLANATION, line_width, mark_explanation

LOW_VIEW_HEIGHT, LOW_VIEW_MARGIN = 420, 40  # px: a view lower than this leaves its explanations out

# saved view settings that change what a view draws (every detector score reads exclude_bos)
REDRAWING_SETTINGS = frozenset({"exclude_bos"})

# re-exported: the drawing helpers moved to qt.widgets; a view may still take them from its base
__all__ = ["View", "mark_explanation", "line_width", "EXPLANATION"]

HEADING_SCALE = 1.35  # a view's heading, relative to its text
PRESENTATION_HEADING_SCALE = 1.1  # projector fonts are large already; a bigger heading took three lines


class View(QWidget):
    """Base class of the centre views.

    Subclasses implement :meth:`refresh` (draw from ``self.analysis``) and may
    override :meth:`matrices` (what "Export matrices as CSV" writes).
    """

    title = "View"  # tab title
    short_title = ""  # the tab's title when the tab bar is short of room (a projector); "" means the title
    tooltip = ""  # one sentence on what the view shows, in the lecture's terms
    help_text = ""  # a paragraph for Help ▸ What Am I Looking At? (F1); the tooltip when empty
    follows_hover = False  # reads the Attention pattern's hovered cell: the window calls follow_hover

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.short_title = cls.__dict__.get("short_title") or cls.title  # each view its own, else its title

    def __init__(self, analysis: Analysis, parent: QWidget | None = None, *,
                 appearance: Appearance | None = None) -> None:
        super().__init__(parent)
        assert analysis.document is not None, "views draw a live document's analysis"
        self.analysis = analysis
        self.document = analysis.document
        # the window's one appearance (colour map, text size, projector layout); a view alone gets its own
        self.appearance = appearance if appearance is not None else Appearance()
        self._out_of_date = True
        self.last_error: str | None = None  # the last exception a refresh raised
        self.colormap_name = self.appearance.colormap
        self.font_points = self.appearance.font_points
        self.presenting = False  # the projector layout (presentation mode), applied below
        self._hidden_for_presentation: list[QWidget] = []
        self._hidden_for_height: list[QWidget] = []  # explanations a low view leaves out (see _fit_explanations)
        self.waiting_for: set[str] = set()  # slow entries this view showed as "computing…"
        self._hover: Hover | None = None  # the window's pattern hover, once followed
        analysis.events.results.connect(self._on_results_changed)
        analysis.events.ready.connect(self._on_entry_ready)
        self.document.events.selection.connect(self._on_selection_changed)
        self.document.events.scenario.connect(self._on_scenario_setting_changed)
        analysis.events.pinned.connect(self._on_pinned_changed)
        self.appearance.events.changed.connect(self._on_appearance_changed)

    def detach(self) -> None:
        """Stop following the document and the analysis (before the view is deleted)."""
        self.analysis.events.results.disconnect(self._on_results_changed)
        self.analysis.events.ready.disconnect(self._on_entry_ready)
        self.document.events.selection.disconnect(self._on_selection_changed)
        self.document.events.scenario.disconnect(self._on_scenario_setting_changed)
        self.analysis.events.pinned.disconnect(self._on_pinned_changed)
        self.appearance.events.changed.disconnect(self._on_appearance_changed)
        if self._hover is not None:
            self._hover.events.changed.disconnect(self._on_hover_changed)

    def follow_hover(self, hover: Hover) -> None:
        """Follow the cell the Attention pattern's pointer is over (for views with ``follows_hover``)."""
        self._hover = hover
        hover.events.changed.connect(self._on_hover_changed)

    def _on_hover_changed(self, cell: HoveredCell | None) -> None:
        self.update_if_visible()

    # -- scheduling ------------------------------------------------------------------------
    def _on_results_changed(self, results: Results) -> None:
        self.update_if_visible()

    def _on_selection_changed(self, selection: Selection) -> None:
        self.update_if_visible()

    def _on_pinned_changed(self, pinned: Analysis | None) -> None:
        self.update_if_visible()

    def _on_scenario_setting_changed(self, change: Change) -> None:
        """A view setting every view reads (exclude_bos) changed: no recompute, but a redraw."""
        if isinstance(change, SettingsChanged) and change.key in REDRAWING_SETTINGS:
            self.update_if_visible()

    def _on_entry_ready(self, name: str) -> None:
        """A slow entry finished: redraw if this view was waiting for it."""
        if name in self.waiting_for:
            self.update_if_visible()

    def ask(self, name: str, /, **params: object) -> object:
        """The analysis's value of entry ``name``; remembers a :class:`Pending` one to redraw when ready."""
        value = self.analysis.get(name, **params)
        if isinstance(value, Pending):
            self.waiting_for.add(name)
        else:
            self.waiting_for.discard(name)
        return value

    def update_if_visible(self) -> None:
        """Redraw now if on screen, else when next shown."""
        if self.isVisible():
            self.refresh_now()
        else:
            self._out_of_date = True

    def refresh_now(self) -> None:
        """Redraw, and never let a drawing bug take the window (and the learner's work) down.

        An exception escaping a Qt event handler can abort the process; here it
        is printed, kept in :attr:`last_error` (tests assert it stays None) and
        shown in the status bar, and the other views go on drawing.
        """
        results = self.analysis.latest_results
        if results is None:
            return
        if self.document.selection.query_pos >= results.tokens.size:
            # results a generation behind a longer sequence (a worker is on it): the selection is the new
            # sequence's, so wait for the new results rather than index past the old ones
            self._out_of_date = True
            return
        self._out_of_date = False
        try:
            self.refresh()
        except Exception as exc:  # noqa: BLE001 - reported, not swallowed silently
            traceback.print_exc()
            self.last_error = f"{type(exc).__name__}: {exc}"
            window = self.window()
            status = getattr(window, "statusBar", None)
            if callable(status):
                status().showMessage(f"⚠ the {self.title} view could not draw: {self.last_error}", 10000)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._fit_explanations()

    def _fit_explanations(self) -> None:
        """A low view (the training dock under it on a 720-row screen) leaves its prose out, as the projector does.

        Every caption line is a line its plots lose; below ``LOW_VIEW_HEIGHT``
        the explanations go (their text stays in the tool tips and F1), and come
        back above it plus a margin, so a view at the edge does not flicker.
        """
        low = self.height() < LOW_VIEW_HEIGHT
        if low and not self._hidden_for_height and not self.presenting:
            self._hidden_for_height = [w for w in self.findChildren(QWidget)
                                       if w.property(EXPLANATION) and not w.isHidden()]
            for widget in self._hidden_for_height:
                widget.hide()
        elif self._hidden_for_height and (self.presenting or self.height() >= LOW_VIEW_HEIGHT + LOW_VIEW_MARGIN):
            hidden, self._hidden_for_height = self._hidden_for_height, []
            if not self.presenting:  # presentation keeps them hidden itself, and shows them when it ends
                for widget in hidden:
                    widget.show()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        fit_plot_text(self)  # titles and axis labels elide to their room (plots a view built itself included)
        if self._out_of_date:
            self.refresh_now()

    # -- to implement --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Draw from ``self.analysis`` (``latest_results`` and entries) and ``self.document.selection``."""
        raise NotImplementedError

    def matrices(self) -> dict[str, tuple[np.ndarray, list[str] | None, list[str] | None]]:
        """Name -> (matrix, row labels, column labels) of what the view shows, for CSV export."""
        return {}

    # -- appearance -----------------------------------------------------------------------------------
    def set_colormap(self, name: str) -> None:
        """Sequential colour map for unsigned data (patterns): a change of the shared appearance."""
        self.appearance.set(colormap=name)

    def set_font_size(self, points: float) -> None:
        """Font size for labels (the settings' font scale, presentation mode): a change of the shared appearance."""
        self.appearance.set(font_points=points)

    def set_presentation(self, on: bool) -> None:
        """The projector layout on or off: a change of the shared appearance."""
        self.appearance.set(presenting=on)

    def sync_appearance(self) -> None:
        """Take the appearance as it is now (a view built while presenting starts in the projector layout)."""
        self._on_appearance_changed(("colormap", "font_points", "presenting"))

    def _on_appearance_changed(self, names: tuple[str, ...]) -> None:
        look = self.appearance.look
        self.colormap_name, self.font_points = look.colormap, look.font_points
        if look.presenting != self.presenting:
            self._apply_presentation_layout(look.presenting)  # redraws
        elif {"colormap", "font_points"} & set(names):
            self.update_if_visible()

    def _apply_presentation_layout(self, on: bool) -> None:
        """Projector layout: explanations hidden, plots given the rows (leaving shows them again).

        Only widgets shown at the time are hidden, and only those are shown
        again, so a widget a view hides for its own reasons stays hidden.
        Subclasses extend :meth:`apply_presentation` for what is not a caption
        (a shorter row profile, for example).
        """
        if on == self.presenting:
            return
        self.presenting = on
        if on:
            self._hidden_for_presentation = [w for w in self.findChildren(QWidget)
                                             if w.property(EXPLANATION) and not w.isHidden()]
            self._hidden_for_presentation += self._hidden_for_height  # hidden for the height: shown when it ends
            self._hidden_for_height = []
            for widget in self._hidden_for_presentation:
                widget.hide()
        else:
            for widget in self._hidden_for_presentation:
                widget.show()
            self._hidden_for_presentation = []
            self._fit_explanations()  # a low view leaves them out again
        self.apply_presentation(on)
        self.update_if_visible()

    def apply_presentation(self, on: bool) -> None:
        """What a view changes for the projector besides hiding explanations (nothing by default)."""

    @property
    def heading_points(self) -> float:
        """Point size of the view's heading (smaller relative to the text in the projector layout)."""
        return self.font_points * (PRESENTATION_HEADING_SCALE if self.presenting else HEADING_SCALE)

    def pen(self, color: object, width: float = 1.0, **kwargs: object) -> object:
        """A pen whose width follows the font size (projector lines as visible as projector text)."""
        return pg.mkPen(color, width=line_width(width, self.font_points), **kwargs)

    # -- helpers for subclasses ---------------------------------------------------------------------
    @property
    def pinned_results(self) -> Results | None:
        """The forward pass of the pinned state (Ctrl+P), or None."""
        pinned = self.analysis.pinned
        return pinned.results if pinned is not None else None

    @property
    def pinned_weights(self) -> object:
        """The weights as they were when pinned (weight-only scores compare against them), or None."""
        pinned = self.analysis.pinned
        return pinned.state().weights if pinned is not None else None

    def focus(self, results: Results) -> Selection:
        """The document's selection, clamped to the forward pass being drawn.

        The results a view draws may lag the document by a frame (a worker is
        still computing the new sequence or model), so the focused head or query
        position may not exist in them yet: a view draws the nearest one that
        does, never an index of another sequence or model.
        """
        sel = self.document.selection
        patterns = results.cache["pattern", 0] if results.n_layers else None  # [batch, head_index, q, k]
        n_heads = patterns.shape[1] if patterns is not None else 1
        n_pos = int(results.tokens.size)
        return Selection(min(max(sel.layer, 0), max(results.n_layers - 1, 0)),
                         min(max(sel.head, 0), n_heads - 1),
                         min(max(sel.query_pos, 0), max(n_pos - 1, 0)))

    def token_labels(self, results: Results) -> list[str]:
        """``"3:A"`` style labels of the sequence: position and token, as the axes show them."""
        vocab = self.document.scenario.vocab
        # results may lag a vocabulary edit by a frame: an id the vocabulary lacks is shown as its number
        return [f"{i}:{vocab[t] if t < len(vocab) else t}" for i, t in enumerate(results.tokens)]
