#!/usr/bin/env bash
# The README's main job: installs everything, makes sure a model is there, and shows TinyFIM working.
#   bash scripts/main.sh              open the extension with the model in an editor
#   bash scripts/main.sh --headless   print a completion and a trace prediction for a sample file
# Model: models/default when it is shipped; otherwise the tiny test-preset model built by the trainer.
set -euo pipefail
cd "$(dirname "$0")/.."
headless=0
for arg in "$@"; do
  case "$arg" in
    --headless) headless=1 ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh

model=models/default
if [ ! -f "$model/model.json" ]; then
  echo "models/default is not shipped yet: building the tiny test-preset model with the trainer pipeline" >&2
  bash scripts/test-model.sh
  model=build/test-model
fi

sample=extension/samples/sample.py
if [ "$headless" = 1 ]; then
  echo "== completion at $sample:9:5 =="
  npm run --silent tinyfim -- complete --model "$model" --file "$sample" --line 9 --column 13 --json
  echo "== trace prediction for extension/samples/tinypy.py =="
  npm run --silent tinyfim -- trace --model "$model" --file extension/samples/tinypy.py --json
  exit 0
fi

if command -v code >/dev/null 2>&1; then
  exec code --extensionDevelopmentPath="$PWD" --new-window "$PWD/extension/samples"
fi
echo "VS Code (\`code\`) is not on PATH. Run with --headless, or install VS Code and run this again." >&2
exit 1
