// Entry point of `npm run mutation` / `make mutation`: StrykerJS over the groups in groups.ts.
//
// usage: npm run mutation -- [--group NAME[,NAME…]] [--concurrency N] [--whole-suite] [--list]
//
// Each group runs on its own, one after the other (smallest first), with Stryker's tap runner:
// every test file is run as `node --import tsx --test-reporter=tap <file>` with the group's
// mutants switched on one at a time. The run lowers its own CPU priority (nice 15) and uses one
// test process at a time unless told otherwise: it is background work on a shared machine.
// Reports (JSON, HTML, survivors) go to reports/mutation/, which git ignores; the scores are
// printed per group and per file.
//
// --whole-suite: a second pass per group. The mutants that survived the group's own test files
// are run again (and only they: Stryker's `file:line:column-line:column` ranges) against every
// test file of the suite; what survives that is a behaviour no test pins.
//
// Every group runs in a child process that leads its own process group (Stryker, its workers and
// their test processes all belong to it). SIGINT/SIGTERM to this process is forwarded to that
// group; Stryker then removes its sandbox and exits, and whatever is still running after a
// bounded wait is killed.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { Stryker } from "@stryker-mutator/core";
import { GROUPS } from "./groups.js";

type StrykerOptions = ConstructorParameters<typeof Stryker>[0];
type MutantResult = Awaited<ReturnType<Stryker["runMutationTest"]>>[number];

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const REPORTS = path.join(ROOT, "reports", "mutation");
const SANDBOX = ".stryker-tmp";

/** Killed, survived… per file, and the mutation score Stryker itself reports. */
export interface Tally {
    killed: number;
    timeout: number;
    survived: number;
    noCoverage: number;
    ignored: number;
    errors: number;
}

const emptyTally = (): Tally => ({ killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0, errors: 0 });

function add(t: Tally, status: string): void {
    switch (status) {
        case "Killed":
            t.killed++;
            break;
        case "Timeout":
            t.timeout++;
            break;
        case "Survived":
            t.survived++;
            break;
        case "NoCoverage":
            t.noCoverage++;
            break;
        case "Ignored":
            t.ignored++;
            break;
        default:
            t.errors++; // RuntimeError, CompileError: not valid mutants, not in the score
    }
}

/** Stryker's mutation score: detected / valid mutants (ignored and erroring ones left out). */
export function score(t: Tally): number {
    const detected = t.killed + t.timeout;
    const valid = detected + t.survived + t.noCoverage;
    return valid === 0 ? 100 : (100 * detected) / valid;
}

/** Every test file of the suite (what `npm test` runs). */
export function wholeSuite(): string[] {
    return readdirSync(path.join(ROOT, "test"))
        .filter((f) => /\.test\.m?ts$/.test(f))
        .sort()
        .map((f) => `test/${f}`);
}

/**
 * Where the spawned test processes keep Node's compile cache (V8 code of every module they
 * load, most of it node_modules): outside the repository, shared by every run. Cuts the CPU
 * time of each test process.
 */
function compileCacheDir(): string {
    const base =
        process.env.DO_GITOPS_CACHE ??
        path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "do-gitops-platform");
    return path.join(base, "node-compile-cache");
}

function options(
    name: string,
    mutate: readonly string[],
    tests: readonly string[],
    skipTests: string | undefined,
    concurrency: number,
): StrykerOptions {
    return {
        testRunner: "tap",
        plugins: ["@stryker-mutator/tap-runner"],
        tap: {
            testFiles: [...tests],
            nodeArgs: [
                "--import",
                "tsx",
                "--test-reporter=tap",
                ...(skipTests ? [`--test-skip-pattern=${skipTests}`] : []),
                "-r",
                "{{hookFile}}",
                "{{testFile}}",
            ],
            forceBail: true,
        },
        mutate: [...mutate],
        // The tap runner reports coverage per test file: a mutant runs only the test files that
        // reached it in the dry run, in the order given (the group's own file first), and stops at
        // the first failing one. ("all" would run every file for every mutant; "off" too.)
        coverageAnalysis: "perTest",
        concurrency,
        // a test run on a loaded machine can take twice its dry-run time
        timeoutFactor: 2,
        timeoutMS: 20_000,
        dryRunTimeoutMinutes: 30,
        tempDirName: SANDBOX,
        cleanTempDir: true,
        ignorePatterns: ["/render", "/out", "/.bench", "/.pulumi-state", "/kubeconfig.yaml", "/reports"],
        reporters: ["clear-text", "progress-append-only", "json", "html"],
        clearTextReporter: { allowColor: false, logTests: false, reportMutants: false, reportScoreTable: true },
        jsonReporter: { fileName: path.join(REPORTS, `${name}.json`) },
        htmlReporter: { fileName: path.join(REPORTS, `${name}.html`) },
    };
}

/** A survivor as the reports keep it (1-based line, 1-based column, as the JSON report). */
interface Survivor {
    file: string;
    mutator: string;
    replacement: string;
    start: { line: number; column: number };
    end: { line: number; column: number };
    status: string;
}

function survivorOf(m: MutantResult): Survivor {
    return {
        file: path.relative(ROOT, m.fileName),
        mutator: m.mutatorName,
        replacement: m.replacement ?? "",
        // runMutationTest's locations are zero-based (Stryker's Position); the report's are 1-based
        start: { line: m.location.start.line + 1, column: m.location.start.column + 1 },
        end: { line: m.location.end.line + 1, column: m.location.end.column + 1 },
        status: m.status,
    };
}

const survivorKey = (s: Survivor): string =>
    `${s.file}:${s.start.line}:${s.start.column}-${s.end.line}:${s.end.column} ${s.mutator} ${s.replacement}`;

function describe(s: Survivor): string {
    const replacement = s.replacement.replace(/\s+/g, " ");
    return `${s.status} ${s.file}:${s.start.line}:${s.start.column} ${s.mutator}: ${replacement.length > 100 ? `${replacement.slice(0, 97)}...` : replacement}`;
}

interface GroupResult {
    name: string;
    mutants: number;
    minutes: number;
    files: Record<string, Tally>;
    all: Tally;
    survivors: Survivor[];
}

function line(what: string, t: Tally): string {
    return (
        `${what.padEnd(44)} ${score(t).toFixed(1).padStart(5)}%  killed ${t.killed}, timeout ${t.timeout}, ` +
        `survived ${t.survived}, no coverage ${t.noCoverage}, ignored ${t.ignored}` +
        (t.errors ? `, errors ${t.errors}` : "")
    );
}

function print(r: GroupResult, heading: string): void {
    const perMutant = r.mutants ? ((r.minutes * 60) / r.mutants).toFixed(1) : "-";
    process.stdout.write(
        `\n== ${heading} ${r.name} (${r.minutes.toFixed(1)} min, ${r.mutants} mutants, ${perMutant} s per mutant)\n`,
    );
    for (const [file, t] of Object.entries(r.files)) process.stdout.write(`${line(file, t)}\n`);
    process.stdout.write(`${line(`group ${r.name}`, r.all)}\n`);
    if (r.survivors.length) {
        process.stdout.write(`survivors (${path.relative(ROOT, REPORTS)}/${r.name}-survivors.txt):\n`);
        for (const s of r.survivors.slice(0, 40)) process.stdout.write(`  ${describe(s)}\n`);
        if (r.survivors.length > 40) process.stdout.write(`  … ${r.survivors.length - 40} more\n`);
    }
}

/** Runs Stryker in this process (the child) and writes the group's result files. */
async function runInProcess(
    name: string,
    mutate: readonly string[],
    tests: readonly string[],
    skipTests: string | undefined,
    concurrency: number,
): Promise<GroupResult> {
    const { Stryker } = await import("@stryker-mutator/core");
    const started = Date.now();
    const results = await new Stryker(options(name, mutate, tests, skipTests, concurrency)).runMutationTest();
    const files: Record<string, Tally> = {};
    const all = emptyTally();
    for (const m of results) {
        const rel = path.relative(ROOT, m.fileName);
        files[rel] ??= emptyTally();
        add(files[rel], m.status);
        add(all, m.status);
    }
    const survivors = results.filter((m) => m.status === "Survived" || m.status === "NoCoverage").map(survivorOf);
    const result: GroupResult = {
        name,
        mutants: results.length,
        minutes: (Date.now() - started) / 60_000,
        files,
        all,
        survivors,
    };
    writeFileSync(path.join(REPORTS, `${name}-survivors.txt`), survivors.map((s) => `${describe(s)}\n`).join(""));
    writeFileSync(path.join(REPORTS, `${name}-result.json`), `${JSON.stringify(result, null, 2)}\n`);
    return result;
}

/** The child's work: one group, or the whole-suite pass over a group's survivors. */
async function child(name: string, concurrency: number, whole: boolean): Promise<number> {
    const group = GROUPS.find((g) => g.name === name)!;
    if (!whole) {
        print(
            await runInProcess(group.name, group.mutate, group.tests, group.skipTests, concurrency),
            "mutation group",
        );
        return 0;
    }
    const resultFile = path.join(REPORTS, `${group.name}-result.json`);
    if (!existsSync(resultFile)) {
        process.stderr.write(
            `error: no result of group ${group.name} yet (${path.relative(ROOT, resultFile)}); run it first\n`,
        );
        return 2;
    }
    const first = JSON.parse(readFileSync(resultFile, "utf8")) as GroupResult;
    if (!first.survivors.length) {
        process.stdout.write(`\n== whole suite ${group.name}: no survivors to re-check\n`);
        return 0;
    }
    // Stryker's ranges: 1-based lines, 0-based columns; a mutant is generated when its node lies
    // inside a range, so a few other mutants of the same expression may come along: only the
    // survivors are counted below.
    const ranges = first.survivors.map(
        (s) => `${s.file}:${s.start.line}:${s.start.column - 1}-${s.end.line}:${s.end.column - 1}`,
    );
    const name2 = `${group.name}.all-tests`;
    const second = await runInProcess(name2, [...new Set(ranges)], wholeSuite(), undefined, concurrency);
    const again = new Map(second.survivors.map((s) => [survivorKey(s), s]));
    const stillAlive = first.survivors.filter((s) => again.has(survivorKey(s)));
    // recompute the group's score: survivors killed by another test file count as killed
    const all = { ...first.all };
    const files = structuredClone(first.files);
    for (const s of first.survivors) {
        if (again.has(survivorKey(s))) continue;
        const t = files[s.file]!;
        if (s.status === "Survived") {
            t.survived--;
            all.survived--;
        } else {
            t.noCoverage--;
            all.noCoverage--;
        }
        t.killed++;
        all.killed++;
    }
    const result: GroupResult = {
        name: group.name,
        mutants: first.mutants,
        minutes: first.minutes + second.minutes,
        files,
        all,
        survivors: stillAlive,
    };
    writeFileSync(
        path.join(REPORTS, `${group.name}-whole-suite-survivors.txt`),
        stillAlive.map((s) => `${describe(s)}\n`).join(""),
    );
    writeFileSync(path.join(REPORTS, `${group.name}-whole-suite-result.json`), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(
        `\n${first.survivors.length - stillAlive.length} of ${first.survivors.length} survivors of ${group.name} killed by the whole suite (${second.mutants} mutants run in ${second.minutes.toFixed(1)} min)\n`,
    );
    print(result, "whole suite");
    return 0;
}

/** Runs the child for one group in its own process group, forwarding SIGINT/SIGTERM to it. */
function spawnGroup(
    name: string,
    concurrency: number,
    whole: boolean,
): Promise<{ code: number; signal?: NodeJS.Signals }> {
    return new Promise((resolve) => {
        const args = ["--import", "tsx", import.meta.filename, "--child", name, "--concurrency", String(concurrency)];
        if (whole) args.push("--whole-suite");
        const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: "inherit", detached: true });
        let received: NodeJS.Signals | undefined;
        let killTimer: NodeJS.Timeout | undefined;
        const forward = (signal: NodeJS.Signals): void => {
            if (received) return;
            received = signal;
            process.stderr.write(`\nmutation: ${signal}: stopping Stryker (group ${name})…\n`);
            try {
                process.kill(-proc.pid!, signal);
            } catch {
                // already gone
            }
            // Stryker disposes its sandbox and exits; anything left after 30 s is killed
            killTimer = setTimeout(() => {
                try {
                    process.kill(-proc.pid!, "SIGKILL");
                } catch {
                    // already gone
                }
            }, 30_000);
        };
        process.on("SIGINT", forward);
        process.on("SIGTERM", forward);
        proc.on("exit", (code, signal) => {
            process.off("SIGINT", forward);
            process.off("SIGTERM", forward);
            if (killTimer) clearTimeout(killTimer);
            if (received) {
                // the test processes of the group may outlive Stryker's exit: end them too
                try {
                    process.kill(-proc.pid!, "SIGKILL");
                } catch {
                    // none left
                }
                rmSync(path.join(ROOT, SANDBOX), { recursive: true, force: true });
                resolve({ code: 128 + os.constants.signals[received], signal: received });
                return;
            }
            resolve({ code: code ?? 128 + (signal ? os.constants.signals[signal] : 0) });
        });
    });
}

async function main(): Promise<number> {
    const { values } = parseArgs({
        options: {
            group: { type: "string" },
            concurrency: { type: "string", default: "1" },
            "whole-suite": { type: "boolean", default: false },
            list: { type: "boolean", default: false },
            child: { type: "string" },
            help: { type: "boolean", short: "h", default: false },
        },
    });
    if (values.help || values.list) {
        if (values.help)
            process.stdout.write(
                "usage: npm run mutation -- [--group NAME[,NAME…]] [--concurrency N] [--whole-suite]\n" +
                    "  --whole-suite  after each group, re-run its survivors against every test file\n",
            );
        for (const g of GROUPS) process.stdout.write(`  ${g.name.padEnd(20)} ${g.mutate.join(" ")}\n`);
        return 0;
    }
    const concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) {
        process.stderr.write(`error: --concurrency must be a whole number ≥ 1, got ${values.concurrency}\n`);
        return 2;
    }
    // the spawned test processes inherit this environment
    process.env.NODE_COMPILE_CACHE ??= compileCacheDir();
    mkdirSync(REPORTS, { recursive: true });
    if (values.child) return child(values.child, concurrency, values["whole-suite"]);

    const wanted = values.group ? values.group.split(",").map((s) => s.trim()) : GROUPS.map((g) => g.name);
    const unknown = wanted.filter((w) => !GROUPS.some((g) => g.name === w));
    if (unknown.length) {
        process.stderr.write(
            `error: unknown group(s) ${unknown.join(", ")}; groups: ${GROUPS.map((g) => g.name).join(", ")}\n`,
        );
        return 2;
    }
    // background work on a shared machine; children (Stryker and the test processes) inherit it
    try {
        if (os.getPriority() < 15) os.setPriority(15);
    } catch {
        // not allowed to change it: run as we are
    }
    const summary: string[] = [];
    for (const name of wanted) {
        for (const whole of values["whole-suite"] ? [false, true] : [false]) {
            const { code, signal } = await spawnGroup(name, concurrency, whole);
            if (signal) return code;
            if (code !== 0) {
                process.stderr.write(`error: group ${name}${whole ? " (whole suite)" : ""} failed (exit ${code})\n`);
                return code;
            }
        }
        const file = path.join(
            REPORTS,
            values["whole-suite"] ? `${name}-whole-suite-result.json` : `${name}-result.json`,
        );
        if (existsSync(file)) {
            const r = JSON.parse(readFileSync(file, "utf8")) as GroupResult;
            const perMutant = r.mutants ? ((r.minutes * 60) / r.mutants).toFixed(1) : "-";
            summary.push(`${line(`group ${name}`, r.all)}  (${r.mutants} mutants, ${perMutant} s/mutant)`);
        }
    }
    if (summary.length > 1)
        process.stdout.write(`\n== summary (${new Date().toISOString().slice(0, 10)})\n${summary.join("\n")}\n`);
    return 0;
}

main().then(
    (code) => {
        process.exitCode = code;
    },
    (err: unknown) => {
        process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exitCode = 1;
    },
);
