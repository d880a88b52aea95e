// Plan and execute a one-way sync of a local folder to a bucket prefix.

import { setMaxListeners } from "node:events";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import {
    AbortMultipartUploadCommand,
    CompleteMultipartUploadCommand,
    CreateMultipartUploadCommand,
    DeleteObjectsCommand,
    ListObjectsV2Command,
    PutObjectCommand,
    type S3Client,
    UploadPartCommand,
} from "@aws-sdk/client-s3";
import ignore from "ignore";
import {
    digestFile,
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
import type { LocalFile } from "./files";
import { forEachLimit } from "./pool";

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
    /** deletions skipped because some uploads failed */
    deletesSkipped: number;
}

export interface Reporter {
    start(plan: SyncPlan): void;
    uploaded(item: UploadItem): void;
    deleted(key: string): void;
    failed(key: string, message: string): void;
    stop(): void;
}

export interface Sizes {
    multipartThreshold: number;
    partSize: number;
}
export const DEFAULT_SIZES: Sizes = { multipartThreshold: MULTIPART_THRESHOLD, partSize: PART_SIZE };

/** Normalises a prefix: no leading slash, exactly one trailing slash (or empty). */
export function normalisePrefix(prefix: string | undefined): string {
    const p = (prefix ?? "").replace(/^\/+/, "").replace(/\/+$/, "");
    return p === "" ? "" : `${p}/`;
}

/** One ListObjectsV2 pass over the prefix (1,000 keys per request). */
export async function listRemote(
    client: S3Client,
    bucket: string,
    prefix: string,
    signal?: AbortSignal,
): Promise<Map<string, RemoteObject>> {
    const out = new Map<string, RemoteObject>();
    let token: string | undefined;
    for (let page = 0; page < 1_000_000; page++) {
        const command = new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix || undefined,
            ContinuationToken: token,
        });
        const res = await (signal ? client.send(command, { abortSignal: signal }) : client.send(command));
        for (const o of res.Contents ?? []) {
            if (o.Key !== undefined) out.set(o.Key, { etag: o.ETag, size: o.Size ?? 0 });
        }
        if (!res.IsTruncated || !res.NextContinuationToken) return out;
        token = res.NextContinuationToken;
    }
    throw new Error("bucket listing did not end after 1,000,000 pages");
}

/** Local content: the MD5 of every file, plus the bytes of small files so they are read only once. */
export interface LocalContent {
    digests: Map<string, LocalDigest>;
    bodies: Map<string, Buffer>;
}

const CACHE_FILE_LIMIT = 1024 * 1024;
const CACHE_TOTAL_LIMIT = 256 * 1024 * 1024;

/**
 * Hashes every file. Small files (manifests) are read synchronously, which is
 * several times cheaper than fs/promises for thousands of tiny files; the loop
 * yields to the event loop every few files so the bucket listing that runs
 * meanwhile keeps moving.
 */
export async function digestAll(files: readonly LocalFile[]): Promise<LocalContent> {
    const digests = new Map<string, LocalDigest>();
    const bodies = new Map<string, Buffer>();
    let cached = 0;
    for (let i = 0; i < files.length; i++) {
        const f = files[i]!;
        if (f.size <= CACHE_FILE_LIMIT) {
            const body = readFileSync(f.abs);
            digests.set(f.rel, localDigest(md5(body)));
            if (cached + body.length <= CACHE_TOTAL_LIMIT) {
                bodies.set(f.rel, body);
                cached += body.length;
            }
        } else {
            digests.set(f.rel, await digestFile(f.abs, f.size));
        }
        if (i % 64 === 63) await new Promise((r) => setImmediate(r));
    }
    return { digests, bodies };
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
    return (
        ["NoSuchBucket", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "AbortError"].includes(
            e?.name ?? "",
        ) || ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"].includes(e?.code ?? e?.cause?.code ?? "")
    );
}

export interface ExecuteInput {
    client: S3Client;
    bucket: string;
    plan: SyncPlan;
    concurrency: number;
    reporter: Reporter;
    signal?: AbortSignal;
    sizes?: Sizes;
    /** bytes already read while hashing (rel path → body) */
    bodies?: Map<string, Buffer>;
    describe: (err: unknown) => string;
    /**
     * The controller whose signal the client was created with (createClient's
     * `signal`): aborted on a fatal error, it also stops the requests in flight.
     * Without it, every request carries this run's signal itself (which turns
     * off the SDK's middleware cache).
     */
    controller?: AbortController;
}

export async function executePlan(input: ExecuteInput): Promise<SyncResult> {
    const { client, bucket, plan, reporter } = input;
    const sizes = input.sizes ?? DEFAULT_SIZES;
    const stop = input.controller ?? new AbortController();
    // every request in flight listens to the signal
    setMaxListeners(input.concurrency * 8 + 16, stop.signal);
    const onOuterAbort = () => stop.abort();
    if (input.signal?.aborted) stop.abort();
    input.signal?.addEventListener("abort", onOuterAbort, { once: true });
    const signal = stop.signal;
    const sendOptions = input.controller ? undefined : { abortSignal: signal };

    const result: SyncResult = {
        uploaded: 0,
        deleted: 0,
        unchanged: plan.unchanged,
        bytesUploaded: 0,
        failures: [],
        deletesSkipped: 0,
    };
    const fail = (key: string, err: unknown) => {
        if (signal.aborted && (err as Error)?.name === "AbortError") return; // reported once by the caller
        const message = input.describe(err);
        result.failures.push({ key, message });
        reporter.failed(key, message);
        if (isFatal(err)) stop.abort();
    };

    reporter.start(plan);
    try {
        // Kustomization files go last, so a Flux fetch in the middle of a sync is
        // less likely to see a kustomization.yaml that lists files not yet uploaded.
        const first = plan.uploads.filter((u) => !KUSTOMIZATION.test(u.key));
        const last = plan.uploads.filter((u) => KUSTOMIZATION.test(u.key));
        for (const batch of [first, last]) {
            await forEachLimit(
                batch,
                input.concurrency,
                async (item) => {
                    try {
                        const bytes = await uploadOne(
                            client,
                            bucket,
                            item,
                            sizes,
                            signal,
                            sendOptions,
                            input.bodies?.get(item.file.rel),
                        );
                        result.uploaded++;
                        result.bytesUploaded += bytes;
                        reporter.uploaded(item);
                    } catch (err) {
                        fail(item.key, err);
                    }
                },
                signal,
            );
            if (signal.aborted) break;
        }

        if (plan.deletes.length > 0) {
            if (result.failures.length > 0 || signal.aborted) {
                result.deletesSkipped = plan.deletes.length;
            } else {
                for (let i = 0; i < plan.deletes.length && !signal.aborted; i += 1000) {
                    const chunk = plan.deletes.slice(i, i + 1000);
                    try {
                        const res = await client.send(
                            new DeleteObjectsCommand({
                                Bucket: bucket,
                                Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
                            }),
                            sendOptions,
                        );
                        const errors = new Map((res.Errors ?? []).map((e) => [e.Key ?? "", e]));
                        for (const key of chunk) {
                            const e = errors.get(key);
                            if (e) {
                                const message = `${e.Code ?? "Error"}: ${e.Message ?? "delete failed"}`;
                                result.failures.push({ key, message });
                                reporter.failed(key, message);
                            } else {
                                result.deleted++;
                                reporter.deleted(key);
                            }
                        }
                    } catch (err) {
                        for (const key of chunk) fail(key, err);
                    }
                }
            }
        }
    } finally {
        input.signal?.removeEventListener("abort", onOuterAbort);
        reporter.stop();
    }
    return result;
}

/** Per-call send options: undefined when the client carries the run's abort signal. */
type SendOptions = { abortSignal: AbortSignal } | undefined;

/** Uploads one file; returns the number of bytes sent. */
async function uploadOne(
    client: S3Client,
    bucket: string,
    item: UploadItem,
    sizes: Sizes,
    signal: AbortSignal,
    sendOptions: SendOptions,
    cached?: Buffer,
): Promise<number> {
    const { file, key } = item;
    if (file.size > sizes.multipartThreshold)
        return uploadMultipart(client, bucket, item, sizes.partSize, signal, sendOptions);

    // the bytes that were hashed, or a fresh read; Content-MD5 is always of exactly what is sent
    const body = cached ?? (await readFile(file.abs));
    const digest = cached ? Buffer.from(item.digest.md5Hex, "hex") : md5(body);
    const res = await client.send(
        new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentLength: body.length,
            ContentMD5: digest.toString("base64"),
            ContentType: contentType(file.rel),
        }),
        sendOptions,
    );
    const etag = parseEtag(res.ETag);
    if (etag && etag.parts === undefined && etag.hex !== digest.toString("hex")) {
        throw new IntegrityError(
            `stored object's ETag ${res.ETag} does not match the MD5 of the upload (${digest.toString("hex")})`,
        );
    }
    return body.length;
}

async function uploadMultipart(
    client: S3Client,
    bucket: string,
    item: UploadItem,
    partSize: number,
    signal: AbortSignal,
    sendOptions: SendOptions,
): Promise<number> {
    const { file, key } = item;
    const created = await client.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType(file.rel) }),
        sendOptions,
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error("CreateMultipartUpload returned no UploadId");
    const count = partCount(file.size, partSize);
    const parts: { ETag: string; PartNumber: number }[] = new Array(count);
    const partDigests: Buffer[] = new Array(count);
    try {
        const numbers = Array.from({ length: count }, (_, i) => i + 1);
        await forEachLimit(
            numbers,
            4,
            async (n) => {
                const offset = (n - 1) * partSize;
                const body = await readRange(file.abs, offset, Math.min(partSize, file.size - offset));
                const digest = md5(body);
                partDigests[n - 1] = digest;
                const res = await client.send(
                    new UploadPartCommand({
                        Bucket: bucket,
                        Key: key,
                        UploadId: uploadId,
                        PartNumber: n,
                        Body: body,
                        ContentLength: body.length,
                        ContentMD5: digest.toString("base64"),
                    }),
                    sendOptions,
                );
                if (!res.ETag) throw new Error(`UploadPart ${n} returned no ETag`);
                parts[n - 1] = { ETag: res.ETag, PartNumber: n };
            },
            signal,
        );
        if (signal.aborted) throw Object.assign(new Error("aborted"), { name: "AbortError" });
        const done = await client.send(
            new CompleteMultipartUploadCommand({
                Bucket: bucket,
                Key: key,
                UploadId: uploadId,
                MultipartUpload: { Parts: parts },
            }),
            sendOptions,
        );
        const etag = parseEtag(done.ETag);
        if (etag) {
            const expected =
                etag.parts === undefined
                    ? item.digest.md5Hex // some servers (s3rver) report the whole-object MD5
                    : `${md5(Buffer.concat(partDigests)).toString("hex")}-${count}`;
            const got = etag.parts === undefined ? etag.hex : `${etag.hex}-${etag.parts}`;
            if (got !== expected)
                throw new IntegrityError(`multipart ETag ${done.ETag} does not match the local content (${expected})`);
        }
        return file.size;
    } catch (err) {
        // best effort, and also after an interrupt: its own never-aborted signal
        // overrides the client's; an unfinished upload is also cleaned up by lifecycle rules
        await client
            .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }), {
                abortSignal: new AbortController().signal,
            })
            .catch(() => undefined);
        throw err;
    }
}
