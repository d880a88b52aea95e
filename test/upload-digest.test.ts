// The sync tool's one read of every file (tools/upload/digest-worker.cjs through digestAll): its MD5,
// its size and whether the plaintext-Secret guard must parse it, in this thread or in a worker
// thread (large trees), and `make upload-do`'s command on a tree large enough for the worker.
import assert from "node:assert/strict";
import { createHook } from "node:async_hooks";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { rm, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { SECRET_NEEDLES } from "../tools/sops/guard";
import { scanSource } from "../tools/upload/files";
import { digestAll, WORKER_MIN_FILES } from "../tools/upload/sync";
import { makeTree, runUploadCommand, SCRATCH } from "./helpers-s3";
import { type FakeHttpS3, startFakeHttpS3 } from "./upload-fake-http";

const md5hex = (b: Buffer) => createHash("md5").update(b).digest("hex");

/** Bodies chosen around the reader's edges: empty, tiny, just under and over its 1 MiB buffer, chunked. */
const BODIES: Record<string, Buffer> = {
    "empty.yaml": Buffer.alloc(0),
    "cm.yaml": Buffer.from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"),
    "secret.yaml": Buffer.from("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  a: b\n"),
    "escaped.json": Buffer.from('{"kind": "Secr\\u0065t"}'),
    "just-under.yaml": Buffer.alloc(1024 * 1024 - 1, 0x61),
    "exactly-1mib.yaml": Buffer.alloc(1024 * 1024, 0x62),
    "big.json": Buffer.concat([Buffer.alloc(9 * 1024 * 1024 + 5, 0x63), Buffer.from("no needle here")]),
};
/** What the guard must parse: a needle in the bytes, or read in chunks (1 MiB and more). */
const CANDIDATES = ["big.json", "escaped.json", "exactly-1mib.yaml", "secret.yaml"];

/** `n` small ConfigMaps in 20 folders, written synchronously (thousands of awaits cost seconds). */
function manyConfigMaps(n: number): string {
    const root = mkdtempSync(path.join(SCRATCH, "upload-many-"));
    for (let d = 0; d < Math.min(n, 20); d++) mkdirSync(path.join(root, `team-${d}`));
    for (let i = 0; i < n; i++) writeFileSync(path.join(root, `team-${i % 20}`, `cm-${i}.yaml`), configMap(i));
    return root;
}

const configMap = (i: number) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\n`;

/** Counts the worker threads started while `fn` runs (async_hooks sees each as a WORKER resource). */
async function countWorkers<T>(fn: () => Promise<T>): Promise<{ value: T; workers: number }> {
    let workers = 0;
    const hook = createHook({
        init(_id, type) {
            if (type === "WORKER") workers++;
        },
    }).enable();
    try {
        return { value: await fn(), workers };
    } finally {
        hook.disable();
    }
}

describe("upload: hashing every file once (digestAll)", () => {
    for (const worker of [false, true]) {
        const where = worker ? "in a worker thread" : "in this thread";

        test(`${where}: the MD5 and size of every file, and the files that may hold a Secret`, async () => {
            const src = await makeTree(BODIES);
            try {
                const scan = await scanSource(src, undefined);
                const { value: result, workers } = await countWorkers(() =>
                    digestAll(scan.files, { needles: SECRET_NEEDLES, worker }),
                );
                assert.equal(workers, worker ? 1 : 0, "threads started");
                assert.deepEqual(
                    result.files.map((f) => [f.rel, f.size]),
                    Object.keys(BODIES)
                        .sort()
                        .map((rel) => [rel, BODIES[rel]!.length]),
                );
                for (const [rel, body] of Object.entries(BODIES)) {
                    const d = result.digests.get(rel);
                    assert.equal(d?.md5Hex, md5hex(body), rel);
                    assert.equal(d?.md5Base64, createHash("md5").update(body).digest("base64"), rel);
                }
                assert.deepEqual(result.candidates.map((f) => f.rel).sort(), CANDIDATES);
            } finally {
                await rm(src, { recursive: true, force: true });
            }
        });

        test(`${where}: size and MD5 are of the same bytes when a file changed after the scan`, async () => {
            const src = await makeTree({ "a.yaml": "short\n", "b.yaml": "b\n" });
            try {
                const scan = await scanSource(src, undefined);
                const now = Buffer.from("a longer body, written after the scan\n");
                await writeFile(path.join(src, "a.yaml"), now);
                const result = await digestAll(scan.files, { worker });
                const a = result.files.find((f) => f.rel === "a.yaml");
                assert.equal(a?.size, now.length);
                assert.equal(result.digests.get("a.yaml")?.md5Hex, md5hex(now));
            } finally {
                await rm(src, { recursive: true, force: true });
            }
        });

        test(`${where}: a file that disappeared since the scan is an error naming it`, async () => {
            const src = await makeTree({ "a.yaml": "a\n", "gone.yaml": "g\n" });
            try {
                const scan = await scanSource(src, undefined);
                await unlink(path.join(src, "gone.yaml"));
                await assert.rejects(digestAll(scan.files, { worker }), (err: Error) => {
                    assert.match(err.message, /ENOENT/);
                    assert.ok(err.message.includes(path.join(src, "gone.yaml")), err.message);
                    return true;
                });
            } finally {
                await rm(src, { recursive: true, force: true });
            }
        });
    }

    test("no needles: only the files read in chunks are candidates", async () => {
        const src = await makeTree(BODIES);
        try {
            const scan = await scanSource(src, undefined);
            const result = await digestAll(scan.files, { worker: true });
            assert.deepEqual(result.candidates.map((f) => f.rel).sort(), ["big.json", "exactly-1mib.yaml"]);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test(`"auto" starts a worker from ${WORKER_MIN_FILES} files on, not below`, async () => {
        const src = manyConfigMaps(WORKER_MIN_FILES);
        try {
            const scan = await scanSource(src, undefined);
            const below = await countWorkers(() => digestAll(scan.files.slice(1)));
            assert.equal(below.workers, 0, `${WORKER_MIN_FILES - 1} files: this thread`);
            const asked = await countWorkers(() => digestAll(scan.files.slice(1), { worker: "auto" }));
            assert.equal(asked.workers, 0, `${WORKER_MIN_FILES - 1} files, "auto" given: this thread`);
            const at = await countWorkers(() => digestAll(scan.files));
            assert.equal(at.workers, 1, `${WORKER_MIN_FILES} files: a worker`);
            assert.equal(at.value.digests.size, WORKER_MIN_FILES);
            assert.equal(at.value.digests.get("team-13/cm-13.yaml")?.md5Hex, md5hex(Buffer.from(configMap(13))));
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("Ctrl-C while the worker hashes: an AbortError, and the worker is stopped", async () => {
        const src = await makeTree({ "big.json": Buffer.alloc(64 * 1024 * 1024, 1) });
        try {
            const scan = await scanSource(src, undefined);
            const stop = new AbortController();
            const { workers } = await countWorkers(async () => {
                const run = digestAll(scan.files, { worker: true, signal: stop.signal });
                setTimeout(() => stop.abort(), 5);
                await assert.rejects(run, { name: "AbortError" });
            });
            assert.equal(workers, 1);
            // already stopped: no worker at all
            const again = await countWorkers(() =>
                assert.rejects(digestAll(scan.files, { worker: true, signal: stop.signal }), { name: "AbortError" }),
            );
            assert.equal(again.workers, 0);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe(`make upload-do's command on ${WORKER_MIN_FILES} files and more (hashed in a worker beside the bundle)`, () => {
    // The bucket: the in-memory one of upload-fake-http.ts in this process (the command runs in
    // a process of its own). What is checked is the command's reading of the tree; the server
    // only lists an empty bucket and counts the writes (none), so no s3rver process is started.
    let fake: FakeHttpS3;
    before(async () => {
        fake = await startFakeHttpS3();
    });
    after(() => fake.close());

    /** tools/upload/run.cjs (the bundle, as make upload-do runs it) on the tree into `bucket`, plus `extra` flags. */
    const runBundle = (bucket: string, ...extra: string[]) =>
        runUploadCommand(
            ["tools/upload/run.cjs"],
            ["--source", src, "--bucket", bucket, "--endpoint", fake.endpoint, "--no-trigger", ...extra],
        );

    let src = "";
    before(() => {
        src = manyConfigMaps(WORKER_MIN_FILES);
    });
    after(() => rmSync(src, { recursive: true, force: true }));

    test("a plaintext Secret among them is refused before any write, named with its file", async () => {
        const bucket = "digest-1";
        const secret = path.join(src, "team-7", "db.yaml");
        writeFileSync(
            secret,
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: x\nstringData:\n  password: hunter2\n",
        );
        try {
            fake.bucket.requests.length = 0;
            const r = await runBundle(bucket);
            assert.equal(r.code, 1, r.stdout + r.stderr);
            assert.match(r.stderr, /team-7\/db\.yaml: Secret x\/db: .*not SOPS-encrypted/);
            assert.match(r.stderr, /refusing to upload: 1 Secret\(s\) with plaintext data/);
            assert.equal(fake.bucket.count("PUT"), 0, "nothing written");
            assert.equal(fake.bucket.count("POST"), 0, "nothing deleted");
        } finally {
            unlinkSync(secret);
        }
    });

    test("a dry run plans every file as new, with the sizes it hashed", async () => {
        const bucket = "digest-2";
        const r = await runBundle(bucket, "--dry-run");
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "", "no warning (the worker file was found beside the bundle)");
        const size = Buffer.byteLength(configMap(1234));
        assert.match(r.stdout, new RegExp(`^would upload team-14/cm-1234\\.yaml \\(new, ${size} B\\)$`, "m"));
        assert.match(
            r.stdout,
            new RegExp(`^dry run: would upload ${WORKER_MIN_FILES}, would delete 0, unchanged 0$`, "m"),
        );
    });
});
