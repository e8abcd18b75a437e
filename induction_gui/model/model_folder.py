"""The scenario that opens a TransformerLens model folder in the window.

A model folder (config.json + model.safetensors, optionally tokenizer.json)
brings weights but no lesson: the vocabulary is the tokenizer's (its
``model.vocab`` map) or neutral names, and the sequence a short repeated run
of tokens, so an induction head has something to show.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..engine.weights import Weights, WeightsError
from ..engine.weights_io import TOKENIZER_NAME
from .scenario import Scenario, ScenarioError

_DEFAULT_BLOCK = 8  # distinct tokens, shown twice


def is_model_path(path: str | os.PathLike[str]) -> bool:
    """A folder or weights file (as opposed to a scenario file or a preset name)."""
    p = Path(path)
    return p.is_dir() or p.suffix.lower() in (".safetensors", ".npz")


def tokenizer_vocab(path: Path, d_vocab: int) -> list[str]:
    """Token id -> text from ``tokenizer.json``'s ``model.vocab``; ids it lacks (or repeats) get ``tok<id>``."""
    names = [f"tok{i}" for i in range(d_vocab)]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        vocab = data["model"]["vocab"]
        pairs = vocab.items() if isinstance(vocab, dict) else ((t, i) for i, (t, _) in enumerate(vocab))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        return names  # a tokenizer this reader does not understand: neutral names, never a wrong one
    seen = set(names)
    for text, i in pairs:
        if isinstance(text, str) and text and isinstance(i, int) and 0 <= i < d_vocab and text not in seen:
            seen.discard(names[i])
            names[i] = text
            seen.add(text)
    return names


def default_tokens(d_vocab: int, n_ctx: int) -> np.ndarray:
    """A block of distinct tokens, then the same block again: [pos] int64."""
    length = max(1, min(_DEFAULT_BLOCK, d_vocab, n_ctx // 2 or 1))
    block = np.arange(length, dtype=np.int64) + min(1, d_vocab - length)  # skip id 0 (often BOS) if there is room
    return np.concatenate([block, block])[:n_ctx]


def _hf_tokenizer(folder: Path) -> object | None:
    """The folder's tokenizer.json through the tokenizers library, or None (absent or unreadable)."""
    from .tokenizer import load_tokenizer

    try:
        return load_tokenizer(folder)
    except Exception:  # noqa: BLE001 - a tokenizer this library cannot read: the vocabulary's own strings
        return None


def scenario_from_model(path: str | os.PathLike[str]) -> Scenario:
    """A scenario showing the model at ``path`` (a folder or a weights file).

    Raises
    ------
    ScenarioError
        naming the file and, for a model this engine cannot compute exactly, the feature.
    """
    path = Path(path)
    try:
        weights = Weights.load(path)
    except WeightsError as exc:
        raise ScenarioError("", str(exc)) from None
    cfg = weights.config
    folder = path if path.is_dir() else path.parent
    tokenizer = folder / TOKENIZER_NAME
    vocab = tokenizer_vocab(tokenizer, cfg.d_vocab) if tokenizer.is_file() else [f"tok{i}" for i in range(cfg.d_vocab)]
    bos = None
    hf = _hf_tokenizer(folder)
    if hf is not None:  # token strings as the tokenizer decodes them (TransformerLens' to_str_tokens)
        decoded = hf.vocab()
        vocab = decoded[: cfg.d_vocab] + vocab[len(decoded):]
        bos = hf.bos_id if hf.bos_id is not None and hf.bos_id < cfg.d_vocab else None
    tokens = default_tokens(cfg.d_vocab, cfg.n_ctx)
    if bos is not None and hf.prepend_bos:  # [BOS, r, r], as TransformerLens prepends it (default_prepend_bos)
        tokens = np.concatenate([[bos], tokens])[: cfg.n_ctx].astype(np.int64)
    name = path.name if path.is_dir() else path.stem
    norm = cfg.normalization_type or "no normalisation"
    return Scenario(
        title=name,
        description=f"TransformerLens model '{name}'",
        notes=(
            f"Weights from {path.name}: {cfg.n_layers} layers × {cfg.n_heads} heads, d_model {cfg.d_model}, "
            f"{norm}, {cfg.positional_embedding_type} positions. The sequence is a block of tokens shown twice."
        ),
        vocab=vocab,
        tokens=tokens,
        weights=weights,
        bos=bos,
        view={"query_pos": len(tokens) - 1},
        attn_scale=weights.attn_scale,
        hf_tokenizer=hf,  # typed text goes through the folder's own tokenizer
    )
