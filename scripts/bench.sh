#!/usr/bin/env bash
# The benchmark: set-up, the wasm build, then bench/run.mjs (or `--soak`: bench/soak.mjs,
# sustained load with peers; `--profile`: bench/profile.mjs), which starts the mock on a free
# loopback port under each runner (`--runner wrangler|package|both`, default both: wrangler dev
# and the npm package's Miniflare runner) and measures, in the same run, GET /_mock/ping (the worker alone,
# the baseline) against MeterUsage and BatchMeterUsage calls that go to the namespace's
# Durable Object: req/s, p50/p99 latency and their ratios to the baseline. Results go to
# stdout and bench/results/latest.json. BENCH_SECONDS and BENCH_CONCURRENCY (and the other
# BENCH_* knobs in bench/run.mjs) tune the run. `--profile meter|repeat|batch|register` runs
# bench/profile.mjs instead: a CPU profile of the worker while it answers that call.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node.sh  # Node.js 22.12+ for this script and what it starts
bash scripts/setup.sh
bash scripts/build.sh
export METERING_MOCK_SKIP_BUILD=1 CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
if [ "${1:-}" = "--profile" ]; then
  shift
  exec node bench/profile.mjs "$@"
fi
if [ "${1:-}" = "--soak" ]; then
  shift
  exec node bench/soak.mjs "$@"
fi
exec node bench/run.mjs "$@"
