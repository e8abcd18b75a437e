"""The lecture's experiments on the focused head, and presets that rebuild it.

Experiments change the head's :class:`HeadOverride` (temperature, key shift,
normalisation, a hand-edited fixed pattern, ablation); presets replace its
W_Q, W_K, W_V, W_O (previous-token head, induction head, ...). Every control
pushes an undoable command; a slider drag merges into one step, a preset is
one macro. The controls follow the document and never push while they are
being updated from it.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
from PySide6.QtCore import QObject, QSignalBlocker, Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...model.document import Document, Selection
from ...model.events import Change, ModelReplaced, OverridesChanged, TokensChanged, VocabChanged
from ...model.overrides import PARAMS, HeadKey, HeadOverride, shift_matrix
from ..commands import SetOverrideCommand, push_validated
from ..widgets.heatmap import Heatmap
from .head_presets_box import HeadPresetsBox
from .matrix_editor import thinned

_SCALE = PARAMS["score_scale"]  # types, ranges and meanings of the experiments: model/overrides.py
SCALE_STEPS = 100  # slider ticks per unit of score scale
SCALE_SLIDER_MAX = 4.0  # the slider's range; the spin box goes further
SCALE_SPIN_MAX = float(_SCALE.widget_max or SCALE_SLIDER_MAX)
NORMALIZATIONS = PARAMS["normalization"].choices  # (value, label, tooltip)
ABLATIONS = PARAMS["ablation"].choices
_drag_ids = itertools.count(1)


def _blocked(*objects: QObject) -> list[QSignalBlocker]:
    """Block signals while the document updates the widgets: showing a value must not push a command."""
    return [QSignalBlocker(o) for o in objects]


def _sparse_labels(n: int, most: int = 9) -> list[str]:
    """Position labels for a heatmap axis, at most ``most`` of them written."""
    return thinned([str(i) for i in range(n)], most)


class HeadControls(QWidget):
    """Lecture controls and presets for the document's focused head.

    Parameters
    ----------
    document
        the document; its ``selection`` says which head.
    undo_stack
        where every change is pushed.
    """

    def __init__(self, document: Document, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.undo_stack = undo_stack
        self._drag_id: int | None = None
        self._shown: HeadKey = (-1, -1)  # the head the controls show
        self._setup_ui()
        document.events.scenario.connect(self._on_scenario_changed)
        document.events.selection.connect(self._on_selection_changed)
        self.refresh()

    def detach(self) -> None:
        """Stop following the document."""
        self.document.events.scenario.disconnect(self._on_scenario_changed)
        self.document.events.selection.disconnect(self._on_selection_changed)

    # -- construction --------------------------------------------------------------------------------
    def _setup_ui(self) -> None:
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold;")

        # score scale (inverse temperature)
        self.scale_slider = QSlider(Qt.Orientation.Horizontal)
        self.scale_slider.setRange(0, int(SCALE_SLIDER_MAX * SCALE_STEPS))
        self.scale_slider.setPageStep(SCALE_STEPS // 4)
        self.scale_spin = QDoubleSpinBox()
        self.scale_spin.setRange(0.0, SCALE_SPIN_MAX)
        self.scale_spin.setDecimals(_SCALE.decimals)
        self.scale_spin.setSingleStep(_SCALE.step)
        self.scale_spin.setKeyboardTracking(False)
        tip = f"{_SCALE.label}: {_SCALE.doc}"
        self.scale_slider.setToolTip(tip)
        self.scale_spin.setToolTip(tip)

        self.shift_spin = QSpinBox()
        shift = PARAMS["key_shift"]
        self.shift_spin.setToolTip(f"{shift.label}: {shift.doc}")

        self.norm_group = QButtonGroup(self)
        self.norm_buttons: dict[str, QRadioButton] = {}
        norm_row = QHBoxLayout()
        for i, (key, text, tip) in enumerate(NORMALIZATIONS):
            b = QRadioButton(text)
            b.setToolTip(tip)
            self.norm_group.addButton(b, i)
            self.norm_buttons[key] = b
            norm_row.addWidget(b)
        norm_row.addStretch(1)

        self.ablate_group = QButtonGroup(self)
        self.ablate_buttons: dict[str | None, QRadioButton] = {}
        ablate_row = QHBoxLayout()
        for i, (key, text, tip) in enumerate(ABLATIONS):
            b = QRadioButton(text)
            b.setToolTip(tip)
            self.ablate_group.addButton(b, i)
            self.ablate_buttons[key] = b
            ablate_row.addWidget(b)
        ablate_row.addStretch(1)

        exp = QGroupBox("Lecture experiments")
        grid = QGridLayout(exp)
        grid.addWidget(QLabel("Score scale"), 0, 0)
        scale_row = QHBoxLayout()
        scale_row.addWidget(self.scale_slider, 1)
        scale_row.addWidget(self.scale_spin)
        grid.addLayout(scale_row, 0, 1)
        grid.addWidget(QLabel("Key shift"), 1, 0)
        shift_row = QHBoxLayout()
        shift_row.addWidget(self.shift_spin)
        shift_row.addStretch(1)
        grid.addLayout(shift_row, 1, 1)
        # the radio buttons on their own rows, under their names: beside them they widened the dock
        grid.addWidget(QLabel("Normalise"), 2, 0, 1, 2)
        grid.addLayout(norm_row, 3, 0, 1, 2)
        grid.addWidget(QLabel("Ablate"), 4, 0, 1, 2)
        grid.addLayout(ablate_row, 5, 0, 1, 2)
        grid.setColumnStretch(1, 1)

        # fixed pattern: edit the attention pattern directly
        self.fixed_check = QCheckBox("Fixed pattern (edit it)")  # short: the dock is narrow on a laptop
        self.fixed_check.setToolTip("Fixed pattern: edit the attention pattern directly. "
                                    "Replace q·k by a pattern you draw, starting from the shift matrix "
                                    "(a previous-token head) with linear normalisation, as the lecture does. "
                                    "Click a cell below to toggle it.")
        self._pattern_view: Heatmap | None = None  # built when a fixed pattern is first shown (start-up cost)
        self.cell_value = QDoubleSpinBox()
        self.cell_value.setRange(-100.0, 100.0)
        self.cell_value.setValue(1.0)
        self.cell_value.setToolTip("The value a click puts into an empty cell.")
        self.offset_spin = QSpinBox()
        self.offset_spin.setValue(1)
        self.offset_spin.setToolTip("Offset of the shift matrix: 1 = previous token, 0 = current token.")
        self.fill_button = QPushButton("Fill shift")
        self.fill_button.setToolTip("Replace the pattern by the shift matrix with this offset (one undo step).")
        fixed_box = QGroupBox("Attention pattern")
        fixed_layout = QVBoxLayout(fixed_box)
        fixed_layout.addWidget(self.fixed_check)
        self.pattern_tools = QWidget()
        # two short rows, not one long one: the weights dock is ~300 px wide on a 1280 projector
        pattern_tools = QGridLayout(self.pattern_tools)
        pattern_tools.setContentsMargins(0, 0, 0, 0)
        pattern_tools.addWidget(QLabel("Click sets"), 0, 0)
        pattern_tools.addWidget(self.cell_value, 0, 1)
        pattern_tools.addWidget(QLabel("Offset"), 1, 0)
        pattern_tools.addWidget(self.offset_spin, 1, 1)
        pattern_tools.addWidget(self.fill_button, 1, 2)
        pattern_tools.setColumnStretch(3, 1)
        fixed_layout.addWidget(self.pattern_tools)
        self._fixed_layout = fixed_layout

        # presets
        self.presets = HeadPresetsBox(document=self.document, undo_stack=self.undo_stack)
        self.preset_buttons = self.presets.preset_buttons  # under the names the rest of the panel (and tests) use
        self.seed_spin = self.presets.seed_spin
        self.status = self.presets.status

        self._layout = layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(exp)
        layout.addWidget(fixed_box)  # index 2: stretches only while it shows a pattern
        layout.addWidget(self.presets)
        layout.addStretch(1)  # index 4: takes the slack otherwise

        self.scale_slider.sliderPressed.connect(self._on_scale_drag_started)
        self.scale_slider.sliderReleased.connect(self._on_scale_drag_finished)
        self.scale_slider.valueChanged.connect(self._on_scale_slider_changed)
        self.scale_spin.valueChanged.connect(self._on_scale_spin_changed)
        self.shift_spin.valueChanged.connect(self._on_shift_changed)
        self.norm_group.idClicked.connect(self._on_normalization_changed)
        self.ablate_group.idClicked.connect(self._on_ablation_changed)
        self.fixed_check.toggled.connect(self._on_fixed_changed)
        self.fill_button.clicked.connect(self._on_fill_clicked)

    # -- state --------------------------------------------------------------------------------------
    @property
    def key(self) -> HeadKey:
        sel = self.document.selection
        return sel.layer, sel.head

    @property
    def override(self) -> HeadOverride:
        return self.document.override(self.key)

    def _take_snapshot(self) -> None:
        """Copy every head's weights and override, for "Reset head to scenario"."""
        self.presets.take_snapshot()

    def refresh(self) -> None:
        """Show the focused head's override (pushes nothing)."""
        layer, head = self.key
        self._shown = (layer, head)
        cfg = self.document.scenario.weights.config
        o = self.override
        self.title.setText(f"Head L{layer}H{head}")
        widgets = (self.scale_slider, self.scale_spin, self.shift_spin, self.fixed_check, self.offset_spin)
        blockers = _blocked(*widgets, self.norm_group, self.ablate_group)
        self.scale_spin.setValue(o.score_scale)
        if self._drag_id is None:  # during a drag the slider is the source of truth
            self.scale_slider.setValue(int(round(min(max(o.score_scale, 0.0), SCALE_SLIDER_MAX) * SCALE_STEPS)))
        self.shift_spin.setRange(0, max(cfg.n_ctx - 1, 0))
        self.shift_spin.setValue(o.key_shift)
        self.offset_spin.setRange(0, max(cfg.n_ctx - 1, 0))
        self.norm_buttons[o.normalization].setChecked(True)
        self.ablate_buttons[o.ablation].setChecked(True)
        fixed = o.fixed_pattern is not None
        self.fixed_check.setChecked(fixed)
        for b in blockers:
            b.unblock()
        self.shift_spin.setEnabled(not fixed)
        self.shift_spin.setToolTip(self.shift_spin.toolTip() if not fixed else
                                   "Key shift has no effect while a fixed pattern replaces q·k.")
        # the pattern editor only when there is a pattern to edit: a blank matrix would only be clutter
        self.pattern_tools.setVisible(fixed)
        if fixed or self._pattern_view is not None:
            self.pattern_view.setVisible(fixed)
        self._layout.setStretch(2, 1 if fixed else 0)
        self._layout.setStretch(4, 0 if fixed else 1)
        if fixed:
            pattern = o.fixed_pattern  # [query_pos, key_pos]
            n = pattern.shape[0]
            top = float(np.abs(pattern).max()) if pattern.size else 1.0
            labels = _sparse_labels(n)
            self.pattern_view.set_data(pattern, row_labels=labels, col_labels=labels,
                                       levels=(0.0, max(top, 1.0)), what="pattern scores")
        self.presets.refresh(layer)

    @property
    def pattern_view(self) -> Heatmap:
        """The fixed-pattern editor, made on first use: most heads never get a fixed pattern."""
        if self._pattern_view is None:
            view = Heatmap(x_label="key position", y_label="query position", readout=True)
            view.setMinimumHeight(220)
            view.setToolTip("The fixed scores P. Click a cell on or below the diagonal to toggle it "
                            "between 0 and the value on the right; above the diagonal is masked.")
            view.clicked.connect(self._on_pattern_clicked)
            self._fixed_layout.addWidget(view, 1)
            self._pattern_view = view
        return self._pattern_view

    # -- pushing changes ---------------------------------------------------------------------------
    def _push_override(self, override: HeadOverride, text: str, merge_key: object = None) -> None:
        problem = push_validated(self.undo_stack, SetOverrideCommand(self.document, self.key, override, text,
                                                                     merge_key=merge_key))
        if problem:
            self._show_status(f"Not changed: {problem}", error=True)

    def _show_status(self, text: str, error: bool = False) -> None:
        self.presets.show_status(text, error)

    # -- slots: experiments -----------------------------------------------------------------------------
    def _on_scale_drag_started(self) -> None:
        self._drag_id = next(_drag_ids)

    def _on_scale_drag_finished(self) -> None:
        self._drag_id = None

    def _on_scale_slider_changed(self, value: int) -> None:
        scale = value / SCALE_STEPS
        merge = None if self._drag_id is None else ("score_scale", self.key, self._drag_id)
        self._push_override(dataclasses.replace(self.override, score_scale=scale),
                            f"Score scale of L{self.key[0]}H{self.key[1]} = {scale:g}", merge)

    def _on_scale_spin_changed(self, value: float) -> None:
        self._push_override(dataclasses.replace(self.override, score_scale=float(value)),
                            f"Score scale of L{self.key[0]}H{self.key[1]} = {value:g}")

    def _on_shift_changed(self, value: int) -> None:
        self._push_override(dataclasses.replace(self.override, key_shift=int(value)),
                            f"Key shift of L{self.key[0]}H{self.key[1]} = {value}")

    def _on_normalization_changed(self, button_id: int) -> None:
        norm = NORMALIZATIONS[button_id][0]
        if norm != self.override.normalization:
            self._push_override(dataclasses.replace(self.override, normalization=norm),
                                f"{NORMALIZATIONS[button_id][1]} normalisation on L{self.key[0]}H{self.key[1]}")

    def _on_ablation_changed(self, button_id: int) -> None:
        ablation = ABLATIONS[button_id][0]
        if ablation != self.override.ablation:
            self._push_override(dataclasses.replace(self.override, ablation=ablation),
                                f"Ablate L{self.key[0]}H{self.key[1]}: {ABLATIONS[button_id][1].lower()}")

    def _on_fixed_changed(self, on: bool) -> None:
        n_ctx = self.document.scenario.weights.config.n_ctx
        layer, head = self.key
        if on:
            # the lecture's previous-token pattern, normalised linearly as in its demo
            new = dataclasses.replace(self.override, fixed_pattern=shift_matrix(n_ctx, self.offset_spin.value()),
                                      normalization="linear")
            self._push_override(new, f"Fixed pattern on L{layer}H{head}")
        else:
            self._push_override(dataclasses.replace(self.override, fixed_pattern=None),
                                f"Computed pattern on L{layer}H{head}")

    def _on_pattern_clicked(self, row: int, col: int) -> None:
        o = self.override
        if o.fixed_pattern is None:
            return
        if col > row:
            self._show_status(f"Query {row} cannot attend to a later key ({col}): the causal mask hides it.", True)
            return
        p = o.fixed_pattern.copy()  # [query_pos, key_pos]
        p[row, col] = 0.0 if p[row, col] != 0 else self.cell_value.value()
        self._push_override(dataclasses.replace(o, fixed_pattern=p),
                            f"Pattern of L{self.key[0]}H{self.key[1]}[{row}, {col}] = {p[row, col]:g}")

    def _on_fill_clicked(self) -> None:
        o = self.override
        if o.fixed_pattern is None:
            return
        n = o.fixed_pattern.shape[0]
        self._push_override(dataclasses.replace(o, fixed_pattern=shift_matrix(n, self.offset_spin.value())),
                            f"Shift pattern (offset {self.offset_spin.value()}) on L{self.key[0]}H{self.key[1]}")

    # -- slots: document --------------------------------------------------------------------------------
    def _on_scenario_changed(self, change: Change) -> None:
        if isinstance(change, ModelReplaced):
            self._take_snapshot()
            self.status.hide()
        if isinstance(change, (OverridesChanged, ModelReplaced, VocabChanged, TokensChanged)):
            self.refresh()

    def _on_selection_changed(self, selection: Selection) -> None:
        if (selection.layer, selection.head) != self._shown:  # a new query position changes nothing here
            self.status.hide()
            self.refresh()
