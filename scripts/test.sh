#!/usr/bin/env bash
# The whole test suite: set-up, formatting and lints (Rust native and wasm32; the JS by Biome
# and tsc --checkJs), native unit tests, the wasm build, an offline `wrangler deploy
# --dry-run` of it, then the Node tests that drive the built worker under wrangler dev.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.local/bin:$PATH"  # where pip --user puts the aws command
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
source scripts/node.sh  # Node.js 22.12+ for this script and what it starts
SETUP_BROWSER=1 SETUP_CLIENTS=1 bash scripts/setup.sh

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path tests/rust-sdk/Cargo.toml -- --check

step "JS: biome lint, tsc --checkJs"
npx biome lint --error-on-warnings
npx tsc -p .
echo "ok"

step "the dashboard's committed bundle matches ui/"
bash scripts/ui.sh --check

step "cargo clippy (native and wasm32)"
cargo clippy --all-targets --quiet -- -D warnings
cargo clippy --target wasm32-unknown-unknown --quiet -- -D warnings

step "native tests"
cargo test --quiet

step "wasm build"
bash scripts/build.sh

export METERING_MOCK_SKIP_BUILD=1 CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false

step "wrangler deploy --dry-run (the hosted deployment's bundle, offline)"
bundle="$(mktemp -d)"
npx wrangler deploy --dry-run --outdir "$bundle" > "$bundle.log" 2>&1 || { cat "$bundle.log"; exit 1; }
test -s "$bundle/index.js" && ls "$bundle"/*.wasm > /dev/null
rm -rf "$bundle" "$bundle.log"
echo "ok"

step "Node tests against the built worker"
node --test --test-concurrency=1 tests/node/*.test.mjs
