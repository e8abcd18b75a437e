"""The Scenario object: tokens, weights and settings of one lesson, checked against each other.

Every check names the field by its JSON path in the scenario file (see
:mod:`.scenario` for the format), so an object built in code and a file read
from disk are refused with the same words.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace

import numpy as np

from ..engine.attention import HeadOverride
from ..engine.config import ModelConfig
from ..engine.weights import Weights, WeightsError
from .appearance import SEQUENTIAL_MAPS
from .errors import ScenarioError
from .fields import (
    describe,
    expect_bool,
    expect_choice,
    expect_int,
    expect_number,
    expect_object,
    expect_str,
)
from .limits import MAX_PARAMS, MAX_SEED
from .markov_chain import VIEW_KEY as MARKOV_CHAIN_KEY
from .markov_chain import check_view_chain
from .model_block import parameter_count
from .overrides import HeadKey, check_overrides
from .tokenizer import TOKENIZERS, HFTokenizer, Tokenizer, detokenize


COLORMAPS: tuple[str, ...] = tuple(SEQUENTIAL_MAPS)  # the maps the View menu offers, one list for both
VIEW_FIELDS: tuple[str, ...] = ("layer", "head", "query_pos", "colormap", "show_values", "exclude_bos",
                                 MARKOV_CHAIN_KEY)


@dataclass(eq=False, kw_only=True)
class Scenario:
    """Tokens, weights and settings of one lesson; validated on construction.

    Equality is exact: the same strings, token ids, weight bits (and dtypes),
    overrides and view, which is what a save/load round trip must preserve.
    Call :meth:`validate` after editing fields in place.
    """

    title: str  # one line, shown in the window title
    vocab: list[str]  # token id -> its text; distinct, non-empty
    tokens: np.ndarray  # [pos] int64 token ids
    weights: Weights  # the model, TransformerLens names
    description: str = ""  # one line, listed by `induction-gui presets`
    notes: str = ""  # free text for the lesson
    tokenizer: Tokenizer = "words"  # how typed text becomes tokens
    bos: int | None = None  # id of the start token, if the vocabulary has one
    seed: int = 0  # seeds anything random the lesson does
    overrides: dict[HeadKey, HeadOverride] = field(default_factory=dict)  # (layer, head) -> experiment
    view: dict[str, object] = field(default_factory=dict)  # layer/head/query_pos/colormap/show_values
    attn_scale: float | None = None  # divisor of q·k; None is sqrt(d_head)
    # a model folder's own tokenizer.json, which then tokenizes typed text; not part of the file or of ==
    hf_tokenizer: HFTokenizer | None = None

    def __post_init__(self) -> None:
        d_vocab = self.weights.config.d_vocab if isinstance(self.weights, Weights) else None
        self.tokens = _as_tokens(self.tokens, d_vocab)
        self.validate()
        self.vocab = list(self.vocab)
        self.overrides = dict(self.overrides)
        self.view = dict(self.view)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scenario):
            return NotImplemented
        return (
            (self.title, self.description, self.notes, self.tokenizer, self.bos, self.seed, self.attn_scale)
            == (other.title, other.description, other.notes, other.tokenizer, other.bos, other.seed, other.attn_scale)
            and list(self.vocab) == list(other.vocab)
            and self.tokens.dtype == other.tokens.dtype
            and np.array_equal(self.tokens, other.tokens)
            and self.weights == other.weights
            and self.overrides == other.overrides
            and self.view == other.view
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    @property
    def config(self) -> ModelConfig:
        """The model's sizes, with this scenario's ``attn_scale``."""
        return replace(self.weights.config, attn_scale=self.attn_scale)

    def text(self) -> str | None:
        """The sequence as text in the tokenizer's mode, or None if no text gives exactly these ids."""
        return detokenize(self.tokens, self.vocab, self.tokenizer)

    def copy(self) -> Scenario:
        """A deep copy: editing it never changes this one."""
        return Scenario(
            title=self.title,
            vocab=list(self.vocab),
            tokens=self.tokens.copy(),
            weights=self.weights.copy(),
            description=self.description,
            notes=self.notes,
            tokenizer=self.tokenizer,
            bos=self.bos,
            seed=self.seed,
            # HeadOverride is frozen but its fixed_pattern array is not
            overrides={k: _copy_override(o) for k, o in self.overrides.items()},
            view=dict(self.view),
            attn_scale=self.attn_scale,
            hf_tokenizer=self.hf_tokenizer,  # shared: it is never changed after loading
        )

    def validate(self) -> None:
        """Check every field against the others.

        Raises
        ------
        ScenarioError
            naming the field by its JSON path in the file format.
        """
        expect_str(self.title, "title", one_line=True)
        expect_str(self.description, "description", one_line=True)
        expect_str(self.notes, "notes")
        expect_choice(self.tokenizer, "tokenizer", TOKENIZERS)
        cfg = _check_weights(self.weights)
        check_vocab(self.vocab, cfg.d_vocab)
        _check_tokens(self.tokens, cfg.d_vocab, cfg.n_ctx)
        if self.bos is not None:
            expect_int(self.bos, "bos", lo=0, hi=cfg.d_vocab - 1, what="a token id")
        expect_int(self.seed, "seed", lo=0, hi=MAX_SEED)
        if self.attn_scale is not None:
            expect_number(self.attn_scale, "model.config.attn_scale", positive=True)
        # the engine reads the scale from the weights: keep the two in step
        if isinstance(self.weights, Weights):
            self.weights.attn_scale = self.attn_scale
        n_pos = len(self.tokens)
        check_overrides(
            self.overrides, "overrides", n_layers=cfg.n_layers, n_heads=cfg.n_heads, n_pos=n_pos, n_ctx=cfg.n_ctx
        )
        _check_view(self.view, cfg, n_pos)


def _copy_override(override: HeadOverride) -> HeadOverride:
    if override.fixed_pattern is None:
        return override
    return dataclasses.replace(override, fixed_pattern=override.fixed_pattern.copy())


# -- field checks ---------------------------------------------------------------------
def _as_tokens(value: object, d_vocab: int | None) -> np.ndarray:
    """Token ids as a fresh int64 [pos] array; what is not integral is refused, not rounded."""
    if isinstance(value, list | tuple):
        for i, x in enumerate(value):
            if isinstance(x, np.integer):
                x = int(x)
            if isinstance(x, bool) or not isinstance(x, int):
                raise ScenarioError(f"tokens[{i}]", f"expected an integer token id, got {describe(x)}")
            if not -(2**63) <= x < 2**63:
                top = f"0..{d_vocab - 1}" if d_vocab else ""
                raise ScenarioError(f"tokens[{i}]", f"id {x} is outside the vocabulary {top}".rstrip())
        return np.array(value, dtype=np.int64).reshape(len(value))
    if not isinstance(value, np.ndarray):
        raise ScenarioError("tokens", f"expected a list or array of token ids, got {describe(value)}")
    if value.ndim != 1:
        raise ScenarioError("tokens", f"expected a 1-dimensional sequence, got shape {list(value.shape)}")
    if value.dtype.kind == "u" and value.size and value.max() >= 2**63:
        i = int(np.argmax(value >= 2**63))
        raise ScenarioError(f"tokens[{i}]", f"id {value[i]} is outside the vocabulary")
    if value.dtype.kind not in "iu" and value.size:
        raise ScenarioError("tokens", f"expected integer token ids, got dtype {value.dtype}")
    return value.astype(np.int64)


def _check_weights(weights: object) -> ModelConfig:
    if not isinstance(weights, Weights):
        raise ScenarioError("model.weights", f"expected engine Weights, got {type(weights).__name__}")
    try:
        weights.validate()
    except (WeightsError, KeyError, ValueError) as exc:
        raise ScenarioError("model.weights", str(exc)) from None
    cfg = weights.config
    count = parameter_count(cfg)
    if count > MAX_PARAMS:
        raise ScenarioError("model", f"the model has {count:,} parameters; the limit is {MAX_PARAMS:,}")
    return cfg


def check_vocab(vocab: object, d_vocab: int | None) -> list[str]:
    """Distinct non-empty strings, ``d_vocab`` of them when that is known."""
    if not isinstance(vocab, list | tuple):
        raise ScenarioError("vocab", f"expected a list of strings, got {describe(vocab)}")
    if not vocab:
        raise ScenarioError("vocab", "the vocabulary is empty (expected at least one entry)")
    first: dict[str, int] = {}
    for i, entry in enumerate(vocab):
        expect_str(entry, f"vocab[{i}]", non_empty=True)
        if entry in first:
            raise ScenarioError(f"vocab[{i}]", f"duplicate of vocab[{first[entry]}] ({describe(entry)})")
        first[entry] = i
    if d_vocab is not None and len(vocab) != d_vocab:
        raise ScenarioError("vocab", f"has {len(vocab)} entries but model.config.d_vocab is {d_vocab}")
    return list(vocab)


def _check_tokens(tokens: np.ndarray, d_vocab: int, n_ctx: int) -> None:
    if not tokens.size:
        raise ScenarioError("tokens", "the sequence is empty (expected at least one token)")
    if len(tokens) > n_ctx:
        raise ScenarioError("tokens", f"the sequence has {len(tokens)} tokens but model.config.n_ctx is {n_ctx}")
    bad = (tokens < 0) | (tokens >= d_vocab)
    if bad.any():
        i = int(np.argmax(bad))
        raise ScenarioError(f"tokens[{i}]", f"id {tokens[i]} is outside the vocabulary 0..{d_vocab - 1}")


def _check_view(view: object, cfg: ModelConfig, n_pos: int) -> None:
    obj = expect_object(view, "view", optional=VIEW_FIELDS)
    bounds = {"layer": ("n_layers", cfg.n_layers), "head": ("n_heads", cfg.n_heads), "query_pos": ("tokens", n_pos)}
    for name, (what, count) in bounds.items():
        if name in obj:
            if count == 0:
                raise ScenarioError(f"view.{name}", f"the model has no {what[2:]}")
            expect_int(obj[name], f"view.{name}", lo=0, hi=count - 1)
    if "colormap" in obj:
        expect_choice(obj["colormap"], "view.colormap", COLORMAPS)
    if "show_values" in obj:
        expect_bool(obj["show_values"], "view.show_values")
    if "exclude_bos" in obj:
        expect_bool(obj["exclude_bos"], "view.exclude_bos")
    if MARKOV_CHAIN_KEY in obj:
        check_view_chain(obj[MARKOV_CHAIN_KEY])
