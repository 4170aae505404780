#!/usr/bin/env bash
# Deploys the mock to your Cloudflare account (`npx wrangler login` first) as a hosted,
# locked deployment: set its admin token once with `npx wrangler secret put ADMIN_TOKEN`.
# Arguments go to `wrangler deploy` (`npm run deploy -- --dry-run --outdir /tmp/x` checks
# the bundle offline).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node.sh  # Node.js 22.12+ for wrangler
bash scripts/setup.sh
export WRANGLER_SEND_METRICS=false
npx wrangler deploy "$@"
if [[ " $* " != *" --dry-run "* ]]; then
  echo "[deploy] done. Until the ADMIN_TOKEN secret is set the deployment is open (and answers 403 at its public name); lock it:" >&2
  echo "[deploy]   npx wrangler secret put ADMIN_TOKEN" >&2
fi
