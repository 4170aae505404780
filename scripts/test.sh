#!/usr/bin/env bash
# The whole test suite: set-up, formatting and lints (native and wasm32), native unit tests,
# the wasm build, then the Node tests that drive the built worker under wrangler dev.
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_BROWSER=1 bash scripts/setup.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (native and wasm32)"
cargo clippy --all-targets --quiet -- -D warnings
cargo clippy --target wasm32-unknown-unknown --quiet -- -D warnings

step "native tests"
cargo test --quiet

step "wasm build"
bash scripts/build.sh

step "Node tests against the built worker"
export METERING_MOCK_SKIP_BUILD=1 CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
node --test --test-concurrency=1 tests/node/*.test.mjs
