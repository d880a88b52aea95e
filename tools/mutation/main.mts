// Entry point of `npm run mutation` / `make mutation`: StrykerJS over the groups in groups.ts.
//
// usage: npm run mutation -- [--group NAME[,NAME…]] [--concurrency N] [--survivors] [--whole-suite] [--list]
//
// Each group runs on its own, one after the other (smallest first), with Stryker's tap runner:
// every test file is run as `node --import tsx --test-reporter=tap <file>` with the group's
// mutants switched on one at a time. The run lowers its own CPU priority (nice 15) and uses one
// test process at a time unless told otherwise: it is background work on a shared machine.
// Reports (JSON, HTML, survivors) go to reports/mutation/, which git ignores; the scores are
// printed per group and per file.
//
// --survivors: instead of the whole group, only the mutants that survived its last run (Stryker's
// `file:line:column-line:column` ranges), against the group's test files: minutes instead of a
// quarter of an hour after adding tests. The group's result is updated (a survivor now killed
// counts as killed, one marked `Stryker disable` as ignored).
// --whole-suite: after the group's pass, its survivors are run again against every test file of
// the suite; what survives that is a behaviour no test pins.
//
// Every group runs in a child process that leads its own process group (Stryker, its workers and
// their test processes all belong to it). SIGINT/SIGTERM to this process is forwarded to that
// group; Stryker then removes its sandbox and exits, and whatever is still running after a
// bounded wait is killed.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { Stryker } from "@stryker-mutator/core";
import { cacheFolder } from "../lib/cache.js";
import { GROUPS, type MutationGroup } from "./groups.js";
import { mergeRerun, type Survivor, type Tally } from "./merge.js";
import { testsReaching, wholeSuite } from "./reach.js";

type StrykerOptions = ConstructorParameters<typeof Stryker>[0];
type MutantResult = Awaited<ReturnType<Stryker["runMutationTest"]>>[number];

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const REPORTS = path.join(ROOT, "reports", "mutation");
const SANDBOX = ".stryker-tmp";

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

/**
 * Where the spawned test processes keep Node's compile cache (V8 code of every module they
 * load, most of it node_modules): outside the repository, shared by every run. Cuts the CPU
 * time of each test process.
 */
function compileCacheDir(): string {
    return path.join(cacheFolder(), "node-compile-cache");
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

/** The text of a (1-based line, 1-based column) span of a file. */
function textAt(file: string, start: Survivor["start"], end: Survivor["end"]): string {
    const lines = readFileSync(path.join(ROOT, file), "utf8").split("\n");
    if (start.line === end.line) return (lines[start.line - 1] ?? "").slice(start.column - 1, end.column - 1);
    return [
        (lines[start.line - 1] ?? "").slice(start.column - 1),
        ...lines.slice(start.line, end.line - 1),
        (lines[end.line - 1] ?? "").slice(0, end.column - 1),
    ].join("\n");
}

/**
 * Where a survivor's source text is now: the occurrence nearest its old line (a `Stryker disable`
 * comment or an edit above it moves it), or undefined when the text is gone.
 */
function relocate(s: Survivor): Survivor | undefined {
    const source = readFileSync(path.join(ROOT, s.file), "utf8");
    const lines = source.split("\n");
    const offsetOf = (line: number, column: number) =>
        lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + column - 1;
    const positionOf = (offset: number) => {
        const before = source.slice(0, offset).split("\n");
        return { line: before.length, column: before.at(-1)!.length + 1 };
    };
    // an empty text (the file changed during the run) matches everywhere: it cannot be found again
    if (s.original === "") return undefined;
    const old = offsetOf(s.start.line, s.start.column);
    let best: number | undefined;
    for (let at = source.indexOf(s.original); at >= 0; at = source.indexOf(s.original, at + 1)) {
        if (best === undefined || Math.abs(at - old) < Math.abs(best - old)) best = at;
    }
    if (best === undefined) return undefined;
    return { ...s, start: positionOf(best), end: positionOf(best + s.original.length) };
}

function survivorOf(m: MutantResult): Survivor {
    const file = path.relative(ROOT, m.fileName);
    // runMutationTest returns the report's results: lines and columns 1-based
    const start = { line: m.location.start.line, column: m.location.start.column };
    const end = { line: m.location.end.line, column: m.location.end.column };
    return {
        file,
        original: textAt(file, start, end),
        mutator: m.mutatorName,
        replacement: m.replacement ?? "",
        start,
        end,
        status: m.status,
    };
}

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
    partial = false,
): Promise<GroupResult & { all_mutants: Survivor[] }> {
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
    if (!partial) {
        writeFileSync(path.join(REPORTS, `${name}-survivors.txt`), survivors.map((s) => `${describe(s)}\n`).join(""));
        writeFileSync(path.join(REPORTS, `${name}-result.json`), `${JSON.stringify(result, null, 2)}\n`);
    }
    return { ...result, all_mutants: results.map(survivorOf) };
}

type Pass = "group" | "survivors" | "whole-suite";

/**
 * Re-runs the survivors of the group's last result, and only they, against `tests`, and updates
 * the result: a survivor killed now counts as killed, one now marked `Stryker disable` as ignored.
 */
async function rerunSurvivors(
    group: MutationGroup,
    pass: Pass,
    tests: readonly string[],
    concurrency: number,
): Promise<number> {
    const resultFile = path.join(REPORTS, `${group.name}-result.json`);
    if (!existsSync(resultFile)) {
        process.stderr.write(
            `error: no result of group ${group.name} yet (${path.relative(ROOT, resultFile)}); run it first\n`,
        );
        return 2;
    }
    const first = JSON.parse(readFileSync(resultFile, "utf8")) as GroupResult;
    if (!first.survivors.length) {
        process.stdout.write(`\n== ${pass} ${group.name}: no survivors to re-run\n`);
        return 0;
    }
    const moved = first.survivors.map((s) => ({ before: s, now: relocate(s) }));
    const present = moved.filter((m): m is { before: Survivor; now: Survivor } => m.now !== undefined);
    // Stryker's ranges: 1-based lines, 0-based columns; a mutant is generated when its node lies
    // inside a range, so other mutants of the same expression may come along: only the survivors
    // are counted below.
    const ranges = present.map(
        ({ now }) => `${now.file}:${now.start.line}:${now.start.column - 1}-${now.end.line}:${now.end.column - 1}`,
    );
    const rerun = ranges.length
        ? await runInProcess(
              `${group.name}.${pass}`,
              [...new Set(ranges)],
              tests,
              pass === "survivors" ? group.skipTests : undefined,
              concurrency,
              true,
          )
        : undefined;
    const key = (s: Survivor) => `${s.file}:${s.start.line}:${s.start.column} ${s.mutator} ${s.replacement}`;
    const statusNow = new Map((rerun?.all_mutants ?? []).map((m) => [key(m), m.status]));
    const { files, all, stillAlive, killed, ignored, gone } = mergeRerun(
        first,
        moved.map(({ before, now }) => ({ before, now, status: now ? statusNow.get(key(now)) : undefined })),
    );
    const result: GroupResult = {
        name: group.name,
        mutants: first.mutants,
        minutes: first.minutes + (rerun?.minutes ?? 0),
        files,
        all,
        survivors: stillAlive,
    };
    const suffix = pass === "whole-suite" ? "-whole-suite" : "";
    writeFileSync(
        path.join(REPORTS, `${group.name}${suffix}-survivors.txt`),
        stillAlive.map((s) => `${describe(s)}\n`).join(""),
    );
    writeFileSync(path.join(REPORTS, `${group.name}${suffix}-result.json`), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(
        `\n${pass} ${group.name}: of ${first.survivors.length} survivors ${killed} killed, ${ignored} marked equivalent, ` +
            `${gone} no longer in the code, ${stillAlive.length} still alive (${rerun?.mutants ?? 0} mutants run in ${(rerun?.minutes ?? 0).toFixed(1)} min)\n`,
    );
    print(result, pass === "whole-suite" ? "whole suite" : "after re-running survivors");
    return 0;
}

/** The child's work: one pass over one group. */
async function child(name: string, concurrency: number, pass: Pass): Promise<number> {
    const group = GROUPS.find((g) => g.name === name)!;
    if (pass === "group") {
        print(
            await runInProcess(group.name, group.mutate, group.tests, group.skipTests, concurrency),
            "mutation group",
        );
        return 0;
    }
    if (pass === "survivors") return rerunSurvivors(group, pass, group.tests, concurrency);
    const mutated = group.mutate.map((m) => m.replace(/:\d+(:\d+)?-\d+(:\d+)?$/, ""));
    const tests = testsReaching(mutated);
    process.stdout.write(
        `whole suite for ${group.name}: ${tests.length} of ${wholeSuite().length} test files load ${mutated.join(", ")}\n`,
    );
    return rerunSurvivors(group, pass, tests, concurrency);
}

/** Runs the child for one group in its own process group, forwarding SIGINT/SIGTERM to it. */
function spawnGroup(name: string, concurrency: number, pass: Pass): Promise<{ code: number; signal?: NodeJS.Signals }> {
    return new Promise((resolve) => {
        const args = ["--import", "tsx", import.meta.filename, "--child", name, "--concurrency", String(concurrency)];
        if (pass !== "group") args.push(`--${pass}`);
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
            survivors: { type: "boolean", default: false },
            "whole-suite": { type: "boolean", default: false },
            list: { type: "boolean", default: false },
            child: { type: "string" },
            help: { type: "boolean", short: "h", default: false },
        },
    });
    if (values.help || values.list) {
        if (values.help)
            process.stdout.write(
                "usage: npm run mutation -- [--group NAME[,NAME…]] [--concurrency N] [--survivors] [--whole-suite]\n" +
                    "  --survivors    only the survivors of each group's last run, against its test files\n" +
                    "  --whole-suite  then re-run each group's survivors against every test file\n",
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
    if (values.child)
        return child(
            values.child,
            concurrency,
            values.survivors ? "survivors" : values["whole-suite"] ? "whole-suite" : "group",
        );

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
        const passes: Pass[] = [values.survivors ? "survivors" : "group"];
        if (values["whole-suite"]) passes.push("whole-suite");
        for (const pass of passes) {
            const { code, signal } = await spawnGroup(name, concurrency, pass);
            if (signal) return code;
            if (code !== 0) {
                process.stderr.write(`error: group ${name} (${pass}) failed (exit ${code})\n`);
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
