"""The settings of one training run: model sizes, data and optimiser, validated, and the presets.

Kept apart from the trainer so that the batch maker (``training_data``) and the
run folder can read a configuration without importing the training loop.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .budget import TEMPORARY_BYTES
from .budget import human_bytes
from .config import ModelConfig
from .markov import MarkovTask, MarkovTaskError

DATASETS: tuple[str, ...] = ("random-blocks", "fixed-period", "markov-chains")

# A run may use this much memory in all (its step's arrays, Adam's state, the thinned checkpoints and
# records the session, the run writer and the window keep); a laptop in a classroom has a few GiB.
TRAINING_BYTES = 2 * 2**30
KEPT_CHECKPOINTS = 100  # most checkpoints a run keeps (model.thinning.MAX_CHECKPOINTS)
KEPT_RECORDS = 2000  # most step records a run keeps (model.thinning.MAX_RECORDS)
RECORD_BYTES_PER_HEAD = 4 * 80  # a record's per-head scores as Python floats in lists (4 grids), generous
COPIES_OF_KEPT = 3  # the session, the run writer and the window each hold the kept records and checkpoints


class TrainingConfigError(ValueError):
    """A training setting is out of range; the message starts with the field's name."""


@dataclass(frozen=True)
class TrainConfig:
    """Model sizes, data and optimiser of one training run (TransformerLens names for the sizes)."""

    n_layers: int = 2  # attention blocks; induction needs 2 (a previous-token head feeds the induction head)
    n_heads: int = 1  # heads per block
    d_model: int = 32  # width of the residual stream
    d_head: int = 16  # width of one head's query, key and value
    d_vocab: int = 65  # 64 content tokens + the start token (id 0)
    n_ctx: int = 64  # tokens per training sequence, the start token included
    batch_size: int = 32  # sequences per Adam step
    lr: float = 1e-2  # Adam learning rate
    steps: int = 600  # steps of a full run
    seed: int = 0  # fixes the initial weights and every batch
    dataset: str = "random-blocks"  # or "fixed-period" (the counter-example)
    min_block: int = 8  # shortest block L (random-blocks)
    max_block: int = 32  # longest block L (random-blocks)
    period: int | None = None  # fixed-period: block length, default n_ctx // 2 ("the first half repeated")
    eval_every: int = 10  # steps between the ICL / copying scores in records
    checkpoint_every: int = 10  # steps between checkpoints the caller writes
    k: int = 3  # markov-chains: states per chain, which are the tokens (d_vocab must equal k, no start token)
    alpha: float = 1.0  # markov-chains: Dirichlet concentration of each transition row (and the estimators' prior)
    no_unigram: bool = False  # markov-chains: doubly-stochastic chains, whose unigram counts carry no signal
    eval_batch: int = 64  # markov-chains: sequences of the fixed held-out batch the KL curves are measured on

    @property
    def effective_period(self) -> int:
        """The fixed-period block length: ``period`` or n_ctx // 2."""
        return self.n_ctx // 2 if self.period is None else self.period

    @property
    def markov_task(self) -> MarkovTask:
        """The in-context Markov chain task of a markov-chains run (T = n_ctx)."""
        return MarkovTask(k=self.k, T=self.n_ctx, alpha=self.alpha, no_unigram=self.no_unigram)

    @property
    def model_config(self) -> ModelConfig:
        """The engine's view of the sizes."""
        return ModelConfig(self.n_layers, self.n_heads, self.d_model, self.d_head, self.d_vocab, self.n_ctx)

    def validate(self) -> None:
        """Check every field; raise :class:`TrainingConfigError` naming the first bad one."""
        for name in ("n_layers", "n_heads", "d_model", "d_head", "d_vocab", "n_ctx", "batch_size", "steps", "seed",
                     "min_block", "max_block", "eval_every", "checkpoint_every", "k", "eval_batch"):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise TrainingConfigError(f"{name}: expected an integer, got {value!r}")
        positive = ("n_layers", "n_heads", "d_model", "d_head", "batch_size", "steps", "eval_every", "checkpoint_every",
                    "eval_batch")
        for name in positive:
            if getattr(self, name) < 1:
                raise TrainingConfigError(f"{name}: expected ≥ 1, got {getattr(self, name)}")
        if self.seed < 0:
            raise TrainingConfigError(f"seed: expected ≥ 0, got {self.seed}")
        if isinstance(self.lr, bool) or not isinstance(self.lr, int | float | np.floating | np.integer):
            raise TrainingConfigError(f"lr: expected a number, got {self.lr!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise TrainingConfigError(f"lr: expected a positive finite number, got {self.lr}")
        if self.n_ctx < 4:
            raise TrainingConfigError(f"n_ctx: expected ≥ 4 (a start token and a block seen twice), got {self.n_ctx}")
        if self.d_vocab < 2:
            raise TrainingConfigError(
                f"d_vocab: expected ≥ 2 (the start token and a content token), got {self.d_vocab}"
            )
        if self.dataset not in DATASETS:
            raise TrainingConfigError(f"dataset: expected one of {DATASETS}, got {self.dataset!r}")
        if self.dataset == "markov-chains":
            self._validate_markov()
            self._check_memory()
            return
        for name in ("k", "alpha", "no_unigram"):  # a chain setting on another dataset would be silently ignored
            if getattr(self, name) != TrainConfig.__dataclass_fields__[name].default:
                raise TrainingConfigError(f"{name}: only the markov-chains dataset has Markov chains; this run's "
                                          f"dataset is {self.dataset} (use --preset markov-chains)")
        if self.dataset == "fixed-period":
            period = self.period
            if period is not None and (isinstance(period, bool) or not isinstance(period, int | np.integer)):
                raise TrainingConfigError(f"period: expected an integer or None, got {self.period!r}")
            lengths = {"period": self.effective_period}
        else:
            if self.min_block > self.max_block:
                raise TrainingConfigError(f"min_block: {self.min_block} is larger than max_block {self.max_block}")
            lengths = {"min_block": self.min_block, "max_block": self.max_block}
        # a block must start repeating inside the context (after the start token), and consist of distinct tokens
        for name, value in lengths.items():
            if value < 1:
                raise TrainingConfigError(f"{name}: expected ≥ 1, got {value}")
            if value > self.n_ctx - 2:
                raise TrainingConfigError(
                    f"{name}: a block of {value} tokens is too long for the context: with n_ctx {self.n_ctx} "
                    f"a block longer than {self.n_ctx - 2} is never repeated"
                )
            if value > self.d_vocab - 1:
                raise TrainingConfigError(
                    f"d_vocab: {self.d_vocab - 1} content tokens are too few for a block of {value} distinct tokens "
                    f"({name} {value})"
                )
        self._check_memory()

    def _validate_markov(self) -> None:
        """The Markov task's own bounds (k, alpha, no_unigram), and a vocabulary of exactly the k states."""
        try:
            self.markov_task.validate()
        except MarkovTaskError as exc:
            name, _, rest = str(exc).partition(":")
            raise TrainingConfigError(f"{'n_ctx' if name == 'T' else name}:{rest}") from None
        if self.d_vocab != self.k:
            raise TrainingConfigError(
                f"d_vocab: a Markov-chain model's tokens are its k states (no start token): expected {self.k}, "
                f"got {self.d_vocab}"
            )

    def _check_memory(self) -> None:
        """Refuse, before anything is allocated, a run whose memory estimate exceeds the budget."""
        estimate = memory_estimate(self)
        what, shape, size = estimate.largest
        fields = ", ".join(estimate.largest_fields)
        default = TrainConfig()
        # name first the setting raised furthest above its default: the one the learner most likely overdid
        culprit = max(estimate.largest_fields, key=lambda name: getattr(self, name) / getattr(default, name))
        if size > TEMPORARY_BYTES:
            raise TrainingConfigError(
                f"{culprit}: one training step would need the {what} array {list(shape)} "
                f"({human_bytes(size)}), more than the {human_bytes(TEMPORARY_BYTES)} one array may use "
                f"(run estimate {human_bytes(estimate.total)}); make {fields} smaller"
            )
        if estimate.total > TRAINING_BYTES:
            raise TrainingConfigError(
                f"{culprit}: this run would need about {human_bytes(estimate.total)} of memory, "
                f"more than the {human_bytes(TRAINING_BYTES)} a run may use (the largest array, {what} "
                f"{list(shape)}, takes {human_bytes(size)}); make {fields} smaller"
            )

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """The config written by :meth:`to_dict`; unknown keys are an error naming them, missing ones default."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise TrainingConfigError(f"{unknown[0]}: unknown training setting (known: {', '.join(sorted(known))})")
        return cls(**d)


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes one run needs, whatever its step count: a step's arrays plus the bounded history it keeps."""

    step_bytes: int  # the workspace of one forward and backward pass (float32), with its temporaries
    optimiser_bytes: int  # parameters, last good copy, gradient and Adam's moments and scratch
    kept_bytes: int  # the thinned checkpoints and records, in every copy that keeps them
    largest: tuple[str, tuple[int, ...], int]  # (name, shape, bytes) of the largest single array
    largest_fields: tuple[str, ...]  # the settings the largest array grows with, to name in a refusal

    @property
    def total(self) -> int:
        return self.step_bytes + self.optimiser_bytes + self.kept_bytes


def parameter_count(c: TrainConfig) -> int:
    """Parameters of the attention-only model (W_E, W_pos, W_U, b_U and four matrices and biases a layer)."""
    M, H, D, V = c.d_model, c.n_heads, c.d_head, c.d_vocab
    per_layer = 4 * H * M * D + 3 * H * D + M
    return V * M + c.n_ctx * M + M * V + V + c.n_layers * per_layer


def memory_estimate(c: TrainConfig) -> MemoryEstimate:
    """What a run of ``c`` allocates, from the shapes of the trainer's workspace (engine.backward.Workspace).

    It does not grow with ``steps``: the session keeps at most
    :data:`KEPT_RECORDS` records and :data:`KEPT_CHECKPOINTS` checkpoints,
    thinned evenly over the run.
    """
    B, T, M, H, D, V, L = c.batch_size, c.n_ctx, c.d_model, c.n_heads, c.d_head, c.d_vocab, c.n_layers
    f = 4  # float32
    arrays = {  # name -> (shape, the settings it grows with)
        "attention pattern": ((B, H, T, T), ("batch_size", "n_ctx", "n_heads")),
        "logits": ((B, T, V), ("batch_size", "n_ctx", "d_vocab")),
        "residual stream": ((B, T, M), ("batch_size", "n_ctx", "d_model")),
        "queries, keys and values": ((B, T, 3, H, D), ("batch_size", "n_ctx", "n_heads", "d_head")),
    }
    size = {name: math.prod(shape) * f for name, (shape, _) in arrays.items()}
    per_layer = size["residual stream"] + size["queries, keys and values"] + size["attention pattern"] + B * T * H * D * f
    step = (L * per_layer  # x, qkv, pattern, z of every layer
            + 2 * size["residual stream"] + size["logits"]  # resid, d_resid, logits
            + size["queries, keys and values"] + size["attention pattern"] + B * T * H * D * f  # d_qkv, d_pattern, d_z
            + 2 * B * T * 8)  # tokens and targets (int64)
    step += max(size.values())  # a temporary as large as the largest array (softmax, its gradient)
    n_params = parameter_count(c)
    optimiser = 6 * n_params * f  # parameters, last good copy, gradient, Adam's m, v and scratch
    record = (4 * L * H * RECORD_BYTES_PER_HEAD // 4) + 512  # scores per head, and the scalar fields
    kept = COPIES_OF_KEPT * (KEPT_CHECKPOINTS * n_params * f + KEPT_RECORDS * record)
    name = max(size, key=size.__getitem__)
    shape, fields = arrays[name]
    return MemoryEstimate(step, optimiser, kept, (name, shape, size[name]), fields)


PRESETS: dict[str, TrainConfig] = {
    # induction forms in a couple of hundred steps, about a second on one core
    "default": TrainConfig(),
    # wider, more heads, a 10× smaller step: the plateau before the phase change lasts long enough to watch
    "slow-motion": TrainConfig(n_heads=4, d_model=64, lr=1e-3, steps=3000),
    # a short context and a small vocabulary: fast enough for tests and slow machines
    "tiny": TrainConfig(d_vocab=33, n_ctx=32, min_block=4, max_block=12, steps=400),
    # the counter-example: a fixed period is learnt by position, no induction head forms
    "fixed-period": TrainConfig(dataset="fixed-period"),
    # every sequence its own random chain (Edelman et al. 2024): uniform, then unigram (from the first evaluation
    # to about step 250), then bigram predictions; KL(bigram ‖ model) < 0.05 nats by about step 400 and about
    # 0.03 at the end, some 25 s on one core (lr 1e-2: 3e-3 lengthens the unigram plateau but ends above 0.03)
    "markov-chains": TrainConfig(dataset="markov-chains", d_vocab=3, k=3, n_ctx=100, alpha=1.0, steps=2000,
                                 eval_every=20, checkpoint_every=20),
}

# what the Training dock lists (the command line takes the keys: --preset slow-motion)
PRESET_TITLES: dict[str, str] = {
    "default": "Phase change (default)",
    "slow-motion": "Slow motion (long plateau)",
    "tiny": "Tiny (fast)",
    "fixed-period": "Fixed period (no induction)",
    "markov-chains": "Markov chains (statistical induction head)",
}


@dataclass(frozen=True)
class TrainParam:
    """One training setting as the command line (``--name``) and the Training dock offer it."""

    name: str  # the TrainConfig field; the option is --name-with-dashes
    label: str  # the dock's caption
    doc: str  # what it does: the dock's tooltip and the option's --help
    hi: float = 1_000_000  # top of the dock's spin box (TrainConfig.validate checks the real bounds)
    decimals: int = 0  # of a float setting's spin box
    step: float = 1  # of the spin box
    aliases: tuple[str, ...] = ()  # other option names (--T for n_ctx, the Markov task's name for it)

    @property
    def kind(self) -> type:
        """int, float, str or bool: the type of the TrainConfig field."""
        annotation = str(TrainConfig.__dataclass_fields__[self.name].type)
        return {"float": float, "str": str, "bool": bool}.get(annotation, int)


# every setting the command line can override, in --help order
TRAIN_PARAMS: tuple[TrainParam, ...] = (
    TrainParam("steps", "Steps", "Adam steps of the whole run. The phase change usually comes after a plateau."),
    TrainParam("seed", "Seed", "Fixes the initial weights and every batch: the same seed gives the same run."),
    TrainParam("n_layers", "Layers", "Attention blocks; induction needs 2 (a previous-token head feeds the "
               "induction head)."),
    TrainParam("n_heads", "Heads per layer", "Attention heads in each of the layers. The induction circuit needs "
               "a previous-token head in layer 0 and an induction head in the last layer."),
    TrainParam("d_model", "d_model", "Width of the residual stream, where heads read and write."),
    TrainParam("d_head", "d_head", "Width of one head's query, key and value."),
    TrainParam("d_vocab", "d_vocab", "Tokens in the vocabulary: the start token (id 0) and the content tokens."),
    TrainParam("n_ctx", "n_ctx", "Tokens per training sequence, the start token included (markov-chains: T, "
               "there is no start token).", aliases=("T",)),
    TrainParam("lr", "Learning rate", "Adam's step size. Smaller makes the plateau longer (slow motion); too "
               "large and the loss diverges.", hi=10.0, decimals=5, step=0.0005),
    TrainParam("batch_size", "Batch size", "Sequences per Adam step: [BOS, block, block …] with random blocks."),
    TrainParam("dataset", "Data", "random-blocks, fixed-period (the counter-example: no induction head forms), "
               "or markov-chains (a random Markov chain per sequence: a statistical induction head)."),
    TrainParam("min_block", "Shortest block", "Shortest repeated block (random-blocks)."),
    TrainParam("max_block", "Longest block", "Longest repeated block (random-blocks)."),
    TrainParam("period", "Period", "Block length of fixed-period data (default n_ctx // 2)."),
    TrainParam("checkpoint_every", "Checkpoint every", "Steps between checkpoints."),
    TrainParam("k", "States", "markov-chains: states of each chain, 2 to 8; they are the tokens (d_vocab follows k)."),
    TrainParam("alpha", "Dirichlet α", "markov-chains: concentration of each transition row's Dirichlet prior; "
               "small α makes sharp, predictable chains.", hi=100.0, decimals=3, step=0.1),
    TrainParam("no_unigram", "No unigram signal", "markov-chains: doubly-stochastic chains (uniform stationary "
               "law), so counting states alone predicts nothing: the unigram plateau goes."),
)
TRAIN_PARAM: dict[str, TrainParam] = {p.name: p for p in TRAIN_PARAMS}
DOCK_PARAMS: tuple[str, ...] = ("steps", "lr", "seed", "d_model", "n_heads", "batch_size")  # the dock's spin boxes
