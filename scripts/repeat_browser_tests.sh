#!/usr/bin/env bash
# Run the browser, hub, Binder, load and wheel tests (pytest -m browser) N times in a row while
# benchmarks/benchmark.py loads the machine over and over, and print how many runs passed: a
# suite that fails one run in three makes every CI run a lottery.
#
#   scripts/repeat_browser_tests.sh [N=10] [pytest arguments ...]
#
# Each run's output goes to test-artifacts/repeat/run-K.log; the last line is "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
shift || true
logs=test-artifacts/repeat
mkdir -p "$logs"
export TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0
# the load, in a process group of its own so that it stops with this script
setsid bash -c 'while true; do .venv/bin/python benchmarks/benchmark.py --runs 20 >/dev/null 2>&1; done' &
load=$!
trap 'kill -- -$load 2>/dev/null' EXIT
passed=0 failed=0
for run in $(seq 1 "$runs"); do
    start=$(date +%s)
    if .venv/bin/python -m pytest -m browser -p no:cacheprovider -q "${@:-tests}" >"$logs/run-$run.log" 2>&1; then
        passed=$((passed + 1)); verdict=passed
    else
        failed=$((failed + 1)); verdict=FAILED
    fi
    echo "run $run: $verdict in $(( $(date +%s) - start )) s: $(tail -n 1 "$logs/run-$run.log")"
done
echo "browser tests under load: $passed passed, $failed failed"
[ "$failed" = 0 ]
