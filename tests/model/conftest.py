"""Small scenarios and files shared by the scenario tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from induction_gui.engine import HeadOverride, ModelConfig, Weights, shift_matrix
from induction_gui.model import Scenario

BROKEN_DIR = Path(__file__).resolve().parent.parent / "data" / "broken"
# 1 layer, 1 head, d_model 2, d_head 1, d_vocab 3, n_ctx 4: the broken-file corpus base
BASE_FILE = BROKEN_DIR / "valid_base.json"

VOCAB = ["<bos>", "the", "cat", "sat", "on", "mat"]
TINY = ModelConfig(n_layers=2, n_heads=2, d_model=8, d_head=4, d_vocab=len(VOCAB), n_ctx=12)


@pytest.fixture
def base_doc() -> dict[str, object]:
    """A fresh copy of the valid document every broken file spoils in one place."""
    return json.loads(BASE_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def make_scenario() -> Callable[..., Scenario]:
    """Factory for a valid two-layer scenario; keyword arguments replace fields."""

    def make(**changes: object) -> Scenario:
        fields: dict[str, object] = {
            "title": "Induction by hand",
            "description": "Two layers, two heads, a repeated sentence.",
            "notes": "Look at L1H0 on the second 'cat'.\nThen ablate L0H1.",
            "vocab": list(VOCAB),
            "tokens": np.array([0, 1, 2, 3, 4, 5, 1, 2, 3], dtype=np.int64),
            "weights": Weights.random(TINY, seed=3),
            "bos": 0,
            "seed": 42,
            "overrides": {
                (0, 1): HeadOverride(fixed_pattern=shift_matrix(10), normalization="linear"),
                (1, 0): HeadOverride(key_shift=1, score_scale=2.5, eps=1e-6),
                (1, 1): HeadOverride(ablation="mean"),
            },
            "view": {"layer": 1, "head": 0, "query_pos": 7, "colormap": "cividis", "show_values": True},
        }
        fields.update(changes)
        return Scenario(**fields)  # type: ignore[arg-type]

    return make


@pytest.fixture
def write_doc() -> Callable[[Path, object], Path]:
    """Write a JSON document as a teacher would (plain ``json``, any layout)."""

    def write(path: Path, doc: object) -> Path:
        path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        return path

    return write
