#!/bin/sh
# Prints the path of the kustomize binary `make validate` builds with: the version pinned in
# components/versions.ts (`kustomize`), the kustomize/v5 release whose sigs.k8s.io/kustomize/api
# Flux's kustomize-controller is built with. No registry this project reaches ships that binary,
# so it is built once from the Go module proxy (`go install`, about 2 CPU-minutes) into a cache
# folder outside the repository. KUSTOMIZE=/path/to/kustomize uses another binary instead, once
# its `kustomize version` matches the pin.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
versions="$here/../../components/versions.ts"
module=$(sed -n 's/^ *module: "\(sigs.k8s.io\/kustomize\/kustomize\/v[0-9]*\)".*/\1/p' "$versions" | head -n1)
pinned=$(sed -n '/^ *kustomize: {/,/}/s/^ *version: "\(v[0-9.]*\)".*/\1/p' "$versions" | head -n1)
[ -n "$module" ] && [ -n "$pinned" ] || { echo "ensure-kustomize: no kustomize pin in $versions" >&2; exit 2; }

if [ -n "${KUSTOMIZE:-}" ]; then
    have=$("$KUSTOMIZE" version 2>/dev/null || true)
    [ "$have" = "$pinned" ] || { echo "ensure-kustomize: KUSTOMIZE=$KUSTOMIZE is '${have:-not runnable}', not $pinned" >&2; exit 2; }
    echo "$KUSTOMIZE"
    exit 0
fi

cache="${DO_GITOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/do-gitops-platform}/kustomize/$pinned"
if [ ! -x "$cache/kustomize" ] || [ "$("$cache/kustomize" version 2>/dev/null || true)" != "$pinned" ]; then
    # Go's default install location, when it is not on PATH
    if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH="/usr/local/go/bin:$PATH"; fi
    command -v go >/dev/null 2>&1 || {
        echo "ensure-kustomize: kustomize $pinned is built with Go, which is not installed: install Go >= 1.24 (https://go.dev/doc/install), or set KUSTOMIZE to a kustomize $pinned binary" >&2
        exit 2
    }
    echo "ensure-kustomize: building kustomize $pinned ($module) into $cache (once; a few minutes)" >&2
    tmp="$cache.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    # outside any module, so the pin alone decides the version; the toolchain is the machine's Go
    (cd "$tmp" && GOBIN="$tmp" GOFLAGS=-mod=mod GOTOOLCHAIN=local go install "$module@$pinned") >&2
    [ "$("$tmp/kustomize" version)" = "$pinned" ] || { echo "ensure-kustomize: built binary is not $pinned" >&2; exit 2; }
    rm -rf "$cache"
    mv "$tmp" "$cache"
fi
echo "$cache/kustomize"
