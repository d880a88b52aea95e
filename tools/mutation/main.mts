// Entry point of `npm run mutation` / `make mutation`: StrykerJS over the groups in groups.ts.
//
// usage: npm run mutation -- [--group NAME[,NAME…]] [--concurrency N] [--list]
//
// Each group runs on its own, one after the other (smallest first), with Stryker's tap runner:
// every test file is run as `node --import tsx --test-reporter=tap <file>` with the group's
// mutants switched on one at a time. The run lowers its own CPU priority (nice 15) and uses one
// test process at a time unless told otherwise: it is background work on a shared machine.
// Reports (JSON, HTML, survivors) go to reports/mutation/, which git ignores; the scores are
// printed per group and per file.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Stryker } from "@stryker-mutator/core";
import { GROUPS, type MutationGroup } from "./groups.js";

type StrykerOptions = ConstructorParameters<typeof Stryker>[0];
type MutantResult = Awaited<ReturnType<Stryker["runMutationTest"]>>[number];

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const REPORTS = path.join(ROOT, "reports", "mutation");

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

function add(t: Tally, m: MutantResult): void {
    switch (m.status) {
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

function options(group: MutationGroup, concurrency: number): StrykerOptions {
    return {
        testRunner: "tap",
        plugins: ["@stryker-mutator/tap-runner"],
        tap: {
            testFiles: [...group.tests],
            nodeArgs: [
                "--import",
                "tsx",
                "--test-reporter=tap",
                ...(group.skipTests ? [`--test-skip-pattern=${group.skipTests}`] : []),
                "-r",
                "{{hookFile}}",
                "{{testFile}}",
            ],
            forceBail: true,
        },
        mutate: [...group.mutate],
        // per test file: a mutant runs only the files that reached it in the dry run
        coverageAnalysis: "perTest",
        concurrency,
        // a test run on a loaded machine can take twice its dry-run time
        timeoutFactor: 2,
        timeoutMS: 20_000,
        dryRunTimeoutMinutes: 20,
        tempDirName: ".stryker-tmp",
        cleanTempDir: true,
        ignorePatterns: ["/render", "/out", "/.bench", "/.pulumi-state", "/kubeconfig.yaml"],
        reporters: ["clear-text", "progress-append-only", "json", "html"],
        clearTextReporter: { allowColor: false, logTests: false, reportMutants: false, reportScoreTable: true },
        jsonReporter: { fileName: path.join(REPORTS, `${group.name}.json`) },
        htmlReporter: { fileName: path.join(REPORTS, `${group.name}.html`) },
    };
}

function describeMutant(m: MutantResult): string {
    const where = `${path.relative(ROOT, m.fileName)}:${m.location.start.line}:${m.location.start.column}`;
    const replacement = (m.replacement ?? "").replace(/\s+/g, " ");
    return `${m.status} ${where} ${m.mutatorName}: ${replacement.length > 100 ? `${replacement.slice(0, 97)}...` : replacement}`;
}

async function runGroup(group: MutationGroup, concurrency: number): Promise<{ files: Map<string, Tally>; all: Tally }> {
    const started = Date.now();
    const results = await new Stryker(options(group, concurrency)).runMutationTest();
    const files = new Map<string, Tally>();
    const all = emptyTally();
    for (const m of results) {
        const rel = path.relative(ROOT, m.fileName);
        if (!files.has(rel)) files.set(rel, emptyTally());
        add(files.get(rel)!, m);
        add(all, m);
    }
    const survivors = results.filter((m) => m.status === "Survived" || m.status === "NoCoverage").map(describeMutant);
    writeFileSync(
        path.join(REPORTS, `${group.name}-survivors.txt`),
        survivors.join("\n") + (survivors.length ? "\n" : ""),
    );
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    process.stdout.write(`\n== mutation group ${group.name} (${minutes} min, ${results.length} mutants)\n`);
    for (const [file, t] of files) process.stdout.write(`${line(file, t)}\n`);
    process.stdout.write(`${line(`group ${group.name}`, all)}\n`);
    if (survivors.length) {
        process.stdout.write(`survivors (${path.relative(ROOT, REPORTS)}/${group.name}-survivors.txt):\n`);
        for (const s of survivors.slice(0, 30)) process.stdout.write(`  ${s}\n`);
        if (survivors.length > 30) process.stdout.write(`  … ${survivors.length - 30} more\n`);
    }
    return { files, all };
}

function line(what: string, t: Tally): string {
    return (
        `${what.padEnd(44)} ${score(t).toFixed(1).padStart(5)}%  killed ${t.killed}, timeout ${t.timeout}, ` +
        `survived ${t.survived}, no coverage ${t.noCoverage}, ignored ${t.ignored}` +
        (t.errors ? `, errors ${t.errors}` : "")
    );
}

async function main(): Promise<number> {
    const { values } = parseArgs({
        options: {
            group: { type: "string" },
            concurrency: { type: "string", default: "1" },
            list: { type: "boolean", default: false },
            help: { type: "boolean", short: "h", default: false },
        },
    });
    if (values.help || values.list) {
        if (values.help) process.stdout.write("usage: npm run mutation -- [--group NAME[,NAME…]] [--concurrency N]\n");
        for (const g of GROUPS) process.stdout.write(`  ${g.name.padEnd(20)} ${g.mutate.join(" ")}\n`);
        return 0;
    }
    const wanted = values.group ? values.group.split(",").map((s) => s.trim()) : GROUPS.map((g) => g.name);
    const unknown = wanted.filter((w) => !GROUPS.some((g) => g.name === w));
    if (unknown.length) {
        process.stderr.write(
            `error: unknown group(s) ${unknown.join(", ")}; groups: ${GROUPS.map((g) => g.name).join(", ")}\n`,
        );
        return 2;
    }
    const concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) {
        process.stderr.write(`error: --concurrency must be a whole number ≥ 1, got ${values.concurrency}\n`);
        return 2;
    }
    // background work on a shared machine; children (the test processes) inherit it
    try {
        if (os.getPriority() < 15) os.setPriority(15);
    } catch {
        // not allowed to change it: run as we are
    }
    mkdirSync(REPORTS, { recursive: true });
    const summary: string[] = [];
    for (const name of wanted) {
        const group = GROUPS.find((g) => g.name === name)!;
        const { all } = await runGroup(group, concurrency);
        summary.push(line(`group ${group.name}`, all));
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
