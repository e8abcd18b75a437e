"""Reading a run folder back without retraining: history, checkpoints and the scenario (format: :mod:`.run_folder`)."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..engine.training import StepRecord, TrainConfig
from ..engine.weights import Weights, WeightsError
from ..engine.weights_io import PLAIN_CONFIG, load_weights
from .errors import ScenarioError
from .fields import (
    ErrorFactory,
    child,
    describe,
    expect_choice,
    expect_int,
    expect_list,
    expect_number,
    expect_object,
)
from .header import FileKind, read_header
from .jsonfile import read_json_file
from .run_folder import (
    CHECKPOINT_RE,
    SIZE_FIELDS,
    TOP_FIELDS,
    CHECKPOINTS,
    CURRENT_VERSION,
    FORMAT,
    HISTORY,
    SCENARIO,
    STATUSES,
    Status,
    TrainingRunError,
    checkpoint_name,
)
from .run_scenario import build_scenario
from .scenario import Scenario, load_scenario


_KIND = FileKind(FORMAT, CURRENT_VERSION, "run", "is this a training run?")
_NUMBERS = ("elapsed_s", "loss", "loss_first", "loss_repeat", "icl")  # StepRecord fields holding one number
_GRIDS = ("prefix_matching", "previous_token", "copying")  # StepRecord fields holding [n_layers][n_heads]


def _errors_in(path: Path) -> ErrorFactory:
    """The field validators' ``error``: a TrainingRunError naming the file ``path`` and the field."""
    return lambda field, detail: TrainingRunError(path, detail, field=field)


def _read_history(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise TrainingRunError(path, "missing (is this a training run folder? it holds history.json and checkpoints/)")
    try:
        doc = read_json_file(path)
    except ScenarioError as exc:
        raise TrainingRunError(path, exc.detail, field=exc.path) from None
    error = _errors_in(path)
    doc = read_header(doc, _KIND, error=error)
    return expect_object(doc, "", required=("format", "version", "config", "records", "status"), optional=TOP_FIELDS,
                         error=error)


def _parse_config(path: Path, value: object) -> TrainConfig:
    if not isinstance(value, Mapping):
        raise TrainingRunError(path, f"expected an object, got {describe(value)}", field="config")
    try:
        config = TrainConfig.from_dict(dict(value))
        config.validate()
    except (ValueError, TypeError, KeyError) as exc:  # TrainingConfigError is a ValueError naming the field
        raise TrainingRunError(path, str(exc).strip("'\""), field="config") from None
    return config


def _check_grid(value: object, where: str, config: TrainConfig, error: ErrorFactory) -> None:
    """``value`` is a [n_layers][n_heads] grid of numbers (or null)."""
    if not isinstance(value, list) or len(value) != config.n_layers:
        raise error(where, f"expected a list of {config.n_layers} layers, got {describe(value)}")
    for layer in value:
        if not isinstance(layer, list) or len(layer) != config.n_heads:
            raise error(where, f"expected {config.n_heads} heads per layer, got {describe(layer)}")
        try:
            for v in layer:
                if v is not None:
                    expect_number(v, where)
        except ScenarioError:
            raise error(where, f"expected numbers or null, got {', '.join(map(describe, layer))}") from None


def _parse_records(path: Path, value: object, config: TrainConfig) -> list[StepRecord]:
    """The records, checked field by field: the window plots them, so a bad value must be named here."""
    error = _errors_in(path)
    items = expect_list(value, "records", what="a list of step records", error=error)
    names = [f.name for f in dataclasses.fields(StepRecord)]
    required = [f.name for f in dataclasses.fields(StepRecord) if f.default is dataclasses.MISSING]
    records = []
    for i, item in enumerate(items):
        where = f"records[{i}]"
        obj = expect_object(item, where, required=required, optional=names, error=error)
        expect_int(obj["step"], child(where, "step"), lo=0, what="a step number", error=error)
        for name in _NUMBERS:
            if obj.get(name) is not None or name in required:
                expect_number(obj.get(name), child(where, name), error=error)
        for name in _GRIDS:
            if obj.get(name) is not None or name in required:
                _check_grid(obj.get(name), child(where, name), config, error)
        records.append(StepRecord.from_json(obj))
    return records


def _check_safetensors(path: Path, config: TrainConfig) -> None:
    """A cheap check of a checkpoint without reading its arrays: complete, and of this run's sizes.

    The safetensors layout is an 8-byte little-endian header length, a JSON
    header giving each tensor's shape and byte range, then the bytes, which
    must be covered exactly; a truncated copy fails the size check.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little") if size >= 8 else -1
            if not 0 < n <= size - 8:
                raise TrainingRunError(path, "corrupt checkpoint (not a safetensors file, or truncated)")
            header = json.loads(f.read(n))
    except TrainingRunError:
        raise
    except (OSError, ValueError) as exc:
        raise TrainingRunError(path, f"corrupt checkpoint ({exc})") from None
    if not isinstance(header, dict):
        raise TrainingRunError(path, "corrupt checkpoint (the header is not an object)")
    try:
        tensors = {k: v for k, v in header.items() if k != "__metadata__"}
        end = max((int(v["data_offsets"][1]) for v in tensors.values()), default=0)
        shape = tensors["embed.W_E"]["shape"]
        n_ctx = tensors["pos_embed.W_pos"]["shape"][0]
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise TrainingRunError(path, f"corrupt checkpoint (header lacks {exc})") from None
    if 8 + n + end != size:
        raise TrainingRunError(path, f"corrupt checkpoint (truncated: {size:,} bytes, the header needs {8 + n + end:,})")
    if list(shape) != [config.d_vocab, config.d_model] or n_ctx != config.n_ctx:
        raise TrainingRunError(
            path,
            f"embed.W_E has shape {list(shape)} and n_ctx {n_ctx}, but the run's config has "
            f"d_vocab {config.d_vocab}, d_model {config.d_model}, n_ctx {config.n_ctx} (a checkpoint of another run?)",
        )


class TrainingRun:
    """A run folder read back: history, checkpoints and the scenario, without retraining.

    Use :meth:`open`. Attributes: ``folder``, ``config`` (TrainConfig),
    ``records`` (list of StepRecord, in step order), ``checkpoint_steps``
    (sorted ints), ``formed_at`` (int or None), ``status``.
    """

    def __init__(
        self, folder: Path, config: TrainConfig, records: list[StepRecord], checkpoint_steps: list[int],
        formed_at: int | None, status: Status,
    ) -> None:
        self.folder = folder
        self.config = config
        self.records = records
        self.checkpoint_steps = checkpoint_steps
        self.formed_at = formed_at
        self.status = status

    def __repr__(self) -> str:
        return (
            f"TrainingRun({str(self.folder)!r}, status={self.status!r}, records={len(self.records)}, "
            f"checkpoints={len(self.checkpoint_steps)}, formed_at={self.formed_at})"
        )

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> TrainingRun:
        """Read and validate a run folder (finished, interrupted, diverged or still running).

        Checkpoints are checked for completeness and size but not loaded, so a
        long run opens quickly; :meth:`load_checkpoint` validates the weights.

        Raises
        ------
        TrainingRunError
            naming the file and field: a missing or unreadable history, an
            unknown format version, bad config or records, no checkpoints, a
            truncated checkpoint or one of different sizes.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise TrainingRunError(folder, "no such folder" if not folder.exists() else "is a file, not a run folder")
        path = folder / HISTORY
        doc = _read_history(path)
        config = _parse_config(path, doc["config"])
        records = _parse_records(path, doc["records"], config)
        error = _errors_in(path)
        status = expect_choice(doc["status"], "status", STATUSES, error=error)
        formed_at = doc.get("formed_at")
        if formed_at is not None:
            expect_int(formed_at, "formed_at", lo=0, what="a step number or null", error=error)
        ckpt_dir = folder / CHECKPOINTS
        steps = []
        if ckpt_dir.is_dir():
            steps = sorted(int(m.group(1)) for m in map(CHECKPOINT_RE.match, os.listdir(ckpt_dir)) if m)
        if not steps:
            raise TrainingRunError(ckpt_dir, "no checkpoints (expected files such as step-00000.safetensors)")
        run = cls(folder, config, records, steps, formed_at, status)
        for step in steps:
            _check_safetensors(run.checkpoint_path(step), config)
        return run

    def checkpoint_path(self, step: int) -> Path:
        """The file of the checkpoint saved at exactly ``step``."""
        return self.folder / CHECKPOINTS / checkpoint_name(step)

    def nearest_checkpoint(self, step: int) -> int:
        """The latest checkpoint step at or before ``step`` (the weights a slider at ``step`` shows)."""
        earlier = [s for s in self.checkpoint_steps if s <= step]
        if not earlier:
            raise TrainingRunError(
                self.folder / CHECKPOINTS,
                f"no checkpoint at or before step {step} (the first is at step {self.checkpoint_steps[0]})",
            )
        return earlier[-1]

    def load_checkpoint(self, step: int) -> Weights:
        """The weights of the latest checkpoint at or before ``step``, validated against the run's sizes."""
        path = self.checkpoint_path(self.nearest_checkpoint(step))
        try:
            # the app's own checkpoint: without a config in it, it is one of the app's plain models
            weights = load_weights(path, bare=PLAIN_CONFIG)
        except WeightsError as exc:
            raise TrainingRunError(path, f"corrupt checkpoint ({exc})") from None
        got = weights.config
        for name in SIZE_FIELDS:
            if getattr(got, name) != getattr(self.config, name):
                raise TrainingRunError(
                    path, f"{name} is {getattr(got, name)} but the run's config says {getattr(self.config, name)}"
                )
        return weights

    def scenario(self) -> Scenario:
        """The scenario that opens the run's final (or last good) model in the window.

        Read from scenario.json; a run stopped before writing it (killed, or
        still running) gets one built from its last checkpoint instead.
        """
        path = self.folder / SCENARIO
        if path.exists():
            try:
                return load_scenario(path)
            except ScenarioError as exc:
                raise TrainingRunError(path, exc.detail, field=exc.path) from None
        step = self.checkpoint_steps[-1]
        return build_scenario(
            self.config, self.load_checkpoint(step), step=step, name=self.folder.resolve().name,
            status=self.status, formed_at=self.formed_at, records=self.records,
        )
