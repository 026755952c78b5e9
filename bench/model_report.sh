#!/usr/bin/env bash
# Every evaluation of a model card, through the editor's own prompting, decoding and post-processing:
#   bash bench/model_report.sh MODEL_DIR DATASET_DIR CORPUS_DB [OUT_DIR]
# MODEL_DIR: an exported model (models/default); DATASET_DIR: the dataset it was trained from (its eval/ sets are
# held out: FIM rows from test-split files, tinypy programs from a separate seed); CORPUS_DB: the corpus behind it
# (for the memorisation check). Writes OUT_DIR (default build/model-report)/*.json and prints a Markdown summary.
# Quality runs use 2 processes; the latency runs come last, alone, on 1 thread each. LIMIT=N caps each quality set
# (a quick look; the card uses every row).
set -euo pipefail
case "${1:-}" in -h|--help|"") sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; [ -n "${1:-}" ]; exit $? ;; esac
[ $# -ge 3 ] || { echo "error: need MODEL_DIR DATASET_DIR CORPUS_DB (try --help)" >&2; exit 2; }
model=$1; ds=$2; db=$3; out=${4:-build/model-report}
cd "$(dirname "$0")/.."
for f in "$model/model.json" "$ds/eval/fim_lines.jsonl" "$db"; do
  [ -e "$f" ] || { echo "error: $f not found" >&2; exit 2; }
done
mkdir -p "$out"
npm run --silent build >/dev/null
npx tsc -p tsconfig.json
bench() { npm run --silent tinyfim -- bench --model "$model" --json ${LIMIT:+--limit "$LIMIT"} "$@"; }

echo "quality: FIM lines and spans, tinypy levels (2 processes) ..." >&2
jobs_a() {
  bench --data "$ds/eval/fim_lines.jsonl" --predictions "$out/fim_lines.predictions.jsonl" > "$out/fim_lines.json"
  for lv in 1.1 2.1 3.1 4.1; do bench --data "$ds/eval/tinypy_$lv.jsonl" > "$out/tinypy_$lv.json"; done
}
jobs_b() {
  bench --data "$ds/eval/fim_spans.jsonl" --predictions "$out/fim_spans.predictions.jsonl" > "$out/fim_spans.json"
  for lv in 1.2 2.2 3.2; do bench --data "$ds/eval/tinypy_$lv.jsonl" > "$out/tinypy_$lv.json"; done
}
jobs_a & a=$!
jobs_b & b=$!
wait $a; wait $b

echo "confidence gate curve (gate.md, confidence-gate.svg: the card's table and plot) ..." >&2
node out/bench/gate.js --predictions "$out/fim_lines.predictions.jsonl" --svg "$out/confidence-gate.svg" > "$out/gate.md"

echo "memorisation ..." >&2
.venv/bin/python -m trainer memorization --predictions "$out"/fim_*.predictions.jsonl --db "$db" --json \
  > "$out/memorization.json"

echo "latency (engine, then the provider's full path) ..." >&2
npm run --silent tinyfim -- latency --model "$model" --json > "$out/latency.json"
node out/bench/completion.js --model "$model" > "$out/completion.txt"

.venv/bin/python bench/model_report.py "$out"
