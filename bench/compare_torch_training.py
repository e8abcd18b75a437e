"""Dev-only: train the same model with PyTorch on one CPU thread, for the trainer's speed target.

Not part of the project or its benchmarks (``bench/__main__.py`` never imports
it) and never a dependency. Run it from the repository root with a throwaway
virtualenv outside the project that has PyTorch (and NumPy, safetensors)::

    ../tlvenv/bin/python bench/compare_torch_training.py [--steps N]

The model, data (the project's own batches), batch size and Adam settings are the
default training preset's; both sides are timed per step including the batch.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from induction_gui.engine.training import PRESETS, Trainer, make_batch  # noqa: E402


class AttnOnly(torch.nn.Module):
    """Attention-only transformer, TransformerLens layout, no LayerNorm."""

    def __init__(self, n_layers: int, n_heads: int, d_model: int, d_head: int, d_vocab: int, n_ctx: int) -> None:
        super().__init__()
        std = d_model ** -0.5
        self.W_E = torch.nn.Parameter(torch.randn(d_vocab, d_model) * std)
        self.W_pos = torch.nn.Parameter(torch.randn(n_ctx, d_model) * std)
        self.W_Q = torch.nn.Parameter(torch.randn(n_layers, n_heads, d_model, d_head) * std)
        self.W_K = torch.nn.Parameter(torch.randn(n_layers, n_heads, d_model, d_head) * std)
        self.W_V = torch.nn.Parameter(torch.randn(n_layers, n_heads, d_model, d_head) * std)
        self.W_O = torch.nn.Parameter(torch.randn(n_layers, n_heads, d_head, d_model) * std)
        self.b = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.zeros(n_layers, n_heads, d_head)) for _ in range(3)]
            + [torch.nn.Parameter(torch.zeros(n_layers, d_model))]
        )
        self.W_U = torch.nn.Parameter(torch.randn(d_model, d_vocab) * std)
        self.b_U = torch.nn.Parameter(torch.zeros(d_vocab))
        self.scale = d_head ** 0.5
        mask = torch.triu(torch.ones(n_ctx, n_ctx, dtype=torch.bool), 1)
        self.register_buffer("mask", mask)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        n = tokens.shape[1]
        x = self.W_E[tokens] + self.W_pos[:n]  # [batch, pos, d_model]
        for layer in range(self.W_Q.shape[0]):
            q = torch.einsum("bpm,hmd->bhpd", x, self.W_Q[layer]) + self.b[0][layer][None, :, None]
            k = torch.einsum("bpm,hmd->bhpd", x, self.W_K[layer]) + self.b[1][layer][None, :, None]
            v = torch.einsum("bpm,hmd->bhpd", x, self.W_V[layer]) + self.b[2][layer][None, :, None]
            scores = (q @ k.transpose(-1, -2)) / self.scale  # [batch, head, q, k]
            scores = scores.masked_fill(self.mask[:n, :n], float("-inf"))
            z = scores.softmax(-1) @ v  # [batch, head, q, d_head]
            x = x + torch.einsum("bhpd,hdm->bpm", z, self.W_O[layer]) + self.b[3][layer]
        return x @ self.W_U + self.b_U  # [batch, pos, d_vocab]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cfg = PRESETS["default"]
    model = AttnOnly(cfg.n_layers, cfg.n_heads, cfg.d_model, cfg.d_head, cfg.d_vocab, cfg.n_ctx)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(args.steps):
        batch = make_batch(cfg, rng)
        tokens = torch.from_numpy(batch.tokens)
        logits = model(tokens)
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, cfg.d_vocab), tokens[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch_rate = args.steps / (time.perf_counter() - start)

    trainer = Trainer(cfg)
    start = time.perf_counter()
    for _ in range(args.steps):
        trainer.step()
    numpy_rate = args.steps / (time.perf_counter() - start)
    print(f"PyTorch {torch.__version__}, 1 thread: {torch_rate:.1f} steps/s (final loss {loss.item():.3f})")
    print(f"NumPy trainer (with per-step head scores): {numpy_rate:.1f} steps/s; ratio {numpy_rate / torch_rate:.2f}")


if __name__ == "__main__":
    main()
