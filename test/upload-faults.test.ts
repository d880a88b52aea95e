// The upload tool under faults (issue 9 §3): error storms, stalls, interrupts,
// multipart clean-up, bad prefixes, skipped files, and buckets of more than one LIST page.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { rm, symlink } from "node:fs/promises";
import type http from "node:http";
import path from "node:path";
import { describe, test } from "node:test";
import { CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand } from "@aws-sdk/client-s3";
import { type RunDeps, runUpload } from "../tools/upload/cli";
import { captureIo, makeTree, S3RVER_KEY, s3Env, stackReader, startProxy, useLocalS3 } from "./helpers-s3";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

/**
 * s3rver, in a process of its own: the tests about what a server does with a request cut off
 * mid-body (it writes in place: a torn object), its 501 for ListMultipartUploads, and the
 * multipart uploads the front tracks for it; and the few-request tests beside them.
 */
const local = useLocalS3("faults");
const freshBucket = local.freshBucket;
/**
 * fauxqs, in memory, for the two tests whose point is the number of requests (a storm over
 * 2,000 PUTs, listings and deletes past 1,000 keys): what they check is the tool's retries and
 * paging, which any S3 server exercises, at a fraction of s3rver's CPU per request. Every
 * test about what s3rver does (torn objects, its 501) stays on s3rver.
 */
const fast = useLocalS3("faults-many", { server: "fauxqs", inProcess: true });

/** Retries without the production waits (the schedule itself is the same). */
const FAST_RETRY = { baseMs: 1, throttleBaseMs: 2, capMs: 20 };

async function run(args: string[], deps: RunDeps = {}) {
    const cap = captureIo();
    const code = await runUpload(["--no-trigger", ...args], {
        env: s3Env(),
        io: cap.io,
        readStackOutputs: stackReader().read,
        retry: FAST_RETRY,
        ...deps,
    });
    return { code, ...cap };
}

function tree(n: number, folder = "apps"): Record<string, string> {
    const out: Record<string, string> = {};
    for (let i = 0; i < n; i++) out[`${folder}/app-${i}.yaml`] = `kind: ConfigMap\nmetadata:\n  name: app-${i}\n`;
    return out;
}

/** Deterministic pseudo-random numbers (xorshift32), so a storm is the same in every run. */
function rng(seed: number) {
    let x = seed >>> 0 || 1;
    return () => {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        return x / 0x1_0000_0000;
    };
}

describe("upload: retries per request", () => {
    test("a 30% storm of 500s over 2,000 PUTs completes in one run", { timeout: 600_000 }, async () => {
        const bucket = await fast.freshBucket();
        const files = tree(2000);
        const src = await makeTree(files);
        const rand = rng(7);
        // the storm comes from the server itself (its fault injection), not from a proxy in front:
        // one HTTP exchange per request instead of two, for the same replies
        const storm = fast.s3().injectFaults((_n, req) => (req.method === "PUT" && rand() < 0.3 ? 500 : undefined));
        try {
            const r = await run(["--source", src, "--bucket", bucket, "--endpoint", fast.s3().endpoint]);
            assert.equal(r.code, 0, r.err.slice(-5).join("\n"));
            assert.equal(r.lastOut(), "uploaded 2000, deleted 0, unchanged 0");
            const failed = storm.failed.length;
            assert.ok(failed > 700, `the storm answered ${failed} PUTs with 500`);
            // every injected 500 was retried (and, on a loaded machine, perhaps an attempt that timed out too)
            const retried = Number(/, (\d+) failed attempt\(s\) retried in /.exec(r.out.join("\n"))?.[1]);
            assert.ok(retried >= failed, `${retried} attempts retried, ${failed} answered 500`);
            // every object holds its file's bytes: the MD5 the server computed over what it stored
            // (the listing's ETag), not 2,000 GETs
            const stored = await fast.s3().etags(bucket);
            assert.deepEqual([...stored.keys()].sort(), Object.keys(files).sort());
            for (const [k, v] of Object.entries(files))
                assert.equal(stored.get(k), createHash("md5").update(v).digest("hex"), k);
        } finally {
            fast.s3().injectFaults(undefined);
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a request that keeps failing is named with its last error and the attempts made", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(tree(8));
        const proxy = await startProxy(local.s3().port, {
            failWith: (_n, req) => (req.method === "PUT" && req.url?.includes("app-3.yaml") ? 503 : undefined),
        });
        try {
            const r = await run(["--source", src, "--bucket", bucket, "--endpoint", proxy.endpoint], {
                maxAttempts: 4,
            });
            assert.equal(r.code, 1, r.all());
            assert.equal(r.lastOut(), "uploaded 7, deleted 0, unchanged 0, failed 1");
            assert.match(
                r.err.join("\n"),
                /failed apps\/app-3\.yaml: SlowDown \(HTTP 503\): injected by the test proxy \(last of 4 attempts\)/,
            );
            assert.equal(proxy.seen.filter((x) => x.failedWith).length, 4);
        } finally {
            await proxy.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a stalled request times out and is retried; the output stays alive meanwhile", {
        timeout: 120_000,
    }, async () => {
        const bucket = await freshBucket();
        const src = await makeTree(tree(8));
        let stalls = 0;
        const proxy = await startProxy(local.s3().port, {
            // the first PUT of app-2 is never answered
            stall: (_n, req) => req.method === "PUT" && req.url?.includes("app-2.yaml") === true && ++stalls === 1,
        });
        try {
            const r = await run(["--source", src, "--bucket", bucket, "--endpoint", proxy.endpoint], {
                requestTimeoutMs: 1_500,
                heartbeatMs: 300,
            });
            assert.equal(r.code, 0, r.all());
            assert.equal(r.lastOut(), "uploaded 8, deleted 0, unchanged 0");
            assert.match(
                r.err.join("\n"),
                /still waiting for 1 request\(s\); the oldest \(PUT apps\/app-2\.yaml\) for \d/,
                "a progress line while the stalled request waits",
            );
            assert.equal(proxy.seen.filter((x) => x.stalled).length, 1);
            assert.equal(
                (await local.s3().objects(bucket)).get("apps/app-2.yaml")?.toString(),
                tree(8)["apps/app-2.yaml"],
            );
        } finally {
            await proxy.close();
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload: interrupts", () => {
    test("Ctrl-C lets the requests in flight finish: every object is the old or the new file, never a torn one", async () => {
        const bucket = await freshBucket();
        // bodies of 3 MiB, so a PUT is still streaming when the signal comes
        const files: Record<string, Buffer> = {};
        const old: Record<string, Buffer> = {};
        for (let i = 0; i < 6; i++) {
            files[`data/blob-${i}.json`] = Buffer.alloc(3 * 1024 * 1024 + i, 65 + i);
            old[`data/blob-${i}.json`] = Buffer.from(`{"old": ${i}}\n`);
        }
        for (const [Key, Body] of Object.entries(old))
            await local.s3().client.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
        const src = await makeTree(files);
        const controller = new AbortController();
        const onRequest = (req: http.IncomingMessage) => {
            if (req.method === "PUT") controller.abort(); // as soon as the first PUT's headers arrive
        };
        local.s3().httpServer.on("request", onRequest);
        try {
            const r = await run(
                ["--source", src, "--bucket", bucket, "--endpoint", local.s3().endpoint, "--concurrency", "2"],
                { signal: controller.signal },
            );
            local.s3().httpServer.off("request", onRequest);
            assert.equal(r.code, 130, r.all());
            // first the bytes: on s3rver (which writes in place) a PUT cut off mid-body leaves a torn object
            const stored = await local.s3().objects(bucket);
            let fresh = 0;
            for (const [key, body] of Object.entries(files)) {
                const got = stored.get(key);
                if (got?.equals(body)) fresh++;
                else
                    assert.ok(
                        got?.equals(old[key]!),
                        `${key} is neither the old nor the new content (${got?.length} bytes)`,
                    );
            }
            assert.ok(fresh >= 1, "the PUTs in flight were completed");
            assert.match(r.lastOut(), /^uploaded [12], deleted 0, unchanged 0$/, "the summary line comes last");
            assert.match(
                r.err.join("\n"),
                /the requests in flight finished; \d change\(s\) not made; re-run to finish/,
            );
        } finally {
            local.s3().httpServer.off("request", onRequest);
            await rm(src, { recursive: true, force: true });
        }
    });

    test("requests still in flight after the grace period are cut off; the run says so and exits 130", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(tree(4));
        const proxy = await startProxy(local.s3().port, { stall: (_n, req) => req.method === "PUT" });
        const controller = new AbortController();
        const timer = setInterval(() => {
            if (proxy.seen.some((x) => x.stalled)) controller.abort();
        }, 20);
        try {
            const started = Date.now();
            const r = await run(["--source", src, "--bucket", bucket, "--endpoint", proxy.endpoint], {
                signal: controller.signal,
                graceMs: 400,
            });
            assert.equal(r.code, 130, r.all());
            assert.ok(Date.now() - started < 10_000, "the grace period ended the wait");
            assert.match(r.err.join("\n"), /request\(s\) in flight were cut off after the 0\.4s grace period/);
            assert.equal(r.lastOut(), "uploaded 0, deleted 0, unchanged 0");
        } finally {
            clearInterval(timer);
            await proxy.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("the bundled tool: SIGTERM waits for the request in flight, a second Ctrl-C aborts at once (exit 130)", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(tree(4));
        const proxy = await startProxy(local.s3().port, { stall: (_n, req) => req.method === "PUT" });
        let child: ChildProcess | undefined;
        try {
            child = spawn(
                process.execPath,
                [
                    "tools/upload/run.cjs",
                    "--source",
                    src,
                    "--bucket",
                    bucket,
                    "--endpoint",
                    proxy.endpoint,
                    "--no-trigger",
                ],
                {
                    cwd: path.resolve(__dirname, ".."),
                    env: { PATH: process.env.PATH, AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_KEY },
                },
            );
            let stdout = "";
            let stderr = "";
            child.stdout!.on("data", (d) => (stdout += d));
            child.stderr!.on("data", (d) => (stderr += d));
            const exited = new Promise<number | null>((resolve) => child!.on("close", (code) => resolve(code)));
            for (let i = 0; i < 400 && !proxy.seen.some((x) => x.stalled); i++)
                await new Promise((r) => setTimeout(r, 25));
            assert.ok(
                proxy.seen.some((x) => x.stalled),
                "a PUT reached the server",
            );
            child.kill("SIGTERM");
            const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r("running"), 1_000))]);
            assert.equal(early, "running", `the first signal waits for the requests in flight: ${stderr}`);
            assert.match(stderr, /stopping: no new requests; waiting up to 10 s/);
            const at = Date.now();
            child.kill("SIGINT");
            const code = await exited;
            assert.ok(Date.now() - at < 3_000, "the second signal aborts at once");
            assert.equal(code, 130, stderr);
            assert.match(stderr, /cut off by the second Ctrl-C/);
            assert.equal(stdout.trimEnd().split("\n").pop(), "uploaded 0, deleted 0, unchanged 0");
        } finally {
            child?.kill("SIGKILL");
            await proxy.close();
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload: multipart clean-up", () => {
    const SIZES = { multipartThreshold: 1024 * 1024, partSize: 512 * 1024 };

    test("incomplete multipart uploads left under the prefix by earlier runs are aborted", async () => {
        const bucket = await freshBucket();
        const client = local.s3().client;
        const inside = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "team/left.json" }));
        await client.send(
            new UploadPartCommand({
                Bucket: bucket,
                Key: "team/left.json",
                UploadId: inside.UploadId,
                PartNumber: 1,
                Body: Buffer.alloc(1024, 1),
            }),
        );
        const outside = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "other/x.json" }));
        const src = await makeTree(tree(2));
        try {
            const dry = await run([
                "--source",
                src,
                "--bucket",
                bucket,
                "--endpoint",
                local.s3().endpoint,
                "--prefix",
                "team",
                "--dry-run",
            ]);
            assert.equal(dry.code, 0, dry.all());
            assert.match(dry.out.join("\n"), /would abort incomplete multipart upload of team\/left\.json/);
            assert.equal(local.s3().openUploads().length, 2, "a dry run aborts nothing");

            const r = await run([
                "--source",
                src,
                "--bucket",
                bucket,
                "--endpoint",
                local.s3().endpoint,
                "--prefix",
                "team",
            ]);
            assert.equal(r.code, 0, r.all());
            assert.match(
                r.out.join("\n"),
                /aborted 1 incomplete multipart upload\(s\) left under team\/ by earlier runs/,
            );
            assert.deepEqual(
                local
                    .s3()
                    .openUploads()
                    .map((u) => u.uploadId),
                [outside.UploadId],
            );
            // it is gone: another part for that upload is refused
            await assert.rejects(
                client.send(
                    new UploadPartCommand({
                        Bucket: bucket,
                        Key: "team/left.json",
                        UploadId: inside.UploadId,
                        PartNumber: 2,
                        Body: Buffer.alloc(10),
                    }),
                ),
                /NoSuchUpload|does not exist/,
            );
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a server that cannot list multipart uploads (s3rver's 501) gets a note, and the sync goes on", async () => {
        // this file's s3rver with its own reply to ListMultipartUploads (not the front's), for this
        // test only: a second s3rver (`uploads: false`) would cost a process start
        const s3 = local.s3();
        const bucket = await freshBucket();
        const src = await makeTree(tree(2));
        s3.emulateUploads(false);
        try {
            const r = await run(["--source", src, "--bucket", bucket, "--endpoint", s3.endpoint]);
            assert.equal(r.code, 0, r.all());
            assert.match(
                r.err.join("\n"),
                /note: could not list incomplete multipart uploads in the bucket \(NotImplemented/,
            );
            assert.equal(r.lastOut(), "uploaded 2, deleted 0, unchanged 0");
        } finally {
            s3.emulateUploads(true);
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a multipart upload whose part keeps failing is aborted, and the object is named", async () => {
        const bucket = await freshBucket();
        const src = await makeTree({ "big.json": Buffer.alloc(1536 * 1024 + 7, 3), "a.yaml": "a: 1\n" });
        const proxy = await startProxy(local.s3().port, {
            failWith: (_n, req) => (req.method === "PUT" && /partNumber=2/.test(req.url ?? "") ? 500 : undefined),
        });
        try {
            const r = await run(["--source", src, "--bucket", bucket, "--endpoint", proxy.endpoint], {
                sizes: SIZES,
                maxAttempts: 2,
            });
            assert.equal(r.code, 1, r.all());
            assert.match(r.err.join("\n"), /failed big\.json: InternalError \(HTTP 500\).*last of 2 attempts/);
            assert.equal(proxy.seen.filter((x) => x.method === "DELETE" && /uploadId=/.test(x.url)).length, 1);
            assert.deepEqual(
                local
                    .s3()
                    .openUploads()
                    .filter((u) => u.bucket === bucket),
                [],
            );
        } finally {
            await proxy.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("an interrupted multipart upload is aborted, not left behind", async () => {
        const bucket = await freshBucket();
        const src = await makeTree({ "big.json": Buffer.alloc(3 * 512 * 1024 + 7, 4) });
        const controller = new AbortController();
        const onRequest = (req: http.IncomingMessage) => {
            if (req.method === "PUT" && /partNumber=1/.test(req.url ?? "")) controller.abort();
        };
        local.s3().httpServer.on("request", onRequest);
        try {
            const r = await run(
                ["--source", src, "--bucket", bucket, "--endpoint", local.s3().endpoint, "--concurrency", "1"],
                {
                    sizes: SIZES,
                    signal: controller.signal,
                },
            );
            assert.equal(r.code, 130, r.all());
            assert.deepEqual(
                local
                    .s3()
                    .openUploads()
                    .filter((u) => u.bucket === bucket),
                [],
            );
            assert.equal((await local.s3().objects(bucket)).size, 0, "no object was completed");
        } finally {
            local.s3().httpServer.off("request", onRequest);
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload: prefixes and skipped files", () => {
    test("--prefix with .. or a leading / is refused before any request (exit 2)", async () => {
        local.s3().reset();
        for (const [args, env] of [
            [["--prefix", "../other"], {}],
            [["--prefix", "team/../../x"], {}],
            [["--prefix", "/team"], {}],
            [[], { UPLOAD_PREFIX: "/abs/path" }],
        ] as const) {
            const r = await run(["--source", ".", "--bucket", "b", "--endpoint", local.s3().endpoint, ...args], {
                env: s3Env(env),
            });
            assert.equal(r.code, 2, `${args.join(" ")} ${JSON.stringify(env)}: ${r.all()}`);
            assert.match(
                r.err.join("\n"),
                /(--prefix|UPLOAD_PREFIX): prefix ".*" (starts with \/|has a \. or \.\. segment)/,
            );
        }
        assert.equal(local.s3().count(), 0);
    });

    test("dangling links, link loops and names S3 cannot take are listed and counted in the summary", async () => {
        const bucket = await freshBucket();
        const src = await makeTree({ "a.yaml": "a: 1\n", "back\\slash.yaml": "b: 1\n", "README.md": "ignored\n" });
        await symlink(path.join(src, "missing.yaml"), path.join(src, "gone.yaml"));
        await symlink(path.join(src, "loop.yaml"), path.join(src, "loop.yaml"));
        await symlink(path.join(src, "nowhere.md"), path.join(src, "ignored-link.md")); // ignored by the rules: not listed
        try {
            const r = await run(["--source", src, "--bucket", bucket, "--endpoint", local.s3().endpoint]);
            assert.equal(r.code, 0, r.all());
            const err = r.err.join("\n");
            assert.match(err, /skipped gone\.yaml: dangling symbolic link/);
            assert.match(err, /skipped loop\.yaml: symbolic link loop/);
            assert.match(err, /skipped "back\\\\slash\.yaml": control characters, backslashes/);
            assert.doesNotMatch(err, /ignored-link/);
            assert.equal(r.lastOut(), "uploaded 1, deleted 0, unchanged 0, skipped 3");
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload: more objects than one LIST page and one DeleteObjects batch", () => {
    // S3 returns at most 1,000 keys per ListObjectsV2 page, and the tool deletes in
    // DeleteObjects batches of at most 1,000 keys (the API's limit). 2,001 objects cross the
    // page boundary twice (pages of 1,000, 1,000 and 1: a page reached with a continuation
    // token that hands out another, and a last page of one key), and deleting 1,001 of them
    // crosses the batch boundary (1,000 + 1). A run that stopped after the first page, lost
    // a page's last or first key, or deleted only the first batch fails here, as at 10,000
    // objects (the test's former size, five times the requests for the same boundaries).
    test("2,001 files: the first sync uploads all, the re-sync pages through 3 listings and uploads none; 1,001 deletes take 2 batches", {
        timeout: 600_000,
    }, async () => {
        const bucket = await fast.freshBucket();
        const files: Record<string, string> = {};
        for (let i = 0; i < 2_001; i++)
            files[`team-${i % 20}/cm-${String(i).padStart(5, "0")}.yaml`] =
                `kind: ConfigMap\nmetadata:\n  name: cm-${i}\n`;
        const src = await makeTree(files);
        try {
            const first = await run(["--source", src, "--bucket", bucket, "--endpoint", fast.s3().endpoint]);
            assert.equal(first.code, 0, first.err.slice(-5).join("\n"));
            assert.equal(first.lastOut(), "uploaded 2001, deleted 0, unchanged 0");
            fast.s3().reset();
            const again = await run(["--source", src, "--bucket", bucket, "--endpoint", fast.s3().endpoint]);
            assert.equal(again.code, 0, again.err.slice(-5).join("\n"));
            assert.equal(again.lastOut(), "uploaded 0, deleted 0, unchanged 2001");
            assert.equal(fast.s3().requests.filter((x) => x.url.includes("list-type=2")).length, 3);
            assert.equal(fast.s3().count("PUT"), 0);

            const gone = Object.keys(files).slice(0, 1_001);
            for (const key of gone) await rm(path.join(src, key));
            fast.s3().reset();
            const pruned = await run([
                "--source",
                src,
                "--bucket",
                bucket,
                "--endpoint",
                fast.s3().endpoint,
                "--delete",
            ]);
            assert.equal(pruned.code, 0, pruned.err.slice(-5).join("\n"));
            assert.equal(pruned.lastOut(), "uploaded 0, deleted 1001, unchanged 1000");
            assert.equal(fast.s3().requests.filter((x) => x.method === "POST" && /[?&]delete/.test(x.url)).length, 2);
            assert.equal(fast.s3().count("PUT"), 0);
            assert.deepEqual(await fast.s3().keys(bucket), Object.keys(files).slice(1_001).sort());
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });
});
