// Pure pieces of the sync tool: ETags, ignore rules, signing, redaction.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { ListMultipartUploadsCommand, S3Client } from "@aws-sdk/client-s3";
import { digestFile, multipartEtag, parseEtag, partCount } from "../tools/upload/etag";
import { scanSource } from "../tools/upload/files";
import { redactUrl, signature } from "../tools/upload/receiver";
import { classify } from "../tools/upload/retry";
import { digestAll, normalisePrefix, planSync, type RemoteObject, sameContent } from "../tools/upload/sync";
import { makeTree } from "./helpers-s3";

const md5hex = (b: Buffer) => createHash("md5").update(b).digest("hex");

/** The multipart ETag computed independently of the tool: md5 of the concatenated binary part MD5s, "-N". */
function referenceMultipartEtag(body: Buffer, partSize: number): string {
    const digests: Buffer[] = [];
    for (let off = 0; off < body.length; off += partSize)
        digests.push(
            createHash("md5")
                .update(body.subarray(off, off + partSize))
                .digest(),
        );
    return `${createHash("md5").update(Buffer.concat(digests)).digest("hex")}-${digests.length}`;
}

describe("upload: ETags", () => {
    test("parseEtag handles quoted, multipart and foreign ETags", () => {
        assert.deepEqual(parseEtag('"D41D8CD98F00B204E9800998ECF8427E"'), { hex: "d41d8cd98f00b204e9800998ecf8427e" });
        assert.deepEqual(parseEtag('"9b2cf535f27731c974343645a3985328-3"'), {
            hex: "9b2cf535f27731c974343645a3985328",
            parts: 3,
        });
        assert.equal(parseEtag('W/"abc"'), undefined);
        assert.equal(parseEtag(undefined), undefined);
    });

    test("multipart ETags match an independent computation and drive the comparison", async () => {
        const partSize = 1024;
        const body = Buffer.alloc(3 * partSize + 17);
        for (let i = 0; i < body.length; i++) body[i] = (i * 31) % 251;
        const src = await makeTree({ "big.json": body });
        try {
            const file = { rel: "big.json", abs: path.join(src, "big.json"), size: body.length };
            const expected = referenceMultipartEtag(body, partSize);
            assert.equal(await multipartEtag(file.abs, partSize), expected);
            assert.equal(partCount(body.length, partSize), 4);
            const digest = await digestFile(file.abs, file.size);
            assert.equal(digest.md5Hex, md5hex(body));

            const remote = (etag: string, size = body.length): RemoteObject => ({ etag: `"${etag}"`, size });
            assert.equal(await sameContent(file, digest, remote(expected), partSize), true, "same multipart ETag");
            assert.equal(
                await sameContent(file, digest, remote(md5hex(body)), partSize),
                true,
                "plain ETag of the same body",
            );
            const other = Buffer.from(body);
            other[5000 % other.length] ^= 1;
            assert.equal(
                await sameContent(file, digest, remote(referenceMultipartEtag(other, partSize)), partSize),
                false,
                "one byte differs",
            );
            assert.equal(
                await sameContent(file, digest, remote(referenceMultipartEtag(body, 2048)), partSize),
                false,
                "other part size",
            );
            assert.equal(
                await sameContent(file, digest, remote(expected, body.length + 1), partSize),
                false,
                "size differs",
            );
            assert.equal(await sameContent(file, digest, { etag: "garbage", size: body.length }, partSize), false);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload: hashing", () => {
    test("digestAll hashes every file exactly and keeps no file body (memory bounded, not by the tree)", async () => {
        const files: Record<string, Buffer> = {};
        for (let i = 0; i < 400; i++) files[`d/f-${i}.json`] = Buffer.alloc(128 * 1024, i % 251);
        files["big.json"] = Buffer.alloc(5 * 1024 * 1024 + 3, 7); // streamed
        files["empty.yaml"] = Buffer.alloc(0);
        const src = await makeTree(files);
        try {
            const list = Object.entries(files).map(([rel, body]) => ({
                rel,
                abs: path.join(src, rel),
                size: body.length,
            }));
            const before = process.memoryUsage().arrayBuffers;
            const result = await digestAll(list);
            const grown = process.memoryUsage().arrayBuffers - before;
            // 50 MiB of files went through; what is still held must not grow with them
            assert.ok(grown < 16 * 1024 * 1024, `array buffers grew by ${(grown / 1048576).toFixed(1)} MiB`);
            for (const [rel, body] of Object.entries(files))
                assert.equal(result.digests.get(rel)?.md5Hex, md5hex(body), rel);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload: ignore rules", () => {
    test("defaults keep manifests only; .sourceignore adds and re-includes", async () => {
        const src = await makeTree({
            ".sourceignore": "secret/\n*.draft.yaml\n!LICENSE\n",
            "a.yaml": "",
            "b.yml": "",
            "c.json": "",
            "d/Kustomization": "",
            "d/x.draft.yaml": "",
            "secret/s.yaml": "",
            LICENSE: "",
            "notes.md": "",
            ".env": "",
            ".dir/x.yaml": "",
            "e/.sourceignore": "",
        });
        try {
            const scan = await scanSource(src);
            assert.deepEqual(
                scan.files.map((f) => f.rel),
                [".sourceignore", "LICENSE", "a.yaml", "b.yml", "c.json", "d/Kustomization"],
            );
            assert.equal(scan.ignored, 6);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("planSync never deletes ignored, folder-marker or out-of-prefix keys", async () => {
        const plan = await planSync({
            files: [],
            digests: new Map(),
            remote: new Map<string, RemoteObject>([
                ["p/gone.yaml", { size: 1 }],
                ["p/README.md", { size: 1 }],
                ["p/dir/", { size: 0 }],
                ["other/x.yaml", { size: 1 }],
            ]),
            prefix: "p/",
            deleteRemote: true,
            isIgnored: (rel) => rel.endsWith(".md"),
        });
        assert.deepEqual(plan.deletes, ["p/gone.yaml"]);
    });

    test("prefixes are normalised; a leading /, . or .. segments and empty segments are refused", () => {
        assert.equal(normalisePrefix(undefined), "");
        assert.equal(normalisePrefix(""), "");
        assert.equal(normalisePrefix("a/b"), "a/b/");
        assert.equal(normalisePrefix("a/b//"), "a/b/");
        for (const bad of ["/", "/a/b", "../x", "a/../b", "a/..", "./a", "a//b", "a\\b"])
            assert.throws(() => normalisePrefix(bad), /prefix .* give a relative key prefix/, bad);
    });
});

describe("upload: receiver helpers", () => {
    test("signature is sha256=<hex HMAC-SHA256 of the body keyed with the token> (RFC 4231 test case 2)", () => {
        assert.equal(
            signature("what do ya want for nothing?", "Jefe"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        );
    });

    test("redactUrl hides the hook path and query strings", () => {
        const hash = "a".repeat(64);
        assert.equal(
            redactUrl(`https://flux-webhook.example.com/hook/${hash}`),
            "https://flux-webhook.example.com/hook/<redacted>",
        );
        assert.equal(
            redactUrl(`https://u:p@h.example.com:8443/x/${hash}?t=1`),
            "https://h.example.com:8443/x/<redacted>?<redacted>",
        );
        assert.equal(redactUrl("not a url"), "<invalid URL>");
    });
});

describe("upload: the precompiled entry point", () => {
    // run.cjs / build.cjs are plain CommonJS (no compilation at run time)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const builder = require("../tools/upload/build.cjs") as {
        BUNDLE: string;
        isFresh(): boolean;
        cacheFile(code: string): string | undefined;
        compile(code: string, cachedData?: Buffer): { cachedDataRejected?: boolean };
        applyV8Flags(): void;
    };

    test("run.cjs builds bin/upload.cjs when needed, and V8 accepts the bundle's code cache", () => {
        const root = path.resolve(__dirname, "..");
        const r = spawnSync(process.execPath, ["tools/upload/run.cjs", "--help"], { cwd: root, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^usage: npm run upload -- /);
        assert.equal(r.stderr, "", "no fallback to running from source");
        assert.ok(builder.isFresh(), "the bundle is newer than its sources");
        const code = readFileSync(builder.BUNDLE, "utf8");
        // run.cjs loads the bundle with vm.Script, which has no loader for import():
        // the build turns every dynamic import into require()
        // (JSDoc type annotations such as {import('net').Socket} in undici are comments, not calls)
        assert.doesNotMatch(code.replace(/\/\*\*[\s\S]*?\*\//g, ""), /\bimport\(/);
        const cache = builder.cacheFile(code);
        assert.ok(cache, "the bundle names its code cache");
        // with the same V8 settings as run.cjs; a rejected cache would silently cost every start its compile
        builder.applyV8Flags();
        assert.equal(builder.compile(code, readFileSync(cache)).cachedDataRejected, false);
    });
});

describe("upload: retry verdicts", () => {
    test("a 501 Not Implemented reply (s3rver's answer to ListMultipartUploads) is final, not retried", async () => {
        const S3rver = require("s3rver") as new (
            o: Record<string, unknown>,
        ) => { run(): Promise<{ port: number }>; close(): Promise<void> };
        const dir = await mkdtemp(path.join(os.tmpdir(), "s3rver-501-"));
        const server = new S3rver({
            address: "127.0.0.1",
            port: 0,
            directory: dir,
            silent: true,
            configureBuckets: [{ name: "b" }],
        });
        const { port } = await server.run();
        const client = new S3Client({
            endpoint: `http://127.0.0.1:${port}`,
            region: "us-east-1",
            forcePathStyle: true,
            maxAttempts: 1,
            credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
        });
        try {
            const err = await client.send(new ListMultipartUploadsCommand({ Bucket: "b" })).then(
                () => undefined,
                (e: unknown) => e as { $metadata?: { httpStatusCode?: number } },
            );
            assert.equal(err?.$metadata?.httpStatusCode, 501);
            assert.equal(classify(err), "final");
        } finally {
            client.destroy();
            await server.close();
            await rm(dir, { recursive: true, force: true });
        }
    });
});
