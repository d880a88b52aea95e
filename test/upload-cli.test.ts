// The sync command as a whole (tools/upload/cli.ts runUpload) and its output
// (tools/upload/progress.ts), in process: the in-memory bucket of upload-fake-s3.ts behind a
// loopback HTTP server (upload-fake-http.ts), a loopback receiver that checks the signature as
// Flux's generic-hmac Receiver does, port-forwards and stack outputs injected. What is pinned is
// what docs/upload.md and the README document: the lines printed, the summary as the last stdout
// line, the exit codes (0, 1, 2, 130), and that no secret is ever printed. The s3rver tests
// (upload-sync, upload-failures, upload-receiver…) remain the reference for a real server's replies.
// The first test file of `make mutation GROUP=upload-cli-run`.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { DEFAULT_GRACE_MS, DEFAULT_HEARTBEAT_MS, type RunDeps, runUpload, summaryLine } from "../tools/upload/cli";
import { USAGE } from "../tools/upload/config";
import { LocalAccessError } from "../tools/upload/port-forward";
import { createReporter, formatBytes, type Io, processIo } from "../tools/upload/progress";
import type { RequestStats } from "../tools/upload/s3";
import { type UploadItem, WORKER_MIN_FILES } from "../tools/upload/sync";
import { captureIo, makeTree } from "./helpers-s3";
import { type FakeHttpS3, startFakeHttpS3 } from "./upload-fake-http";
import { FakeBucket } from "./upload-fake-s3";

const KEY_ID = "AKIDEXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const KEYS = { AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET };
const TOKEN = "receiver-token-7d1e";
/** notification-controller's hook path: sha256 of token + Receiver name + namespace, hex. */
const HOOK = createHash("sha256").update(`${TOKEN}bucket-receiverflux-system`).digest("hex");

const A = "kind: ConfigMap\nmetadata: {name: a}\n";
const B = '{"kind":"ConfigMap","metadata":{"name":"b"}}';

let s3: FakeHttpS3;
before(async () => {
    s3 = await startFakeHttpS3();
});
after(async () => {
    await s3.close();
});

/** A fresh bucket behind the same server for each test. */
function fresh(): FakeBucket {
    const bucket = new FakeBucket();
    Object.assign(s3.bucket, { objects: bucket.objects, uploads: bucket.uploads, requests: bucket.requests });
    s3.bucket.hook = undefined;
    s3.bucket.denyDelete.clear();
    return s3.bucket;
}

async function run(args: string[], deps: RunDeps = {}) {
    const cap = captureIo();
    let stats: RequestStats | undefined;
    const code = await runUpload(args, {
        env: KEYS,
        cwd: "/",
        io: cap.io,
        readStackOutputs: async () => {
            throw new Error("the stack must not be read");
        },
        receiverBackoffMs: 1,
        onStats: (s) => {
            stats = s;
        },
        ...deps,
    });
    return { code, stats, ...cap, stderr: cap.err.join("\n"), stdout: cap.out.join("\n") };
}

const target = (src: string, ...more: string[]) => [
    "--source",
    src,
    "--bucket",
    "bk",
    "--endpoint",
    s3.endpoint,
    ...more,
];

/** A loopback stand-in for Flux's generic-hmac Receiver (HMAC-SHA256 of the raw body, keyed with the token). */
async function receiver(status = 200) {
    const calls: Array<{ path: string; body: string; signature: string }> = [];
    const server = http.createServer((req, res) => {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (c: string) => {
            body += c;
        });
        req.on("end", () => {
            calls.push({ path: req.url ?? "", body, signature: String(req.headers["x-signature"]) });
            if (req.url !== `/hook/${HOOK}`) return void res.writeHead(404).end();
            const want = `sha256=${createHmac("sha256", TOKEN).update(body).digest("hex")}`;
            res.writeHead(req.headers["x-signature"] === want ? status : 400).end();
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    return {
        url: `http://127.0.0.1:${port}/hook/${HOOK}`,
        port,
        calls,
        close: () => new Promise<void>((r) => server.close(() => r())),
    };
}

const secretsIn = (text: string) => [SECRET, KEY_ID, TOKEN, HOOK].filter((s) => text.includes(s));

describe("upload command: usage and configuration errors", () => {
    test("--help prints the usage on stdout and exits 0 without reading the stack", async () => {
        const r = await run(["--help"]);
        assert.equal(r.code, 0);
        assert.deepEqual(r.out, [USAGE]);
        assert.deepEqual(r.err, []);
    });

    test("a usage error exits 2 with the error, a blank line and the usage on stderr; a config error without it", async () => {
        const u = await run(["--bukket", "b"]);
        assert.equal(u.code, 2);
        assert.deepEqual(u.out, []);
        assert.equal(u.err.length, 1);
        assert.match(u.err[0]!, /^error: Unknown option '--bukket'/);
        assert.ok(u.err[0]!.endsWith(`\n\n${USAGE}`));
        const c = await run(["--bucket", "b", "--endpoint", "ftp://x.example.com", "--region", "r", "--no-trigger"]);
        assert.equal(c.code, 2);
        assert.deepEqual(c.err, ["error: endpoint must be http(s), got ftp:"]);
        assert.deepEqual(c.out, []);
        const missing = await run([], { env: {} });
        assert.equal(missing.code, 2);
        assert.match(
            missing.stderr,
            /^error: missing bucket .*; endpoint .*; region .*; credentials .*\. the stack must not be read$/,
        );
    });

    test("warnings come first on stderr, each as warning: …", async () => {
        fresh();
        const src = await makeTree({ "a.yaml": A });
        try {
            const r = await run(target(src, "--no-trigger"), {
                env: { AWS_ACCESS_KEY_ID: KEY_ID },
                readStackOutputs: async () => ({
                    uploadAccessKeyId: "STACKKEY",
                    uploadSecretAccessKey: "stack-secret",
                }),
            });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(
                r.err[0],
                "warning: only one of AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY is set; ignoring both and using the stack's upload key",
            );
            assert.equal(
                r.out[0],
                `sync ${src.slice(1)}/ -> s3://bk/ at ${s3.endpoint} (region us-east-1, upload key from stack "dev")`,
            );
            assert.ok(!r.stdout.includes("stack-secret"));
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload command: a sync", () => {
    test("uploads the tree byte for byte; one line per object, the request line, the receiver note, the summary last", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A, "d/b.json": B });
        try {
            const r = await run(target(src, "--no-trigger"), { cwd: path.dirname(src) });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(bucket.objects.get("a.yaml")?.body.toString(), A);
            assert.equal(bucket.objects.get("d/b.json")?.body.toString(), B);
            assert.deepEqual(s3.bucketNames.slice(-1), ["bk"]);
            const lines = r.stdout.split("\n");
            assert.equal(
                lines[0],
                `sync ${path.basename(src)}/ -> s3://bk/ at ${s3.endpoint} (region us-east-1, credentials from AWS_ACCESS_KEY_ID)`,
            );
            assert.deepEqual(lines.slice(1, 3).sort(), [
                `upload a.yaml (new, ${Buffer.byteLength(A)} B)`,
                `upload d/b.json (new, ${Buffer.byteLength(B)} B)`,
            ]);
            const puts = bucket.count("PUT");
            const gets = bucket.count("GET");
            assert.equal(puts, 2);
            assert.match(
                lines[3]!,
                new RegExp(
                    `^${Buffer.byteLength(A) + Buffer.byteLength(B)} B sent, ${puts + gets} requests \\(GET ${gets}, PUT ${puts}\\) in \\d+\\.\\d\\ds$`,
                ),
            );
            assert.equal(lines[4], "receiver: not triggered (--no-trigger)");
            assert.equal(r.lastOut(), "uploaded 2, deleted 0, unchanged 0");
            assert.equal(lines.length, 6);
            assert.deepEqual(r.err, []);
            assert.equal(r.stats?.total, bucket.requests.length, "onStats gets the counters of every request sent");
            assert.deepEqual(secretsIn(r.all()), []);
            // again: nothing to send, every file unchanged
            const again = await run(target(src, "--no-trigger"), { cwd: src });
            assert.equal(again.code, 0);
            assert.equal(again.out[0]!.slice(0, 8), "sync ./ ");
            assert.match(again.stdout, /^0 B sent, \d+ requests \(GET \d+\) in /m);
            assert.equal(again.lastOut(), "uploaded 0, deleted 0, unchanged 2");
            assert.equal(bucket.count("PUT"), 2);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a source outside the working directory is named by its absolute path; the prefix is part of the target", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A });
        try {
            const r = await run(target(src, "--no-trigger", "--prefix", "team/a"), { cwd: path.join(src, "sub") });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(
                r.out[0],
                `sync ${src}/ -> s3://bk/team/a/ at ${s3.endpoint} (region us-east-1, credentials from AWS_ACCESS_KEY_ID)`,
            );
            assert.deepEqual([...bucket.objects.keys()], ["team/a/a.yaml"]);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("remote objects not in the source are kept and counted, or deleted with --delete", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A });
        try {
            bucket.put("a.yaml", A);
            bucket.put("gone.yaml", "x");
            bucket.put("old.json", "y");
            const kept = await run(target(src, "--no-trigger"));
            assert.equal(kept.code, 0);
            assert.ok(
                kept.out.includes("kept 2 remote object(s) that are not in the source (pass --delete to remove them)"),
            );
            assert.equal(kept.lastOut(), "uploaded 0, deleted 0, unchanged 1");
            const deleted = await run(target(src, "--no-trigger", "--delete"));
            assert.equal(deleted.code, 0);
            assert.ok(deleted.stdout.includes("delete gone.yaml\ndelete old.json"), deleted.stdout);
            assert.ok(!deleted.stdout.includes("kept "));
            assert.equal(deleted.lastOut(), "uploaded 0, deleted 2, unchanged 1");
            assert.deepEqual([...bucket.objects.keys()], ["a.yaml"]);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("--dry-run prints the plan and its summary, and writes nothing", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A, "b.json": B, "c.yaml": "same" });
        try {
            bucket.put("a.yaml", "older");
            bucket.put("c.yaml", "same");
            bucket.put("gone.yaml", "x");
            bucket.startUpload("stale.yaml", new Date(Date.now() - 3_600_000));
            const r = await run(target(src, "--dry-run"));
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(r.out.slice(1), [
                "would abort incomplete multipart upload of stale.yaml",
                `would upload a.yaml (changed, ${Buffer.byteLength(A)} B)`,
                `would upload b.json (new, ${Buffer.byteLength(B)} B)`,
                "would keep gone.yaml (not in the source; --delete removes it)",
                "receiver: not triggered (dry run)",
                "dry run: would upload 2, would delete 0, unchanged 1",
            ]);
            const del = await run(target(src, "--dry-run", "--delete"));
            assert.ok(del.out.includes("would delete gone.yaml"));
            assert.equal(del.lastOut(), "dry run: would upload 2, would delete 1, unchanged 1");
            assert.equal(bucket.count("PUT") + bucket.count("POST") + bucket.count("DELETE"), 0);
            assert.equal(bucket.uploads.size, 1);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("incomplete multipart uploads of earlier runs are aborted and reported; a server without the call gets a note", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A });
        try {
            bucket.startUpload("p/stale.yaml", new Date(Date.now() - 3_600_000));
            bucket.startUpload("other/stale.yaml", new Date(Date.now() - 3_600_000));
            const r = await run(target(src, "--no-trigger", "--prefix", "p"));
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.out[1], "aborted 1 incomplete multipart upload(s) left under p/ by earlier runs");
            assert.deepEqual(
                [...bucket.uploads.values()].map((u) => u.key),
                ["other/stale.yaml"],
            );
            const root = await run(target(src, "--no-trigger"));
            assert.equal(root.out[1], "aborted 1 incomplete multipart upload(s) left in the bucket by earlier runs");
            // none left: nothing said
            const quiet = await run(target(src, "--no-trigger"));
            assert.ok(!quiet.all().includes("multipart"), quiet.all());
            // an abort the server refuses is a warning; the sync goes on
            bucket.startUpload("x.yaml", new Date(Date.now() - 3_600_000));
            bucket.hook = (req) =>
                req.method === "DELETE" ? { status: 403, code: "AccessDenied", message: "Access Denied" } : undefined;
            const refused = await run(target(src, "--no-trigger"));
            assert.equal(refused.code, 0);
            assert.ok(
                refused.out.includes("aborted 0 incomplete multipart upload(s) left in the bucket by earlier runs"),
            );
            assert.equal(refused.err.length, 1);
            assert.match(refused.err[0]!, /^warning: x\.yaml: /);
            // s3rver's 501 to ListMultipartUploads
            bucket.hook = (req) =>
                req.method === "GET" && "uploads" in req.query
                    ? {
                          status: 501,
                          code: "NotImplemented",
                          message: "A header you provided implies functionality that is not implemented",
                      }
                    : undefined;
            const note = await run(target(src, "--no-trigger", "--prefix", "p"));
            assert.equal(note.code, 0);
            assert.equal(note.err.length, 1);
            assert.match(
                note.err[0]!,
                /^note: could not list incomplete multipart uploads under p\/ \(.*NotImplemented.*\); parts left by interrupted runs, if any, are not cleaned up by this run$/,
            );
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("keys longer than S3's 1,024 bytes (UTF-8, prefix included) are skipped, listed and counted", async () => {
        const bucket = fresh();
        const prefix = "p".repeat(999);
        // 1,000 bytes of prefix ("p…p/") + 24 bytes: exactly 1,024, kept
        const fits = `${"f".repeat(19)}.yaml`;
        // 17 characters but 29 bytes: 1,029 bytes, skipped
        const long = `${"é".repeat(12)}.yaml`;
        const src = await makeTree({ [fits]: A, [long]: A });
        try {
            const r = await run(target(src, "--no-trigger", "--prefix", prefix));
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(r.err, [`skipped ${long}: object key would be 1029 bytes (S3 allows 1024)`]);
            assert.deepEqual([...bucket.objects.keys()], [`${prefix}/${fits}`]);
            assert.equal(r.lastOut(), "uploaded 1, deleted 0, unchanged 0, skipped 1");
            const dry = await run(target(src, "--dry-run", "--prefix", prefix));
            assert.equal(dry.lastOut(), "dry run: would upload 0, would delete 0, unchanged 1, skipped 1");
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("an empty or missing source is refused before any request (exit 1)", async () => {
        const bucket = fresh();
        const src = await makeTree({ "notes.md": "x", "b.txt": "y" });
        try {
            const empty = await run(target(src, "--no-trigger"));
            assert.equal(empty.code, 1);
            assert.equal(
                empty.err.at(-1),
                `error: source folder ${src} has no files to upload (2 entries ignored by the rules; see docs/upload.md); refusing to sync an empty tree`,
            );
            const long = await makeTree({ [`${"é".repeat(12)}.yaml`]: A });
            const skipped = await run(target(long, "--no-trigger", "--prefix", "p".repeat(999)));
            assert.equal(skipped.code, 1);
            assert.equal(
                skipped.err.at(-1),
                `error: source folder ${long} has no files to upload (1 skipped, listed above); refusing to sync an empty tree`,
            );
            await rm(long, { recursive: true, force: true });
            const gone = await run(target(path.join(src, "nope"), "--no-trigger"));
            assert.equal(gone.code, 1);
            assert.equal(gone.err.length, 1);
            assert.match(gone.err[0]!, new RegExp(`^error: .*${path.join(src, "nope")}`));
            assert.equal(bucket.requests.length, 0);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a plaintext Secret is refused before any write (exit 1), named with its file; the allow-list is named", async () => {
        const bucket = fresh();
        const src = await makeTree({
            "a.yaml": A,
            "s.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: hunter2\n",
        });
        try {
            const r = await run(target(src, "--no-trigger"), { cwd: path.dirname(src) });
            assert.equal(r.code, 1);
            assert.equal(bucket.count("PUT") + bucket.count("POST"), 0);
            assert.match(r.err[0]!, /^error: .*s\.yaml: .*creds/);
            assert.equal(
                r.err.at(-1),
                `error: refusing to upload: 1 Secret(s) with plaintext data; seal each with make seal FILE=…, or list a path that may stay in plaintext in ${path.join(path.basename(src), ".plaintext-secrets")} (README: Secrets in the tree)`,
            );
            assert.ok(!r.all().includes("hunter2"));
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload command: failures", () => {
    test("an object that fails for good: exit 1, the first failure named, deletions skipped, Flux not triggered", async () => {
        const bucket = fresh();
        const rx = await receiver();
        const src = await makeTree({ "a.yaml": A, "b.json": B });
        try {
            bucket.put("gone.yaml", "x");
            bucket.hook = (req) =>
                req.method === "PUT" && req.key === "b.json"
                    ? { status: 403, code: "AccessDenied", message: "Access Denied" }
                    : undefined;
            const r = await run(target(src, "--delete", "--receiver-url", rx.url), {
                env: { ...KEYS, FLUX_RECEIVER_TOKEN: TOKEN },
            });
            assert.equal(r.code, 1);
            assert.ok(
                r.err.includes(
                    `failed b.json: access denied to bucket "bk" at ${s3.endpoint}: the key is valid but not allowed to use this bucket`,
                ),
                r.stderr,
            );
            assert.equal(
                r.err.at(-1),
                `error: 1 object(s) could not be synced (first: b.json: access denied to bucket "bk" at ${s3.endpoint}: the key is valid but not allowed to use this bucket); 1 deletion(s) skipped. Re-run to finish: unchanged files are skipped. Flux was not triggered.`,
            );
            assert.equal(r.lastOut(), "uploaded 1, deleted 0, unchanged 0, failed 1");
            assert.equal(rx.calls.length, 0);
            assert.ok(bucket.objects.has("gone.yaml"));
            // without deletions to skip, none are mentioned
            const again = await run(target(src, "--no-trigger"));
            assert.match(again.err.at(-1)!, /\(first: b\.json: .*\)\. Re-run to finish/);
        } finally {
            await rx.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a listing that fails: exit 1 with the reason, nothing written", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A });
        try {
            bucket.hook = (req) =>
                req.method === "GET" && req.query["list-type"] === "2"
                    ? { status: 404, code: "NoSuchBucket", message: "The specified bucket does not exist" }
                    : undefined;
            const r = await run(target(src, "--no-trigger"));
            assert.equal(r.code, 1);
            assert.deepEqual(r.err, [`error: bucket "bk" does not exist at ${s3.endpoint}`]);
            assert.equal(r.out.length, 1, "no summary: nothing was planned");
            assert.equal(bucket.count("PUT"), 0);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("while requests are slow a still-waiting line names the oldest and the retries", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A });
        try {
            let puts = 0;
            bucket.hook = async (req) => {
                if (req.method !== "PUT") return undefined;
                puts++;
                if (puts === 1) return { status: 500, code: "InternalError", message: "try again" };
                await new Promise((r) => setTimeout(r, 400));
                return undefined;
            };
            const r = await run(target(src, "--no-trigger"), { heartbeatMs: 100, retry: { baseMs: 1, capMs: 1 } });
            assert.equal(r.code, 0, r.stderr);
            const waiting = r.err.filter((l) => l.startsWith("still waiting"));
            // (a loaded machine can print an earlier line, while the listing or the first PUT was slow)
            const retried = waiting.find((l) => l.includes("retried"));
            assert.ok(retried, r.stderr);
            assert.match(
                retried,
                /^still waiting for 1 request\(s\); the oldest \(PUT a\.yaml\) for \d+\.\ds; 1 attempt\(s\) retried so far$/,
            );
            assert.match(r.out.at(-3)!, /^\d+ B sent, \d+ requests \(.*\), 1 failed attempt\(s\) retried in /);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload command: the receiver", () => {
    test("after the sync one signed POST to the hook; the hook path and the token are never printed", async () => {
        fresh();
        const rx = await receiver();
        const src = await makeTree({ "a.yaml": A });
        try {
            const r = await run(target(src, "--prefix", "env"), {
                env: { ...KEYS, FLUX_RECEIVER_URL: rx.url, FLUX_RECEIVER_TOKEN: TOKEN },
            });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(rx.calls.length, 1);
            assert.equal(rx.calls[0]!.path, `/hook/${HOOK}`);
            assert.deepEqual(JSON.parse(rx.calls[0]!.body), {
                source: "upload-do",
                bucket: "bk",
                prefix: "env/",
                uploaded: 1,
                deleted: 0,
                unchanged: 0,
            });
            assert.equal(
                r.out.at(-2),
                `receiver: POST http://127.0.0.1:${rx.port}/hook/<redacted> -> 200 OK; Flux reconciles the bucket now`,
            );
            assert.equal(r.lastOut(), "uploaded 1, deleted 0, unchanged 0");
            assert.deepEqual(secretsIn(r.all()), []);
        } finally {
            await rx.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a refused or unreachable receiver: exit 1, explained, and the sync itself reported as done", async () => {
        fresh();
        const src = await makeTree({ "a.yaml": A });
        const rx = await receiver(404);
        try {
            const env = { ...KEYS, FLUX_RECEIVER_TOKEN: TOKEN };
            const wrongPath = await run(
                target(src, "--receiver-url", `http://127.0.0.1:${rx.port}/hook/${"0".repeat(64)}`),
                { env },
            );
            assert.equal(wrongPath.code, 1);
            assert.deepEqual(wrongPath.err, [
                `error: receiver POST http://127.0.0.1:${rx.port}/hook/<redacted> answered 404 Not Found (no Receiver has this hook path: check bucketReceiverUrl / FLUX_RECEIVER_URL) after 1 attempt(s). The sync itself succeeded; Flux will pick the change up at its next interval.`,
            ]);
            assert.equal(wrongPath.lastOut(), "uploaded 1, deleted 0, unchanged 0");
            const badToken = await run(target(src, "--receiver-url", rx.url), {
                env: { ...KEYS, FLUX_RECEIVER_TOKEN: "other" },
            });
            assert.equal(badToken.code, 1);
            assert.match(
                badToken.stderr,
                /answered 400 Bad Request \(the signature was rejected: the token does not match the Receiver's secret\) after 1 attempt\(s\)/,
            );
            await rx.close();
            const gone = await run(target(src, "--receiver-url", rx.url), { env });
            assert.equal(gone.code, 1);
            assert.deepEqual(gone.err, [
                `error: receiver POST http://127.0.0.1:${rx.port}/hook/<redacted> could not be reached (ECONNREFUSED) after 3 attempt(s). The sync itself succeeded; Flux will pick the change up at its next interval.`,
            ]);
            assert.equal(gone.lastOut(), "uploaded 0, deleted 0, unchanged 1");
            for (const r of [wrongPath, badToken, gone]) assert.deepEqual(secretsIn(r.all()), []);
        } finally {
            await rx.close().catch(() => undefined);
            await rm(src, { recursive: true, force: true });
        }
    });

    test("no receiver configured: the sync succeeds and says why Flux was not called", async () => {
        fresh();
        const src = await makeTree({ "a.yaml": A });
        try {
            const r = await run(target(src), { readStackOutputs: async () => ({}) });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(
                r.out.at(-2),
                'receiver: not triggered: no receiver URL and token (--receiver-url/FLUX_RECEIVER_URL, --receiver-token/FLUX_RECEIVER_TOKEN; stack "dev" has no bucketReceiverUrl/bucketReceiverToken output); Flux picks the change up at its next interval',
            );
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload command: a receiver certificate that does not verify", () => {
    /** A self-signed certificate for 127.0.0.1 (openssl CLI) and an HTTPS receiver serving it. */
    async function untrustedReceiver() {
        const dir = mkdtempSync(path.join(os.tmpdir(), "upload-cli-tls-"));
        execFileSync(
            "openssl",
            [
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "k.pem",
                "-out",
                "c.pem",
            ].concat(["-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]),
            { cwd: dir, stdio: "pipe" },
        );
        let requests = 0;
        const server = https.createServer(
            { key: readFileSync(path.join(dir, "k.pem")), cert: readFileSync(path.join(dir, "c.pem")) },
            (_req, res) => {
                requests++;
                res.writeHead(200).end();
            },
        );
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        rmSync(dir, { recursive: true, force: true });
        return {
            url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook/${HOOK}`,
            requests: () => requests,
            close: () => new Promise<void>((r) => server.close(() => r())),
        };
    }

    test("exit 1, not retried, and the advice fits what the call trusted and the stack's ACME environment", async () => {
        fresh();
        const src = await makeTree({ "a.yaml": A });
        const rx = await untrustedReceiver();
        const shown = `${rx.url.slice(0, rx.url.indexOf("/hook/"))}/hook/<redacted>`;
        const head = `error: receiver POST ${shown}: its TLS certificate is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT), so the call was not made. `;
        const tail =
            " Certificate checks are never turned off. The sync itself succeeded; Flux will pick the change up at its next interval.";
        const pending =
            "the receiver does not serve a certificate KCert issued yet (is it still pending?), or it serves another one.";
        const staging =
            "Let's Encrypt's staging roots ((STAGING) Pretend Pear X1, (STAGING) Bogus Broccoli X2, (STAGING) Yearning Yucca Root YE, (STAGING) Yonder Yam Root YR)";
        try {
            const viaStack = (acme?: string) => async () => ({
                bucketReceiverUrl: rx.url,
                bucketReceiverToken: TOKEN,
                ...(acme ? { acmeEnvironment: acme } : {}),
            });
            const cases: Array<[RunDeps, string]> = [
                [
                    { readStackOutputs: viaStack("staging") },
                    `It was checked against Node's roots and ${staging}. The stack's certificates come from Let's Encrypt staging, so ${pending}`,
                ],
                [
                    { readStackOutputs: viaStack("production") },
                    `It was checked against Node's roots. The stack uses Let's Encrypt production (acme.environment), whose roots Node trusts: ${pending}`,
                ],
                [
                    { readStackOutputs: viaStack() },
                    "It was checked against Node's roots. The stack's ACME environment is not known (the stack has no acmeEnvironment output: run make bootstrap to update it): " +
                        "with Let's Encrypt staging certificates, let the tool read the stack's outputs, or pass --receiver-ca FILE (FLUX_RECEIVER_CA) with the root to trust.",
                ],
                [
                    { env: { ...KEYS, FLUX_RECEIVER_URL: rx.url, FLUX_RECEIVER_TOKEN: TOKEN } },
                    "It was checked against Node's roots. The stack's ACME environment is not known (the stack outputs were not read): " +
                        "with Let's Encrypt staging certificates, let the tool read the stack's outputs, or pass --receiver-ca FILE (FLUX_RECEIVER_CA) with the root to trust.",
                ],
            ];
            for (const [i, [deps, hint]] of cases.entries()) {
                const r = await run(target(src), deps);
                assert.equal(r.code, 1, r.all());
                assert.deepEqual(r.err, [head + hint + tail]);
                assert.equal(
                    r.lastOut(),
                    i === 0 ? "uploaded 1, deleted 0, unchanged 0" : "uploaded 0, deleted 0, unchanged 1",
                );
                assert.deepEqual(secretsIn(r.all()), []);
            }
            assert.equal(rx.requests(), 0, "no request reached the server, and none was retried");
        } finally {
            await rx.close();
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload command: port-forwards", () => {
    const s3Svc = { namespace: "s3", service: "seaweedfs", port: 8333 };
    const rxSvc = { namespace: "flux-system", service: "webhook-receiver", port: 80 };

    test("the bucket and the receiver of an existing-cluster stack are reached through forwards, closed at the end", async () => {
        const bucket = fresh();
        const rx = await receiver();
        const src = await makeTree({ "a.yaml": A });
        const opened: Array<{ to: unknown; closed: boolean }> = [];
        try {
            const r = await run(["--source", src], {
                env: {},
                readStackOutputs: async () => ({
                    bucketName: "bk",
                    bucketEndpoint: "http://seaweedfs.s3.svc:8333",
                    bucketRegion: "us-east-1",
                    uploadAccessKeyId: KEY_ID,
                    uploadSecretAccessKey: SECRET,
                    bucketReceiverUrl: `http://webhook-receiver.flux-system.svc/hook/${HOOK}`,
                    bucketReceiverToken: TOKEN,
                    localAccess: { context: "kind", s3: s3Svc, receiver: rxSvc },
                }),
                portForward: async (access, to) => {
                    assert.equal(access.context, "kind");
                    const entry = { to, closed: false };
                    opened.push(entry);
                    return {
                        localPort: to.service === s3Svc.service ? s3.port : rx.port,
                        close: () => {
                            entry.closed = true;
                        },
                    };
                },
            });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(
                r.out[0],
                `sync ${src.slice(1)}/ -> s3://bk/ at http://seaweedfs.s3.svc:8333 (region us-east-1, upload key from stack "dev")`,
            );
            assert.equal(r.out[1], `bucket: port-forward 127.0.0.1:${s3.port} -> service s3/seaweedfs:8333`);
            assert.equal(
                r.out[2],
                `receiver: port-forward 127.0.0.1:${rx.port} -> service flux-system/webhook-receiver:80`,
            );
            assert.deepEqual(opened, [
                { to: s3Svc, closed: true },
                { to: rxSvc, closed: true },
            ]);
            assert.equal(bucket.objects.get("a.yaml")?.body.toString(), A);
            assert.equal(rx.calls.length, 1);
            assert.deepEqual(secretsIn(r.all()), []);
        } finally {
            await rx.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a forward that cannot open: exit 1 with its message, the forwards already open are closed, nothing synced", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A });
        let closed = 0;
        try {
            const r = await run(["--source", src], {
                env: {},
                readStackOutputs: async () => ({
                    bucketName: "bk",
                    bucketEndpoint: "http://seaweedfs.s3.svc:8333",
                    bucketRegion: "us-east-1",
                    uploadAccessKeyId: KEY_ID,
                    uploadSecretAccessKey: SECRET,
                    bucketReceiverUrl: `http://webhook-receiver.flux-system.svc/hook/${HOOK}`,
                    bucketReceiverToken: TOKEN,
                    localAccess: { s3: s3Svc, receiver: rxSvc },
                }),
                portForward: async (_access, to) => {
                    if (to.service === rxSvc.service)
                        throw new LocalAccessError(
                            "kubectl port-forward to service flux-system/webhook-receiver:80 failed",
                        );
                    return {
                        localPort: s3.port,
                        close: () => {
                            closed++;
                        },
                    };
                },
            });
            assert.equal(r.code, 1);
            assert.deepEqual(r.err, ["error: kubectl port-forward to service flux-system/webhook-receiver:80 failed"]);
            assert.equal(closed, 1);
            assert.equal(bucket.count("PUT"), 0);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload command: interrupts", () => {
    test("a stop before anything was sent: exit 130, a zero summary, and what to do", async () => {
        fresh();
        const src = await makeTree({ "a.yaml": A });
        try {
            const stop = new AbortController();
            stop.abort();
            const r = await run(target(src, "--no-trigger"), { signal: stop.signal });
            assert.equal(r.code, 130);
            assert.equal(r.lastOut(), "uploaded 0, deleted 0, unchanged 0");
            assert.deepEqual(r.err, [
                "interrupted: no new request was started after the signal; the requests in flight finished; re-run to finish the sync",
            ]);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("Ctrl-C while a PUT is in flight: it finishes, the rest is not started, exit 130 with the count not made", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A, "b.json": B, "c.yaml": A });
        try {
            const stop = new AbortController();
            bucket.hook = async (req) => {
                if (req.method !== "PUT") return undefined;
                stop.abort();
                await new Promise((r) => setTimeout(r, 50));
                return undefined;
            };
            const r = await run(target(src, "--no-trigger", "--concurrency", "1"), { signal: stop.signal });
            assert.equal(r.code, 130);
            assert.equal(bucket.count("PUT"), 1);
            assert.equal(r.lastOut(), "uploaded 1, deleted 0, unchanged 0");
            assert.deepEqual(r.err, [
                "interrupted: no new request was started after the signal; the requests in flight finished; 2 change(s) not made; re-run to finish the sync",
            ]);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a second Ctrl-C cuts off the request in flight; after the grace period too", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A, "b.json": B });
        try {
            for (const how of ["second signal", "deadline"] as const) {
                const stop = new AbortController();
                const hard = new AbortController();
                bucket.hook = async (req) => {
                    if (req.method !== "PUT") return undefined;
                    stop.abort();
                    if (how === "second signal") setTimeout(() => hard.abort(), 20);
                    await new Promise((r) => setTimeout(r, 2_000));
                    return undefined;
                };
                const r = await run(target(src, "--no-trigger", "--concurrency", "1"), {
                    signal: stop.signal,
                    abortSignal: hard.signal,
                    graceMs: 100,
                });
                assert.equal(r.code, 130, how);
                assert.equal(r.lastOut(), "uploaded 0, deleted 0, unchanged 0", how);
                const cut = how === "deadline" ? "after the 0.1s grace period" : "by the second Ctrl-C";
                assert.equal(
                    r.err.at(-1),
                    `interrupted: no new request was started after the signal; 1 request(s) in flight were cut off ${cut} (S3 stores a PUT only when its whole body arrived and matches its Content-MD5, so nothing is half-written); 2 change(s) not made; re-run to finish the sync`,
                    how,
                );
            }
            assert.equal(DEFAULT_GRACE_MS, 10_000);
            assert.equal(DEFAULT_HEARTBEAT_MS, 5_000);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload output", () => {
    test("sizes in binary units: bytes below 1 KiB, one decimal below 10 of a unit, TiB the largest", () => {
        const cases: Array<[number, string]> = [
            [0, "0 B"],
            [1023, "1023 B"],
            [1024, "1.0 KiB"],
            [1536, "1.5 KiB"],
            [10 * 1024 - 1, "10.0 KiB"],
            [10 * 1024, "10 KiB"],
            [1024 ** 2 - 1, "1024 KiB"],
            [1024 ** 2, "1.0 MiB"],
            [5.25 * 1024 ** 2, "5.3 MiB"],
            [1024 ** 3, "1.0 GiB"],
            [1024 ** 4, "1.0 TiB"],
            [2048 * 1024 ** 4, "2048 TiB"],
        ];
        for (const [n, want] of cases) assert.equal(formatBytes(n), want, String(n));
    });

    test("the summary: uploaded, deleted, unchanged; failed and skipped only when not 0", () => {
        const r = (failures: number) => ({
            uploaded: 3,
            deleted: 1,
            unchanged: 997,
            failures: Array.from({ length: failures }, (_, i) => ({ key: `k${i}`, message: "m" })),
        });
        assert.equal(summaryLine(r(0)), "uploaded 3, deleted 1, unchanged 997");
        assert.equal(summaryLine(r(2)), "uploaded 3, deleted 1, unchanged 997, failed 2");
        assert.equal(summaryLine(r(0), 4), "uploaded 3, deleted 1, unchanged 997, skipped 4");
        assert.equal(summaryLine(r(1), 1), "uploaded 3, deleted 1, unchanged 997, failed 1, skipped 1");
    });

    const item = (key: string, size: number, reason: UploadItem["reason"] = "changed") =>
        ({ key, reason, file: { rel: key, abs: `/x/${key}`, size } }) as UploadItem;

    test("on a pipe: one line per object, written in batches; a stderr line flushes what waits first", async () => {
        const writes: Array<["out" | "err", string]> = [];
        const rep = createReporter({
            out: (l) => writes.push(["out", l]),
            err: (l) => writes.push(["err", l]),
            isTTY: false,
        });
        rep.start({ uploads: [], deletes: [], keptRemote: [], unchanged: 0 });
        rep.uploaded(item("apps/x.yaml", 1229));
        rep.deleted("apps/old.yaml");
        assert.deepEqual(writes, [], "batched, not written at once");
        rep.failed("apps/y.yaml", "SlowDown (HTTP 503)");
        rep.uploaded(item("n.yaml", 3, "new"));
        rep.waiting("still waiting for 1 request(s)");
        rep.uploaded(item("z.yaml", 0, "new"));
        rep.stop();
        assert.deepEqual(writes, [
            ["out", "upload apps/x.yaml (changed, 1.2 KiB)\ndelete apps/old.yaml"],
            ["err", "failed apps/y.yaml: SlowDown (HTTP 503)"],
            ["out", "upload n.yaml (new, 3 B)"],
            ["err", "still waiting for 1 request(s)"],
            ["out", "upload z.yaml (new, 0 B)"],
        ]);
        rep.stop();
        assert.equal(writes.length, 5, "nothing left to flush");
    });

    test("on a pipe: written within 200 ms, or at once when 256 lines wait", async () => {
        const out: string[] = [];
        const rep = createReporter({ out: (l) => out.push(l), err: () => undefined, isTTY: false });
        rep.deleted("a");
        await new Promise((r) => setTimeout(r, 400));
        assert.deepEqual(out, ["delete a"]);
        for (let i = 0; i < 255; i++) rep.deleted(`k${i}`);
        assert.equal(out.length, 1, "255 lines wait");
        rep.deleted("k255");
        assert.equal(out.length, 2, "the 256th line flushes");
        assert.equal(out[1]!.split("\n").length, 256);
        rep.stop();
        assert.equal(out.length, 2);
    });

    test("the process's output: a line each on stdout and stderr; a bar only when both are terminals", () => {
        const writes = { out: process.stdout.write, err: process.stderr.write };
        const tty = {
            out: Object.getOwnPropertyDescriptor(process.stdout, "isTTY"),
            err: Object.getOwnPropertyDescriptor(process.stderr, "isTTY"),
        };
        const seen: string[] = [];
        const progressFile = require.resolve("../tools/upload/progress");
        const load = (out: boolean, err: boolean): Io => {
            Object.defineProperty(process.stdout, "isTTY", { value: out, configurable: true });
            Object.defineProperty(process.stderr, "isTTY", { value: err, configurable: true });
            delete require.cache[progressFile];
            return (require(progressFile) as { processIo: Io }).processIo;
        };
        try {
            assert.deepEqual(
                [load(true, true), load(true, false), load(false, true), load(false, false)].map((io) => io.isTTY),
                [true, false, false, false],
            );
            process.stdout.write = ((c: string) => seen.push(`out:${c}`) > 0) as typeof process.stdout.write;
            process.stderr.write = ((c: string) => seen.push(`err:${c}`) > 0) as typeof process.stderr.write;
            processIo.out("uploaded 1, deleted 0, unchanged 0");
            processIo.err("error: x");
        } finally {
            process.stdout.write = writes.out;
            process.stderr.write = writes.err;
            for (const [stream, d] of [
                [process.stdout, tty.out],
                [process.stderr, tty.err],
            ] as const) {
                if (d) Object.defineProperty(stream, "isTTY", d);
                else delete (stream as { isTTY?: boolean }).isTTY;
            }
            delete require.cache[progressFile];
        }
        assert.deepEqual(seen, ["out:uploaded 1, deleted 0, unchanged 0\n", "err:error: x\n"]);
    });

    test("on a terminal: a bar on stderr counts objects and bytes sent, shows a waiting note, and is cleared at the end", async () => {
        const write = process.stderr.write;
        const tty = Object.getOwnPropertyDescriptor(process.stderr, "isTTY");
        const columns = Object.getOwnPropertyDescriptor(process.stderr, "columns");
        let drawn = "";
        const err: string[] = [];
        Object.defineProperty(process.stderr, "isTTY", { value: true, configurable: true });
        Object.defineProperty(process.stderr, "columns", { value: 200, configurable: true });
        process.stderr.write = ((chunk: string | Uint8Array) => {
            drawn += String(chunk);
            return true;
        }) as typeof process.stderr.write;
        try {
            const idle = createReporter({ out: () => undefined, err: (l) => err.push(l), isTTY: true });
            idle.start({ uploads: [], deletes: [], keptRemote: [], unchanged: 5 });
            idle.stop();
            assert.equal(drawn, "", "nothing to do: no bar");
            const rep = createReporter({ out: () => undefined, err: (l) => err.push(l), isTTY: true });
            rep.start({ uploads: [item("a", 1536), item("b", 512)], deletes: ["c"], keptRemote: [], unchanged: 0 });
            // cli-progress redraws at most every 100 ms (10 frames a second)
            const frame = () => new Promise((r) => setTimeout(r, 150));
            await frame();
            rep.uploaded(item("a", 1536));
            await frame();
            rep.waiting("still waiting for 1 request(s)");
            await frame();
            rep.uploaded(item("b", 512));
            await frame();
            rep.deleted("c");
            rep.stop();
            // each redraw starts at column 1 (ESC [1G); the text without the terminal's control sequences
            const frames = drawn
                .split("\x1b[1G")
                .slice(1)
                // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's escape sequences
                .map((f) => f.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, "").replace(/[█░]+/, "#"))
                // the bar's own timer may draw a frame again
                .filter((f, i, all) => f !== all[i - 1]);
            assert.deepEqual(
                frames.slice(0, 4).map((f) => f.replace(/ \| \d+s left/, " | Ns left")),
                [
                    "syncing [#] 0/3 objects | 0 B sent | Ns left",
                    "syncing [#] 1/3 objects | 1.5 KiB sent | Ns left",
                    "syncing [#] 1/3 objects | 1.5 KiB sent | Ns left | still waiting for 1 request(s)",
                    "syncing [#] 2/3 objects | 2.0 KiB sent | Ns left",
                ],
            );
            assert.match(frames[4]!, /^syncing \[#\] 3\/3 objects \| 2\.0 KiB sent \| \d+s left$/);
            assert.ok(drawn.startsWith("\x1b7\x1b[?25l"), "the cursor is hidden while the bar is drawn");
            assert.ok(drawn.endsWith("\x1b[1G\x1b[2K"), "and the bar's line is cleared at the end");
            assert.deepEqual(err, []);
        } finally {
            process.stderr.write = write;
            if (tty) Object.defineProperty(process.stderr, "isTTY", tty);
            else delete (process.stderr as { isTTY?: boolean }).isTTY;
            if (columns) Object.defineProperty(process.stderr, "columns", columns);
            else delete (process.stderr as { columns?: number }).columns;
        }
    });

    test("on a terminal: failures are listed when the bar stops; a waiting line without a bar goes to stderr", () => {
        const err: string[] = [];
        const out: string[] = [];
        const rep = createReporter({ out: (l) => out.push(l), err: (l) => err.push(l), isTTY: true });
        rep.start({ uploads: [], deletes: [], keptRemote: [], unchanged: 3 });
        rep.waiting("still waiting");
        rep.uploaded(item("a", 1));
        rep.deleted("b");
        rep.failed("c", "boom");
        assert.deepEqual(err, ["still waiting"]);
        rep.stop();
        assert.deepEqual(err, ["still waiting", "failed c: boom"]);
        assert.deepEqual(out, []);
    });
});

describe("upload command: what the run is given", () => {
    test("a source beside the working directory is named by its absolute path", async () => {
        fresh();
        const src = await makeTree({ "a.yaml": A });
        try {
            const r = await run(target(src, "--no-trigger"), { cwd: path.join(path.dirname(src), "elsewhere") });
            assert.equal(r.code, 0, r.stderr);
            assert.ok(r.out[0]!.startsWith(`sync ${src}/ -> `), r.out[0]);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("maxAttempts given is the client's: a PUT that keeps failing is tried that often", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A });
        try {
            bucket.hook = (req) =>
                req.method === "PUT"
                    ? { status: 503, code: "SlowDown", message: "Reduce your request rate" }
                    : undefined;
            const r = await run(target(src, "--no-trigger"), { maxAttempts: 2, retry: { baseMs: 1, capMs: 1 } });
            assert.equal(r.code, 1);
            assert.equal(bucket.count("PUT"), 2);
            assert.equal(r.lastOut(), "uploaded 0, deleted 0, unchanged 0, failed 1");
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("the request line's time is the run's own, in seconds", async () => {
        fresh();
        const src = await makeTree({ "a.yaml": A });
        try {
            const started = Date.now();
            const r = await run(target(src, "--no-trigger"));
            const took = (Date.now() - started) / 1000;
            assert.equal(r.code, 0, r.stderr);
            const line = r.out.find((l) => / requests \(/.test(l))!;
            const shown = Number(/ in (\d+\.\d\d)s$/.exec(line)?.[1]);
            assert.ok(shown >= 0 && shown <= took + 0.01, `${line}: the run took ${took}s`);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a symbolic link to a folder is skipped, listed and counted", async () => {
        fresh();
        const src = await makeTree({ "a.yaml": A, "d/b.json": B });
        try {
            symlinkSync(path.join(src, "d"), path.join(src, "link"));
            const r = await run(target(src, "--no-trigger"));
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(r.err, ["skipped link/: symbolic link to a folder (not followed)"]);
            assert.equal(r.lastOut(), "uploaded 2, deleted 0, unchanged 0, skipped 1");
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("remote objects the ignore rules match are never deleted (docs/upload.md, Ignore rules)", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A, ".sourceignore": "*.bak\n" });
        try {
            bucket.put("old.bak", "x");
            bucket.put("gone.yaml", "x");
            const r = await run(target(src, "--no-trigger", "--delete"));
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual([...bucket.objects.keys()].sort(), [".sourceignore", "a.yaml", "old.bak"]);
            assert.equal(r.lastOut(), "uploaded 2, deleted 1, unchanged 0");
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a dry run says the receiver is not triggered, and why", async () => {
        fresh();
        const rx = await receiver();
        const src = await makeTree({ "a.yaml": A });
        try {
            const r = await run(target(src, "--dry-run", "--receiver-url", rx.url), {
                env: { ...KEYS, FLUX_RECEIVER_TOKEN: TOKEN },
            });
            assert.equal(r.code, 0, r.stderr);
            assert.ok(r.out.includes("receiver: not triggered (dry run)"), r.stdout);
            const n = await run(target(src, "--dry-run", "--no-trigger", "--receiver-url", rx.url), {
                env: { ...KEYS, FLUX_RECEIVER_TOKEN: TOKEN },
            });
            assert.ok(n.out.includes("receiver: not triggered (--no-trigger)"), n.stdout);
            assert.equal(rx.calls.length, 0);
        } finally {
            await rx.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("the plaintext Secret and the allow-list are named by their paths from the working directory", async () => {
        fresh();
        const src = await makeTree({
            "s.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: hunter2\n",
        });
        try {
            const r = await run(target(src, "--no-trigger"), { cwd: src });
            assert.equal(r.code, 1);
            assert.ok(r.err[0]!.startsWith("error: s.yaml: "), r.err[0]);
            // the source is the working directory: the allow-list is named as it is
            assert.match(r.err.at(-1)!, / in \.plaintext-secrets \(README: Secrets in the tree\)$/);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a kustomization that does not build is named with the first line of kustomize's error; the sync goes on", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A, "k/kustomization.yaml": "resources:\n  - missing.yaml\n" });
        try {
            const r = await run(target(src, "--no-trigger"), { cwd: src });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.err.length, 1, r.stderr);
            assert.ok(
                r.err[0]!.startsWith(
                    "warning: k does not build, so its generated Secrets are not checked (make validate shows why): ",
                ),
                r.err[0],
            );
            assert.ok(!r.err[0]!.slice(0, -1).includes("\n"), "one line");
            assert.ok(r.err[0]!.length > 110, "kustomize's reason follows");
            assert.ok(bucket.objects.has("k/kustomization.yaml"));
            // the source itself as the kustomization: "."
            const self = await makeTree({ "kustomization.yaml": "resources:\n  - missing.yaml\n" });
            try {
                const s = await run(target(self, "--no-trigger"), { cwd: self });
                assert.ok(s.err[0]!.startsWith("warning: . does not build, "), s.err[0]);
            } finally {
                await rm(self, { recursive: true, force: true });
            }
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload command: port-forwards, which are opened", () => {
    const s3Svc = { namespace: "s3", service: "seaweedfs", port: 8333 };
    const rxSvc = { namespace: "flux-system", service: "webhook-receiver", port: 80 };
    const outputs = (localAccess: unknown, endpoint = "http://seaweedfs.s3.svc:8333") => ({
        bucketName: "bk",
        bucketEndpoint: endpoint,
        bucketRegion: "us-east-1",
        uploadAccessKeyId: KEY_ID,
        uploadSecretAccessKey: SECRET,
        bucketReceiverUrl: `http://webhook-receiver.flux-system.svc/hook/${HOOK}`,
        bucketReceiverToken: TOKEN,
        localAccess,
    });

    test("only the receiver's when the stack forwards only the receiver; only the bucket's when Flux is not triggered", async () => {
        const bucket = fresh();
        const rx = await receiver();
        const src = await makeTree({ "a.yaml": A });
        try {
            const opened: unknown[] = [];
            const portForward = async (_access: unknown, to: { service: string }) => {
                opened.push(to);
                return { localPort: to.service === s3Svc.service ? s3.port : rx.port, close: () => undefined };
            };
            const r = await run(["--source", src], {
                env: {},
                readStackOutputs: async () => outputs({ receiver: rxSvc }, s3.endpoint),
                portForward,
            });
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(opened, [rxSvc]);
            assert.equal(rx.calls.length, 1);
            opened.length = 0;
            const n = await run(["--source", src, "--no-trigger"], {
                env: {},
                readStackOutputs: async () => outputs({ s3: s3Svc, receiver: rxSvc }),
                portForward,
            });
            assert.equal(n.code, 0, n.stderr);
            assert.deepEqual(opened, [s3Svc]);
            assert.equal(rx.calls.length, 1);
            assert.ok(bucket.objects.has("a.yaml"));
        } finally {
            await rx.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a forwarder's own failure (not a LocalAccessError) is the run's, after the open forwards are closed", async () => {
        fresh();
        const src = await makeTree({ "a.yaml": A });
        let closed = 0;
        try {
            const boom = new Error("forwarder bug");
            await assert.rejects(
                run(["--source", src], {
                    env: {},
                    readStackOutputs: async () => outputs({ s3: s3Svc, receiver: rxSvc }),
                    portForward: async (_access, to) => {
                        if (to.service === rxSvc.service) throw boom;
                        return { localPort: s3.port, close: () => void closed++ };
                    },
                }),
                (e) => e === boom,
            );
            assert.equal(closed, 1);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("by default kubectl, found on the PATH of the run's environment", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A });
        const bin = mkdtempSync(path.join(os.tmpdir(), "upload-cli-kubectl-"));
        try {
            writeFileSync(
                path.join(bin, "kubectl"),
                `#!${process.execPath}\nprocess.stdout.write("Forwarding from 127.0.0.1:${s3.port} -> 8333\\n");\nprocess.on("SIGTERM", () => process.exit(0));\nsetTimeout(() => process.exit(3), 30000);\n`,
            );
            chmodSync(path.join(bin, "kubectl"), 0o755);
            const r = await run(["--source", src, "--no-trigger"], {
                env: { PATH: bin },
                readStackOutputs: async () => outputs({ s3: s3Svc }),
            });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.out[1], `bucket: port-forward 127.0.0.1:${s3.port} -> service s3/seaweedfs:8333`);
            assert.ok(bucket.objects.has("a.yaml"));
        } finally {
            rmSync(bin, { recursive: true, force: true });
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload command: the receiver's reply without a reason phrase", () => {
    test("the status alone, with no space left behind", async () => {
        fresh();
        const src = await makeTree({ "a.yaml": A });
        const statuses: number[] = [];
        const server = net.createServer((socket) => {
            socket.once("data", () =>
                socket.end(`HTTP/1.1 ${statuses.shift()}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`),
            );
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const port = (server.address() as AddressInfo).port;
        try {
            const env = {
                ...KEYS,
                FLUX_RECEIVER_URL: `http://127.0.0.1:${port}/hook/${HOOK}`,
                FLUX_RECEIVER_TOKEN: TOKEN,
            };
            statuses.push(200);
            const ok = await run(target(src), { env });
            assert.equal(ok.code, 0, ok.stderr);
            assert.equal(
                ok.out.at(-2),
                `receiver: POST http://127.0.0.1:${port}/hook/<redacted> -> 200; Flux reconciles the bucket now`,
            );
            statuses.push(404);
            const refused = await run(target(src), { env });
            assert.equal(refused.code, 1);
            assert.deepEqual(refused.err, [
                `error: receiver POST http://127.0.0.1:${port}/hook/<redacted> answered 404 (no Receiver has this hook path: check bucketReceiverUrl / FLUX_RECEIVER_URL) after 1 attempt(s). The sync itself succeeded; Flux will pick the change up at its next interval.`,
            ]);
        } finally {
            await new Promise((r) => server.close(r));
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload command: interrupts, more", () => {
    test("the second Ctrl-C's signal already given: nothing is started, exit 130", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A });
        try {
            const hard = new AbortController();
            hard.abort();
            const r = await run(target(src, "--no-trigger"), { abortSignal: hard.signal });
            assert.equal(r.code, 130);
            assert.equal(bucket.count("PUT"), 0);
            assert.equal(r.lastOut(), "uploaded 0, deleted 0, unchanged 0");
            assert.match(r.err.at(-1)!, /^interrupted: no new request was started after the signal; /);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a stop while a large tree is hashed (in the worker thread): exit 130 and a zero summary, not a read error", async () => {
        fresh();
        const src = await makeTree({});
        try {
            mkdirSync(path.join(src, "f"));
            for (let i = 0; i < WORKER_MIN_FILES; i++) writeFileSync(path.join(src, "f", `${i}.yaml`), `n: ${i}\n`);
            const stop = new AbortController();
            stop.abort();
            const r = await run(target(src, "--no-trigger"), { signal: stop.signal });
            assert.equal(r.code, 130, r.stderr);
            assert.deepEqual(r.out.slice(1), ["uploaded 0, deleted 0, unchanged 0"]);
            assert.deepEqual(r.err, [
                "interrupted: no new request was started after the signal; the requests in flight finished; re-run to finish the sync",
            ]);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("Ctrl-C after an object failed for good: the failure is named before the interrupt; deletions not made count", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A, "b.json": B, "c.yaml": A });
        try {
            bucket.put("gone.yaml", "x");
            const stop = new AbortController();
            let puts = 0;
            let failedKey = "";
            bucket.hook = async (req) => {
                if (req.method !== "PUT") return undefined;
                puts++;
                if (puts === 1) {
                    failedKey = req.key ?? "";
                    return { status: 500, code: "InternalError", message: "We encountered an internal error" };
                }
                stop.abort();
                await new Promise((r) => setTimeout(r, 50));
                return undefined;
            };
            const r = await run(target(src, "--no-trigger", "--concurrency", "1", "--delete"), {
                signal: stop.signal,
                maxAttempts: 1,
            });
            assert.equal(r.code, 130, `${r.stdout}\n${r.stderr}`);
            assert.equal(r.lastOut(), "uploaded 1, deleted 0, unchanged 0, failed 1");
            assert.deepEqual(r.err.slice(-2), [
                "error: 1 object(s) failed before the interrupt (listed above)",
                "interrupted: no new request was started after the signal; the requests in flight finished; 2 change(s) not made; re-run to finish the sync",
            ]);
            assert.ok(
                r.err.some((l) => l.startsWith(`failed ${failedKey}: `)),
                r.stderr,
            );
            assert.ok(bucket.objects.has("gone.yaml"));
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("while stopping, the still-waiting line says so and names the oldest request; no retries, no retry count", async () => {
        const bucket = fresh();
        const src = await makeTree({ "a.yaml": A, "b.json": B, "c.yaml": A });
        try {
            const stop = new AbortController();
            let puts = 0;
            let first = "";
            bucket.hook = async (req) => {
                if (req.method !== "PUT") return undefined;
                puts++;
                if (puts === 1) first = req.key ?? "";
                // the first PUT and the third hang; the second ends at once, so the third starts later
                if (puts === 2) return undefined;
                if (puts === 3) stop.abort();
                await new Promise((r) => setTimeout(r, 600));
                return undefined;
            };
            const r = await run(target(src, "--no-trigger", "--concurrency", "2"), {
                signal: stop.signal,
                heartbeatMs: 100,
            });
            assert.equal(r.code, 130);
            const waiting = r.err.filter((l) => l.includes("still waiting"));
            assert.ok(waiting.length >= 1, r.stderr);
            for (const w of waiting) {
                assert.match(
                    w,
                    new RegExp(
                        `^stopping: still waiting for [12] request\\(s\\); the oldest \\(PUT ${first.replace(".", "\\.")}\\) for \\d+\\.\\ds$`,
                    ),
                );
                assert.ok(!w.endsWith(" for 0.0s"), w);
            }
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });
});
