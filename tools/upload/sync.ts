// Plan and execute a one-way sync of a local folder to a bucket prefix.

import { setMaxListeners } from "node:events";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Worker } from "node:worker_threads";
import ignore from "ignore";
import { digestFiles } from "./digest-worker.cjs";
import {
    type LocalDigest,
    localDigest,
    MULTIPART_THRESHOLD,
    md5,
    multipartEtag,
    PART_SIZE,
    parseEtag,
    partCount,
    readRange,
} from "./etag";
import type { LocalFile, SourcePath } from "./files";
import {
    abortMultipartUpload,
    completeMultipartUpload,
    createMultipartUpload,
    deleteObjects,
    listMultipartUploads,
    listObjectsV2,
    putObject,
    uploadPart,
} from "./ops";
import { forEachLimit } from "./pool";
import { StoppedError } from "./retry";
import { abortError, type SendFn, TLS_TRUST } from "./s3";

export interface RemoteObject {
    etag?: string;
    size: number;
}

export interface UploadItem {
    file: LocalFile;
    key: string;
    reason: "new" | "changed";
    digest: LocalDigest;
}

export interface SyncPlan {
    uploads: UploadItem[];
    /** remote keys to delete (only filled when deleting was asked for) */
    deletes: string[];
    /** remote-only keys left in place because --delete was not given */
    keptRemote: string[];
    unchanged: number;
}

export interface Failure {
    key: string;
    message: string;
}

export interface SyncResult {
    uploaded: number;
    deleted: number;
    unchanged: number;
    bytesUploaded: number;
    failures: Failure[];
    /** deletions skipped because some uploads failed or the run was interrupted */
    deletesSkipped: number;
    /** uploads not done because the run was interrupted (never started, or cut off) */
    notDone: number;
    /** requests that were still running when they were cut off (hard abort) */
    cutOff: string[];
}

export interface Reporter {
    start(plan: SyncPlan): void;
    uploaded(item: UploadItem): void;
    deleted(key: string): void;
    failed(key: string, message: string): void;
    /** a line that keeps the output alive while nothing completes */
    waiting(message: string): void;
    stop(): void;
}

export interface Sizes {
    multipartThreshold: number;
    partSize: number;
}
export const DEFAULT_SIZES: Sizes = { multipartThreshold: MULTIPART_THRESHOLD, partSize: PART_SIZE };

export class PrefixError extends Error {}

/**
 * Checks and normalises a key prefix: exactly one trailing slash (or empty).
 * Refused: a leading `/` (keys have no root; `/team` would silently mean
 * `team/`), `.` and `..` segments (S3 keeps them literally, so `../x` does not
 * climb anywhere but lands in a folder named `..`), empty segments (`a//b`),
 * backslashes and control characters.
 */
export function normalisePrefix(prefix: string | undefined): string {
    const raw = prefix ?? "";
    const problems: string[] = [];
    if (raw.startsWith("/")) problems.push("starts with /");
    const trimmed = raw.replace(/\/+$/, "");
    // Stryker disable next-line StringLiteral: only a prefix that starts with / has leading slashes, and it is refused for that alone; the replacement only keeps it from also counting as an empty segment
    const segments = trimmed === "" ? [] : trimmed.replace(/^\/+/, "").split("/");
    if (segments.some((seg) => seg === ".." || seg === ".")) problems.push("has a . or .. segment");
    if (segments.some((seg) => seg === "")) problems.push("has an empty segment (//)");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
    if (/[\\\u0000-\u001f\u007f]/.test(raw)) problems.push("has a backslash or a control character");
    if (problems.length > 0) {
        throw new PrefixError(
            `prefix ${JSON.stringify(raw)} ${problems.join(", ")}: give a relative key prefix such as team-a or apps/team-a`,
        );
    }
    return segments.length === 0 ? "" : `${segments.join("/")}/`;
}

/** One ListObjectsV2 pass over the prefix (1,000 keys per request). */
export async function listRemote(send: SendFn, prefix: string, stop?: AbortSignal): Promise<Map<string, RemoteObject>> {
    const out = new Map<string, RemoteObject>();
    let token: string | undefined;
    // Stryker disable next-line EqualityOperator: <= lists one page more, which only a listing of a million pages shows
    for (let page = 0; page < 1_000_000; page++) {
        if (stop?.aborted) throw new StoppedError();
        const res = await send(
            listObjectsV2(prefix, token, (o) => out.set(o.key, { etag: o.etag, size: o.size })),
            `LIST page ${page + 1}`,
            { stop },
        );
        if (!res.isTruncated || !res.nextContinuationToken) return out;
        token = res.nextContinuationToken;
    }
    throw new Error("bucket listing did not end after 1,000,000 pages");
}

/**
 * From this many files on, digestAll hashes in a worker thread (below, the worker's start-up, about
 * 70 ms, costs more than it saves). One worker: measured on 2 cores with the bucket listed meanwhile,
 * two workers were slower (1.03-1.23 s against 0.75-0.96 s for a no-op sync of 10,000 files).
 */
export const WORKER_MIN_FILES = 2_000;

export interface DigestOptions {
    /**
     * The guard's pre-check (tools/sops/guard.ts SECRET_NEEDLES): a file whose bytes contain none
     * of these cannot hold a Secret. Default: none (no file is a candidate but the large ones).
     */
    needles?: readonly string[];
    /** Hash in a worker thread: "auto" (default) from WORKER_MIN_FILES files on, or always, or never. */
    worker?: "auto" | boolean;
    /** Stops the worker (Ctrl-C): the promise then rejects with an AbortError. */
    signal?: AbortSignal;
}

export interface Digests {
    /** The files given, each with the size of the bytes that were hashed (MD5 and size always agree). */
    files: LocalFile[];
    digests: Map<string, LocalDigest>;
    /** The files that may hold a Secret (the guard parses only these), in the order given. */
    candidates: LocalFile[];
}

/**
 * The MD5 of every file, and the files the plaintext-Secret guard must parse, in one read of each
 * file (digest-worker.cjs; memory is one buffer, not the tree: an upload reads its file again).
 * On large trees the pass runs in a worker thread, so the caller's thread is free meanwhile (to
 * list the bucket); on small ones in this thread, where it is cheaper than starting a worker.
 */
export async function digestAll(sources: readonly SourcePath[], opts: DigestOptions = {}): Promise<Digests> {
    const needles = opts.needles ?? [];
    const inWorker =
        opts.worker === "auto" || opts.worker === undefined ? sources.length >= WORKER_MIN_FILES : opts.worker;
    const { md5, candidate, size } = inWorker
        ? await digestInWorker(sources, needles, opts.signal)
        : digestFiles(sources, needles);
    const files: LocalFile[] = [];
    const digests = new Map<string, LocalDigest>();
    const candidates: LocalFile[] = [];
    for (let i = 0; i < sources.length; i++) {
        const f: LocalFile = { rel: sources[i]!.rel, abs: sources[i]!.abs, size: size[i]! };
        files.push(f);
        digests.set(f.rel, localDigest(md5.subarray(16 * i, 16 * i + 16)));
        if (candidate[i] === 1) candidates.push(f);
    }
    return { files, digests, candidates };
}

/**
 * digestFiles in a worker thread: digest-worker.cjs beside this module or the bundle (`workerFile`
 * only for tests: a thread that fails). Settles on the first of the worker's answer, its error, its
 * end without an answer, or the abort signal (which stops it); later ones change nothing.
 */
export function digestInWorker(
    files: readonly SourcePath[],
    needles: readonly string[],
    signal: AbortSignal | undefined,
    workerFile: string = path.join(__dirname, "digest-worker.cjs"),
): Promise<ReturnType<typeof digestFiles>> {
    return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(abortError("hashing stopped"));
        const worker = new Worker(workerFile, {
            // none of this process's Node options: the worker is plain CommonJS with Node's own
            // modules, and a loader given with --import (tsx when the tool or its tests run from
            // source) would be loaded again in the thread, more than doubling its start-up
            execArgv: [],
            workerData: { digestFiles: true, files: files.map((f) => ({ abs: f.abs })), needles },
        });
        const settle = (err: Error | undefined, value?: ReturnType<typeof digestFiles>) => {
            signal?.removeEventListener("abort", onAbort);
            if (err) reject(err);
            else resolve(value!);
        };
        const onAbort = () => {
            void worker.terminate();
            settle(abortError("hashing stopped"));
        };
        signal?.addEventListener("abort", onAbort);
        worker.once(
            "message",
            (m: { md5: Uint8Array; candidate: Uint8Array; size: Float64Array } | { error: string }) => {
                if ("error" in m) return settle(new Error(m.error));
                const md5 = Buffer.from(m.md5.buffer, m.md5.byteOffset, m.md5.byteLength);
                settle(undefined, { md5, candidate: m.candidate, size: m.size });
            },
        );
        worker.once("error", (err) => settle(err));
        worker.once("exit", (code) =>
            settle(new Error(`the hashing thread ended (exit code ${code}) before it answered`)),
        );
    });
}

/**
 * Content comparison. A plain ETag is the MD5 of the body. A multipart ETag
 * ("<hex>-N") is reproduced with our own part size; if the object was written
 * with another part size the values differ and the file is uploaded again
 * (never skipped wrongly, at worst one extra upload).
 */
export async function sameContent(
    file: LocalFile,
    digest: LocalDigest,
    remote: RemoteObject,
    partSize: number = PART_SIZE,
): Promise<boolean> {
    if (remote.size !== file.size) return false;
    const etag = parseEtag(remote.etag);
    if (!etag) return false;
    if (etag.parts === undefined) return etag.hex === digest.md5Hex;
    // Stryker disable next-line ConditionalExpression: another part count gives another "-N" suffix, so the comparison below is false as well; the check only saves reading the file
    if (etag.parts !== partCount(file.size, partSize)) return false;
    return (await multipartEtag(file.abs, partSize)) === `${etag.hex}-${etag.parts}`;
}

export interface PlanInput {
    files: readonly LocalFile[];
    digests: Map<string, LocalDigest>;
    remote: Map<string, RemoteObject>;
    prefix: string;
    deleteRemote: boolean;
    /** ignore rules: remote keys they match are neither uploaded nor deleted */
    isIgnored: (rel: string) => boolean;
    partSize?: number;
}

export async function planSync(input: PlanInput): Promise<SyncPlan> {
    const uploads: UploadItem[] = [];
    let unchanged = 0;
    const local = new Set<string>();
    for (const file of input.files) {
        const key = input.prefix + file.rel;
        local.add(key);
        const digest = input.digests.get(file.rel);
        if (!digest) throw new Error(`internal: no digest for ${file.rel}`);
        const remote = input.remote.get(key);
        if (!remote) uploads.push({ file, key, reason: "new", digest });
        else if (await sameContent(file, digest, remote, input.partSize)) unchanged++;
        else uploads.push({ file, key, reason: "changed", digest });
    }
    const remoteOnly: string[] = [];
    for (const key of input.remote.keys()) {
        if (local.has(key) || !key.startsWith(input.prefix) || key.endsWith("/")) continue;
        const rel = key.slice(input.prefix.length);
        // keys that are not clean relative paths (or that the rules ignore) are not ours to delete
        if (!ignore.isPathValid(rel) || input.isIgnored(rel)) continue;
        remoteOnly.push(key);
    }
    remoteOnly.sort();
    return {
        uploads,
        deletes: input.deleteRemote ? remoteOnly : [],
        keptRemote: input.deleteRemote ? [] : remoteOnly,
        unchanged,
    };
}

const KUSTOMIZATION = /(^|\/)(kustomization\.ya?ml|Kustomization)$/;

function contentType(rel: string): string {
    if (/\.ya?ml$/i.test(rel) || /(^|\/)Kustomization$/.test(rel)) return "application/yaml";
    if (/\.json$/i.test(rel)) return "application/json";
    return "text/plain; charset=utf-8";
}

export class IntegrityError extends Error {}

/** Errors after which continuing makes no sense (every other request would fail the same way). */
function isFatal(err: unknown): boolean {
    const e = err as { name?: string; code?: string; cause?: { code?: string } };
    // Stryker disable next-line StringLiteral: any text that is no error code is as good as "" here
    const code = e?.code ?? e?.cause?.code ?? "";
    return (
        // Stryker disable next-line StringLiteral: any text that is no error name is as good as "" here
        ["NoSuchBucket", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"].includes(e?.name ?? "") ||
        ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"].includes(code) ||
        TLS_TRUST.test(code)
    );
}

/** An attempt that ended because the run stopped: never started again, or cut off by the hard abort. */
function isInterruption(err: unknown): boolean {
    const name = (err as Error | undefined)?.name;
    return name === "StoppedError" || name === "AbortError";
}

export interface ExecuteInput {
    send: SendFn;
    plan: SyncPlan;
    concurrency: number;
    reporter: Reporter;
    /**
     * Stop scheduling (first Ctrl-C, or a fatal error): no new upload, part,
     * retry or deletion starts; requests in flight finish. Aborting the
     * requests in flight is the client's own signal (createClient's `signal`).
     */
    stop: AbortController;
    sizes?: Sizes;
    describe: (err: unknown) => string;
}

export async function executePlan(input: ExecuteInput): Promise<SyncResult> {
    const { send, plan, reporter } = input;
    const sizes = input.sizes ?? DEFAULT_SIZES;
    const stopper = input.stop;
    const stop = stopper.signal;
    // every request waiting for a retry listens to the signal
    setMaxListeners(input.concurrency * 8 + 16, stop);

    const result: SyncResult = {
        uploaded: 0,
        deleted: 0,
        unchanged: plan.unchanged,
        bytesUploaded: 0,
        failures: [],
        deletesSkipped: 0,
        notDone: 0,
        cutOff: [],
    };
    const fail = (key: string, err: unknown) => {
        if (isInterruption(err)) {
            if ((err as Error).name === "AbortError") result.cutOff.push(key);
            return;
        }
        const message = input.describe(err);
        result.failures.push({ key, message });
        reporter.failed(key, message);
        if (isFatal(err)) stopper.abort();
    };

    reporter.start(plan);
    try {
        // Kustomization files go last, so a Flux fetch in the middle of a sync is
        // less likely to see a kustomization.yaml that lists files not yet uploaded.
        const first = plan.uploads.filter((u) => !KUSTOMIZATION.test(u.key));
        const last = plan.uploads.filter((u) => KUSTOMIZATION.test(u.key));
        for (const batch of [first, last]) {
            if (stop.aborted) break;
            await forEachLimit(
                batch,
                input.concurrency,
                async (item) => {
                    try {
                        const bytes = await uploadOne(send, item, sizes, stop);
                        result.uploaded++;
                        result.bytesUploaded += bytes;
                        reporter.uploaded(item);
                    } catch (err) {
                        fail(item.key, err);
                    }
                },
                stop,
            );
        }
        result.notDone = plan.uploads.length - result.uploaded - result.failures.length;

        // Stryker disable next-line ConditionalExpression,EqualityOperator: with no deletes the block skips 0 and its loop runs 0 times
        if (plan.deletes.length > 0) {
            if (result.failures.length > 0 || stop.aborted) {
                result.deletesSkipped = plan.deletes.length;
            } else {
                for (let i = 0; i < plan.deletes.length; i += 1000) {
                    if (stop.aborted) {
                        result.deletesSkipped += plan.deletes.length - i;
                        break;
                    }
                    const chunk = plan.deletes.slice(i, i + 1000);
                    try {
                        const res = await send(deleteObjects(chunk), `DELETE ${chunk.length} object(s)`, { stop });
                        const errors = new Map(res.errors.map((e) => [e.key, e]));
                        for (const key of chunk) {
                            const e = errors.get(key);
                            if (e) {
                                const message = `${e.code ?? "Error"}: ${e.message ?? "delete failed"}`;
                                result.failures.push({ key, message });
                                reporter.failed(key, message);
                            } else {
                                result.deleted++;
                                reporter.deleted(key);
                            }
                        }
                    } catch (err) {
                        if (isInterruption(err)) result.deletesSkipped += chunk.length;
                        else for (const key of chunk) fail(key, err);
                    }
                }
            }
        }
    } finally {
        reporter.stop();
    }
    return result;
}

/** Files below this size are read synchronously for their upload. */
const SMALL_FILE = 1024 * 1024;

/** Uploads one file; returns the number of bytes sent. */
async function uploadOne(send: SendFn, item: UploadItem, sizes: Sizes, stop: AbortSignal): Promise<number> {
    const { file, key } = item;
    if (file.size > sizes.multipartThreshold) return uploadMultipart(send, item, sizes.partSize, stop);

    // read again (no body is kept from hashing); Content-MD5 is always of exactly what is sent.
    // Small files synchronously: fs/promises' FileHandle open/fstat/read/close per file was the
    // largest cost left in a 10,000-file upload's CPU profile (see docs/upload.md)
    // Stryker disable next-line ConditionalExpression,EqualityOperator: both read the same bytes; the size only picks the cheaper call
    const body = file.size < SMALL_FILE ? readFileSync(file.abs) : await readFile(file.abs);
    const digest = md5(body);
    const res = await send(putObject(key, body, digest.toString("base64"), contentType(file.rel)), `PUT ${key}`, {
        stop,
    });
    const etag = parseEtag(res.etag);
    if (etag && etag.parts === undefined && etag.hex !== digest.toString("hex")) {
        throw new IntegrityError(
            `stored object's ETag ${res.etag} does not match the MD5 of the upload (${digest.toString("hex")})`,
        );
    }
    return body.length;
}

/** How long the clean-up AbortMultipartUpload of a failed or interrupted upload may take. */
const ABORT_UPLOAD_TIMEOUT_MS = 5_000;

async function abortUpload(send: SendFn, key: string, uploadId: string): Promise<boolean> {
    // its own signal: it also runs after the client-wide hard abort
    return send(abortMultipartUpload(key, uploadId), `ABORT ${key}`, {
        abortSignal: AbortSignal.timeout(ABORT_UPLOAD_TIMEOUT_MS),
        attempts: 3,
    }).then(
        () => true,
        // Stryker disable next-line ArrowFunction: undefined is as false as false to the callers
        () => false,
    );
}

async function uploadMultipart(send: SendFn, item: UploadItem, partSize: number, stop: AbortSignal): Promise<number> {
    const { file, key } = item;
    const created = await send(createMultipartUpload(key, contentType(file.rel)), `CREATE UPLOAD ${key}`, { stop });
    const uploadId = created.uploadId;
    if (!uploadId) throw new Error("CreateMultipartUpload returned no UploadId");
    const count = partCount(file.size, partSize);
    // Stryker disable next-line ArrayDeclaration: every slot is assigned below; the length only preallocates
    const parts: { etag: string; partNumber: number }[] = new Array(count);
    // Stryker disable next-line ArrayDeclaration: every slot is assigned below; the length only preallocates
    const partDigests: Buffer[] = new Array(count);
    try {
        const numbers = Array.from({ length: count }, (_, i) => i + 1);
        // a failed part stops the others from starting
        const partsStop = new AbortController();
        const onStop = () => partsStop.abort();
        // Stryker disable next-line ObjectLiteral,BooleanLiteral: the listener is removed in the finally below whether it ran or not
        stop.addEventListener("abort", onStop, { once: true });
        // a listener added to a signal that already aborted (during CreateMultipartUpload) never runs
        if (stop.aborted) partsStop.abort();
        let firstError: unknown;
        try {
            await forEachLimit(
                numbers,
                4,
                async (n) => {
                    try {
                        const offset = (n - 1) * partSize;
                        const body = await readRange(file.abs, offset, Math.min(partSize, file.size - offset));
                        const digest = md5(body);
                        partDigests[n - 1] = digest;
                        const res = await send(
                            uploadPart(key, uploadId, n, body, digest.toString("base64")),
                            `PUT ${key} part ${n}/${count}`,
                            { stop },
                        );
                        if (!res.etag) throw new Error(`UploadPart ${n} returned no ETag`);
                        // Stryker disable next-line ArithmeticOperator: the list is read with map, which skips the holes, so any index that keeps the order gives the same completion body
                        parts[n - 1] = { etag: res.etag, partNumber: n };
                    } catch (err) {
                        firstError ??= err;
                        partsStop.abort();
                    }
                },
                partsStop.signal,
            );
        } finally {
            stop.removeEventListener("abort", onStop);
        }
        if (firstError !== undefined) throw firstError;
        if (stop.aborted) throw new StoppedError();
        const done = await send(completeMultipartUpload(key, uploadId, parts), `COMPLETE ${key}`, { stop });
        const etag = parseEtag(done.etag);
        if (etag) {
            const expected =
                etag.parts === undefined
                    ? item.digest.md5Hex // some servers (s3rver) report the whole-object MD5
                    : `${md5(Buffer.concat(partDigests)).toString("hex")}-${count}`;
            const got = etag.parts === undefined ? etag.hex : `${etag.hex}-${etag.parts}`;
            if (got !== expected)
                throw new IntegrityError(`multipart ETag ${done.etag} does not match the local content (${expected})`);
        }
        return file.size;
    } catch (err) {
        // failed or interrupted: no parts may linger (they are billed until aborted)
        await abortUpload(send, key, uploadId);
        throw err;
    }
}

export interface StaleUploads {
    /** false when the server does not list multipart uploads (e.g. s3rver: 501 NotImplemented) */
    supported: boolean;
    /** why listing failed, when it did */
    reason?: string;
    found: Array<{ key: string; initiated?: Date }>;
    aborted: number;
    failed: Failure[];
}

/**
 * Finds incomplete multipart uploads under the prefix that were started before
 * `before` (by earlier runs that failed, were killed or lost their network) and
 * aborts them, so no billed parts linger. `dryRun` only lists them.
 */
export async function abortStaleUploads(opts: {
    send: SendFn;
    prefix: string;
    before: Date;
    dryRun: boolean;
    stop?: AbortSignal;
    describe: (err: unknown) => string;
}): Promise<StaleUploads> {
    const { send } = opts;
    const out: StaleUploads = { supported: true, found: [], aborted: 0, failed: [] };
    const stale: Array<{ key: string; uploadId: string; initiated?: Date }> = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
        for (let page = 0; page < 10_000; page++) {
            const res = await send(
                listMultipartUploads(opts.prefix, keyMarker, uploadIdMarker),
                `LIST UPLOADS page ${page + 1}`,
                { stop: opts.stop },
            );
            for (const u of res.uploads) {
                if (!u.key.startsWith(opts.prefix)) continue;
                if (u.initiated && u.initiated.getTime() > opts.before.getTime()) continue; // a run that is going on now
                stale.push({ key: u.key, uploadId: u.uploadId, initiated: u.initiated });
            }
            if (!res.isTruncated || (!res.nextKeyMarker && !res.nextUploadIdMarker)) break;
            keyMarker = res.nextKeyMarker;
            uploadIdMarker = res.nextUploadIdMarker;
        }
    } catch (err) {
        if (isInterruption(err)) throw err;
        return { ...out, supported: false, reason: opts.describe(err) };
    }
    out.found = stale.map(({ key, initiated }) => ({ key, initiated }));
    if (opts.dryRun) return out;
    for (const u of stale) {
        if (opts.stop?.aborted) break;
        if (await abortUpload(opts.send, u.key, u.uploadId)) out.aborted++;
        else out.failed.push({ key: u.key, message: `could not abort upload ${u.uploadId}` });
    }
    return out;
}
