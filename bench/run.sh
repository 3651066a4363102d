#!/usr/bin/env bash
# `make bench`: the six benchmarks in order (each prints its table and writes
# bench/results/<name>.json), then bench/RESULTS.md and the scale chart from those files.
# Not part of `make test`. Knobs for quick runs: BENCH_QUICK=1, or BENCH_<NAME>=value
# (see bench/README.md); `make bench` sets none, so it runs the issue's numbers.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

benchmarks=(${BENCH_ONLY:-e2e scale failover context logs footprint})
mkdir -p bench/results
# Only this run's results may reach RESULTS.md.
rm -f bench/results/*.json bench/results/run.txt bench/results/scale.png
status=0
run_start=$(date +%s)
for name in "${benchmarks[@]}"; do
  echo "== bench ${name} ($(date -u +%H:%M:%S) UTC, $(( $(date +%s) - run_start )) s into the run)" >&2
  start=$(date +%s%N)
  node "bench/dist/${name}.js"
  code=$?
  echo "${name} ${code} $(( ($(date +%s%N) - start) / 1000000 ))" >> bench/results/run.txt
  [[ $code -eq 0 ]] || { echo "bench ${name} FAILED (exit ${code})" >&2; status=1; }
done
node bench/dist/report.js || status=1
echo "== make bench: $(( $(date +%s) - run_start )) s in all; results in bench/RESULTS.md" >&2
exit $status
