// An in-memory bucket that answers the upload tool's S3 calls (tools/upload/ops.ts) in process,
// as the AWS S3 API reference specifies them: the XML documents of ListObjectsV2,
// ListMultipartUploads, CreateMultipartUpload, CompleteMultipartUpload and DeleteObjects, ETags
// computed here with node:crypto's createHash (the MD5 of a body; for a multipart object the MD5
// of the concatenated binary part MD5s, then "-<parts>"), Content-MD5 checked on every body (a
// mismatch is S3's 400 BadDigest). No server and no process: the fast tests of sync.ts use it so
// a mutation run can afford them for every mutant; the s3rver tests remain the reference for
// real server replies.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { LocalFile } from "../tools/upload/files";
import { S3Error, type S3Op, type SendFn, type SendOptions } from "../tools/upload/s3";

export const md5 = (b: Buffer | string): Buffer => createHash("md5").update(b).digest();
export const md5hex = (b: Buffer | string): string => md5(b).toString("hex");
const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const unxml = (s: string) =>
    s
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&amp;/g, "&");

/** One request the bucket received. */
export interface FakeRequest {
    method: string;
    key?: string;
    query: Record<string, string>;
    headers: Record<string, string>;
    body?: Buffer;
    label: string;
    options?: SendOptions;
}

/** A reply: status (200 when absent), S3 error code and message (status >= 300), headers, XML body. */
export interface FakeReply {
    status?: number;
    code?: string;
    message?: string;
    headers?: Record<string, string>;
    body?: string;
}

/** What a hook answers instead of the bucket: an error to throw, or a reply. */
export type HookAnswer = Error | FakeReply | undefined;

export interface StoredObject {
    body: Buffer;
    etag: string;
    contentType?: string;
}

export class FakeBucket {
    readonly objects = new Map<string, StoredObject>();
    readonly uploads = new Map<
        string,
        { key: string; contentType?: string; initiated: Date; parts: Map<number, { body: Buffer; etag: string }> }
    >();
    readonly requests: FakeRequest[] = [];
    /** keys per LIST page (S3: 1,000) */
    listPageSize = 1000;
    /** uploads per ListMultipartUploads page (S3: 1,000) */
    uploadsPageSize = 1000;
    /** keys DeleteObjects refuses (reported per key, as S3 does) */
    readonly denyDelete = new Set<string>();
    /** sees every request first; an answer replaces the bucket's */
    hook?: (req: FakeRequest) => HookAnswer | Promise<HookAnswer>;
    private nextId = 1;

    count(method: string, what?: (r: FakeRequest) => boolean): number {
        return this.requests.filter((r) => r.method === method && (!what || what(r))).length;
    }

    /** An object stored as a single PUT would store it. */
    put(key: string, body: Buffer | string): void {
        const b = Buffer.from(body);
        this.objects.set(key, { body: b, etag: `"${md5hex(b)}"` });
    }

    /** An incomplete multipart upload (as an earlier, interrupted run leaves it). */
    startUpload(key: string, initiated: Date): string {
        const id = `upload-${this.nextId++}`;
        this.uploads.set(id, { key, initiated, parts: new Map() });
        return id;
    }

    readonly send: SendFn = async <O>(op: S3Op<O>, label: string, options?: SendOptions): Promise<O> => {
        const query: Record<string, string> = {};
        for (const [k, v] of Object.entries(op.query ?? {})) if (v !== undefined) query[k] = v;
        const req: FakeRequest = {
            method: op.method,
            key: op.key,
            query,
            headers: { ...op.headers },
            body: op.body,
            label,
            options,
        };
        this.requests.push(req);
        // the bucket this request reached: a test that replaces the bucket's contents (a fresh
        // bucket for the next test) while a hook holds a request of the previous test must not
        // get that request's write (the run that sent it has returned and cut it off)
        const objects = this.objects;
        await new Promise((r) => setImmediate(r));
        const hooked = await this.hook?.(req);
        if (hooked instanceof Error) throw hooked;
        if (this.objects !== objects) throw new S3Error("InternalError", "the bucket was replaced meanwhile", 500);
        const answer: FakeReply = hooked ?? this.answer(req);
        const status = answer.status ?? 200;
        if (status >= 300) throw new S3Error(answer.code ?? `Http${status}`, answer.message ?? "error", status);
        const reply = { status, headers: answer.headers ?? {} };
        if (op.reader) {
            const reader = op.reader();
            const text = answer.body ?? "";
            // in pieces, as a reply arrives
            for (let at = 0; at < text.length; at += 97) reader.write(text.slice(at, at + 97));
            return reader.end(reply);
        }
        return op.result ? op.result(reply) : (undefined as O);
    };

    private answer(req: FakeRequest): FakeReply {
        const q = req.query;
        const checkMd5 = () =>
            req.body !== undefined && req.headers["content-md5"] !== md5(req.body).toString("base64")
                ? { status: 400, code: "BadDigest", message: "The Content-MD5 you specified did not match" }
                : undefined;
        if (req.method === "GET" && req.key === undefined && q["list-type"] === "2") {
            const prefix = q.prefix ?? "";
            const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
            const start = q["continuation-token"] ? keys.indexOf(q["continuation-token"]) : 0;
            const page = keys.slice(start, start + this.listPageSize);
            const next = keys[start + this.listPageSize];
            return {
                body:
                    '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
                    `<Name>b</Name><Prefix>${xml(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>1000</MaxKeys>` +
                    `<IsTruncated>${next !== undefined}</IsTruncated>` +
                    page
                        .map((k) => {
                            const o = this.objects.get(k)!;
                            return `<Contents><Key>${xml(k)}</Key><LastModified>2026-12-07T03:00:00.000Z</LastModified><ETag>${xml(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
                        })
                        .join("") +
                    (next !== undefined ? `<NextContinuationToken>${xml(next)}</NextContinuationToken>` : "") +
                    "</ListBucketResult>",
            };
        }
        if (req.method === "GET" && req.key === undefined && "uploads" in q) {
            const prefix = q.prefix ?? "";
            const all = [...this.uploads.entries()]
                .filter(([, u]) => u.key.startsWith(prefix))
                .sort(([ia, a], [ib, b]) => (a.key === b.key ? (ia < ib ? -1 : 1) : a.key < b.key ? -1 : 1));
            const start = q["upload-id-marker"] ? all.findIndex(([id]) => id === q["upload-id-marker"]) + 1 : 0;
            const page = all.slice(start, start + this.uploadsPageSize);
            const truncated = start + this.uploadsPageSize < all.length;
            const last = page.at(-1);
            return {
                body:
                    '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
                    `<Bucket>b</Bucket><KeyMarker>${xml(q["key-marker"] ?? "")}</KeyMarker><UploadIdMarker>${xml(q["upload-id-marker"] ?? "")}</UploadIdMarker>` +
                    (truncated && last
                        ? `<NextKeyMarker>${xml(last[1].key)}</NextKeyMarker><NextUploadIdMarker>${xml(last[0])}</NextUploadIdMarker>`
                        : "") +
                    `<MaxUploads>1000</MaxUploads><IsTruncated>${truncated}</IsTruncated>` +
                    page
                        .map(
                            ([id, u]) =>
                                `<Upload><Key>${xml(u.key)}</Key><UploadId>${xml(id)}</UploadId><StorageClass>STANDARD</StorageClass><Initiated>${u.initiated.toISOString()}</Initiated></Upload>`,
                        )
                        .join("") +
                    "</ListMultipartUploadsResult>",
            };
        }
        if (req.method === "PUT" && req.key !== undefined && q.uploadId === undefined) {
            const bad = checkMd5();
            if (bad) return bad;
            const body = req.body ?? Buffer.alloc(0);
            const etag = `"${md5hex(body)}"`;
            this.objects.set(req.key, { body, etag, contentType: req.headers["content-type"] });
            return { headers: { etag } };
        }
        if (req.method === "POST" && req.key !== undefined && "uploads" in q) {
            const id = `upload-${this.nextId++}`;
            this.uploads.set(id, {
                key: req.key,
                contentType: req.headers["content-type"],
                initiated: new Date(),
                parts: new Map(),
            });
            return {
                body: `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>${xml(req.key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`,
            };
        }
        const upload = q.uploadId !== undefined ? this.uploads.get(q.uploadId) : undefined;
        if (q.uploadId !== undefined && !upload)
            return { status: 404, code: "NoSuchUpload", message: "The specified upload does not exist." };
        if (req.method === "PUT" && upload) {
            const bad = checkMd5();
            if (bad) return bad;
            const body = req.body ?? Buffer.alloc(0);
            const etag = `"${md5hex(body)}"`;
            upload.parts.set(Number(q.partNumber), { body, etag });
            return { headers: { etag } };
        }
        if (req.method === "POST" && upload) {
            const text = req.body?.toString() ?? "";
            const listed = [...text.matchAll(/<Part><PartNumber>(\d+)<\/PartNumber><ETag>(.*?)<\/ETag><\/Part>/g)].map(
                (m) => ({ n: Number(m[1]), etag: unxml(m[2]!) }),
            );
            for (let i = 0; i < listed.length; i++) {
                const p = listed[i]!;
                if (i > 0 && p.n <= listed[i - 1]!.n) return { status: 400, code: "InvalidPartOrder" };
                if (upload.parts.get(p.n)?.etag !== p.etag) return { status: 400, code: "InvalidPart" };
            }
            const bodies = listed.map((p) => upload.parts.get(p.n)!.body);
            const etag = `"${md5hex(Buffer.concat(bodies.map((b) => md5(b))))}-${bodies.length}"`;
            this.objects.set(upload.key, { body: Buffer.concat(bodies), etag, contentType: upload.contentType });
            this.uploads.delete(q.uploadId!);
            return {
                body: `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://b/${xml(upload.key)}</Location><Bucket>b</Bucket><Key>${xml(upload.key)}</Key><ETag>${xml(etag)}</ETag></CompleteMultipartUploadResult>`,
            };
        }
        if (req.method === "DELETE" && upload) {
            this.uploads.delete(q.uploadId!);
            return { status: 204 };
        }
        if (req.method === "POST" && req.key === undefined && "delete" in q) {
            const bad = checkMd5();
            if (bad) return bad;
            const keys = [...(req.body?.toString() ?? "").matchAll(/<Key>(.*?)<\/Key>/g)].map((m) => unxml(m[1]!));
            const errors: string[] = [];
            for (const k of keys) {
                if (this.denyDelete.has(k))
                    errors.push(
                        `<Error><Key>${xml(k)}</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`,
                    );
                else this.objects.delete(k);
            }
            return {
                body: `<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${errors.join("")}</DeleteResult>`,
            };
        }
        return { status: 501, code: "NotImplemented", message: `${req.method} ${JSON.stringify(q)}` };
    }
}

/** Writes `files` under a fresh temporary folder; returns the LocalFile of each, sorted by path. */
export async function localTree(files: Record<string, Buffer | string>): Promise<{ root: string; files: LocalFile[] }> {
    const root = await mkdtemp(path.join(os.tmpdir(), "upload-fake-"));
    const out: LocalFile[] = [];
    for (const [rel, body] of Object.entries(files)) {
        const abs = path.join(root, rel);
        await mkdir(path.dirname(abs), { recursive: true });
        await writeFile(abs, body);
        out.push({ rel, abs, size: Buffer.byteLength(body) });
    }
    out.sort((a, b) => (a.rel < b.rel ? -1 : 1));
    return { root, files: out };
}
