#!/bin/sh
# Prints the path of the sops binary `make seal` encrypts with (and the tests check sealed files
# with): the version pinned in components/versions.ts (`sops`). Built once from the Go module
# proxy (`go install github.com/getsops/sops/v3/cmd/sops@<pin>`, a few CPU-minutes) into a cache
# folder outside the repository, like tools/kustomize/ensure-kustomize.sh. SOPS=/path/to/sops
# uses another binary instead, once its version matches the pin.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
versions="$here/../../components/versions.ts"
module=$(sed -n 's/^ *module: "\(github.com\/getsops\/sops\/v[0-9]*\/cmd\/sops\)".*/\1/p' "$versions" | head -n1)
pinned=$(sed -n '/^ *sops: {/,/}/s/^ *version: "\(v[0-9.]*\)".*/\1/p' "$versions" | head -n1)
[ -n "$module" ] && [ -n "$pinned" ] || { echo "ensure-sops: no sops pin in $versions" >&2; exit 2; }

# `sops --version --disable-version-check` prints "sops 3.13.3" on its first line
version_of() { "$1" --version --disable-version-check 2>/dev/null | sed -n '1s/^sops \([0-9.]*\).*/v\1/p'; }

if [ -n "${SOPS:-}" ]; then
    have=$(version_of "$SOPS" || true)
    [ "$have" = "$pinned" ] || { echo "ensure-sops: SOPS=$SOPS is '${have:-not runnable}', not $pinned" >&2; exit 2; }
    echo "$SOPS"
    exit 0
fi

cache="${DO_GITOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/do-gitops-platform}/sops/$pinned"
if [ ! -x "$cache/sops" ] || [ "$(version_of "$cache/sops" || true)" != "$pinned" ]; then
    # Go's default install location, when it is not on PATH
    if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH="/usr/local/go/bin:$PATH"; fi
    command -v go >/dev/null 2>&1 || {
        echo "ensure-sops: sops $pinned is built with Go, which is not installed: install Go >= 1.24 (https://go.dev/doc/install), or set SOPS to a sops $pinned binary (https://github.com/getsops/sops/releases)" >&2
        exit 2
    }
    echo "ensure-sops: building sops $pinned ($module) into $cache (once; a few minutes)" >&2
    tmp="$cache.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    # outside any module, so the pin alone decides the version; the toolchain is the machine's Go
    (cd "$tmp" && GOBIN="$tmp" GOFLAGS=-mod=mod GOTOOLCHAIN=local go install "$module@$pinned") >&2
    [ "$(version_of "$tmp/sops")" = "$pinned" ] || { echo "ensure-sops: built binary is not $pinned" >&2; exit 2; }
    rm -rf "$cache"
    mv "$tmp" "$cache"
fi
echo "$cache/sops"
