"""Train an attention-only transformer and watch its induction head form.

Olsson et al. (2022) saw induction heads appear in a sudden *phase change*:
the loss sits on a plateau, then the repeat loss collapses at the same step at
which a head's prefix-matching score jumps. With the defaults here that
happens within a few hundred Adam steps on one core, so a learner can watch it.

:class:`Trainer` is a generator-style loop: each :meth:`Trainer.step` does one
Adam step on a fresh seeded batch and returns a :class:`StepRecord` whose
metrics come from that step's own forward pass. Callers (the command line,
the Training panel) save checkpoints with ``trainer.weights.save(path)``.
"""

from __future__ import annotations

import ctypes
import dataclasses
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .backward import Workspace, forward_backward, forward_loss, loss_and_grads, param_names
from .circuits import copying_scores
from .losses import icl_score
from .markov import sample_chains
from .markov_strategies import bayes_optimal_loss, kl_to_model, nearest_strategy, reference_strategies
from .train_config import DATASETS, PRESETS, TrainConfig, TrainingConfigError
from .training_data import Batch, batch_detector_scores, induction_targets, make_batch
from .weights import Weights

__all__ = [
    "DATASETS",
    "PRESETS",
    "Batch",
    "StepRecord",
    "TrainConfig",
    "Trainer",
    "TrainingConfigError",
    "TrainingDiverged",
    "HeldOut",
    "evaluate_batch",
    "held_out_batch",
    "measure_markov",
    "induction_formed",
    "limit_blas_threads",
    "loss_and_grads",
    "make_batch",
]

# Adam's constants (Kingma & Ba's defaults, as torch.optim.Adam)
ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8


class TrainingDiverged(RuntimeError):
    """The loss (or an update) became NaN or infinite; the weights are those after the last good step."""


SMALL_VOCAB = 16  # token ids below this: head scores through one-hots of the previous token (Markov states)


@dataclass
class StepRecord:
    """What one training step measured, on that step's batch and from its own forward pass."""

    step: int  # steps done, this one included (1 for the first)
    elapsed_s: float  # wall time since the trainer started, training only
    loss: float  # mean next-token cross-entropy of the batch (nats)
    loss_first: float  # mean over the first occurrence of each block (nothing to copy yet)
    loss_repeat: float  # mean over repeated tokens (an induction head predicts these)
    prefix_matching: list[list[float]]  # per layer, per head (induction detector, mul, exclude_bos=True, on the batch)
    previous_token: list[list[float]]  # per layer, per head
    icl: float | None = None  # every eval_every steps (scaled ICL with its label in icl_label)
    icl_label: str | None = None  # which loss columns icl compares
    copying: list[list[float]] | None = None  # every eval_every steps: full-OV copying score per head
    # markov-chains only, every eval_every steps, on the fixed held-out batch with the weights after this step
    # (nats, mean over positions t ≥ 1; see engine.markov_strategies)
    heldout_loss: float | None = None  # next-state cross-entropy at t = 1..T-2
    bayes_loss: float | None = None  # the same for the Bayes-optimal bigram estimate: the floor
    kl_uniform: float | None = None  # KL(uniform ‖ model)
    kl_unigram: float | None = None  # KL(in-context unigram ‖ model)
    kl_bigram: float | None = None  # KL(in-context bigram ‖ model)
    nearest: str | None = None  # the strategy of smallest KL: the phase the model is in

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (plain floats and lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> StepRecord:
        """The record written by :meth:`to_json`."""
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})


def _measure(ws: Workspace, batch: Batch, loss: float, step: int) -> StepRecord:
    """A record of the losses and head scores the pass that filled ``ws`` measured on ``batch``."""
    token_loss = ws.token_loss  # [batch, n_ctx - 1]
    patterns = [b.pattern for b in ws.layers]  # per layer [batch, head_index, query_pos, key_pos]
    if batch.tokens.max(initial=0) < SMALL_VOCAB:  # a Markov run's k states: no [pos, pos] mask needed
        prefix, previous = batch_detector_scores(patterns, tokens=batch.tokens)
    else:
        prefix, previous = batch_detector_scores(patterns, induction_targets(batch.tokens))
    return StepRecord(
        step=step,
        elapsed_s=0.0,
        loss=loss,
        loss_first=float(token_loss[batch.first_mask].mean(dtype=np.float64)),
        loss_repeat=float(token_loss[batch.repeat_mask].mean(dtype=np.float64)),
        prefix_matching=prefix.tolist(),
        previous_token=previous.tolist(),
    )


def evaluate_batch(weights: Weights, batch: Batch, step: int = 0) -> StepRecord:
    """Losses and head scores of ``weights`` on ``batch`` without training (e.g. on another dataset).

    The fixed-period counter-example is exposed this way: its model predicts
    repeats on its own data, but not on random-block data.
    """
    ws = Workspace.for_weights(weights, *batch.tokens.shape)
    loss = forward_loss(weights, batch.tokens, ws)
    return _measure(ws, batch, loss, step)


@dataclass(frozen=True, eq=False)
class HeldOut:
    """The fixed held-out batch of a markov-chains run and what does not change on it (the floor).

    Measured by one thread at a time (its trainer's): :func:`measure_markov`
    keeps its buffers and the reference strategies of these tokens here.
    """

    tokens: np.ndarray  # [eval_batch, T] int64
    k: int
    alpha: float
    bayes_loss: float  # cross-entropy of the Bayes-optimal bigram estimate at t = 1..T-2
    # filled by the first measure_markov: the strategies by name ([eval_batch, T, k] each) and the forward pass's
    # Workspace, reused by every later evaluation (fresh buffers cost about as much as the pass: first touch)
    _kept: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def held_out_batch(config: TrainConfig) -> HeldOut:
    """The held-out sequences of a markov-chains run: seeded by (seed, 2), apart from every training batch."""
    tokens = sample_chains(config.markov_task, config.eval_batch, np.random.default_rng((config.seed, 2))).tokens
    return HeldOut(tokens, config.k, config.alpha, bayes_optimal_loss(tokens, config.k, config.alpha))


def measure_markov(weights: Weights, held_out: HeldOut, record: StepRecord) -> None:
    """Fill ``record``'s held-out loss, strategy KLs and nearest strategy from ``weights`` on ``held_out``.

    The log-probabilities come from a log-softmax of the logits in float64 (a
    log of a float32 softmax could reach log 0). A run evaluates every
    ``eval_every`` steps on the same tokens, so the reference strategies are
    computed once and the pass's buffers are kept (see :class:`HeldOut`).
    """
    tokens = held_out.tokens
    kept = held_out._kept  # noqa: SLF001 - this function's own cache
    if "strategies" not in kept:
        kept["strategies"] = reference_strategies(tokens, held_out.k, held_out.alpha)
    ws = kept.get("workspace")
    if ws is None or not ws.fits(weights, tokens):
        ws = kept["workspace"] = Workspace.for_weights(weights, *tokens.shape)
    forward_loss(weights, tokens, ws)  # fills ws.resid, the final residual stream
    B, T = tokens.shape
    resid = ws.resid.reshape(B * T, -1).astype(np.float64)  # [batch·T, d_model]
    logits = (resid @ weights["unembed.W_U"].astype(np.float64) + weights["unembed.b_U"]).reshape(B, T, -1)  # [B, T, k]
    log_probs = logits - logits.max(axis=-1, keepdims=True)  # [B, T, k]
    log_probs -= np.log(np.exp(log_probs).sum(axis=-1, keepdims=True))
    target = np.take_along_axis(log_probs[:, 1:-1], tokens[:, 2:, None], axis=-1)  # [B, T - 2, 1]: t = 1..T-2
    record.heldout_loss = float(-target.mean())
    record.bayes_loss = held_out.bayes_loss
    # strategy_kls on cached strategies: KL(strategy ‖ model) over t ≥ 1 for each
    kls = {name: kl_to_model(probs, log_probs) for name, probs in kept["strategies"].items()}
    record.kl_uniform, record.kl_unigram, record.kl_bigram = kls["uniform"], kls["unigram"], kls["bigram"]
    record.nearest = nearest_strategy(kls)


def induction_formed(record: StepRecord) -> bool:
    """Whether the record shows a working induction head.

    Both halves of the story must hold: some last-layer head attends by prefix
    matching (score ≥ 0.5), and the model uses it (the loss on repeated tokens
    is less than half the loss on first occurrences).
    """
    if not record.prefix_matching:
        return False
    best = max(record.prefix_matching[-1])
    return best >= 0.5 and record.loss_repeat < 0.5 * record.loss_first


def limit_blas_threads() -> bool:
    """Ask NumPy's BLAS for one thread, as far as that is possible after NumPy has loaded.

    The matrices of a training step are small; with several BLAS threads they
    are slower and timings erratic. The reliable way is the environment
    (``OPENBLAS_NUM_THREADS=1`` etc. before NumPy is imported), which is the
    entry point's job. At run time this sets those variables (for processes
    started later) and calls OpenBLAS' own ``openblas_set_num_threads(1)``
    through ctypes if NumPy's bundled OpenBLAS exports it.

    Returns
    -------
    bool
        True if the running BLAS was told to use one thread, False if only the
        environment could be set (another BLAS, or a library not found).
    """
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS"):  # fmt: skip
        os.environ[var] = "1"
    libs_dir = Path(np.__file__).parent.parent / "numpy.libs"  # where Linux wheels keep their OpenBLAS
    candidates = sorted(libs_dir.glob("*openblas*")) if libs_dir.is_dir() else []
    for lib_path in candidates:
        try:
            lib = ctypes.CDLL(str(lib_path))  # already loaded by NumPy: this returns the same library
        except OSError:
            continue
        for symbol in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads"):
            fn = getattr(lib, symbol, None)
            if fn is not None:
                fn.argtypes = [ctypes.c_int]
                fn.restype = None
                fn(1)
                return True
    return False


class _Adam:
    """Adam with bias correction over one flat parameter vector: a few vector operations a step."""

    def __init__(self, n_params: int, lr: float, dtype: np.dtype) -> None:
        self.lr = lr
        self.m = np.zeros(n_params, dtype)  # [n_params] first moment
        self.v = np.zeros(n_params, dtype)  # [n_params] second moment
        self.t = 0
        self._tmp = np.empty(n_params, dtype)  # [n_params]

    def update(self, grad: np.ndarray) -> np.ndarray:
        """The step to subtract from the parameters for gradient ``grad`` ([n_params]); updates the moments."""
        self.t += 1
        m, v, tmp = self.m, self.v, self._tmp
        m *= ADAM_BETA1
        m += (1.0 - ADAM_BETA1) * grad
        v *= ADAM_BETA2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1.0 - ADAM_BETA2
        v += tmp
        # lr · m̂ / (sqrt(v̂) + eps) with m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t)
        np.sqrt(v, out=tmp)
        tmp *= 1.0 / math.sqrt(1.0 - ADAM_BETA2**self.t)
        tmp += ADAM_EPS
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr / (1.0 - ADAM_BETA1**self.t)
        return tmp

    def state(self) -> tuple[np.ndarray, np.ndarray, int]:
        """A copy of the moments and the step count, to undo an update that overflowed."""
        return self.m.copy(), self.v.copy(), self.t

    def restore(self, state: tuple[np.ndarray, np.ndarray, int]) -> None:
        """Go back to a :meth:`state`."""
        self.m[...], self.v[...], self.t = state


class Trainer:
    """One training run: the live weights, Adam's state and the step counter.

    Attributes
    ----------
    config
        the validated :class:`TrainConfig`.
    weights
        the live float32 :class:`Weights`, updated in place by every step (its
        arrays are views into one parameter vector). Editing them in place is
        allowed (the next step trains from the edit); assigning a new array to
        a name is too (it is copied in at the next step).
    step_index
        steps done so far.
    """

    def __init__(self, config: TrainConfig, weights: Weights | None = None) -> None:
        config.validate()
        self.config = config
        if weights is None:
            weights = Weights.random(config.model_config, seed=config.seed, dtype=np.float32)
        else:
            c = weights.config
            got = (c.n_layers, c.n_heads, c.d_model, c.d_head, c.d_vocab, c.n_ctx)
            want = (config.n_layers, config.n_heads, config.d_model, config.d_head, config.d_vocab, config.n_ctx)
            if got != want or c.attn_scale is not None:
                raise TrainingConfigError(
                    f"weights: sizes (n_layers, n_heads, d_model, d_head, d_vocab, n_ctx) = {got} do not match "
                    f"the config's {want}" + (" (and a custom attn_scale is not trained)" if c.attn_scale else "")
                )
        c = config
        self._ws = Workspace(
            c.batch_size, c.n_ctx, c.n_layers, c.n_heads, c.d_model, c.d_head, c.d_vocab, c.n_ctx, np.dtype(np.float32)
        )
        names = param_names(config.n_layers)
        self._params = np.empty_like(self._ws.grad_flat)  # [n_params]: every parameter, one vector
        self._views: dict[str, np.ndarray] = {}
        start = 0
        for n in names:
            size = self._ws.grads[n].size
            self._views[n] = self._params[start : start + size].reshape(self._ws.grads[n].shape)
            self._views[n][...] = weights[n]
            start += size
        # a private float32 copy whose arrays are the views above: the caller's object is never changed
        self.weights = Weights(self._views, attn_scale=None)
        self._good = self._params.copy()  # [n_params]: the weights after the last good step
        self._adam = _Adam(self._params.size, config.lr, self._params.dtype)
        self.step_index = 0
        self._elapsed = 0.0
        self.held_out = held_out_batch(config) if config.dataset == "markov-chains" else None
        # the untrained model's curves (markov-chains): the uniform phase the curves start from, at step 0
        self.initial_curves: StepRecord | None = None
        if self.held_out is not None:
            self.initial_curves = StepRecord(0, 0.0, math.nan, math.nan, math.nan, [], [])
            measure_markov(self.weights, self.held_out, self.initial_curves)
            self.initial_curves.loss = self.initial_curves.heldout_loss  # type: ignore[assignment]

    # -- one step -----------------------------------------------------------------------
    def batch(self, step: int) -> Batch:
        """The batch of step ``step`` (0-based): seeded by (seed, step), so a resumed run sees the same data."""
        return make_batch(self.config, np.random.default_rng((self.config.seed, 1, step)))

    def step(self) -> StepRecord:
        """One Adam step on a fresh seeded batch; the record of its loss and head scores.

        Raises
        ------
        TrainingDiverged
            when the loss, a gradient or the updated weights are not finite;
            the weights are restored to those after the last good step and
            ``step_index`` is unchanged.
        """
        t0 = time.perf_counter()
        self._adopt_rebound_arrays()
        batch = self.batch(self.step_index)
        ws = self._ws
        loss = forward_backward(self.weights, batch.tokens, ws)
        if not (math.isfinite(loss) and np.isfinite(ws.grad_flat).all()):
            self._params[...] = self._good
            raise TrainingDiverged(
                f"step {self.step_index + 1}: the loss is {loss} (lr {self.config.lr}); "
                f"weights are left at step {self.step_index}"
            )
        adam_before = self._adam.state()
        with np.errstate(over="ignore", invalid="ignore"):
            update = self._adam.update(ws.grad_flat)  # [n_params]
            stepped = self._params - update  # [n_params]
        if not np.isfinite(stepped).all():
            self._params[...] = self._good
            self._adam.restore(adam_before)
            raise TrainingDiverged(
                f"step {self.step_index + 1}: the update overflowed (lr {self.config.lr}); "
                f"weights are left at step {self.step_index}"
            )
        # metrics before the update: they describe the weights this batch's loss was measured on
        record = self._record(batch, loss)
        self._params[...] = stepped
        self._good[...] = stepped
        self.step_index += 1
        if self.step_index % self.config.eval_every == 0:
            self._evaluate(record)
        self._elapsed += time.perf_counter() - t0
        record.elapsed_s = self._elapsed
        return record

    def _adopt_rebound_arrays(self) -> None:
        """Copy in any parameter array a caller assigned (``weights[name] = a``) and bind the view again."""
        for n, view in self._views.items():
            current = self.weights[n]
            if current is not view:
                view[...] = current
                self.weights[n] = view

    def _record(self, batch: Batch, loss: float) -> StepRecord:
        return _measure(self._ws, batch, loss, self.step_index + 1)

    def _evaluate(self, record: StepRecord) -> None:
        """The slower scores, every eval_every steps: ICL on this batch's losses, full-OV copying."""
        icl = icl_score(self._ws.token_loss, reference_length=self.config.n_ctx)
        record.icl = icl.value
        record.icl_label = icl.variant_label
        with np.errstate(all="ignore"):
            record.copying = copying_scores(self.weights, full=True).tolist()
        if self.held_out is not None:
            measure_markov(self.weights, self.held_out, record)

    # -- loops ----------------------------------------------------------------------------
    def run(self, steps: int | None = None) -> Iterator[StepRecord]:
        """Yield a record per step: ``steps`` more (default: up to ``config.steps`` in all)."""
        end = self.config.steps if steps is None else self.step_index + steps
        while self.step_index < end:
            yield self.step()

    def __iter__(self) -> Iterator[StepRecord]:
        return self.run()
