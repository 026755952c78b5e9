"""Does bf16 autocast train as well as fp32? The same short run twice, at equal tokens, compared on validation loss.

    .venv/bin/python bench/precision_check.py --data build/pipeline-default/dataset [--preset test] [--steps 300]

For each seed, both runs start from that seed, see the same rows in the same order and use the same schedule;
only the autocast precision differs. Printed: validation loss (overall and per source) at every evaluation of
both runs and the difference; with two or more seeds also the fp32 runs' spread between seeds, the yardstick
for the bf16 - fp32 gap (a gap within the seed-to-seed spread is noise). Each run's tokens/s is shown too, but
the runs are sequential: bench/train_throughput.py is the speed comparison. Runs go to build/precision-check/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="a built dataset folder")
    ap.add_argument("--preset", default="test", help="model and schedule (default: test)")
    ap.add_argument("--steps", type=int, default=300, help="optimiser steps of each run")
    ap.add_argument("--eval-every", type=int, default=100, help="steps between validation evaluations")
    ap.add_argument("--out", default=str(ROOT / "build/precision-check"), help="folder for the two runs")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--seeds", default="1337", help="comma-separated seeds (two or more: the seed spread too)")
    args = ap.parse_args()
    from trainer.train import cpu_has_bf16, load_preset, train

    if not cpu_has_bf16():
        print("note: this CPU has no native bf16: bf16 autocast runs, but slower than fp32")
    preset = load_preset(args.preset)
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    finals: dict[tuple[str, int], float] = {}
    for seed in seeds:
        runs, evals = {}, {}
        for precision in ("fp32", "bf16"):
            out = Path(args.out) / f"{precision}-seed{seed}"
            if out.exists():
                shutil.rmtree(out)
            runs[precision] = train(preset, args.data, out, tensorboard=False, progress=False,
                                    overrides={"precision": precision, "steps": args.steps, "seed": seed,
                                               "eval_every": args.eval_every, "checkpoint_every": args.steps,
                                               "gen_samples": 0, "threads": args.threads})
            lines = (out / "metrics.jsonl").read_text().splitlines()
            evals[precision] = [r for r in map(json.loads, lines) if "val_loss" in r]
            finals[precision, seed] = evals[precision][-1]["val_loss"]
        print(f"\nseed {seed}: preset {args.preset}, {args.steps} steps, {runs['fp32']['tokens']:,} tokens each, "
              f"data {args.data}")
        print(f"{'step':>6} {'fp32 val':>9} {'bf16 val':>9} {'bf16-fp32':>9}")
        for a, b in zip(evals["fp32"], evals["bf16"], strict=True):
            print(f"{a['step']:>6} {a['val_loss']:>9.4f} {b['val_loss']:>9.4f} {b['val_loss'] - a['val_loss']:>+9.4f}")
        last_a, last_b = evals["fp32"][-1], evals["bf16"][-1]
        for key in sorted(k for k in last_a if k.startswith("val_loss/")):
            print(f"  {key:<28} fp32 {last_a[key]:.4f}  bf16 {last_b.get(key, float('nan')):.4f}")
        tps = {p: r["tokens_per_s"] for p, r in runs.items()}
        print(f"tokens/s (sequential runs): fp32 {tps['fp32']:.0f}, bf16 {tps['bf16']:.0f}")
    gaps = [finals["bf16", s] - finals["fp32", s] for s in seeds]
    print(f"\nfinal val loss, bf16 - fp32 per seed: {', '.join(f'{g:+.4f}' for g in gaps)}; "
          f"mean {sum(gaps) / len(gaps):+.4f}")
    if len(seeds) > 1:
        fp32 = [finals["fp32", s] for s in seeds]
        print(f"fp32 between seeds: {min(fp32):.4f} .. {max(fp32):.4f} (spread {max(fp32) - min(fp32):.4f})")
    return 0

if __name__ == "__main__":
    sys.exit(main())
