"""Counting: one sequence over k Markov states, the model's next-state prediction beside the counts.

A statistical induction head (Edelman et al., NeurIPS 2024) predicts the next
state of an in-context Markov chain by counting: first the states seen so far
(unigram), then the transitions out of the current state (bigram). The
``markov_counting`` entry puts the model's prediction at every position next
to those two estimates, with the counts they come from, so the Counting view
can show them at the focused position and the learner can check the model
against a number they could have counted by hand.

Conventions, the engine's (:mod:`...engine.markov_strategies`), so this view
and the training curves cannot disagree:

- state j is the j-th token id that is not the start token
  (:func:`...model.markov_chain.state_names`); a leading start token is not a
  state, and chain position t is document position t + 1 then;
- at chain position t the context is the states 0..t (the current one
  included): n = t + 1 tokens, c_j counts state j among them, and the
  transitions counted are the pairs (s-1, s) with 1 ≤ s ≤ t;
- the model's probabilities are the softmax over the **whole** vocabulary,
  read at the k state ids and not renormalised: what the model puts on other
  tokens is reported as ``other_mass``. KL(strategy ‖ model) is then the KL of
  two distributions over the whole vocabulary (the strategy puts 0 on the
  other tokens), which for a model whose vocabulary is the k states is exactly
  the training curves' KL; averaged over chain positions t ≥ 1, as they are.

A sequence that is not over the chain's k states is refused with a sentence
naming the first position that is not, never counted by a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...engine.losses import log_softmax
from ...engine.markov import MAX_STATES
from ...engine.markov_strategies import STRATEGIES, bigram_counts, nearest_strategy, reference_strategies, strategy_kls
from ...model.markov_chain import ChainError, check_chain, state_names
from ..registry import NotDefined, entry
from ..sizes import logits_are_slow

if TYPE_CHECKING:
    from ..context import Context

DEFAULT_ALPHA = 1.0  # the Dirichlet prior of the training chains (the default α)
MAKE_ONE = 'Make one with the sequence panel\'s "Markov chain" generator.'


@dataclass(frozen=True)
class CountingAt:
    """Everything the Counting view shows at one position (k = number of states)."""

    position: int  # document position (the query position)
    step: int  # chain position t: the step-th state of the chain part (0 = its first state)
    current: int  # state i at t
    next_state: int | None  # the state at t + 1 in the sequence, None at its end
    model: np.ndarray  # [k] the model's probability of each next state (whole-vocabulary softmax)
    other_mass: float  # the model's probability of every token that is not a state (0 when d_vocab = k)
    unigram: np.ndarray  # [k] (c_j + α) / (n + kα)
    bigram: np.ndarray  # [k] (c_{i→j} + α) / (c_i + kα)
    seen: int  # n = t + 1, the tokens in the context
    unigram_counts: np.ndarray  # [k] c_j: state j among the n tokens
    bigram_counts: np.ndarray  # [k] c_{i→j}: transitions out of the current state i
    out_of_current: int  # c_i = Σ_j c_{i→j}: earlier occurrences of i that have a successor
    transition_counts: np.ndarray  # [k, k] every transition counted so far (rows: from, columns: to)
    bigram_matrix: np.ndarray  # [k, k] (C + α) / (C·1 + kα), row-wise: the bigram estimate of every row


@dataclass(frozen=True)
class Counting:
    """The chain part of one sequence and every number the Counting view reads, at every position."""

    k: int
    alpha: float
    names: tuple[str, ...]  # [k] the token each state stands for
    state_ids: tuple[int, ...]  # [k] the token id of each state
    offset: int  # 1 if a start token leads the sequence (it is not a state), else 0
    states: np.ndarray  # [T] int64 the chain part as state indices 0..k-1
    chain: np.ndarray  # [k, k] the true transition matrix (the scenario's view.markov_chain)
    model: np.ndarray  # [T, k] the model's next-state probabilities
    other_mass: np.ndarray  # [T] the model's probability on tokens that are not states
    unigram: np.ndarray  # [T, k]
    bigram: np.ndarray  # [T, k]
    unigram_counts: np.ndarray  # [T, k] c_j over the states 0..t
    transitions: np.ndarray  # [T, k, k] transitions (s-1, s) with 1 ≤ s ≤ t
    bigram_counts: np.ndarray  # [T, k] c_{i→j} with i the state at t: the engine's counts, row i of transitions
    kl: dict[str, float]  # strategy name -> mean KL(strategy ‖ model) over t ≥ 1; empty below two states
    nearest: str | None  # the strategy with the smallest KL (None without a KL)
    d_vocab: int

    def at(self, position: int) -> CountingAt | None:
        """The numbers at document position ``position``; None at the leading start token (nothing counted)."""
        t = position - self.offset
        if not 0 <= t < self.states.size:
            return None
        i = int(self.states[t])
        counts = self.transitions[t]  # [k, k]
        row = self.bigram_counts[t]  # [k]
        return CountingAt(
            position=position, step=t, current=i,
            next_state=int(self.states[t + 1]) if t + 1 < self.states.size else None,
            model=self.model[t], other_mass=float(self.other_mass[t]),
            unigram=self.unigram[t], bigram=self.bigram[t],
            seen=t + 1, unigram_counts=self.unigram_counts[t].astype(np.int64),
            bigram_counts=row.astype(np.int64), out_of_current=int(row.sum()),
            transition_counts=counts.astype(np.int64),
            bigram_matrix=(counts + self.alpha) / (counts.sum(axis=1, keepdims=True) + self.k * self.alpha),
        )


def chain_states(tokens: np.ndarray, vocab: Sequence[str], bos: int | None, d_vocab: int,
                 k: int) -> tuple[np.ndarray, tuple[int, ...], int]:
    """``(states [T], state ids [k], offset)``: the sequence read as states, or :class:`NotDefined` saying why not.

    A start token may lead the sequence (offset 1); anywhere else it, and any
    token beyond the first k non-start ids, is refused by position and token.
    """
    all_ids = [i for i in range(d_vocab) if i != bos]
    ids = all_ids[:k]  # state j -> token id
    if len(ids) < k:
        raise NotDefined(f"the scenario's Markov chain has {k} states, but the model has only {len(ids)} token "
                         f"ids besides the start token. Set fewer states in the \"Markov chain\" generator.")
    offset = 1 if bos is not None and tokens.size and int(tokens[0]) == bos else 0
    if tokens.size <= offset:
        raise NotDefined(f"the sequence has no token after the start token, so there is nothing to count. {MAKE_ONE}")
    index = np.full(max(d_vocab, int(tokens.max()) + 1), -1, dtype=np.int64)  # token id -> state, -1: not a state
    index[ids] = np.arange(k)
    states = index[tokens[offset:]]  # [T]
    bad = np.flatnonzero(states < 0)
    if bad.size:
        p = int(bad[0]) + offset
        token = int(tokens[p])
        word = f"“{vocab[token]}”" if token < len(vocab) else f"id {token}"
        names = ", ".join(state_names(vocab, bos, k))
        what = ("the start token in the middle of the sequence" if token == bos
                else f"{word}, which is not one of the chain's {k} states ({names})")
        more = ""
        if token != bos and token in all_ids[k:MAX_STATES]:  # a state of a larger chain: generated with more states?
            more = (f" If it was generated with more states: the chain saved with the scenario has {k}, and the "
                    "generator resized it without saving it; edit or randomize the chain at that size to count "
                    "over it.")
        raise NotDefined(f"the sequence is not over the {k} states of the scenario's Markov chain: position {p} "
                         f"holds {what}. {MAKE_ONE}{more}")
    return states, tuple(ids), offset


@entry("markov_counting", inputs=("forward",), cost=logits_are_slow)
def markov_counting(ctx: Context, chain: tuple[tuple[float, ...], ...], alpha: float = DEFAULT_ALPHA) -> Counting:
    """The model's next-state prediction beside the in-context unigram and bigram estimates and their counts.

    Parameters
    ----------
    chain
        the true transition matrix [k][k] (the scenario's ``view.markov_chain``,
        as a tuple of tuples so the analysis can key its memo on it); k is its size.
    alpha
        the Dirichlet prior α of both estimates.
    """
    try:
        true_chain = np.asarray(check_chain([list(row) for row in chain]), dtype=np.float64)  # [k, k]
    except ChainError as exc:
        raise NotDefined(f"the scenario's Markov chain cannot be used: {exc}") from None
    if not (np.isfinite(alpha) and alpha > 0):
        raise NotDefined(f"the prior α must be a positive number, got {alpha}")
    k = true_chain.shape[0]
    results = ctx.results  # the tokens the logits were computed on (they may lag the document by a frame)
    tokens = np.asarray(results.tokens, dtype=np.int64)  # [pos]
    vocab, bos = ctx.state.vocab, ctx.state.bos
    d_vocab = ctx.config.d_vocab
    states, ids, offset = chain_states(tokens, vocab, bos, d_vocab, k)  # [T]
    log_probs = log_softmax(results.logits[offset:])  # [T, d_vocab] float64, whole vocabulary
    on_states = log_probs[:, list(ids)]  # [T, k]
    model = np.exp(on_states)  # [T, k]
    with np.errstate(invalid="ignore"):
        other = np.clip(1.0 - model.sum(axis=-1), 0.0, 1.0) if d_vocab > k else np.zeros(states.size)  # [T]
    strategies = reference_strategies(states[None], k, alpha)  # name -> [1, T, k]
    one_hot = np.eye(k)[states]  # [T, k]
    pairs = np.zeros((states.size, k, k))  # [T, k, k]: pairs[s] = the transition s-1 → s (none at s = 0)
    pairs[np.arange(1, states.size), states[:-1], states[1:]] = 1.0
    kl: dict[str, float] = {}
    if states.size >= 2:  # KL over t ≥ 1: the curves skip t = 0, where nothing has been counted
        kl = strategy_kls(states[None], on_states[None], k, alpha)
    return Counting(
        k=k, alpha=float(alpha), names=tuple(state_names(vocab, bos, k)), state_ids=ids, offset=offset,
        states=states, chain=true_chain, model=model, other_mass=other,
        unigram=strategies["unigram"][0], bigram=strategies["bigram"][0],
        unigram_counts=np.cumsum(one_hot, axis=0),  # [T, k]
        transitions=np.cumsum(pairs, axis=0),  # [T, k, k]
        bigram_counts=bigram_counts(states[None], k)[0],  # [T, k]
        kl=kl, nearest=nearest_strategy(kl) if kl and not all(np.isnan(v) for v in kl.values()) else None,
        d_vocab=d_vocab,
    )


def chain_param(chain: Sequence[Sequence[float]]) -> tuple[tuple[float, ...], ...]:
    """A chain as the entry's hashable ``chain`` parameter."""
    return tuple(tuple(float(x) for x in row) for row in chain)


__all__ = ["Counting", "CountingAt", "DEFAULT_ALPHA", "STRATEGIES", "chain_param", "chain_states", "markov_counting"]
