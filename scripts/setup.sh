#!/usr/bin/env bash
# Installs what building and running the mock needs, skipping what is already there:
# Node.js 22.12+ where the machine's is older (scripts/node.sh), the wasm32 target,
# worker-build and wasm-bindgen-cli at pinned versions (from crates.io), and the npm packages
# (npm ci). Nothing is downloaded from outside the registries.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKER_BUILD_VERSION=0.8.7     # must match the worker crate's minor version
WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen crate pinned in Cargo.toml

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
say() { printf '[setup] %s\n' "$*" >&2; }

command -v cargo >/dev/null || { say "cargo not found: install Rust with rustup (https://rustup.rs)"; exit 1; }
source scripts/node.sh  # Node.js 22.12+, from npm's registry where the machine's is older

if command -v rustup >/dev/null; then
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
fi

if [ "$(worker-build --version 2>/dev/null | awk '{print $NF}')" != "$WORKER_BUILD_VERSION" ]; then
  say "installing worker-build $WORKER_BUILD_VERSION (a few minutes, once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $NF}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  # Not --locked: its lock file names a crate version the registry no longer has.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi

# The client tests drive boto3 and the AWS CLI; `npm test` asks for them (SETUP_CLIENTS=1).
# Where they are missing they come from PyPI at the versions the tests were written against.
# pytest runs the README's pytest fixture against the packed package.
BOTO3_VERSION=1.43.11
AWSCLI_VERSION=1.45.11
PYTEST_VERSION=9.2.0
if [ "${SETUP_CLIENTS:-0}" = 1 ] && command -v python3 >/dev/null; then
  if ! python3 -c 'import boto3, pytest' 2>/dev/null || ! command -v aws >/dev/null; then
    say "installing boto3 $BOTO3_VERSION, awscli $AWSCLI_VERSION and pytest $PYTEST_VERSION for the client tests (pip, once)"
    packages=("boto3==$BOTO3_VERSION" "awscli==$AWSCLI_VERSION" "pytest==$PYTEST_VERSION")
    python3 -m pip install --quiet --disable-pip-version-check "${packages[@]}" \
      || python3 -m pip install --quiet --user --disable-pip-version-check "${packages[@]}" \
      || say "pip could not install boto3/awscli/pytest: their tests will be skipped (or fail where required)"
  fi
fi

# The browser test needs a headless Chromium; `npm test` asks for it (SETUP_BROWSER=1).
# Debian's package is used where we may install it; elsewhere the test says how and skips.
if [ "${SETUP_BROWSER:-0}" = 1 ] && [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  as_root=""
  if [ "$(id -u)" != 0 ]; then
    as_root="sudo -n"
  fi
  if command -v apt-get >/dev/null && { [ -z "$as_root" ] || sudo -n true 2>/dev/null; }; then
    say "installing Debian's chromium for the browser test (once)"
    $as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    say "no chromium found: the browser test will be skipped (install Debian's chromium or set CHROMIUM_PATH)"
  fi
fi
