#!/usr/bin/env bash
# Bundles the dashboard (ui/: its page, script and styles, with uPlot from npm) into
# src/ui/assets/, which the worker embeds and serves at /_mock/ui/. The bundle is committed so
# that the Rust build needs no Node; `--check` fails when it differs from what the sources
# make (npm test runs it), so the two cannot drift apart. Files are only rewritten when they
# change, so an unchanged dashboard does not make cargo compile the worker again.
set -euo pipefail
cd "$(dirname "$0")/.."
ESBUILD="${ESBUILD_BIN:-$PWD/node_modules/esbuild/bin/esbuild}"
made="$(mktemp -d)"
trap 'rm -rf "$made"' EXIT
"$ESBUILD" ui/app.js --bundle --minify --format=esm --target=es2020 --legal-comments=none \
  --log-level=warning --outfile="$made/app.js"
"$ESBUILD" ui/app.css --bundle --minify --log-level=warning --outfile="$made/app.css"
cp ui/index.html "$made/index.html"
mkdir -p src/ui/assets
for f in index.html app.js app.css; do
  if cmp -s "$made/$f" "src/ui/assets/$f"; then
    continue
  fi
  if [ "${1:-}" = "--check" ]; then
    echo "src/ui/assets/$f is not what ui/ makes: run bash scripts/ui.sh and commit it" >&2
    exit 1
  fi
  cp "$made/$f" "src/ui/assets/$f"
done
if [ "${1:-}" = "--check" ]; then
  echo "the dashboard bundle matches ui/"
fi
