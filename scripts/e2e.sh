#!/usr/bin/env bash
# End-to-end tests: packages the extension (.vsix), installs it into a real VS Code (code-server, cached under
# ~/.cache/tinyfim) and drives it through Debian's Chromium with playwright-core (test/e2e/*.e2e.mjs).
# Screenshots of each step and the editor's logs go to test-results/e2e/. Prints mocha's "N passing / N failing".
#   bash scripts/e2e.sh            (npm run test:e2e)
# Model: models/default when it is shipped, else the trainer's test model (build/test-model) bundled in its place.
set -uo pipefail
case "${1:-}" in
  -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "error: unknown option $1 (try --help)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
root=$PWD
export ONNXRUNTIME_NODE_INSTALL=skip

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/tinyfim-e2e.XXXXXX")
cleanup() {
  # Kill whatever the test runs started and left behind (each is its own process group, listed by pid in a
  # `pids` file of each session's folder under run_dir).
  local pids
  pids=$(find "$run_dir" -name pids -type f -exec cat {} + 2>/dev/null | awk '{print $1}')
  if [ -n "$pids" ]; then
    for pid in $pids; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    sleep 1
    for pid in $pids; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  fi
  rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$(date +%s)
cs=$(bash scripts/code-server.sh) || { echo "error: could not install code-server (scripts/code-server.sh)" >&2; exit 1; }
node_bin=$(cat "${TINYFIM_CACHE:-$HOME/.cache/tinyfim}/node-bin-path")

mkdir -p build test-results/e2e
model_args=()
if [ ! -f models/default/model.json ]; then
  echo "e2e: models/default is not shipped yet: bundling the test model (build/test-model) in its place" >&2
  bash scripts/test-model.sh > build/e2e-test-model.log 2>&1 \
    || { tail -n 30 build/e2e-test-model.log >&2; echo "error: building build/test-model failed" >&2; exit 1; }
  model_args=(--model build/test-model)
fi
bash scripts/package.sh --out build/e2e "${model_args[@]}" > build/e2e-package.log 2>&1 \
  || { cat build/e2e-package.log >&2; echo "error: packaging failed" >&2; exit 1; }
tail -n 1 build/e2e-package.log
target=$(node -p 'process.platform + "-" + process.arch')
vsix=$(ls -t build/e2e/tinyfim-"$target"-*.vsix | head -n 1)

E2E_CODE_SERVER=$cs E2E_NODE_BIN=$node_bin E2E_VSIX=$root/$vsix E2E_RUN_DIR=$run_dir/run \
  E2E_ARTEFACTS=$root/test-results/e2e \
  timeout -k 10 1200 node_modules/.bin/mocha --no-config --sort --reporter spec --timeout 240000 --exit 'test/e2e/*.e2e.mjs'
rc=$?
echo "e2e: $(( $(date +%s) - start ))s in all; screenshots and logs in test-results/e2e/"
exit $rc
