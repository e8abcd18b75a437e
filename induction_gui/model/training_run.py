"""The run folder: one training run on disk, written while it trains and read back without retraining.

The command line, the window's Training panel and the bundled pre-trained run
all use this one format, so a run trained over SSH opens in the window and the
pre-trained run is just a run someone else trained. The folder::

    DIR/history.json                    what happened, step by step (below)
    DIR/checkpoints/step-00000.safetensors
    DIR/checkpoints/step-00050.safetensors ...  weights (5-digit zero-padded step)
    DIR/scenario.json                   opens the final (or last good) model in the window
    DIR/scenario.safetensors            its weights, when too large to inline

``history.json`` (format version 1)::

    {
      "format": "induction-gui.training",   required, exactly this
      "version": 1,                         required; newer versions are refused
      "config": {...},                      TrainConfig.to_dict()
      "records": [{...}, ...],              StepRecord.to_json(), one per step, in order
      "formed_at": 340,                     first step where induction_formed(record), or null
      "status": "finished"                  "running" | "finished" | "interrupted" | "diverged"
    }

"running" is also what a run killed without warning (power cut, SIGKILL) is
left as: the history is rewritten every few records and at every checkpoint,
so such a run loses at most those few records and still opens. "interrupted"
means stopped before the last step (Ctrl+C, or an error); "diverged" means the
loss became NaN and the run kept the last good weights.

Every problem found when reading raises :class:`TrainingRunError` naming the
file and the field, e.g. ``runs/a/history.json: version: this run was written
by a newer version (format version 2); this app reads up to 1``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..engine.training import StepRecord, TrainConfig, induction_formed
from ..engine.training_data import START_TOKEN, tiled_blocks
from ..engine.weights import Weights, WeightsError
from .errors import ScenarioError
from .fields import describe
from .jsonfile import read_json_file, write_temp
from .scenario import Scenario, load_scenario, save_scenario

FORMAT = "induction-gui.training"
CURRENT_VERSION = 1
HISTORY = "history.json"
SCENARIO = "scenario.json"
CHECKPOINTS = "checkpoints"
STATUSES: tuple[str, ...] = ("running", "finished", "interrupted", "diverged")
Status = Literal["running", "finished", "interrupted", "diverged"]

# five digits keep `ls` in step order for any run a lesson needs; longer runs just get more digits
_CHECKPOINT_RE = re.compile(r"^step-(\d{5,})\.safetensors$")
_TOP_FIELDS = ("format", "version", "config", "records", "formed_at", "status")
# (TrainConfig field, ModelConfig field) pairs a checkpoint's shapes must agree with
_SIZE_FIELDS = ("n_layers", "n_heads", "d_model", "d_head", "d_vocab", "n_ctx")


class TrainingRunError(ValueError):
    """A run folder cannot be written or read; the message names the file, the field and the fix.

    Attributes
    ----------
    file
        the file or folder concerned, as the caller named it (``runs/a/history.json``).
    field
        the JSON path inside it (``records[3].loss``), or ``""`` for the file as a whole.
    detail
        what is wrong and what was expected.
    """

    def __init__(self, file: str | os.PathLike[str], detail: str, *, field: str = "") -> None:
        self.file = str(file)
        self.field = field
        self.detail = detail
        super().__init__(": ".join(part for part in (self.file, self.field, self.detail) if part))


def checkpoint_name(step: int) -> str:
    """``step-00340.safetensors``: zero-padded so that names sort in step order."""
    return f"step-{step:05d}.safetensors"


def vocabulary(d_vocab: int) -> list[str]:
    """``["<s>", "t1", "t2", ...]``: the trainer's tokens have no text, so they get neutral names."""
    return ["<s>", *(f"t{i}" for i in range(1, d_vocab))]


def sample_tokens(config: TrainConfig) -> np.ndarray:
    """One sequence like those the model was trained on, for the scenario that opens the run.

    The start token, then a block of distinct tokens tiled to the end of the
    context, drawn by the trainer's own generator from the run's seed. The
    block length is the middle of the trained range (random-blocks) or the
    period (fixed-period): a length the model saw, repeated several times, so
    the induction stripe is plain to see.

    Returns
    -------
    np.ndarray
        int64 [pos] with ``pos == n_ctx``.
    """
    if config.dataset == "fixed-period":
        length = config.effective_period
    else:
        length = (config.min_block + config.max_block) // 2
    length = max(1, min(length, config.d_vocab - 1, config.n_ctx - 1))
    batch = tiled_blocks(np.array([length]), config.n_ctx, config.d_vocab, np.random.default_rng(config.seed))
    return batch.tokens[0].astype(np.int64)  # [pos]


def best_head(record: StepRecord) -> tuple[int, int, float] | None:
    """(layer, head, score) of the head with the highest prefix-matching score, or None if not measured."""
    best: tuple[int, int, float] | None = None
    for layer, heads in enumerate(record.prefix_matching or []):
        for head, score in enumerate(heads):
            if score is not None and math.isfinite(score) and (best is None or score > best[2]):
                best = (layer, head, float(score))
    return best


def build_scenario(
    config: TrainConfig,
    weights: Weights,
    *,
    step: int,
    name: str,
    status: str,
    formed_at: int | None,
    records: Iterable[StepRecord] = (),
) -> Scenario:
    """The scenario that opens a run's model in the window, looking at its most induction-like head.

    Parameters
    ----------
    config, weights
        the run's configuration and the weights to show (final or last good).
    step
        the step of ``weights``, named in the title.
    name
        the run's name (its folder name), so several opened runs can be told apart.
    status, formed_at, records
        summarised in the notes; the last measured record picks the head in view.
    """
    tokens = sample_tokens(config)
    view: dict[str, object] = {"query_pos": len(tokens) - 1}
    measured = [r for r in records if r.step <= step and best_head(r) is not None]
    if measured:
        layer, head, _ = best_head(measured[-1])  # type: ignore[misc]
        view.update(layer=layer, head=head)
    formed = f"the induction head formed at step {formed_at}" if formed_at is not None else "no induction head formed"
    return Scenario(
        title=f"{name}: step {step}",
        description=f"Trained run '{name}' at step {step} ({status}; {config.dataset} data)",
        notes=(
            f"Weights of the training run '{name}' at step {step} of {config.steps} ({status}); {formed}.\n"
            f"Trained with seed {config.seed}, learning rate {config.lr}, batch size {config.batch_size}. "
            "The sequence is of the kind the model was trained on: after <s>, a block of distinct tokens, repeated."
        ),
        vocab=vocabulary(config.d_vocab),
        tokens=tokens,
        weights=weights,
        bos=START_TOKEN,
        seed=config.seed,
        view=view,
        attn_scale=weights.attn_scale,
    )


# -- writing -----------------------------------------------------------------------
def _finite_or_null(value: object) -> object:
    """``value`` with NaN and infinities replaced by None, so the history stays strict JSON.

    The trainer refuses a non-finite loss, but an occasional score (ICL on a
    degenerate batch, copying of an all-zero OV) may be undefined: that is
    written as null ("not measured") rather than failing the whole run.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_finite_or_null(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    return value


def _record_line(record: StepRecord) -> str:
    """One record as compact JSON, one line of the history file."""
    return json.dumps(_finite_or_null(record.to_json()), allow_nan=False, separators=(", ", ": "))


def _is_run(folder: Path) -> bool:
    """Whether ``folder`` holds a run folder's history (readable or not, as long as it says it is one)."""
    try:
        doc = read_json_file(folder / HISTORY)
    except ScenarioError:
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def _remove_run_files(folder: Path) -> None:
    """Delete the files a run writes, and only those: an overwrite never touches a user's own files."""
    for name in (HISTORY, SCENARIO, Path(SCENARIO).with_suffix(".safetensors").name):
        (folder / name).unlink(missing_ok=True)
    checkpoints = folder / CHECKPOINTS
    if checkpoints.is_dir():
        for path in checkpoints.iterdir():
            if _CHECKPOINT_RE.match(path.name):
                path.unlink()
        if not any(checkpoints.iterdir()):
            checkpoints.rmdir()


class RunWriter:
    """Writes a run folder while training runs, so a crash or Ctrl+C loses little.

    Parameters
    ----------
    folder
        created if missing. An empty folder is used as it is; a folder holding a
        previous run is refused unless ``overwrite`` (then that run's files, and
        only those, are deleted first, so no stale checkpoint of a longer run
        survives); any other non-empty folder is always refused, so a mistyped
        ``--out`` can never delete somebody's files.
    config
        the run's configuration, written into the history.
    overwrite
        replace a previous run in ``folder``.
    flush_every
        rewrite the history after this many new records (and at every
        checkpoint and at :meth:`finish`). The file is rewritten whole, so this
        bounds the cost on long runs while a crash loses at most this many records.

    Raises
    ------
    TrainingRunError
        if the folder is refused; ``OSError`` if it cannot be written.
    """

    def __init__(
        self, folder: str | os.PathLike[str], config: TrainConfig, *, overwrite: bool = False, flush_every: int = 50
    ) -> None:
        self.folder = Path(folder)
        self.config = config
        self.flush_every = max(1, int(flush_every))
        self.records: list[StepRecord] = []
        self.checkpoint_steps: list[int] = []
        self.formed_at: int | None = None
        self.status: Status = "running"
        self._lines: list[str] = []  # serialised records: a rewrite joins strings, it does not re-encode
        self._unflushed = 0
        self._finished = False
        self._prepare(overwrite)
        (self.folder / CHECKPOINTS).mkdir(exist_ok=True)
        self._write_history()  # at once, so the folder is recognisably a run from the start

    def _prepare(self, overwrite: bool) -> None:
        folder = self.folder
        if folder.exists() and not folder.is_dir():
            raise TrainingRunError(folder, "is a file, not a folder (choose a folder for the run)")
        if not folder.exists():
            folder.mkdir(parents=True)
            return
        if not any(folder.iterdir()):
            return
        if not _is_run(folder):
            raise TrainingRunError(
                folder,
                "is not empty and holds no training run; choose a new or empty folder "
                "(overwriting only ever replaces a previous run)",
            )
        if not overwrite:
            raise TrainingRunError(
                folder, "already holds a training run; choose another folder or overwrite it (--overwrite)"
            )
        _remove_run_files(folder)

    @property
    def history_path(self) -> Path:
        return self.folder / HISTORY

    @property
    def scenario_path(self) -> Path:
        return self.folder / SCENARIO

    def checkpoint_path(self, step: int) -> Path:
        return self.folder / CHECKPOINTS / checkpoint_name(step)

    def add(self, record: StepRecord) -> None:
        """Keep one step's record; the history is rewritten every ``flush_every`` records."""
        if self._finished:
            raise RuntimeError("the run is finished; no records can be added")
        self._lines.append(_record_line(record))  # first, so a record JSON refuses is not kept
        self.records.append(record)
        if self.formed_at is None and induction_formed(record):
            self.formed_at = int(record.step)
        self._unflushed += 1
        if self._unflushed >= self.flush_every:
            self._write_history()

    def checkpoint(self, step: int, weights: Weights) -> Path:
        """Save ``weights`` as the checkpoint of ``step``, then the history, so the two never drift apart."""
        path = self.checkpoint_path(step)
        weights.save(path)  # atomic: a Ctrl+C mid-save leaves no half file
        if step not in self.checkpoint_steps:
            self.checkpoint_steps.append(step)
            self.checkpoint_steps.sort()
        self._write_history()
        return path

    def finish(self, status: Status, weights: Weights | None = None, step: int | None = None) -> list[Path]:
        """Write the final history and the scenario that opens the model; return the files written.

        Parameters
        ----------
        status
            "finished", "interrupted" or "diverged".
        weights, step
            the final (or last good) weights and their step, also saved as a
            checkpoint if that step has none. Without them the last checkpoint
            is shown: the choice when the current weights may be half-updated
            (interrupted in the middle of a step).
        """
        if status not in STATUSES:
            raise ValueError(f"status: expected one of {', '.join(STATUSES)}, got {status!r}")
        if weights is not None:
            if step is None:
                raise ValueError("finish: give the step of the weights")
            if step not in self.checkpoint_steps:
                self.checkpoint(step, weights)
        elif self.checkpoint_steps:
            step = self.checkpoint_steps[-1]
            weights = Weights.load(self.checkpoint_path(step))
        self.status = status
        self._finished = True
        self._write_history()
        written = [self.history_path]
        if weights is not None and step is not None:
            scenario = build_scenario(
                self.config, weights, step=step, name=self.folder.resolve().name, status=status,
                formed_at=self.formed_at, records=self.records,
            )
            save_scenario(scenario, self.scenario_path)
            written.append(self.scenario_path)
            sibling = self.scenario_path.with_suffix(".safetensors")
            if sibling.exists():
                written.append(sibling)
        return written

    def _write_history(self) -> None:
        """Rewrite history.json atomically (temporary file, then rename): a reader never sees half a file."""
        head = {
            "format": FORMAT,
            "version": CURRENT_VERSION,
            "config": self.config.to_dict(),
        }
        parts = [f"  {json.dumps(k)}: {json.dumps(v, allow_nan=False)}" for k, v in head.items()]
        records = "[]" if not self._lines else "[\n" + ",\n".join(f"    {line}" for line in self._lines) + "\n  ]"
        parts.append(f'  "records": {records}')
        parts.append(f'  "formed_at": {json.dumps(self.formed_at)}')
        parts.append(f'  "status": {json.dumps(self.status)}')
        text = "{\n" + ",\n".join(parts) + "\n}\n"
        tmp = write_temp(self.history_path, text.encode("utf-8"))
        try:
            os.replace(tmp, self.history_path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._unflushed = 0


# -- reading -----------------------------------------------------------------------
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
    unknown = sorted(set(doc) - set(_TOP_FIELDS))
    if unknown:
        raise TrainingRunError(path, f"unknown field (expected {', '.join(_TOP_FIELDS)})", field=unknown[0])
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
            steps = sorted(int(m.group(1)) for m in map(_CHECKPOINT_RE.match, os.listdir(ckpt_dir)) if m)
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
        for name in _SIZE_FIELDS:
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
