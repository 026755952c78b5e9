"""Training throughput of each preset and precision side by side: tokens/s and model FLOPs utilisation (MFU).

    .venv/bin/python bench/train_throughput.py [--presets test,small,default,gpu] [--variants fp32,bf16,bf16+compile]
                                               [--device cpu|cuda] [--steps 3] [--batch N] [--threads N]

One training step = forward + backward + gradient clipping + fused AdamW on random tokens at the preset's
context (the vocabulary size is the preset's data.vocab_size), as trainer/train.py does it. Variants: fp32,
bf16 (autocast), and either with "+compile" (torch.compile; its compile time is excluded and printed). Every
variant of a preset is timed in the same run, in rounds that alternate the order, and shown as a ratio of the
first variant, so a machine shared with other work still gives comparable figures. MFU = tokens/s x training
FLOPs per token (6N + 12 L H Q T) / peak, the peak measured in the same run (a large matmul in fp32 and in
bf16), and against the datasheet dense bf16 peak when the GPU is known. On CPU the batch defaults to 4 rows so
every preset fits in seconds; on CUDA it is the preset's batch size.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trainer.loop import DATASHEET_BF16_FLOPS as DATASHEET_BF16  # noqa: E402


def matmul_peak(device: str, dtype_name: str) -> float:
    import torch

    n = 2048 if device == "cpu" else 8192
    dtype = getattr(torch, dtype_name)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    reps = 3 if device == "cpu" else 50
    a @ b
    _sync(device)
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t)


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


class Variant:
    """One preset in one precision (and compiled or not), ready to time a step at a time."""

    def __init__(self, name: str, variant: str, device: str, batch: int | None):
        import torch

        from trainer.model import ModelConfig, TinyFIM, flops_per_token, forward_loss, param_groups
        from trainer.train import load_preset

        precision, _, extra = variant.partition("+")
        if precision not in ("fp32", "bf16") or extra not in ("", "compile"):
            raise SystemExit(f"error: variant {variant!r}: use fp32 or bf16, optionally +compile")
        preset = load_preset(name)
        vocab = int(preset.get("data", {}).get("vocab_size", 8192))
        self.cfg = cfg = ModelConfig(vocab_size=vocab, **{**preset["model"], "dropout": 0.0})
        tc = preset["train"]
        self.B = batch or (tc["batch_size"] if device.startswith("cuda") else min(4, tc["batch_size"]))
        self.preset, self.variant, self.device = name, variant, device
        torch.manual_seed(0)
        model = TinyFIM(cfg).to(device)
        self.n = model.num_parameters()
        self.flops_per_token = flops_per_token(cfg, self.n)
        opt = torch.optim.AdamW(param_groups(model, 0.1), lr=1e-4, fused=True)  # as train.py
        fwd = torch.compile(model) if extra else model
        x = torch.randint(0, vocab, (self.B, cfg.context + 1), device=device)
        m = torch.ones_like(x)
        device_type = "cuda" if device.startswith("cuda") else "cpu"

        def step():
            with torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                _, loss = forward_loss(fwd, x, m, check=False)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)

        self.step = step
        t = time.perf_counter()
        for _ in range(2 if extra else 1):  # warm-up: allocations, kernel choice, compilation
            step()
        _sync(device)
        self.warmup_s = time.perf_counter() - t
        self.times: list[float] = []

    def time_steps(self, steps: int) -> None:
        _sync(self.device)
        t = time.perf_counter()
        for _ in range(steps):
            self.step()
        _sync(self.device)
        self.times.append((time.perf_counter() - t) / steps)

    def result(self) -> dict:
        dt = sorted(self.times)[len(self.times) // 2]  # median round
        tps = self.B * self.cfg.context / dt
        return {"preset": self.preset, "variant": self.variant, "parameters": self.n, "batch": self.B,
                "context": self.cfg.context, "s_per_step": dt, "tokens_per_s": tps,
                "flops_per_s": tps * self.flops_per_token, "warmup_s": self.warmup_s}


def bench_preset(name: str, variants: list[str], device: str, steps: int, batch: int | None, rounds: int) -> list:
    built = [Variant(name, v, device, batch) for v in variants]
    for r in range(rounds):  # alternate the order so drifting load from other work hits every variant alike
        for v in built if r % 2 == 0 else reversed(built):
            v.time_steps(steps)
    return [v.result() for v in built]


def main() -> int:
    import torch

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default="test,small,default,gpu", help="comma-separated preset names")
    ap.add_argument("--variants", default="fp32,bf16", help="comma-separated: fp32, bf16, fp32+compile, bf16+compile")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per variant (the median round is shown)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cpu or cuda")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per round (after the warm-up steps)")
    ap.add_argument("--batch", type=int, default=None, help="rows per step (default: 4 on CPU, the preset's on CUDA)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    hw = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"CPU, {torch.get_num_threads()} threads"
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    peaks = {p: matmul_peak(args.device, {"fp32": "float32", "bf16": "bfloat16"}[p]) for p in ("fp32", "bf16")}
    sheet = next((v for k, v in DATASHEET_BF16.items() if k in hw), None)
    print(f"device: {hw}; measured matmul peak {peaks['fp32'] / 1e9:.1f} GFLOP/s fp32, "
          f"{peaks['bf16'] / 1e9:.1f} GFLOP/s bf16" + (f"; datasheet bf16 {sheet / 1e12:.0f} TFLOP/s" if sheet else ""))
    print(f"{'preset':<8} {'variant':<13} {'params':>8} {'batch':>5} {'ctx':>5} {'s/step':>8} {'tokens/s':>10} "
          f"{'ratio':>6} {'GFLOP/s':>9} {'MFU(meas)':>9}" + (f" {'MFU(sheet)':>10}" if sheet else "") + "  warm-up s")
    results = []
    for name in args.presets.split(","):
        rows = bench_preset(name.strip(), variants, args.device, args.steps, args.batch, args.rounds)
        for r in rows:
            r["ratio_to_first_variant"] = r["tokens_per_s"] / rows[0]["tokens_per_s"]
            r["mfu_measured_peak"] = r["flops_per_s"] / peaks[r["variant"].split("+")[0]]
            if sheet:
                r["mfu_datasheet"] = r["flops_per_s"] / sheet
            results.append(r)
            print(f"{r['preset']:<8} {r['variant']:<13} {r['parameters'] / 1e6:>7.2f}M {r['batch']:>5} "
                  f"{r['context']:>5} {r['s_per_step']:>8.3f} {r['tokens_per_s']:>10.0f} "
                  f"{r['ratio_to_first_variant']:>5.2f}x {r['flops_per_s'] / 1e9:>9.1f} "
                  f"{r['mfu_measured_peak']:>9.1%}" + (f" {r['mfu_datasheet']:>10.1%}" if sheet else "")
                  + f"  {r['warmup_s']:.1f}", flush=True)
    print(f"ratio: tokens/s against the preset's first variant ({variants[0]}), measured in the same run")
    if args.json:
        print(json.dumps({"device": hw, "peak_flops": peaks, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
