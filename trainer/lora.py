"""Low-rank adapters (LoRA, Hu et al. 2021) on every matmul of the transformer blocks, for `trainer finetune --lora R`.

Each nn.Linear W of attention (q, kv, out) and MLP (up, down) becomes W x + (alpha / r) B A x with A [r, in] random
and B [out, r] zero, so training starts exactly at the base model; only A and B are trained (the embedding, the tied
head and the norms stay frozen). `merged_state` folds B A into W: the result is a plain TinyFIM state dict that
exports like any other model.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

TARGETS = ("q_proj", "kv_proj", "out_proj", "up", "down")


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, rank: int, alpha: float):
        super().__init__()
        if rank <= 0:
            raise ValueError(f"LoRA rank must be positive, got {rank}")
        self.base = base
        self.base.weight.requires_grad_(False)
        self.a = nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.b = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x):
        return self.base(x) + (x @ self.a.t().to(x.dtype)) @ self.b.t().to(x.dtype) * self.scale

    def merged_weight(self) -> torch.Tensor:
        return self.base.weight + self.scale * (self.b @ self.a)


def add_lora(model: nn.Module, rank: int, alpha: float | None = None) -> int:
    """Freezes the model and wraps the block matmuls in adapters, in place; returns the trainable parameter count."""
    for p in model.parameters():
        p.requires_grad_(False)
    alpha = float(2 * rank if alpha is None else alpha)
    for block in model.blocks:
        for owner in (block.attn, block.mlp):
            for name in TARGETS:
                layer = getattr(owner, name, None)
                if isinstance(layer, nn.Linear):
                    setattr(owner, name, LoRALinear(layer, rank, alpha))
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def merged_state(model: nn.Module) -> dict:
    """The model's state dict with every adapter folded into its base weight, under the plain TinyFIM names."""
    merged = {}
    for name, module in model.named_modules():
        if isinstance(module, LoRALinear):
            merged[f"{name}.weight"] = module.merged_weight().detach().clone()
    state = {}
    for key, value in model.state_dict().items():
        if ".base." in key or key.endswith((".a", ".b")):
            continue
        state[key] = value.detach().clone()
    state.update(merged)
    return state
