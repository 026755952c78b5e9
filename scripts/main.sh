#!/usr/bin/env bash
# The README's main job: installs everything, makes sure a model is there, and shows TinyFIM working.
#   bash scripts/main.sh              open the extension with the model in an editor (VS Code if `code` is
#                                     on PATH, otherwise code-server in the browser at 127.0.0.1:8080)
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
  echo "== completion at $sample:9:13 =="
  npm run --silent tinyfim -- complete --model "$model" --file "$sample" --line 9 --column 13 --json
  echo "== trace prediction for extension/samples/tinypy.py =="
  npm run --silent tinyfim -- trace --model "$model" --file extension/samples/tinypy.py --json
  exit 0
fi

if command -v code >/dev/null 2>&1; then
  if [ "$model" != models/default ]; then
    echo "note: set the setting tinyfim.model.path to $PWD/$model (no default model is shipped yet)" >&2
  fi
  exec code --extensionDevelopmentPath="$PWD" --new-window "$PWD/extension/samples"
fi

# No local VS Code: code-server (VS Code in the browser) with the packaged extension, on loopback only.
echo "VS Code (\`code\`) is not on PATH: starting code-server (installed once into ~/.cache/tinyfim)" >&2
cs=$(bash scripts/code-server.sh)
PATH="$(cat "${TINYFIM_CACHE:-$HOME/.cache/tinyfim}/node-bin-path"):$PATH"
bash scripts/package.sh --model "$model" --out build/main >&2
vsix=$(ls -t build/main/tinyfim-*.vsix | head -n 1)
state=${TINYFIM_CACHE:-$HOME/.cache/tinyfim}/main
mkdir -p "$state/user-data/User" "$state/extensions"
"$cs" --user-data-dir "$state/user-data" --extensions-dir "$state/extensions" --install-extension "$vsix" --force >&2
port=${PORT:-8080}
echo "TinyFIM in code-server: open http://127.0.0.1:$port/?folder=$PWD/extension/samples (Ctrl+C stops it)" >&2
exec "$cs" --auth none --bind-addr "127.0.0.1:$port" --disable-telemetry --user-data-dir "$state/user-data" \
  --extensions-dir "$state/extensions" "$PWD/extension/samples"
