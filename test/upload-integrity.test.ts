// The upload tool's guarantees against a real S3 server (s3rver on 127.0.0.1), provoked:
// both post-upload ETag checks against a server that lies about what it stored, file sizes
// between the small fixtures and the multipart threshold, multipart objects of 10 and more
// parts, and deletion with --prefix and --delete next to objects the ignore rules protect.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import type http from "node:http";
import { describe, test } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { mayHoldSecret } from "../tools/sops/guard";
import { type RunDeps, runUpload } from "../tools/upload/cli";
import { captureIo, makeTree, s3Env, stackReader, startProxy, useLocalS3 } from "./helpers-s3";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

// s3rver: the ETag checks run against a real server's replies (its whole-object MD5 for a
// multipart upload is one of the forms checked) and the bytes it stored are read back
const local = useLocalS3("integrity");
const MiB = 1024 * 1024;

async function run(src: string, bucket: string, endpoint: string, args: string[] = [], deps: RunDeps = {}) {
    const cap = captureIo();
    const code = await runUpload(
        ["--no-trigger", "--source", src, "--bucket", bucket, "--endpoint", endpoint, ...args],
        {
            env: s3Env(),
            io: cap.io,
            readStackOutputs: stackReader().read,
            retry: { baseMs: 1, throttleBaseMs: 2, capMs: 20 },
            ...deps,
        },
    );
    return { code, ...cap };
}

const md5 = (b: Buffer | string) => createHash("md5").update(b).digest();
const md5hex = (b: Buffer | string) => md5(b).toString("hex");

/**
 * Bytes that differ in every 4 KiB block, so a torn or misplaced part changes the digest: each
 * block starts with its number (24 bits, mixed with the seed) in four bytes of 6 bits each. No
 * byte is above 0x3f, so the bytes never hold the plaintext-Secret guard's needles (a backslash,
 * "Secret"): the guard parses a file of 1 MiB or more as YAML only when its text holds one, and
 * YAML-parsing megabytes of binary (what the former bytes, with any value in them, cost: about
 * 2 s of CPU per run over these files) is not what these tests check (upload-digest's are).
 */
function body(size: number, seed: number): Buffer {
    const b = Buffer.alloc(size, seed & 0x3f);
    const mix = (Math.imul(seed, 0x9e3779b1) >>> 8) & 0xffffff;
    for (let i = 0; i + 4 <= size; i += 4096) {
        const n = ((i >>> 12) ^ mix) & 0xffffff;
        for (let k = 0; k < 4; k++) b[i + k] = (n >>> (6 * k)) & 0x3f;
    }
    assert.ok(!mayHoldSecret(b), "the bytes hold none of the guard's needles");
    return b;
}

const isComplete = (req: http.IncomingMessage) => req.method === "POST" && /[?&]uploadId=/.test(req.url ?? "");
const partNumber = (url: string) => Number(/[?&]partNumber=(\d+)/.exec(url)?.[1]);

describe("upload: the stored object is checked against what was sent", () => {
    test("single PUT: a server that answers with another body's ETag fails the upload of that object", async () => {
        const bucket = await local.freshBucket();
        const src = await makeTree({ "apps/lie.yaml": "sent: 1\n", "apps/true.yaml": "t: 1\n" });
        const other = md5hex("what the server says it stored\n");
        const proxy = await startProxy(local.s3().port, {
            etag: (req) => (req.method === "PUT" && req.url?.includes("lie.yaml") ? `"${other}"` : undefined),
        });
        try {
            const r = await run(src, bucket, proxy.endpoint);
            assert.equal(r.code, 1, r.all());
            assert.match(r.all(), /apps\/lie\.yaml/);
            assert.match(
                r.all(),
                new RegExp(`ETag "${other}" does not match the MD5 of the upload \\(${md5hex("sent: 1\n")}\\)`),
            );
            assert.equal(r.lastOut(), "uploaded 1, deleted 0, unchanged 0, failed 1");
        } finally {
            await proxy.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("multipart (11 parts): the completion's ETag is checked, in AWS's form and in s3rver's", async () => {
        const sizes = { multipartThreshold: 1 * MiB, partSize: 256 * 1024 };
        const big = body(2 * MiB + 512 * 1024 + 1, 7); // 2.5 MiB + 1 byte: 11 parts of 256 KiB
        const src = await makeTree({ "data/big.json": big });
        // AWS S3's multipart ETag, computed here from the parts the server received: the MD5 of
        // the concatenated binary MD5s of the parts in part-number order, then "-<part count>".
        let seen: Awaited<ReturnType<typeof startProxy>>["seen"] = [];
        const awsEtag = () => {
            const parts = seen
                .filter((x) => x.method === "PUT" && /[?&]partNumber=/.test(x.url) && !x.failedWith)
                .sort((a, b) => partNumber(a.url) - partNumber(b.url));
            const digests = parts.map((p) => Buffer.from(p.bodyMd5!, "base64"));
            return `"${md5hex(Buffer.concat(digests))}-${parts.length}"`;
        };
        const cases: Array<{ what: string; etag: () => string; ok: boolean }> = [
            { what: "AWS's multipart ETag of the parts", etag: awsEtag, ok: true },
            { what: "the whole object's MD5 (as s3rver reports it)", etag: () => `"${md5hex(big)}"`, ok: true },
            {
                what: "a multipart ETag of other parts",
                etag: () => `"${md5hex(Buffer.concat([md5("a"), md5("b")]))}-11"`,
                ok: false,
            },
            { what: "another object's MD5", etag: () => `"${md5hex("other")}"`, ok: false },
            {
                what: "the parts' ETag with another part count",
                etag: () => awsEtag().replace(/-11"$/, '-12"'),
                ok: false,
            },
        ];
        try {
            for (const c of cases) {
                const bucket = await local.freshBucket();
                const proxy = await startProxy(local.s3().port, {
                    etag: (req) => (isComplete(req) ? c.etag() : undefined),
                });
                seen = proxy.seen;
                try {
                    const r = await run(src, bucket, proxy.endpoint, [], { sizes });
                    const parts = proxy.seen.filter((x) => x.method === "PUT" && /[?&]partNumber=/.test(x.url));
                    assert.equal(parts.length, 11, c.what);
                    for (const p of parts) assert.equal(p.contentMd5, p.bodyMd5, `${c.what}: part ${p.url}`);
                    if (c.ok) {
                        assert.equal(r.code, 0, `${c.what}: ${r.all()}`);
                        assert.equal(r.lastOut(), "uploaded 1, deleted 0, unchanged 0");
                        const stored = (await local.s3().objects(bucket)).get("data/big.json")!;
                        assert.equal(md5hex(stored), md5hex(big), c.what);
                    } else {
                        assert.equal(r.code, 1, `${c.what}: ${r.all()}`);
                        assert.match(r.all(), /data\/big\.json/);
                        assert.match(r.all(), /multipart ETag .* does not match the local content/, c.what);
                    }
                } finally {
                    await proxy.close();
                }
            }
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload: sizes between the fixtures and the multipart threshold", () => {
    test("1 MiB to 16 MiB go up in one PUT each (Content-MD5 of the body), 16 MiB + 1 byte multipart; all compare unchanged after", async () => {
        const bucket = await local.freshBucket();
        const files: Record<string, Buffer> = {
            "blobs/1mib-1.json": body(MiB - 1, 1),
            "blobs/1mib.json": body(MiB, 2),
            "blobs/1mib+1.json": body(MiB + 1, 3),
            "blobs/4mib+1.json": body(4 * MiB + 1, 4),
            "blobs/16mib.json": body(16 * MiB, 5),
            "blobs/16mib+1.json": body(16 * MiB + 1, 6),
        };
        const src = await makeTree(files);
        const proxy = await startProxy(local.s3().port);
        try {
            const r = await run(src, bucket, proxy.endpoint, ["--concurrency", "2"]);
            assert.equal(r.code, 0, r.all());
            assert.equal(r.lastOut(), "uploaded 6, deleted 0, unchanged 0");
            const single = proxy.seen.filter((x) => x.method === "PUT" && !/[?&]partNumber=/.test(x.url));
            assert.deepEqual(
                single.map((x) => decodeURIComponent(x.url.split("?")[0]!.split("/").slice(2).join("/"))).sort(),
                Object.keys(files)
                    .filter((k) => k !== "blobs/16mib+1.json")
                    .sort(),
                "everything up to 16 MiB in one PUT",
            );
            for (const p of single) assert.equal(p.contentMd5, p.bodyMd5, p.url);
            const parts = proxy.seen.filter((x) => x.method === "PUT" && /[?&]partNumber=/.test(x.url));
            assert.equal(parts.length, 3, "16 MiB + 1 byte in 8 MiB parts: 3 parts");
            const stored = await local.s3().objects(bucket);
            for (const [k, v] of Object.entries(files)) assert.equal(md5hex(stored.get(k)!), md5hex(v), k);

            local.s3().reset();
            const again = await run(src, bucket, local.s3().endpoint);
            assert.equal(again.lastOut(), "uploaded 0, deleted 0, unchanged 6");
            assert.equal(local.s3().count("PUT"), 0);
        } finally {
            await proxy.close();
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload: --prefix with --delete", () => {
    test("deletes only stale objects under the prefix; ignored ones (.sourceignore and built-in rules) and everything outside stay", async () => {
        const bucket = await local.freshBucket();
        const src = await makeTree({
            ".sourceignore": "drafts/\n*.md\n",
            "app.yaml": "a: 2\n",
        });
        const remote: Record<string, string> = {
            "team/app.yaml": "a: 1\n", // changed: uploaded again
            "team/old.yaml": "o: 1\n", // stale under the prefix: deleted
            "team/sub/old.yaml": "s: 1\n", // stale, deeper: deleted
            "team/drafts/wip.yaml": "w: 1\n", // ignored by .sourceignore (drafts/)
            "team/NOTES.md": "n\n", // ignored by .sourceignore (*.md)
            "team/.git/config": "[core]\n", // ignored by the built-in rules
            "other/old.yaml": "x: 1\n", // outside the prefix
            "teamwork/old.yaml": "y: 1\n", // outside: shares the prefix's letters, not its folder
            "old.yaml": "z: 1\n", // the bucket's root
        };
        for (const [Key, Body] of Object.entries(remote))
            await local.s3().client.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
        try {
            const r = await run(src, bucket, local.s3().endpoint, ["--prefix", "team", "--delete"]);
            assert.equal(r.code, 0, r.all());
            assert.equal(r.lastOut(), "uploaded 2, deleted 2, unchanged 0");
            const after = await local.s3().objects(bucket);
            assert.deepEqual([...after.keys()].sort(), [
                "old.yaml",
                "other/old.yaml",
                "team/.git/config",
                "team/.sourceignore",
                "team/NOTES.md",
                "team/app.yaml",
                "team/drafts/wip.yaml",
                "teamwork/old.yaml",
            ]);
            assert.equal(after.get("team/app.yaml")!.toString(), "a: 2\n");
            for (const k of ["team/drafts/wip.yaml", "team/NOTES.md", "team/.git/config", "other/old.yaml"])
                assert.equal(after.get(k)!.toString(), remote[k], `${k} untouched`);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });
});
