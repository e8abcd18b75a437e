"""What every head score means, worded once for the window and for ``metrics.json``.

A score is only comparable if the learner knows which variant of its metric it
is (``mul`` or ``abs``, ``exclude_bos``, which loss columns). The report
(:mod:`induction_gui.analysis.report`) writes these labels into ``metrics.json``
and the dashboard and circuits view print the same ones beside their numbers,
so the window and the export cannot disagree about what a number is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricLabel:
    """What a number measures and the exact variant of the metric behind it."""

    description: str  # what the number measures, in words
    variant: str  # its exact definition: formula, exclusions, indices

    def tooltip(self) -> str:
        """Both lines, as a column header's tooltip shows them."""
        return f"{self.description}\nvariant: {self.variant}"


# -- TransformerLens head detectors -------------------------------------------------------------

DETECTOR_DESCRIPTIONS: dict[str, str] = {
    "previous_token_head": "attention from position i to i-1 (a sub-diagonal stripe)",
    "duplicate_token_head": "attention to earlier occurrences of the current token",
    "induction_head": "attention to the token after an earlier occurrence of the current token",
}
PREFIX_MATCHING_DESCRIPTION = "prefix-matching score: the induction detector as Olsson et al. use it"


def detector_variant(pattern: str, measure: str, exclude_bos: bool) -> str:
    """The variant of a head-detector score (``pattern`` may be a placeholder in a caption)."""
    return (f"TransformerLens detect_head: {pattern}, error_measure={measure}, "
            f"exclude_bos={exclude_bos}, exclude_current_token=False")


def detector(pattern: str, measure: str, exclude_bos: bool) -> MetricLabel:
    """One of :data:`DETECTOR_DESCRIPTIONS`' detectors in one variant."""
    return MetricLabel(DETECTOR_DESCRIPTIONS[pattern], detector_variant(pattern, measure, exclude_bos))


# -- single-sequence stripe scores ---------------------------------------------------------------

STRIPE_PREVIOUS_TOKEN = MetricLabel("mean attention from i to i-1", "mean(diag(A, -1))")
STRIPE_CURRENT_TOKEN = MetricLabel("mean attention of a position to itself", "mean(diag(A))")
STRIPE_FIRST_TOKEN = MetricLabel("mean attention to position 0 (resting on the start token)", "mean(A[:, 0])")


def stripe_induction(n_block: int) -> MetricLabel:
    """The induction stripe of ``[BOS, r1..rN, r1..rN]`` with N = ``n_block``."""
    return MetricLabel(
        "mean attention on the induction stripe of a repeated sequence",
        f"mean(diag(A, offset=1-N)) with N={n_block} on [BOS, r, r]; a perfect head resting on BOS "
        f"scores (N+1)/(N+2) = {(n_block + 1) / (n_block + 2):.3f}",
    )


# -- weight-only circuit scores ------------------------------------------------------------------

COPYING_OV = MetricLabel(
    "how much the OV circuit copies: Re(sum of eigenvalues) / sum of |eigenvalues|, in [-1, 1]",
    "eigenvalues of W_O W_V [d_head, d_head]",
)
COPYING_FULL_OV = MetricLabel(
    "copying score of the full OV circuit (token in, logit out)",
    "eigenvalues of W_O W_U W_E W_V [d_head, d_head]",
)
FULL_OV_TOP1 = MetricLabel(
    "fraction of source tokens whose own logit is the largest the head writes",
    "mean_i[argmax_j (W_E W_V W_O W_U)[i, j] == i]",
)
COMPOSITION_FORMULA = "||L R||_F / (||L||_F ||R||_F), zero unless layer of the first head is lower"


def composition(mode: str, mean: float, std: float, samples: int, d_model: int, d_head: int,
                seed: int) -> MetricLabel:
    """``mode``-composition scores, with the random baseline they are to be read against."""
    return MetricLabel(
        f"{mode}-composition of an earlier head's output into a later head (Elhage et al. 2021)",
        f"{COMPOSITION_FORMULA}; random baseline {mean:.3f} ± {std:.3f} "
        f"({samples} samples, d_model {d_model}, d_head {d_head}, seed {seed})",
    )


def composition_baseline(samples: int, seed: int) -> MetricLabel:
    """The composition score of random heads: [mean, std]."""
    return MetricLabel(
        "composition score of random heads of the same sizes: [mean, std]",
        f"{samples} seeded samples of random rank-d_head products (seed {seed})",
    )


# -- loss ------------------------------------------------------------------------------------------

LOSS_PER_TOKEN = MetricLabel("cross-entropy of the prediction at position i for token i+1", "natural log, nats")
LOSS_MEAN = MetricLabel("mean per-token loss", "natural log, nats")


def repeated_span(n_block: int) -> str:
    """``[BOS, r1..rN, r1..rN]`` written out for N = ``n_block``."""
    return f"[BOS, r1..r{n_block}, r1..r{n_block}]"


def loss_first_half(n_block: int) -> MetricLabel:
    """Mean loss on the first occurrence of the repeated block."""
    return MetricLabel("mean loss on the first occurrence (unpredictable)",
                       f"loss columns 0..{n_block - 1} of {repeated_span(n_block)}")


def loss_repeat_half(n_block: int) -> MetricLabel:
    """Mean loss on the repeat of the block."""
    return MetricLabel("mean loss on the repeat (predictable by induction)",
                       f"loss columns {n_block}..{2 * n_block - 1} of {repeated_span(n_block)}")


def icl(variant_label: str) -> MetricLabel:
    """The in-context-learning score; ``variant_label`` names the loss columns it compares."""
    return MetricLabel(
        "in-context learning score: late loss minus early loss (more negative = more in-context learning)",
        variant_label,
    )


# -- attribution and ablation ----------------------------------------------------------------------

ATTRIBUTION_DIRECT = MetricLabel(
    "contribution of the embeddings (direct path) to the correct next token's logit",
    "W_U[:, t_{i+1}] · (embed_i + pos_embed_i)",
)
ATTRIBUTION_HEADS = MetricLabel(
    "each head's contribution to the correct next token's logit",
    "W_U[:, t_{i+1}] · result^{l,h}_i (direct effect only)",
)


def ablation_loss_change(base_loss: float) -> MetricLabel:
    """What zero-ablating a head does to the mean loss."""
    return MetricLabel("change of mean loss when the head's output is zero-ablated",
                       f"zero ablation of z; base loss {base_loss:.4f}")


def ablation_induction_change(induction_variant: str) -> MetricLabel:
    """What zero-ablating a head does to every head's induction score (of ``induction_variant``)."""
    return MetricLabel("change of each later head's induction score when a head is zero-ablated",
                       induction_variant)
