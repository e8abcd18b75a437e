"""What the sequence panel's edits mean for a scenario, without Qt: typed text and test-sequence generators.

Typed text becomes tokens only if every word is in the vocabulary and the
sequence fits the model's context; otherwise :func:`parse_sequence` says why in
one sentence for the learner. A scenario opened from a model folder with a
``tokenizer.json`` tokenizes with it instead (start token first, as
TransformerLens prepends it) and shows its tokens as that tokenizer decodes
them. Each generator of :data:`GENERATORS` fits the engine's seeded test
sequences (:mod:`induction_gui.engine.sequences`) to the scenario's model (its
n_ctx, d_vocab and start token), or raises :class:`CannotGenerate` saying what
does not fit. Words a sequence needs and the vocabulary lacks are added by
:class:`VocabEdit` (the model grows with them).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..engine import sequences
from ..engine.sequences import GeneratedSequence as GeneratedSequence  # what a generator returns, named here
from ..engine.sequences import UnknownTokenError, split_tokens
from ..engine.vocab_edit import extend_vocab, missing_words, translate_tokens
from ..engine.weights import Weights
from .markov_chain import chain_for, state_names
from .generator_schema import SEED_MAX, GeneratorParam, ModelLimits, check_params, params_of
from .scenario import Scenario
from .tokenizer import HFTokenizer

# -- parsing typed text ------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    """What typed text means for the model: tokens to apply, or why not."""

    tokens: np.ndarray | None  # int64 [pos] when the text can be applied
    unknown: tuple[str, ...] = ()  # words (or characters) the vocabulary lacks
    problem: str = ""  # one sentence for the learner; empty when the text applies
    too_long: bool = False  # more tokens than n_ctx (adding words would not help)


def parse_sequence(text: str, scenario: Scenario) -> Parsed:
    """Tokenize ``text`` as the scenario does and check it fits the model's context."""
    if scenario.hf_tokenizer is not None:
        return _checked(scenario.hf_tokenizer.encode(text), scenario)  # byte-level BPE: no unknown words
    n_ctx = scenario.weights.config.n_ctx
    try:
        tokens = sequences.tokenize(text, scenario.vocab, scenario.tokenizer)  # [pos]
    except UnknownTokenError as exc:
        kind = "words" if scenario.tokenizer == "words" else "characters"
        names = ", ".join(repr(u) for u in exc.unknown)
        problem = f"Unknown {kind}: {names}. They are not in the vocabulary, so the sequence is not applied."
        n = sequences.tokenize(text, [*scenario.vocab, *exc.unknown], scenario.tokenizer).size
        if n > n_ctx:
            problem += f" It also has {n} tokens but the model's context n_ctx is {n_ctx}."
        return Parsed(None, exc.unknown, problem, too_long=n > n_ctx)
    return _checked(tokens, scenario)


def _checked(tokens: np.ndarray, scenario: Scenario) -> Parsed:
    """Tokens [pos] to apply, or why not: none at all, more than n_ctx, or an id the model lacks."""
    n_ctx, d_vocab = scenario.weights.config.n_ctx, scenario.weights.config.d_vocab
    if tokens.size == 0:
        return Parsed(None, (), "No tokens: the sequence is refused. Type at least one token.")
    if tokens.size > n_ctx:
        problem = f"{tokens.size} tokens but the model's context n_ctx is {n_ctx} — the sequence is refused."
        return Parsed(None, (), problem, too_long=True)
    outside = tokens[tokens >= d_vocab]
    if outside.size:  # a tokenizer larger than the model's embedding
        problem = (f"The tokenizer gives id {int(outside[0])}, outside the model's vocabulary 0..{d_vocab - 1} "
                   "— the sequence is refused.")
        return Parsed(None, (), problem)
    return Parsed(tokens)


def sequence_text(scenario: Scenario) -> str:
    """The scenario's tokens as the text that means them (its tokenizer's spacing, or its own decoding)."""
    if scenario.hf_tokenizer is not None:
        return scenario.hf_tokenizer.decode(scenario.tokens)  # the start token, prepended on typing, left out
    return sequences.detokenize(scenario.tokens, scenario.vocab, scenario.tokenizer)


# -- adding words to the vocabulary ----------------------------------------------------------------


@dataclass(frozen=True)
class VocabEdit:
    """A vocabulary with new words at its end, the weights grown to match, and the tokens to show."""

    words: tuple[str, ...]  # the words added, in order (their ids are the old d_vocab ..)
    vocab: list[str]
    weights: Weights  # W_E, W_U and b_U one entry longer per new word; other parameters as they were
    tokens: np.ndarray  # int64 [pos]


def _extended(scenario: Scenario, words: tuple[str, ...]) -> tuple[list[str], Weights]:
    return extend_vocab(scenario.vocab, scenario.weights, words, seed=scenario.seed)


def add_typed_words(text: str, scenario: Scenario) -> VocabEdit | None:
    """Add the words of ``text`` the vocabulary lacks, and tokenize ``text`` with them.

    None when nothing is missing, or when the text would still not fit the
    model's context (:func:`parse_sequence` says so to the learner).
    """
    unknown = parse_sequence(text, scenario).unknown
    if not unknown:
        return None
    vocab, weights = _extended(scenario, unknown)
    tokens = sequences.tokenize(text, vocab, scenario.tokenizer)  # [pos]
    if tokens.size > weights.config.n_ctx:
        return None
    return VocabEdit(unknown, vocab, weights, tokens)


def add_generated_words(gen: GeneratedSequence, scenario: Scenario) -> VocabEdit | None:
    """Add the words of a generated sentence (``gen.vocab`` is set) the vocabulary lacks; None if none are.

    The edit keeps the scenario's tokens (their ids do not change); the
    generated tokens in the new vocabulary are :func:`generated_tokens`.
    """
    assert gen.vocab is not None
    new_words = tuple(missing_words(scenario.vocab, gen.vocab))
    if not new_words:
        return None
    vocab, weights = _extended(scenario, new_words)
    return VocabEdit(new_words, vocab, weights, scenario.tokens)


def generated_tokens(gen: GeneratedSequence, vocab: list[str]) -> np.ndarray:
    """The generated sequence's tokens as ids of ``vocab``, which holds all of its words: int64 [pos]."""
    if gen.vocab is None:
        return np.asarray(gen.tokens)
    return translate_tokens(gen.tokens, gen.vocab, vocab)


# -- generators ------------------------------------------------------------------------------------


class CannotGenerate(ValueError):
    """A generator request that does not fit the model; the message says why, for the learner."""


def bos_offset(scenario: Scenario) -> int:
    """1 if the scenario's sequences start with a start token, else 0: the positions it takes."""
    return 0 if scenario.bos is None else 1


def _check_fits(scenario: Scenario, need: int, what: str, hint: str = "") -> None:
    n_ctx = scenario.weights.config.n_ctx
    if need > n_ctx:
        raise CannotGenerate(f"{what} needs {need} tokens but the model's context n_ctx is {n_ctx}. {hint}".strip())


def generate_repeated_random(scenario: Scenario, seed: int, *, block: int) -> GeneratedSequence:
    """``[BOS, r1..rN, r1..rN]`` with N = ``block``."""
    off = bos_offset(scenario)
    most = (scenario.weights.config.n_ctx - off) // 2
    _check_fits(scenario, off + 2 * block, f"A repeated block of N = {block}", f"Use N ≤ {most}.")
    return sequences.repeated_random(block, scenario.weights.config.d_vocab, seed=seed, bos=scenario.bos)


def generate_planted_repeat(scenario: Scenario, seed: int, *, length: int, distance: int) -> GeneratedSequence:
    """Random tokens of ``length`` in which A B recurs ``distance`` positions later."""
    _check_fits(scenario, length, f"A planted repeat of length {length}")
    return sequences.planted_repeat(length, distance, scenario.weights.config.d_vocab, seed=seed, bos=scenario.bos)


def generate_no_repeat(scenario: Scenario, seed: int, *, length: int) -> GeneratedSequence:
    """``length`` tokens, none of them twice."""
    _check_fits(scenario, length, f"A sequence of length {length}")
    return sequences.no_repeat(length, scenario.weights.config.d_vocab, seed=seed, bos=scenario.bos)


def generate_ambiguous_prefix(scenario: Scenario, seed: int, *, filler: int) -> GeneratedSequence:
    """A B … A C … A with ``filler`` tokens in each gap."""
    off = bos_offset(scenario)
    _check_fits(scenario, off + 5 + 2 * filler, f"A B … A C … A with {filler} fillers per gap")
    return sequences.ambiguous_prefix(filler, scenario.weights.config.d_vocab, seed=seed, bos=scenario.bos)


def generate_markov_chain(scenario: Scenario, seed: int, *, k: int, length: int) -> GeneratedSequence:
    """``length`` tokens from the scenario's own chain (``view.markov_chain``) on k states.

    The chain is resized to k if it has another size (:func:`.markov_chain.resized`).
    State j is the j-th id besides the start token, which stays first.
    """
    _check_fits(scenario, length, f"A sequence of length {length}")
    chain = np.array(chain_for(scenario.view, k))  # [k, k]
    gen = sequences.markov_chain(chain, length, scenario.weights.config.d_vocab, seed=seed, bos=scenario.bos)
    names = ", ".join(state_names(scenario.vocab, scenario.bos, k))
    return GeneratedSequence(tokens=gen.tokens, description=f"{gen.description} (states {names})",
                             marks=gen.marks)


def generate_beyond_context(scenario: Scenario, seed: int) -> GeneratedSequence:
    """The last n_ctx tokens of A B … A, where the first A B lies further back than n_ctx."""
    cfg = scenario.weights.config
    full = sequences.repeat_beyond_context(cfg.n_ctx, cfg.d_vocab, seed=seed, bos=scenario.bos)
    window = list(full.marks["window"])
    distance = full.marks["second_A"][0] - full.marks["first_A"][0]
    return GeneratedSequence(
        tokens=full.tokens[window],  # [n_ctx]: what the model sees
        description=f"{full.description}. Shown: the last {cfg.n_ctx} tokens, the window the model sees; "
        f"the first A B, {distance} positions back, fell out of the context",
        marks={"second_A": (cfg.n_ctx - 1,)},
    )


def generate_repeated_names(scenario: Scenario, seed: int) -> GeneratedSequence:
    """An English sentence with repeated full names, in its own words (``vocab`` is set).

    A scenario with its model's own tokenizer gets the sentence as that
    tokenizer encodes it instead (no words to add; ``vocab`` is None).
    """
    if scenario.hf_tokenizer is not None:
        gen = _through_tokenizer(sequences.repeated_names_text(seed, bos=None), scenario.hf_tokenizer)
    else:
        bos_word = None if scenario.bos is None else scenario.vocab[scenario.bos]
        gen = sequences.repeated_names_text(seed, bos=bos_word)
    _check_fits(scenario, len(gen.tokens), "This sentence", "Generate with another seed or use a longer-context model.")
    return gen


def _through_tokenizer(gen: GeneratedSequence, tokenizer: HFTokenizer) -> GeneratedSequence:
    """A generated sentence (words mode, no start token) as ``tokenizer`` encodes it.

    Each query word becomes the token that ends it (a name may be several
    byte-pair pieces); its target is the token after that.
    """
    assert gen.text is not None
    word_ends, at = [], 0  # [word]: where each word of the words-mode split ends in the text
    for word in split_tokens(gen.text, "words"):
        at = gen.text.index(word, at) + len(word)
        word_ends.append(at)
    ends = tokenizer.char_ends(gen.text)  # [pos], non-decreasing
    queries = tuple(bisect_left(ends, word_ends[q]) for q in gen.marks.get("query", ()))
    return GeneratedSequence(
        tokens=tokenizer.encode(gen.text),
        description=f"{gen.description} (as the model's own tokenizer splits it)",
        marks={"query": queries, "target": tuple(q + 1 for q in queries)},
        text=gen.text,
    )


@dataclass(frozen=True)
class GeneratorSpec:
    """One entry of the generator menu."""

    key: str
    label: str
    tooltip: str
    # (scenario, seed, **parameters) -> the sequence; raises ValueError (CannotGenerate) when it does not fit
    build: Callable[..., GeneratedSequence]

    @property
    def params(self) -> tuple[GeneratorParam, ...]:
        """Its parameters, with their ranges (:mod:`.generator_schema`, which the form reads too)."""
        return params_of(self.key)

    def generate(self, scenario: Scenario, seed: int, **values: int) -> GeneratedSequence:
        """The sequence for ``values``, checked against the declared ranges first.

        Raises
        ------
        CannotGenerate
            naming the parameter (or the seed, or d_vocab) when the request does not fit the model.
        """
        if not 0 <= seed <= SEED_MAX:
            raise CannotGenerate(f"seed: must be between 0 and {SEED_MAX}, got {seed}")
        problem = check_params(self.key, ModelLimits.of(scenario), values)
        if problem:
            raise CannotGenerate(problem)
        try:
            return self.build(scenario, seed, **values)
        except CannotGenerate:
            raise
        except ValueError as exc:  # the engine refusing this vocabulary ("d_vocab: need at least ...")
            raise CannotGenerate(str(exc)) from None


GENERATORS: tuple[GeneratorSpec, ...] = (
    GeneratorSpec("repeated_random", "Repeated random [BOS, r, r]",
                  "A random block of N tokens, then the same block again: in the second half an induction "
                  "head predicts every next token.", generate_repeated_random),
    GeneratorSpec("planted_repeat", "Planted repeat A B … A",
                  "Random tokens in which the pair A B recurs d positions later: only the second A can be "
                  "predicted (it should predict B).", generate_planted_repeat),
    GeneratorSpec("no_repeat", "No repeat",
                  "No token occurs twice: a counter-example with nothing for an induction head to copy.",
                  generate_no_repeat),
    GeneratorSpec("ambiguous_prefix", "Ambiguous prefix A B … A C … A",
                  "A was followed once by B and once by C: which continuation does the last A predict?",
                  generate_ambiguous_prefix),
    GeneratorSpec("markov_chain", "Markov chain",
                  "Tokens drawn from a k-state Markov chain whose transition matrix you edit: a statistical "
                  "induction head predicts the next token from the counts of what followed the current one.",
                  generate_markov_chain),
    GeneratorSpec("beyond_context", "Repeat beyond n_ctx",
                  "A B, then A again more than n_ctx positions later. Loads the last n_ctx tokens, the window "
                  "the model sees, in which the first A is missing.", generate_beyond_context),
    GeneratorSpec("repeated_names", "Text with repeated names",
                  "An English sentence in which two full names recur; the second first name should predict "
                  "its surname. Adds the sentence's words to the vocabulary if needed (a model with its own "
                  "tokenizer.json reads the sentence through it instead).", generate_repeated_names),
)


def focus_position(gen: GeneratedSequence) -> int:
    """The position a learner should look at first: the repeat the generator planted, else the end."""
    for name in ("second_A", "query"):
        if gen.marks.get(name):
            return gen.marks[name][-1]
    return len(gen.tokens) - 1
