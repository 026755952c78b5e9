"""On-disk format of a built dataset: packed fixed-length rows in .npy shards plus a JSON index.

    DIR/meta.json                      {"format": "tinyfim-packed-v1", "context": T, "dtype": "uint16",
                                        "vocab_size": V, "sources": [...], "splits": {split: {...}}, ...}
    DIR/{split}-{i:03d}.tokens.npy     [rows, T+1] uint16|uint32 token ids
    DIR/{split}-{i:03d}.mask.npy       [rows, T+1] uint8, 1 where the token is a training target
    DIR/{split}-{i:03d}.source.npy     [rows, T+1] uint8, index into meta["sources"] per token

A row holds T+1 tokens so that inputs are row[:-1] and targets row[1:]; the loss of target j counts
only when mask[j] == 1 (never for padding). The dataset builder owns every other key of meta.json.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FORMAT = "tinyfim-packed-v1"


def token_dtype(vocab_size: int) -> str:
    return "uint16" if vocab_size <= 65536 else "uint32"


def _save_atomic(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.save(f, array)
    os.replace(tmp, path)


def write_json_atomic(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class ShardWriter:
    """Collects rows of one split and writes them as shards of `rows_per_shard` rows."""

    out_dir: Path
    split: str
    context: int
    dtype: str
    rows_per_shard: int = 8192
    shards: list[dict] = field(default_factory=list)
    _rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)

    def add(self, tokens, mask, source) -> None:
        n = self.context + 1
        tokens, mask, source = np.asarray(tokens), np.asarray(mask), np.asarray(source)
        if not (tokens.shape == mask.shape == source.shape == (n,)):
            raise ValueError(f"row must have {n} tokens, mask and source entries; got "
                             f"{tokens.shape}, {mask.shape}, {source.shape}")
        self._rows.append((tokens.astype(self.dtype), mask.astype(np.uint8), source.astype(np.uint8)))
        if len(self._rows) >= self.rows_per_shard:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        stem = f"{self.split}-{len(self.shards):03d}"
        out = Path(self.out_dir)
        for kind, col in (("tokens", 0), ("mask", 1), ("source", 2)):
            _save_atomic(out / f"{stem}.{kind}.npy", np.stack([r[col] for r in self._rows]))
        self.shards.append({"stem": stem, "rows": len(self._rows)})
        self._rows = []

    def close(self) -> dict:
        """Writes the last shard; returns this split's entry for meta["splits"]."""
        self._flush()
        return {"rows": sum(s["rows"] for s in self.shards), "shards": self.shards}


class PackedSplit:
    """Read-only view of one split (memory-mapped)."""

    def __init__(self, data_dir: str | os.PathLike, split: str):
        self.dir = Path(data_dir)
        meta_path = self.dir / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{meta_path} not found: build the dataset first (python -m trainer dataset build)")
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if self.meta.get("format") != FORMAT:
            raise ValueError(f"{meta_path}: unknown dataset format {self.meta.get('format')!r}, expected {FORMAT}")
        if split not in self.meta["splits"]:
            raise KeyError(f"{meta_path}: no split {split!r} (have {sorted(self.meta['splits'])})")
        self.context = int(self.meta["context"])
        self.vocab_size = int(self.meta["vocab_size"])
        self.sources: list[str] = list(self.meta["sources"])
        shards = self.meta["splits"][split]["shards"]
        self._tokens = [np.load(self.dir / f"{s['stem']}.tokens.npy", mmap_mode="r") for s in shards]
        self._mask = [np.load(self.dir / f"{s['stem']}.mask.npy", mmap_mode="r") for s in shards]
        self._source = [np.load(self.dir / f"{s['stem']}.source.npy", mmap_mode="r") for s in shards]
        self._offsets = np.cumsum([0] + [len(t) for t in self._tokens])

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def rows(self, indices) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(tokens, mask, source), each [len(indices), T+1], tokens as int64."""
        indices = np.asarray(indices, dtype=np.int64)
        shard = np.searchsorted(self._offsets, indices, side="right") - 1
        local = indices - self._offsets[shard]
        toks = np.stack([self._tokens[s][i] for s, i in zip(shard, local, strict=True)]).astype(np.int64)
        mask = np.stack([self._mask[s][i] for s, i in zip(shard, local, strict=True)])
        src = np.stack([self._source[s][i] for s, i in zip(shard, local, strict=True)])
        return toks, mask, src
