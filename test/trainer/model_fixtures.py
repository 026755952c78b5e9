"""Shared helpers for the model / train / export tests: tiny synthetic datasets in the packed format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from trainer.packed import FORMAT, ShardWriter, write_json_atomic

TINY_MODEL = {"context": 32, "n_layer": 2, "n_head": 4, "n_kv_head": 2, "d_model": 32, "dropout": 0.1}


def write_dataset(out: Path, rows: dict[str, np.ndarray], vocab_size: int, masks: dict | None = None,
                  sources=("pad", "code", "tinypy/output")) -> Path:
    """rows: split -> [n, T+1] token ids. Source index 1 for the first half of each row, 2 for the rest."""
    out.mkdir(parents=True, exist_ok=True)
    T = next(iter(rows.values())).shape[1] - 1
    splits = {}
    for split, toks in rows.items():
        w = ShardWriter(out, split, T, "uint16", rows_per_shard=64)
        for i, row in enumerate(toks):
            mask = np.ones(T + 1, np.uint8) if masks is None else masks[split][i]
            src = np.where(np.arange(T + 1) < (T + 1) // 2, 1, 2)
            w.add(row, mask, src)
        splits[split] = w.close()
    meta = {"format": FORMAT, "context": T, "dtype": "uint16", "vocab_size": vocab_size, "sources": list(sources),
            "splits": splits, "special_tokens": {"<|endoftext|>": 0}, "prompts": {}}
    write_json_atomic(out / "meta.json", meta)
    return out


def counting_rows(n: int, T: int, vocab: int, seed: int = 0) -> np.ndarray:
    """Rows that count upwards mod vocab from a random start: perfectly predictable after one token."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, vocab, n)
    return (starts[:, None] + np.arange(T + 1)[None]) % vocab


def preset(**train) -> dict:
    base = {"batch_size": 4, "grad_accum": 2, "lr": 3e-3, "warmup": 3, "steps": 20, "eval_every": 5,
            "eval_batches": 1, "checkpoint_every": 5, "gen_samples": 0, "log_every": 1, "seed": 7}
    return {"name": "tiny", "model": dict(TINY_MODEL), "train": {**base, **train}}


def read_metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


# Tiny models run fastest on one thread, and the 2-core machine is shared with other test processes.
torch.set_num_threads(1)
