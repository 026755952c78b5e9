"""`python -m trainer train`: train a preset on a built dataset, resumably.

    python -m trainer train --preset test --data data/ds/test --out runs/test [--resume] [--device cpu|cuda]
    torchrun --nproc_per_node 8 -m trainer train ...      (DDP; rank 0 writes)

One step = grad_accum micro-batches of batch_size rows (per process). The data order is a fixed function of (seed,
epoch); the checkpoint holds model, optimiser, every RNG and the data position, so a resumed run takes exactly the
steps an uninterrupted one would. The loss is the shared masked loss of trainer.model (mask 0 tokens never count).
Non-finite loss or gradient norm: the step is skipped and logged; `nan_patience` of them in a row stop the run with
a clear message.

The run folder: config.json (resolved config), tokenizer.json and data_meta.json (copies, for export),
metrics.jsonl, tb/ (TensorBoard), checkpoints/{last,best}.pt, and with the wsd schedule checkpoints/stable.pt: the
state when the cool-down began, from which a longer run goes on at the stable rate (copy it to last.pt, --resume
with a larger --steps or minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from trainer.errors import UserError
from trainer.loop import evaluate_val, generation_check, token_byte_lengths
from trainer.optim import Optimizers, build_optimizers, cpu_has_bf16, resolve_precision  # noqa: F401 (also from here)

PRESET_DIR = Path(__file__).parent / "presets"
TRAIN_DEFAULTS = {"batch_size": 8, "grad_accum": 1, "lr": 1e-3, "min_lr_ratio": 0.1, "warmup": 100, "steps": 1000,
                  "weight_decay": 0.1, "grad_clip": 1.0, "beta1": 0.9, "beta2": 0.95, "eval_every": 200,
                  "eval_batches": 8, "gen_samples": 8, "checkpoint_every": 200, "best_metric": "val_loss",
                  "nan_patience": 5, "seed": 1337, "compile": False, "log_every": 10, "threads": None,
                  # "cosine" or "wsd" (warmup, stable, linear decay over the last decay_frac of the run)
                  "schedule": "cosine", "decay_frac": 0.2,
                  # a wall-clock budget: the run's length in minutes instead of steps (progress = time used)
                  "minutes": None, "checkpoint_minutes": None,
                  # "auto": bf16 autocast where the device computes bf16 natively, else fp32
                  "precision": "auto",
                  # "adamw", or "muon" (Muon for the hidden matrices, AdamW for the embedding and gains)
                  "optimizer": "adamw"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", required=True, help="preset name (trainer/presets/NAME.json) or a JSON path")
    parser.add_argument("--data", required=True, help="built dataset folder (python -m trainer dataset build)")
    parser.add_argument("--out", required=True, help="run folder for checkpoints, metrics and TensorBoard logs")
    parser.add_argument("--resume", action="store_true", help="continue exactly from OUT/checkpoints/last.pt")
    parser.add_argument("--init-from", default=None, metavar="MODEL_DIR",
                        help="start from an exported model folder's float weights (model.safetensors), e.g. to "
                             "fine-tune the shipped model or go on training on a new machine (fresh optimiser)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--steps", type=int, default=None, help="total optimiser steps (overrides the preset)")
    parser.add_argument("--stop-after", type=int, default=None,
                        help="stop (with a checkpoint) after this step, keeping the schedule of --steps")
    parser.add_argument("--tokenizer", default=None, help="tokenizer.json (default: found via the dataset)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="torch.compile the model (default: the preset's setting)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a train config value, e.g. --set lr=3e-4 (repeatable)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--no-tensorboard", action="store_true", help="do not write TensorBoard logs")
    parser.add_argument("--inject-nan-at", type=int, action="append", default=[], metavar="STEP",
                        help="testing aid: make the loss NaN at this step (repeatable)")


def run(args) -> int:
    preset = load_preset(args.preset)
    overrides = {}
    if args.threads:
        overrides["threads"] = args.threads
    for item in args.set:
        key, _, value = item.partition("=")
        if key not in TRAIN_DEFAULTS:
            raise UserError(f"--set {item}: unknown train key {key!r} (known: {', '.join(TRAIN_DEFAULTS)})")
        try:  # text keys as given (--set schedule=wsd), the others as JSON (--set lr=3e-4)
            overrides[key] = value if isinstance(TRAIN_DEFAULTS[key], str) else json.loads(value)
        except json.JSONDecodeError:
            raise UserError(f"--set {item}: {key} takes a number or true/false, not {value!r}") from None
    if args.steps is not None:
        overrides["steps"] = args.steps
    if args.compile is not None:
        overrides["compile"] = args.compile
    summary = train(preset, args.data, args.out, resume=args.resume, device=args.device, overrides=overrides,
                    stop_after=args.stop_after, tokenizer=args.tokenizer, tensorboard=not args.no_tensorboard,
                    inject_nan_steps=set(args.inject_nan_at), init_from=args.init_from)
    if summary.get("interrupted"):
        print(f"interrupted: checkpoint written at step {summary['step']}; run the same command with --resume to "
              "continue exactly", file=sys.stderr)
        return 130
    if summary.get("rank", 0) == 0:
        print(f"done: step {summary['step']}, train loss {summary['train_loss']:.4f}, "
              f"val loss {summary.get('val_loss', float('nan')):.4f}, {summary['tokens_per_s']:.0f} tokens/s, "
              f"{summary['skipped_steps']} skipped steps; checkpoints in {args.out}/checkpoints", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- config


def load_preset(name_or_path: str | os.PathLike) -> dict:
    path = Path(name_or_path)
    if not path.suffix:
        path = PRESET_DIR / f"{name_or_path}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PRESET_DIR.glob("*.json")))
        raise UserError(f"preset {name_or_path!r} not found (known presets: {known}; or pass a .json path)")
    preset = json.loads(path.read_text(encoding="utf-8"))
    if "vocab_size" in preset.get("model", {}):
        raise UserError(f"{path}: model.vocab_size must not be set in a preset; it is read from the dataset")
    unknown = set(preset.get("train", {})) - set(TRAIN_DEFAULTS)
    if unknown:
        raise UserError(f"{path}: unknown train keys {sorted(unknown)}")
    preset.setdefault("name", path.stem)
    return preset


def lr_factor(step: int, warmup: int, total: int, min_ratio: float, schedule: str = "cosine",
              decay_frac: float = 0.2, progress: float | None = None) -> float:
    """Linear warmup to 1 over `warmup` steps, then either cosine decay to min_ratio at the end, or (wsd) a
    constant 1 until the last `decay_frac` of the run and a linear cool-down to min_ratio. `progress` is the
    share of the run done (time used / budget for a wall-clock run); by default (step - warmup) / (total - warmup).
    WSD lets any checkpoint of the stable phase be cooled down later, whatever length the run ends up having."""
    if step < warmup:
        return (step + 1) / warmup
    if progress is None:
        progress = (step - warmup) / max(1, total - warmup)
    progress = min(1.0, max(0.0, progress))
    if schedule == "wsd":
        left = 1.0 - progress
        return 1.0 if left >= decay_frac else min_ratio + (1.0 - min_ratio) * left / max(decay_frac, 1e-9)
    if schedule != "cosine":
        raise UserError(f"unknown schedule {schedule!r} (known: cosine, wsd)")
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ---------------------------------------------------------------- data order


class DataOrder:
    """Row order: a permutation per epoch, seeded by (seed, epoch); `position` counts rows consumed."""

    def __init__(self, n_rows: int, seed: int):
        if n_rows <= 0:
            raise UserError("the training split is empty")
        self.n, self.seed = n_rows, seed
        self._epoch, self._perm = -1, None

    def take(self, position: int, count: int):
        import numpy as np

        out = np.empty(count, dtype=np.int64)
        for k in range(count):
            epoch, i = divmod(position + k, self.n)
            if epoch != self._epoch:
                self._epoch, self._perm = epoch, np.random.default_rng([self.seed, epoch]).permutation(self.n)
            out[k] = self._perm[i]
        return out


# ---------------------------------------------------------------- checkpoints


def _rng_state() -> dict:
    import numpy as np
    import torch

    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    import numpy as np
    import torch

    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, state: dict) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------- the run: setup, one step, evaluation


@dataclass
class Run:
    """A training run as _setup() leaves it. The loop advances step, position and tokens and keeps best_value,
    skipped and the last evaluation here: what a checkpoint saves."""
    preset: dict
    tc: dict
    data_dir: Path
    out_dir: Path
    device: str
    world: int
    rank: int
    train_split: object
    val_split: object
    meta: dict
    tok_path: Path | None
    mcfg: object
    model: object  # what the steps run (compiled, DDP-wrapped)
    raw_model: object  # whose weights are saved
    optimizer: object
    precision: str
    hardware: str
    step: int = 0
    position: int = 0
    best_value: float = float("inf")
    skipped: int = 0
    prior_seconds: float = 0.0
    prior_tokens: int = 0
    tokens: int = 0
    metrics: dict = field(default_factory=dict)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def autocast(self):
        import torch

        device_type = "cuda" if self.device.startswith("cuda") else "cpu"
        return torch.autocast(device_type, dtype=torch.bfloat16, enabled=self.precision == "bf16")


def _setup(preset: dict, data_dir: Path, out_dir: Path, tc: dict, resume: bool, device: str | None,
           tokenizer: str | None, init_from) -> Run:
    """Devices and ranks, the data and its vocabulary, the model and optimiser (resumed or initialised), the run
    folder's config files."""
    import numpy as np
    import torch

    from trainer.model import ModelConfig, TinyFIM
    from trainer.packed import PackedSplit, write_json_atomic

    if tc["threads"]:  # tiny models train fastest on one thread (OpenMP sync costs more than it gives)
        torch.set_num_threads(int(tc["threads"]))
    # -- distributed setup (torchrun sets WORLD_SIZE / RANK / LOCAL_RANK)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda but no CUDA device is available")
    if world > 1:
        import torch.distributed as dist

        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device.startswith("cuda"):
            torch.cuda.set_device(local)
            device = f"cuda:{local}"
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")

    # -- data and vocabulary (read from the dataset, never typed)
    try:
        train_split = PackedSplit(data_dir, "train")
        val_split = PackedSplit(data_dir, "val") if "val" in train_split.meta["splits"] else None
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise UserError(str(exc)) from exc
    meta = train_split.meta
    vocab_size = int(meta["vocab_size"])
    from trainer.tokenizer import check_vocab_size, find_for_dataset

    tok_path = find_for_dataset(data_dir, meta, tokenizer, also=[init_from])
    if tok_path is not None:
        check_vocab_size(tok_path, vocab_size, "the dataset's vocab_size")
    elif rank == 0:
        print(f"warning: no tokenizer found for {data_dir}: the run trains, but `export` will need --tokenizer "
              "(pass the one the dataset was built with: train --tokenizer PATH)", file=sys.stderr)
    mcfg = ModelConfig(vocab_size=vocab_size, **{**preset.get("model", {}), "context": int(meta["context"])})
    if int(preset.get("model", {}).get("context", mcfg.context)) != mcfg.context and rank == 0:
        print(f"note: preset context {preset['model']['context']} != dataset context {mcfg.context}; "
              "using the dataset's", file=sys.stderr)

    # -- model and optimiser, resumed or initialised
    seed = int(tc["seed"])
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    model = TinyFIM(mcfg).to(device)
    optimizer = build_optimizers(model, tc, fused=True)  # fused AdamW: on CPU too (6x faster than the default)
    lr_factor(0, int(tc["warmup"]), int(tc["steps"]), float(tc["min_lr_ratio"]), str(tc["schedule"]),
              float(tc["decay_frac"]))  # unknown schedule: fail before any work
    precision, precision_note = resolve_precision(str(tc["precision"]), device)
    hardware = (torch.cuda.get_device_name(device) if device.startswith("cuda")
                else f"{_cpu_name()} ({torch.get_num_threads()} threads)")
    run = Run(preset, tc, data_dir, out_dir, device, world, rank, train_split, val_split, meta, tok_path, mcfg, model,
              model, optimizer, precision, hardware)
    last_path = out_dir / "checkpoints" / "last.pt"
    if resume:
        if not last_path.is_file():
            raise UserError(f"--resume: {last_path} not found")
        ckpt = torch.load(last_path, map_location=device, weights_only=False)
        if ckpt["model_config"] != mcfg.to_dict():
            raise UserError(f"--resume: the checkpoint's model config differs from the preset's: "
                            f"{ckpt['model_config']} vs {mcfg.to_dict()}")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        _set_rng_state(ckpt["rng"])
        run.step, run.position, run.best_value = ckpt["step"], ckpt["position"], ckpt["best_value"]
        run.skipped = ckpt.get("skipped_steps", 0)
        run.prior_seconds, run.prior_tokens = ckpt["training"]["seconds"], ckpt["training"]["tokens"]
    elif last_path.is_file():
        raise UserError(f"{out_dir} already holds a run: pass --resume to continue it or use another --out")
    elif init_from:
        from trainer.export import load_model_folder

        start, _ = load_model_folder(init_from)
        if start.cfg.to_dict() != mcfg.to_dict():
            raise UserError(f"--init-from {init_from}: its model config differs from the preset's: "
                            f"{start.cfg.to_dict()} vs {mcfg.to_dict()}")
        model.load_state_dict(start.state_dict())
    run.tokens = run.prior_tokens
    if tc["compile"]:
        run.model = torch.compile(model)
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        ids = [int(device.split(":")[1])] if ":" in device else None
        run.model = DistributedDataParallel(run.model, device_ids=ids)
    if precision_note and run.is_main:
        print(f"note: {precision_note}", file=sys.stderr)

    # -- run folder
    if run.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        resolved = {"preset": preset.get("name"), "model": mcfg.to_dict(), "train": tc, "data": str(data_dir),
                    "tokenizer": str(tok_path) if tok_path else None, "device": device, "world_size": world,
                    "parameters": model.num_parameters(), "total_steps": int(tc["steps"]), "precision": precision}
        write_json_atomic(out_dir / "config.json", resolved)
        write_json_atomic(out_dir / "data_meta.json", {**meta, "_path": str(data_dir.resolve())})
        if tok_path is not None:
            shutil.copyfile(tok_path, out_dir / "tokenizer.json")
        length = f"{tc['minutes']} minutes" if tc["minutes"] else f"{tc['steps']} steps"
        print(f"training {preset.get('name')}: {model.num_parameters() / 1e6:.2f}M parameters, vocab {vocab_size}, "
              f"context {mcfg.context}, {length} of {tc['batch_size']}x{tc['grad_accum']}x{world} rows on "
              f"{device} in {precision}, {tc['optimizer']}, {tc['schedule']} schedule"
              + (f" (resuming at step {run.step})" if resume else ""), file=sys.stderr)
    return run


def _step(run: Run, batches, nan: bool = False):
    """One optimiser step over the micro-batches; returns the loss and the gradient norm as device tensors (read
    back later: no host sync per step) and the learning rate used. A non-finite step changes no weight."""
    import torch

    from trainer.model import forward_loss

    model, optimizer, accum = run.model, run.optimizer, int(run.tc["grad_accum"])
    loss_sum = torch.zeros((), device=run.device)
    for micro, (x, m) in enumerate(batches):
        sync = micro == accum - 1 or run.world == 1
        ctx = model.no_sync() if (run.world > 1 and not sync) else contextlib.nullcontext()
        with ctx, run.autocast():
            _, loss = forward_loss(model, x, m, check=False)  # ids checked on the host by the prefetcher
            if nan:
                loss = loss * float("nan")
            (loss / accum).backward()
        loss_sum += loss.detach() / accum
    grad_norm = torch.nn.utils.clip_grad_norm_(run.raw_model.parameters(), float(run.tc["grad_clip"]))
    if run.world > 1:  # every rank logs the global batch's loss and takes the same skip decision
        import torch.distributed as dist

        dist.all_reduce(loss_sum)
        loss_sum /= run.world
    lr = optimizer.param_groups[0]["lr"]
    finite = torch.isfinite(loss_sum) & torch.isfinite(grad_norm)
    if optimizer.device_skip:
        optimizer.step(found_inf=(~finite).float())
    elif bool(finite):
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss_sum, grad_norm, lr


def _evaluate(run: Run, token_bytes, log, save_best) -> None:
    """Validation loss (every rank), then on rank 0 the generation check, the log record and the best checkpoint
    when the preset's metric improved."""
    tc = run.tc
    run.metrics = {"step": run.step, **evaluate_val(run.raw_model, run.val_split, run.device, int(tc["batch_size"]),
                                                    int(tc["eval_batches"]), run.autocast, token_bytes)}
    if not run.is_main:
        return
    run.metrics.update(generation_check(run.raw_model, run.data_dir, run.tok_path, run.meta, int(tc["gen_samples"])))
    log(run.metrics)
    metric = run.metrics.get(tc["best_metric"])
    if metric is not None and metric < run.best_value:
        run.best_value = metric
        save_best()


def _checkpoint_state(run: Run, kind: str, seconds: float) -> dict:
    from trainer.tokenizer import file_sha256

    return {"kind": kind, "model": run.raw_model.state_dict(), "optimizer": run.optimizer.state_dict(),
            "rng": _rng_state(), "step": run.step, "position": run.position, "best_value": run.best_value,
            "skipped_steps": run.skipped, "model_config": run.mcfg.to_dict(), "train_config": run.tc,
            "preset": run.preset.get("name"), "metrics": run.metrics,
            "training": {"tokens": run.tokens, "seconds": seconds, "hardware": run.hardware, "world_size": run.world,
                         "precision": run.precision},
            "data": {"dir": str(run.data_dir), "meta_sha256": file_sha256(run.data_dir / "meta.json"),
                     "tokenizer_sha256": file_sha256(run.tok_path) if run.tok_path else None}}


# ---------------------------------------------------------------- the loop


def train(preset: dict, data_dir, out_dir, *, resume: bool = False, device: str | None = None,
          overrides: dict | None = None, stop_after: int | None = None, tokenizer: str | None = None,
          tensorboard: bool = True, progress: bool = True, inject_nan_steps=(), init_from=None) -> dict:
    from trainer.loop import Prefetcher, RunClock, StepResults, StopRequest, peak_flops
    from trainer.model import flops_per_token

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    tc = {**TRAIN_DEFAULTS, **preset.get("train", {}), **(overrides or {})}
    total_steps = int(tc["steps"])
    stop_at = min(total_steps, stop_after) if stop_after else total_steps
    run = _setup(preset, data_dir, out_dir, tc, resume, device, tokenizer, init_from)
    device, world, mcfg, is_main = run.device, run.world, run.mcfg, run.is_main
    warmup, min_ratio = int(tc["warmup"]), float(tc["min_lr_ratio"])
    schedule, decay_frac = str(tc["schedule"]), float(tc["decay_frac"])
    budget_s = float(tc["minutes"]) * 60 if tc["minutes"] else None
    last_path = out_dir / "checkpoints" / "last.pt"
    n_params = run.raw_model.num_parameters()
    metrics_file = open(out_dir / "metrics.jsonl", "a", encoding="utf-8") if is_main else None  # noqa: SIM115
    tb = None
    if is_main and tensorboard:
        from torch.utils.tensorboard import SummaryWriter

        tb = SummaryWriter(str(out_dir / "tb"))

    def log(record: dict) -> None:
        if metrics_file is None:
            return
        metrics_file.write(json.dumps(record) + "\n")
        metrics_file.flush()
        if tb is not None:
            for k, v in record.items():
                if k != "step" and isinstance(v, (int, float)) and math.isfinite(v):
                    tb.add_scalar(k, v, record["step"])

    token_bytes = token_byte_lengths(run.tok_path, mcfg.vocab_size)
    order = DataOrder(len(run.train_split), int(tc["seed"]))
    B, accum = int(tc["batch_size"]), int(tc["grad_accum"])
    rows_per_step = B * accum * world
    tokens_per_step = rows_per_step * mcfg.context
    nan_in_a_row = 0
    t_start = time.time()
    log_every, patience = int(tc["log_every"]), int(tc["nan_patience"])
    clock = RunClock(budget_s, run.prior_seconds, world, device, every=log_every)  # rank 0's clock decides
    prefetch = Prefetcher(run.train_split, order, B, accum, world, run.rank, mcfg.vocab_size, device)
    results = StepResults()
    peak = peak_flops(device)
    loss_value = norm_value = float("nan")

    def seconds() -> float:
        return round(clock.seconds(), 2)

    def settle() -> None:
        """Reads the steps since the last call back from the device: skipped-step events, the divergence stop,
        the loss average. Called every step when the optimiser cannot skip on the device, else at log steps."""
        nonlocal nan_in_a_row, train_loss_ema, loss_value, norm_value
        for s, loss_value, norm_value, _ in results.settle():
            if math.isfinite(loss_value) and math.isfinite(norm_value):
                nan_in_a_row = 0
                train_loss_ema = loss_value if train_loss_ema is None else 0.9 * train_loss_ema + 0.1 * loss_value
                continue
            run.skipped += 1
            nan_in_a_row += 1
            log({"step": s, "event": "skipped_nonfinite", "loss": loss_value, "grad_norm": norm_value})
            if bar is not None:
                bar.write(f"step {s}: non-finite loss {loss_value} / grad norm {norm_value}: step skipped "
                          f"({nan_in_a_row} in a row)")
            if nan_in_a_row >= patience:
                raise UserError(
                    f"training diverged: {nan_in_a_row} steps in a row with a non-finite loss or gradient "
                    f"(last at step {s}); lower the learning rate (--set lr=...) or check the data. "
                    f"The last good checkpoint is {last_path}")

    def finished(done: float | None) -> bool:
        if budget_s is None:
            return run.step >= stop_at
        return done >= 1.0 or (stop_after is not None and run.step >= stop_after)

    def save_best() -> None:
        save_checkpoint(out_dir / "checkpoints" / "best.pt", _checkpoint_state(run, "best", seconds()))

    bar = None
    if is_main and progress:
        from tqdm import tqdm

        bar = tqdm(total=None if budget_s else stop_at, initial=run.step, desc="train", unit="step", file=sys.stderr,
                   dynamic_ncols=True)
    last_save = time.time()
    checkpoint_s = float(tc["checkpoint_minutes"]) * 60 if tc["checkpoint_minutes"] else None
    done = clock.progress(run.step)
    train_loss_ema = None
    t_window, tok_window = time.time(), 0
    run.model.train()
    stop = StopRequest(enabled=world == 1)  # Ctrl-C: end the step, write the checkpoint, return
    factor = None
    try:
        while not finished(done) and not stop.requested:
            factor, was = lr_factor(run.step, warmup, total_steps, min_ratio, schedule, decay_frac, done), factor
            if schedule == "wsd" and was == 1.0 and factor < 1.0 and is_main:  # the cool-down starts now
                save_checkpoint(out_dir / "checkpoints" / "stable.pt", _checkpoint_state(run, "stable", seconds()))
            run.optimizer.set_lr_factor(factor)
            batches = prefetch.batches(run.position, run.position + rows_per_step)
            loss_sum, grad_norm, lr = _step(run, batches, nan=run.step in inject_nan_steps)
            run.position += rows_per_step
            run.tokens += tokens_per_step
            results.add(run.step + 1, loss_sum, grad_norm, lr)
            run.step += 1
            step = run.step
            done = clock.progress(step)
            last = finished(done) or stop.requested
            tok_window += tokens_per_step
            if bar is not None:
                bar.update(1)
            do_eval = (step % int(tc["eval_every"]) == 0 or last) and not stop.requested
            due = checkpoint_s is not None and time.time() - last_save >= checkpoint_s
            save_now = is_main and (step % int(tc["checkpoint_every"]) == 0 or last or due)
            if not run.optimizer.device_skip or step % log_every == 0 or last or do_eval or save_now:
                settle()
            if step % log_every == 0 or last:
                now = time.time()
                tps = tok_window / max(now - t_window, 1e-9)
                t_window, tok_window = now, 0
                flops = tps * flops_per_token(mcfg, n_params)
                log({"step": step, "loss": loss_value, "lr": lr, "grad_norm": norm_value, "tokens": run.tokens,
                     "tokens_per_s": tps, "flops_per_s": flops, **({"mfu": flops / peak} if peak else {}),
                     "seconds": seconds()})
                if bar is not None:
                    left = {"left_min": f"{(1 - done) * budget_s / 60:.1f}"} if budget_s else {}
                    bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{lr:.2e}", tok_s=f"{tps:.0f}", **left)
            if do_eval and run.val_split is not None:
                _evaluate(run, token_bytes, log, save_best)
                if bar is not None:
                    bar.write(f"step {step}: val loss {run.metrics.get('val_loss', float('nan')):.4f}")
            if save_now:
                state = _checkpoint_state(run, "last", seconds())
                save_checkpoint(last_path, state)
                last_save = time.time()
                if run.val_split is None:  # nothing to rank by: best is the latest
                    save_checkpoint(out_dir / "checkpoints" / "best.pt", {**state, "kind": "best"})
    finally:
        stop.close()
        prefetch.close()
        if bar is not None:
            bar.close()
        if metrics_file is not None:
            metrics_file.close()
        if tb is not None:
            tb.close()
        if world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()
    elapsed = time.time() - t_start
    return {"step": run.step, "train_loss": train_loss_ema if train_loss_ema is not None else float("nan"),
            "val_loss": run.metrics.get("val_loss", float("nan")), "metrics": run.metrics,
            "skipped_steps": run.skipped, "tokens": run.tokens, "seconds": run.prior_seconds + elapsed,
            "tokens_per_s": (run.tokens - run.prior_tokens) / max(elapsed, 1e-9), "parameters": n_params,
            "rank": run.rank, "interrupted": stop.requested}
