#!/usr/bin/env bash
# The README's main job: installs everything, makes sure a model is there, and shows TinyFIM working.
#   bash scripts/main.sh              open the extension with the model in an editor (VS Code if `code` is
#                                     on PATH, otherwise code-server in the browser at 127.0.0.1:8080) on a
#                                     scratch copy of the samples (~/.cache/tinyfim/demo), never on this checkout
#   bash scripts/main.sh --headless   print a completion and a trace prediction for the samples, then run the
#                                     tinypy sample to show the actual output and line count beside the prediction
#   bash scripts/main.sh --demo-workspace DIR --demo-settings FILE
#                                     only write the scratch workspace and the editor settings the demo uses
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${TINYFIM_CACHE:-$HOME/.cache/tinyfim}
headless=0
demo=$cache/demo
settings=$cache/main/user-data/User/settings.json
prepare_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --headless) headless=1; shift ;;
    --demo-workspace) demo=${2:?--demo-workspace needs a folder}; prepare_only=1; shift 2 ;;
    --demo-settings) settings=${2:?--demo-settings needs a file}; prepare_only=1; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

# A fresh copy of the samples to type in: the editor (and its auto-save) never touches this checkout, and the
# copy's settings make the checkout read-only in that window in case a file of it is opened from there.
prepare_demo() {
  if [ -e "$demo" ] && [ ! -f "$demo/.tinyfim-demo" ]; then
    echo "error: $demo exists and is not a TinyFIM demo folder; not replacing it" >&2
    exit 2
  fi
  rm -rf "$demo"
  mkdir -p "$demo/.vscode" "$(dirname "$settings")"
  cp extension/samples/*.py "$demo/"
  echo "scratch copy of $root/extension/samples made by scripts/main.sh; replaced on each run" > "$demo/.tinyfim-demo"
  node -e '
    const fs = require("fs");
    const [ws, checkout, userFile] = process.argv.slice(1);
    fs.writeFileSync(ws + "/.vscode/settings.json", JSON.stringify({ "files.readonlyInclude": { [checkout + "/**"]: true } }, null, 2) + "\n");
    // The demo profile: open in Restricted Mode without a dialog (TinyFIM completes there; running code waits
    // for trust), and with the editor, not a welcome page.
    let user = {};
    try { user = JSON.parse(fs.readFileSync(userFile, "utf8")); } catch {}
    Object.assign(user, { "security.workspace.trust.startupPrompt": "never", "workbench.startupEditor": "none" });
    fs.writeFileSync(userFile, JSON.stringify(user, null, 2) + "\n");
  ' "$demo" "$root" "$settings"
}

if [ "$prepare_only" = 1 ]; then
  prepare_demo
  echo "$demo"
  exit 0
fi

bash scripts/setup.sh

model=models/default
if [ ! -f "$model/model.json" ]; then
  echo "models/default is not shipped yet: building the tiny test-preset model with the trainer pipeline" >&2
  bash scripts/test-model.sh
  model=build/test-model
fi

if [ "$headless" = 1 ]; then
  sample=extension/samples/sample.py
  echo
  echo "== 1. Completion: the model fills in $sample at line 9 (nothing is run) =="
  npm run --silent tinyfim -- complete --model "$model" --file "$sample" --line 9 --column 13 --show
  echo
  echo "== 2. Trace prediction for extension/samples/tinypy.py: what it prints and how many lines it runs =="
  echo "   The model predicts without running it. Then this demo RUNS the file with python3 (its explicit"
  echo "   action, like the hover's \"Run and compare\") to put the actual values beside the prediction."
  npm run --silent tinyfim -- trace --model "$model" --file extension/samples/tinypy.py --run
  echo
  echo "A small model is often wrong on output: below the confidence threshold it says \"not sure\" (as the hover does)."
  exit 0
fi

settings=$cache/main/user-data/User/settings.json
prepare_demo
if command -v code >/dev/null 2>&1; then
  if [ "$model" != models/default ]; then
    echo "note: set the setting tinyfim.model.path to $PWD/$model (no default model is shipped yet)" >&2
  fi
  echo "Opening a scratch copy of the samples: $demo" >&2
  exec code --extensionDevelopmentPath="$PWD" --new-window "$demo" --goto "$demo/sample.py:9:13"
fi

# No local VS Code: code-server (VS Code in the browser) with the packaged extension, on loopback only.
echo "VS Code (\`code\`) is not on PATH: starting code-server (installed once into $cache)" >&2
cs=$(bash scripts/code-server.sh)
PATH="$(cat "$cache/node-bin-path"):$PATH"
bash scripts/package.sh --model "$model" --out build/main >&2
vsix=$(ls -t build/main/tinyfim-*.vsix | head -n 1)
state=$cache/main
mkdir -p "$state/user-data/User" "$state/extensions"
"$cs" --user-data-dir "$state/user-data" --extensions-dir "$state/extensions" --install-extension "$vsix" --force >&2
port=${PORT:-8080}
echo "TinyFIM in code-server on a scratch copy of the samples ($demo):" >&2
echo "  open http://127.0.0.1:$port/ and then sample.py or tinypy.py (Ctrl+C stops it)" >&2
exec "$cs" --auth none --bind-addr "127.0.0.1:$port" --disable-telemetry --user-data-dir "$state/user-data" \
  --extensions-dir "$state/extensions" "$demo"
