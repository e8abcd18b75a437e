"""The "Markov chain" generator's transition matrix as a small table the learner edits.

Rows are the current token, columns the next one, both headed by the tokens
the states stand for. A learner types a *weight* ≥ 0 in a cell and the row is
divided by its sum (a caption says so), so "3 1 0" is a row without arithmetic.
The matrix lives in the document (a saved view setting, see
:mod:`induction_gui.model.markov_chain`); every edit, and every random chain,
is one undo step pushed through :func:`~induction_gui.qt.commands.push_validated`,
so a row the document refuses (negative, not a number, all zero) never becomes
a step and its message names the row.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QUndoStack
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...model.document import Document
from ...model.generator_schema import MAX_STATES, MIN_STATES
from ...model.events import Change, SettingsChanged
from ...model.markov_chain import VIEW_KEY, Chain, ChainError, chain_for, random_chain, state_names, with_cell
from ..commands import SetMarkovChainCommand, push_validated
from ..widgets.fitting import slim_button

NAME_CHARS = 4  # a header shows this many characters of its token; the tool tip has it whole
ROW_HEIGHT = 22  # px per row: eight rows and the header stay under 220 px in the dock


def cell_text(p: float) -> str:
    """A probability in at most three characters, so eight columns fit a 330-px dock: 0, 1, .25."""
    if p <= 0:
        return "0"
    if p >= 0.995:
        return "1"
    return f"{p:.2f}"[1:]  # ".25"; a tiny positive value shows as ".00", its cell's tool tip says more


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


class MarkovEditor(QWidget):
    """Edit the chain on ``k_spin.value()`` states; the seed spin box seeds "Random (Dirichlet)"."""

    def __init__(self, document: Document, undo_stack: QUndoStack, k_spin: QSpinBox, seed_spin: QSpinBox,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.undo_stack = undo_stack
        self.k_spin = k_spin
        self.seed_spin = seed_spin
        self._filling = False  # the editor writes its own cells: ignore itemChanged
        self.caption = QLabel("Rows: current token, columns: next. Type any weight ≥ 0; "
                              "each row is divided by its sum.")
        self.caption.setWordWrap(True)
        self.table = QTableWidget()
        self.table.setToolTip("The chain's transition probabilities P(next | current). Double-click a cell to "
                              "type a weight; its row is renormalized to sum to 1 (undoable).")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setMinimumSectionSize(24)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.table.verticalHeader().setMinimumSectionSize(ROW_HEIGHT)
        self.table.setCornerButtonEnabled(False)
        for corner in self.table.findChildren(QAbstractButton):  # Qt's select-all corner: says what the axes are
            corner.setToolTip("Rows: the current token; columns: the next token.")
        self.table.itemChanged.connect(self._on_item_changed)
        self.alpha_spin = QDoubleSpinBox()
        self.alpha_spin.setRange(0.05, 20.0)
        self.alpha_spin.setSingleStep(0.1)
        self.alpha_spin.setValue(1.0)
        self.alpha_spin.setDecimals(2)
        self.alpha_spin.setPrefix("α ")
        self.alpha_spin.setToolTip("Dirichlet concentration α of a random chain: small α gives nearly "
                                   "deterministic rows, large α nearly uniform ones (the training prior is α = 1).")
        self.random_button = QPushButton("Random (Dirichlet)")
        self.random_button.setToolTip("Draw a fresh chain, every row from Dirichlet(α·1), seeded by the form's "
                                      "seed (undoable).")
        slim_button(self.random_button)
        self.random_button.clicked.connect(self.randomize)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.hide()
        random_row = QHBoxLayout()
        random_row.setContentsMargins(0, 0, 0, 0)
        random_row.addWidget(self.random_button)
        random_row.addWidget(self.alpha_spin, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.caption)
        layout.addWidget(self.table)
        layout.addWidget(self.message)
        layout.addLayout(random_row)
        k_spin.valueChanged.connect(lambda _=0: self.refresh())
        document.events.scenario.connect(self._on_scenario_changed)
        self.refresh()

    # -- document -> table ------------------------------------------------------------------------
    @property
    def k(self) -> int:
        return self.k_spin.value()

    def chain(self) -> Chain:
        """The chain the table shows: the document's, on k states."""
        return chain_for(self.document.scenario.view, self.k)

    def _on_scenario_changed(self, change: Change) -> None:
        if isinstance(change, SettingsChanged) and change.key == VIEW_KEY:
            self.refresh()

    def refresh(self) -> None:
        """Show the document's chain on the form's k states, headed by the tokens they stand for."""
        scenario = self.document.scenario
        k = self.k
        if not MIN_STATES <= k <= MAX_STATES:  # the form has not set its ranges yet
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            return
        chain = self.chain()  # [k][k]
        names = state_names(scenario.vocab, scenario.bos, k)
        names += [str(j) for j in range(len(names), k)]  # a vocabulary too small: the generator says so
        self._filling = True
        try:
            self.table.setRowCount(k)
            self.table.setColumnCount(k)
            for j, name in enumerate(names):
                for header, setter in ((QTableWidgetItem(_short(name)), self.table.setHorizontalHeaderItem),
                                       (QTableWidgetItem(_short(name)), self.table.setVerticalHeaderItem)):
                    header.setToolTip(f"state {j}: token “{name}”")
                    setter(j, header)
            for i, row in enumerate(chain):
                for j, p in enumerate(row):
                    item = QTableWidgetItem(cell_text(p))
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    item.setToolTip(f"P(next = “{names[j]}” | current = “{names[i]}”) = {p:.4g}")
                    shade = int(255 - 120 * p)  # white for 0, blue for 1; the text stays dark enough to read
                    item.setBackground(QColor(shade, shade + (255 - shade) // 3, 255))
                    item.setForeground(QColor("#111111"))
                    self.table.setItem(i, j, item)
        finally:
            self._filling = False
        header = self.table.horizontalHeader().sizeHint().height()
        self.table.setFixedHeight(header + k * ROW_HEIGHT + 2 * self.table.frameWidth())

    # -- edits ---------------------------------------------------------------------------------------
    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        self.set_cell(item.row(), item.column(), item.text())

    def set_cell(self, row: int, col: int, text: str) -> bool:
        """Set one weight (typed text) and renormalize its row: one undo step; False, with a message, if refused."""
        try:
            weight = float(text.strip().replace(",", "."))
        except ValueError:
            return self._refuse(f"row {row}: “{text}” is not a number")
        try:
            chain = with_cell(self.chain(), row, col, weight)
        except ChainError as exc:
            return self._refuse(str(exc))
        names = state_names(self.document.scenario.vocab, self.document.scenario.bos, self.k)
        label = f"Markov chain: row “{names[row]}”" if row < len(names) else f"Markov chain: row {row}"
        return self._push(chain, label)

    def randomize(self) -> bool:
        """A fresh chain of Dirichlet(α·1) rows on k states, seeded by the form's seed: one undo step."""
        alpha = self.alpha_spin.value()
        chain = random_chain(self.k, alpha, self.seed_spin.value())
        return self._push(chain, f"Random Markov chain (Dirichlet α = {alpha:g})")

    def _push(self, chain: Chain, text: str) -> bool:
        problem = push_validated(self.undo_stack, SetMarkovChainCommand(self.document, chain, text))
        if problem:
            return self._refuse(problem)
        self._show("")
        self.refresh()  # the same chain (no event) still shows the row renormalized
        return True

    def _refuse(self, problem: str) -> bool:
        self._show(f"Not changed: {problem}.")
        self.refresh()  # put back what the document holds
        return False

    def _show(self, message: str) -> None:
        self.message.setText(message)
        self.message.setVisible(bool(message))

