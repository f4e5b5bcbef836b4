#!/usr/bin/env bash
# Runs the whole suite (scripts/run-tests.ts, what `npm test` runs after tsc) N times while two CPU-burning processes run beside it: the suite must pass
# on a busy machine (CI runners and shared build hosts are). Reports pass/fail, duration and the
# load average of every run, and exits non-zero when any run failed.
#   scripts/stress-test.sh [RUNS] [CONCURRENCY]     (defaults: 3 runs, --test-concurrency=4)
# Logs: one file per run under $STRESS_LOG_DIR (default: a new temp directory).
set -u
runs=${1:-3}
concurrency=${2:-4}
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
logs=${STRESS_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/outpost-stress-XXXXXX")}
mkdir -p "$logs"

burners=()
stop_burners() {
  for pid in "${burners[@]}"; do kill "$pid" 2>/dev/null; done
  wait "${burners[@]}" 2>/dev/null
}
trap stop_burners EXIT INT TERM
# Two busy loops: on a 2-core machine the suite gets what is left.
for _ in 1 2; do
  node -e 'for (;;) {}' &
  burners+=($!)
done

node scripts/check-node.js || exit 1
tsc --noEmit -p . || exit 1

failed=0
for i in $(seq 1 "$runs"); do
  log="$logs/run-$i.log"
  start=$(date +%s)
  if OUTPOST_TEST_CONCURRENCY="$concurrency" node scripts/run-tests.ts >"$log" 2>&1; then result=pass; else result=FAIL; failed=$((failed + 1)); fi
  end=$(date +%s)
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  summary=$(grep -E '^ℹ (tests|pass|fail) ' "$log" | awk '{printf "%s=%s ", $2, $3}')
  echo "run $i/$runs: $result in $((end - start)) s, load $load, $summary(log: $log)"
  [ "$result" = FAIL ] && grep -E '^✖ ' "$log" | sort -u | head -20 | sed 's/^/    /'
done
echo "stress: $((runs - failed))/$runs green at --test-concurrency=$concurrency beside 2 CPU burners (logs in $logs)"
[ "$failed" -eq 0 ]
