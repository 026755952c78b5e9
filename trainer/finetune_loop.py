"""The fine-tuning loop of `trainer finetune` (trainer/finetune.py): the training loop's pieces (data order, batch
prefetch, optimiser, WSD schedule, wall clock, held-out loss, checkpoint format) with a time budget, early stop on the
held-out loss, the best weights kept in memory, and Ctrl-C turned into a checkpoint and a normal return.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
from pathlib import Path

from trainer.errors import UserError

WARMUP_STEPS = 10
EVALS = 12  # held-out measurements per budget (at least EVAL_MIN_S apart)
EVAL_MIN_S = 10.0
EVAL_ROWS = 64
PATIENCE = 3  # held-out measurements without improvement before the run cools down and stops
EARLY_COOL = 0.1  # share of the budget an early stop spends cooling the learning rate down from where it is to 0
MIN_DELTA = 1e-3
NAN_PATIENCE = 5


def train_steps(model, work: Path, cfg: dict, progress: bool = True) -> dict:
    """Trains `model` in place on WORK/data for cfg["minutes"]. Returns the best model (a fresh TinyFIM with the
    adapters merged), its held-out loss and step, the base's held-out loss, and how the run went."""
    import torch

    from trainer.loop import Prefetcher, RunClock, evaluate_val
    from trainer.lora import merged_state
    from trainer.model import TinyFIM, forward_loss
    from trainer.optim import build_optimizers, resolve_precision
    from trainer.packed import PackedSplit
    from trainer.train import DataOrder, _cpu_name, lr_factor, save_checkpoint

    device = cfg["device"]
    train_split = ConcatSplit([PackedSplit(d, "train") for d in [work / "data", *sorted(work.glob("data-*"))]])
    val_split = PackedSplit(work / "data", "val")
    precision, note = resolve_precision("auto", device)
    if note:
        print(f"note: {note}", file=sys.stderr)
    device_type = "cuda" if device.startswith("cuda") else "cpu"

    def autocast():
        return torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16")

    torch.manual_seed(cfg["seed"])
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = build_optimizers(model, {"lr": cfg["lr"], "weight_decay": 0.0, "beta1": 0.9, "beta2": 0.95,
                                         "optimizer": cfg.get("optimizer", "adamw")}, fused=True)
    B, T = int(cfg["batch_size"]), model.cfg.context
    prefetch = Prefetcher(train_split, DataOrder(len(train_split), cfg["seed"]), B, 1, 1, 0, model.cfg.vocab_size,
                          device)
    eval_batches = max(1, math.ceil(min(EVAL_ROWS, len(val_split)) / B))
    hardware = (torch.cuda.get_device_name(device) if device_type == "cuda"
                else f"{_cpu_name()} ({torch.get_num_threads()} threads)")

    def heldout() -> float:
        return evaluate_val(model, val_split, device, B, eval_batches, autocast)["val_loss"]

    budget = float(cfg["minutes"]) * 60
    # the schedule ends at the time budget or after `passes` passes over the project (one packing each), if sooner
    passes = float(cfg.get("passes") or 0)
    max_steps = math.ceil(passes * len(train_split.splits[0]) / B) if passes else None
    decay = float(cfg.get("cooldown", 1.0))  # the cool-down's share of the time budget
    base_loss = heldout()
    best = {"loss": base_loss, "state": merged_state(model), "step": 0}
    clock = RunClock(budget, 0.0, 1, device, every=1)
    eval_every = max(budget / EVALS, EVAL_MIN_S)
    step = position = tokens = bad = nan_run = 0
    stopped, cooling, ema, last_eval, heldout_now = "time", None, None, 0.0, base_loss
    factor = 0.0
    metrics = open(work / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115
    bar = _bar(budget, progress)
    t_window, tok_window, tps = time.time(), 0, 0.0

    def log(record: dict) -> None:
        metrics.write(json.dumps(record) + "\n")
        metrics.flush()

    def measure() -> None:
        nonlocal bad, heldout_now, last_eval, stopped, cooling
        heldout_now, last_eval = heldout(), clock.seconds()
        log({"step": step, "seconds": round(last_eval, 1), "heldout_loss": heldout_now, "loss": ema, "tokens": tokens})
        if bar is None:
            print(f"step {step}, {last_eval:.0f} s: held-out loss {heldout_now:.4f}", file=sys.stderr)
        if heldout_now < best["loss"] - MIN_DELTA:
            best.update(loss=heldout_now, state=merged_state(model), step=step)
            bad = 0
        else:
            bad += 1
        if bad >= PATIENCE and cooling is None:
            # no gain for a while: the project is learnt. Stopping at once would keep weights trained at a high
            # learning rate (a 15-minute run ended worse than a 5-minute one); anneal from here first.
            stopped = "early"
            clock.budget_s = min(clock.budget_s, last_eval + EARLY_COOL * budget)
            cooling = (factor, last_eval, clock.budget_s)
            _say(bar, f"held-out loss has not improved for {PATIENCE} measurements: cooling down and stopping early")
            if bar is not None:
                bar.total = round(clock.budget_s)

    log({"step": 0, "seconds": 0.0, "heldout_loss": base_loss, "base": True})
    _say(bar, f"held-out loss of the base model: {base_loss:.4f}")
    if max_steps:
        _say(bar, f"ends after {max_steps} steps ({passes:g} passes over the project) or {budget / 60:g} minutes, "
                  "whichever comes first")
    try:
        model.train()
        while (done := max(clock.progress(step), step / max_steps if max_steps else 0.0)) < 1.0:
            factor = (lr_factor(step, WARMUP_STEPS, 1, 0.0, "wsd", decay, done) if cooling is None
                      else cool_down_factor(*cooling, clock.seconds()))
            optimizer.set_lr_factor(factor)
            ((x, m),) = prefetch.batches(position, position + B)
            with autocast():
                _, loss = forward_loss(model, x, m, check=False)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            loss_value = float(loss)
            if math.isfinite(loss_value) and bool(torch.isfinite(norm)):
                optimizer.step()
                nan_run = 0
                ema = loss_value if ema is None else 0.9 * ema + 0.1 * loss_value
            else:
                nan_run += 1
                if nan_run >= NAN_PATIENCE:
                    raise UserError(f"fine-tuning diverged: {nan_run} steps in a row with a non-finite loss; "
                                    "try a lower --lr")
            optimizer.zero_grad(set_to_none=True)
            position, step, tokens, tok_window = position + B, step + 1, tokens + B * T, tok_window + B * T
            if time.time() - t_window >= 2.0:
                tps, t_window, tok_window = tok_window / (time.time() - t_window), time.time(), 0
            if clock.seconds() - last_eval >= eval_every:
                measure()
            if bar is not None:
                bar.update(min(clock.seconds(), bar.total) - bar.n)
                bar.set_postfix_str(f"loss {ema:.3f}, held-out {heldout_now:.3f} (best {best['loss']:.3f}), "
                                    f"{tps:,.0f} tok/s", refresh=False)
        if stopped == "time" and max_steps and step >= max_steps:
            stopped = "passes"
        measure()  # the end of the cool-down
    except KeyboardInterrupt:
        stopped = "interrupted"
        _say(bar, "interrupted: writing a checkpoint, then a model folder from the best weights so far")
        optimizer.zero_grad(set_to_none=True)
        state = merged_state(model)
        with contextlib.suppress(KeyboardInterrupt):  # this moment's weights compete too (a 2nd Ctrl-C skips it)
            measure()
        save_checkpoint(work / "checkpoints" / "last.pt", {
            "kind": "last", "model": state, "model_config": model.cfg.to_dict(), "optimizer": optimizer.state_dict(),
            "step": step, "preset": "finetune", "metrics": {"val_loss": best["loss"]},
            "training": {"tokens": tokens, "seconds": clock.seconds(), "hardware": hardware, "precision": precision}})
    finally:
        prefetch.close()
        metrics.close()
        if bar is not None:
            bar.close()
    out = TinyFIM(model.cfg)
    out.load_state_dict(best["state"])
    out.eval()
    return {"model": out, "best_loss": best["loss"], "best_step": best["step"], "base_loss": base_loss,
            "steps": step, "tokens": tokens, "seconds": clock.seconds(), "stopped": stopped, "hardware": hardware,
            "precision": precision}


def cool_down_factor(start_factor: float, start_s: float, end_s: float, now_s: float) -> float:
    """The learning-rate factor of an early stop's cool-down: linear from start_factor at start_s to 0 at end_s."""
    if end_s <= start_s:
        return 0.0
    return start_factor * min(1.0, max(0.0, 1.0 - (now_s - start_s) / (end_s - start_s)))


class ConcatSplit:
    """Several packed train splits read as one (the packings of trainer.finetune.build_data)."""

    def __init__(self, splits: list):
        import numpy as np

        self.splits = splits
        self.offsets = np.cumsum([0] + [len(s) for s in splits])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def rows(self, indices):
        import numpy as np

        which = np.searchsorted(self.offsets, np.asarray(indices, dtype=np.int64), side="right") - 1
        parts = [self.splits[w].rows([i - self.offsets[w]]) for i, w in zip(indices, which, strict=True)]
        return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


def _bar(budget: float, progress: bool):
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=round(budget), desc="fine-tune", unit="s", file=sys.stderr, dynamic_ncols=True,
                bar_format="{desc} {percentage:3.0f}%|{bar}| {n:.0f}/{total} s{postfix}")


def _say(bar, text: str) -> None:
    if bar is not None:
        bar.write(text, file=sys.stderr)
    else:
        print(text, file=sys.stderr)
