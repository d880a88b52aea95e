// A survivors pass merged into a group's last result (tools/mutation/main.mts --survivors and
// --whole-suite): only the survivors are run again, so every other mutant keeps its status.

/** Killed, survived… per file, and the mutation score Stryker itself reports. */
export interface Tally {
    killed: number;
    timeout: number;
    survived: number;
    noCoverage: number;
    ignored: number;
    errors: number;
}

/** A survivor as the reports keep it (1-based line, 1-based column, as the JSON report). */
export interface Survivor {
    file: string;
    /** The source text the mutant replaced (to find it again after lines moved). */
    original: string;
    mutator: string;
    replacement: string;
    start: { line: number; column: number };
    end: { line: number; column: number };
    /** "Survived" or "NoCoverage" */
    status: string;
}

/** One survivor of the last result: where it is now (undefined: its text is gone) and its new status. */
export interface Rerun {
    before: Survivor;
    now: Survivor | undefined;
    /** Stryker's status in the re-run; undefined when the re-run did not produce the mutant */
    status: string | undefined;
}

/**
 * The last result's tallies with each survivor moved to the column of its new status: killed or
 * timed out → killed; marked equivalent → ignored; alive → survived or no coverage (whichever it
 * is now, which may differ from before: a new test can reach a mutant no test reached, and still
 * not kill it); not produced again (its code changed) → errors, which the score leaves out:
 * run the whole group again to count the mutants of changed code.
 */
export function mergeRerun(
    first: { files: Readonly<Record<string, Tally>>; all: Tally },
    reruns: readonly Rerun[],
): {
    files: Record<string, Tally>;
    all: Tally;
    stillAlive: Survivor[];
    killed: number;
    ignored: number;
    gone: number;
} {
    const all = { ...first.all };
    const files = structuredClone(first.files) as Record<string, Tally>;
    const stillAlive: Survivor[] = [];
    let killed = 0;
    let ignored = 0;
    let gone = 0;
    const move = (t: Tally, from: string, to: keyof Tally) => {
        const column: keyof Tally = from === "Survived" ? "survived" : "noCoverage";
        t[column]--;
        all[column]--;
        t[to]++;
        all[to]++;
    };
    for (const { before, now, status } of reruns) {
        const t = files[before.file] as Tally;
        if (now === undefined) {
            move(t, before.status, "errors");
            gone++;
        } else if (status === "Survived" || status === "NoCoverage") {
            stillAlive.push({ ...now, status });
            if (status !== before.status) move(t, before.status, status === "Survived" ? "survived" : "noCoverage");
        } else if (status === "Killed" || status === "Timeout") {
            move(t, before.status, "killed");
            killed++;
        } else if (status === "Ignored") {
            move(t, before.status, "ignored");
            ignored++;
        } else {
            move(t, before.status, "errors");
            gone++;
        }
    }
    return { files, all, stillAlive, killed, ignored, gone };
}
