"""Which model shape fits the editor's latency budget? Random-init int8 models of candidate shapes, timed on the
editor's full completion path (bench/completion.ts), with their file sizes.

    .venv/bin/python bench/gpu_shapes.py [--shapes 4x192,6x192,4x256,6x256,8x256] [--context 256] [--positions 10]

Each shape is exported like a trained model (int8 ONNX, the committed tokenizer models/default/tokenizer.json,
model.json) into build/shapes/NAME and timed with `node out/bench/completion.js --model DIR` (compile first:
`npx tsc -p tsconfig.json`). Random weights never predict <|endoftext|> and rarely a newline, so every request
decodes to the token limit: the times are a worst case for that shape (a trained model stops earlier). The shapes
are timed in rounds that alternate their order (each figure is the median over the rounds), so other work on the
machine hits every shape alike; the first shape is the baseline and each row shows its cold p50 as a ratio of it.
Budget (issue 17): cold p50 <= 50 ms, p95 <= 120 ms on the full provider path, files <= 16 MiB each (int8 ONNX
and the bf16 float weights, 2 bytes per parameter).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MIB = 2**20
LIMIT_BYTES = 16 * MIB
def parse_shape(text: str, context: int) -> dict:
    """'6x256' -> a preset model section (head_dim 64, grouped-query attention as the presets use)."""
    from trainer.errors import UserError
    from trainer.gpu_recipe import parse_shape as shape_of

    try:
        shape = shape_of(text)
    except UserError as exc:
        raise SystemExit(f"error: {exc}") from None
    return {"context": context, **shape, "mlp_ratio": 4.0, "dropout": 0.0}


def export_random(shape: dict, out: Path, name: str) -> dict:
    """A random-init model of `shape` exported as the engine loads it; returns sizes and parameters."""
    import torch

    from trainer.export import write_manifest
    from trainer.model import ModelConfig, TinyFIM
    from trainer.onnx_graph import export_onnx, quantize_int8

    ref = json.loads((ROOT / "models/default/model.json").read_text())
    vocab = ref["architecture"]["vocab_size"]
    torch.manual_seed(0)
    model = TinyFIM(ModelConfig(vocab_size=vocab, **shape)).eval()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    fp32 = out / "model.fp32.onnx"
    export_onnx(model, fp32, share_head=False)
    quantize_int8(fp32, out / "model.onnx")
    fp32.unlink()
    shutil.copyfile(ROOT / "models/default/tokenizer.json", out / "tokenizer.json")
    meta = {"special_tokens": ref["special_tokens"], "prompts": ref["prompts"]}
    write_manifest(out, name=name, model=model, ckpt={"kind": "random-init"}, meta=meta, opset=17,
                   quantization="int8", evaluation={})
    n = model.num_parameters()
    return {"parameters": n, "onnx_bytes": (out / "model.onnx").stat().st_size, "bf16_bytes": 2 * n}


def time_completion(model_dir: Path, positions: int, typed: int) -> dict:
    """Cold and typing-through times of the shipped completion path (the first block bench/completion.js prints)."""
    script = ROOT / "out/bench/completion.js"
    if not script.is_file():
        raise SystemExit("error: out/bench/completion.js not found: run `npx tsc -p tsconfig.json` first")
    proc = subprocess.run(["node", str(script), "--model", str(model_dir), "--positions", str(positions),
                           "--typed", str(typed)], capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"error: completion bench failed on {model_dir}:\n{proc.stderr[-2000:]}")
    lines = proc.stdout.splitlines()
    out = {}
    for key, label in (("cold", "cold request, full path:"), ("typing", "typing, model call (warm KV):")):
        line = next(x for x in lines if x.startswith(label))  # the first block is the shipped variant
        out[key] = {k: float(v) for k, v in re.findall(r"(p50|p95|max)=([\d.]+)", line)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default="4x192,6x192,4x256,6x256,8x256", help="LAYERSxD_MODEL list; first = baseline")
    ap.add_argument("--context", type=int, default=256, help="context length of every candidate")
    ap.add_argument("--positions", type=int, default=10, help="cursor positions per sample file")
    ap.add_argument("--typed", type=int, default=2, help="characters typed through after each cold request")
    ap.add_argument("--out", default=str(ROOT / "build/shapes"), help="folder for the exported candidates")
    ap.add_argument("--rounds", type=int, default=3, help="timing rounds (median kept)")
    ap.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    shapes = [t.strip() for t in args.shapes.split(",") if t.strip()]
    dirs, rows = [], []
    for text in shapes:
        name = f"{text}-ctx{args.context}"
        dirs.append(Path(args.out) / name)
        rows.append({"shape": text, "context": args.context,
                     **export_random(parse_shape(text, args.context), dirs[-1], name)})
    runs: list[list[dict]] = [[] for _ in shapes]
    for r in range(args.rounds):
        order = range(len(shapes)) if r % 2 == 0 else reversed(range(len(shapes)))
        for i in order:
            runs[i].append(time_completion(dirs[i], args.positions, args.typed))

    def median(i: int, kind: str, stat: str) -> float:
        vals = sorted(x[kind][stat] for x in runs[i])
        return vals[len(vals) // 2]

    print(f"{'shape':<8} {'params':>8} {'onnx MiB':>8} {'bf16 MiB':>8} {'cold p50':>8} {'p95':>7} {'typing p50':>10} "
          f"{'p95':>7} {'p50 ratio':>9}  verdict")
    for i, row in enumerate(rows):
        t = {k: {s: median(i, k, s) for s in ("p50", "p95")} for k in ("cold", "typing")}
        row.update(t, rounds=runs[i])
        fits = (t["cold"]["p50"] <= 50 and t["cold"]["p95"] <= 120 and row["onnx_bytes"] <= LIMIT_BYTES
                and row["bf16_bytes"] <= LIMIT_BYTES)
        row["fits"] = fits
        print(f"{row['shape']:<8} {row['parameters'] / 1e6:>7.2f}M {row['onnx_bytes'] / MIB:>8.1f} "
              f"{row['bf16_bytes'] / MIB:>8.1f} {t['cold']['p50']:>8.1f} {t['cold']['p95']:>7.1f} "
              f"{t['typing']['p50']:>10.1f} {t['typing']['p95']:>7.1f} "
              f"{t['cold']['p50'] / median(0, 'cold', 'p50'):>8.2f}x  {'fits' if fits else 'over budget'}")
    print("random weights decode to the token limit on every request: a worst case for each shape")
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
