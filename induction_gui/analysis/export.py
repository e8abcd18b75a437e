"""Write everything the window shows to plain files a notebook can open.

``cache.npz`` keeps TransformerLens hook names and the batch dimension, so
``np.load("cache.npz")["blocks.1.attn.hook_pattern"]`` is what a TransformerLens
user expects; ``metrics.json`` labels every number with its variant.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.sequences import tokenize
from .report import build_report
from ..model.scenario import Scenario
from ..model.tokenizer import HFTokenizer


def _atomic_write(path: Path, write: Any, mode: str = "wb") -> None:
    """Write through a temporary file and rename, so a crash never leaves half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, mode, **({"encoding": "utf-8", "newline": ""} if "b" not in mode else {})) as f:
        write(f)
    os.replace(tmp, path)


CSV_MAX_POS = 512  # longer sequences get no per-head CSVs (16 heads at T = 2048 would be ~700 MB of text)
CSV_SKIPPED_NAME = "attention_csv_skipped.txt"


def pattern_csv_name(layer: int, head: int) -> str:
    """File name of one head's attention pattern."""
    return f"attention_L{layer}H{head}.csv"


def _write_pattern_csv(f: Any, pattern: np.ndarray, labels: list[str]) -> None:
    """[query_pos, key_pos] pattern with a header of key labels and a first column of query labels."""
    writer = csv.writer(f)
    writer.writerow(["query \\ key", *labels])
    for label, row in zip(labels, pattern, strict=True):
        writer.writerow([label, *(f"{x:.9g}" for x in row)])


def export_scenario(
    scenario: Scenario,
    out_dir: Path,
    *,
    text: str | None = None,
    source: str = "",
    tokenizer: HFTokenizer | None = None,
) -> list[Path]:
    """Run ``scenario`` (or ``text`` tokenized with its vocabulary) and write the results.

    ``tokenizer`` (a model folder's own, :func:`~induction_gui.model.tokenizer.load_tokenizer`)
    tokenizes ``text`` instead of the scenario's vocabulary; the ids are
    ``scenario.tokens`` in metrics.json either way.

    Writes ``cache.npz``, ``logits.npy``, ``metrics.json`` and one
    ``attention_L{l}H{h}.csv`` per head into ``out_dir`` (created if missing);
    above :data:`CSV_MAX_POS` positions the CSVs are left out and
    ``attention_csv_skipped.txt`` says where the patterns are instead.

    Raises
    ------
    UnknownTokenError
        ``text`` has words outside the vocabulary (all of them are listed).
    TokenError
        the sequence is longer than n_ctx or empty.

    Returns
    -------
    The paths written.
    """
    if text is None:
        tokens = scenario.tokens  # [pos]
    elif tokenizer is not None:
        tokens = tokenizer.encode(text)  # [pos]
    else:
        tokens = tokenize(text, scenario.vocab, scenario.tokenizer)  # [pos]
    logits, cache, report = build_report(
        scenario.weights,
        tokens,
        scenario.overrides,
        vocab=scenario.vocab,
        bos=scenario.bos,
        seed=scenario.seed,
        title=scenario.title,
    )
    report["scenario"]["source"] = source
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def put(name: str, write: Any, mode: str = "wb") -> None:
        path = out_dir / name
        _atomic_write(path, write, mode)
        written.append(path)

    put("cache.npz", lambda f: np.savez_compressed(f, **cache.to_dict()))
    put("logits.npy", lambda f: np.save(f, logits, allow_pickle=False))
    put("metrics.json", lambda f: f.write(json.dumps(report, indent=1, allow_nan=False) + "\n"), "w")
    labels = [f"{i}:{scenario.vocab[t]}" for i, t in enumerate(tokens)]
    cfg = scenario.weights.config
    if len(tokens) > CSV_MAX_POS:
        note = (f"{len(tokens)} positions: more than {CSV_MAX_POS}, so no attention_L*H*.csv was written.\n"
                "Every pattern is in cache.npz: np.load('cache.npz')['blocks.0.attn.hook_pattern'] is "
                "[batch, head_index, query_pos, key_pos].\n")
        put(CSV_SKIPPED_NAME, lambda f: f.write(note), "w")
        return written
    for layer in range(cfg.n_layers):
        pattern = cache["pattern", layer][0]  # [head_index, query_pos, key_pos]
        for head in range(cfg.n_heads):
            put(pattern_csv_name(layer, head), lambda f, p=pattern[head]: _write_pattern_csv(f, p, labels), "w")
    return written
