"""The sequence panel's generator form: which test sequence, its parameters, the seed, and what it loaded.

The form only collects a request; :mod:`induction_gui.model.sequence_edit`
builds the sequence and the panel pushes it on the undo stack. Parameter ranges
and defaults follow the open model (n_ctx, d_vocab, start token), so a default
request always fits.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...model.document import Document
from ...model.sequence_edit import GENERATORS, GeneratorSpec, bos_offset
from ..widgets.fitting import ElidingComboBox, slim_button

ERROR_COLOR = "#b00020"


# -- small widgets shared with the sequence panel ---------------------------------------------------


def button(text: str, tooltip: str) -> QPushButton:
    """A push button that says what it does when hovered."""
    widget = QPushButton(text)
    widget.setToolTip(tooltip)
    slim_button(widget)  # as wide as its text: four of them share a dock's row
    return widget


def message_label() -> QLabel:
    """A hidden, word-wrapped label for a problem the learner should read (see :func:`show_message`)."""
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {ERROR_COLOR};")
    label.hide()
    return label


def show_message(label: QLabel, message: str) -> None:
    """Show ``message`` in ``label``, or hide the label when there is nothing to say."""
    label.setText(message)
    label.setVisible(bool(message))


def _spin(minimum: int, tooltip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setMinimum(minimum)
    spin.setToolTip(tooltip)
    spin.setAccelerated(True)
    return spin


def _form(rows: tuple[tuple[str, str, QSpinBox], ...]) -> QWidget:
    page = QWidget()
    form = QFormLayout(page)
    form.setContentsMargins(0, 0, 0, 0)
    for label, _, widget in rows:
        form.addRow(label, widget)
    return page


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(dark);")
    return label


# -- the form ------------------------------------------------------------------------------------------


class GeneratorForm(QGroupBox):
    """Pick a generator of :data:`GENERATORS`, set its parameters and seed; ``generate_button`` asks for it.

    Parameters
    ----------
    document
        the open document: parameter limits follow its model. The form does not
        follow its events; the panel calls :meth:`refresh_limits` when the
        scenario is replaced.
    """

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__("Generate a test sequence", parent)
        self.document = document
        self.setToolTip("Seeded generators of the lecture's test sequences; the same seed gives the same sequence.")
        self.generator_combo = ElidingComboBox(16)  # long names elide; the list shows them whole
        for spec in GENERATORS:
            self.generator_combo.addItem(spec.label, spec.key)
            self.generator_combo.setItemData(self.generator_combo.count() - 1, spec.tooltip,
                                             Qt.ItemDataRole.ToolTipRole)
        self.generator_combo.setToolTip("Which kind of sequence to generate.")
        self.block_spin = _spin(1, "Block length N: the sequence is [BOS, r1..rN, r1..rN].")
        self.length_spin = _spin(2, "Length of the whole sequence, the start token included.")
        self.distance_spin = _spin(2, "Distance d from the first A to the second A.")
        self.no_repeat_spin = _spin(1, "Length of the whole sequence, the start token included.")
        self.filler_spin = _spin(0, "Filler tokens in each gap of A B … A C … A.")
        # each generator's parameters: (row label, keyword of its build function, spin box)
        rows: dict[str, tuple[tuple[str, str, QSpinBox], ...]] = {
            "repeated_random": (("Block length N:", "block", self.block_spin),),
            "planted_repeat": (("Length:", "length", self.length_spin),
                               ("Distance d:", "distance", self.distance_spin)),
            "no_repeat": (("Length:", "length", self.no_repeat_spin),),
            "ambiguous_prefix": (("Filler per gap:", "filler", self.filler_spin),),
        }
        notes = {
            "beyond_context": "Loads the last n_ctx tokens of a longer sequence.",
            "repeated_names": "Uses its own words; missing ones are added to the vocabulary.",
        }
        self._parameters = {key: {name: spin for _, name, spin in page} for key, page in rows.items()}
        self.params = QStackedWidget()
        for spec in GENERATORS:
            self.params.addWidget(_form(rows[spec.key]) if spec.key in rows else _note(notes[spec.key]))
        self.seed_spin = _spin(0, "Seed of the random generator: the same seed gives the same sequence.")
        self.seed_spin.setMaximum(2**31 - 1)
        self.generate_button = button("&Generate", "Replace the sequence by a generated one (undoable).")
        self.generator_description = QLabel()
        self.generator_description.setWordWrap(True)
        self.generator_description.setToolTip("What the generated sequence tests.")
        self.generator_description.setStyleSheet(
            "background: #eef4fb; border-left: 4px solid #2f6fb3; padding: 4px; color: #1a1a1a;"
        )
        self.generator_description.hide()
        self.generator_message = message_label()

        seed_row = QHBoxLayout()
        seed_label = QLabel("See&d:")
        seed_label.setBuddy(self.seed_spin)
        seed_row.addWidget(seed_label)
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.generate_button)
        inner = QVBoxLayout(self)
        inner.addWidget(self.generator_combo)
        inner.addWidget(self.params)
        inner.addLayout(seed_row)
        inner.addWidget(self.generator_message)
        inner.addWidget(self.generator_description)
        self._on_generator_changed(0)
        self.generator_combo.currentIndexChanged.connect(self._on_generator_changed)
        self.length_spin.valueChanged.connect(self._on_planted_length_changed)

    @property
    def spec(self) -> GeneratorSpec:
        """The chosen generator."""
        return GENERATORS[self.generator_combo.currentIndex()]

    def parameters(self) -> dict[str, int]:
        """The chosen generator's parameters, as keywords of its ``build`` function."""
        return {name: spin.value() for name, spin in self._parameters.get(self.spec.key, {}).items()}

    def refresh_limits(self) -> None:
        """Spin-box ranges and defaults for this model (n_ctx, d_vocab, start token), and its seed."""
        scenario = self.document.scenario
        cfg = scenario.weights.config
        n_ctx, off = cfg.n_ctx, bos_offset(scenario)
        n_content = cfg.d_vocab - off
        for page in self._parameters.values():
            for spin in page.values():
                spin.setMaximum(max(n_ctx, spin.minimum()))
        self.block_spin.setValue(max(1, min(10, (n_ctx - off) // 2)))
        self.length_spin.setValue(min(20, n_ctx))
        self.distance_spin.setValue(max(2, min(12, n_ctx - off - 2)))
        self.no_repeat_spin.setValue(max(1, min(12, n_ctx, n_content + off)))
        self.filler_spin.setValue(max(0, min(3, (n_ctx - off - 5) // 2)))
        self.seed_spin.setValue(min(scenario.seed, self.seed_spin.maximum()))

    def _on_generator_changed(self, index: int) -> None:
        self.params.setCurrentIndex(index)
        # a stacked widget is as tall as its tallest page; let hidden pages count for nothing
        for i in range(self.params.count()):
            vertical = QSizePolicy.Policy.Minimum if i == index else QSizePolicy.Policy.Ignored
            self.params.widget(i).setSizePolicy(QSizePolicy.Policy.Preferred, vertical)
        self.params.adjustSize()
        show_message(self.generator_message, "")

    def _on_planted_length_changed(self, length: int) -> None:
        self.distance_spin.setMaximum(max(2, length - bos_offset(self.document.scenario) - 1))
