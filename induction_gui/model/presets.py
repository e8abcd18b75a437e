"""How the built-in scenarios in ``resources/scenarios/`` are made.

Presets are ordinary scenario files, so a teacher can open one, change it and
save it under another name. They are generated from the engine's hand-built
constructions and seeded sequence generators by :func:`write_presets` (run
``python -m induction_gui.model.presets``); a test regenerates them and checks
the committed files are identical, so a file can never drift from its code.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..engine import constructions, sequences
from ..engine.constructions import Construction
from .scenario import Scenario, save_scenario

SEED = 0


def _from_construction(c: Construction, *, view: dict[str, object] | None = None) -> Scenario:
    return Scenario(
        title=c.title,
        description=c.description,
        notes=c.notes,
        vocab=list(c.vocab),
        tokens=np.array(c.tokens, dtype=np.int64),
        weights=c.weights,
        overrides=dict(c.overrides),
        bos=c.bos,
        seed=SEED,
        view=view or {},
    )


def _circuit_on(
    tokens: np.ndarray, title: str, description: str, notes: str, *, query_pos: int | None = None
) -> Scenario:
    """The hand-built induction circuit on another sequence (a lesson's experiment)."""
    c = constructions.induction_circuit(tokens=tokens)
    view: dict[str, object] = {"layer": 1, "head": 0}
    if query_pos is not None:
        view["query_pos"] = int(query_pos)
    return Scenario(
        title=title,
        description=description,
        notes=notes + "\n\n" + c.notes,
        vocab=list(c.vocab),
        tokens=np.array(tokens, dtype=np.int64),
        weights=c.weights,
        bos=c.bos,
        seed=SEED,
        view=view,
    )


def _d_vocab() -> int:
    return len(constructions.LETTERS) + 1


def lecture_demo() -> Scenario:
    return _from_construction(constructions.build("lecture-demo"), view={"layer": 0, "head": 0})


def previous_token_head() -> Scenario:
    return _from_construction(constructions.build("previous-token-head"), view={"layer": 0, "head": 0})


def induction_circuit() -> Scenario:
    return _from_construction(constructions.build("induction-circuit"), view={"layer": 1, "head": 0, "query_pos": 5})


def duplicate_token_head() -> Scenario:
    return _from_construction(constructions.build("duplicate-token-head"), view={"layer": 0, "head": 0})


def repeated_random() -> Scenario:
    g = sequences.repeated_random(10, _d_vocab(), seed=SEED, bos=0)
    return _circuit_on(
        g.tokens,
        "Repeated random tokens [BOS, r, r]",
        "The induction circuit on ten random tokens repeated: the second half becomes predictable.",
        "The standard test of an induction head: a start token, then random tokens, then the "
        "same tokens again. The first half cannot be predicted; in the second half the "
        "induction head attends to the token after the earlier copy, so the loss drops. The "
        "attention pattern shows the induction stripe, offset one to the right of the "
        "duplicate-token diagonal.",
        query_pos=12,
    )


def no_repeat() -> Scenario:
    g = sequences.no_repeat(12, _d_vocab(), seed=SEED, bos=0)
    return _circuit_on(
        g.tokens,
        "Counter-example: no repeat",
        "No token occurs twice: the induction head has nothing to match and rests on <s>.",
        "A counter-example. With no earlier occurrence of any token, prefix matching finds "
        "nothing; the induction head rests on the start token, which writes nothing, and the "
        "prediction stays uniform. Induction needs a repeat.",
        query_pos=8,
    )


def ambiguous_prefix() -> Scenario:
    g = sequences.ambiguous_prefix(3, _d_vocab(), seed=SEED, bos=0)
    return _circuit_on(
        g.tokens,
        "Counter-example: ambiguous prefix (A B … A C … A → ?)",
        "A was followed by B once and by C once: which does the induction head copy?",
        "A counter-example. The current token occurred twice before with different "
        "continuations. Prefix matching finds both; this hand-built head prefers the most "
        "recent one (a small positional recency bias), so it predicts C. A trained model may "
        "split its attention and its prediction.",
        query_pos=int(g.marks["query"][0]),
    )


def planted_repeat() -> Scenario:
    g = sequences.planted_repeat(20, 12, _d_vocab(), seed=SEED, bos=0)
    return _circuit_on(
        g.tokens,
        "A planted repeat at distance 12",
        "One pair A B recurs twelve tokens later: only the second A can be predicted.",
        "A random sequence in which exactly one token pair A B occurs twice. At the second A "
        "the induction head attends to the B after the first A and predicts B; elsewhere it "
        "has nothing to match.",
        query_pos=int(g.marks["second_A"][0]),
    )


def repeat_beyond_context() -> Scenario:
    g = sequences.repeat_beyond_context(constructions.N_CTX_INDUCTION, _d_vocab(), seed=SEED, bos=0)
    window = np.asarray(g.tokens)[list(g.marks["window"])]  # the n_ctx tokens the model sees
    return _circuit_on(
        window,
        "Counter-example: the repeat is farther back than n_ctx",
        "The first occurrence fell out of the context window, so nothing can be matched.",
        "A counter-example. The sequence repeats, but its first occurrence is farther back "
        "than the model's context (n_ctx positions): the model only sees this window, in "
        "which the token has no earlier copy. Attention cannot reach outside the context.",
    )


def repeated_names() -> Scenario:
    g = sequences.repeated_names_text(SEED)
    assert g.vocab is not None
    n_ctx = max(len(g.tokens), 8)
    c = constructions.induction_circuit(vocab=list(g.vocab), n_ctx=n_ctx, tokens=g.tokens)
    return Scenario(
        title="Repeated names in text",
        description="Natural-ish text in which full names recur: the second first name predicts the surname.",
        notes=(
            "The induction circuit with a vocabulary of English words. At the second "
            "occurrence of a first name, the induction head attends to the surname that "
            "followed it before and predicts it: in-context learning of a name it never saw "
            "in training.\n\n" + c.notes
        ),
        vocab=list(g.vocab),
        tokens=np.array(g.tokens, dtype=np.int64),
        weights=c.weights,
        bos=0,
        seed=SEED,
        view={"layer": 1, "head": 0, "query_pos": int(g.marks["query"][0])},
    )


def build_your_own() -> Scenario:
    """A randomly initialised two-layer model to build the circuit in, from head presets."""
    from ..engine import ModelConfig, Weights

    vocab = [constructions.BOS, *constructions.LETTERS]
    cfg = ModelConfig(n_layers=2, n_heads=2, d_model=64, d_head=16, d_vocab=len(vocab), n_ctx=32)
    g = sequences.repeated_random(10, len(vocab), seed=SEED, bos=0)
    return Scenario(
        title="Build the induction circuit yourself",
        description="Random two-layer weights: make L0H0 a previous-token head and L1H0 an induction head.",
        notes=(
            "A model with random weights (TransformerLens initialisation, seed 0) on a repeated "
            "random sequence. Nothing here is an induction head yet. In the Weights dock, focus "
            "layer 0 head 0 and press 'Previous-token': its pattern becomes a sub-diagonal stripe "
            "(key-query alignment through the positional embeddings). Then focus layer 1 head 0 "
            "and press 'Induction': its keys read what the previous-token head wrote "
            "(K-composition) and the induction stripe appears, the loss on the repeat drops and "
            "the metrics name the heads. Ablate the previous-token head, or shift the keys, and "
            "watch the circuit break."
        ),
        vocab=vocab,
        tokens=np.array(g.tokens, dtype=np.int64),
        weights=Weights.random(cfg, seed=SEED),
        bos=0,
        seed=SEED,
        view={"layer": 0, "head": 0, "query_pos": 12},
    )


TRAINED_RUN = "trained-toy"  # bundled training run in resources/runs/, made by `induction-gui train`


def trained_toy() -> Scenario:
    """The final model of the bundled training run, whose checkpoints the Training panel can scrub."""
    from ..resources import resource_path
    from .training_run import TrainingRun

    run = TrainingRun.open(resource_path("runs", TRAINED_RUN))
    sc = run.scenario()
    sc.title = "Trained toy model (after the phase change)"
    sc.description = (
        f"A 2-layer attention-only model trained here in NumPy; its induction head formed at step {run.formed_at}."
    )
    sc.notes = (
        "This model was trained with `induction-gui train --preset default --steps 400 --checkpoint-every 5`. "
        f"The loss sat on a plateau, then around step {run.formed_at} a previous-token head in layer 0 and an "
        "induction head in layer 1 formed together and the loss on repeated tokens dropped: the phase change "
        "of Olsson et al. (2022). Open the Training panel to scrub through the checkpoints.\n\n" + sc.notes
    ).strip()
    return sc


MARKOV_RUN = "markov-chains"  # bundled run of the markov-chains preset, made by scripts/make_markov_run.py
MARKOV_COMMAND = "induction-gui train --preset markov-chains --steps 1000 --checkpoint-every 20"


def statistical_induction() -> Scenario:
    """The final model of the bundled Markov-chain run: a statistical induction head, on one chain."""
    from ..resources import resource_path
    from .training_run import TrainingRun

    sc = TrainingRun.open(resource_path("runs", MARKOV_RUN)).scenario()
    sc.title = "Statistical induction head (trained on Markov chains)"
    sc.description = (
        "A 2-layer attention-only model trained in NumPy on sequences that each come from their own random "
        "Markov chain: it predicts by counting transitions in the context."
    )
    sc.notes = (
        f"This model was trained with `{MARKOV_COMMAND}` (regenerate with `python scripts/make_markov_run.py`). "
        "Every training sequence came from a different random Markov chain, so no fixed table of next-state "
        "statistics helps: the model must count in the context (Edelman et al., 2024). Training went through "
        "three phases: uniform predictions, then the in-context unigram estimate (how often each state occurred), "
        "then the in-context bigram estimate (how often each state followed the current one). The bigram phase "
        "is carried by a previous-token head in layer 0 and a statistical induction head in layer 1, which attends "
        "to every earlier position whose previous state is the current one. `induction-gui statistical-induction` "
        "(or the course's step “From copying to counting”) opens the run in the Training panel, to scrub through "
        "its checkpoints.\n\n" + sc.notes
    ).strip()
    return sc


PRESETS: dict[str, Callable[[], Scenario]] = {
    "lecture-demo": lecture_demo,
    "previous-token-head": previous_token_head,
    "induction-circuit": induction_circuit,
    "duplicate-token-head": duplicate_token_head,
    "repeated-random": repeated_random,
    "no-repeat": no_repeat,
    "ambiguous-prefix": ambiguous_prefix,
    "planted-repeat": planted_repeat,
    "repeat-beyond-context": repeat_beyond_context,
    "repeated-names": repeated_names,
    "build-your-own": build_your_own,
    TRAINED_RUN: trained_toy,
    "statistical-induction": statistical_induction,
}

# presets that are a bundled run's final model -> that run's folder in resources/runs/ (opened beside them)
BUNDLED_RUNS: dict[str, str] = {TRAINED_RUN: TRAINED_RUN, "statistical-induction": MARKOV_RUN}


def write_presets(folder: Path) -> list[Path]:
    """Generate every preset into ``folder`` as ``<name>.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in PRESETS.items():
        path = folder / f"{name}.json"
        save_scenario(make(), path)
        written.append(path)
    return written


if __name__ == "__main__":  # regenerate the committed presets
    from ..resources import resource_path

    for p in write_presets(Path(resource_path("scenarios"))):
        sys.stdout.write(f"wrote {p.name}\n")
