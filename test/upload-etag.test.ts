// etag.ts against independent facts: RFC 1321's MD5 test suite, S3's ETag forms (the body's
// MD5; for a multipart object the MD5 of the concatenated binary part MD5s and "-<parts>",
// recomputed here with createHash), and exact byte ranges. In process, no server: the first
// test file of `make mutation GROUP=upload-etag`.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { digestFile, localDigest, md5, multipartEtag, parseEtag, partCount, readRange } from "../tools/upload/etag";

const MiB = 1024 * 1024;
const hex = (b: Buffer) => createHash("md5").update(b).digest("hex");

/** S3's multipart ETag, computed here: md5(concat(md5(part)…)) + "-N" (at least one part). */
function awsMultipartEtag(body: Buffer, partSize: number): string {
    const digests: Buffer[] = [];
    for (let at = 0; at < body.length; at += partSize)
        digests.push(
            createHash("md5")
                .update(body.subarray(at, at + partSize))
                .digest(),
        );
    if (digests.length === 0) digests.push(createHash("md5").update(Buffer.alloc(0)).digest());
    return `${createHash("md5").update(Buffer.concat(digests)).digest("hex")}-${digests.length}`;
}

function pattern(size: number, seed: number): Buffer {
    const b = Buffer.alloc(size);
    for (let i = 0; i < size; i++) b[i] = (i * 131 + seed + (i >> 10)) & 0xff;
    return b;
}

let dir = "";
before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "upload-etag-"));
});
after(async () => {
    await rm(dir, { recursive: true, force: true });
});

async function file(name: string, body: Buffer): Promise<string> {
    const p = path.join(dir, name);
    await writeFile(p, body);
    return p;
}

describe("upload ETags: MD5", () => {
    test("md5 and localDigest give RFC 1321's test-suite digests, in hex and in base64 (Content-MD5)", () => {
        const suite: Array<[string, string]> = [
            ["", "d41d8cd98f00b204e9800998ecf8427e"],
            ["a", "0cc175b9c0f1b6a831c399e269772661"],
            ["abc", "900150983cd24fb0d6963f7d28e17f72"],
            ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
            ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
        ];
        for (const [text, digest] of suite) {
            assert.equal(md5(Buffer.from(text)).toString("hex"), digest, text);
            const d = localDigest(md5(Buffer.from(text)));
            assert.equal(d.md5Hex, digest, text);
            assert.equal(d.md5Base64, Buffer.from(digest, "hex").toString("base64"), text);
        }
    });

    test("digestFile: files read whole and streamed in 4 MiB chunks give the file's MD5", async () => {
        for (const size of [0, 1, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 8 * MiB, 9 * MiB + 7]) {
            const body = pattern(size, size % 251);
            const p = await file(`d-${size}`, body);
            const d = await digestFile(p, size);
            assert.equal(d.md5Hex, hex(body), `${size} bytes`);
            assert.equal(d.md5Base64, Buffer.from(hex(body), "hex").toString("base64"), `${size} bytes`);
        }
    });
});

describe("upload ETags: multipart", () => {
    test("the multipart ETag of the tool's part size is S3's, for short, exact-multiple and longer bodies", async () => {
        const partSize = 1000;
        // [bytes, parts]
        for (const [size, parts] of [
            [0, 1],
            [1, 1],
            [999, 1],
            [1000, 1],
            [1001, 2],
            [2000, 2],
            [3999, 4],
            [4000, 4],
            [4001, 5],
        ] as const) {
            const body = pattern(size, 3);
            const p = await file(`m-${size}`, body);
            const etag = await multipartEtag(p, partSize);
            assert.equal(etag, awsMultipartEtag(body, partSize), `${size} bytes`);
            assert.ok(etag.endsWith(`-${parts}`), `${size} bytes: ${etag}`);
            assert.equal(partCount(size, partSize), parts, `${size} bytes`);
        }
    });

    test("the default part size is 8 MiB (aws s3 sync's multipart_chunksize): 16 MiB + 1 byte is 3 parts", async () => {
        assert.equal(partCount(16 * MiB + 1), 3);
        assert.equal(partCount(16 * MiB), 2);
        const body = pattern(8 * MiB + 3, 5);
        const p = await file("default-parts", body);
        assert.equal(await multipartEtag(p), awsMultipartEtag(body, 8 * MiB));
    });

    test("parseEtag reads S3's forms and refuses the others", () => {
        const h = "9b2cf535f27731c974343645a3985328";
        assert.deepEqual(parseEtag(`"${h}"`), { hex: h });
        assert.deepEqual(parseEtag(h), { hex: h });
        assert.deepEqual(parseEtag(` "${h.toUpperCase()}" `), { hex: h });
        assert.deepEqual(parseEtag(`"${h}-3"`), { hex: h, parts: 3 });
        assert.deepEqual(parseEtag(`"${h}-10000"`), { hex: h, parts: 10000 });
        for (const bad of [
            undefined,
            "",
            `W/"${h}"`, // weak
            `"${h.slice(1)}"`, // 31 digits
            `"${h}0"`, // 33 digits
            `"${h.slice(1)}g"`, // not hex
            `"${h}-"`,
            `"${h}-x"`,
            `"x${h}"`,
            `"${h}-3x"`,
        ])
            assert.equal(parseEtag(bad), undefined, String(bad));
    });
});

describe("upload ETags: ranges", () => {
    test("readRange gives exactly the bytes asked for, and refuses a file that got shorter", async () => {
        const body = pattern(10_000, 9);
        const p = await file("range", body);
        assert.deepEqual(await readRange(p, 0, 10_000), body);
        assert.deepEqual(await readRange(p, 1234, 4321), body.subarray(1234, 1234 + 4321));
        assert.deepEqual(await readRange(p, 9_999, 1), body.subarray(9_999));
        assert.deepEqual(await readRange(p, 5, 0), Buffer.alloc(0));
        await assert.rejects(readRange(p, 9_000, 1_001), /range changed while it was being uploaded \(short read\)/);
    });
});

describe("upload ETags: files are closed", () => {
    test("hashing, multipart ETags and ranges close every file they open, also after a short read", async () => {
        const body = pattern(5 * MiB + 3, 1);
        const p = await file("closed", body);
        const open = () => readdirSync("/proc/self/fd").length;
        const before = open();
        await digestFile(p, body.length);
        await multipartEtag(p, MiB);
        await readRange(p, 10, 100);
        await assert.rejects(readRange(p, body.length - 1, 2));
        assert.equal(open(), before);
    });
});
