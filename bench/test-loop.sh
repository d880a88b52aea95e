#!/usr/bin/env bash
# The test loop before and after: `npm test` of a base commit (default: main) against `npm test`
# of the working tree, alternately, in the same period, so both see the same machine load.
#
#   bash bench/test-loop.sh [ROUNDS] [BASE]     (default: 2 rounds, base main)
#   COLD=1 bash bench/test-loop.sh …            every run starts with empty caches (as CI does)
#
# The base is exported with `git archive` into a temporary folder sharing this tree's
# node_modules/ (nothing in the repository changes). Each run prints its wall time, its CPU
# time (user + sys of every process it started: the figure that does not depend on what else
# the machine runs), the load average before it and the test counts; the outputs stay in
# .bench/test-loop/ (git-ignored). Warm (default): the caches the runner keeps in
# ~/.cache/do-gitops-platform (tools/test/run.mts) and tsx's cache stay from one run to the
# next; the first round warms them. COLD=1: each run gets a fresh DO_GITOPS_CACHE and TMPDIR
# (tsx keeps its cache in TMPDIR), so it measures what a clean CI clone pays.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(tools/node/ensure-node.sh):$PATH"
rounds="${1:-2}"
base="${2:-main}"
out=.bench/test-loop
mkdir -p "$out"
old=$(mktemp -d "${TMPDIR:-/tmp}/test-loop-base.XXXXXX")
trap 'rm -rf "$old"' EXIT
git archive --format=tar "$base" | tar -x -C "$old"
ln -s "$PWD/node_modules" "$old/node_modules"
# Biome reads .gitignore through git: give the copy a repository of its own.
git -C "$old" init -q

echo "$(nproc) cores, node $(node --version); base $base ($(git rev-parse --short "$base")) vs working tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes'))"
echo "mode: $([ "${COLD:-}" = 1 ] && echo 'cold (empty caches every run)' || echo 'warm (caches kept between runs)')"
printf '%-6s %-7s %8s %9s  %-16s %s\n' round command wall user+sys "load before" tests
run() {
    local which="$1" dir="$2" round="$3"
    local log="$PWD/$out/$which-$round.txt" fresh="" load times_out status=0
    local -a extra=()
    if [ "${COLD:-}" = 1 ]; then
        fresh=$(mktemp -d "${TMPDIR:-/tmp}/test-loop-cold.XXXXXX")
        mkdir -p "$fresh/tmp"
        extra=(env "DO_GITOPS_CACHE=$fresh/cache" "TMPDIR=$fresh/tmp")
    fi
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    # In a subshell, the second line of `times` is user and sys of every process it waited for
    # (npm and everything below it).
    times_out=$(
        (
            t0=$(date +%s.%N)
            cd "$dir" && "${extra[@]}" npm test >"$log" 2>&1 || echo "FAILED" >"$log.failed"
            echo "wall $t0 $(date +%s.%N)"
            # not `times | …`: a pipeline would run `times` in a subshell without children
            times >"$log.times"
            tail -n 1 "$log.times"
            rm -f "$log.times"
        )
    )
    if [ -f "$log.failed" ]; then
        status=1
        rm -f "$log.failed"
    fi
    local wall cpu counts
    wall=$(echo "$times_out" | awk '/^wall/{printf "%.1f", $3 - $2}')
    cpu=$(echo "$times_out" | tail -n 1 | awk 'function s(x){split(x,p,"m"); sub("s","",p[2]); return p[1]*60+p[2]} {printf "%.1f", s($1)+s($2)}')
    # before: Node's spec summary (ℹ tests N, ℹ pass N, ℹ fail N); after: the runner's closing line
    counts=$(grep -E '^[0-9]+ test files, [0-9]+ tests' "$log" | sed 's/;.*//' || true)
    [ -n "$counts" ] || counts=$(grep -E '^ℹ (tests|pass|fail) [0-9]+$' "$log" | tail -n 3 | sed 's/ℹ //' | tr '\n' ' ')
    printf '%-6s %-7s %8s %9s  %-16s %s%s\n' "$round" "$which" "${wall}s" "${cpu}s" "$load" "$counts" \
        "$([ "$status" = 0 ] || echo " FAILED, see $log")"
    if [ -n "$fresh" ]; then rm -rf "$fresh"; fi
}
for r in $(seq 1 "$rounds"); do
    run before "$old" "$r"
    run after "$PWD" "$r"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
