#!/usr/bin/env bash
# `npm run preview`: scripts/preview.mjs (a deployed preview per branch) on a Node.js that
# wrangler 4.16x runs on (scripts/node.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node.sh
exec node scripts/preview.mjs "$@"
