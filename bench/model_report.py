"""Markdown summary of bench/model_report.sh's OUT_DIR (the tables in models/default/MODEL_CARD.md).

    .venv/bin/python bench/model_report.py build/model-report
"""

import json
import sys
from pathlib import Path

LEVELS = ("1.1", "1.2", "2.1", "2.2", "3.1", "3.2", "4.1")


def main(out: Path) -> int:
    def load(name):
        p = out / name
        return json.loads(p.read_text()) if p.is_file() and p.stat().st_size else None  # empty: still running

    print("| FIM set | rows | exact match | edit similarity | chrF | BLEU | empty | p50 / p95 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for name in ("fim_lines", "fim_spans"):
        r = load(f"{name}.json")
        if r:
            f = r["fim"]
            print(f"| {name} | {f['count']} | {f['exact_match']:.1%} | {f['edit_similarity']:.3f} | {f['chrf']:.3f} | "
                  f"{f['bleu']:.3f} | {f['empty_rate']:.1%} | {f['latency_ms']['p50']} / {f['latency_ms']['p95']} |")
    print("\n| tinypy level | programs | output exact match | line-count exact match |")
    print("|---|---|---|---|")
    outs, counts, n_all = 0.0, 0.0, 0
    for lv in LEVELS:
        r = load(f"tinypy_{lv}.json")
        if r:
            t = r["trace"]
            outs += t["output_exact_match"] * t["count"]
            counts += t["line_count_exact_match"] * t["count"]
            n_all += t["count"]
            print(f"| {lv} | {t['count']} | {t['output_exact_match']:.1%} | {t['line_count_exact_match']:.1%} |")
    if n_all:
        print(f"| all | {n_all} | {outs / n_all:.1%} | {counts / n_all:.1%} |")
    m = load("memorization.json")
    if m:
        share = "n/a" if m["verbatim_share"] is None else f"{m['verbatim_share']:.1%}"
        print(f"\nMemorisation: {m['verbatim']} of {m['long']} completions of >= {m['min_chars']} characters "
              f"({share}) appear verbatim in the training split ({m['corpus_chars'] / 1e6:.0f}M characters); "
              f"{m['verbatim_not_reference']} of them differ from the reference.")
    lat = load("latency.json")
    if lat:
        print("\n| latency (engine, 1 thread) | cold p50 / p95 ms | typing-through p50 / p95 ms |")
        print("|---|---|---|")
        for mode in ("spm", "psm"):
            if mode in lat:
                c, t = lat[mode]["cold_ms"], lat[mode]["typing_through_ms"]
                print(f"| {mode} | {c['p50']} / {c['p95']} | {t['p50']} / {t['p95']} |")
    comp = out / "completion.txt"
    if comp.is_file():
        print("\nProvider's full path (bench/completion.ts):\n")
        print("\n".join("    " + line for line in comp.read_text().splitlines()))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "build/model-report")))
