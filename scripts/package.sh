#!/usr/bin/env bash
# Builds the npm package: the wasm build, copied to dist/worker/ (what the package runs), then
# `npm pack`. The tarball needs no Rust toolchain to use. Prints the tarball's path.
# Usage: bash scripts/package.sh [<directory for the tarball>]   (default: the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-$PWD}"
mkdir -p "$out"
if [ "${METERING_MOCK_SKIP_BUILD:-}" != "1" ] || [ ! -f build/index.js ]; then
  bash scripts/setup.sh >&2
  bash scripts/build.sh >&2
fi
rm -rf dist
mkdir -p dist/worker
cp build/index.js build/index_bg.wasm dist/worker/
name="$(npm pack --silent --pack-destination "$out")"
echo "$out/$name"
