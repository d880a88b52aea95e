// The upload tool's local pieces, in process (no server): which files a scan takes, skips or
// ignores (files.ts), which failed attempts are retried and how long it waits (retry.ts), and
// the bounded worker pool (pool.ts). The first test file of `make mutation GROUP=upload-local`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { getEventListeners } from "node:events";
import { constants, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { type FileHandle, mkdtemp, open, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { loadMatcher, SourceError, scanSource } from "../tools/upload/files";
import { forEachLimit } from "../tools/upload/pool";
import { backoffMs, classify, DEFAULT_RETRY, type RetryPolicy, StoppedError, withRetries } from "../tools/upload/retry";

async function tree(files: Record<string, string>): Promise<string> {
    const root = await mkdtemp(path.join(os.tmpdir(), "upload-local-"));
    for (const [rel, body] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
        writeFileSync(path.join(root, rel), body);
    }
    return root;
}

async function inTree<T>(files: Record<string, string>, fn: (root: string) => Promise<T>): Promise<T> {
    const root = await tree(files);
    try {
        return await fn(root);
    } finally {
        await rm(root, { recursive: true, force: true });
    }
}

describe("upload files: what a scan takes", () => {
    test("manifests only by default, sorted, with their sizes; .sourceignore adds and re-includes", async () => {
        const files: Record<string, string> = {
            ".sourceignore": "drafts/\n*.draft.yaml\n!LICENSE\n",
            "z.yaml": "z: 1\n",
            "a.yml": "a\n",
            "m/c.json": "{}",
            "m/Kustomization": "k\n",
            "m/x.draft.yaml": "",
            "drafts/a.yaml": "",
            "drafts/b.yaml": "",
            LICENSE: "MIT\n",
            "notes.md": "",
            "kustomization.txt": "",
            ".env": "",
            ".git/config": "",
            "e/.sourceignore": "",
        };
        await inTree(files, async (root) => {
            const scan = await scanSource(root);
            assert.deepEqual(
                scan.files.map((f) => [f.rel, f.abs]),
                [".sourceignore", "LICENSE", "a.yml", "m/Kustomization", "m/c.json", "z.yaml"].map((rel) => [
                    rel,
                    path.join(root, rel),
                ]),
            );
            // one each: m/x.draft.yaml, drafts/ (the folder, not its files), notes.md,
            // kustomization.txt, .env, .git/ (the folder), e/.sourceignore
            assert.equal(scan.ignored, 7);
            assert.deepEqual(scan.skipped, []);
            assert.deepEqual(scan.warnings, []);
            assert.equal(scan.ignoreFile, path.join(root, ".sourceignore"));
            assert.equal(scan.matcher.ignores("drafts/x.yaml"), true);
            assert.equal(scan.matcher.ignores("LICENSE"), false);
        });
    });

    test("the built-in rules alone: everything but manifests, dotfiles ignored, the root .sourceignore kept", async () => {
        const { matcher, used } = await loadMatcher("/nonexistent-source");
        assert.equal(used, undefined);
        const verdicts = Object.fromEntries(
            [
                "a.yaml",
                "a.yml",
                "a.json",
                "Kustomization",
                "d/Kustomization",
                "a.txt",
                "kustomization",
                ".sourceignore",
                "d/.sourceignore",
                ".hidden.yaml",
                ".d/a.yaml",
                "d/",
            ].map((p) => [p, matcher.ignores(p)]),
        );
        assert.deepEqual(verdicts, {
            "a.yaml": false,
            "a.yml": false,
            "a.json": false,
            Kustomization: false,
            "d/Kustomization": false,
            "a.txt": true,
            kustomization: false, // the rules match case-insensitively (the ignore package's default)
            ".sourceignore": false,
            "d/.sourceignore": true,
            ".hidden.yaml": true,
            ".d/a.yaml": true,
            "d/": false,
        });
    });

    test("--ignore-file replaces .sourceignore; a missing one is an error, a missing .sourceignore is not", async () => {
        await inTree(
            { ".sourceignore": "a.yaml\n", "a.yaml": "", "b.yaml": "", "rules/only-b": "b.yaml\n" },
            async (root) => {
                const own = await scanSource(root, path.join(root, "rules/only-b"));
                assert.deepEqual(
                    own.files.map((f) => f.rel),
                    [".sourceignore", "a.yaml"],
                );
                assert.equal(own.ignoreFile, path.join(root, "rules/only-b"));
                const missing = path.join(root, "rules/none");
                await assert.rejects(
                    scanSource(root, missing),
                    (e: Error) =>
                        e instanceof SourceError && e.message.startsWith(`cannot read ignore file ${missing}: `),
                );
            },
        );
        await inTree({ "a.yaml": "" }, async (root) => {
            const scan = await scanSource(root);
            assert.equal(scan.ignoreFile, undefined);
            assert.deepEqual(
                scan.files.map((f) => f.rel),
                ["a.yaml"],
            );
        });
    });

    test("a missing source or a file as the source is refused with its path", async () => {
        await inTree({ "a.yaml": "" }, async (root) => {
            const gone = path.join(root, "nope");
            await assert.rejects(
                scanSource(gone),
                (e: Error) => e instanceof SourceError && e.message === `source folder ${gone} does not exist`,
            );
            const file = path.join(root, "a.yaml");
            await assert.rejects(
                scanSource(file),
                (e: Error) => e instanceof SourceError && e.message === `source ${file} is not a folder`,
            );
        });
    });
});

describe("upload files: what a scan skips, and says so", () => {
    test("links: to a file followed, to a folder, dangling and looping listed with why; ignored ones counted", async () => {
        await inTree({ "real/a.yaml": "a: 1\n", "real/b.txt": "" }, async (root) => {
            await symlink(path.join(root, "real/a.yaml"), path.join(root, "link.yaml"));
            await symlink(path.join(root, "real"), path.join(root, "folder-link"));
            await symlink(path.join(root, "real"), path.join(root, ".hidden-folder-link"));
            await symlink(path.join(root, "missing.yaml"), path.join(root, "dangling.yaml"));
            await symlink(path.join(root, "missing.yaml"), path.join(root, "dangling.txt"));
            await symlink(path.join(root, "loop-b.yaml"), path.join(root, "loop-a.yaml"));
            await symlink(path.join(root, "loop-a.yaml"), path.join(root, "loop-b.yaml"));
            const fifo = path.join(root, "fifo.yaml");
            const made = spawnSync("mkfifo", [fifo]);
            assert.equal(made.status, 0, String(made.stderr));
            await symlink(fifo, path.join(root, "to-fifo.yaml"));
            await symlink(fifo, path.join(root, "to-fifo.txt"));
            const scan = await scanSource(root);
            assert.deepEqual(
                scan.files.map((f) => f.rel),
                ["link.yaml", "real/a.yaml"],
            );
            assert.deepEqual(scan.skipped, [
                { rel: "dangling.yaml", reason: "dangling symbolic link (its target does not exist)" },
                { rel: "fifo.yaml", reason: "not a regular file (socket, FIFO or device)" },
                { rel: "folder-link/", reason: "symbolic link to a folder (not followed)" },
                { rel: "loop-a.yaml", reason: "symbolic link loop" },
                { rel: "loop-b.yaml", reason: "symbolic link loop" },
                { rel: "to-fifo.yaml", reason: "symbolic link to something that is not a file" },
            ]);
            // real/b.txt, .hidden-folder-link, dangling.txt, to-fifo.txt
            assert.equal(scan.ignored, 4);
        });
    });

    test("names with control characters, backslashes or bytes that are not UTF-8 are listed, quoted", async () => {
        await inTree(
            { "ok.yaml": "", "tab\there.yaml": "", "back\\slash.yaml": "", "del\u007f.yaml": "" },
            async (root) => {
                writeFileSync(
                    Buffer.concat([Buffer.from(`${root}/latin1-`), Buffer.from([0xe9]), Buffer.from(".yaml")]),
                    "",
                );
                const scan = await scanSource(root);
                assert.deepEqual(
                    scan.files.map((f) => f.rel),
                    ["ok.yaml"],
                );
                const why =
                    "control characters, backslashes or bytes that are not UTF-8 do not make portable object keys";
                assert.deepEqual(
                    scan.skipped,
                    [
                        { rel: JSON.stringify("back\\slash.yaml"), reason: why },
                        { rel: JSON.stringify("del\u007f.yaml"), reason: why },
                        { rel: JSON.stringify("latin1-\ufffd.yaml"), reason: why },
                        { rel: JSON.stringify("tab\there.yaml"), reason: why },
                    ].sort((a, b) => (a.rel < b.rel ? -1 : 1)),
                );
            },
        );
    });

    test("the lists are sorted by path whatever order the walk met them in (root first, then each folder)", async () => {
        await inTree({ "a/y.yaml": "", "z/y.yaml": "", "n.yaml": "" }, async (root) => {
            for (const rel of ["m.yaml", "a/x.yaml", "z/x.yaml"]) {
                await symlink(path.join(root, "missing"), path.join(root, rel));
            }
            const scan = await scanSource(root);
            assert.deepEqual(
                scan.files.map((f) => f.rel),
                ["a/y.yaml", "n.yaml", "z/y.yaml"],
            );
            // the walk meets m.yaml (in the root) before either folder's x.yaml
            assert.deepEqual(
                scan.skipped.map((s) => s.rel),
                ["a/x.yaml", "m.yaml", "z/x.yaml"],
            );
        });
    });

    test("a link that cannot be followed for another reason is listed with the system's error code", async () => {
        await inTree({ "real/a.yaml": "" }, async (root) => {
            // a path through a file: stat fails with ENOTDIR
            await symlink(path.join(root, "real/a.yaml/inside"), path.join(root, "through-file.yaml"));
            const scan = await scanSource(root);
            assert.deepEqual(scan.skipped, [
                { rel: "through-file.yaml", reason: "symbolic link cannot be followed (ENOTDIR)" },
            ]);
            assert.deepEqual(
                scan.files.map((f) => f.rel),
                ["real/a.yaml"],
            );
        });
    });

    test("a folder that cannot be read is listed with the system's error code; the rest is still synced", async () => {
        // Root reads any folder whatever its mode, so the unreadable folder is one whose path is
        // longer than the system's limit (PATH_MAX, 4,096 bytes on Linux): 16 names of 255 bytes.
        const root = await mkdtemp(path.join(os.tmpdir(), "upload-local-"));
        try {
            const name = "d".repeat(255);
            const parent = Array.from({ length: 15 }, () => name).join("/");
            mkdirSync(path.join(root, parent), { recursive: true });
            writeFileSync(path.join(root, parent, "deep.yaml"), "");
            writeFileSync(path.join(root, "top.yaml"), "");
            // the 16th: its path is too long for mkdir(2) too, so it is made relative to its parent
            const made = spawnSync("mkdir", [name], { cwd: path.join(root, parent) });
            assert.equal(made.status, 0, String(made.stderr));
            assert.ok(path.join(root, parent, name).length > 4096);
            const scan = await scanSource(root);
            assert.deepEqual(
                scan.files.map((f) => f.rel),
                [`${parent}/deep.yaml`, "top.yaml"],
            );
            assert.deepEqual(scan.skipped, [
                { rel: `${parent}/${name}/`, reason: "folder cannot be read (ENAMETOOLONG)" },
            ]);
        } finally {
            // rm(1) removes a tree deeper than PATH_MAX (it walks it relative to each folder)
            spawnSync("rm", ["-rf", root]);
        }
    });

    test("the source folder itself cannot be read (gone after it was checked): an error naming it", async () => {
        const base = await mkdtemp(path.join(os.tmpdir(), "upload-local-"));
        const rules = path.join(base, "rules");
        try {
            const root = path.join(base, "src");
            mkdirSync(root);
            writeFileSync(path.join(root, "a.yaml"), "");
            // the scan checks the folder, then reads its ignore file: a FIFO, which holds the scan
            // until the test opens it for writing, removes the folder and ends the file
            const made = spawnSync("mkfifo", [rules]);
            assert.equal(made.status, 0, String(made.stderr));
            const outcome = assert.rejects(
                scanSource(root, rules),
                (e: Error) =>
                    e instanceof SourceError &&
                    e.message ===
                        `cannot read source folder ${root}: ENOENT: no such file or directory, scandir '${root}'`,
            );
            outcome.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
            // opening a FIFO for writing without blocking succeeds once the scan has opened it
            // (before that: ENXIO); bounded, in case the scan never reads it
            let writer: FileHandle | undefined;
            for (let tries = 0; writer === undefined; tries++) {
                try {
                    writer = await open(rules, constants.O_WRONLY | constants.O_NONBLOCK);
                } catch (err) {
                    if ((err as NodeJS.ErrnoException).code !== "ENXIO" || tries >= 500) throw err;
                    await delay(10);
                }
            }
            rmSync(root, { recursive: true });
            await writer.close();
            await outcome;
        } finally {
            // a scan still opening the FIFO (the test failed before it wrote) would hold one of
            // libuv's threads for good: a reader and writer of its own lets that open return
            await open(rules, constants.O_RDWR | constants.O_NONBLOCK).then(
                (h) => h.close(),
                () => {},
            );
            await rm(base, { recursive: true, force: true });
        }
    });

    test("an ignore file that cannot be read is an error, the default .sourceignore too (only a missing one is not)", async () => {
        await inTree({ "a.yaml": "", ".sourceignore/x": "" }, async (root) => {
            const file = path.join(root, ".sourceignore");
            await assert.rejects(
                scanSource(root),
                (e: Error) =>
                    e instanceof SourceError &&
                    e.message === `cannot read ignore file ${file}: EISDIR: illegal operation on a directory, read`,
            );
        });
    });

    test("ordinary non-ASCII names are kept", async () => {
        await inTree({ "café.yaml": "", "日本.yaml": "", "a b.yaml": "" }, async (root) => {
            const scan = await scanSource(root);
            assert.deepEqual(
                scan.files.map((f) => f.rel),
                ["a b.yaml", "café.yaml", "日本.yaml"],
            );
        });
    });
});

describe("upload retries: which failures are retried", () => {
    const s3 = (name: string, status: number) =>
        Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
    const net = (code: string) => Object.assign(new Error(code), { code });

    test("throttling (by code, by 429, by the SDK's flag) waits longer; 5xx, network and curable 4xx retry; the rest are final", () => {
        const cases: Array<[string, unknown, string]> = [
            ["SlowDown 503", s3("SlowDown", 503), "throttle"],
            ["Throttling", s3("Throttling", 400), "throttle"],
            ["ThrottlingException", s3("ThrottlingException", 400), "throttle"],
            ["TooManyRequests", s3("TooManyRequests", 400), "throttle"],
            ["RequestLimitExceeded", s3("RequestLimitExceeded", 400), "throttle"],
            ["429 without a code", s3("Http429", 429), "throttle"],
            [
                "retryable throttling flag",
                Object.assign(new Error("x"), { $retryable: { throttling: true } }),
                "throttle",
            ],
            ["throttling flag false", Object.assign(new Error("x"), { $retryable: { throttling: false } }), "final"],
            ["501 NotImplemented", s3("NotImplemented", 501), "final"],
            ["500 InternalError", s3("InternalError", 500), "retry"],
            ["502", s3("BadGateway", 502), "retry"],
            ["503 ServiceUnavailable", s3("ServiceUnavailable", 503), "retry"],
            ["504", s3("GatewayTimeout", 504), "retry"],
            ["499", s3("ClientClosed", 499), "final"],
            ["400 RequestTimeout", s3("RequestTimeout", 400), "retry"],
            ["400 BadDigest", s3("BadDigest", 400), "retry"],
            ["400 IncompleteBody", s3("IncompleteBody", 400), "retry"],
            ["403 RequestTimeTooSkewed", s3("RequestTimeTooSkewed", 403), "retry"],
            ["403 AccessDenied", s3("AccessDenied", 403), "final"],
            ["404 NoSuchBucket", s3("NoSuchBucket", 404), "final"],
            ["400 EntityTooLarge", s3("EntityTooLarge", 400), "final"],
            ["TimeoutError", Object.assign(new Error("t"), { name: "TimeoutError" }), "retry"],
            ["AbortError with 500", Object.assign(s3("AbortError", 500), { code: "ECONNRESET" }), "final"],
            ["StoppedError", new StoppedError(), "final"],
            [
                "StoppedError with 503",
                Object.assign(new StoppedError(), { $metadata: { httpStatusCode: 503 }, code: "ECONNRESET" }),
                "final",
            ],
            ["ERR_TLS_CERT_ALTNAME_INVALID", net("ERR_TLS_CERT_ALTNAME_INVALID"), "final"],
            ["no code", new Error("x"), "final"],
            ["undefined", undefined, "final"],
            ["null", null, "final"],
        ];
        for (const code of [
            "ECONNRESET",
            "ECONNREFUSED",
            "EPIPE",
            "ETIMEDOUT",
            "ENOTFOUND",
            "EAI_AGAIN",
            "EHOSTUNREACH",
            "ENETUNREACH",
            "ECONNABORTED",
            "ERR_STREAM_PREMATURE_CLOSE",
        ]) {
            cases.push([code, net(code), "retry"]);
            cases.push([
                `${code} as the cause`,
                Object.assign(new Error("fetch failed"), { cause: { code } }),
                "retry",
            ]);
        }
        const got = Object.fromEntries(cases.map(([what, err]) => [what, classify(err)]));
        assert.deepEqual(got, Object.fromEntries(cases.map(([what, , want]) => [what, want])));
    });

    test("StoppedError says the object was not attempted again", () => {
        const e = new StoppedError();
        assert.ok(e instanceof Error);
        assert.equal(e.name, "StoppedError");
        assert.equal(e.message, "not attempted again: the run was interrupted");
    });
});

describe("upload retries: backoff", () => {
    const policy: RetryPolicy = { attempts: 10, baseMs: 100, throttleBaseMs: 500, capMs: 10_000 };

    test("full jitter: a random share of min(cap, base·2^(attempt-1)), the throttling base for throttling", () => {
        const half = () => 0.5;
        assert.equal(backoffMs(policy, 1, "retry", half), 50);
        assert.equal(backoffMs(policy, 2, "retry", half), 100);
        assert.equal(backoffMs(policy, 4, "retry", half), 400);
        assert.equal(backoffMs(policy, 1, "throttle", half), 250);
        assert.equal(backoffMs(policy, 3, "throttle", half), 1000);
        assert.equal(backoffMs(policy, 8, "retry", half), 5000, "100·2^7 = 12,800, capped at 10,000");
        assert.equal(backoffMs(policy, 1_000, "retry", half), 5000, "no overflow for late attempts");
        assert.equal(
            backoffMs(policy, 3, "retry", () => 0),
            0,
        );
        assert.equal(
            backoffMs(policy, 3, "retry", () => 0.9999),
            399,
            "rounded down, below the ceiling",
        );
    });

    test("the defaults: 10 attempts, 100 ms (500 ms when throttled) doubling, at most 10 s a wait", () => {
        const max = () => 0.99999;
        assert.equal(DEFAULT_RETRY.attempts, 10);
        assert.equal(backoffMs(DEFAULT_RETRY, 1, "retry", max), 99);
        assert.equal(backoffMs(DEFAULT_RETRY, 1, "throttle", max), 499);
        assert.equal(backoffMs(DEFAULT_RETRY, 20, "throttle", max), 9999);
        // Math.random by default: within the ceiling
        for (let i = 0; i < 50; i++) {
            const d = backoffMs(DEFAULT_RETRY, 2, "retry");
            assert.ok(d >= 0 && d < 200, String(d));
        }
    });
});

describe("upload retries: withRetries", () => {
    const fast: RetryPolicy = { attempts: 4, baseMs: 1, throttleBaseMs: 2, capMs: 5 };
    const e500 = () =>
        Object.assign(new Error("InternalError"), { name: "InternalError", $metadata: { httpStatusCode: 500 } });

    test("a retryable failure is tried again until it succeeds; onRetry sees each attempt and its wait", async () => {
        let calls = 0;
        const seen: Array<[number, string, number]> = [];
        const value = await withRetries(
            async () => {
                calls++;
                if (calls < 3) throw e500();
                return "ok";
            },
            fast,
            { onRetry: (attempt, err, delay) => seen.push([attempt, (err as Error).name, delay]) },
        );
        assert.equal(value, "ok");
        assert.equal(calls, 3);
        assert.deepEqual(
            seen.map(([a, n]) => [a, n]),
            [
                [1, "InternalError"],
                [2, "InternalError"],
            ],
        );
        assert.ok(seen[0]![2] >= 0 && seen[0]![2] < 1, "attempt 1 waits below 1 ms");
        assert.ok(seen[1]![2] >= 0 && seen[1]![2] < 2, "attempt 2 waits below 2 ms");
    });

    test("the attempts are bounded; the last error is thrown with the attempts made", async () => {
        let calls = 0;
        const err = await withRetries(async () => {
            calls++;
            throw e500();
        }, fast).catch((e: unknown) => e as Error & { attempts?: number });
        assert.equal(calls, 4);
        assert.equal(err.name, "InternalError");
        assert.equal(err.attempts, 4);
    });

    test("a final failure is thrown at once, with attempts 1; a thrown non-object is passed on as is", async () => {
        let calls = 0;
        const err = await withRetries(async () => {
            calls++;
            throw Object.assign(new Error("denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } });
        }, fast).catch((e: unknown) => e as Error & { attempts?: number });
        assert.equal(calls, 1);
        assert.equal(err.name, "AccessDenied");
        assert.equal(err.attempts, 1);
        await assert.rejects(
            withRetries(async () => {
                throw "plain";
            }, fast),
            (e: unknown) => e === "plain",
        );
        // a rejection with no value at all is passed on as it is too (nothing to note the attempts on)
        for (const nothing of [undefined, null]) {
            await assert.rejects(
                withRetries(async () => {
                    throw nothing;
                }, fast),
                (e: unknown) => e === nothing,
            );
        }
        const single = { ...fast, attempts: 1 };
        let once = 0;
        await assert.rejects(
            withRetries(async () => {
                once++;
                throw e500();
            }, single),
        );
        assert.equal(once, 1);
    });

    test("an interrupt during the wait ends it at once (StoppedError), leaving no timer or listener behind", async () => {
        const slow: RetryPolicy = { attempts: 10, baseMs: 3_600_000, throttleBaseMs: 3_600_000, capMs: 3_600_000 };
        const stop = new AbortController();
        const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
        const before = timers();
        let calls = 0;
        const started = Date.now();
        await assert.rejects(
            withRetries(
                async () => {
                    calls++;
                    throw e500();
                },
                slow,
                { stop: stop.signal, onRetry: () => setTimeout(() => stop.abort(), 1) },
            ),
            StoppedError,
        );
        assert.equal(calls, 1);
        assert.ok(Date.now() - started < 5_000);
        assert.equal(timers(), before, "the wait's timer was cleared");
        assert.equal(getEventListeners(stop.signal, "abort").length, 0);
    });

    test("a wait that ends normally leaves no listener on the stop signal", async () => {
        const stop = new AbortController();
        let calls = 0;
        await withRetries(
            async () => {
                calls++;
                if (calls === 1) throw e500();
                return 1;
            },
            fast,
            { stop: stop.signal },
        );
        assert.equal(calls, 2);
        assert.equal(getEventListeners(stop.signal, "abort").length, 0);
    });

    test("after the interrupt: the first attempt still runs, no retry does", async () => {
        const slow: RetryPolicy = { attempts: 10, baseMs: 3_600_000, throttleBaseMs: 3_600_000, capMs: 3_600_000 };
        const stop = new AbortController();
        stop.abort();
        assert.equal(await withRetries(async () => "done", slow, { stop: stop.signal }), "done");
        let calls = 0;
        await assert.rejects(
            withRetries(
                async () => {
                    calls++;
                    throw e500();
                },
                slow,
                { stop: stop.signal },
            ),
            StoppedError,
        );
        assert.equal(calls, 1);
    });
});

describe("upload pool: forEachLimit", () => {
    test("every item once, at most `limit` at a time, started in order", async () => {
        // [items, limit, the most calls in flight at once]
        for (const [n, limit, most] of [
            [10, 3, 3],
            [2, 8, 2],
            [5, 1, 1],
            [4, 0, 1],
        ] as const) {
            const items = Array.from({ length: n }, (_, i) => `item-${i}`);
            const started: Array<[string, number]> = [];
            let inFlight = 0;
            let peak = 0;
            await forEachLimit(items, limit, async (item, index) => {
                started.push([item, index]);
                inFlight++;
                peak = Math.max(peak, inFlight);
                await new Promise((r) => setTimeout(r, 2));
                inFlight--;
            });
            assert.deepEqual(
                started,
                items.map((it, i) => [it, i]),
                `${n} items, limit ${limit}`,
            );
            assert.equal(peak, most, `${n} items, limit ${limit}`);
        }
        let calls = 0;
        await forEachLimit([], 4, async () => {
            calls++;
        });
        assert.equal(calls, 0);
    });

    test("nothing new starts once the signal aborts; the calls in flight finish", async () => {
        const stop = new AbortController();
        const started: number[] = [];
        const finished: number[] = [];
        await forEachLimit(
            Array.from({ length: 20 }, (_, i) => i),
            3,
            async (i) => {
                started.push(i);
                if (i === 4) stop.abort();
                await new Promise((r) => setTimeout(r, 2));
                finished.push(i);
            },
            stop.signal,
        );
        assert.deepEqual(started, [0, 1, 2, 3, 4]);
        assert.deepEqual(
            [...finished].sort((a, b) => a - b),
            [0, 1, 2, 3, 4],
        );
        let calls = 0;
        await forEachLimit(
            [1, 2],
            2,
            async () => {
                calls++;
            },
            stop.signal,
        );
        assert.equal(calls, 0);
    });
});
