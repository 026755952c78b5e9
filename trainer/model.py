"""The whole TinyFIM model in one file (nanoGPT style).

A decoder-only transformer: pre-norm blocks, rotary positions driven by explicit `position_ids`,
grouped-query attention (n_kv_head <= n_head, so the KV cache is n_head / n_kv_head times smaller),
tied input/output embeddings, and `scaled_dot_product_attention`.

One forward serves training, evaluation and cached decoding:

    logits, present = model(input_ids, position_ids=None, attention_mask=None, past=None)

`past` / `present` are lists of (key, value) per layer, each [batch, n_kv_head, length, head_dim].
Masking rule (one place, `_attention_mask`): query i (at absolute slot past+i) sees key j when
j <= past+i and attention_mask[j] == 1; a query always sees itself, so no softmax row is ever fully
masked, not even with left padding (a fully masked row would make the softmax NaN).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ModelConfig:
    vocab_size: int  # always read from the dataset / tokenizer, never typed in a preset
    context: int = 256
    n_layer: int = 4
    n_head: int = 4
    n_kv_head: int = 2
    d_model: int = 128
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5

    def __post_init__(self):
        if not isinstance(self.vocab_size, int) or self.vocab_size <= 0:
            raise ValueError(f"vocab_size must be a positive int read from the tokenizer, got {self.vocab_size!r}")
        if self.d_model % self.n_head:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_head {self.n_head}")
        if self.n_head % self.n_kv_head:
            raise ValueError(f"n_head {self.n_head} is not a multiple of n_kv_head {self.n_kv_head}")
        if self.head_dim % 2:
            raise ValueError(f"head_dim {self.head_dim} must be even for rotary positions")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_head

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**d)


def rope_cos_sin(position_ids: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin [batch, 1, seq, head_dim] for the given absolute positions (computed, not tabled, so any
    position_ids work in ONNX too)."""
    dims = torch.arange(0, head_dim, 2, device=position_ids.device, dtype=torch.float32)
    inv_freq = 1.0 / (theta ** (dims / head_dim))
    freqs = position_ids.to(torch.float32).unsqueeze(-1) * inv_freq  # [B, T, hd/2]
    emb = torch.cat([freqs, freqs], dim=-1).unsqueeze(1)  # [B, 1, T, hd]
    return emb.cos(), emb.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos.to(x.dtype) + rotated * sin.to(x.dtype)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_head, self.n_kv_head, self.head_dim = cfg.n_head, cfg.n_kv_head, cfg.head_dim
        self.q_proj = nn.Linear(cfg.d_model, cfg.n_head * cfg.head_dim, bias=False)
        self.kv_proj = nn.Linear(cfg.d_model, 2 * cfg.n_kv_head * cfg.head_dim, bias=False)
        self.out_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.dropout = cfg.dropout
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x, cos, sin, mask, past):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_head, self.head_dim).transpose(1, 2)
        k, v = self.kv_proj(x).view(B, T, 2, self.n_kv_head, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if past is not None:
            k = torch.cat([past[0].to(k.dtype), k], dim=2)
            v = torch.cat([past[1].to(v.dtype), v], dim=2)
        present = (k, v)
        if self.n_kv_head != self.n_head:  # grouped-query: share each kv head among n_head / n_kv_head queries
            rep = self.n_head // self.n_kv_head
            S = k.shape[2]
            k = k[:, :, None].expand(B, self.n_kv_head, rep, S, self.head_dim).reshape(B, self.n_head, S, self.head_dim)
            v = v[:, :, None].expand(B, self.n_kv_head, rep, S, self.head_dim).reshape(B, self.n_head, S, self.head_dim)
        p = self.dropout if self.training else 0.0
        if mask is None:  # training / plain prefill: the fused causal kernel
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        y = y.transpose(1, 2).reshape(B, T, self.n_head * self.head_dim)
        return self.resid_dropout(self.out_proj(y)), present


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        hidden = int(cfg.mlp_ratio * cfg.d_model)
        self.up = nn.Linear(cfg.d_model, hidden, bias=False)
        self.down = nn.Linear(hidden, cfg.d_model, bias=False)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x):
        return self.dropout(self.down(F.gelu(self.up(x), approximate="tanh")))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)
        self.attn = Attention(cfg)
        self.norm2 = nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask, past):
        a, present = self.attn(self.norm1(x), cos, sin, mask, past)
        x = x + a
        x = x + self.mlp(self.norm2(x))
        return x, present


class TinyFIM(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm_f = nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.embed.weight  # tied embeddings
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: scale residual projections by depth
            if name.endswith("out_proj.weight") or name.endswith("down.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())  # tied weight counted once

    def forward(self, input_ids, position_ids=None, attention_mask=None, past=None, last_only: bool = False):
        """-> (logits [B, T, V], present); last_only: logits of the last position only ([B, 1, V]), which is all
        decoding needs and saves the LM head's matmul over the prompt (a third of a small model's prefill)."""
        if input_ids.dim() != 2:
            raise ValueError(f"input_ids must be [batch, seq], got shape {tuple(input_ids.shape)}")
        B, T = input_ids.shape
        past_len = 0 if past is None else past[0][0].shape[2]
        if past is None and not torch.jit.is_tracing() and not torch.compiler.is_compiling() and self.cfg.context < T:
            raise ValueError(f"sequence of {T} tokens exceeds the context length {self.cfg.context}")
        if position_ids is None:
            position_ids = torch.arange(past_len, past_len + T, device=input_ids.device).unsqueeze(0).expand(B, T)
        cos, sin = rope_cos_sin(position_ids, self.cfg.head_dim, self.cfg.rope_theta)
        mask = None
        if attention_mask is not None or past is not None:
            mask = _attention_mask(attention_mask, B, T, past_len, input_ids.device)
        x = self.drop(self.embed(input_ids))
        present = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, cos, sin, mask, None if past is None else past[i])
            present.append(kv)
        if last_only:
            x, T = x[:, -1:], 1
        # 2-D matmul: ONNX export then uses Gemm(transB=1) on the one shared embedding initializer instead of
        # storing a transposed copy of it
        h = self.norm_f(x).reshape(B * T, self.cfg.d_model)
        logits = self.lm_head(h).view(B, T, self.cfg.vocab_size)
        return logits, present


def _attention_mask(attention_mask, B: int, T: int, past_len, device) -> torch.Tensor:
    """Boolean [B, 1, T, past+T]: causal and not padded, always including the query's own slot."""
    S = past_len + T
    q_pos = torch.arange(T, device=device).unsqueeze(1) + past_len  # absolute slot of each query
    k_pos = torch.arange(S, device=device).unsqueeze(0)
    causal = k_pos <= q_pos  # [T, S]
    if attention_mask is None:
        return causal[None, None].expand(B, 1, T, S)
    keep = attention_mask.to(torch.bool)[:, None, None, :]  # [B, 1, 1, S]
    return (causal[None, None] & keep) | (k_pos == q_pos)[None, None]


def masked_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor,
                check: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token cross entropy [B, T] (fp32) and the mean over tokens with mask == 1.

    The one loss used by training, validation and evaluation. Tokens with mask 0 (padding, prompts
    that are not targets) contribute exactly nothing. check=False skips the id range check, which reads a
    value back from the device (the training loop checks its rows on the host instead)."""
    if logits.shape[:2] != targets.shape or targets.shape != mask.shape:
        raise ValueError(f"shape mismatch: logits {tuple(logits.shape)}, targets {tuple(targets.shape)}, "
                         f"mask {tuple(mask.shape)}")
    V = logits.shape[-1]
    if check and (int(targets.max()) >= V or int(targets.min()) < 0):
        raise ValueError(f"target id {int(targets.max())} outside the model's vocabulary of {V}: "
                         "the dataset and model vocab sizes disagree")
    per_token = F.cross_entropy(logits.float().reshape(-1, V), targets.reshape(-1), reduction="none").view_as(targets)
    m = mask.to(per_token.dtype)
    per_token = per_token * m
    return per_token, per_token.sum() / m.sum().clamp_min(1.0)


def forward_loss(model: nn.Module, tokens: torch.Tensor, mask: torch.Tensor, check: bool = True):
    """tokens/mask [B, T+1] rows from the packed dataset -> (per-token loss [B, T], mean loss).
    check=False: the caller has checked the ids on the host (no read-back from the device per step)."""
    if tokens.dim() != 2 or tokens.shape != mask.shape:
        raise ValueError(f"expected tokens and mask of shape [batch, context+1], got {tuple(tokens.shape)} "
                         f"and {tuple(mask.shape)}")
    if check:
        check_ids(int(tokens.min()), int(tokens.max()), unwrap(model).cfg.vocab_size)
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    logits, _ = model(inputs)
    return masked_loss(logits, targets, mask[:, 1:], check=check)


def check_ids(lo: int, hi: int, vocab: int) -> None:
    if hi >= vocab or lo < 0:
        raise ValueError(f"token id {hi if hi >= vocab else lo} outside the model's vocabulary of {vocab}: "
                         "the dataset and model vocab sizes disagree")


def unwrap(model: nn.Module) -> nn.Module:
    """The TinyFIM inside DDP / torch.compile wrappers."""
    while hasattr(model, "module") or hasattr(model, "_orig_mod"):
        model = getattr(model, "module", None) or model._orig_mod
    return model


def flops_per_token(cfg: ModelConfig, n_params: int) -> float:
    """Training FLOPs per token (PaLM / nanoGPT estimate): 6N + 12 * L * H * Q * T."""
    return 6 * n_params + 12 * cfg.n_layer * cfg.n_head * cfg.head_dim * cfg.context


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """AdamW groups: decay only on matmul weights (2-D, not the embedding); norms, biases and the
    (tied) embedding go without decay."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.dim() >= 2 and "embed" not in name else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


@torch.no_grad()
def greedy(model: TinyFIM, prompt_ids: list[int], max_new_tokens: int, stop_ids=(0,)) -> list[int]:
    """Greedy decoding with the KV cache; returns the new ids (stops after a stop id, which is included)."""
    model.eval()
    device = next(model.parameters()).device
    ids = torch.tensor([prompt_ids], dtype=torch.long, device=device)
    logits, past = model(ids, attention_mask=torch.ones_like(ids))
    out: list[int] = []
    pos = len(prompt_ids)
    for _ in range(max_new_tokens):
        nxt = int(logits[0, -1].argmax())
        out.append(nxt)
        if nxt in stop_ids or pos >= model.cfg.context:
            break
        step = torch.tensor([[nxt]], device=device)
        logits, past = model(step, position_ids=torch.tensor([[pos]], device=device),
                             attention_mask=torch.ones(1, pos + 1, dtype=torch.long, device=device), past=past)
        pos += 1
    return out
