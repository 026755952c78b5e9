"""Snippets per second for tinypy generation and the five tasks, single-process and with workers.

    .venv/bin/python bench/tinypy_rates.py [--in FILE] [--count N] [--workers W]

FILE holds TinyPy samples or pure programs separated by blank lines; without --in, N level-ALL programs are
generated first (seed 0). Prints our rates, the ratio against the reference figures given in the issue for
the original scripts (measured single-process on this kind of machine), and, for output/line count, the ratio
against an exec + sys.settrace baseline (the originals' method) measured in this same run.
"""

from __future__ import annotations

import argparse
import ast
import io
import os
import sys
import time
from contextlib import redirect_stdout

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from trainer.tinypy.generator import generate_programs  # noqa: E402
from trainer.tinypy.tasks import make_task_samples, split_snippets  # noqa: E402
from trainer.tinypy.tracer import clear_cache  # noqa: E402

# Reference rates of the original scripts from the issue (single process); generation from the research notes.
REFERENCE = {"generate": 6200, "output": 9500, "states": 9500, "line_count": 15900, "operator": 4000,
             "stepped_operator": 950, "stepped_input": 550}


def baseline_output(snippets):
    """The originals' method for output prediction: exec to validate, ast walk, exec again for the states."""
    kept = 0
    for code in snippets:
        try:
            with redirect_stdout(io.StringIO()):
                exec(code, {})
                names = [n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)
                         and isinstance(n.ctx, ast.Store)]
                scope: dict = {}
                exec(code, {}, scope)
            kept += bool([k for k in names if k in scope])
        except Exception:
            pass
    return kept


def baseline_line_count(snippets):
    """The originals' method for line counting: exec to validate, then exec under sys.settrace."""
    total = 0
    for code in snippets:
        count = 0

        def tracer(frame, event, arg):
            nonlocal count
            if event == "line" and frame.f_code.co_filename == "<string>":
                count += 1
            return tracer

        try:
            with redirect_stdout(io.StringIO()):
                exec(code, {})
                sys.settrace(tracer)
                try:
                    exec(code, {"__file__": "<string>"})
                finally:
                    sys.settrace(None)
            total += count
        except Exception:
            pass
    return total


def rate(fn, n, repeat=1):
    """Best rate of `repeat` runs (the machine is shared: the best run is the least disturbed one)."""
    best = 0.0
    for _ in range(repeat):
        clear_cache()  # every measurement starts with an empty line cache
        t0 = time.perf_counter()
        fn()
        best = max(best, n / (time.perf_counter() - t0))
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--in", dest="inp", help="snippets file (TinyPy samples or pure programs); default: generate")
    ap.add_argument("--count", type=int, default=10000, help="snippets to use / generate (default 10000)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes for the parallel column (default 2)")
    ap.add_argument("--repeat", type=int, default=2, help="runs per measurement, best kept (default 2)")
    ap.add_argument("--tasks", default="generate,output,states,line_count,operator,stepped_operator,stepped_input",
                    help="comma-separated subset to measure")
    args = ap.parse_args()
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = set(tasks) - set(REFERENCE)
    if unknown:
        ap.error(f"unknown task(s): {', '.join(sorted(unknown))}")

    if args.inp:
        with open(args.inp, encoding="utf-8") as f:
            snippets = split_snippets(f.read())[: args.count]
    else:
        snippets = generate_programs("ALL", args.count, seed=0, workers=args.workers)
    n = len(snippets)
    if n == 0:
        ap.error("no snippets")
    rep = args.repeat
    print(f"{n} snippets, {os.cpu_count()} CPUs, workers={args.workers}, best of {rep},"
          f" Python {sys.version.split()[0]}")
    print("reference/s = the original scripts' single-process rates given in the issue (generation: research"
          " notes), measured on another machine; the same-run baseline below is this machine")
    print(f"{'task':<18}{'ours 1 proc/s':>14}{'ours ' + str(args.workers) + ' proc/s':>14}"
          f"{'reference/s':>13}{'ratio 1p':>10}{'ratio ' + str(args.workers) + 'p':>10}")
    ours = {}
    for task in tasks:
        if task == "generate":
            # another seed than the input's, so the line cache holds none of these programs' lines
            r1 = rate(lambda: generate_programs("ALL", n, seed=1), n, rep)
            rw = rate(lambda: generate_programs("ALL", n, seed=2, workers=args.workers), n, rep)
        else:
            r1 = rate(lambda t=task: make_task_samples(t, snippets, seed=0), n, rep)
            rw = rate(lambda t=task: make_task_samples(t, snippets, seed=0, workers=args.workers), n, rep)
        ours[task] = (r1, rw)
        ref = REFERENCE[task]
        print(f"{task:<18}{r1:>14,.0f}{rw:>14,.0f}{ref:>13,}{r1 / ref:>9.1f}x{rw / ref:>9.1f}x", flush=True)

    m = min(n, 5000)
    if {"output", "line_count"} & set(tasks):
        print(f"\nsame-run baseline: the originals' exec/settrace method vs ours, 1 process, {m} snippets,"
              f" measured alternately (best of {max(rep, 3)} each; cold line cache for ours)")
        for task, fn in (("output", baseline_output), ("line_count", baseline_line_count)):
            if task not in tasks:
                continue
            base = mine = 0.0
            for _ in range(max(rep, 3)):
                base = max(base, rate(lambda fn=fn: fn(snippets[:m]), m))
                mine = max(mine, rate(lambda t=task: make_task_samples(t, snippets[:m], seed=0), m))
            rw = ours[task][1]
            print(f"  {task:<12} baseline {base:>8,.0f}/s (= {base / REFERENCE[task]:.2f}x the issue's figure)"
                  f"   ours {mine:>8,.0f}/s = {mine / base:.1f}x;  ours with {args.workers} procs (table)"
                  f" = {rw / base:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
