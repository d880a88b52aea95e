/** make mutation --survivors: a re-run of the survivors merged into the group's last result. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { mergeRerun, type Rerun, type Survivor, type Tally } from "../tools/mutation/merge";

const tally = (t: Partial<Tally>): Tally => ({
    killed: 0,
    timeout: 0,
    survived: 0,
    noCoverage: 0,
    ignored: 0,
    errors: 0,
    ...t,
});

function survivor(line: number, status: string): Survivor {
    return {
        file: "a.ts",
        original: "x > 0",
        mutator: "EqualityOperator",
        replacement: "x >= 0",
        start: { line, column: 5 },
        end: { line, column: 10 },
        status,
    };
}

// the last result: 10 killed, 3 survived (lines 1-3), 2 not covered (lines 4-5)
const first = {
    files: { "a.ts": tally({ killed: 10, survived: 3, noCoverage: 2 }) },
    all: tally({ killed: 10, survived: 3, noCoverage: 2 }),
};
const before = [1, 2, 3].map((l) => survivor(l, "Survived")).concat([4, 5].map((l) => survivor(l, "NoCoverage")));
const rerun = (statuses: Array<string | undefined>, gone: number[] = []): Rerun[] =>
    before.map((b, i) => ({
        before: b,
        now: gone.includes(i) ? undefined : { ...b, start: { line: b.start.line + 1, column: 5 } },
        status: statuses[i],
    }));

test("each survivor moves to the column of its new status; the totals still add up", () => {
    const r = mergeRerun(first, rerun(["Killed", "Timeout", "Ignored", "Killed", undefined], [4]));
    assert.deepEqual(r.all, tally({ killed: 13, ignored: 1, errors: 1 }));
    assert.deepEqual(r.files["a.ts"], r.all);
    assert.deepEqual([r.killed, r.ignored, r.gone, r.stillAlive.length], [3, 1, 1, 0]);
    // the last result is not changed
    assert.deepEqual(first.all, tally({ killed: 10, survived: 3, noCoverage: 2 }));
});

test("a survivor still alive keeps its new place, in the column of its status now", () => {
    // line 1 survives again, line 4 is now reached by a test and still survives, line 5 is not reached
    const r = mergeRerun(first, rerun(["Survived", "Killed", "Killed", "Survived", "NoCoverage"]));
    assert.deepEqual(r.all, tally({ killed: 12, survived: 2, noCoverage: 1 }));
    assert.deepEqual(
        r.stillAlive.map((s) => [s.start.line, s.status]),
        [
            [2, "Survived"],
            [5, "Survived"],
            [6, "NoCoverage"],
        ],
    );
    // merged again (a second re-run of the same survivors): the columns never go negative
    const again = mergeRerun(
        r,
        r.stillAlive.map((s) => ({ before: s, now: s, status: "Killed" })),
    );
    assert.deepEqual(again.all, tally({ killed: 15 }));
});

test("a survivor whose text is gone, or that the re-run did not produce, counts as an error (left out of the score)", () => {
    const r = mergeRerun(first, rerun(["Killed", "Killed", "Killed", "Killed", "Killed"], [0, 3]));
    assert.deepEqual(r.all, tally({ killed: 13, errors: 2 }));
    const s = mergeRerun(first, rerun(["Survived", undefined, "Survived", "NoCoverage", "NoCoverage"]));
    assert.deepEqual(s.all, tally({ killed: 10, survived: 2, noCoverage: 2, errors: 1 }));
});
