#!/usr/bin/env bash
# Installs everything TinyFIM needs on a fresh machine: Node packages and the trainer's virtual environment.
# Safe to re-run: skips what is already installed and up to date.
case "${1:-}" in
  -h|--help) sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "error: unknown option $1 (try --help)" >&2; exit 2 ;;
esac
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "Node packages (npm ci)"
# onnxruntime-node's postinstall would fetch CUDA libraries we do not need; .npmrc and this variable skip it.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  echo "node_modules is up to date" >&2
fi

step "Python virtual environment (.venv) with pinned trainer dependencies"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt
  echo "$want" > "$stamp"
else
  echo ".venv is up to date" >&2
fi

step "Build the extension and the engine CLI"
node esbuild.mjs --quiet
