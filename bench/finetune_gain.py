"""What `trainer finetune` buys on one project: the base model against fine-tuned models, scored by the engine's
`tinyfim bench` (the editor's prompts, decoding and post-processing) in the same run.

    .venv/bin/python bench/finetune_gain.py --base models/default \
        --code .venv/lib/python3.11/site-packages/_pytest --minutes 5 15 --threads 2 --out build/finetune-bench/v2

For each --minutes value (and each --lora rank, `full` meaning every weight) it runs `python -m trainer finetune`
(kept in OUT/NAME when it is already there). The project's held-out files (10% by a stable hash, never trained on;
read from the fine-tuned model.json) give two sets: every non-blank line completed from just after its indentation
(line-start) and from a random cursor inside it (mid-line). Each model is scored on both, and on the general held-out
set (--general, default the default pipeline's eval/fim_lines.jsonl) with and without the rows cut from the
project's own files or from the standard-library files the fine-tunes replayed, and tinypy programs. Prints exact
match and edit similarity (for tinypy: output and line-count exact match) with ratios to the base.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAP = 2000  # prefix/suffix characters kept, as in the dataset's eval sets


def line_sets(texts: dict[str, str], seed: int, limit: int) -> dict[str, list[dict]]:
    """Line-start and mid-line rows from every non-blank line of the files (at most `limit` each, seeded)."""
    rng = random.Random(seed)
    start, mid = [], []
    for key in sorted(texts):
        text = texts[key]
        pos = 0
        for line in text.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            indent = len(body) - len(body.lstrip())
            if body.strip():
                a, end = pos + indent, pos + len(body)
                start.append(_row(text, a, end))
                if end - a >= 2:
                    cut = rng.randint(a + 1, end - 1)
                    if text[cut:end].strip():
                        mid.append(_row(text, cut, end))
            pos += len(line)
    rng.shuffle(start)
    rng.shuffle(mid)
    return {"line-start": start[:limit], "mid-line": mid[:limit]}


def _row(text: str, a: int, b: int) -> dict:
    return {"prefix": text[max(0, a - CAP):a], "middle": text[a:b], "suffix": text[b:b + CAP]}


def from_project(row: dict, texts: list[str]) -> bool:
    """The general-set row was cut from one of the project's files."""
    probe = row["prefix"][-300:] + row["middle"] + row["suffix"][:300]
    return any(probe in t for t in texts)


def bench(model: Path, data: Path, threads: int, extra: tuple = ()) -> dict:
    out = subprocess.run(["node", str(ROOT / "dist" / "cli.js"), "bench", "--model", str(model), "--data", str(data),
                          "--json", "--threads", str(threads), *extra], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"error: bench of {model} on {data} failed:\n{out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if "trace" in result:  # tinypy programs: output and line-count exact match
        t = result["trace"]
        return {"em": t["output_exact_match"], "es": t["line_count_exact_match"], "n": t["count"]}
    fim = result["fim"]
    return {"em": fim["exact_match"], "es": fim["edit_similarity"], "n": fim["count"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--base", required=True, help="base model folder (with model.safetensors)")
    p.add_argument("--code", required=True, nargs="+", help="the project's folders")
    p.add_argument("--minutes", type=float, nargs="+", default=[5.0, 15.0], help="fine-tuning budgets")
    p.add_argument("--lora", nargs="+", default=["full"], help="'full' and/or LoRA ranks, e.g. full 8")
    p.add_argument("--threads", type=int, default=1, help="threads for fine-tuning and for the bench")
    p.add_argument("--finetune-args", default="", help="more `trainer finetune` options, e.g. \"--lr 5e-4\"")
    p.add_argument("--general", default=str(ROOT / "build/pipeline-default/dataset/eval/fim_lines.jsonl"),
                   help="the general held-out set (JSONL of prefix/middle/suffix)")
    p.add_argument("--limit", type=int, default=2000, help="rows per project set (default: every held-out line)")
    p.add_argument("--tinypy", type=int, default=30, help="tinypy programs per level beside --general (0: none)")
    p.add_argument("--out", default=str(ROOT / "build/finetune-bench"), help="folder for models and sets")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not (ROOT / "dist" / "cli.js").is_file():
        sys.exit("error: dist/cli.js missing: run `node esbuild.mjs --cli --quiet` first")
    models = {"base": Path(args.base)}
    for kind in args.lora:
        for m in args.minutes:
            name = f"{'full' if kind == 'full' else 'lora' + kind}{m:g}"
            target = out / name
            if not (target / "model.json").is_file():
                cmd = [sys.executable, "-m", "trainer", "finetune", "--base", args.base, "--code", *args.code,
                       "--minutes", str(m), "--out", str(target), "--threads", str(args.threads), "--no-progress"]
                if kind != "full":
                    cmd += ["--lora", kind]
                cmd += args.finetune_args.split()
                print("$ " + " ".join(cmd), file=sys.stderr)
                subprocess.run(cmd, cwd=ROOT, check=True)
            models[name] = target
    first = next(m for n, m in models.items() if n != "base")
    info = json.loads((first / "model.json").read_text())["finetune"]
    roots = {Path(c).name: Path(c) for c in args.code}
    held = {k: (roots[k.split("/", 1)[0]] / k.split("/", 1)[1]).read_text(encoding="utf-8")
            for k in info["files"]["held_out_paths"]}
    sets = {}
    for name, rows in line_sets(held, 0, args.limit).items():
        sets[name] = out / f"project-{name}.jsonl"
        sets[name].write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    general = [json.loads(line) for line in Path(args.general).read_text(encoding="utf-8").splitlines() if line]
    project_texts = [f.read_text(encoding="utf-8", errors="replace") for c in args.code for f in Path(c).rglob("*.py")]
    # the standard-library files the fine-tunes replayed are no longer unseen either
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    replayed = {g for m in models.values() if m != models["base"]
                for g in json.loads((m / "model.json").read_text())["finetune"].get("general_files", [])}
    seen = project_texts + [(stdlib / g).read_text(encoding="utf-8", errors="replace") for g in sorted(replayed)]
    others = [r for r in general if not from_project(r, seen)]
    sets["general"] = Path(args.general)
    sets["general, unseen"] = out / "general-unseen.jsonl"
    sets["general, unseen"].write_text("".join(json.dumps(r) + "\n" for r in others), encoding="utf-8")
    tinypy = sorted(Path(args.general).parent.glob("tinypy_*.jsonl"))
    if tinypy:  # the hover's tasks: does fine-tuning on code make the model forget them?
        rows = [line for f in tinypy for line in f.read_text(encoding="utf-8").splitlines()[:args.tinypy]]
        sets["tinypy (output EM | line-count EM)"] = out / "tinypy.jsonl"
        sets["tinypy (output EM | line-count EM)"].write_text("\n".join(rows) + "\n", encoding="utf-8")

    print(f"project held-out files: {len(held)}; general set: {len(general)} rows, {len(general) - len(others)} of "
          f"them from the project's files or the {len(replayed)} standard-library files replayed (\"general, "
          "unseen\" leaves them out); for tinypy the two figures are output and line-count exact match")
    print("\n| set | rows | model | exact match | edit similarity | EM / base | ES / base |")
    print("|---|---|---|---|---|---|---|")
    for set_name, path in sets.items():
        base = None
        for name, model in models.items():
            # project lines: the editor's one-line request (at a line start it would ask for several lines, and
            # the reference is one line); the general set as the model card scores it
            single = set_name in ("line-start", "mid-line")
            r = bench(model, path, args.threads, ("--lines", "single") if single else ())
            base = base or r
            ratio = lambda a, b: f"{a / b:.2f}x" if b else "n/a"  # noqa: E731
            print(f"| {set_name} | {r['n']} | {name} | {r['em']:.1%} | {r['es']:.3f} | {ratio(r['em'], base['em'])} | "
                  f"{ratio(r['es'], base['es'])} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
