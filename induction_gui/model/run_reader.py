"""Reading a run folder back without retraining: history, checkpoints and the scenario (format: :mod:`.run_folder`)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..engine.training import StepRecord, TrainConfig
from ..engine.weights import Weights, WeightsError
from .errors import ScenarioError
from .fields import describe
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


def _read_history(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise TrainingRunError(path, "missing (is this a training run folder? it holds history.json and checkpoints/)")
    try:
        doc = read_json_file(path)
    except ScenarioError as exc:
        raise TrainingRunError(path, exc.detail, field=exc.path) from None
    if not isinstance(doc, dict):
        raise TrainingRunError(path, f"expected a JSON object at the top level, got {describe(doc)}")
    if doc.get("format") != FORMAT:
        got = "it is missing" if "format" not in doc else f"got {describe(doc['format'])}"
        raise TrainingRunError(path, f'expected "{FORMAT}", {got} (is this a training run?)', field="format")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise TrainingRunError(path, f"expected an integer format version (this app reads up to {CURRENT_VERSION}), got {describe(version)}", field="version")
    if version > CURRENT_VERSION:
        raise TrainingRunError(
            path,
            f"this run was written by a newer version (format version {version}); this app reads up to {CURRENT_VERSION}",
            field="version",
        )
    unknown = sorted(set(doc) - set(TOP_FIELDS))
    if unknown:
        raise TrainingRunError(path, f"unknown field (expected {', '.join(TOP_FIELDS)})", field=unknown[0])
    for name in ("config", "records", "status"):
        if name not in doc:
            raise TrainingRunError(path, "missing", field=name)
    return doc


def _parse_config(path: Path, value: object) -> TrainConfig:
    if not isinstance(value, Mapping):
        raise TrainingRunError(path, f"expected an object, got {describe(value)}", field="config")
    try:
        config = TrainConfig.from_dict(dict(value))
        config.validate()
    except (ValueError, TypeError, KeyError) as exc:  # TrainingConfigError is a ValueError naming the field
        raise TrainingRunError(path, str(exc).strip("'\""), field="config") from None
    return config


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_grid(value: object, config: TrainConfig) -> str | None:
    """Why ``value`` is not a [n_layers][n_heads] grid of numbers (or null), or None if it is."""
    if not isinstance(value, list) or len(value) != config.n_layers:
        return f"expected a list of {config.n_layers} layers, got {describe(value)}"
    for layer in value:
        if not isinstance(layer, list) or len(layer) != config.n_heads:
            return f"expected {config.n_heads} heads per layer, got {describe(layer)}"
        if not all(v is None or _is_number(v) for v in layer):
            return f"expected numbers or null, got {', '.join(map(describe, layer))}"
    return None


def _parse_records(path: Path, value: object, config: TrainConfig) -> list[StepRecord]:
    """The records, checked field by field: the window plots them, so a bad value must be named here."""
    if not isinstance(value, list):
        raise TrainingRunError(path, f"expected a list of step records, got {describe(value)}", field="records")
    names = [f.name for f in dataclasses.fields(StepRecord)]
    required = [f.name for f in dataclasses.fields(StepRecord) if f.default is dataclasses.MISSING]
    records = []
    for i, item in enumerate(value):
        where = f"records[{i}]"
        if not isinstance(item, dict):
            raise TrainingRunError(path, f"expected an object, got {describe(item)}", field=where)
        for name in required:
            if name not in item:
                raise TrainingRunError(path, "missing", field=f"{where}.{name}")
        for name in item:
            if name not in names:
                raise TrainingRunError(path, f"unknown field (expected {', '.join(names)})", field=f"{where}.{name}")
        step = item["step"]
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise TrainingRunError(path, f"expected a step number, got {describe(step)}", field=f"{where}.step")
        for name in ("elapsed_s", "loss", "loss_first", "loss_repeat", "icl"):
            v = item.get(name)
            if not (_is_number(v) or (v is None and name not in required)):
                raise TrainingRunError(path, f"expected a finite number, got {describe(v)}", field=f"{where}.{name}")
        for name in ("prefix_matching", "previous_token", "copying"):
            v = item.get(name)
            problem = None if v is None and name not in required else _check_grid(v, config)
            if problem:
                raise TrainingRunError(path, problem, field=f"{where}.{name}")
        records.append(StepRecord.from_json(item))
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
        status = doc["status"]
        if status not in STATUSES:
            raise TrainingRunError(path, f"expected one of {', '.join(STATUSES)}, got {describe(status)}", field="status")
        formed_at = doc.get("formed_at")
        if formed_at is not None and (isinstance(formed_at, bool) or not isinstance(formed_at, int) or formed_at < 0):
            raise TrainingRunError(path, f"expected a step number or null, got {describe(formed_at)}", field="formed_at")
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
            weights = Weights.load(path)
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
