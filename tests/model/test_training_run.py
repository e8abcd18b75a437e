"""The run folder: written while training, read back without retraining, and refused when broken."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from induction_gui import load_scenario
from induction_gui.engine import Weights
from induction_gui.engine.training import StepRecord, TrainConfig
from induction_gui.model.training_run import (
    FORMAT,
    RunWriter,
    TrainingRun,
    TrainingRunError,
    checkpoint_name,
    sample_tokens,
    vocabulary,
)

# small enough that a checkpoint is a few kB; the sizes only have to be consistent
CONFIG = TrainConfig(n_layers=2, n_heads=2, d_model=8, d_head=4, d_vocab=9, n_ctx=12, batch_size=2,
                     steps=10, min_block=2, max_block=5, checkpoint_every=5)  # fmt: skip


def fake_record(step: int, *, formed: bool = False) -> StepRecord:
    """A record with the trainer's fields; ``formed`` makes it pass ``induction_formed``."""
    score = 0.9 if formed else 0.1 + 0.01 * step
    return StepRecord(
        step=step,
        elapsed_s=0.01 * step,
        loss=3.0 - 0.1 * step,
        loss_first=3.1,
        loss_repeat=0.5 if formed else 2.9,
        prefix_matching=[[0.1, 0.2], [score, 0.3]],
        previous_token=[[0.8, 0.1], [0.1, 0.1]],
        icl=-1.5 if step % 5 == 0 else None,
        icl_label="scaled ICL" if step % 5 == 0 else None,
        copying=[[0.1, 0.2], [0.9, 0.0]] if step % 5 == 0 else None,
    )


def weights_at(step: int) -> Weights:
    return Weights.random(CONFIG.model_config, seed=step)


def write_run(folder: Path, *, status: str = "finished", steps: int = 10) -> list[StepRecord]:
    """A complete run: records 1..steps (formed from step 7), checkpoints every 5 and at the end."""
    writer = RunWriter(folder, CONFIG, flush_every=3)
    writer.checkpoint(0, weights_at(0))
    records = [fake_record(s, formed=s >= 7) for s in range(1, steps + 1)]
    for record in records:
        writer.add(record)
        if record.step % 5 == 0:
            writer.checkpoint(record.step, weights_at(record.step))
    writer.finish(status, weights_at(steps), steps)  # type: ignore[arg-type]
    return records


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    write_run(folder, steps=12)
    return folder


def test_round_trip_keeps_config_records_checkpoints_and_scenario(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    records = write_run(folder, steps=12)
    run = TrainingRun.open(folder)
    assert run.config == CONFIG
    assert run.records == records  # floats are written with repr: bit for bit
    assert run.checkpoint_steps == [0, 5, 10, 12]
    assert run.formed_at == 7 and run.status == "finished"
    # the nearest checkpoint at or before the requested step
    assert run.load_checkpoint(0) == weights_at(0)
    assert run.load_checkpoint(9) == weights_at(5)
    assert run.load_checkpoint(12) == weights_at(12)
    assert run.load_checkpoint(10_000) == weights_at(12)

    scenario = run.scenario()
    assert scenario == load_scenario(folder / "scenario.json")
    assert scenario.weights == weights_at(12)
    assert scenario.vocab == vocabulary(CONFIG.d_vocab) and scenario.vocab[:2] == ["<s>", "t1"]
    assert scenario.bos == 0 and scenario.tokens[0] == 0 and len(scenario.tokens) <= CONFIG.n_ctx
    assert "run" in scenario.description and "12" in scenario.title
    assert scenario.view["layer"] == 1 and scenario.view["head"] == 0  # the head with the best prefix matching


def test_history_on_disk_follows_the_schema(run_dir: Path) -> None:
    doc = json.loads((run_dir / "history.json").read_text(encoding="utf-8"))
    assert list(doc) == ["format", "version", "config", "records", "formed_at", "status"]
    assert doc["format"] == FORMAT and doc["version"] == 1
    assert doc["config"] == CONFIG.to_dict()
    assert [r["step"] for r in doc["records"]] == list(range(1, 13))
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        checkpoint_name(s) for s in (0, 5, 10, 12)
    ]
    assert checkpoint_name(340) == "step-00340.safetensors"


def test_sample_sequence_is_training_data() -> None:
    tokens = sample_tokens(CONFIG)
    assert tokens.dtype == np.int64 and len(tokens) == CONFIG.n_ctx and tokens[0] == 0
    body = tokens[1:]
    length = (CONFIG.min_block + CONFIG.max_block) // 2
    assert len(set(body[:length].tolist())) == length and 0 not in body  # distinct content tokens
    np.testing.assert_array_equal(body[length:], body[: len(body) - length])  # then tiled
    fixed = dataclasses.replace(CONFIG, dataset="fixed-period", period=4)
    body = sample_tokens(fixed)[1:]
    np.testing.assert_array_equal(body[4:], body[:-4])


def test_a_crashed_run_still_opens_with_what_was_flushed(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path / "run", CONFIG, flush_every=3)
    writer.checkpoint(0, weights_at(0))
    for step in range(1, 6):  # no finish(): the process "died" after step 5
        writer.add(fake_record(step))
    run = TrainingRun.open(tmp_path / "run")
    assert run.status == "running"
    assert [r.step for r in run.records] == [1, 2, 3]  # flushed every 3 records; 4 and 5 are lost
    scenario = run.scenario()  # no scenario.json yet: built from the last checkpoint
    assert scenario.weights == weights_at(0)


def test_interrupted_without_whole_weights_shows_the_last_checkpoint(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path / "run", CONFIG)
    writer.checkpoint(0, weights_at(0))
    writer.add(fake_record(1))
    writer.checkpoint(1, weights_at(1))
    writer.add(fake_record(2))
    written = writer.finish("interrupted")
    assert written == [tmp_path / "run" / "history.json", tmp_path / "run" / "scenario.json"]
    run = TrainingRun.open(tmp_path / "run")
    assert run.status == "interrupted" and len(run.records) == 2 and run.formed_at is None
    assert run.scenario().weights == weights_at(1)


def test_non_finite_scores_are_written_as_null(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path / "run", CONFIG)
    record = fake_record(5)
    record.icl = float("nan")
    record.copying = [[float("inf"), 0.0], [0.0, 0.0]]
    writer.add(record)
    writer.finish("finished", weights_at(5), 5)
    text = (tmp_path / "run" / "history.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    (read,) = TrainingRun.open(tmp_path / "run").records
    assert read.icl is None and read.copying == [[None, 0.0], [0.0, 0.0]]


# -- the folder rules ---------------------------------------------------------------
def test_an_existing_run_is_replaced_only_with_overwrite(run_dir: Path) -> None:
    (run_dir / "my-notes.txt").write_text("keep me")
    with pytest.raises(TrainingRunError, match="already holds a training run"):
        RunWriter(run_dir, CONFIG)
    assert TrainingRun.open(run_dir).checkpoint_steps == [0, 5, 10, 12]  # untouched
    writer = RunWriter(run_dir, CONFIG, overwrite=True)
    writer.add(fake_record(1))
    writer.finish("finished", weights_at(1), 1)
    run = TrainingRun.open(run_dir)
    assert run.checkpoint_steps == [1], "no stale checkpoint of the longer run survives"
    assert (run_dir / "my-notes.txt").read_text() == "keep me", "only a run's own files are deleted"


def test_a_folder_that_is_not_a_run_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(TrainingRunError, match="holds no training run"):
            RunWriter(tmp_path, CONFIG, overwrite=overwrite)
    assert (tmp_path / "thesis.tex").read_text() == "precious"
    with pytest.raises(TrainingRunError, match="is a file"):
        RunWriter(tmp_path / "thesis.tex", CONFIG)
    RunWriter(tmp_path / "empty" / "nested", CONFIG)  # missing folders are created
    (tmp_path / "empty2").mkdir()
    RunWriter(tmp_path / "empty2", CONFIG)  # an empty one is used


# -- broken run folders ------------------------------------------------------------------
def _edit_history(change: Callable[[dict[str, object]], None]) -> Callable[[Path], None]:
    def spoil(folder: Path) -> None:
        path = folder / "history.json"
        doc = json.loads(path.read_text())
        change(doc)
        path.write_text(json.dumps(doc))

    return spoil


def _truncate(folder: Path) -> None:
    path = folder / "checkpoints" / checkpoint_name(5)
    path.write_bytes(path.read_bytes()[:-10])


def _other_sizes(folder: Path) -> None:
    other = dataclasses.replace(CONFIG, d_model=6, d_head=3).model_config
    Weights.random(other).save(folder / "checkpoints" / checkpoint_name(5))


def _remove_checkpoints(folder: Path) -> None:
    for path in (folder / "checkpoints").iterdir():
        path.unlink()


BROKEN: dict[str, tuple[Callable[[Path], None], str, str]] = {
    # name: (how the folder is spoilt, the file named, words the message must contain)
    "no history": (lambda f: (f / "history.json").unlink(), "history.json", "missing"),
    "bad JSON": (lambda f: (f / "history.json").write_text('{"format": '), "history.json", "line 1"),
    "not an object": (lambda f: (f / "history.json").write_text("[1, 2]"), "history.json", "JSON object"),
    "wrong format": (_edit_history(lambda d: d.update(format="induction-gui.scenario")), "history.json",
                     "format: expected"),
    "newer version": (_edit_history(lambda d: d.update(version=2)), "history.json", "version: this run was written"),
    "version a string": (_edit_history(lambda d: d.update(version="1")), "history.json", "version: expected"),
    "unknown top field": (_edit_history(lambda d: d.update(extra=1)), "history.json", "extra: unknown field"),
    "no config": (_edit_history(lambda d: d.pop("config")), "history.json", "config: missing"),
    "unknown config field": (_edit_history(lambda d: d["config"].update(lr_decay=0.1)), "history.json",
                             "config: lr_decay"),
    "bad lr": (_edit_history(lambda d: d["config"].update(lr=-1)), "history.json", "config: lr"),
    "records not a list": (_edit_history(lambda d: d.update(records={})), "history.json", "records: expected a list"),
    "record without loss": (_edit_history(lambda d: d["records"][3].pop("loss")), "history.json",
                            "records[3].loss: missing"),
    "record loss a string": (_edit_history(lambda d: d["records"][2].update(loss="low")), "history.json",
                             "records[2].loss: expected a finite number"),
    "record wrong head count": (_edit_history(lambda d: d["records"][0].update(prefix_matching=[[0.1], [0.2]])),
                                "history.json", "records[0].prefix_matching: expected 2 heads"),
    "bad status": (_edit_history(lambda d: d.update(status="done")), "history.json", "status: expected one of"),
    "bad formed_at": (_edit_history(lambda d: d.update(formed_at=-3)), "history.json", "formed_at: expected"),
    "no checkpoints": (_remove_checkpoints, "checkpoints", "no checkpoints"),
    "truncated checkpoint": (_truncate, checkpoint_name(5), "truncated"),
    "garbage checkpoint": (lambda f: (f / "checkpoints" / checkpoint_name(5)).write_bytes(b"\x00" * 3),
                           checkpoint_name(5), "corrupt checkpoint"),
    "checkpoint of another run": (_other_sizes, checkpoint_name(5), "another run"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_run_folders_name_the_file_and_the_problem(run_dir: Path, name: str) -> None:
    spoil, file, words = BROKEN[name]
    spoil(run_dir)
    with pytest.raises(TrainingRunError) as info:
        TrainingRun.open(run_dir)
    message = str(info.value)
    assert file in message and words in message, message


def test_missing_folder_and_file_instead_of_folder(tmp_path: Path) -> None:
    with pytest.raises(TrainingRunError, match="no such folder"):
        TrainingRun.open(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(TrainingRunError, match="is a file"):
        TrainingRun.open(tmp_path / "file")


def test_checkpoint_problems_found_on_load(run_dir: Path) -> None:
    run = TrainingRun.open(run_dir)
    # complete and of the right sizes, so open() passes, but the values are not finite
    bad = weights_at(5)
    bad["embed.W_E"][0, 0] = np.nan
    bad.save(run_dir / "checkpoints" / checkpoint_name(5))
    with pytest.raises(TrainingRunError, match=r"step-00005\.safetensors: corrupt checkpoint .*non-finite"):
        run.load_checkpoint(7)
    assert run.load_checkpoint(4) == weights_at(0)


def test_no_checkpoint_before_the_requested_step(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path, CONFIG)
    writer.checkpoint(5, weights_at(5))
    run = TrainingRun.open(tmp_path)
    with pytest.raises(TrainingRunError, match="no checkpoint at or before step 2"):
        run.load_checkpoint(2)


def test_broken_scenario_is_reported_with_its_file(run_dir: Path) -> None:
    (run_dir / "scenario.json").write_text('{"format": "induction-gui.scenario"}')
    with pytest.raises(TrainingRunError, match="scenario.json"):
        TrainingRun.open(run_dir).scenario()
