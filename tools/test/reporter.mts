// A node:test reporter for tools/test/run.mts: one JSON line per finished test or suite (file,
// name, nesting, duration, outcome) and per summary, written next to the spec reporter's
// output (`--test-reporter=spec --test-reporter=./tools/test/reporter.mts`). The runner reads
// these lines to count the tests, name the failures and time each file.

/** What the runner reads from each line. */
export interface TestLine {
    readonly kind: "test" | "summary";
    /** Absolute path of the test file (undefined for the run's overall summary). */
    readonly file?: string;
    readonly name?: string;
    readonly nesting?: number;
    /** "suite" for describe() blocks, "test" otherwise. */
    readonly type?: string;
    readonly ok?: boolean;
    readonly skip?: boolean;
    readonly todo?: boolean;
    readonly durationMs?: number;
    /** First line of the failure, for the runner's closing list. */
    readonly error?: string;
    readonly counts?: Record<string, number>;
}

interface TestEventData {
    file?: string;
    name?: string;
    nesting?: number;
    skip?: boolean | string;
    todo?: boolean | string;
    details?: { duration_ms?: number; type?: string; error?: { message?: string; cause?: unknown } };
    counts?: Record<string, number>;
}

function firstLine(error: { message?: string; cause?: unknown } | undefined): string | undefined {
    if (!error) return undefined;
    const cause = error.cause as { message?: string } | string | undefined;
    const text = typeof cause === "string" ? cause : (cause?.message ?? error.message ?? String(error));
    return text.split("\n").find((l) => l.trim() !== "");
}

export default async function* timingReporter(
    source: AsyncIterable<{ type: string; data: TestEventData }>,
): AsyncGenerator<string> {
    for await (const event of source) {
        const d = event.data;
        if (event.type === "test:pass" || event.type === "test:fail") {
            const line: TestLine = {
                kind: "test",
                file: d.file,
                name: d.name,
                nesting: d.nesting,
                type: d.details?.type ?? "test",
                ok: event.type === "test:pass",
                skip: Boolean(d.skip),
                todo: Boolean(d.todo),
                durationMs: d.details?.duration_ms,
                error: event.type === "test:fail" ? firstLine(d.details?.error) : undefined,
            };
            yield `${JSON.stringify(line)}\n`;
        } else if (event.type === "test:summary") {
            const line: TestLine = {
                kind: "summary",
                file: d.file,
                counts: d.counts,
                durationMs: d.details?.duration_ms,
            };
            yield `${JSON.stringify(line)}\n`;
        }
    }
}
