// Entry point of `npm test` / `make test`: Biome, ESLint, the type check and every test file,
// as jobs on a pool of worker slots, then the slowest files.
//
// usage: npm test [-- [--concurrency N] [--no-lint] [test/FILE…]]
//
// - Test files listed in groups.mts share Node.js processes (`--test-isolation=none`): the
//   Pulumi files one per two slots (`--groups N` or TEST_GROUPS=N for another count), since
//   loading @pulumi/pulumi costs CPU in every process, and the upload tool's files one process per
//   group there; every other file runs in a process of its own. Every
//   test process runs its files itself (`--test-isolation=none`: no second process per file)
//   and preloads lean-hooks.mts (the test runner's async hook without promise tracking).
// - Biome, ESLint and `tsc --noEmit` are jobs in the same pool as the tests, not a step before
//   them; ESLint and `tsc` are skipped when nothing they read changed since they passed, and
//   `tsc` keeps its incremental build info in the cache folder, one file per checkout.
// - Jobs start longest first, by the durations the previous run recorded (cache folder), so
//   the slowest one never starts last.
// - Every Node.js process it starts (test processes and what they spawn: make, npm, tsx)
//   shares Node's compile cache (NODE_COMPILE_CACHE) in the cache folder.
// - Each job's output (Node's spec reporter for tests) is printed when the job ends, in one
//   piece. At the end: the failures, the 10 slowest files and the totals. The exit code is 1
//   when anything failed: a failing test, a file that crashed at load or ran no test, a lint
//   or type error.
//
// The cache folder is $DO_GITOPS_CACHE, else $XDG_CACHE_HOME/do-gitops-platform, else
// ~/.cache/do-gitops-platform (the one tools/node/ensure-node.sh uses); nothing in it is
// needed: a clean clone (CI) starts without it and fills it.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import module from "node:module";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { cacheFolder } from "../lib/cache.js";
import { SHARED_PROCESS_FILES, UPLOAD_PROCESS_FILES, UPLOAD_PROCESS_GROUPS } from "./groups.mjs";
import type { TestLine } from "./reporter.mjs";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const CACHE = cacheFolder();
const TIMINGS = path.join(CACHE, "test-times.json");
const BIN = path.join(ROOT, "node_modules", ".bin");
const REPORTER = "./tools/test/reporter.mts";
const GUARD = "./tools/test/shared-guard.mts";
const LEAN_HOOKS = "./tools/test/lean-hooks.mts";

/** One unit of work for a worker slot. */
interface Job {
    readonly name: string;
    readonly command: string;
    readonly args: readonly string[];
    /** Test files the job runs (none for lint and type check). */
    readonly files: readonly string[];
    /** Where the timing reporter writes (test jobs). */
    readonly events?: string;
    /** Expected seconds, for the order. */
    estimate: number;
}

interface JobResult {
    readonly job: Job;
    readonly code: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly seconds: number;
    /** User + sys seconds of the job's processes (Linux), see jobCpu. */
    readonly cpu?: number;
    readonly output: string;
    readonly lines: TestLine[];
}

const { values: opts, positionals } = parseArgs({
    options: {
        concurrency: { type: "string" },
        "no-lint": { type: "boolean", default: false },
        fresh: { type: "boolean", default: false },
        groups: { type: "string" },
    },
    allowPositionals: true,
});

const concurrency = Number(opts.concurrency ?? process.env.TEST_CONCURRENCY ?? 2);
if (!Number.isInteger(concurrency) || concurrency < 1) {
    console.error(`--concurrency must be a whole number >= 1, not ${opts.concurrency}`);
    process.exit(2);
}

function testFiles(): string[] {
    return readdirSync(path.join(ROOT, "test"))
        .filter((f) => f.endsWith(".test.ts") || f.endsWith(".test.mts"))
        .sort()
        .map((f) => `test/${f}`);
}

const all = testFiles();
for (const f of [...SHARED_PROCESS_FILES, ...UPLOAD_PROCESS_FILES]) {
    if (!all.includes(f)) {
        console.error(`tools/test/groups.mts lists ${f}, which is not a test file (renamed? update the list)`);
        process.exit(2);
    }
    if ([SHARED_PROCESS_FILES, ...Object.values(UPLOAD_PROCESS_GROUPS)].filter((g) => g.includes(f)).length > 1) {
        console.error(`tools/test/groups.mts lists ${f} in two process groups`);
        process.exit(2);
    }
    // a top-level hook of one file would run for every file of its process (see groups.mts)
    const hooks = SHARED_PROCESS_FILES.includes(f)
        ? /^(before|after|beforeEach|afterEach)\(/m
        : /^(beforeEach|afterEach)\(/m;
    const hook = hooks.exec(readFileSync(path.join(ROOT, f), "utf8"));
    if (hook) {
        console.error(
            `${f} has a top-level ${hook[1]}() hook, which its group in tools/test/groups.mts does not allow`,
        );
        process.exit(2);
    }
}
const chosen =
    positionals.length > 0 ? [...new Set(positionals.map((f) => path.relative(ROOT, path.resolve(f))))] : all;
for (const f of chosen) {
    if (!all.includes(f)) {
        console.error(`${f} is not a test file (test/*.test.ts, test/*.test.mts)`);
        process.exit(2);
    }
}
const lint = positionals.length === 0 && !opts["no-lint"];

const previous: Record<string, number> = (() => {
    try {
        return JSON.parse(readFileSync(TIMINGS, "utf8"));
    } catch {
        return {};
    }
})();
/** Seconds a file took last time; a guess from its size when it has not run here yet. */
const fileEstimate = (f: string) => previous[f] ?? statSync(path.join(ROOT, f)).size / 4000;

mkdirSync(CACHE, { recursive: true });
const tmp = path.join(os.tmpdir(), `do-gitops-test-${process.pid}`);
mkdirSync(tmp, { recursive: true });

function testJob(name: string, files: string[], shared: boolean): Job {
    const events = path.join(tmp, `${name.replace(/[^\w.-]+/g, "_")}.jsonl`);
    return {
        name,
        command: process.execPath,
        args: [
            "--expose-internals",
            "--import",
            "tsx",
            "--import",
            LEAN_HOOKS,
            ...(shared ? ["--import", GUARD] : []),
            "--test",
            "--test-isolation=none",
            "--test-reporter=spec",
            "--test-reporter-destination=stdout",
            `--test-reporter=${REPORTER}`,
            `--test-reporter-destination=${events}`,
            ...files,
        ],
        files,
        events,
        estimate: files.reduce((s, f) => s + fileEstimate(f), 0),
    };
}

/** Splits the shared files into `n` groups of about equal expected time (longest first). */
function balance(files: string[], n: number): string[][] {
    const groups = Array.from({ length: n }, () => ({ files: [] as string[], total: 0 }));
    for (const f of [...files].sort((a, b) => fileEstimate(b) - fileEstimate(a))) {
        const g = groups.reduce((min, x) => (x.total < min.total ? x : min));
        g.files.push(f);
        g.total += fileEstimate(f);
    }
    return groups.filter((g) => g.files.length > 0).map((g) => g.files.sort());
}

// ESLint's type-aware rules see every file of the TypeScript program, so a per-file cache
// could keep a stale pass; instead, one hash of everything ESLint reads (the linted folders'
// sources, its config, tsconfig and the lockfile) skips the whole run when it equals the hash
// of a run that passed. `tsc --noEmit` is skipped the same way, on a hash of everything the
// type check reads (every folder tsconfig.json includes, tsconfig and the lockfile): even an
// incremental build with nothing changed parses the whole program (about 9 s of CPU). Each
// stamp file keeps the hashes of the last few passes, so worktrees of one repository that
// share the cache folder do not evict each other's pass.
const STAMP_KEEP = 20;
const stampFile = (tool: string) => path.join(CACHE, `${tool}-passed.sha256`);
function sourcesHash(dirs: readonly string[], files: readonly string[], pattern: RegExp): string {
    const hash = createHash("sha256");
    const walk = (dir: string): void => {
        if (!existsSync(path.join(ROOT, dir))) return;
        for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true }).sort((a, b) =>
            a.name.localeCompare(b.name),
        )) {
            const rel = path.join(dir, e.name);
            if (e.isDirectory()) walk(rel);
            else if (pattern.test(e.name))
                hash.update(`${rel}\0`)
                    .update(readFileSync(path.join(ROOT, rel)))
                    .update("\0");
        }
    };
    for (const d of dirs) walk(d);
    for (const f of files) {
        hash.update(`${f}\0`)
            .update(readFileSync(path.join(ROOT, f)))
            .update("\0");
    }
    return hash.digest("hex");
}
const passedHashes = (tool: string): string[] =>
    existsSync(stampFile(tool))
        ? readFileSync(stampFile(tool), "utf8")
              .split("\n")
              .map((l) => l.trim())
              .filter((l) => l !== "")
        : [];
/** Records (passed) or forgets (failed) a tool's hash; a lost race between two runs only costs a rerun. */
function stamp(tool: string, hash: string, passed: boolean): void {
    const rest = passedHashes(tool).filter((h) => h !== hash);
    const next = passed ? [hash, ...rest].slice(0, STAMP_KEEP) : rest;
    try {
        writeFileSync(stampFile(tool), next.length > 0 ? `${next.join("\n")}\n` : "");
    } catch {
        // only an optimisation
    }
}
const skippedNote: string[] = [];
const lintHashes = () => ({
    eslint: sourcesHash(
        ["components", "infrastructure", "tools"],
        ["eslint.config.mjs", "tsconfig.json", "package.json", "package-lock.json"],
        /\.[cm]?[jt]s$/,
    ),
    tsc: sourcesHash(
        ["infrastructure", "components", "tools", "test", "bench"],
        ["tsconfig.json", "package.json", "package-lock.json"],
        /\.([cm]?[jt]s|json)$/,
    ),
});
const hashes = lint ? lintHashes() : undefined;
/** tsc's incremental build info, one per checkout: it records paths relative to its own folder. */
const TSBUILDINFO = path.join(
    CACHE,
    "tsc",
    `${createHash("sha256").update(ROOT).digest("hex").slice(0, 16)}.tsbuildinfo`,
);

const jobs: Job[] = [];
if (lint) {
    const tool = (name: string, bin: string, args: string[]): Job => ({
        name,
        command: path.join(BIN, bin),
        args,
        files: [],
        estimate: previous[name] ?? 10,
    });
    jobs.push(tool("biome", "biome", ["check", "."]));
    const why = "since it last passed (--fresh runs it)";
    if (!opts.fresh && hashes && passedHashes("eslint").includes(hashes.eslint)) {
        skippedNote.push(`eslint: skipped, no linted file or ESLint input changed ${why}`);
    } else {
        jobs.push(tool("eslint", "eslint", ["."]));
    }
    if (!opts.fresh && hashes && passedHashes("tsc").includes(hashes.tsc)) {
        skippedNote.push(`tsc: skipped, no file of the TypeScript program, tsconfig or the lockfile changed ${why}`);
    } else {
        mkdirSync(path.dirname(TSBUILDINFO), { recursive: true });
        jobs.push(tool("tsc", "tsc", ["--noEmit", "-p", ".", "--incremental", "--tsBuildInfoFile", TSBUILDINFO]));
    }
}
const shared = chosen.filter((f) => SHARED_PROCESS_FILES.includes(f));
// One shared process per two slots: since the harness stopped tracking promises
// (lean-hooks.mts) all 39 files take about 15 s of CPU in one process, no longer than the
// longest files, and each further process loads @pulumi/pulumi again (about 3 s of CPU).
const groupCount = Math.max(
    1,
    Number(opts.groups ?? process.env.TEST_GROUPS ?? Math.max(1, Math.floor(concurrency / 2))),
);
balance(shared, Math.min(groupCount, shared.length)).forEach((files, i, groups) => {
    jobs.push(testJob(groups.length > 1 ? `shared process ${i + 1}/${groups.length}` : "shared process", files, true));
});
for (const [name, files] of Object.entries(UPLOAD_PROCESS_GROUPS)) {
    const group = chosen.filter((f) => files.includes(f));
    if (group.length > 0) jobs.push(testJob(name, group, false));
}
for (const f of chosen.filter((f) => !SHARED_PROCESS_FILES.includes(f) && !UPLOAD_PROCESS_FILES.includes(f)))
    jobs.push(testJob(f, [f], false));
jobs.sort((a, b) => b.estimate - a.estimate);

const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? path.join(CACHE, "node-compile-cache"),
    ...(process.stdout.isTTY && !process.env.NO_COLOR ? { FORCE_COLOR: "1" } : {}),
};
module.enableCompileCache?.(env.NODE_COMPILE_CACHE);

/**
 * User + sys seconds of every process this one waited for (Linux: cutime and cstime in
 * /proc/self/stat, in clock ticks of 1/100 s), the figure that does not depend on the
 * machine's load; undefined elsewhere.
 */
function childrenCpuSeconds(): number | undefined {
    try {
        const stat = readFileSync("/proc/self/stat", "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17
        return (Number(fields[13]) + Number(fields[14])) / 100;
    } catch {
        return undefined;
    }
}

let cpuSeen = childrenCpuSeconds();
/**
 * The CPU seconds of the job whose process was just reaped: the growth of childrenCpuSeconds
 * since the previous job ended (the kernel adds a child's time, with that of everything it
 * waited for, when its parent reaps it; the runner reaps nothing but its jobs).
 */
function jobCpu(): number | undefined {
    const now = childrenCpuSeconds();
    if (now === undefined || cpuSeen === undefined) return undefined;
    const used = now - cpuSeen;
    cpuSeen = now;
    return used;
}

function runJob(job: Job): Promise<JobResult> {
    const started = performance.now();
    return new Promise((resolve) => {
        const child = spawn(job.command, job.args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
        const chunks: Buffer[] = [];
        child.stdout.on("data", (c: Buffer) => chunks.push(c));
        child.stderr.on("data", (c: Buffer) => chunks.push(c));
        let cpu: number | undefined;
        child.on("exit", () => {
            cpu = jobCpu();
        });
        const finish = (code: number | null, signal: NodeJS.Signals | null, extra = "") => {
            let lines: TestLine[] = [];
            if (job.events && existsSync(job.events)) {
                lines = readFileSync(job.events, "utf8")
                    .split("\n")
                    .filter((l) => l.trim() !== "")
                    .map((l) => JSON.parse(l) as TestLine);
            }
            const output = Buffer.concat(chunks).toString("utf8") + extra;
            resolve({ job, code, signal, seconds: (performance.now() - started) / 1000, cpu, output, lines });
        };
        child.on("error", (e) => finish(null, null, `\ncould not start ${job.command}: ${e.message}\n`));
        child.on("close", (code, signal) => finish(code, signal));
    });
}

const rel = (f: string | undefined) => (f ? path.relative(ROOT, f) : "?");
const results: JobResult[] = [];
const started = performance.now();
const queue = [...jobs];

/**
 * Busy cores of the whole machine since the previous call (Linux: /proc/stat, all CPUs: user,
 * nice, system, irq, softirq and steal time over the elapsed time); undefined elsewhere.
 */
function machineBusyCores(): () => number | undefined {
    const read = () => {
        try {
            const [, ...f] = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/);
            const n = f.map(Number);
            const idle = (n[3] ?? 0) + (n[4] ?? 0);
            return { idle, total: n.slice(0, 8).reduce((a, b) => a + b, 0) };
        } catch {
            return undefined;
        }
    };
    let last = read();
    return () => {
        const now = read();
        if (!now || !last || now.total <= last.total) return undefined;
        const busy = (now.total - last.total - (now.idle - last.idle)) / (now.total - last.total);
        last = now;
        return busy * os.availableParallelism();
    };
}

async function runAndReport(job: Job): Promise<void> {
    const r = await runJob(job);
    results.push(r);
    const ok = r.code === 0 ? "ok" : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
    const cpu = r.cpu === undefined ? "" : `, ${r.cpu.toFixed(1)} s CPU`;
    process.stdout.write(`\n── ${job.name} (${r.seconds.toFixed(1)} s${cpu}, ${ok})\n`);
    // Passing lint and type-check jobs print nothing worth reading.
    if (job.events || r.code !== 0) process.stdout.write(r.output.endsWith("\n") ? r.output : `${r.output}\n`);
}

// `concurrency` jobs at a time; and one more each time the machine has had a core idle for half
// a second (a test waiting on a timeout, a stalled request or a child process leaves its slot's
// core idle; the next job fills it), up to twice `concurrency` in all. On a machine busy with
// other work no extra job starts. --concurrency 1 (or TEST_FILL=0) never adds one.
const fill = concurrency > 1 && process.env.TEST_FILL !== "0";
const busyCores = machineBusyCores();
const running = new Set<Promise<void>>();
const start = (job: Job) => {
    const p: Promise<void> = runAndReport(job).finally(() => running.delete(p));
    running.add(p);
};
let idleSamples = 0;
let filled = 0;
while (queue.length > 0 || running.size > 0) {
    while (running.size < concurrency && queue.length > 0) start(queue.shift()!);
    const tick = new Promise<"tick">((resolve) => setTimeout(() => resolve("tick"), 250).unref());
    if ((await Promise.race([...running, tick])) !== "tick") continue;
    const busy = busyCores();
    idleSamples = busy !== undefined && os.availableParallelism() - busy >= 0.75 ? idleSamples + 1 : 0;
    if (fill && idleSamples >= 2 && running.size < 2 * concurrency && queue.length > 0) {
        start(queue.shift()!);
        idleSamples = 0;
        filled++;
    }
}
const wall = (performance.now() - started) / 1000;
rmSync(tmp, { recursive: true, force: true });

// ------------------------------------------------------------------ what went wrong

const problems: string[] = [];
const seconds = new Map<string, { s: number; shared: boolean; cpu?: number }>();
let tests = 0;
let passed = 0;
let failed = 0;
let skipped = 0;
for (const r of results) {
    if (!r.job.events) {
        seconds.set(r.job.name, { s: r.seconds, shared: false, cpu: r.cpu });
        if (r.code !== 0) problems.push(`${r.job.name} failed (${r.signal ?? `exit ${r.code}`}); its output is above`);
        continue;
    }
    const isShared = r.job.files.length > 1 || SHARED_PROCESS_FILES.includes(r.job.files[0]);
    for (const f of r.job.files) {
        const abs = path.join(ROOT, f);
        const mine = r.lines.filter((l) => l.kind === "test" && l.file === abs);
        // In a shared process a file's time is its own top-level tests; alone, the whole process.
        const own = mine.filter((l) => l.nesting === 0).reduce((s, l) => s + (l.durationMs ?? 0) / 1000, 0);
        seconds.set(f, { s: isShared ? own : r.seconds, shared: isShared, cpu: isShared ? undefined : r.cpu });
        const counted = mine.filter((l) => l.type !== "suite");
        if (counted.length === 0) problems.push(`${f}: no test ran (did it crash at load? see its output above)`);
        for (const l of counted) {
            tests++;
            if (l.skip || l.todo) skipped++;
            else if (l.ok) passed++;
            else {
                failed++;
                problems.push(`${f}: ✖ ${l.name}${l.error ? ` — ${l.error}` : ""}`);
            }
        }
    }
    const suiteFailures = r.lines.filter((l) => l.kind === "test" && l.type === "suite" && !l.ok);
    for (const l of suiteFailures)
        problems.push(`${rel(l.file)}: ✖ ${l.name} (suite)${l.error ? ` — ${l.error}` : ""}`);
    // a process that ends without the test runner's own summary (a process.exit in a test or a
    // hook) may have left tests unrun and unreported, whatever its exit code
    if (r.code === 0 && !r.lines.some((l) => l.kind === "summary" && l.file === undefined)) {
        problems.push(
            `${r.job.name}: the test process ended before the test runner's summary (a process.exit?); ` +
                "tests after that point did not run",
        );
    }
    if (r.code !== 0 && !problems.some((p) => r.job.files.some((f) => p.startsWith(`${f}:`)))) {
        problems.push(
            `${r.job.name}: the test process ended with ${r.signal ?? `exit ${r.code}`}; its output is above`,
        );
    }
}

// A file edited while the run went on: the tool may have read either version, so no stamp.
const hashesAfter =
    hashes && results.some((r) => r.job.name === "eslint" || r.job.name === "tsc") ? lintHashes() : undefined;
for (const tool of ["eslint", "tsc"] as const) {
    const run = results.find((r) => r.job.name === tool);
    if (run && hashes) stamp(tool, hashes[tool], run.code === 0 && hashesAfter?.[tool] === hashes[tool]);
}

const nextTimings: Record<string, number> = { ...previous };
for (const [k, v] of seconds) nextTimings[k] = Math.round(v.s * 10) / 10;
try {
    writeFileSync(TIMINGS, `${JSON.stringify(nextTimings, null, 2)}\n`);
} catch {
    // the order of the next run is only an optimisation
}

const slowest = [...seconds]
    .filter(([k]) => k.startsWith("test/"))
    .sort((a, b) => b[1].s - a[1].s)
    .slice(0, 10);
const width = Math.max(...slowest.map(([k]) => k.length));
const cpuText = (c: number | undefined) => (c === undefined ? "" : `  ${c.toFixed(1).padStart(6)} s CPU`);
console.log(
    "\n── slowest test files (seconds; CPU: user + sys of its process and what it started;" +
        " * = in a shared process: its own tests, without the load)",
);
for (const [k, v] of slowest)
    console.log(`  ${k.padEnd(width)}  ${v.s.toFixed(1).padStart(6)}${v.shared ? " *" : cpuText(v.cpu)}`);
const sharedJobs = results.filter((r) => r.job.files.length > 1);
for (const r of sharedJobs)
    console.log(
        `  (${r.job.name}: ${r.job.files.length} files, ${r.seconds.toFixed(1)} s in all` +
            `${r.cpu === undefined ? "" : `, ${r.cpu.toFixed(1)} s CPU`})`,
    );
const tools = results.filter((r) => !r.job.events).map((r) => `${r.job.name} ${r.seconds.toFixed(1)} s`);
const cpu = childrenCpuSeconds();
console.log(
    `\n${chosen.length} test files, ${tests} tests: ${passed} passed, ${failed} failed, ${skipped} skipped/todo` +
        `${tools.length ? `; ${tools.join(", ")}` : ""}; ${wall.toFixed(1)} s in all (${concurrency} at a time` +
        `${filled > 0 ? `, ${filled} job(s) started beside them on an idle core` : ""})` +
        `${cpu === undefined ? "" : `, ${cpu.toFixed(1)} s of CPU (user + sys of every process it started)`}`,
);
for (const n of skippedNote) console.log(n);
if (problems.length > 0) {
    console.log(`\n✖ ${problems.length} problem(s):`);
    for (const p of problems) console.log(`  ${p}`);
    process.exitCode = 1;
}
