#!/usr/bin/env bash
# `npm start`: set-up, the wasm build, then scripts/dev.mjs, which runs the mock on
# http://127.0.0.1:8787 with the package's runner and rebuilds it when the Rust code changes
# (state in .wrangler/state, shared with `wrangler dev`). `npm start -- --wrangler` runs
# `wrangler dev` instead. Extra arguments: `npm start -- --port 9000 --var NAME:VALUE`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node.sh  # Node.js 22.12+ for this script and what it starts
bash scripts/setup.sh
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
if [[ " $* " != *" --wrangler "* ]]; then
  bash scripts/build.sh
fi
exec node scripts/dev.mjs "$@"
