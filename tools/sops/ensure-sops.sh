#!/bin/sh
# Prints the path of the sops binary `make seal` encrypts with (and the tests check sealed files
# with): the version pinned in components/versions.ts (`sops`). Built once from the Go module
# proxy (`go install github.com/getsops/sops/v3/cmd/sops@<pin>`, a few CPU-minutes) into a cache
# folder outside the repository (tools/lib/ensure-go-binary.sh, as kustomize). SOPS=/path/to/sops
# uses another binary instead, once its version matches the pin.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../lib/ensure-go-binary.sh" sops 'github.com\/getsops\/sops\/v[0-9]*\/cmd\/sops' SOPS \
    " (https://github.com/getsops/sops/releases)" --version --disable-version-check
