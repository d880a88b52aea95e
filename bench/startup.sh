#!/usr/bin/env bash
# Start-up time of the upload tool, measured with hyperfine (Debian: apt-get install -y hyperfine):
#   bare node         `node -e 0`, the floor of any Node program
#   make's command    `node tools/upload/run.cjs --help`, what `make upload-do` runs
#   npm run           `npm run --silent upload -- --help`, what the README's npm examples run
# --help parses the flags and prints the usage, so it measures loading the bundle (with its V8 code
# cache) and nothing else: no pulumi, no network. Usage: bash bench/startup.sh [RUNS] (default 30).
# Prints hyperfine's table (mean ± σ, min … max) and writes .bench/startup.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(tools/node/ensure-node.sh):$PATH"
runs="${1:-30}"
command -v hyperfine >/dev/null || { echo "hyperfine is not installed (apt-get install -y hyperfine)" >&2; exit 2; }
mkdir -p .bench
# builds bin/upload.cjs and its code cache if they are out of date, so no timed run includes a build
node tools/upload/run.cjs --help >/dev/null
echo "$(nproc) cores, node $(node --version), npm $(npm --version), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine --shell=none --warmup 3 --runs "$runs" --export-markdown .bench/startup.md \
    -n "bare node (node -e 0)" "node -e 0" \
    -n "make upload-do's command (node tools/upload/run.cjs --help)" "node tools/upload/run.cjs --help" \
    -n "npm run --silent upload -- --help" "npm run --silent upload -- --help"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
