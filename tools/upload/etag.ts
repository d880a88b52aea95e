// Content hashes used for change detection and upload integrity.
//
// S3 (and DigitalOcean Spaces) report an object's ETag as:
//   - the hex MD5 of the body for objects written with a single PutObject;
//   - md5(concat(md5(part 1), ..., md5(part N))) + "-N" for objects written
//     by a multipart upload. That value depends on the part size the writer
//     used, so we can only reproduce it for the part size this tool uses.
import { createHash, hash } from "node:crypto";
import { open, readFile } from "node:fs/promises";

const MiB = 1024 * 1024;

/** Files larger than this are uploaded with a multipart upload. */
export const MULTIPART_THRESHOLD = 16 * MiB;
/**
 * Part size for multipart uploads, and the part size assumed when a remote
 * ETag has a "-N" suffix. 8 MiB is also the default of `aws s3 sync`
 * (multipart_chunksize), so objects it wrote multipart usually compare equal.
 */
export const PART_SIZE = 8 * MiB;

export interface LocalDigest {
    /** hex MD5 of the whole file */
    md5Hex: string;
    /** base64 MD5 of the whole file (the Content-MD5 header value) */
    md5Base64: string;
}

export function md5(data: Uint8Array): Buffer {
    // the one-shot form: no Hash object per call (thousands of small files)
    return hash("md5", data, "buffer");
}

/** The hex and base64 forms of an MD5 digest. */
export function localDigest(digest: Buffer): LocalDigest {
    return { md5Hex: digest.toString("hex"), md5Base64: digest.toString("base64") };
}

/** MD5 of a file. Small files are read in one go, large ones streamed. */
export async function digestFile(path: string, size: number): Promise<LocalDigest> {
    let digest: Buffer;
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: both ways give the file's MD5; the size only decides between one read and 4 MiB chunks (memory)
    if (size <= 4 * MiB) {
        digest = md5(await readFile(path));
    } else {
        const hash = createHash("md5");
        await forEachChunk(path, 4 * MiB, (chunk) => {
            hash.update(chunk);
        });
        digest = hash.digest();
    }
    return localDigest(digest);
}

/** Number of parts a multipart upload of `size` bytes has with `partSize` parts. */
export function partCount(size: number, partSize: number = PART_SIZE): number {
    return Math.max(1, Math.ceil(size / partSize));
}

/** The ETag S3 gives an object uploaded multipart with parts of `partSize` bytes. */
export async function multipartEtag(path: string, partSize: number = PART_SIZE): Promise<string> {
    const partDigests: Buffer[] = [];
    await forEachChunk(path, partSize, (chunk) => {
        partDigests.push(md5(chunk));
    });
    if (partDigests.length === 0) partDigests.push(md5(new Uint8Array(0)));
    return `${md5(Buffer.concat(partDigests)).toString("hex")}-${partDigests.length}`;
}

export interface ParsedEtag {
    /** hex digest (lower case) */
    hex: string;
    /** number of parts when the ETag is a multipart ETag */
    parts?: number;
}

/** Parses `"abc…"` or `"abc…-3"`; anything else (e.g. SSE-C, weak ETags) gives undefined. */
export function parseEtag(etag: string | undefined): ParsedEtag | undefined {
    if (!etag) return undefined;
    const m = /^"?([0-9a-fA-F]{32})(?:-(\d+))?"?$/.exec(etag.trim());
    if (!m) return undefined;
    // Stryker disable next-line OptionalChaining: group 1 is not optional in the pattern, so it is there whenever it matched
    const hex = m[1]?.toLowerCase();
    return m[2] === undefined ? { hex } : { hex, parts: Number(m[2]) };
}

/** Reads a file sequentially in chunks of exactly `chunkSize` bytes (the last one shorter). */
async function forEachChunk(path: string, chunkSize: number, fn: (chunk: Buffer) => void): Promise<void> {
    const fh = await open(path, "r");
    try {
        const buf = Buffer.allocUnsafe(chunkSize);
        for (;;) {
            let filled = 0;
            // Stryker disable next-line EqualityOperator: with <=, a full chunk asks for 0 more bytes, gets 0 and leaves the loop the same way
            while (filled < chunkSize) {
                const { bytesRead } = await fh.read(buf, filled, chunkSize - filled, null);
                if (bytesRead === 0) break;
                filled += bytesRead;
            }
            if (filled === 0) return;
            fn(buf.subarray(0, filled));
            // (without this return the next read gets 0 bytes and returns above: a shortcut)
            if (filled < chunkSize) return;
        }
    } finally {
        await fh.close();
    }
}

/** Reads `length` bytes at `offset` (used for multipart parts). */
export async function readRange(path: string, offset: number, length: number): Promise<Buffer> {
    const fh = await open(path, "r");
    try {
        const buf = Buffer.alloc(length);
        let filled = 0;
        while (filled < length) {
            const { bytesRead } = await fh.read(buf, filled, length - filled, offset + filled);
            if (bytesRead === 0) throw new Error(`${path} changed while it was being uploaded (short read)`);
            filled += bytesRead;
        }
        return buf;
    } finally {
        await fh.close();
    }
}
