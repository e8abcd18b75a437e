"""Evaluating lesson checks: whether the learner's document satisfies a task, in a sentence.

The check kinds and their validation are declared in
:mod:`induction_gui.model.lesson_checks`; here each kind gets its evaluator,
which reads the scenario and the analysis's entries (the patterns and scores
the views draw), so a task says "done" exactly when the screen shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..model.lesson_checks import CHECK_KINDS, CheckResult, resolve_position
from ..model.markov_chain import stored_chain
from .analysis import Analysis, Pending

HeadEvaluator = Callable[[Mapping[str, Any], Analysis, int, int, str], CheckResult]


def _on_head(evaluate: HeadEvaluator) -> Callable[[Mapping[str, Any], Analysis], CheckResult]:
    """An evaluator of a check that names a head: a head this model lacks is "not yet", with the reason.

    ``evaluate(check, analysis, layer, head, name)`` gets the head's indices and its name ("L1H0").
    """

    def evaluator(check: Mapping[str, Any], analysis: Analysis) -> CheckResult:
        cfg = analysis.scenario.weights.config
        layer, head = int(check["layer"]), int(check["head"])
        if not (0 <= layer < cfg.n_layers and 0 <= head < cfg.n_heads):
            return CheckResult(False, f"this model has no head L{layer}H{head}")
        return evaluate(check, analysis, layer, head, f"L{layer}H{head}")

    evaluator.__doc__ = evaluate.__doc__
    return evaluator


def _in_bounds(value: float, check: Mapping[str, Any]) -> tuple[bool, str]:
    parts = []
    ok = bool(np.isfinite(value))
    if "min" in check:
        ok = ok and value >= check["min"]
        parts.append(f"≥ {check['min']:g}")
    if "max" in check:
        ok = ok and value <= check["max"]
        parts.append(f"≤ {check['max']:g}")
    return ok, " and ".join(parts)


@_on_head
def _eval_attention(check: Mapping[str, Any], analysis: Analysis, layer: int, h: int, name: str) -> CheckResult:
    s = analysis.scenario
    q, why = resolve_position(check["query"], s.tokens, s.vocab)
    if q is None:
        return CheckResult(False, why)
    k, why = resolve_position(check["key"], s.tokens, s.vocab)
    if k is None:
        return CheckResult(False, why)
    value = float(analysis.results.pattern(layer, h)[q, k])
    ok, want = _in_bounds(value, check)
    return CheckResult(ok, f"{name} attends {value:.2f} from position {q} to position {k} (want {want})")


@_on_head
def _eval_score(check: Mapping[str, Any], analysis: Analysis, layer: int, h: int, name: str) -> CheckResult:
    measure, exclude_bos = check.get("measure", "mul"), bool(check.get("exclude_bos", False))
    value = float(analysis.get("detector", pattern=check["detector"], measure=measure, exclude_bos=exclude_bos)[layer, h])
    ok, want = _in_bounds(value, check)
    label = check["detector"].replace("_", " ")
    return CheckResult(ok, f"{name} {label} score is {value:.2f} (want {want})")


@_on_head
def _eval_ablated(check: Mapping[str, Any], analysis: Analysis, layer: int, h: int, name: str) -> CheckResult:
    ablation = analysis.override((layer, h)).ablation
    want = check.get("ablation", "any")
    if ablation is None:
        return CheckResult(False, f"{name} is not ablated")
    if want != "any" and ablation != want:
        return CheckResult(False, f"{name} is {ablation}-ablated (want {want}-ablation)")
    return CheckResult(True, f"{name} is {ablation}-ablated")


@_on_head
def _eval_key_shift(check: Mapping[str, Any], analysis: Analysis, layer: int, h: int, name: str) -> CheckResult:
    shift = analysis.override((layer, h)).key_shift
    return CheckResult(shift == check["equals"], f"{name} key shift is {shift} (want {check['equals']})")


def _eval_prediction_wrong(check: Mapping[str, Any], analysis: Analysis) -> CheckResult:
    """Top-1 prediction differs from the actual next token, at a repeated token (or a given position).

    With ``copied`` the wrong guess must be a token that followed an earlier
    occurrence of the current one: the induction head did its job and the
    sequence, not the circuit, made it wrong.
    """
    s = analysis.scenario
    tokens = s.tokens
    n = int(tokens.size)
    if check["at"] == "repeat":
        positions = [i for i in range(1, n - 1) if (tokens[:i] == tokens[i]).any()]
        if not positions:
            return CheckResult(False, "no token repeats before the last position")
    else:
        pos, why = resolve_position(check["at"], tokens, s.vocab)
        if pos is None:
            return CheckResult(False, why)
        if pos >= n - 1:
            return CheckResult(False, f"position {pos} is the last one: there is no next token to get wrong")
        positions = [pos]
    top = analysis.get("top_k", k=1)  # [pos, 1] the top-1 prediction the Predictions view shows
    if isinstance(top, Pending):  # a large model's logits are still being computed
        return CheckResult(False, f"the predictions are not ready yet ({top})")
    guesses = top[:, 0]  # [pos]
    copied = bool(check.get("copied", False))
    for i in positions:
        guess = int(guesses[i])
        if guess == int(tokens[i + 1]):
            continue
        followers = {int(tokens[j + 1]) for j in np.flatnonzero(tokens[:i] == tokens[i])}
        if copied and guess not in followers:
            continue
        return CheckResult(
            True,
            f"at position {i} ({s.vocab[tokens[i]]}) the model predicts {s.vocab[guess]}, "
            f"but {s.vocab[tokens[i + 1]]} comes next",
        )
    what = "copied a wrong token" if copied else "predicts wrongly"
    return CheckResult(False, f"the model never {what} at the {len(positions)} position(s) checked")


def _eval_follows(check: Mapping[str, Any], analysis: Analysis) -> CheckResult:
    """The chain sends a state to one next state (≥ ``chain_min``); at the state's last place the model predicts it.

    The chain is the scenario's own (``view.markov_chain``, what the Markov
    chain editor shows); state j is the j-th token that is not the start
    token, as the generator draws them. The model is read at the *last*
    occurrence of the state, where the context holds the most counts of what
    followed it: a statistical induction head predicts from those counts, so
    the check is met only once the sequence was drawn from the edited chain.
    Without ``next`` the follower must be another state than the state itself.
    """
    s = analysis.scenario
    chain = np.array(stored_chain(s.view))  # [k, k]
    k = len(chain)
    ids = [i for i in range(len(s.vocab)) if i != s.bos][:k]  # [k]: the token id of each state
    if len(ids) < k:
        return CheckResult(False, f"the vocabulary has fewer tokens than the chain's {k} states")
    names = [s.vocab[i] for i in ids]
    for key in ("state", "next"):
        if key in check and check[key] not in names:
            return CheckResult(False, f"the chain has no state {check[key]!r} (its states are {', '.join(names)})")
    rows = [names.index(check["state"])] if "state" in check else list(range(k))
    pairs = [(i, j) for i in rows
             for j in ([names.index(check["next"])] if "next" in check else [j for j in range(k) if j != i])]
    strong = [(i, j) for i, j in pairs if chain[i, j] >= check["chain_min"]]
    if not strong:
        i, j = max(pairs, key=lambda ij: chain[ij])
        return CheckResult(False, f"in the Markov chain no state goes on to {'that' if 'next' in check else 'another'} "
                                  f"state with probability ≥ {check['chain_min']:g} (the most: {names[i]} → "
                                  f"{names[j]}, {chain[i, j]:.2f})")
    results = analysis.get("logits")
    if isinstance(results, Pending):  # a large model's logits are still being computed
        return CheckResult(False, f"the predictions are not ready yet ({results})")
    probs = results.probs  # [pos, d_vocab]
    details = []
    for i, j in strong:
        where = np.flatnonzero(s.tokens == ids[i])  # positions of state i
        if where.size == 0:
            details.append(f"the chain sends {names[i]} to {names[j]}, but the sequence has no {names[i]}: "
                           "generate a sequence from the chain")
            continue
        pos = int(where[-1])
        p = float(probs[pos, ids[j]])
        detail = (f"the chain sends {names[i]} to {names[j]} with probability {chain[i, j]:.2f}; at the last "
                  f"{names[i]} (position {pos}) the model predicts {names[j]} next with {p:.2f} "
                  f"(want ≥ {check['min']:g})")
        if p >= check["min"]:
            return CheckResult(True, detail)
        details.append(detail)
    return CheckResult(False, details[0])


def _eval_all(check: Mapping[str, Any], analysis: Analysis) -> CheckResult:
    results = [evaluate(sub, analysis) for sub in check["of"]]
    for r in results:
        if not r.met:
            return CheckResult(False, r.detail)
    return CheckResult(True, "; ".join(r.detail for r in results))


# kind -> evaluator on a live analysis (one for every kind the lesson format declares)
EVALUATORS: dict[str, Callable[[Mapping[str, Any], Analysis], CheckResult]] = {
    "attention": _eval_attention,
    "score": _eval_score,
    "ablated": _eval_ablated,
    "prediction_wrong": _eval_prediction_wrong,
    "key_shift": _eval_key_shift,
    "follows": _eval_follows,
    "all": _eval_all,
}
assert set(EVALUATORS) == set(CHECK_KINDS), "every check kind needs an evaluator"


def evaluate(check: Mapping[str, Any], analysis: Analysis) -> CheckResult:
    """Whether the analysis's document (its scenario and results) satisfies ``check`` now.

    Never raises for a valid check: a missing token or head is "not yet" with a reason.
    """
    analysis.results  # noqa: B018 - a stale forward pass is brought up to date first, so every entry agrees
    return EVALUATORS[check["kind"]](check, analysis)
