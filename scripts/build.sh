#!/usr/bin/env bash
# Compiles the worker to wasm32 with worker-build, using only locally installed tools
# (wasm-bindgen from scripts/setup.sh, esbuild from node_modules): nothing is downloaded.
# wrangler runs this as its [build] command; METERING_MOCK_SKIP_BUILD=1 skips it when a
# test harness has already built.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${METERING_MOCK_SKIP_BUILD:-}" = "1" ] && [ -f build/index.js ]; then
  exit 0
fi
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
export ESBUILD_BIN="${ESBUILD_BIN:-$PWD/node_modules/esbuild/bin/esbuild}"
bash scripts/ui.sh  # the dashboard's bundle, which the worker embeds
exec worker-build --release --no-opt
