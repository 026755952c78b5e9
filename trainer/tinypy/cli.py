"""`python -m trainer tinypy {generate,trace,task}`: TinyPy programs, traces and the five task datasets.

    python -m trainer tinypy generate --level ALL --count 100000 --seed 0 --out data/tinypy.txt --workers 2
    python -m trainer tinypy trace --json snippet.py          # or `-` for stdin
    python -m trainer tinypy task --task line_count --in data/tinypy.txt --out data/count.txt [--jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

from trainer import contract
from trainer.errors import UserError


def _task_name(name: str) -> str:
    """The contract's spelling; the old hyphenated names (line-count) still work, with a note."""
    if "-" in name and name.replace("-", "_") in contract.TASKS:
        print(f"note: --task {name} is spelled {name.replace('-', '_')} now", file=sys.stderr)
        return name.replace("-", "_")
    return name


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="command", required=True)

    g = sub.add_parser("generate", help="generate TinyPy programs with their `# output` labels")
    g.add_argument("--level", default="ALL", help="1.1, 1.2, 2.1, 2.2, 3.1, 3.2, 4.1 or ALL (default ALL)")
    g.add_argument("--count", type=int, required=True, help="number of unique programs")
    g.add_argument("--seed", type=int, default=0, help="random seed; same seed, same programs (default 0)")
    g.add_argument("--out", required=True, help="output file (TinyPy format: samples separated by a blank line)")
    g.add_argument("--workers", type=int, default=1, help="processes (results do not depend on it)")
    g.add_argument("--pure", action="store_true", help="write the programs without their `# output` labels")

    t = sub.add_parser("trace", help="trace a snippet: stdout, executed-line count, final states, error")
    t.add_argument("file", nargs="?", default="-", help="snippet file, or - for stdin (default)")
    t.add_argument("--json", action="store_true", help="print the trace JSON (the only format for now)")
    t.add_argument("--max-steps", type=int, default=None, help="line events before giving up (default 100000)")
    t.add_argument("--timeout", type=float, default=None, help="seconds before giving up (general Python only)")

    k = sub.add_parser("task", help="build one of the task datasets from snippets")
    k.add_argument("--task", required=True, type=_task_name, choices=contract.TASKS,
                   help="which task (the names of trainer/contract.json)")
    k.add_argument("--in", dest="inp", required=True,
                   help="snippets: pure programs separated by blank lines, or TinyPy `# output` samples")
    k.add_argument("--out", required=True, help="output file")
    k.add_argument("--seed", type=int, default=0, help="random seed for the sampled tasks (default 0)")
    k.add_argument("--sampling-limit", type=int, default=None, help="stepped tasks: steps/maskings per snippet (3)")
    k.add_argument("--limit", type=int, default=None, help="operator tasks: operators per snippet/step (0 = all)")
    k.add_argument("--step-limit", type=int, default=None, help="stepped_input: steps per masking (10, 0 = all)")
    k.add_argument("--workers", type=int, default=1, help="processes (results do not depend on it)")
    k.add_argument("--jsonl", action="store_true", help="write {task, prompt, answer, level} records instead")


def _write_atomic(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None


def _positive(name: str, value: int | None) -> None:
    if value is not None and value < 0:
        raise UserError(f"{name} must be >= 0")


def run(args) -> int:
    if args.command == "generate":
        from trainer.tinypy.generator import check_level, generate_samples

        try:
            level = check_level(args.level)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if args.count < 1 or args.workers < 1:
            raise UserError("--count and --workers must be >= 1")
        samples = generate_samples(level, args.count, args.seed, args.workers, progress=True)
        body = (s.program if args.pure else s.text for s in samples)
        _write_atomic(args.out, "".join(b + "\n\n" for b in body))
        print(f"wrote {len(samples)} programs (level {level}, seed {args.seed}) to {args.out}", file=sys.stderr)
        return 0

    if args.command == "trace":
        from trainer.tinypy.tracer import DEFAULT_MAX_STEPS, DEFAULT_TIMEOUT, trace

        code = _read(args.file)
        r = trace(code, max_steps=args.max_steps or DEFAULT_MAX_STEPS, timeout=args.timeout or DEFAULT_TIMEOUT)
        print(json.dumps(r.to_json()))
        return 0

    from trainer.tinypy.tasks import make_task_records, make_task_samples, split_snippets

    for name in ("sampling_limit", "limit", "step_limit"):
        _positive("--" + name.replace("_", "-"), getattr(args, name))
    if args.workers < 1:
        raise UserError("--workers must be >= 1")
    programs = split_snippets(_read(args.inp))
    if not programs:
        raise UserError(f"no snippets in {args.inp} (expected programs separated by blank lines)")
    params = {"sampling_limit": args.sampling_limit, "limit": args.limit, "step_limit": args.step_limit}
    if args.jsonl:
        recs = make_task_records(args.task, programs, args.seed, workers=args.workers, progress=True, **params)
        _write_atomic(args.out, "".join(json.dumps(r) + "\n" for r in recs))
        n = len(recs)
    else:
        texts = make_task_samples(args.task, programs, args.seed, workers=args.workers, progress=True, **params)
        # every sample followed by a blank line: the originals' tokenizer (split on "\n\n", drop the last
        # piece) then keeps the last sample too
        _write_atomic(args.out, "".join(t + "\n\n" for t in texts))
        n = len(texts)
    print(f"wrote {n} {args.task} samples from {len(programs)} snippets to {args.out}", file=sys.stderr)
    return 0
