// The MD5 of every file of a sync, and whether each may hold a Secret: the one
// implementation of that pass, run either in the calling thread (small trees)
// or as a worker thread (large trees: `make upload-do` then lists the bucket
// while the files are read and hashed, see digestAll in sync.ts).
//
// Plain CommonJS with no imports but Node's own, so it runs as a worker file
// as it is: tools/upload/digest-worker.cjs from source, bin/digest-worker.cjs
// (copied there by build.cjs) beside the bundle.
//
// Memory is one 1 MiB buffer, not the tree: files under 1 MiB (manifests) are
// read synchronously into it (several times cheaper than fs/promises for
// thousands of tiny files), larger ones in 4 MiB chunks. No body is kept.
"use strict";
const { closeSync, openSync, readSync } = require("node:fs");
const { createHash, hash } = require("node:crypto");

/** Files below this size are read whole into the one buffer. */
const SMALL_FILE = 1024 * 1024;
/** Chunk size for larger files. */
const CHUNK = 4 * 1024 * 1024;

/**
 * @param {ReadonlyArray<{ abs: string }>} files
 * @param {readonly string[]} needles a file "may hold a Secret" when its bytes contain one of these
 * (tools/sops/guard.ts SECRET_NEEDLES); a file read in chunks always may (the guard parses it)
 * @returns {{ md5: Buffer, candidate: Uint8Array, size: Float64Array }} per file, in order: 16 bytes of
 * MD5, 1 for a candidate, and the size of the bytes hashed (so size and MD5 always describe the same
 * content, even if the file changed since it was listed)
 */
function digestFiles(files, needles) {
    const marks = needles.map((n) => Buffer.from(n));
    const md5 = Buffer.alloc(16 * files.length);
    const candidate = new Uint8Array(files.length);
    const size = new Float64Array(files.length);
    const buf = Buffer.allocUnsafe(SMALL_FILE);
    for (let i = 0; i < files.length; i++) {
        const file = files[i].abs;
        const fd = openSync(file, "r");
        try {
            let filled = 0;
            // until the end of the file or a full buffer (a read of 0 bytes returns 0 at once)
            for (;;) {
                const n = readSync(fd, buf, filled, SMALL_FILE - filled, filled);
                if (n === 0) break;
                filled += n;
            }
            if (filled < SMALL_FILE) {
                const body = buf.subarray(0, filled);
                hash("md5", body, "buffer").copy(md5, 16 * i);
                candidate[i] = marks.some((m) => body.includes(m)) ? 1 : 0;
                size[i] = filled;
                continue;
            }
            // 1 MiB or more (or grown to it since the scan): the whole file again, in chunks
            const h = createHash("md5");
            const chunk = Buffer.allocUnsafe(CHUNK);
            let pos = 0;
            for (;;) {
                const n = readSync(fd, chunk, 0, CHUNK, pos);
                if (n === 0) break;
                h.update(chunk.subarray(0, n));
                pos += n;
            }
            h.digest().copy(md5, 16 * i);
            candidate[i] = 1;
            size[i] = pos;
        } finally {
            closeSync(fd);
        }
    }
    return { md5, candidate, size };
}

/**
 * The worker's side of digestInWorker (sync.ts): digests `data.files` and posts the result to
 * `port`, its three buffers moved rather than copied, or `{ error }` with the message of whatever
 * was thrown (a file that cannot be read): the worker answers once, whatever happens.
 * @param {{ files: ReadonlyArray<{ abs: string }>, needles: readonly string[] }} data
 * @param {{ postMessage(value: unknown, transfer?: ArrayBuffer[]): void }} port
 */
function answer(data, port) {
    try {
        const { md5, candidate, size } = digestFiles(data.files, data.needles);
        port.postMessage({ md5, candidate, size }, [md5.buffer, candidate.buffer, size.buffer]);
    } catch (err) {
        port.postMessage({ error: err instanceof Error ? err.message : String(err) });
    }
}

module.exports = { digestFiles, answer };

// Started as digestInWorker's worker: answer it. Imported in any other thread (the caller's, whose
// workerData is null, or a worker of someone else's that loads sync.ts): nothing.
const threads = require("node:worker_threads");
if (threads.workerData?.digestFiles === true) answer(threads.workerData, threads.parentPort);
