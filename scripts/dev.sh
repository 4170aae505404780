#!/usr/bin/env bash
# Brings the mock up on http://127.0.0.1:8787 (wrangler dev; state kept in .wrangler/state,
# so it survives restarts). Extra arguments go to wrangler, e.g. `npm start -- --port 9000`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
# wrangler.toml's [dev] sets 127.0.0.1:8787; passing --port here too would make a user's
# `--port` a second value, which wrangler refuses.
exec npx wrangler dev "$@"
