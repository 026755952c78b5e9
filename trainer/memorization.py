"""`python -m trainer memorization`: how often long completions are copied verbatim from the training corpus.

    npm run --silent tinyfim -- bench --model DIR --data DS/eval/fim_spans.jsonl --predictions preds.jsonl
    python -m trainer memorization --predictions preds.jsonl --db WORKDIR/corpus.sqlite [--min-chars 50]

Takes the completions of --min-chars or more characters (stripped) from bench --predictions files and reports the
share that occur verbatim in the corpus's training split: a small model that copies whole stretches of its
training files can leak them (licences, secrets) into the user's code. Completions equal to the reference are
reported apart: a verbatim match there may be ordinary shared boilerplate rather than recall.

It also reports completions (of any length) that hold secret-shaped strings (AWS keys, tokens, private-key blocks,
high-entropy strings), found with the same detect-secrets rules as the corpus scan (trainer/corpus/secrets.py): by
row number and kind only, so the report never repeats a secret.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from trainer.errors import UserError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--predictions", nargs="+", required=True, metavar="FILE",
                        help="JSONL files written by `tinyfim bench --predictions` (rows with a 'completion')")
    parser.add_argument("--db", required=True, help="the corpus SQLite database the model was trained from")
    parser.add_argument("--split", default="train", choices=["train", "val", "test"],
                        help="corpus split to search (default train)")
    parser.add_argument("--min-chars", type=int, default=50, help="completions at least this long count (default 50)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def load_completions(paths) -> list[dict]:
    rows = []
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise UserError(f"{path} not found (write it with `tinyfim bench ... --predictions {path}`)")
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}:{i}: not valid JSON ({exc.msg})") from None
            if isinstance(row, dict) and isinstance(row.get("completion"), str):
                rows.append({**row, "at": f"{path}:{i}"})
    return rows


def memorization(completions: list[dict], texts, min_chars: int = 50) -> dict:
    """Share of completions (>= min_chars stripped) found verbatim in `texts` (an iterable of strings)."""
    if min_chars < 1:
        raise UserError(f"--min-chars must be >= 1, got {min_chars}")
    long = [r for r in completions if len(r["completion"].strip()) >= min_chars]
    # one string with separators no completion contains: `in` is then a fast substring search
    haystack = "\0".join(texts)
    found = [r for r in long if r["completion"].strip() in haystack]
    equal_ref = [r for r in found if r["completion"].strip() == str(r.get("reference", "")).strip()]
    n = len(long)
    return {"completions": len(completions), "long": n, "min_chars": min_chars, "verbatim": len(found),
            "verbatim_share": len(found) / n if n else None,
            "verbatim_not_reference": len(found) - len(equal_ref),
            "verbatim_not_reference_share": (len(found) - len(equal_ref)) / n if n else None,
            "corpus_chars": len(haystack),
            "examples": [r["completion"][:200] for r in found[:5]], **secret_shaped(completions)}


def secret_shaped(completions: list[dict]) -> dict:
    """Completions holding secret-shaped strings: how many, of which kinds, and where (file:row, line in it)."""
    from trainer.corpus.secrets import find_secrets

    kinds: Counter = Counter()
    where = []
    for i, r in enumerate(completions):
        findings = find_secrets(r["completion"], "completion.py")
        kinds.update({f.kind for f in findings})
        where += [{"at": r.get("at", str(i)), "line": f.line, "kind": f.kind} for f in findings]
    return {"secret_shaped": len({w["at"] for w in where}), "secret_kinds": dict(kinds), "secret_findings": where[:20]}


def run(args) -> int:
    from trainer.dataset import corpus_texts

    completions = load_completions(args.predictions)
    report = memorization(completions, corpus_texts(args.db, args.split), args.min_chars)
    report["split"] = args.split
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
        return 0
    share = "n/a" if report["verbatim_share"] is None else f"{report['verbatim_share']:.1%}"
    print(f"{report['long']} of {report['completions']} completions have >= {args.min_chars} characters; "
          f"{report['verbatim']} ({share}) appear verbatim in the {args.split} split "
          f"({report['verbatim_not_reference']} of them differ from the reference)")
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(report["secret_kinds"].items())) or "none"
    print(f"{report['secret_shaped']} of {report['completions']} completions hold secret-shaped strings ({kinds})")
    return 0
