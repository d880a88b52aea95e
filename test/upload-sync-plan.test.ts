// sync.ts in process, against the in-memory bucket of upload-fake-s3.ts (no server, no child
// process): which keys --delete may remove (prefix, ignore rules, folder markers, keys that are
// not clean paths), what is compared and uploaded (Content-MD5 and the stored bytes, the ETag
// checks after a PUT and after a multipart completion), what happens on failures and
// interrupts (no deletion after a failed upload, fatal errors stop the run, aborted multipart
// uploads), and the listing loops' bounds. Fast enough to run for every mutant of
// `make mutation GROUP=upload-sync`; the s3rver tests (upload-sync, upload-integrity) check the
// same flows against a real server.
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { readdirSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { digestFile, type LocalDigest } from "../tools/upload/etag";
import type { LocalFile } from "../tools/upload/files";
import { StoppedError } from "../tools/upload/retry";
import { S3Error } from "../tools/upload/s3";
import {
    abortStaleUploads,
    digestAll,
    executePlan,
    listRemote,
    normalisePrefix,
    PrefixError,
    planSync,
    type RemoteObject,
    type Reporter,
    type Sizes,
    type SyncResult,
    sameContent,
} from "../tools/upload/sync";
import { FakeBucket, type HookAnswer, localTree, md5, md5hex } from "./upload-fake-s3";

const describeErr = (err: unknown) => `${(err as Error).name}: ${(err as Error).message}`;

/** A reporter that records every call, in order. */
function recorder() {
    const calls: string[] = [];
    const reporter: Reporter = {
        start: (plan) => calls.push(`start ${plan.uploads.length}/${plan.deletes.length}`),
        uploaded: (item) => calls.push(`uploaded ${item.key}`),
        deleted: (key) => calls.push(`deleted ${key}`),
        failed: (key, message) => calls.push(`failed ${key}: ${message}`),
        waiting: (message) => calls.push(`waiting ${message}`),
        stop: () => calls.push("stop"),
    };
    return { calls, reporter };
}

interface SyncOptions {
    prefix?: string;
    deleteRemote?: boolean;
    isIgnored?: (rel: string) => boolean;
    sizes?: Sizes;
    concurrency?: number;
    stop?: AbortController;
}

/** cli.ts's flow without the CLI: digest, list, plan, execute. */
async function sync(bucket: FakeBucket, files: LocalFile[], o: SyncOptions = {}) {
    const prefix = o.prefix ?? "";
    const { digests } = await digestAll(files, { worker: false });
    const remote = await listRemote(bucket.send, prefix);
    const plan = await planSync({
        files,
        digests,
        remote,
        prefix,
        deleteRemote: o.deleteRemote ?? false,
        isIgnored: o.isIgnored ?? (() => false),
        partSize: o.sizes?.partSize,
    });
    const rec = recorder();
    const result = await executePlan({
        send: bucket.send,
        plan,
        concurrency: o.concurrency ?? 4,
        reporter: rec.reporter,
        stop: o.stop ?? new AbortController(),
        sizes: o.sizes,
        describe: describeErr,
    });
    return { plan, result, calls: rec.calls };
}

const counts = (r: SyncResult) => ({
    uploaded: r.uploaded,
    deleted: r.deleted,
    unchanged: r.unchanged,
    failed: r.failures.length,
    deletesSkipped: r.deletesSkipped,
    notDone: r.notDone,
});

async function withTree<T>(files: Record<string, Buffer | string>, fn: (files: LocalFile[]) => Promise<T>) {
    const tree = await localTree(files);
    try {
        return await fn(tree.files);
    } finally {
        await rm(tree.root, { recursive: true, force: true });
    }
}

/** Bytes that differ from block to block, so a misplaced or torn part changes the digest. */
function pattern(size: number, seed: number): Buffer {
    const b = Buffer.alloc(size);
    for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
    return b;
}

describe("upload sync (in process): prefixes", () => {
    test("a prefix gets exactly one trailing slash; the root stays empty", () => {
        assert.equal(normalisePrefix(undefined), "");
        assert.equal(normalisePrefix(""), "");
        assert.equal(normalisePrefix("team"), "team/");
        assert.equal(normalisePrefix("apps/team-a///"), "apps/team-a/");
    });

    test("each refused prefix names every problem it has, and only those", () => {
        const problems = (p: string) => {
            try {
                normalisePrefix(p);
                return undefined;
            } catch (err) {
                assert.ok(err instanceof PrefixError, p);
                const m = /^prefix (".*") (.*): give a relative key prefix such as team-a or apps\/team-a$/.exec(
                    (err as Error).message,
                );
                assert.ok(m, (err as Error).message);
                assert.equal(m[1], JSON.stringify(p));
                return m[2];
            }
        };
        assert.equal(problems("/"), "starts with /");
        assert.equal(problems("/team"), "starts with /");
        assert.equal(problems("//team"), "starts with /");
        assert.equal(problems("../x"), "has a . or .. segment");
        assert.equal(problems("a/./b"), "has a . or .. segment");
        assert.equal(problems("a//b"), "has an empty segment (//)");
        assert.equal(problems("a\\b"), "has a backslash or a control character");
        assert.equal(problems("a\u0000b"), "has a backslash or a control character");
        assert.equal(problems("a\u001fb"), "has a backslash or a control character");
        assert.equal(problems("a\u007fb"), "has a backslash or a control character");
        assert.equal(
            problems("/a/..//b\tc"),
            "starts with /, has a . or .. segment, has an empty segment (//), has a backslash or a control character",
        );
        // characters around the refused ranges are ordinary key characters
        assert.equal(normalisePrefix("a b/~x/é"), "a b/~x/é/");
        assert.equal(normalisePrefix("..a/b.."), "..a/b../");
    });
});

describe("upload sync (in process): what --delete may remove", () => {
    const plan = (remote: string[], o: { prefix: string; deleteRemote: boolean; local?: string[] }) =>
        planSync({
            files: [],
            digests: new Map(),
            remote: new Map(remote.map((k): [string, RemoteObject] => [k, { size: 1 }])),
            prefix: o.prefix,
            deleteRemote: o.deleteRemote,
            isIgnored: (rel) => rel.endsWith(".md") || rel.startsWith("drafts/"),
        });

    test("only keys under the prefix that are clean relative paths the rules do not ignore, sorted", async () => {
        const remote = [
            "team/z.yaml",
            "team/a/b.yaml",
            "team/NOTES.md", // ignored
            "team/drafts/x.yaml", // ignored
            "team/dir/", // a folder marker
            "team/../up.yaml", // not a clean path below the prefix
            "team/./dot.yaml",
            "team//double.yaml",
            "teamwork/x.yaml", // shares the letters, not the folder
            "other/x.yaml",
            "root.yaml",
        ];
        const p = await plan(remote, { prefix: "team/", deleteRemote: true });
        assert.deepEqual(p.deletes, ["team/a/b.yaml", "team/z.yaml"]);
        assert.deepEqual(p.keptRemote, []);
        const kept = await plan(remote, { prefix: "team/", deleteRemote: false });
        assert.deepEqual(kept.deletes, []);
        assert.deepEqual(kept.keptRemote, ["team/a/b.yaml", "team/z.yaml"]);
    });

    test("at the bucket root every key is ours unless ignored, a marker or not a clean path", async () => {
        const p = await plan(["b.yaml", "a.yaml", "x/", "README.md", "./c.yaml"], { prefix: "", deleteRemote: true });
        assert.deepEqual(p.deletes, ["a.yaml", "b.yaml"]);
    });

    test("a key that exists locally is compared, never deleted; local-only files are new", async () => {
        await withTree({ "keep.yaml": "k: 1\n", "new.yaml": "n: 1\n", "changed.yaml": "c: 2\n" }, async (files) => {
            const { digests } = await digestAll(files, { worker: false });
            const remote = new Map<string, RemoteObject>([
                ["p/keep.yaml", { etag: `"${md5hex("k: 1\n")}"`, size: 5 }],
                ["p/changed.yaml", { etag: `"${md5hex("c: 1\n")}"`, size: 5 }],
                ["p/gone.yaml", { etag: `"${md5hex("g")}"`, size: 1 }],
            ]);
            const p = await planSync({
                files,
                digests,
                remote,
                prefix: "p/",
                deleteRemote: true,
                isIgnored: () => false,
            });
            assert.deepEqual(
                p.uploads.map((u) => [u.key, u.reason, u.file.rel, u.digest.md5Hex]),
                [
                    ["p/changed.yaml", "changed", "changed.yaml", md5hex("c: 2\n")],
                    ["p/new.yaml", "new", "new.yaml", md5hex("n: 1\n")],
                ],
            );
            assert.equal(p.unchanged, 1);
            assert.deepEqual(p.deletes, ["p/gone.yaml"]);
        });
    });

    test("a file without a digest is an internal error, not a silent upload or skip", async () => {
        await assert.rejects(
            planSync({
                files: [{ rel: "a.yaml", abs: "/nonexistent/a.yaml", size: 1 }],
                digests: new Map(),
                remote: new Map(),
                prefix: "",
                deleteRemote: false,
                isIgnored: () => false,
            }),
            /internal: no digest for a\.yaml/,
        );
    });
});

describe("upload sync (in process): content comparison", () => {
    test("plain ETags compare by MD5 (any case, quoted or not); size, a missing or foreign ETag mean changed", async () => {
        const body = "kind: ConfigMap\n";
        await withTree({ "a.yaml": body }, async ([file]) => {
            const digest: LocalDigest = await digestFile(file!.abs, file!.size);
            const same = (remote: RemoteObject) => sameContent(file!, digest, remote);
            assert.equal(await same({ etag: `"${md5hex(body)}"`, size: file!.size }), true);
            assert.equal(await same({ etag: md5hex(body).toUpperCase(), size: file!.size }), true);
            assert.equal(await same({ etag: `"${md5hex(`${body} `)}"`, size: file!.size }), false);
            assert.equal(await same({ etag: `"${md5hex(body)}"`, size: file!.size + 1 }), false);
            assert.equal(await same({ size: file!.size }), false);
            assert.equal(await same({ etag: 'W/"x"', size: file!.size }), false);
        });
    });

    test("a multipart ETag compares by the parts of the tool's part size (default 8 MiB)", async () => {
        // 8 MiB + 5 bytes: two parts of the default size
        const body = pattern(8 * 1024 * 1024 + 5, 3);
        await withTree({ "big.json": body }, async ([file]) => {
            const digest = await digestFile(file!.abs, file!.size);
            const parts = [body.subarray(0, 8 * 1024 * 1024), body.subarray(8 * 1024 * 1024)];
            const aws = `${md5hex(Buffer.concat(parts.map((p) => md5(p))))}-2`;
            assert.equal(await sameContent(file!, digest, { etag: `"${aws}"`, size: body.length }), true);
            const tampered = Buffer.from(parts[1]!);
            tampered[0] ^= 1;
            const other = `${md5hex(Buffer.concat([md5(parts[0]!), md5(tampered)]))}-2`;
            assert.equal(await sameContent(file!, digest, { etag: `"${other}"`, size: body.length }), false);
            // the right parts' digest, another part count
            assert.equal(
                await sameContent(file!, digest, { etag: `"${aws.replace(/-2$/, "-3")}"`, size: body.length }),
                false,
            );
        });
    });
});

describe("upload sync (in process): uploads", () => {
    test("every object is stored with its exact bytes, its Content-MD5 and a content type by its name", async () => {
        const files = {
            "a.yaml": "a: 1\n",
            "b.YML": "b: 1\n",
            "c.json": '{"c":1}\n',
            "d/Kustomization": "resources: []\n",
            "e.txt": "text\n",
            "f.yaml.txt": "text\n",
            "g.json.yaml": "g: 1\n",
            "h.JSON": "{}\n",
            notKustomization: "x\n",
            Kustomization: "resources: []\n",
            "Kustomization.txt": "x\n",
            "i.json.txt": "x\n",
        };
        await withTree(files, async (list) => {
            const bucket = new FakeBucket();
            const { result, calls } = await sync(bucket, list);
            assert.deepEqual(counts(result), {
                uploaded: 12,
                deleted: 0,
                unchanged: 0,
                failed: 0,
                deletesSkipped: 0,
                notDone: 0,
            });
            assert.equal(
                result.bytesUploaded,
                Object.values(files).reduce((n, b) => n + Buffer.byteLength(b), 0),
            );
            const types: Record<string, string | undefined> = {};
            for (const [k, body] of Object.entries(files)) {
                const o = bucket.objects.get(k)!;
                assert.equal(o.body.toString(), body, k);
                types[k] = o.contentType;
            }
            assert.deepEqual(types, {
                "a.yaml": "application/yaml",
                "b.YML": "application/yaml",
                "c.json": "application/json",
                "d/Kustomization": "application/yaml",
                "e.txt": "text/plain; charset=utf-8",
                "f.yaml.txt": "text/plain; charset=utf-8",
                "g.json.yaml": "application/yaml",
                "h.JSON": "application/json",
                notKustomization: "text/plain; charset=utf-8",
                Kustomization: "application/yaml",
                "Kustomization.txt": "text/plain; charset=utf-8",
                "i.json.txt": "text/plain; charset=utf-8",
            });
            for (const r of bucket.requests.filter((x) => x.method === "PUT"))
                assert.equal(r.headers["content-md5"], md5(r.body!).toString("base64"), r.key);
            assert.equal(calls[0], "start 12/0");
            assert.equal(calls.at(-1), "stop");
            assert.deepEqual(
                calls.filter((c) => c.startsWith("uploaded ")).sort(),
                list.map((f) => `uploaded ${f.rel}`).sort(),
            );
            // the same tree again: one LIST, nothing sent
            bucket.requests.length = 0;
            const again = await sync(bucket, list);
            assert.deepEqual(counts(again.result), {
                uploaded: 0,
                deleted: 0,
                unchanged: 12,
                failed: 0,
                deletesSkipped: 0,
                notDone: 0,
            });
            assert.deepEqual(
                bucket.requests.map((r) => `${r.method} ${r.label}`),
                ["GET LIST page 1"],
            );
        });
    });

    test("kustomization files go up after every other file", async () => {
        const names = [
            "a.yaml",
            "kustomization.yaml",
            "Kustomization.json",
            "sub/Kustomization",
            "sub/kustomization.yml",
            "sub/my-kustomization.yaml",
            "xkustomization.yaml",
            "kustomization.yaml.json",
            "z.yaml",
        ];
        await withTree(Object.fromEntries(names.map((n) => [n, `${n}\n`])), async (list) => {
            const bucket = new FakeBucket();
            const { result } = await sync(bucket, list, { concurrency: 1 });
            assert.equal(result.uploaded, names.length);
            const order = bucket.requests.filter((r) => r.method === "PUT").map((r) => r.key);
            const isKustomization = new Set(["kustomization.yaml", "sub/Kustomization", "sub/kustomization.yml"]);
            const sorted = list.map((f) => f.rel);
            assert.deepEqual(order, [
                ...sorted.filter((k) => !isKustomization.has(k)),
                ...sorted.filter((k) => isKustomization.has(k)),
            ]);
        });
    });

    test("a PUT whose reply ETag is another body's fails that object (IntegrityError); none, a multipart-form or an upper-case one pass", async () => {
        const files = {
            "lie.yaml": "sent: 1\n",
            "none.yaml": "n: 1\n",
            "multi.yaml": "m: 1\n",
            "upper.yaml": "u: 1\n",
        };
        await withTree(files, async (list) => {
            const bucket = new FakeBucket();
            const other = md5hex("what the server says it stored\n");
            bucket.hook = (req): HookAnswer => {
                if (req.method !== "PUT") return undefined;
                if (req.key === "lie.yaml") return { headers: { etag: `"${other}"` } };
                if (req.key === "none.yaml") return { headers: {} };
                // SSE-KMS objects, for one, have ETags that are not the body's MD5
                if (req.key === "multi.yaml") return { headers: { etag: `"${other}-1"` } };
                return { headers: { etag: `"${md5hex(req.body!).toUpperCase()}"` } };
            };
            const { result, calls } = await sync(bucket, list);
            assert.equal(result.uploaded, 3);
            assert.equal(result.bytesUploaded, 15);
            assert.deepEqual(result.failures, [
                {
                    key: "lie.yaml",
                    message: `Error: stored object's ETag "${other}" does not match the MD5 of the upload (${md5hex("sent: 1\n")})`,
                },
            ]);
            assert.ok(calls.includes(`failed lie.yaml: ${result.failures[0]!.message}`), calls.join("\n"));
        });
    });

    test("a file above the multipart threshold goes up in parts (each with its Content-MD5); one at the threshold in one PUT", async () => {
        const sizes = { multipartThreshold: 64, partSize: 16 };
        const big = pattern(64 + 33, 5); // 97 bytes: parts of 16, the 7th of 1
        const files = { "at.json": pattern(64, 4), "big.json": big, Kustomization: "k\n" };
        await withTree(files, async (list) => {
            const bucket = new FakeBucket();
            const { result } = await sync(bucket, list, { sizes });
            assert.deepEqual(counts(result), {
                uploaded: 3,
                deleted: 0,
                unchanged: 0,
                failed: 0,
                deletesSkipped: 0,
                notDone: 0,
            });
            assert.equal(result.bytesUploaded, 64 + 97 + 2);
            const parts = bucket.requests.filter((r) => r.method === "PUT" && r.query.partNumber !== undefined);
            assert.deepEqual(
                parts.map((p) => Number(p.query.partNumber)).sort((a, b) => a - b),
                [1, 2, 3, 4, 5, 6, 7],
            );
            for (const p of parts) {
                const n = Number(p.query.partNumber);
                assert.deepEqual(p.body, big.subarray((n - 1) * 16, n * 16), `part ${n}`);
                assert.equal(p.headers["content-md5"], md5(p.body!).toString("base64"));
                assert.equal(p.label, `PUT big.json part ${n}/7`);
            }
            assert.equal(
                bucket.count("PUT", (r) => r.key === "at.json"),
                1,
            );
            assert.equal(
                bucket.count("POST", (r) => "uploads" in r.query),
                1,
            );
            assert.equal(bucket.objects.get("big.json")?.contentType, "application/json");
            assert.deepEqual(bucket.objects.get("big.json")?.body, big);
            assert.equal(bucket.uploads.size, 0, "no upload left open");
            // compares unchanged afterwards: its multipart ETag is reproduced with the same part size
            const again = await sync(bucket, list, { sizes });
            assert.equal(again.result.unchanged, 3);
            assert.equal(again.result.uploaded, 0);
        });
    });

    test("a multipart completion's ETag is checked in AWS's form and as a whole-object MD5", async () => {
        const sizes = { multipartThreshold: 32, partSize: 16 };
        const big = pattern(40, 6);
        const aws = `${md5hex(Buffer.concat([md5(big.subarray(0, 16)), md5(big.subarray(16, 32)), md5(big.subarray(32))]))}-3`;
        // expected: what the tool compares a wrong ETag with (AWS's form, or the whole object's MD5)
        const cases: Array<{ etag: string | undefined; ok: boolean; expected?: string }> = [
            { etag: `"${aws}"`, ok: true },
            { etag: `"${md5hex(big)}"`, ok: true },
            { etag: undefined, ok: true },
            { etag: `"${aws.replace(/-3$/, "-4")}"`, ok: false, expected: aws },
            { etag: `"${md5hex(Buffer.concat([md5("a"), md5("b"), md5("c")]))}-3"`, ok: false, expected: aws },
            { etag: `"${md5hex(big.subarray(1))}"`, ok: false, expected: md5hex(big) },
        ];
        await withTree({ "big.json": big }, async (list) => {
            for (const c of cases) {
                const bucket = new FakeBucket();
                bucket.hook = (req) =>
                    req.method === "POST" && req.query.uploadId !== undefined
                        ? {
                              body: `<CompleteMultipartUploadResult><Key>big.json</Key>${c.etag === undefined ? "" : `<ETag>${c.etag.replace(/"/g, "&quot;")}</ETag>`}</CompleteMultipartUploadResult>`,
                          }
                        : undefined;
                const { result } = await sync(bucket, list, { sizes });
                if (c.ok) {
                    assert.deepEqual(result.failures, [], String(c.etag));
                    assert.equal(result.uploaded, 1);
                    assert.equal(bucket.count("DELETE"), 0, "nothing aborted");
                } else {
                    assert.equal(result.uploaded, 0, String(c.etag));
                    assert.match(
                        result.failures[0]?.message ?? "",
                        new RegExp(
                            `^Error: multipart ETag ${c.etag} does not match the local content \\(${c.expected}\\)$`,
                        ),
                    );
                    assert.equal(
                        bucket.count("DELETE", (r) => r.query.uploadId !== undefined),
                        1,
                        "aborted",
                    );
                }
            }
        });
    });

    test("a part that fails aborts the upload (the others stop starting); the object is named with the error", async () => {
        const sizes = { multipartThreshold: 32, partSize: 8 };
        const big = pattern(8 * 12, 7); // 12 parts
        await withTree({ "big.json": big, "small.yaml": "s: 1\n" }, async (list) => {
            const bucket = new FakeBucket();
            bucket.hook = (req) =>
                req.query.partNumber === "2"
                    ? new S3Error("InternalError", "We encountered an internal error", 500)
                    : undefined;
            const { result } = await sync(bucket, list, { sizes, concurrency: 1 });
            assert.deepEqual(result.failures, [
                { key: "big.json", message: "InternalError: We encountered an internal error" },
            ]);
            assert.equal(result.uploaded, 1, "the other file still goes up");
            const parts = bucket.count("PUT", (r) => r.query.partNumber !== undefined);
            assert.ok(parts < 12, `${parts} parts sent after the failure`);
            assert.equal(
                bucket.count("POST", (r) => r.query.uploadId !== undefined),
                0,
                "never completed",
            );
            const aborts = bucket.requests.filter((r) => r.method === "DELETE");
            assert.equal(aborts.length, 1);
            assert.equal(aborts[0]!.label, "ABORT big.json");
            assert.equal(aborts[0]!.options?.attempts, 3);
            assert.ok(aborts[0]!.options?.abortSignal, "the abort has its own signal");
            assert.equal(bucket.uploads.size, 0);
        });
    });

    test("a part reply without an ETag fails the upload, which is aborted", async () => {
        const sizes = { multipartThreshold: 8, partSize: 8 };
        await withTree({ "big.json": pattern(20, 1) }, async (list) => {
            const bucket = new FakeBucket();
            bucket.hook = (req) => (req.query.partNumber === "3" ? { headers: {} } : undefined);
            const { result } = await sync(bucket, list, { sizes });
            assert.deepEqual(result.failures, [{ key: "big.json", message: "Error: UploadPart 3 returned no ETag" }]);
            assert.equal(bucket.count("DELETE"), 1);
            assert.equal(bucket.uploads.size, 0);
        });
    });

    test("a CreateMultipartUpload reply without an UploadId fails the object; there is nothing to abort", async () => {
        const sizes = { multipartThreshold: 8, partSize: 8 };
        await withTree({ "big.json": pattern(20, 1) }, async (list) => {
            const bucket = new FakeBucket();
            bucket.hook = (req) =>
                "uploads" in req.query
                    ? { body: "<InitiateMultipartUploadResult><Key>big.json</Key></InitiateMultipartUploadResult>" }
                    : undefined;
            const { result } = await sync(bucket, list, { sizes });
            assert.deepEqual(result.failures, [
                { key: "big.json", message: "Error: CreateMultipartUpload returned no UploadId" },
            ]);
            assert.equal(bucket.count("PUT"), 0);
            assert.equal(bucket.count("DELETE"), 0);
        });
    });
});

describe("upload sync (in process): deletions", () => {
    test("stale objects are deleted in DeleteObjects calls of at most 1,000 keys; per-key refusals are failures", async () => {
        await withTree({ "keep.yaml": "k\n" }, async (list) => {
            const bucket = new FakeBucket();
            bucket.put("keep.yaml", "k\n");
            const stale = Array.from({ length: 2005 }, (_, i) => `old/${String(i).padStart(4, "0")}&<x>.yaml`);
            for (const k of stale) bucket.put(k, "o\n");
            bucket.denyDelete.add(stale[1500]!);
            const { result, calls } = await sync(bucket, list, { deleteRemote: true });
            const deletes = bucket.requests.filter((r) => r.method === "POST" && "delete" in r.query);
            assert.deepEqual(
                deletes.map((d) => d.label),
                ["DELETE 1000 object(s)", "DELETE 1000 object(s)", "DELETE 5 object(s)"],
            );
            for (const d of deletes) assert.equal(d.headers["content-md5"], md5(d.body!).toString("base64"));
            assert.equal(result.deleted, 2004);
            assert.deepEqual(result.failures, [{ key: stale[1500], message: "AccessDenied: Access Denied" }]);
            assert.deepEqual([...bucket.objects.keys()].sort(), ["keep.yaml", stale[1500]].sort());
            assert.equal(calls.filter((c) => c.startsWith("deleted ")).length, 2004);
            assert.ok(calls.includes(`failed ${stale[1500]}: AccessDenied: Access Denied`));
        });
    });

    test("exactly 1,000 stale objects take one DeleteObjects call", async () => {
        await withTree({ "keep.yaml": "k\n" }, async (list) => {
            const bucket = new FakeBucket();
            for (let i = 0; i < 1000; i++) bucket.put(`s/${String(i).padStart(4, "0")}.yaml`, "s\n");
            const { result } = await sync(bucket, list, { deleteRemote: true });
            assert.equal(result.deleted, 1000);
            assert.deepEqual(
                bucket.requests.filter((r) => r.method === "POST").map((r) => r.label),
                ["DELETE 1000 object(s)"],
            );
        });
    });

    test("a per-key refusal without code or message still names the key", async () => {
        await withTree({ "keep.yaml": "k\n" }, async (list) => {
            const bucket = new FakeBucket();
            bucket.put("gone.yaml", "g\n");
            bucket.hook = (req) =>
                "delete" in req.query
                    ? { body: "<DeleteResult><Error><Key>gone.yaml</Key></Error></DeleteResult>" }
                    : undefined;
            const { result } = await sync(bucket, list, { deleteRemote: true });
            assert.deepEqual(result.failures, [{ key: "gone.yaml", message: "Error: delete failed" }]);
            assert.equal(result.deleted, 0);
        });
    });

    test("no deletion after a failed upload: a half-synced tree keeps what it may still need", async () => {
        await withTree({ "a.yaml": "a\n", "b.yaml": "b\n" }, async (list) => {
            const bucket = new FakeBucket();
            bucket.put("stale-1.yaml", "s\n");
            bucket.put("stale-2.yaml", "s\n");
            bucket.hook = (req) => (req.key === "a.yaml" ? new S3Error("InternalError", "boom", 500) : undefined);
            const { result } = await sync(bucket, list, { deleteRemote: true });
            assert.deepEqual(counts(result), {
                uploaded: 1,
                deleted: 0,
                unchanged: 0,
                failed: 1,
                deletesSkipped: 2,
                notDone: 0,
            });
            assert.equal(bucket.count("POST"), 0, "no DeleteObjects call");
            assert.ok(bucket.objects.has("stale-1.yaml") && bucket.objects.has("stale-2.yaml"));
        });
    });

    test("a DeleteObjects call that fails fails each of its keys; a fatal one stops the chunks after it", async () => {
        await withTree({ "a.yaml": "a\n" }, async (list) => {
            const bucket = new FakeBucket();
            for (let i = 0; i < 1500; i++) bucket.put(`s/${String(i).padStart(4, "0")}.yaml`, "s\n");
            bucket.hook = (req) =>
                "delete" in req.query ? new S3Error("AccessDenied", "Access Denied", 403) : undefined;
            const { result } = await sync(bucket, list, { deleteRemote: true });
            assert.equal(result.failures.length, 1000, "every key of the first chunk");
            assert.equal(result.failures[0]?.message, "AccessDenied: Access Denied");
            assert.equal(result.deletesSkipped, 500, "the second chunk never started");
            assert.equal(bucket.count("POST"), 1);
        });
    });

    test("a DeleteObjects call that fails for a non-fatal reason does not stop the next chunk", async () => {
        await withTree({ "a.yaml": "a\n" }, async (list) => {
            const bucket = new FakeBucket();
            for (let i = 0; i < 1500; i++) bucket.put(`s/${String(i).padStart(4, "0")}.yaml`, "s\n");
            let first = true;
            bucket.hook = (req) => {
                if (!("delete" in req.query) || !first) return undefined;
                first = false;
                return new S3Error("InternalError", "boom", 500);
            };
            const { result } = await sync(bucket, list, { deleteRemote: true });
            assert.equal(result.failures.length, 1000);
            assert.equal(result.deleted, 500);
            assert.equal(result.deletesSkipped, 0);
        });
    });

    test("an interrupt during the deletions: the chunks not started are counted as skipped", async () => {
        await withTree({ "a.yaml": "a\n" }, async (list) => {
            const bucket = new FakeBucket();
            for (let i = 0; i < 2500; i++) bucket.put(`s/${String(i).padStart(4, "0")}.yaml`, "s\n");
            const stop = new AbortController();
            bucket.hook = (req) => {
                if ("delete" in req.query) stop.abort();
                return undefined;
            };
            const { result } = await sync(bucket, list, { deleteRemote: true, stop });
            assert.equal(result.deleted, 1000, "the call in flight finished");
            assert.equal(result.deletesSkipped, 1500);
            assert.equal(bucket.count("POST"), 1);
        });
    });

    test("a DeleteObjects call cut off by the interrupt skips its keys; they are not failures", async () => {
        await withTree({ "a.yaml": "a\n" }, async (list) => {
            for (const err of [new StoppedError(), Object.assign(new Error("aborted"), { name: "AbortError" })]) {
                const bucket = new FakeBucket();
                for (let i = 0; i < 3; i++) bucket.put(`s/${i}.yaml`, "s\n");
                bucket.hook = (req) => ("delete" in req.query ? err : undefined);
                const { result } = await sync(bucket, list, { deleteRemote: true });
                assert.equal(result.failures.length, 0, err.name);
                assert.equal(result.deletesSkipped, 3, err.name);
            }
        });
    });

    test("an interrupt before the deletions skips them all", async () => {
        await withTree({ "a.yaml": "a\n" }, async (list) => {
            const bucket = new FakeBucket();
            bucket.put("stale.yaml", "s\n");
            const stop = new AbortController();
            bucket.hook = (req) => {
                if (req.method === "PUT") stop.abort();
                return undefined;
            };
            const { result } = await sync(bucket, list, { deleteRemote: true, stop });
            assert.equal(result.uploaded, 1);
            assert.equal(result.deletesSkipped, 1);
            assert.equal(bucket.count("POST"), 0);
        });
    });
});

describe("upload sync (in process): failures and interrupts", () => {
    const fatal: Array<[string, Error]> = [
        ["NoSuchBucket", new S3Error("NoSuchBucket", "The specified bucket does not exist", 404)],
        ["InvalidAccessKeyId", new S3Error("InvalidAccessKeyId", "no such key", 403)],
        ["SignatureDoesNotMatch", new S3Error("SignatureDoesNotMatch", "bad signature", 403)],
        ["AccessDenied", new S3Error("AccessDenied", "Access Denied", 403)],
        ["ECONNREFUSED", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })],
        ["ENOTFOUND", Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" })],
        ["EAI_AGAIN (as a cause)", Object.assign(new Error("fetch failed"), { cause: { code: "EAI_AGAIN" } })],
        ["an untrusted certificate", Object.assign(new Error("self-signed"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" })],
    ];
    for (const [what, err] of fatal) {
        test(`${what} stops the run after the first object: nothing else is started`, async () => {
            await withTree({ "a.yaml": "a\n", "b.yaml": "b\n", "c.yaml": "c\n" }, async (list) => {
                const bucket = new FakeBucket();
                bucket.put("stale.yaml", "s\n");
                bucket.hook = (req) => (req.method === "PUT" ? err : undefined);
                const stop = new AbortController();
                const { result } = await sync(bucket, list, { concurrency: 1, deleteRemote: true, stop });
                assert.equal(bucket.count("PUT"), 1);
                assert.equal(result.failures.length, 1);
                assert.equal(result.failures[0]?.key, "a.yaml");
                assert.equal(result.notDone, 2);
                assert.equal(result.deletesSkipped, 1);
                assert.equal(stop.signal.aborted, true);
            });
        });
    }

    test("other errors fail only their object: the rest of the tree still goes up", async () => {
        const errors = [
            new S3Error("InternalError", "boom", 500),
            new S3Error("EntityTooLarge", "too large", 400),
            Object.assign(new Error("reset"), { code: "ECONNRESET" }),
            Object.assign(new Error("tls"), { code: "ERR_SSL_WRONG_VERSION_NUMBER" }),
        ];
        const files = Object.fromEntries(errors.map((_, i) => [`e${i}.yaml`, `${i}\n`]));
        await withTree({ ...files, "ok.yaml": "ok\n" }, async (list) => {
            const bucket = new FakeBucket();
            bucket.hook = (req) => {
                const m = /^e(\d)\.yaml$/.exec(req.key ?? "");
                return m ? errors[Number(m[1])] : undefined;
            };
            const stop = new AbortController();
            const { result } = await sync(bucket, list, { concurrency: 1, stop });
            assert.equal(result.failures.length, errors.length);
            assert.equal(result.uploaded, 1);
            assert.equal(stop.signal.aborted, false);
        });
    });

    test("a request cut off by the hard abort is listed as cut off, not failed; one not started is not done", async () => {
        await withTree({ "a.yaml": "a\n", "b.yaml": "b\n", "c.yaml": "c\n" }, async (list) => {
            const bucket = new FakeBucket();
            const stop = new AbortController();
            bucket.hook = (req) => {
                if (req.key === "a.yaml") {
                    stop.abort();
                    return Object.assign(new Error("the request was aborted"), { name: "AbortError" });
                }
                return undefined;
            };
            const { result, calls } = await sync(bucket, list, { concurrency: 1, stop });
            assert.deepEqual(result.cutOff, ["a.yaml"]);
            assert.deepEqual(result.failures, []);
            assert.equal(result.notDone, 3);
            assert.equal(bucket.count("PUT"), 1);
            assert.ok(!calls.some((c) => c.startsWith("failed")), calls.join("\n"));
        });
    });

    test("a retry refused after the interrupt (StoppedError) is neither a failure nor cut off", async () => {
        await withTree({ "a.yaml": "a\n", "b.yaml": "b\n" }, async (list) => {
            const bucket = new FakeBucket();
            const stop = new AbortController();
            bucket.hook = (req) => {
                if (req.key !== "a.yaml") return undefined;
                stop.abort();
                return new StoppedError();
            };
            const { result } = await sync(bucket, list, { concurrency: 1, stop });
            assert.deepEqual(result.cutOff, []);
            assert.deepEqual(result.failures, []);
            assert.equal(result.notDone, 2);
        });
    });

    test("an interrupt between the batches: no kustomization file goes up after it", async () => {
        await withTree({ "a.yaml": "a\n", "kustomization.yaml": "k\n" }, async (list) => {
            const bucket = new FakeBucket();
            const stop = new AbortController();
            bucket.hook = (req) => {
                if (req.key === "a.yaml") stop.abort();
                return undefined;
            };
            const { result } = await sync(bucket, list, { concurrency: 1, stop });
            assert.equal(result.uploaded, 1);
            assert.equal(result.notDone, 1);
            assert.ok(!bucket.objects.has("kustomization.yaml"));
        });
    });

    test("an interrupt during a multipart upload: no part starts after it, the upload is aborted, not a failure", async () => {
        const sizes = { multipartThreshold: 8, partSize: 4 };
        await withTree({ "big.json": pattern(4 * 20, 2) }, async (list) => {
            const bucket = new FakeBucket();
            const stop = new AbortController();
            let abortedAt = -1;
            bucket.hook = (req) => {
                if (req.query.partNumber === "2") {
                    stop.abort();
                    abortedAt = bucket.requests.length;
                }
                return undefined;
            };
            const { result } = await sync(bucket, list, { sizes, stop });
            assert.deepEqual(result.failures, []);
            assert.equal(result.uploaded, 0);
            assert.equal(result.notDone, 1);
            // the other three part workers may still send the part they took (and were reading)
            // before the interrupt; none takes another
            const after = bucket.requests.slice(abortedAt).filter((r) => r.method === "PUT");
            assert.ok(after.length <= 3, after.map((r) => r.label).join(", "));
            assert.ok(bucket.count("PUT") <= 8, `${bucket.count("PUT")} of 20 parts sent`);
            assert.equal(
                bucket.count("POST", (r) => r.query.uploadId !== undefined),
                0,
                "not completed",
            );
            assert.equal(bucket.count("DELETE"), 1, "aborted");
            assert.equal(bucket.uploads.size, 0);
            assert.ok(!bucket.objects.has("big.json"));
        });
    });

    test("an interrupt before a multipart upload's parts: it is aborted without sending any", async () => {
        const sizes = { multipartThreshold: 8, partSize: 4 };
        await withTree({ "big.json": pattern(40, 2) }, async (list) => {
            const bucket = new FakeBucket();
            const stop = new AbortController();
            bucket.hook = (req) => {
                if ("uploads" in req.query && req.key !== undefined) stop.abort();
                return undefined;
            };
            const { result } = await sync(bucket, list, { sizes, stop });
            assert.deepEqual(result.failures, []);
            assert.equal(bucket.count("PUT"), 0);
            assert.equal(bucket.count("DELETE"), 1);
        });
    });

    test("every call of a sync is named for the progress line and stops retrying at the interrupt; the clean-up abort has its own signal", async () => {
        const sizes = { multipartThreshold: 8, partSize: 4 };
        await withTree({ "big.json": pattern(10, 1), "small.yaml": "s\n" }, async (list) => {
            const bucket = new FakeBucket();
            bucket.put("stale.yaml", "x\n");
            const stop = new AbortController();
            await sync(bucket, list, { sizes, stop, deleteRemote: true, concurrency: 1 });
            const old = bucket.startUpload("old.json", new Date("2026-12-01T00:00:00Z"));
            await abortStaleUploads({
                send: bucket.send,
                prefix: "",
                before: new Date(),
                dryRun: false,
                stop: stop.signal,
                describe: describeErr,
            });
            // a multipart upload's parts go out concurrently: their order among themselves is the
            // order their reads finish, so they are compared in part order
            const calls = bucket.requests.map((r) => [r.label, r.options?.stop === stop.signal] as const);
            const parts = calls.filter(([label]) => label.startsWith("PUT big.json part "));
            const first = calls.findIndex(([label]) => label.startsWith("PUT big.json part "));
            calls.splice(first, parts.length, ...[...parts].sort(([a], [b]) => a.localeCompare(b)));
            assert.deepEqual(calls, [
                ["LIST page 1", false],
                ["CREATE UPLOAD big.json", true],
                ["PUT big.json part 1/3", true],
                ["PUT big.json part 2/3", true],
                ["PUT big.json part 3/3", true],
                ["COMPLETE big.json", true],
                ["PUT small.yaml", true],
                ["DELETE 1 object(s)", true],
                ["LIST UPLOADS page 1", true],
                ["ABORT old.json", false],
            ]);
            assert.ok(!bucket.uploads.has(old));
            const listed = new FakeBucket();
            await listRemote(listed.send, "", stop.signal);
            assert.equal(listed.requests[0]?.options?.stop, stop.signal);
        });
    });

    test("digestAll closes every file it opens", async () => {
        const files = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}.yaml`, `n: ${i}\n`]));
        await withTree(files, async (list) => {
            const open = () => readdirSync("/proc/self/fd").length;
            const before = open();
            await digestAll(list, { worker: false });
            assert.equal(open(), before);
        });
    });

    test("a finished multipart upload leaves no listener on the run's stop signal", async () => {
        const sizes = { multipartThreshold: 8, partSize: 4 };
        await withTree({ "a.json": pattern(30, 1), "b.json": pattern(9, 2) }, async (list) => {
            const bucket = new FakeBucket();
            const stop = new AbortController();
            const { result } = await sync(bucket, list, { sizes, stop });
            assert.equal(result.uploaded, 2);
            assert.equal(getEventListeners(stop.signal, "abort").length, 0);
        });
    });

    test("32 multipart uploads in flight at once do not trip Node's listener-leak warning", async () => {
        const sizes = { multipartThreshold: 4, partSize: 1 };
        const files = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`f${i}.json`, `{"n":${i}}`]));
        await withTree(files, async (list) => {
            const warnings: string[] = [];
            const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
            process.on("warning", onWarning);
            try {
                const bucket = new FakeBucket();
                // every request waits while listening to the stop signal, as a request waiting for its retry does
                bucket.hook = async (req) => {
                    const stop = req.options?.stop;
                    const listener = () => undefined;
                    stop?.addEventListener("abort", listener);
                    await new Promise((r) => setTimeout(r, 5));
                    stop?.removeEventListener("abort", listener);
                    return undefined;
                };
                const { result } = await sync(bucket, list, { sizes, concurrency: 32 });
                assert.equal(result.uploaded, 32);
                await new Promise((r) => setImmediate(r));
                assert.deepEqual(warnings, []);
            } finally {
                process.off("warning", onWarning);
            }
        });
    });
});

describe("upload sync (in process): listing", () => {
    test("a listing of several pages follows the continuation tokens and reads every key's ETag and size", async () => {
        const bucket = new FakeBucket();
        bucket.listPageSize = 7;
        const want = new Map<string, RemoteObject>();
        for (let i = 0; i < 20; i++) {
            const key = `p/${String(i).padStart(2, "0")} & <${i}>.yaml`;
            const body = "x".repeat(i);
            bucket.put(key, body);
            want.set(key, { etag: `"${md5hex(body)}"`, size: i });
        }
        bucket.put("q/outside.yaml", "o");
        const got = await listRemote(bucket.send, "p/");
        assert.deepEqual(new Map([...got].sort()), new Map([...want].sort()));
        assert.deepEqual(
            bucket.requests.map((r) => [r.label, r.query.prefix, r.query["continuation-token"]]),
            [
                ["LIST page 1", "p/", undefined],
                ["LIST page 2", "p/", "p/07 & <7>.yaml"],
                ["LIST page 3", "p/", "p/14 & <14>.yaml"],
            ],
        );
    });

    test("a truncated page without a continuation token ends the listing", async () => {
        const bucket = new FakeBucket();
        bucket.hook = () => ({
            body: "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a</Key><Size>1</Size></Contents></ListBucketResult>",
        });
        const got = await listRemote(bucket.send, "");
        assert.deepEqual([...got.keys()], ["a"]);
        assert.equal(bucket.requests.length, 1);
    });

    test("a stopped run lists nothing", async () => {
        const stopped = new AbortController();
        stopped.abort();
        const none = new FakeBucket();
        await assert.rejects(listRemote(none.send, "", stopped.signal), StoppedError);
        assert.equal(none.requests.length, 0);
    });
});

describe("upload sync (in process): incomplete multipart uploads of earlier runs", () => {
    const before = new Date("2026-12-07T03:00:00Z");

    test("those under the prefix started before this run are aborted, across pages; newer ones and others stay", async () => {
        const bucket = new FakeBucket();
        bucket.uploadsPageSize = 2;
        const old = [
            bucket.startUpload("p/a.json", new Date("2026-12-06T00:00:00Z")),
            bucket.startUpload("p/b.json", before), // started at the same millisecond: earlier
            bucket.startUpload("p/c.json", new Date("2026-12-01T00:00:00Z")),
            bucket.startUpload("p/d.json", new Date("2026-11-01T00:00:00Z")),
        ];
        const newer = bucket.startUpload("p/now.json", new Date(before.getTime() + 1));
        const outside = bucket.startUpload("q/x.json", new Date("2026-12-01T00:00:00Z"));
        const r = await abortStaleUploads({
            send: bucket.send,
            prefix: "p/",
            before,
            dryRun: false,
            describe: describeErr,
        });
        assert.equal(r.supported, true);
        assert.equal(r.aborted, 4);
        assert.deepEqual(r.failed, []);
        assert.deepEqual(r.found.map((f) => f.key).sort(), ["p/a.json", "p/b.json", "p/c.json", "p/d.json"]);
        assert.deepEqual(r.found.find((f) => f.key === "p/c.json")?.initiated, new Date("2026-12-01T00:00:00Z"));
        for (const id of old) assert.ok(!bucket.uploads.has(id), id);
        assert.ok(bucket.uploads.has(newer) && bucket.uploads.has(outside));
        const lists = bucket.requests.filter((x) => x.method === "GET");
        assert.deepEqual(
            lists.map((l) => l.label),
            ["LIST UPLOADS page 1", "LIST UPLOADS page 2", "LIST UPLOADS page 3"],
        );
        assert.equal(lists[1]?.query["key-marker"], "p/b.json");
        assert.equal(lists[1]?.query["upload-id-marker"], old[1]);
        assert.equal(lists[0]?.query.prefix, "p/");
    });

    test("a listing that names an upload outside the prefix does not get it aborted", async () => {
        const bucket = new FakeBucket();
        const id = bucket.startUpload("elsewhere/x.json", new Date("2026-12-01T00:00:00Z"));
        bucket.hook = (req) =>
            req.method === "GET"
                ? {
                      body: `<ListMultipartUploadsResult><IsTruncated>false</IsTruncated><Upload><Key>elsewhere/x.json</Key><UploadId>${id}</UploadId><Initiated>2026-12-01T00:00:00.000Z</Initiated></Upload></ListMultipartUploadsResult>`,
                  }
                : undefined;
        const r = await abortStaleUploads({
            send: bucket.send,
            prefix: "p/",
            before,
            dryRun: false,
            describe: describeErr,
        });
        assert.deepEqual(r.found, []);
        assert.equal(bucket.count("DELETE"), 0);
    });

    test("an upload without an Initiated date is taken as stale", async () => {
        const bucket = new FakeBucket();
        bucket.hook = (req) =>
            req.method === "GET"
                ? {
                      body: "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated><Upload><Key>a.json</Key><UploadId>u1</UploadId></Upload></ListMultipartUploadsResult>",
                  }
                : { status: 204 };
        const r = await abortStaleUploads({
            send: bucket.send,
            prefix: "",
            before,
            dryRun: false,
            describe: describeErr,
        });
        assert.deepEqual(r.found, [{ key: "a.json", initiated: undefined }]);
        assert.equal(r.aborted, 1);
    });

    test("--dry-run only lists them", async () => {
        const bucket = new FakeBucket();
        const id = bucket.startUpload("a.json", new Date("2026-12-01T00:00:00Z"));
        const r = await abortStaleUploads({
            send: bucket.send,
            prefix: "",
            before,
            dryRun: true,
            describe: describeErr,
        });
        assert.deepEqual(
            r.found.map((f) => f.key),
            ["a.json"],
        );
        assert.equal(r.aborted, 0);
        assert.ok(bucket.uploads.has(id));
        assert.equal(bucket.count("DELETE"), 0);
    });

    test("an abort that fails is reported with its upload id; a stopped run aborts no more", async () => {
        const bucket = new FakeBucket();
        const a = bucket.startUpload("a.json", new Date("2026-12-01T00:00:00Z"));
        bucket.startUpload("b.json", new Date("2026-12-01T00:00:00Z"));
        bucket.hook = (req) =>
            req.method === "DELETE" && req.query.uploadId === a ? new S3Error("InternalError", "x", 500) : undefined;
        const r = await abortStaleUploads({
            send: bucket.send,
            prefix: "",
            before,
            dryRun: false,
            describe: describeErr,
        });
        assert.deepEqual(r.failed, [{ key: "a.json", message: `could not abort upload ${a}` }]);
        assert.equal(r.aborted, 1);

        const again = new FakeBucket();
        again.startUpload("a.json", new Date("2026-12-01T00:00:00Z"));
        const stop = new AbortController();
        again.hook = (req) => {
            if (req.method === "GET") stop.abort();
            return undefined;
        };
        const s = await abortStaleUploads({
            send: again.send,
            prefix: "",
            before,
            dryRun: false,
            stop: stop.signal,
            describe: describeErr,
        });
        assert.equal(s.found.length, 1);
        assert.equal(s.aborted, 0);
        assert.equal(again.count("DELETE"), 0);
    });

    test("a server that cannot list them (s3rver's 501) is noted, not fatal; an interrupt is passed on", async () => {
        const bucket = new FakeBucket();
        bucket.hook = () =>
            new S3Error("NotImplemented", "A header you provided implies functionality that is not implemented", 501);
        const r = await abortStaleUploads({
            send: bucket.send,
            prefix: "",
            before,
            dryRun: false,
            describe: describeErr,
        });
        assert.deepEqual(r, {
            supported: false,
            reason: "NotImplemented: A header you provided implies functionality that is not implemented",
            found: [],
            aborted: 0,
            failed: [],
        });
        for (const err of [new StoppedError(), Object.assign(new Error("aborted"), { name: "AbortError" })]) {
            const b = new FakeBucket();
            b.hook = () => err;
            await assert.rejects(
                abortStaleUploads({ send: b.send, prefix: "", before, dryRun: false, describe: describeErr }),
                (e: Error) => e === err,
            );
        }
    });

    test("a truncated page without markers ends the listing", async () => {
        const bucket = new FakeBucket();
        bucket.hook = () => ({
            body: "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated></ListMultipartUploadsResult>",
        });
        await abortStaleUploads({ send: bucket.send, prefix: "", before, dryRun: true, describe: describeErr });
        assert.equal(bucket.requests.length, 1);
    });
});

// a file's bytes changed between the hashing and the upload: what is sent is what is checked
test("upload sync (in process): the Content-MD5 is of the bytes sent, even if the file changed after hashing", async () => {
    await withTree({ "a.yaml": "before\n" }, async (list) => {
        const bucket = new FakeBucket();
        const { digests } = await digestAll(list, { worker: false });
        await writeFile(list[0]!.abs, "after!\n");
        const plan = await planSync({
            files: list,
            digests,
            remote: new Map(),
            prefix: "",
            deleteRemote: false,
            isIgnored: () => false,
        });
        const rec = recorder();
        const result = await executePlan({
            send: bucket.send,
            plan,
            concurrency: 1,
            reporter: rec.reporter,
            stop: new AbortController(),
            describe: describeErr,
        });
        assert.equal(result.uploaded, 1);
        assert.equal(bucket.objects.get("a.yaml")?.body.toString(), "after!\n");
    });
});

// last in the file: the slowest test (20,000 calls), run only for mutants nothing above kills
describe("upload sync (in process): the listing loops end", () => {
    test("a multipart-upload listing that never ends (either marker) is cut at 10,000 pages", async () => {
        const before = new Date("2026-12-07T03:00:00Z");
        for (const next of [{ nextKeyMarker: "k" }, { nextUploadIdMarker: "u" }]) {
            let calls = 0;
            const endless = (async () => {
                calls++;
                return { uploads: [], isTruncated: true, ...next };
            }) as unknown as FakeBucket["send"];
            const r = await abortStaleUploads({
                send: endless,
                prefix: "",
                before,
                dryRun: true,
                describe: describeErr,
            });
            assert.equal(r.supported, true);
            assert.equal(calls, 10_000, JSON.stringify(next));
        }
    });
});
