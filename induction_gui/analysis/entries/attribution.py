"""Entries that explain the prediction: direct logit attribution and ablation effects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ... import engine
from ...engine.attribution import logit_attributions as logit_attributions_of
from ..registry import NotDefined, entry

if TYPE_CHECKING:
    from ..context import Context


@entry("logit_attributions", inputs=("forward",))
def logit_attributions(ctx: Context) -> list[engine.LogitAttribution]:
    """Direct logit attribution of every predicting position, computed once per forward pass."""
    cfg = ctx.config
    if cfg.vocab_out != cfg.d_vocab:
        raise NotDefined(f"its {cfg.vocab_out} outputs are not next-token logits (d_vocab_out ≠ d_vocab), "
                         "so there is no correct next token to attribute")
    return logit_attributions_of(ctx.weights, ctx.results.cache, ctx.tokens)


@entry("logit_attribution", inputs=("forward",))
def logit_attribution(ctx: Context, position: int) -> engine.LogitAttribution:
    """The correct next token's logit at ``position`` split into direct path, heads, b_O and b_U."""
    parts = ctx.get("logit_attributions")
    if not isinstance(parts, list):  # not defined for this model: say why, as the list's entry did
        raise NotDefined(getattr(parts, "message", str(parts)))
    n = len(parts)
    if not -n <= position < n:
        raise ValueError(f"position: {position} has no next token to predict (valid 0..{n - 1})")
    return parts[position]


@entry("ablation_effects", inputs=("tokens", "overrides", "weights/*"), cost="slow")
def ablation_effects(ctx: Context, mode: str = "zero") -> Iterator[tuple[int, int]]:
    """Ablate each head in turn: change in mean loss and in every head's induction score.

    One forward pass per head: slow on long sequences, so it runs in a worker
    and a newer edit cancels it.
    """
    yield 0, 1
    effects = engine.ablation_effects(ctx.weights, ctx.tokens, mode=mode, overrides=ctx.overrides)  # type: ignore[arg-type]
    yield 1, 1
    return effects
