"""The weights dock: pick a head and a parameter, edit its numbers, run the lecture's experiments.

Layer and head selectors are bound both ways to ``document.selection`` (the
same head every view focuses on). The parameter selector offers the focused
head's W_Q, W_K, W_V, W_O and the global W_E, W_pos, W_U. Below the matrix
editor sit the per-head controls. The panel follows the document: weights,
overrides, vocabulary and scenario changes and selection changes refresh it
without pushing commands.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...model.document import Document, Selection
from ...model.events import Change, ModelReplaced, VocabChanged, WeightsChanged
from ..widgets.fitting import ElidingComboBox, VerticalScrollArea
from .head_controls import HeadControls
from .matrix_editor import MatrixEditor

# key -> (menu text, tooltip in the lecture's terms); head parameters first
PARAMETERS: dict[str, tuple[str, str]] = {
    "W_Q": ("W_Q  query (this head)", "What the query reads from the residual stream: [d_model, d_head]."),
    "W_K": ("W_K  key (this head)", "What the key reads; q·k is the key-query alignment: [d_model, d_head]."),
    "W_V": ("W_V  value (this head)", "What the head reads to copy (the OV circuit's input): [d_model, d_head]."),
    "W_O": ("W_O  output (this head)", "Where the head writes what it copied: [d_head, d_model]."),
    "W_E": ("W_E  token embedding", "One row per token: [d_vocab, d_model]."),
    "W_pos": ("W_pos  positional embedding", "One row per position: [n_ctx, d_model]."),
    "W_U": ("W_U  unembedding", "One column per output token: [d_model, d_vocab]."),
}
HEAD_PARAMETERS = ("W_Q", "W_K", "W_V", "W_O")
GLOBAL_NAMES = {"W_E": "embed.W_E", "W_pos": "pos_embed.W_pos", "W_U": "unembed.W_U"}


class WeightsPanel(QWidget):
    """Head and parameter selectors, a matrix editor and the head's lecture controls.

    Parameters
    ----------
    document
        the open document.
    undo_stack
        every edit made here is pushed on it.
    """

    def __init__(self, document: Document, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.undo_stack = undo_stack
        self._setup_ui()
        document.events.scenario.connect(self._on_scenario_changed)
        document.events.selection.connect(self._on_selection_changed)
        self._fill_selectors()
        self._retarget()

    def detach(self) -> None:
        """Stop following the document (before the panel is deleted)."""
        self.document.events.scenario.disconnect(self._on_scenario_changed)
        self.document.events.selection.disconnect(self._on_selection_changed)
        self.head_controls.detach()

    # -- construction -----------------------------------------------------------------------------
    def _setup_ui(self) -> None:
        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("Layer of the focused head (the views follow it).")
        self.head_combo = QComboBox()
        self.head_combo.setToolTip("Focused head in that layer (the views follow it).")
        self.param_combo = ElidingComboBox(12)  # "W_pos  positional embedding" elides
        for key, (text, tip) in PARAMETERS.items():
            self.param_combo.addItem(text, key)
            self.param_combo.setItemData(self.param_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.param_combo.setToolTip("Which matrix to show and edit.")

        head_row = QHBoxLayout()
        for label, combo in (("Layer", self.layer_combo), ("Head", self.head_combo)):
            text = QLabel(label)
            text.setBuddy(combo)
            head_row.addWidget(text)
            head_row.addWidget(combo, 1)
        param_row = QHBoxLayout()
        text = QLabel("Matrix")
        text.setBuddy(self.param_combo)
        param_row.addWidget(text)
        param_row.addWidget(self.param_combo, 1)

        self.editor = MatrixEditor(self.document, self.undo_stack)
        self.head_controls = HeadControls(self.document, self.undo_stack)
        scroll = VerticalScrollArea(self.head_controls)  # never sideways: the dock gets the controls' width
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.editor)
        self.splitter.addWidget(scroll)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(head_row)
        layout.addLayout(param_row)
        layout.addWidget(self.splitter, 1)

        self.layer_combo.currentIndexChanged.connect(self._on_layer_combo_changed)
        self.head_combo.currentIndexChanged.connect(self._on_head_combo_changed)
        self.param_combo.currentIndexChanged.connect(self._on_parameter_changed)

    # -- following the document ------------------------------------------------------------------------
    def _fill_selectors(self) -> None:
        """Layer and head items for the model's sizes, set to the selection (pushes nothing)."""
        cfg = self.document.scenario.weights.config
        sel = self.document.selection
        blockers = [QSignalBlocker(self.layer_combo), QSignalBlocker(self.head_combo)]
        if self.layer_combo.count() != cfg.n_layers:
            self.layer_combo.clear()
            self.layer_combo.addItems([f"L{layer}" for layer in range(cfg.n_layers)])
        if self.head_combo.count() != cfg.n_heads:
            self.head_combo.clear()
            self.head_combo.addItems([f"H{head}" for head in range(cfg.n_heads)])
        self.layer_combo.setCurrentIndex(sel.layer)
        self.head_combo.setCurrentIndex(sel.head)
        for b in blockers:
            b.unblock()

    @property
    def parameter(self) -> str:
        """Short name of the matrix shown: ``W_Q`` ... ``W_U``."""
        return str(self.param_combo.currentData())

    def set_parameter(self, key: str) -> None:
        """Show another matrix (``W_Q``, ``W_K``, ``W_V``, ``W_O``, ``W_E``, ``W_pos`` or ``W_U``)."""
        self.param_combo.setCurrentIndex(list(PARAMETERS).index(key))

    def _retarget(self) -> None:
        """Point the editor at the chosen matrix of the focused head, with labels for its axes."""
        s = self.document.scenario
        cfg = s.weights.config
        sel = self.document.selection
        key = self.parameter
        dims = [f"d{i}" for i in range(cfg.d_model)]
        head_dims = [f"h{i}" for i in range(cfg.d_head)]
        vocab = list(s.vocab)
        if key in HEAD_PARAMETERS:
            name = f"blocks.{sel.layer}.attn.{key}"
            who = f"L{sel.layer}H{sel.head}"
            if key == "W_O":
                labels = (head_dims, dims, "head dim", "model dim")
            else:
                labels = (dims, head_dims, "model dim", "head dim")
            caption = f"{key} of {who}: {PARAMETERS[key][1]}"
            self.editor.set_target(name, (sel.head,), row_labels=labels[0], col_labels=labels[1],
                                   row_title=labels[2], col_title=labels[3], caption=caption)
            return
        name = GLOBAL_NAMES[key]
        if key == "W_E":
            labels = (vocab, dims, "token", "model dim")
        elif key == "W_pos":
            labels = ([str(i) for i in range(cfg.n_ctx)], dims, "position", "model dim")
        else:
            labels = (dims, vocab, "model dim", "token")
        self.editor.set_target(name, row_labels=labels[0], col_labels=labels[1], row_title=labels[2],
                               col_title=labels[3], caption=f"{key}, shared by all heads: {PARAMETERS[key][1]}")

    # -- slots ---------------------------------------------------------------------------------------
    def _on_layer_combo_changed(self, index: int) -> None:
        if index >= 0:
            self.document.set_selection(layer=index)

    def _on_head_combo_changed(self, index: int) -> None:
        if index >= 0:
            self.document.set_selection(head=index)

    def _on_parameter_changed(self, index: int) -> None:
        self._retarget()

    def _on_selection_changed(self, selection: Selection) -> None:
        self._fill_selectors()
        shown = self.editor.name, self.editor.slice_index
        wanted = f"blocks.{selection.layer}.attn.{self.parameter}", (selection.head,)
        if self.parameter in HEAD_PARAMETERS and shown != wanted:  # a new query position needs no redraw
            self._retarget()

    def _on_scenario_changed(self, change: Change) -> None:
        if isinstance(change, (VocabChanged, ModelReplaced)):
            self._fill_selectors()
            self._retarget()  # labels (tokens, sizes) may have changed
        elif isinstance(change, WeightsChanged):
            self.editor.refresh()
