"""Parts of the training loop that keep the accelerator busy: batches prepared ahead on a thread, step results
read back from the device in batches (not once per step), a wall-clock run's progress that every DDP rank agrees
on without a collective per step, the peak FLOP/s that MFU is measured against, and the evaluation during
training (validation loss per source, bits per byte, a greedy exact-match check).

On CUDA every `float(tensor)` waits for all queued work: once per step it leaves the GPU idle while Python
prepares the next step. The loop therefore keeps each step's loss and gradient norm as device tensors, skips a
non-finite step on the device (fused AdamW's found_inf), and reads the values back every `log_every` steps.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# dense bf16 peaks from the vendors' datasheets (MFU is reported against these on a known GPU)
DATASHEET_BF16_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12}


def peak_flops(device: str) -> float | None:
    """The datasheet dense bf16 peak of this CUDA device, or None (CPU, unknown GPU)."""
    import torch

    if not device.startswith("cuda"):
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in DATASHEET_BF16_FLOPS.items() if k in name), None)


class Prefetcher:
    """The rows of the next step, read (memory-mapped shards), checked and turned into tensors on a background
    thread while the current step computes. `batches(position)` returns this rank's micro-batches [(x, m)] for
    the step that starts at `position` (the data order is a pure function of position, so this is exact)."""

    def __init__(self, split, order, batch: int, accum: int, world: int, rank: int, vocab: int, device: str):
        self.split, self.order, self.B, self.accum, self.world, self.rank = split, order, batch, accum, world, rank
        self.vocab, self.device = vocab, device
        self.pin = device.startswith("cuda")
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch")
        self.pending: tuple[int, object] | None = None

    def _host(self, position: int) -> list:
        import numpy as np
        import torch

        from trainer.model import check_ids

        out = []
        for micro in range(self.accum):
            idx = self.order.take(position + (micro * self.world + self.rank) * self.B, self.B)
            tokens, mask, _ = self.split.rows(idx)
            check_ids(int(tokens.min()), int(tokens.max()), self.vocab)  # on the host: no device read-back
            x, m = torch.from_numpy(tokens), torch.from_numpy(mask.astype(np.int64))
            out.append((x.pin_memory(), m.pin_memory()) if self.pin else (x, m))
        return out

    def batches(self, position: int, next_position: int) -> list:
        if self.pending is not None and self.pending[0] == position:
            host = self.pending[1].result()
        else:
            host = self._host(position)
        self.pending = (next_position, self.pool.submit(self._host, next_position))
        return [(x.to(self.device, non_blocking=True), m.to(self.device, non_blocking=True)) for x, m in host]

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class StepResults:
    """Each step's (loss, grad norm) kept as device tensors and read back together by `settle()`."""

    def __init__(self):
        self.rows: list[tuple[int, object, object, float]] = []

    def add(self, step: int, loss, grad_norm, lr: float) -> None:
        self.rows.append((step, loss.detach().float().reshape(()), grad_norm.detach().float().reshape(()), lr))

    def settle(self) -> list[tuple[int, float, float, float]]:
        """[(step, loss, grad_norm, lr)] of the steps since the last call: one device read-back for all."""
        if not self.rows:
            return []
        import torch

        values = torch.stack([v for _, loss, norm, _ in self.rows for v in (loss, norm)]).cpu().tolist()
        out = [(s, values[2 * i], values[2 * i + 1], lr) for i, (s, _, _, lr) in enumerate(self.rows)]
        self.rows = []
        return out


class RunClock:
    """Progress of a wall-clock run (time used / budget). One process reads its clock every step. Under DDP the
    ranks must agree on the learning rate and on the last step, so rank 0's clock is broadcast every `every`
    steps and between those the progress is extrapolated from the last window's seconds per step: a function of
    the step number alone, the same on every rank."""

    def __init__(self, budget_s: float | None, prior_s: float, world: int, device: str, every: int):
        self.budget_s, self.prior_s, self.world, self.device, self.every = budget_s, prior_s, world, device, every
        self.t0 = time.time()
        self.anchor: tuple[int, float, float] | None = None  # (step, seconds used, seconds per step)

    def seconds(self) -> float:
        return self.prior_s + time.time() - self.t0

    def progress(self, step: int) -> float | None:
        if self.budget_s is None:
            return None
        if self.world == 1:
            return self.seconds() / self.budget_s
        if self.anchor is None or step % self.every == 0:
            self._sync(step)
        s0, used, per_step = self.anchor
        return (used + (step - s0) * per_step) / self.budget_s

    def _sync(self, step: int) -> None:
        import torch
        import torch.distributed as dist

        used = torch.tensor([self.seconds()], dtype=torch.float64, device=self.device)
        dist.broadcast(used, 0)
        used = float(used)
        per_step = 0.0
        if self.anchor is not None and step > self.anchor[0]:
            per_step = max(0.0, (used - self.anchor[1]) / (step - self.anchor[0]))
        self.anchor = (step, used, per_step)


class StopRequest:
    """Ctrl-C (SIGINT) while training: the loop ends its step, writes the checkpoint and returns, so that --resume
    goes on exactly; a second Ctrl-C stops at once. Only where Ctrl-C would raise KeyboardInterrupt (an ignored
    SIGINT stays ignored), on the main thread, in a single process (DDP ranks must agree on the last step)."""

    def __init__(self, enabled: bool):
        import signal
        import threading

        self.signal: int | None = None
        self.previous = None
        if (enabled and threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame) -> None:
        if self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signum

    @property
    def requested(self) -> bool:
        return self.signal is not None

    def close(self) -> None:
        if self.previous is not None:
            import signal

            signal.signal(signal.SIGINT, self.previous)
            self.previous = None


# ---------------------------------------------------------------- evaluation during training


def token_byte_lengths(tokenizer_path: Path | None, vocab_size: int):
    """Bytes of text per token id (0 for special tokens), for bits per byte: a loss that compares models
    with different tokenizers. Byte-level BPE maps each byte to one character of the token's string."""
    import numpy as np

    if tokenizer_path is None:
        return None
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path))
    special = {t.content for t in tok.get_added_tokens_decoder().values()}
    lengths = np.zeros(vocab_size, dtype=np.float64)
    for i in range(min(vocab_size, tok.get_vocab_size(with_added_tokens=True))):
        s = tok.id_to_token(i)
        lengths[i] = 0 if s is None or s in special else len(s)
    return lengths


def evaluate_val(model, val, device, batch_size: int, batches: int, autocast, token_bytes=None) -> dict:
    """Validation loss overall and per source (per tinypy task where the sources are tasks), on the
    first batch_size * batches rows of the validation split (fixed, so values are comparable); with
    token_bytes also bits per byte (val_bpb, val_bpb/SOURCE)."""
    import numpy as np
    import torch

    from trainer.model import forward_loss

    n = min(len(val), batch_size * batches)
    if n == 0:
        return {}
    sums = np.zeros(len(val.sources) + 1)
    counts = np.zeros(len(val.sources) + 1)
    nbytes = np.zeros(len(val.sources) + 1)
    model.eval()
    with torch.no_grad():
        for start in range(0, n, batch_size):
            tokens, mask, source = val.rows(np.arange(start, min(n, start + batch_size)))
            t = torch.from_numpy(tokens).to(device)
            m = torch.from_numpy(mask.astype(np.int64)).to(device)
            with autocast():
                per_token, _ = forward_loss(model, t, m)
            per_token = per_token.float().cpu().numpy()
            tgt_mask, tgt_src = mask[:, 1:].astype(bool), source[:, 1:]
            np.add.at(sums, tgt_src[tgt_mask], per_token[tgt_mask])
            np.add.at(counts, tgt_src[tgt_mask], 1)
            if token_bytes is not None:
                np.add.at(nbytes, tgt_src[tgt_mask], token_bytes[tokens[:, 1:][tgt_mask]])
    model.train()
    out = {"val_loss": float(sums.sum() / max(counts.sum(), 1)), "val_tokens": int(counts.sum())}
    if token_bytes is not None and nbytes.sum():
        out["val_bpb"] = float(sums.sum() / math.log(2) / nbytes.sum())
    for i, name in enumerate(val.sources):
        if counts[i]:
            out[f"val_loss/{name}"] = float(sums[i] / counts[i])
        if nbytes[i]:
            out[f"val_bpb/{name}"] = float(sums[i] / math.log(2) / nbytes[i])
    return out


def generation_check(model, data_dir: Path, tokenizer_path: Path | None, meta: dict, limit: int) -> dict:
    """Greedy exact match on a few held-out FIM and tinypy samples (PyTorch, KV cache)."""
    if tokenizer_path is None or limit <= 0:
        return {}
    from trainer.evaluate import exact_match_suite
    from trainer.model import greedy

    def generate(ids, max_new):
        return greedy(model, ids, max_new)

    try:
        results = exact_match_suite(generate, data_dir, tokenizer_path, meta, limit=limit,
                                    context=model.cfg.context)
    finally:
        model.train()
    return {f"gen/{k}": v["exact_match"] for k, v in results.items()}
