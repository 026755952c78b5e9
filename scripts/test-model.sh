#!/usr/bin/env bash
# Builds the tiny `test`-preset model that the engine, completion and hover tests load (build/test-model),
# with the real trainer pipeline. Skips the work when the trainer sources have not changed since.
case "${1:-}" in
  -h|--help) sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "error: unknown option $1 (try --help)" >&2; exit 2 ;;
esac
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
key=$(cat requirements.txt trainer/*.py trainer/*.json trainer/*/*.py trainer/presets/*.json 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ -f build/test-model/model.json ] && [ "$(cat build/test-model/.key 2>/dev/null)" = "$key" ]; then
  echo "build/test-model is up to date"
  exit 0
fi
rm -rf build/test-model
.venv/bin/python -m trainer pipeline --preset test --workdir build/test-pipeline --model build/test-model --fresh
echo "$key" > build/test-model/.key
