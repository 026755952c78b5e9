"""Training throughput of each preset: tokens/s and model FLOPs utilisation (MFU).

    .venv/bin/python bench/train_throughput.py [--presets test,small,default,gpu] [--device cpu|cuda]
                                               [--steps 3] [--batch N] [--threads N]

One training step = forward + backward + AdamW on random tokens at the preset's context (the vocabulary size
is the preset's data.vocab_size). MFU = tokens/s x training FLOPs per token (6N + 12 L H Q T) / peak, where
the peak is measured in the same run: a large fp32 matmul on CPU, a bf16 one on CUDA (also shown against the
datasheet dense bf16 peak when the GPU is known). On CPU the batch defaults to 4 rows so every preset fits in
seconds; on CUDA it is the preset's batch size with bf16 autocast.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DATASHEET_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12}


def matmul_peak(device: str) -> float:
    import torch

    n = 2048 if device == "cpu" else 8192
    dtype = torch.float32 if device == "cpu" else torch.bfloat16
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


def bench_preset(name: str, device: str, steps: int, batch: int | None) -> dict:
    import torch

    from trainer.model import ModelConfig, TinyFIM, flops_per_token, forward_loss, param_groups
    from trainer.train import load_preset

    preset = load_preset(name)
    vocab = int(preset.get("data", {}).get("vocab_size", 8192))
    cfg = ModelConfig(vocab_size=vocab, **{**preset["model"], "dropout": 0.0})
    tc = preset["train"]
    B = batch or (tc["batch_size"] if device.startswith("cuda") else min(4, tc["batch_size"]))
    torch.manual_seed(0)
    model = TinyFIM(cfg).to(device)
    opt = torch.optim.AdamW(param_groups(model, 0.1), lr=1e-4, fused=device.startswith("cuda"))
    x = torch.randint(0, vocab, (B, cfg.context + 1), device=device)
    m = torch.ones_like(x)
    use_bf16 = device.startswith("cuda")

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_bf16):
            _, loss = forward_loss(model, x, m)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()  # warm-up (allocations, kernel selection)
    _sync(device)
    t = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    dt = (time.perf_counter() - t) / steps
    n = model.num_parameters()
    tps = B * cfg.context / dt
    return {"preset": name, "parameters": n, "batch": B, "context": cfg.context, "s_per_step": dt,
            "tokens_per_s": tps, "flops_per_s": tps * flops_per_token(cfg, n)}


def main() -> int:
    import torch

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default="test,small,default,gpu", help="comma-separated preset names")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cpu or cuda")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per preset (after one warm-up step)")
    ap.add_argument("--batch", type=int, default=None, help="rows per step (default: 4 on CPU, the preset's on CUDA)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    hw = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"CPU, {torch.get_num_threads()} threads"
    peak = matmul_peak(args.device)
    sheet = next((v for k, v in DATASHEET_BF16.items() if k in hw), None)
    kind = "fp32" if args.device == "cpu" else "bf16"
    print(f"device: {hw}; measured matmul peak {peak / 1e9:.1f} GFLOP/s ({kind})"
          + (f"; datasheet bf16 {sheet / 1e12:.0f} TFLOP/s" if sheet else ""))
    print(f"{'preset':<8} {'params':>8} {'batch':>5} {'ctx':>5} {'s/step':>8} {'tokens/s':>10} {'GFLOP/s':>9} "
          f"{'MFU(meas)':>9}" + (f" {'MFU(sheet)':>10}" if sheet else ""))
    results = []
    for name in args.presets.split(","):
        r = bench_preset(name.strip(), args.device, args.steps, args.batch)
        r["mfu_measured_peak"] = r["flops_per_s"] / peak
        if sheet:
            r["mfu_datasheet"] = r["flops_per_s"] / sheet
        results.append(r)
        print(f"{r['preset']:<8} {r['parameters'] / 1e6:>7.2f}M {r['batch']:>5} {r['context']:>5} "
              f"{r['s_per_step']:>8.3f} {r['tokens_per_s']:>10.0f} {r['flops_per_s'] / 1e9:>9.1f} "
              f"{r['mfu_measured_peak']:>9.1%}" + (f" {r['mfu_datasheet']:>10.1%}" if sheet else ""), flush=True)
    base = results[0]
    for r in results[1:]:
        print(f"{r['preset']}: {r['tokens_per_s'] / base['tokens_per_s']:.2f}x the tokens/s of {base['preset']}")
    if args.json:
        print(json.dumps({"device": hw, "peak_flops": peak, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
