"""The sequence panel's generator form: which test sequence, its parameters, the seed, and what it loaded.

The form only collects a request; :mod:`induction_gui.model.sequence_edit`
builds the sequence and the panel pushes it on the undo stack. Its spin boxes
are built from the generators' parameter table
(:mod:`induction_gui.model.generator_schema`), whose ranges and defaults follow
the open model (n_ctx, d_vocab, start token): every value the form allows is
one the generator accepts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack
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
from ...model.generator_schema import SEED_MAX, ModelLimits
from ...model.markov_chain import VIEW_KEY as MARKOV_CHAIN_KEY
from ...model.markov_chain import stored_size
from ...model.sequence_edit import GENERATORS, GeneratorSpec
from ..widgets.fitting import ElidingComboBox, slim_button
from .markov_editor import MarkovEditor

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


def _form(rows: list[tuple[str, QSpinBox]]) -> QWidget:
    page = QWidget()
    form = QFormLayout(page)
    form.setContentsMargins(0, 0, 0, 0)
    for label, widget in rows:
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
    undo_stack
        where the Markov chain's matrix edits go (the generated sequence itself
        is pushed by the panel).
    """

    def __init__(self, document: Document, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__("Generate a test sequence", parent)
        self.document = document
        self.setToolTip("Seeded generators of the lecture's test sequences; the same seed gives the same sequence.")
        self.generator_combo = ElidingComboBox(16)  # long names elide; the list shows them whole
        for spec in GENERATORS:
            self.generator_combo.addItem(spec.label, spec.key)
            self.generator_combo.setItemData(self.generator_combo.count() - 1, spec.tooltip,
                                             Qt.ItemDataRole.ToolTipRole)
        self.generator_combo.setToolTip("Which kind of sequence to generate.")
        notes = {
            "beyond_context": "Loads the last n_ctx tokens of a longer sequence.",
            "repeated_names": "Uses its own words; missing ones are added to the vocabulary.",
        }
        # generator key -> parameter name -> its spin box, one per declared parameter
        self._parameters: dict[str, dict[str, QSpinBox]] = {
            spec.key: {p.name: _spin(0, p.tooltip) for p in spec.params} for spec in GENERATORS
        }
        self.seed_spin = _spin(0, "Seed of the random generator: the same seed gives the same sequence.")
        self.seed_spin.setMaximum(SEED_MAX)
        self.params = QStackedWidget()
        for spec in GENERATORS:
            spins = self._parameters[spec.key]
            page = _form([(p.label, spins[p.name]) for p in spec.params]) if spec.params else _note(notes[spec.key])
            if spec.key == "markov_chain":  # the chain's matrix under its k and length
                self.markov_editor = MarkovEditor(document, undo_stack, spins["k"], self.seed_spin)
                page.layout().addRow(self.markov_editor)
            self.params.addWidget(page)
            for spin in spins.values():  # a range that depends on another parameter follows it
                spin.valueChanged.connect(lambda _=0, key=spec.key: self._fit_ranges(key))
        self.block_spin = self._parameters["repeated_random"]["block"]
        self.length_spin = self._parameters["planted_repeat"]["length"]
        self.distance_spin = self._parameters["planted_repeat"]["distance"]
        self.no_repeat_spin = self._parameters["no_repeat"]["length"]
        self.filler_spin = self._parameters["ambiguous_prefix"]["filler"]
        self.markov_k_spin = self._parameters["markov_chain"]["k"]
        self.markov_length_spin = self._parameters["markov_chain"]["length"]
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

    @property
    def spec(self) -> GeneratorSpec:
        """The chosen generator."""
        return GENERATORS[self.generator_combo.currentIndex()]

    def parameters(self) -> dict[str, int]:
        """The chosen generator's parameters, as keywords of its ``build`` function."""
        return {name: spin.value() for name, spin in self._parameters.get(self.spec.key, {}).items()}

    def refresh_limits(self, *, reset: bool = True) -> None:
        """Spin-box ranges for this model (n_ctx, d_vocab, start token) from the parameter table.

        With ``reset`` (another scenario was opened) the values and the seed go
        back to their defaults; without (the vocabulary grew) they are only
        clamped into the new ranges.
        """
        limits = ModelLimits.of(self.document.scenario)
        for spec in GENERATORS:
            values: dict[str, int] = {}
            for param in spec.params:
                spin = self._parameters[spec.key][param.name]
                lo, hi = param.range(limits, values)
                with _quiet(spin):
                    spin.setRange(lo, max(lo, hi))  # no value fits: the generator refuses, naming the parameter
                    if reset:
                        spin.setValue(param.default_value(limits, values))
                values[param.name] = spin.value()
        if reset:
            self.seed_spin.setValue(min(self.document.scenario.seed, self.seed_spin.maximum()))
            # the chain saved with the scenario shows at its own size, where the model allows it
            with _quiet(self.markov_k_spin):
                self.markov_k_spin.setValue(stored_size(self.document.scenario.view))
            if MARKOV_CHAIN_KEY in self.document.scenario.view:  # a scenario about a chain offers its generator first
                self.generator_combo.setCurrentIndex(self.generator_combo.findData("markov_chain"))
        self.markov_editor.refresh()  # the k box changed quietly, or the tokens the states stand for did

    def _fit_ranges(self, key: str) -> None:
        """A parameter changed: the ranges of those after it that depend on it follow (values clamped)."""
        limits = ModelLimits.of(self.document.scenario)
        values: dict[str, int] = {}
        for param in next(spec for spec in GENERATORS if spec.key == key).params:
            spin = self._parameters[key][param.name]
            lo, hi = param.range(limits, values)
            if (spin.minimum(), spin.maximum()) != (lo, max(lo, hi)):
                with _quiet(spin):
                    spin.setRange(lo, max(lo, hi))
            values[param.name] = spin.value()

    def _on_generator_changed(self, index: int) -> None:
        self.params.setCurrentIndex(index)
        # a stacked widget is as tall as its tallest page; let hidden pages count for nothing
        for i in range(self.params.count()):
            vertical = QSizePolicy.Policy.Minimum if i == index else QSizePolicy.Policy.Ignored
            self.params.widget(i).setSizePolicy(QSizePolicy.Policy.Preferred, vertical)
        self.params.adjustSize()
        show_message(self.generator_message, "")


@contextmanager
def _quiet(spin: QSpinBox) -> Iterator[None]:
    """Set a spin box's range or value without its valueChanged reaching :meth:`GeneratorForm._fit_ranges`."""
    old = spin.blockSignals(True)
    try:
        yield
    finally:
        spin.blockSignals(old)
