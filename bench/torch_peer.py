"""Dev-only: the PyTorch peer of the NumPy trainer, for the speed targets of ``python -m bench``.

The only module of the project that imports torch, and only when a benchmark
asks for the peer (:func:`bench.markov_bench.markov` imports it inside a
``try``): torch is never a dependency. With a Python that has torch, the
benchmark runs the peer side by side with the NumPy trainer; without, it says
so and reports the NumPy numbers alone.

The peer is the model a PyTorch user would write for the same job, as fast as
plain eager PyTorch allows on a CPU: the attention-only transformer of
``engine.backward`` (same parameters, copied in from the engine's initial
weights), Q, K and V as one fused matmul, ``scaled_dot_product_attention``
with the causal flag, the mean next-token cross-entropy over the same
positions (every position but the last), and ``torch.optim.Adam`` with the
trainer's hyper-parameters. The parameters are laid out as the fused matmuls
want them (Q, K, V side by side); Adam is element-wise, so a permuted layout
takes exactly the same steps.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from induction_gui.engine.training import ADAM_BETA1, ADAM_BETA2, ADAM_EPS
from induction_gui.engine.weights import Weights, block_names

__all__ = ["TorchAttnOnly", "TorchTrainer", "torch_version"]


def torch_version() -> str:
    """``torch.__version__``, for the benchmark's note."""
    return str(torch.__version__)


class TorchAttnOnly(torch.nn.Module):
    """Attention-only transformer without LayerNorm, standard positions, TransformerLens' attention scale."""

    def __init__(self, weights: Weights) -> None:
        super().__init__()
        c = weights.config
        self.n_heads, self.d_head, self.d_model = c.n_heads, c.d_head, c.d_model

        def param(a: np.ndarray) -> torch.nn.Parameter:
            return torch.nn.Parameter(torch.tensor(np.ascontiguousarray(a), dtype=torch.float32))

        self.W_E = param(weights["embed.W_E"])  # [d_vocab, d_model]
        self.W_pos = param(weights["pos_embed.W_pos"])  # [n_ctx, d_model]
        self.W_QKV = torch.nn.ParameterList()  # per layer [d_model, qkv·head_index·d_head]
        self.b_QKV = torch.nn.ParameterList()  # per layer [qkv·head_index·d_head]
        self.W_O = torch.nn.ParameterList()  # per layer [head_index·d_head, d_model]
        self.b_O = torch.nn.ParameterList()  # per layer [d_model]
        for layer in range(c.n_layers):
            n = block_names(layer)
            W = np.stack([weights[n[w]] for w in ("W_Q", "W_K", "W_V")])  # [qkv, head_index, d_model, d_head]
            W = W.transpose(2, 0, 1, 3).reshape(c.d_model, -1)  # [d_model, qkv·head_index·d_head]
            b = np.stack([weights[n[w]] for w in ("b_Q", "b_K", "b_V")]).reshape(-1)  # [qkv·head_index·d_head]
            self.W_QKV.append(param(W))
            self.b_QKV.append(param(b))
            self.W_O.append(param(weights[n["W_O"]].reshape(-1, c.d_model)))  # [head_index·d_head, d_model]
            self.b_O.append(param(weights[n["b_O"]]))
        self.W_U = param(weights["unembed.W_U"])  # [d_model, d_vocab]
        self.b_U = param(weights["unembed.b_U"])  # [d_vocab]

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits [batch, pos, d_vocab] of tokens [batch, pos]."""
        B, T = tokens.shape
        H, D = self.n_heads, self.d_head
        x = self.W_E[tokens] + self.W_pos[:T]  # [batch, pos, d_model]
        for W_QKV, b_QKV, W_O, b_O in zip(self.W_QKV, self.b_QKV, self.W_O, self.b_O, strict=True):
            qkv = (x @ W_QKV + b_QKV).view(B, T, 3, H, D)  # [batch, pos, qkv, head_index, d_head]
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each [batch, head_index, pos, d_head]
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # [batch, head_index, pos, d_head]
            x = x + z.transpose(1, 2).reshape(B, T, H * D) @ W_O + b_O  # [batch, pos, d_model]
        return x @ self.W_U + self.b_U  # [batch, pos, d_vocab]


def next_token_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the prediction at every position but the last: ``engine.backward``'s loss."""
    d_vocab = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, d_vocab), tokens[:, 1:].reshape(-1))


class TorchTrainer:
    """Adam on :class:`TorchAttnOnly` from the engine's weights, one thread: the speed peer."""

    def __init__(self, weights: Weights, lr: float) -> None:
        torch.set_num_threads(1)
        self.model = TorchAttnOnly(weights)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr, betas=(ADAM_BETA1, ADAM_BETA2),
                                          eps=ADAM_EPS)  # fmt: skip

    def step(self, tokens: np.ndarray) -> float:
        """One Adam step on tokens [batch, pos] (int64); the batch's loss before the step."""
        t = torch.from_numpy(tokens)
        loss = next_token_loss(self.model(t), t)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return float(loss.item())
