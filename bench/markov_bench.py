"""The statistical induction head's targets: phases in order, KL(bigram ‖ model) < 0.05 in 30 s, beat PyTorch.

With the ``markov-chains`` preset's default settings (2 layers × 1 head,
d_model 32, k = 3 states, T = 100, batch 32, Adam lr 1e-2), one BLAS thread:

1. **The run**: a full training run from the preset's seed, timed from the
   trainer's construction. It reports the step at which the model was first
   nearest the unigram strategy, then the bigram one (the app's
   :func:`~induction_gui.model.training_session.phase_changes`), whether the
   untrained model starts nearest uniform and the phases come in that order,
   and the wall time and step at which KL(bigram ‖ model) on the run's
   held-out batch first fell below 0.05 nats.
2. **The final model on fresh sequences**: KL(unigram ‖ model) and KL(bigram ‖
   model) on :data:`FRESH_SEQUENCES` chains drawn from a seed neither the
   training batches (seed, 1, step) nor the held-out batch (seed, 2) use, and
   their ratio (target ≥ 3: the model counts bigrams, not states).
3. **Speed against PyTorch**: the NumPy trainer and the same model in PyTorch
   (``bench/torch_peer.py``: the same initial weights copied in, the same
   batches, the same loss positions, Adam with the same hyper-parameters, one
   thread), stepped in rounds of one block each in one process, the order
   rotated, so both see the same machine load; the ratio is the median of the
   rounds' ratios (by wall time, the target; by the process's CPU time, for a
   shared machine). Both sides draw their batch every step (the same
   ``sample_chains`` call); the NumPy side's step is the whole
   :meth:`Trainer.step` as the Training panel sees it, so it also pays for
   the per-step head scores and the held-out evaluation every ``eval_every``
   steps, which the peer does not do: a third side, the trainer's bare
   arithmetic (batch, forward, backward, Adam), shows what that costs. The
   first steps' losses of the trainer and the peer are compared, so that the
   race is like for like. Without torch the benchmark says so and reports the
   NumPy numbers alone.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np

from bench import Metric, register
from induction_gui.engine.backward import forward_backward
from induction_gui.engine.markov import sample_chains
from induction_gui.engine.markov_strategies import bayes_optimal_loss
from induction_gui.engine.train_config import PRESETS as TRAIN_PRESETS
from induction_gui.engine.train_config import TrainConfig
from induction_gui.engine.training import HeldOut, StepRecord, Trainer, limit_blas_threads, measure_markov
from induction_gui.engine.weights import Weights
from induction_gui.model.training_session import phase_changes

PRESET = "markov-chains"
TARGET_KL_BIGRAM = 0.05  # nats: the model has become the bigram estimate
TARGET_SECONDS_TO_KL = 30.0  # the classroom budget
TARGET_KL_RATIO = 3.0  # KL(unigram ‖ model) / KL(bigram ‖ model) of the final model on fresh sequences
TARGET_LOSS_AGREEMENT = 100.0  # µnats (1e-4 nats): |our loss − PyTorch's| over the first steps, like for like
FRESH_SEQUENCES = 512
FRESH_SEED = 3  # fresh chains come from (seed, FRESH_SEED); training uses (seed, 1, step), the held-out batch (seed, 2)
CHECKED_STEPS = 5  # steps whose losses are compared between the two trainers


@register("markov")
def markov(quick: bool) -> dict[str, Metric]:
    """The run's phases and time to KL < 0.05, the final model's KLs on fresh chains, and the race with PyTorch."""
    limit_blas_threads()
    config = TRAIN_PRESETS[PRESET]
    run = _full_run(config)
    results = run.metrics()
    results |= _fresh_kls(config, run.final_weights)
    results |= _race(config, quick)
    return results


@dataclass
class _Run:
    """What one full training run of the preset showed."""

    start_nearest: str | None  # the untrained model's nearest strategy (uniform, if the story holds)
    phases: dict[str, int]  # phase_changes of the records
    first_bigram: int | None  # the first record nearest bigram, whatever came before it
    kl_step: int | None  # first step with KL(bigram ‖ model) < TARGET_KL_BIGRAM
    kl_seconds: float  # wall time from the trainer's construction to that record (inf if never)
    run_seconds: float  # the whole run
    steps: int
    final_weights: Weights

    def metrics(self) -> dict[str, Metric]:
        # uniform at step 0, then unigram, then bigram, and no bigram record before the unigram phase
        in_order = (self.start_nearest == "uniform" and {"unigram", "bigram"} <= set(self.phases)
                    and self.first_bigram == self.phases["bigram"])  # fmt: skip
        never = float(self.steps)
        return {
            "markov_phases_in_order": Metric(float(in_order), "yes", 1.0, lower_is_better=False),
            "markov_step_unigram_phase": Metric(float(self.phases.get("unigram", never)), "steps"),
            "markov_step_bigram_phase": Metric(float(self.phases.get("bigram", never)), "steps"),
            "markov_seconds_to_kl_bigram_0.05": Metric(self.kl_seconds, "s", TARGET_SECONDS_TO_KL),
            "markov_step_of_kl_bigram_0.05": Metric(float(self.kl_step or never), "steps"),
            "markov_run_seconds": Metric(self.run_seconds, "s"),
        }


def _full_run(config: TrainConfig) -> _Run:
    """The preset's whole run, timed from construction (the held-out batch and step 0's curves included)."""
    t0 = time.perf_counter()
    trainer = Trainer(config)
    start = trainer.initial_curves
    records: list[StepRecord] = []
    kl_step, kl_seconds = None, float("inf")
    for record in trainer.run():
        if record.kl_bigram is not None:
            records.append(record)
            if kl_step is None and record.kl_bigram < TARGET_KL_BIGRAM:
                kl_step, kl_seconds = record.step, time.perf_counter() - t0
    seconds = time.perf_counter() - t0
    first_bigram = next((r.step for r in records if r.nearest == "bigram"), None)
    return _Run(start.nearest if start else None, phase_changes(records), first_bigram, kl_step, kl_seconds, seconds,
                trainer.step_index, trainer.weights.copy())  # fmt: skip


def _fresh_kls(config: TrainConfig, weights: Weights) -> dict[str, Metric]:
    """KL(unigram ‖ model), KL(bigram ‖ model) and their ratio on chains the run never saw."""
    tokens = sample_chains(config.markov_task, FRESH_SEQUENCES, np.random.default_rng((config.seed, FRESH_SEED))).tokens
    fresh = HeldOut(tokens, config.k, config.alpha, bayes_optimal_loss(tokens, config.k, config.alpha))
    record = StepRecord(config.steps, 0.0, float("nan"), float("nan"), float("nan"), [], [])
    measure_markov(weights, fresh, record)  # the curves' own measurement, on other sequences
    assert record.kl_unigram is not None and record.kl_bigram is not None and record.heldout_loss is not None
    return {
        "markov_fresh_kl_unigram": Metric(record.kl_unigram, "nats"),
        "markov_fresh_kl_bigram": Metric(record.kl_bigram, "nats"),
        "markov_fresh_kl_unigram_over_bigram": Metric(record.kl_unigram / record.kl_bigram, "x", TARGET_KL_RATIO,
                                                      lower_is_better=False),  # fmt: skip
        "markov_fresh_loss_above_bayes": Metric(record.heldout_loss - fresh.bayes_loss, "nats"),
    }


def _race(config: TrainConfig, quick: bool) -> dict[str, Metric]:
    """Steps per second of the NumPy trainer and, if torch is importable, of its PyTorch peer, side by side."""
    try:
        from bench import torch_peer
    except ImportError as exc:
        print(f"markov: PyTorch is not importable ({exc}), so there is no peer to race: run the benchmark with a "
              "Python that has torch for the speed target; the NumPy numbers follow alone.", file=sys.stderr)
        return {"markov_steps_per_s": Metric(_numpy_rate(config, quick), "steps/s")}

    trainer = Trainer(config)
    if not np.array_equal(trainer.batch(0).tokens, _batch_tokens(config, 0)):
        raise AssertionError("markov: the peer's batches are not the trainer's; the race would not be like for like")
    peer = torch_peer.TorchTrainer(trainer.weights.copy(), config.lr)
    core = _CoreSteps(config)
    peer_step = 0

    def peer_steps(n: int) -> None:
        nonlocal peer_step
        for _ in range(n):
            peer.step(_batch_tokens(config, peer_step))
            peer_step += 1

    def trainer_steps(n: int) -> None:
        for _ in range(n):
            trainer.step()

    # like for like: the same losses from the same weights on the same batches
    diffs = []
    for _ in range(CHECKED_STEPS):
        theirs = peer.step(_batch_tokens(config, peer_step))
        peer_step += 1
        diffs.append(abs(trainer.step().loss - theirs))
    sides = {"numpy": trainer_steps, "core": core.steps, "torch": peer_steps}
    for run_steps in sides.values():
        run_steps(20)  # warm-up: first-touch of the buffers, torch's allocator

    # rounds of one block per side, the order rotated each round so that a drift in the machine's load (other
    # processes share the cores) favours no side; each round's ratio compares blocks run within a second. The
    # process's CPU time is kept too: on a shared machine, time spent waiting for a core is not slower code.
    block = config.eval_every  # each block of the trainer holds exactly one held-out evaluation
    rates: dict[str, list[float]] = {name: [] for name in sides}
    cpu_rates: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for i in range(5 if quick else 15):
        for name in names[i % 3 :] + names[: i % 3]:
            t0, c0 = time.perf_counter(), time.process_time()
            sides[name](block)
            rates[name].append(block / (time.perf_counter() - t0))
            cpu_rates[name].append(block / max(time.process_time() - c0, 1e-9))

    def over_torch(side: str, r: dict[str, list[float]]) -> float:
        return float(np.median(np.divide(r[side], r["torch"])))  # median of the rounds' ratios

    print(f"markov: PyTorch {torch_peer.torch_version()} on 1 thread as the peer; blocks of {block} steps, steps/s: "
          + "; ".join(f"{name} {[round(r) for r in rates[name]]}" for name in names), file=sys.stderr)
    return {
        "markov_steps_per_s": Metric(float(np.median(rates["numpy"])), "steps/s"),
        "markov_torch_steps_per_s": Metric(float(np.median(rates["torch"])), "steps/s"),
        "markov_steps_per_s_over_torch": Metric(over_torch("numpy", rates), "x", 1.0, lower_is_better=False),
        "markov_steps_per_s_over_torch_cpu_time": Metric(over_torch("numpy", cpu_rates), "x"),
        "markov_core_steps_per_s_over_torch": Metric(over_torch("core", rates), "x"),
        "markov_torch_loss_diff_first_steps": Metric(1e6 * max(diffs), "µnats", TARGET_LOSS_AGREEMENT),
    }


class _CoreSteps:
    """The trainer's arithmetic alone, the same work as the peer's step: batch, forward, backward, Adam.

    What :meth:`Trainer.step` adds to it (the per-step head scores, the
    finiteness checks, the held-out evaluation every ``eval_every`` steps) is
    the difference between ``markov_steps_per_s_over_torch`` and
    ``markov_core_steps_per_s_over_torch``. It reaches into the trainer's
    private buffers and optimiser so that the arithmetic is the trainer's own.
    """

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.trainer = Trainer(config)
        self.step_index = 0

    def steps(self, n: int) -> None:
        t = self.trainer
        for _ in range(n):
            forward_backward(t.weights, _batch_tokens(self.config, self.step_index), t._ws)  # noqa: SLF001
            t._params -= t._adam.update(t._ws.grad_flat)  # noqa: SLF001
            self.step_index += 1


def _batch_tokens(config: TrainConfig, step: int) -> np.ndarray:
    """Step ``step``'s training sequences, drawn as :meth:`Trainer.batch` draws them: [batch, T] int64."""
    return sample_chains(config.markov_task, config.batch_size, np.random.default_rng((config.seed, 1, step))).tokens


def _numpy_rate(config: TrainConfig, quick: bool) -> float:
    """Median steps per second of the NumPy trainer over blocks of steps (no peer)."""
    trainer = Trainer(config)
    for _ in range(20):
        trainer.step()
    rates = []
    for _ in range(4 if quick else 12):
        t0 = time.perf_counter()
        for _ in range(40):
            trainer.step()
        rates.append(40 / (time.perf_counter() - t0))
    return float(np.median(rates))
