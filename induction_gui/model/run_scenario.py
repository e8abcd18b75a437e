"""The scenario that opens a training run's model in the window, and the tokens it shows.

The trainer's tokens have no text and its model no view, so a run's scenario
is built here: neutral token names, a sequence of the kind the model was
trained on, and the most induction-like head in focus.

A markov-chains run gets a scenario of its own kind (:func:`markov_scenario`):
its tokens are the k states (named "A", "B", …, no start token), the sequence
is one chain drawn by the engine's sampler, and that chain's true transition
matrix is the scenario's ``view.markov_chain``, so the Markov chain editor and
the counting view show the chain the sequence came from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..engine.markov import sample_chains
from ..engine.train_config import TrainConfig
from ..engine.training import StepRecord
from ..engine.training_data import START_TOKEN, tiled_blocks
from ..engine.weights import Weights
from .markov_chain import VIEW_KEY as MARKOV_CHAIN_KEY
from .markov_chain import as_chain
from .scenario import Scenario

MARKOV = "markov-chains"  # the dataset whose runs get a scenario of states and a chain


def vocabulary(d_vocab: int) -> list[str]:
    """``["<s>", "t1", "t2", ...]``: the trainer's tokens have no text, so they get neutral names."""
    return ["<s>", *(f"t{i}" for i in range(1, d_vocab))]


def state_vocabulary(k: int) -> list[str]:
    """``["A", "B", ...]``: a Markov-chain model's k states, one capital letter each (k ≤ 8).

    Letters, not "s0", "s1": one character per state keeps a sequence of a
    hundred states and the k x k matrices readable on a projector.
    """
    return [chr(ord("A") + i) for i in range(k)]


def sample_chain(config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """One chain of the run's prior and a sequence of n_ctx - 1 states from it, seeded by the run's seed.

    Drawn by the engine's own sampler (:func:`~induction_gui.engine.markov.sample_chains`),
    so the sequence is one of the kind the model was trained on and the same every time.
    It stops one state short of the context: the trainer's loss has no target
    for the prediction at the last position T - 1, so that prediction (and that
    position's embedding) was never trained, and the scenario's query, the last
    position, must be one whose prediction was.

    Returns
    -------
    tuple[np.ndarray, np.ndarray]
        tokens int64 [pos] with ``pos == n_ctx - 1`` (token id = state) and the chain's transitions [k, k].
    """
    batch = sample_chains(config.markov_task, 1, np.random.default_rng(config.seed))  # tokens [1, n_ctx]
    return batch.tokens[0, :-1].astype(np.int64), batch.transitions[0]  # [n_ctx - 1], [k, k]


def sample_tokens(config: TrainConfig, *, blocks: int | None = None) -> np.ndarray:
    """One sequence like those the model was trained on, for the scenario that opens the run.

    The start token, then a block of distinct tokens repeated, drawn by the
    trainer's own generator from the run's seed. The block length is the
    middle of the trained range (random-blocks) or the period (fixed-period):
    a length the model saw, repeated, so the induction stripe is plain to see.

    Parameters
    ----------
    config
        the run's settings.
    blocks
        how many times the block is shown; None tiles it to the end of the
        context. The Training dock shows two (half a training row redraws
        quickly while scrubbing).

    Returns
    -------
    np.ndarray
        int64 [pos] with ``pos == n_ctx`` (or ``1 + blocks · L ≤ n_ctx``).
    """
    if config.dataset == "fixed-period":
        length = config.effective_period
    else:
        length = (config.min_block + config.max_block) // 2
    room = config.n_ctx - 1 if blocks is None else (config.n_ctx - 1) // blocks
    length = max(1, min(length, config.d_vocab - 1, room))
    n_pos = config.n_ctx if blocks is None else 1 + blocks * length
    batch = tiled_blocks(np.array([length]), n_pos, config.d_vocab, np.random.default_rng(config.seed))
    return batch.tokens[0].astype(np.int64)  # [pos]


def best_head(record: StepRecord, *, layer: int | None = None) -> tuple[int, int, float] | None:
    """(layer, head, score) of the head with the highest prefix-matching score, or None if not measured.

    ``layer`` limits the search to one layer (a Markov run's statistical
    induction head is looked for in the last layer: early in training a
    layer-0 head may score higher by chance).
    """
    best: tuple[int, int, float] | None = None
    for at, heads in enumerate(record.prefix_matching or []):
        if layer is not None and at != layer:
            continue
        for head, score in enumerate(heads):
            if score is not None and math.isfinite(score) and (best is None or score > best[2]):
                best = (at, head, float(score))
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
    blocks: int | None = None,
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
    blocks
        how often the sequence shows its block (see :func:`sample_tokens`); a
        Markov run always shows a whole sequence of T states.
    """
    if config.dataset == MARKOV:
        return markov_scenario(config, weights, step=step, name=name, status=status, records=records)
    tokens = sample_tokens(config, blocks=blocks)
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


def markov_scenario(
    config: TrainConfig,
    weights: Weights,
    *,
    step: int,
    name: str,
    status: str,
    records: Iterable[StepRecord] = (),
) -> Scenario:
    """The scenario of a markov-chains run: k named states, one sampled chain, the statistical induction head.

    The vocabulary is the k states, with no start token (``bos`` None), as the
    model was trained; the sequence and ``view.markov_chain`` come from
    :func:`sample_chain`; the focus is the last layer's head with the highest
    statistical-induction score (attention to positions whose previous state is
    the current one) at the last position, where the most counts are in view.
    """
    from .training_session import phase_changes  # the session imports the run writer, which imports this module

    tokens, transitions = sample_chain(config)  # [pos], [k, k]
    last_layer = config.n_layers - 1
    view: dict[str, object] = {
        "layer": last_layer, "head": 0, "query_pos": len(tokens) - 1, MARKOV_CHAIN_KEY: as_chain(transitions),
    }
    records = [r for r in records if r.step <= step]
    measured = [r for r in records if best_head(r, layer=last_layer) is not None]
    if measured:
        layer, head, _ = best_head(measured[-1], layer=last_layer)  # type: ignore[misc]
        view.update(layer=layer, head=head)
    phases = phase_changes(records)
    if "bigram" in phases:
        phase = (f"its predictions were nearest the in-context unigram estimate from step {phases['unigram']} and "
                 f"nearest the in-context bigram estimate from step {phases['bigram']}")
    elif "unigram" in phases:
        phase = f"its predictions were nearest the in-context unigram estimate from step {phases['unigram']} on"
    else:
        phase = "its predictions have not yet come nearest the in-context unigram or bigram estimate"
    names = state_vocabulary(config.k)
    return Scenario(
        title=f"{name}: step {step}",
        description=f"Trained run '{name}' at step {step} ({status}; in-context Markov chains on {config.k} states)",
        notes=(
            f"Weights of the training run '{name}' at step {step} of {config.steps} ({status}); {phase}.\n"
            f"Trained with seed {config.seed}, learning rate {config.lr}, batch size {config.batch_size} on "
            f"sequences of {config.n_ctx} states, each from its own random Markov chain (rows Dirichlet(α·1), "
            f"α = {config.alpha:g}{', doubly stochastic' if config.no_unigram else ''}): a model predicts well "
            "only by counting, in the context, what followed the current state before.\n"
            f"The sequence is {len(tokens)} states of one such chain on the states {', '.join(names)}, drawn with "
            "the run's seed (the last position of the context is left out: its prediction is never trained); "
            "its true transition matrix is the Markov chain of the sequence panel. There is no start token."
        ),
        vocab=names,
        tokens=tokens,
        weights=weights,
        bos=None,
        seed=config.seed,
        view=view,
        attn_scale=weights.attn_scale,
    )
