#!/bin/sh
# Prints the path of envsubst-eval (tools/envsubst/main.go) built over fluxcd/pkg/envsubst at the
# release pinned in components/versions.ts (`envsubst`), the one Flux's kustomize-controller
# substitutes variables with. Built once with Go from the module proxy into a cache folder outside
# the repository (keyed by the pin and main.go's content); only the tests use it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
versions="$here/../../components/versions.ts"
module=$(sed -n '/^ *envsubst: {/,/}/s/^ *module: "\(.*\)".*/\1/p' "$versions" | head -n1)
pinned=$(sed -n '/^ *envsubst: {/,/}/s/^ *version: "\(v[0-9.]*\)".*/\1/p' "$versions" | head -n1)
[ -n "$module" ] && [ -n "$pinned" ] || { echo "ensure-envsubst: no envsubst pin in $versions" >&2; exit 2; }
sum=$(sha256sum "$here/main.go" | cut -c1-12)
cache="${DO_GITOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/do-gitops-platform}/envsubst/$pinned-$sum"
if [ ! -x "$cache/envsubst-eval" ]; then
    if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH="/usr/local/go/bin:$PATH"; fi
    command -v go >/dev/null 2>&1 || {
        echo "ensure-envsubst: the comparison with Flux's $module $pinned builds a Go program: install Go >= 1.24 (https://go.dev/doc/install)" >&2
        exit 2
    }
    echo "ensure-envsubst: building envsubst-eval over $module $pinned into $cache (once)" >&2
    tmp="$cache.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    cp "$here/main.go" "$tmp/main.go"
    (
        cd "$tmp"
        export GOTOOLCHAIN=local GOFLAGS=-mod=mod
        go mod init envsubst-eval >/dev/null 2>&1
        go get "$module@$pinned"
        go build -o envsubst-eval .
    ) >&2
    rm -rf "$cache"
    mv "$tmp" "$cache"
fi
echo "$cache/envsubst-eval"
