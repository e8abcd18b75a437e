"""Head presets: rebuild the focused head's W_Q, W_K, W_V, W_O as a previous-token head, an induction head, ...

Each preset is one undo step (a macro of the weight commands that change
something); "Reset head to scenario" restores the head's weights and
experiments from a snapshot taken when the scenario was opened. The
weights a preset gives the head come from :mod:`~induction_gui.model.head_presets`;
this box only pushes them as commands.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QPushButton, QSpinBox, QWidget

from ...model.document import Document
from ...model.head_presets import HeadState, changed_weights, preset_weights, snapshot
from ...model.overrides import HeadKey
from ..commands import SetOverrideCommand, SetWeightCommand, push_validated
from ..widgets.fitting import slim_button

INDUCTION_TIP = ("Layer ≥ 1: the key reads what an earlier previous-token head wrote (K-composition), the query "
                 "reads the current token, and OV copies the attended token into its logit.")


class HeadPresetsBox(QGroupBox):
    """Preset buttons for the document's focused head, the random preset's seed, and a status line."""

    def __init__(self, *, document: Document, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__("Head presets (one undo step each)", parent)
        self.document = document
        self.undo_stack = undo_stack
        self._snapshot: dict[HeadKey, HeadState] = {}
        self.take_snapshot()
        self.preset_buttons: dict[str, QPushButton] = {}
        pgrid = QGridLayout(self)
        specs = (
            ("previous_token", "Previous-token",
             "QK: key-query alignment through the positional embeddings, so query i attends to i − 1. "
             "OV: copies the token into free residual directions."),
            ("induction", "Induction", INDUCTION_TIP),
            ("identity_copy", "Identity copy", "OV ≈ identity on the token subspace (d_head dims); QK unchanged."),
            ("zero", "Zero", "All Q, K, V, O weights zero: uniform attention, zero output."),
            ("random", "Random", "A freshly initialised head (TransformerLens init) from the seed."),
            ("reset", "Reset head to scenario",
             "This head's weights and experiments as they were when the scenario was opened."),
        )
        for key, text, tip in specs:
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(lambda _checked=False, k=key: self._on_preset_clicked(k))
            self.preset_buttons[key] = b
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setPrefix("seed ")
        self.seed_spin.setToolTip("Seed of the random preset: the same seed gives the same head.")
        # room for "seed 99999", not for the largest seed (the field scrolls its text for those)
        self.seed_spin.setMinimumWidth(self.seed_spin.fontMetrics().horizontalAdvance("seed 999999") + 32)
        for b in self.preset_buttons.values():
            slim_button(b)
        pgrid.addWidget(self.preset_buttons["previous_token"], 0, 0)
        pgrid.addWidget(self.preset_buttons["induction"], 0, 1)
        pgrid.addWidget(self.preset_buttons["identity_copy"], 1, 0)
        pgrid.addWidget(self.preset_buttons["zero"], 1, 1)
        pgrid.addWidget(self.preset_buttons["random"], 2, 0)
        pgrid.addWidget(self.seed_spin, 2, 1)
        pgrid.addWidget(self.preset_buttons["reset"], 3, 0, 1, 2)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.hide()
        pgrid.addWidget(self.status, 4, 0, 1, 2)

    @property
    def key(self) -> HeadKey:
        sel = self.document.selection
        return sel.layer, sel.head

    def refresh(self, layer: int) -> None:
        """The induction preset needs an earlier layer to compose with."""
        self.preset_buttons["induction"].setEnabled(layer >= 1)
        self.preset_buttons["induction"].setToolTip(
            INDUCTION_TIP if layer >= 1 else
            "An induction head needs an earlier layer to K-compose with: choose layer ≥ 1.")

    def show_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00020; font-weight: bold;" if error else "color: #1b5e20;")
        self.status.show()

    def take_snapshot(self) -> None:
        """Copy every head's weights and override, for "Reset head to scenario"."""
        self._snapshot = snapshot(self.document.scenario)

    def _on_preset_clicked(self, preset: str) -> None:
        layer, head = self.key
        title = self.preset_buttons[preset].text()
        if preset == "reset":
            self._reset_head()
            return
        try:
            changes = preset_weights(self.document.scenario, self.key, preset, seed=self.seed_spin.value())
        except ValueError as exc:
            self.show_status(str(exc), error=True)
            return
        if not self._apply_weights(changes, f"{title} preset on L{layer}H{head}"):
            return
        note = ""
        override = self.document.override(self.key)
        if override.changes_pattern or override.ablation:
            note = " This head's lecture experiments still apply (see above): clear them to see the preset alone."
        self.show_status(f"{title} preset applied to L{layer}H{head}.{note}")

    def _apply_weights(self, changes: dict[str, np.ndarray], text: str) -> bool:
        """Set the changed parameters as one undo step (nothing, and an error line, if the document refuses)."""
        commands = [SetWeightCommand(self.document, name, array, text) for name, array in changes.items()]
        return self._push_step(commands, text)

    def _reset_head(self) -> None:
        layer, head = self.key
        if (layer, head) not in self._snapshot:
            self.show_status(f"L{layer}H{head} did not exist when the scenario was opened.", error=True)
            return
        state = self._snapshot[(layer, head)]
        text = f"Reset L{layer}H{head} to the scenario"
        changes = changed_weights(self.document.scenario.weights, self.key, state.slices)
        commands = [SetWeightCommand(self.document, name, array, text) for name, array in changes.items()]
        if self.document.override(self.key) != state.override:
            commands.append(SetOverrideCommand(self.document, self.key, state.override, text))
        if not self._push_step(commands, text):
            return
        self.show_status(f"L{layer}H{head} is as it was when the scenario was opened.")

    def _push_step(self, commands: list[SetWeightCommand | SetOverrideCommand], text: str) -> bool:
        """One validated undo step; False (and the document's reason shown) if it is refused."""
        problem = push_validated(self.undo_stack, commands, text)
        if problem:
            self.show_status(f"Not changed: {problem}", error=True)
        return not problem
