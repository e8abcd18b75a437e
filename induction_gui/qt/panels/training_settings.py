"""The Training dock's settings: a preset and the hyperparameters a learner may change, checked as typed.

Labels, tooltips and ranges come from :data:`~induction_gui.engine.train_config.TRAIN_PARAMS`,
the table ``induction-gui train --help`` prints too, so the dock and the
command line describe a setting in the same words.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QSpinBox, QVBoxLayout, QWidget

from ...model.training_session import DOCK_PARAMS, PRESET_TITLES, PRESETS, TRAIN_PARAM, TrainConfig, TrainingConfigError
from ..widgets.fitting import ElidingComboBox

ERROR_STYLE = "color: #b00020;"


class TrainingSettings(QGroupBox):
    """Preset, hyperparameter spin boxes and the reason the settings are refused, if they are.

    Signals
    -------
    changed
        a setting changed (the validation label is already up to date).
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Settings", parent)
        self.preset_combo = ElidingComboBox()  # a narrow settings column cuts a long title with "…"
        for name in PRESETS:  # titles on screen, keys (as the command line's --preset takes them) as data
            self.preset_combo.addItem(PRESET_TITLES.get(name, name), name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, f"--preset {name}",
                                          Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.setToolTip(
            "Start from a preset: the phase change in a few hundred steps, a slow-motion run with a long "
            "plateau to talk over, a tiny fast one, or the counter-example where no induction head forms "
            "(a fixed period is learnt by position)."
        )
        self.spins: dict[str, QSpinBox | QDoubleSpinBox] = {}
        for name in DOCK_PARAMS:
            param = TRAIN_PARAM[name]
            if param.kind is float:
                spin: QSpinBox | QDoubleSpinBox = QDoubleSpinBox()
                spin.setDecimals(param.decimals)
                spin.setRange(0.0, param.hi)
                spin.setSingleStep(param.step)
            else:
                spin = QSpinBox()
                spin.setRange(0, int(param.hi))
            spin.setToolTip(param.doc)
            spin.setKeyboardTracking(False)
            self.spins[name] = spin
        self.validation_label = QLabel("")
        self.validation_label.setWordWrap(True)
        self.validation_label.setStyleSheet(ERROR_STYLE)
        self.validation_label.setToolTip("What is wrong with the settings; Start is disabled until it is fixed.")

        form = QFormLayout()
        form.addRow("Preset", self.preset_combo)
        for name, spin in self.spins.items():
            form.addRow(TRAIN_PARAM[name].label, spin)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.validation_label)

        self.fill(PRESETS[self.preset_key])
        self.preset_combo.currentIndexChanged.connect(self._on_preset_changed)
        for spin in self.spins.values():
            spin.valueChanged.connect(self.check)
        self.check()

    def fill(self, config: TrainConfig) -> None:
        """Show ``config``'s values (without announcing each one)."""
        for name, spin in self.spins.items():
            with QSignalBlocker(spin):
                spin.setValue(getattr(config, name))

    def config(self) -> TrainConfig:
        """The preset with the edited hyperparameters.

        Raises
        ------
        TrainingConfigError
            naming the first bad field.
        """
        changes = {name: TRAIN_PARAM[name].kind(spin.value()) for name, spin in self.spins.items()}
        config = dataclasses.replace(PRESETS[self.preset_key], **changes)
        config.validate()
        return config

    @property
    def valid(self) -> bool:
        return not self.validation_label.text()

    def show_problem(self, text: str) -> None:
        self.validation_label.setText(text)
        self.validation_label.setVisible(bool(text))

    def set_editable(self, editable: bool) -> None:
        self.preset_combo.setEnabled(editable)
        for spin in self.spins.values():
            spin.setEnabled(editable)

    @property
    def preset_key(self) -> str:
        """The chosen preset's key in ``PRESETS`` (the list shows its title)."""
        return str(self.preset_combo.currentData())

    def select_preset(self, key: str) -> None:
        """Choose the preset ``key`` (as the command line names it), filling in its settings."""
        index = self.preset_combo.findData(key)
        if index < 0:
            raise KeyError(f"no training preset {key!r}; presets: {', '.join(PRESETS)}")
        self.preset_combo.setCurrentIndex(index)

    def show_config(self, config: TrainConfig) -> None:
        """Show a saved run's settings under the preset they came from (the one that differs only in the dock's
        settings; else the first of the same dataset), so a Markov run is not listed as the default preset."""
        dock = {name: getattr(config, name) for name in DOCK_PARAMS}
        same_data = [key for key, preset in PRESETS.items() if preset.dataset == config.dataset]
        exact = [key for key in same_data if dataclasses.replace(PRESETS[key], **dock) == config]
        key = (exact or same_data or [self.preset_key])[0]
        with QSignalBlocker(self.preset_combo):
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(key))
        self.fill(config)

    def _on_preset_changed(self, _index: int) -> None:
        self.fill(PRESETS[self.preset_key])
        self.check()

    def check(self) -> None:
        """Show why the settings are refused (or nothing), and announce the change."""
        try:
            self.config()
        except TrainingConfigError as exc:
            self.show_problem(str(exc))
        else:
            self.show_problem("")
        self.changed.emit()
