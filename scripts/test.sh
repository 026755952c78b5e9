#!/usr/bin/env bash
# The README's test command: installs everything, then runs every test (lint, pytest, mocha, end-to-end).
# Prints one summary line per suite and a final "N passed, N failed" line.
case "${1:-}" in
  -h|--help) sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "error: unknown option $1 (try --help)" >&2; exit 2 ;;
esac
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONDONTWRITEBYTECODE=1 ONNXRUNTIME_NODE_INSTALL=skip
start=$(date +%s)

bash scripts/setup.sh || { echo "setup failed" >&2; exit 1; }

failed_suites=()
py_pass=0; py_fail=0; ts_pass=0; ts_fail=0; e2e_pass=0; e2e_fail=0

printf '\n==> Lint (tsc strict, eslint, ruff)\n'
npm run --silent lint || failed_suites+=(lint)

printf '\n==> Test model fixture (trainer pipeline, test preset)\n'
bash scripts/test-model.sh || failed_suites+=(test-model)

printf '\n==> Trainer tests (pytest)\n'
.venv/bin/python -m pytest -q -p no:cacheprovider test/trainer 2>&1 | tee build/pytest.log
rc=${PIPESTATUS[0]}
py_pass=$(grep -Eo '[0-9]+ passed' build/pytest.log | tail -1 | grep -Eo '[0-9]+' || echo 0)
py_fail=$(grep -Eo '[0-9]+ (failed|error)' build/pytest.log | awk '{s+=$1} END {print s+0}')
[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || failed_suites+=(pytest)

printf '\n==> Extension and engine tests (mocha)\n'
rm -rf out && npx tsc -p tsconfig.json && npx mocha 2>&1 | tee build/mocha.log
rc=${PIPESTATUS[0]}
ts_pass=$(grep -Eo '[0-9]+ passing' build/mocha.log | tail -1 | grep -Eo '[0-9]+' || echo 0)
ts_fail=$(grep -Eo '[0-9]+ failing' build/mocha.log | tail -1 | grep -Eo '[0-9]+' || echo 0)
[ "$rc" -eq 0 ] || failed_suites+=(mocha)

if [ -f models/default/model.json ]; then
  printf '\n==> Extension and engine tests again on the shipped model (models/default)\n'
  TINYFIM_TEST_MODEL=models/default TINYFIM_TEST_RUN=none npx mocha 2>&1 | tee build/mocha-default.log
  rc=${PIPESTATUS[0]}
  ts_pass=$((ts_pass + $(grep -Eo '[0-9]+ passing' build/mocha-default.log | tail -1 | grep -Eo '[0-9]+' || echo 0)))
  ts_fail=$((ts_fail + $(grep -Eo '[0-9]+ failing' build/mocha-default.log | tail -1 | grep -Eo '[0-9]+' || echo 0)))
  [ "$rc" -eq 0 ] || failed_suites+=(mocha-default)
fi

printf '\n==> End-to-end tests (the packaged .vsix in code-server, driven through Chromium)\n'
bash scripts/e2e.sh 2>&1 | tee build/e2e.log
rc=${PIPESTATUS[0]}
e2e_pass=$(grep -Eo '[0-9]+ passing' build/e2e.log | tail -1 | grep -Eo '[0-9]+' || echo 0)
e2e_fail=$(grep -Eo '[0-9]+ failing' build/e2e.log | tail -1 | grep -Eo '[0-9]+' || echo 0)
[ "$rc" -eq 0 ] || failed_suites+=(e2e)

passed=$((py_pass + ts_pass + e2e_pass)); failed=$((py_fail + ts_fail + e2e_fail))
printf '\npytest: %s passed, %s failed; mocha: %s passed, %s failed; e2e: %s passed, %s failed; %ss in all\n' \
  "$py_pass" "$py_fail" "$ts_pass" "$ts_fail" "$e2e_pass" "$e2e_fail" "$(( $(date +%s) - start ))"
if [ ${#failed_suites[@]} -gt 0 ]; then
  echo "failed suites: ${failed_suites[*]}"
  [ "$failed" -gt 0 ] || failed=${#failed_suites[@]}
  echo "$passed passed, $failed failed"
  exit 1
fi
echo "$passed passed, 0 failed"
