#!/usr/bin/env bash
# One call on a GPU machine: data built there, training for a wall-clock budget, export, evaluation (issue 17).
#   bash scripts/gpu-train.sh --out DIR [--minutes M] [--rehearse] [--gpus N] [...]
# --rehearse: the same stages on CPU with a tiny model (about 3 minutes on 2 cores). DIR receives at most 8 files
# of at most 16 MiB: model/ (int8 ONNX, model.json, tokenizer, bf16 safetensors), eval.jsonl, metrics.jsonl,
# recipe.log and the JSON log recipe.json. Every option: bash scripts/gpu-train.sh --help (python -m trainer gpu-recipe).
# Uses .venv/bin/python when the clone has one, else python3 (the lent GPU machine: torch preinstalled, no .venv);
# wheels in .whl/ are installed for the run first (README: Training on a GPU).
set -uo pipefail
cd "$(dirname "$0")/.."
py=python3
[ -x .venv/bin/python ] && py=.venv/bin/python

out=""
prev=""
for a in "$@"; do
  case "$a" in
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; echo; exec "$py" -m trainer gpu-recipe --help ;;
    --out=*) out=${a#--out=} ;;
  esac
  [ "$prev" = --out ] && out=$a
  prev=$a
done
[ -n "$out" ] || { echo "error: --out DIR is required (try --help)" >&2; exit 2; }
mkdir -p "$out" || exit 2

boot=$(mktemp "${TMPDIR:-/tmp}/gpu-train.XXXXXX")
# Wheels carried in .whl/ (the lent GPU machine cannot download: detect-secrets for the corpus stage's secret scan)
# are installed into build/pywheels for this run.
if compgen -G ".whl/*.whl" > /dev/null; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target build/pywheels .whl/*.whl \
    && export PYTHONPATH="$PWD/build/pywheels${PYTHONPATH:+:$PYTHONPATH}" \
    || echo "gpu-train: could not install the wheels in .whl/; going on without them" >&2
fi
export PYTHONUNBUFFERED=1
"$py" -m trainer gpu-recipe "$@" > >(tee -a "$boot") 2>&1 &
child=$!
# A time limit sends TERM: pass it on, then wait for the driver to write its log and the weights.
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
wait "$child"
rc=$?
if kill -0 "$child" 2>/dev/null; then wait "$child"; rc=$?; fi
trap - TERM INT

# The driver writes DIR/recipe.json itself, after every stage. If it could not start (Python missing, an import
# error) or was killed mid-stage, leave a log that says so: a run never ends silently.
if [ ! -s "$out/recipe.json" ]; then
  tail_text=$(tail -c 4000 "$boot" | tr -d '\000-\010\013\014\016-\037' | sed 's/\\/\\\\/g; s/"/\\"/g' \
    | awk '{printf "%s\\n", $0}')
  printf '{\n  "format": "tinyfim-gpu-recipe-v1",\n  "status": "failed",\n  "failed_stage": "driver",\n  "exit_code": %s,\n  "python": "%s",\n  "output_tail": "%s"\n}\n' \
    "$rc" "$py" "$tail_text" > "$out/recipe.json"
  echo "gpu-train: the driver ended without writing its log (exit $rc); wrote $out/recipe.json" >&2
  [ "$rc" -eq 0 ] && rc=1
elif grep -q '^  "status": "running"' "$out/recipe.json"; then
  sed -i '0,/^  "status": "running"/s//  "status": "failed", "killed_exit_code": '"$rc"'/' "$out/recipe.json"
  echo "gpu-train: the driver was stopped mid-stage (exit $rc); $out/recipe.json marked failed" >&2
  [ "$rc" -eq 0 ] && rc=1
fi
rm -f "$boot"
exit "$rc"
