"""Writing a run folder while a run trains, so a crash or Ctrl+C loses little (format: :mod:`.run_folder`)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from ..engine.training import StepRecord, TrainConfig, induction_formed
from ..engine.weights import Weights
from .errors import ScenarioError
from .jsonfile import read_json_file, write_temp
from .run_folder import (
    CHECKPOINT_RE,
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
from .scenario import save_scenario


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
            if CHECKPOINT_RE.match(path.name):
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
        A long run's records are thinned (:mod:`.thinning`); the rewrite then
        comes every ``flush_every`` records *kept*, so the file stays bounded and
        is rewritten no more often than a short run's.

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
        self.records: list[StepRecord] = []  # the kept records, in step order
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

    def add(self, record: StepRecord, *, dropped: list[int] | tuple[int, ...] = (), stride: int = 1) -> None:
        """Keep one step's record; the history is rewritten every ``flush_every`` records.

        ``dropped`` are the steps of earlier records the session's thinning let
        go (they leave the history too); ``stride`` is its spacing now, which
        spaces out the rewrites in step with the records that stay.
        """
        if self._finished:
            raise RuntimeError("the run is finished; no records can be added")
        line = _record_line(record)  # first, so a record JSON refuses is not kept
        if dropped:
            self._forget(set(dropped))
        self._lines.append(line)
        self.records.append(record)
        if self.formed_at is None and induction_formed(record):
            self.formed_at = int(record.step)
        self._unflushed += 1
        if self._unflushed >= self.flush_every * max(1, stride):
            self._write_history()

    def _forget(self, steps: set[int]) -> None:
        """Drop the records of ``steps`` (usually the last one: popped, not filtered)."""
        while self.records and int(self.records[-1].step) in steps:
            steps.discard(int(self.records[-1].step))
            self.records.pop()
            self._lines.pop()
        if steps:
            keep = [i for i, r in enumerate(self.records) if int(r.step) not in steps]
            self.records = [self.records[i] for i in keep]
            self._lines = [self._lines[i] for i in keep]

    def drop_checkpoint(self, step: int) -> None:
        """Delete the checkpoint of ``step`` (the session's thinning let it go); the history notes it at once."""
        self.checkpoint_path(step).unlink(missing_ok=True)
        if step in self.checkpoint_steps:
            self.checkpoint_steps.remove(step)

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
