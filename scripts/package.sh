#!/usr/bin/env bash
# Packages the extension as users install it: a platform-specific .vsix made by @vscode/vsce.
#   npm run package                          the current platform
#   npm run package -- --target linux-x64    one platform: linux-x64 linux-arm64 darwin-arm64 win32-x64 win32-arm64
#   npm run package -- --target all          every platform onnxruntime-node ships CPU binaries for
#   npm run package -- --model DIR           bundle DIR as the default model (default: models/default)
#   npm run package -- --out DIR             where the .vsix files go (default: build/vsix)
# The package holds dist/extension.js, dist/linetrace.py, dist/trainer (the fine-tune's Python sources), the default
# model (with its float weights when it has them), and onnxruntime-node with only the
# target's native binaries. .vscodeignore lists what goes in; this script swaps in the target's binary folder.
# Files are staged (hard links) under build/vsix-stage so that any model folder can be bundled as models/default.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
targets=()
model=models/default
out=build/vsix
while [ $# -gt 0 ]; do
  case "$1" in
    --target) targets+=("${2:?--target needs a value}"); shift 2 ;;
    --target=*) targets+=("${1#--target=}"); shift ;;
    --model) model=${2:?--model needs a folder}; shift 2 ;;
    --model=*) model=${1#--model=}; shift ;;
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

# onnxruntime-node 1.30 ships binaries for these (vsce target -> folder under bin/napi-v6).
declare -A ORT_DIR=([linux-x64]=linux/x64 [linux-arm64]=linux/arm64 [darwin-arm64]=darwin/arm64
  [win32-x64]=win32/x64 [win32-arm64]=win32/arm64)
if [ ${#targets[@]} -eq 0 ]; then
  targets=("$(node -p 'process.platform + "-" + process.arch')")
elif [ "${targets[0]}" = all ]; then
  targets=(linux-x64 linux-arm64 darwin-arm64 win32-x64 win32-arm64)
fi
for t in "${targets[@]}"; do
  if [ -z "${ORT_DIR[$t]:-}" ]; then
    echo "error: no onnxruntime-node binaries for target '$t'; choose one of: ${!ORT_DIR[*]} (or all)" >&2
    exit 2
  fi
done

have_model=1
for f in model.onnx model.json tokenizer.json; do
  [ -f "$model/$f" ] || have_model=0
done
if [ "$have_model" = 0 ]; then
  if [ "$model" != models/default ]; then
    echo "error: $model is not a model folder (needs model.onnx, model.json, tokenizer.json)" >&2
    exit 2
  fi
  echo "warning: models/default is missing: the package has no bundled model (users must set tinyfim.model.path)" >&2
fi

echo "==> build (esbuild)" >&2
node esbuild.mjs --quiet
[ -f dist/extension.js ] || { echo "error: dist/extension.js was not built" >&2; exit 1; }

stage=build/vsix-stage
rm -rf "$stage" && mkdir -p "$stage/dist" "$out"
link() { # hard links are instant and cost no space; fall back to copies across file systems
  cp -al "$@" 2>/dev/null || cp -a "$@"
}
for f in package.json README.md LICENSE CHANGELOG.md dist/extension.js dist/linetrace.py; do
  if [ -f "$f" ]; then link "$f" "$stage/$f"; fi
done
[ -d dist/trainer ] && link dist/trainer "$stage/dist/trainer"
[ -d media ] && link media "$stage/media"
if [ "$have_model" = 1 ]; then
  mkdir -p "$stage/models/default"
  for f in model.onnx model.json tokenizer.json MODEL_CARD.md calibration.json model.safetensors; do
    if [ -f "$model/$f" ]; then link "$model/$f" "$stage/models/default/$f"; fi
  done
fi
# The production dependency tree, so that vsce's own `npm list` sees the same packages as in the clone.
mkdir -p "$stage/node_modules"
npm ls --omit=dev --parseable --all 2>/dev/null | while read -r dir; do
  rel=${dir#"$root"/}
  case "$rel" in node_modules/*) mkdir -p "$stage/$(dirname "$rel")"; link "$dir" "$stage/$rel" ;; esac
done
[ -f node_modules/.package-lock.json ] && link node_modules/.package-lock.json "$stage/node_modules/"

version=$(node -p 'require("./package.json").version')
for t in "${targets[@]}"; do
  # .vscodeignore names linux/x64; point that line at the target's binaries.
  sed "s#onnxruntime-node/bin/napi-v6/linux/x64/#onnxruntime-node/bin/napi-v6/${ORT_DIR[$t]}/#" .vscodeignore \
    > "$stage/.vscodeignore"
  grep -q "napi-v6/${ORT_DIR[$t]}/" "$stage/.vscodeignore" \
    || { echo "error: .vscodeignore has no onnxruntime-node/bin/napi-v6/linux/x64/ line to retarget" >&2; exit 1; }
  vsix=$root/$out/tinyfim-$t-$version.vsix
  echo "==> vsce package --target $t" >&2
  # No bypass flags: vsce checks the repository, licence, icon and activation, and any warning fails the build.
  (cd "$stage" && "$root/node_modules/.bin/vsce" package --target "$t" --out "$vsix" 2>&1) | tee "$stage/vsce.log" >&2
  if grep -q 'WARNING' "$stage/vsce.log"; then echo "error: vsce warned (above); fix the manifest" >&2; exit 1; fi
  # Check what users get: the bundle, the runtime and only this platform's native binaries.
  listing=$(unzip -Z1 "$vsix")
  for need in extension/dist/extension.js extension/dist/linetrace.py extension/dist/trainer/finetune.py \
    extension/dist/trainer/requirements-finetune.txt extension/node_modules/onnxruntime-node/dist/index.js \
    extension/node_modules/onnxruntime-common/dist/cjs/index.js \
    "extension/node_modules/onnxruntime-node/bin/napi-v6/${ORT_DIR[$t]}/onnxruntime_binding.node"; do
    grep -qxF "$need" <<<"$listing" || { echo "error: $vsix lacks $need" >&2; exit 1; }
  done
  if [ "$have_model" = 1 ]; then
    grep -qxF extension/models/default/model.onnx <<<"$listing" || { echo "error: $vsix lacks the model" >&2; exit 1; }
  fi
  # Float weights go with the bundled model when it has them (Adapt fine-tunes them), and nowhere else.
  if [ -f "$model/model.safetensors" ]; then
    grep -qxF extension/models/default/model.safetensors <<<"$listing" || { echo "error: $vsix lacks the float weights" >&2; exit 1; }
  fi
  ! grep 'model\.safetensors$' <<<"$listing" | grep -qvxF extension/models/default/model.safetensors \
    || { echo "error: $vsix holds other float weights" >&2; exit 1; }
  ! grep -q '__pycache__\|\.pyc$' <<<"$listing" || { echo "error: $vsix holds Python bytecode" >&2; exit 1; }
  others=$(grep 'onnxruntime-node/bin/' <<<"$listing" | grep -v "napi-v6/${ORT_DIR[$t]}/" || true)
  [ -z "$others" ] || { echo "error: $vsix holds other platforms' binaries: $others" >&2; exit 1; }
  printf '%s  %s files, %s KiB\n' "${vsix#"$root"/}" "$(wc -l <<<"$listing")" "$(( $(stat -c %s "$vsix") / 1024 ))"
done
