#!/bin/sh
# Shared by tools/kustomize/ensure-kustomize.sh and tools/sops/ensure-sops.sh: prints the path of
# a Go program at the version pinned in components/versions.ts, built once from the Go module
# proxy (`go install <module>@<pin>`) into a cache folder outside the repository, or the binary
# an environment variable names, once its version matches the pin.
#
# usage: ensure-go-binary.sh NAME MODULE_RE OVERRIDE HINT VERSION_ARGS… (see the callers)
#   NAME      the key of the pin in components/versions.ts and the binary's name (kustomize, sops)
#   MODULE_RE the module path's pattern (sed BRE) inside the pin's `module: "…"`
#   OVERRIDE  the environment variable that names a binary to use instead (KUSTOMIZE, SOPS)
#   HINT      where else to get the binary, for the message when Go is missing
#   VERSION…  the command's arguments that print its version; the first `vX.Y.Z` or `X.Y.Z` of
#             the first line is compared with the pin
set -eu
name=$1 module_re=$2 override=$3 hint=$4
shift 4
here=$(cd "$(dirname "$0")" && pwd)
versions="$here/../../components/versions.ts"
module=$(sed -n "s/^ *module: \"\\($module_re\\)\".*/\\1/p" "$versions" | head -n1)
pinned=$(sed -n "/^ *$name: {/,/}/s/^ *version: \"\\(v[0-9.]*\\)\".*/\\1/p" "$versions" | head -n1)
[ -n "$module" ] && [ -n "$pinned" ] || { echo "ensure-$name: no $name pin in $versions" >&2; exit 2; }

# the version a binary prints, as vX.Y.Z (kustomize prints "v5.8.1", sops "sops 3.13.2 …")
version_of() { bin=$1; shift; "$bin" "$@" 2>/dev/null | sed -n '1s/^[^0-9]*\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\).*/v\1/p'; }

eval "given=\${$override:-}"
if [ -n "$given" ]; then
    have=$(version_of "$given" "$@" || true)
    [ "$have" = "$pinned" ] || { echo "ensure-$name: $override=$given is '${have:-not runnable}', not $pinned" >&2; exit 2; }
    echo "$given"
    exit 0
fi

cache="${DO_GITOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/do-gitops-platform}/$name/$pinned"
if [ ! -x "$cache/$name" ] || [ "$(version_of "$cache/$name" "$@" || true)" != "$pinned" ]; then
    # Go's default install location, when it is not on PATH
    if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH="/usr/local/go/bin:$PATH"; fi
    command -v go >/dev/null 2>&1 || {
        echo "ensure-$name: $name $pinned is built with Go, which is not installed: install Go >= 1.24 (https://go.dev/doc/install), or set $override to a $name $pinned binary$hint" >&2
        exit 2
    }
    echo "ensure-$name: building $name $pinned ($module) into $cache (once; a few minutes)" >&2
    tmp="$cache.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    # outside any module, so the pin alone decides the version; the toolchain is the machine's Go
    (cd "$tmp" && GOBIN="$tmp" GOFLAGS=-mod=mod GOTOOLCHAIN=local go install "$module@$pinned") >&2
    [ "$(version_of "$tmp/$name" "$@")" = "$pinned" ] || { echo "ensure-$name: built binary is not $pinned" >&2; exit 2; }
    rm -rf "$cache"
    mv "$tmp" "$cache"
fi
echo "$cache/$name"
