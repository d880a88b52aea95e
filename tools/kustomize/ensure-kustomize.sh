#!/bin/sh
# Prints the path of the kustomize binary `make validate` builds with: the version pinned in
# components/versions.ts (`kustomize`), the kustomize/v5 release whose sigs.k8s.io/kustomize/api
# Flux's kustomize-controller is built with. No registry this project reaches ships that binary,
# so it is built once from the Go module proxy (`go install`, about 2 CPU-minutes) into a cache
# folder outside the repository (tools/lib/ensure-go-binary.sh). KUSTOMIZE=/path/to/kustomize
# uses another binary instead, once its `kustomize version` matches the pin.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../lib/ensure-go-binary.sh" kustomize 'sigs.k8s.io\/kustomize\/kustomize\/v[0-9]*' KUSTOMIZE "" version
