#!/usr/bin/env bash
# Runs every benchmark of this module COUNT times (default 10), in rounds,
# and prints a benchstat table per group, the variants of a group side by side as
# columns (the first column is the base the others are compared with).
# Raw results go to OUT (default benchmarks/out/). About 8-12 minutes on a
# 2-core machine with COUNT=10.
#
#   ./benchmarks/bench.sh            # or: make bench
#   COUNT=1 ./benchmarks/bench.sh    # a quick look, no statistics
#   ONLY="PerCall Pipeline" ./benchmarks/bench.sh
set -euo pipefail
cd "$(dirname "$0")"

COUNT=${COUNT:-10}
OUT=${OUT:-out}
# benchstat, pinned: go run fetches it through the module proxy once.
BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da
benchstat() { go run "golang.org/x/perf/cmd/benchstat@${BENCHSTAT_VERSION}" "$@"; }

for tool in redis-server redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done
mkdir -p "$OUT"

# name | benchmark regexp | -benchtime | benchstat column spec
groups=(
  "Targets|^BenchmarkTargets$|30x|"
  "ClientOnly|^BenchmarkClientOnly$|0.2s|"
  "Concurrency|^BenchmarkConcurrency$|20x|"
  "PerCall|^BenchmarkPerCall$|0.3s|/impl@(raw-evalsha redislua-run goredis-script-run redis-benchmark)"
  "Pipeline|^BenchmarkPipeline$|0.3s|/impl@(ideal-evalsha-preloaded optimized optimized-flush-each plain-eval redis-benchmark)"
  "Lock|^BenchmarkLock$|0.3s|/impl@(redislock redislua redislua-nofence)"
  "LockHandOff|^BenchmarkLockHandOff$|200x|/impl@(redislock redislua redislua-nofence)"
  "LockHandOffShared|^BenchmarkLockHandOffShared$|200x|"
  "LockContended|^BenchmarkLockContended$|0.3s|/impl@(redislua redislua-nofence)"
  "RateLimiter|^BenchmarkRateLimiter$|0.3s|/impl@(redis_rate redislua-log redislua-counter)"
  "ScriptSize|^BenchmarkScriptSize$|0.3s|/impl@(raw-eval redislua-run)"
  "KeysPerCall|^BenchmarkKeysPerCall$|0.3s|/impl@(raw-evalsha redislua-run)"
  "Function|^BenchmarkFunction$|0.3s|/impl@(raw-fcall redislua-call)"
  "FunctionPaired|^BenchmarkFunctionPaired$|30x|"
  "Observed|^BenchmarkObserved$|0.3s|/impl@(plain otel-noop otel-global-unset otel-sdk-unsampled otel-sdk-sampled)"
  "ObservedPaired|^BenchmarkObservedPaired$|60x|"
  "ObserverCost|^BenchmarkObserverCost$|0.3s|"
  "CheckSlots|^BenchmarkCheckSlots$|0.2s|"
  "NewRegistry|^BenchmarkNewRegistry$|0.5s|"
  "NewScriptPathological|^BenchmarkNewScriptPathological$|1x|"
)
only=${ONLY:-}

echo "== sanity: go vet and the tests of the benchmarks module"
go vet ./...
go test -count=1 ./...

# Rounds rather than -count: each round runs every group once, so that the
# variants of a group are measured side by side in every round and a
# change in the machine's load (it is shared) spreads over all of them
# instead of favouring the ones measured in a quiet minute.
go test -c -o "$OUT/benchmarks.test" .
for g in "${groups[@]}"; do
  IFS='|' read -r name _ <<<"$g"
  : >"$OUT/$name.txt"
done
start=$SECONDS
for round in $(seq "$COUNT"); do
  for g in "${groups[@]}"; do
    IFS='|' read -r name regexp benchtime col <<<"$g"
    if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then
      continue
    fi
    echo "== round $round/$COUNT, $name: go test -run '^\$' -bench '$regexp' -benchtime $benchtime ($((SECONDS - start)) s)"
    "$OUT/benchmarks.test" -test.run '^$' -test.bench "$regexp" -test.benchtime "$benchtime" \
      -test.benchmem -test.timeout 30m >>"$OUT/$name.txt"
  done
done

for g in "${groups[@]}"; do
  IFS='|' read -r name regexp benchtime col <<<"$g"
  if [ ! -s "$OUT/$name.txt" ]; then
    continue
  fi
  echo
  echo "=== $name ($regexp, -benchtime $benchtime, $COUNT rounds)"
  if [ -n "$col" ]; then
    benchstat -col "$col" "$OUT/$name.txt"
  else
    benchstat "$OUT/$name.txt"
  fi
done
echo
case "$OUT" in /*) where=$OUT ;; *) where=$(pwd)/$OUT ;; esac
echo "== benchmarks took $((SECONDS - start)) s; raw results in $where"
