// Shared test helpers: a real S3-compatible server (s3rver, in a child process)
// on 127.0.0.1, a fault-injecting loopback proxy, and small file-tree utilities.
import { fork, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { statfsSync } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before } from "node:test";
import type { S3Client } from "@aws-sdk/client-s3";

/**
 * The AWS SDK's S3 module, loaded when a test first reads a bucket with it: a test file that uses
 * these helpers without a server (makeTree, runUploadCommand, …) does not pay for loading it
 * (about 0.2 s of CPU with a warm compile cache).
 */
let sdkModule: typeof import("@aws-sdk/client-s3") | undefined;
const sdk = () => (sdkModule ??= require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3"));

/** s3rver's built-in key pair; any other access key is rejected with InvalidAccessKeyId. */
export const S3RVER_KEY = "S3RVER";

export interface SeenRequest {
    method: string;
    url: string;
}

export interface LocalS3 {
    endpoint: string;
    port: number;
    /** every request the server received, in order */
    requests: SeenRequest[];
    count(method?: string): number;
    reset(): void;
    createBucket(name: string): Promise<void>;
    /** key → body of every object in a bucket */
    objects(bucket: string): Promise<Map<string, Buffer>>;
    /** the keys of every object in a bucket, in the listing's order (no object is read) */
    keys(bucket: string): Promise<string[]>;
    /**
     * key → ETag (without its quotes) of every object in a bucket, from the listing: for an
     * object stored by one PUT, the MD5 (hex) the server computed over the bytes it stored
     */
    etags(bucket: string): Promise<Map<string, string>>;
    client: S3Client;
    /** the server's front (every request passes it), e.g. to react to requests as they arrive */
    httpServer: http.Server;
    /**
     * multipart uploads started and neither completed nor aborted (bucket/key/uploadId), as the
     * front tracks them for s3rver (empty with `uploads: false` and on fauxqs)
     */
    openUploads(): Array<{ bucket: string; key: string; uploadId: string }>;
    /**
     * In-process fauxqs only: `failWith` answers the n-th request (1-based, counted from this
     * call) with that HTTP status (after reading its body; an S3 error document, as startProxy's)
     * instead of passing it to the server; undefined ends it. The same faults as a startProxy in
     * front, without a second HTTP exchange per request. Returns the requests it failed.
     */
    injectFaults(failWith: ProxyOptions["failWith"] | undefined): { failed: SeenRequest[] };
    /**
     * s3rver only: false passes ListMultipartUploads and AbortMultipartUpload on to s3rver (its
     * 501 and 405, as `uploads: false` does from the start) until it is called with true again;
     * the uploads the front tracks meanwhile are not tracked.
     */
    emulateUploads(on: boolean): void;
    close(): Promise<void>;
}

/**
 * The S3 server a test talks to: s3rver 3.7.1 (the default: it stores on disk, writes an
 * object in place, lacks ListMultipartUploads and AbortMultipartUpload, and its replies are
 * what most tests were written against) or fauxqs 2.4.1 (every object in memory, both
 * multipart calls implemented; several times cheaper per request, for tests whose point is
 * the number of objects or requests, not a server's quirks).
 */
export type S3ServerKind = "s3rver" | "fauxqs";

/**
 * Where s3rver stores its objects and makeTree writes its trees: /dev/shm (tmpfs) when the
 * machine has it with at least 2 GiB free (a container's default /dev/shm is 64 MiB), else the
 * temporary folder. s3rver writes every object (and its metadata) as files and re-reads them
 * for every GET and listing; on tmpfs those system calls cost a fraction of what they cost on
 * a disk file system, and nothing in the tests depends on which file system holds them.
 */
export const SCRATCH = (() => {
    try {
        const fs = statfsSync("/dev/shm");
        if (fs.bavail * fs.bsize >= 2 * 1024 ** 3) return "/dev/shm";
    } catch {
        // no /dev/shm
    }
    return os.tmpdir();
})();

/**
 * The server (bench/s3-server.cjs) in a child process. For s3rver, Node is started with
 * `--openssl-legacy-provider` there because s3rver encrypts ListObjectsV2
 * continuation tokens with DES, which OpenSSL 3 only offers through its legacy
 * provider: without it every listing past 1,000 keys fails with
 * ERR_OSSL_EVP_UNSUPPORTED. Nothing else in the tests or the tool runs with it.
 */
async function forkServer(kind: S3ServerKind): Promise<{ port: number; stop: () => Promise<void> }> {
    const child = fork(path.join(__dirname, "..", "bench", "s3-server.cjs"), [], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        execArgv: kind === "s3rver" ? ["--openssl-legacy-provider"] : [],
        env: { ...process.env, S3_BENCH_STORAGE: SCRATCH, S3_BENCH_SERVER: kind },
    });
    const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${kind} did not start in 30 s`)), 30_000);
        child.once("message", (m: { port: number }) => {
            clearTimeout(timer);
            resolve(m.port);
        });
        child.once("exit", (code) => reject(new Error(`${kind} exited (${code})`)));
    });
    return {
        port,
        stop: async () => {
            if (child.exitCode !== null) return;
            const exited = new Promise((r) => child.once("exit", r));
            child.send({ type: "stop" });
            const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
            await exited;
            clearTimeout(timer);
        },
    };
}

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * The server the tests talk to: s3rver (or fauxqs: `server: "fauxqs"`) behind a
 * streaming loopback front that records every request. s3rver 3.7.1 implements neither ListMultipartUploads
 * (GET ?uploads: 501 NotImplemented) nor AbortMultipartUpload (DELETE
 * ?uploadId: 405 MethodNotAllowed). The front answers both as the AWS S3 API
 * reference specifies (a ListMultipartUploadsResult of the uploads s3rver
 * created that were neither completed nor aborted; 204 for an abort, 404
 * NoSuchUpload for an unknown upload and for any later part or completion of
 * an aborted one), so the tool's clean-up can be tested. `uploads: false`
 * leaves s3rver's own replies (a server without these calls). Everything
 * else is s3rver's own reply. fauxqs implements both calls: its own replies
 * are passed on, and `openUploads()` is always empty there.
 */
export async function startS3(opts: S3Options = {}): Promise<LocalS3> {
    const kind = opts.server ?? "s3rver";
    if (opts.inProcess) {
        if (kind !== "fauxqs") throw new Error("only fauxqs runs in the test's process");
        return startInProcess();
    }
    const backend = await forkServer(kind);
    let emulate = kind === "s3rver" && opts.uploads !== false;
    const requests: SeenRequest[] = [];
    const open = new Map<string, { bucket: string; key: string; uploadId: string; initiated: Date }>();
    const aborted = new Set<string>();
    const noSuchUpload = (res: http.ServerResponse, id: string) => {
        res.writeHead(404, { "content-type": "application/xml" });
        res.end(
            `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message><UploadId>${xml(id)}</UploadId></Error>`,
        );
    };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    const server = http.createServer((req, res) => {
        requests.push({ method: req.method ?? "", url: req.url ?? "" });
        const url = new URL(req.url ?? "/", "http://x");
        const [, bucket = "", ...rest] = url.pathname.split("/");
        const key = decodeURIComponent(rest.join("/"));
        if (emulate && req.method === "GET" && url.searchParams.has("uploads") && key === "") {
            const prefix = url.searchParams.get("prefix") ?? "";
            const list = [...open.values()].filter((u) => u.bucket === bucket && u.key.startsWith(prefix));
            req.resume();
            res.writeHead(200, { "content-type": "application/xml" });
            res.end(
                `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
                    `<Bucket>${xml(bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>` +
                    `<Prefix>${xml(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>` +
                    list
                        .map(
                            (u) =>
                                `<Upload><Key>${xml(u.key)}</Key><UploadId>${xml(u.uploadId)}</UploadId>` +
                                `<StorageClass>STANDARD</StorageClass><Initiated>${u.initiated.toISOString()}</Initiated></Upload>`,
                        )
                        .join("") +
                    "</ListMultipartUploadsResult>",
            );
            return;
        }
        const id = url.searchParams.get("uploadId");
        if (emulate && id !== null) {
            if (req.method === "DELETE") {
                req.resume();
                if (!open.delete(id)) return noSuchUpload(res, id);
                aborted.add(id);
                res.writeHead(204);
                res.end();
                return;
            }
            if (aborted.has(id)) {
                req.resume();
                return noSuchUpload(res, id);
            }
        }
        const upstream = http.request(
            { host: "127.0.0.1", port: backend.port, method: req.method, path: req.url, headers: req.headers, agent },
            (up) => {
                const uploadId = url.searchParams.get("uploadId");
                const ok = (up.statusCode ?? 500) < 300;
                if (emulate && req.method === "POST" && url.searchParams.has("uploads") && ok) {
                    const chunks: Buffer[] = [];
                    up.on("data", (c: Buffer) => chunks.push(c));
                    up.on("end", () => {
                        const id = /<UploadId>([^<]+)<\/UploadId>/.exec(Buffer.concat(chunks).toString())?.[1];
                        if (id) open.set(id, { bucket, key, uploadId: id, initiated: new Date() });
                        res.writeHead(up.statusCode ?? 502, up.headers);
                        res.end(Buffer.concat(chunks));
                    });
                    return;
                }
                if (emulate && uploadId && ok && req.method === "POST") open.delete(uploadId);
                res.writeHead(up.statusCode ?? 502, up.headers);
                up.pipe(res);
            },
        );
        upstream.on("error", () => {
            if (!res.headersSent) res.writeHead(502);
            res.end();
        });
        // a client that goes away mid-body is passed on as such: s3rver sees the same torn request
        req.on("aborted", () => upstream.destroy());
        res.on("close", () => {
            if (!res.writableFinished) upstream.destroy();
        });
        req.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { recorded, api } = recordedServer(server, requests);
    return Object.assign(recorded, {
        openUploads: () => [...open.values()].map(({ bucket, key, uploadId }) => ({ bucket, key, uploadId })),
        injectFaults: () => {
            throw new Error("injectFaults: only for fauxqs in process (use startProxy)");
        },
        emulateUploads: (on: boolean) => {
            if (kind !== "s3rver") throw new Error("emulateUploads: only for s3rver");
            emulate = on;
        },
        close: async () => {
            api.destroy();
            agent.destroy();
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
            await backend.stop();
        },
    } satisfies Partial<LocalS3>);
}

/**
 * What both kinds of recorded server offer: the bucket reads through the SDK (`s3Api`, the SDK
 * loaded on first use: `client` stays a getter, so extras go on with Object.assign, never a
 * spread) and the record of the requests the server saw.
 */
function recordedServer(server: http.Server, requests: SeenRequest[]) {
    const port = (server.address() as AddressInfo).port;
    const endpoint = `http://127.0.0.1:${port}`;
    const api = s3Api(endpoint);
    const recorded = {
        get client() {
            return api.client;
        },
        createBucket: api.createBucket,
        objects: api.objects,
        keys: api.keys,
        etags: api.etags,
        endpoint,
        port,
        requests,
        count: (method?: string) => (method ? requests.filter((r) => r.method === method).length : requests.length),
        reset: () => {
            requests.length = 0;
        },
        httpServer: server,
    };
    return { recorded, api };
}

/** The SDK client the tests read a bucket with, and the reads LocalS3 offers. */
function s3Api(
    endpoint: string,
): Pick<LocalS3, "client" | "createBucket" | "objects" | "keys" | "etags"> & { destroy(): void } {
    let made: S3Client | undefined;
    const client = () =>
        (made ??= new (sdk().S3Client)({
            endpoint,
            region: "us-east-1",
            forcePathStyle: true,
            credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
            requestChecksumCalculation: "WHEN_REQUIRED",
            responseChecksumValidation: "WHEN_REQUIRED",
        }));
    const listAll = async (bucket: string) => {
        const out = new Map<string, string>();
        let token: string | undefined;
        for (let page = 0; page < 1000; page++) {
            const res = await client().send(
                new (sdk().ListObjectsV2Command)({ Bucket: bucket, ContinuationToken: token }),
            );
            for (const o of res.Contents ?? []) out.set(o.Key!, (o.ETag ?? "").replace(/"/g, ""));
            if (!res.IsTruncated) break;
            token = res.NextContinuationToken;
        }
        return out;
    };
    const listKeys = async (bucket: string) => [...(await listAll(bucket)).keys()];
    return {
        get client() {
            return client();
        },
        destroy: () => made?.destroy(),
        createBucket: async (name: string) => {
            await client().send(new (sdk().CreateBucketCommand)({ Bucket: name }));
        },
        objects: async (bucket: string) => {
            const out = new Map<string, Buffer>();
            for (const key of await listKeys(bucket)) {
                const got = await client().send(new (sdk().GetObjectCommand)({ Bucket: bucket, Key: key }));
                out.set(key, Buffer.from(await got.Body!.transformToByteArray()));
            }
            return out;
        },
        keys: listKeys,
        etags: listAll,
    };
}

/**
 * fauxqs in this process (`inProcess: true`): no child process and no front, so a request costs
 * one HTTP exchange instead of two (the tool to the front, the front to the server) and the
 * start costs no Node.js process; its own server records the requests. For tests that only
 * count requests or need a sink (the server's CPU then counts in the test process, and it
 * shares the test's event loop: not for tests that stall or time the server).
 */
async function startInProcess(): Promise<LocalS3> {
    const { buildApp } = await import("fauxqs");
    const app = buildApp({ logger: false });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const server = app.server;
    const requests: SeenRequest[] = [];
    // fauxqs's own handler (Fastify's), called by the one listener below unless a fault answers
    const handlers = server.listeners("request") as Array<
        (req: http.IncomingMessage, res: http.ServerResponse) => void
    >;
    server.removeAllListeners("request");
    let faults: { failWith: NonNullable<ProxyOptions["failWith"]>; n: number; failed: SeenRequest[] } | undefined;
    server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
        const seen = { method: req.method ?? "", url: req.url ?? "" };
        requests.push(seen);
        const status = faults ? faults.failWith(++faults.n, req) : undefined;
        if (status === undefined) {
            for (const h of handlers) h.call(server, req, res);
            return;
        }
        faults!.failed.push(seen);
        req.resume();
        req.on("end", () => {
            const code = status === 503 ? "SlowDown" : status === 500 ? "InternalError" : "ServiceUnavailable";
            res.writeHead(status, { "content-type": "application/xml" });
            res.end(
                `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected by the test server</Message></Error>`,
            );
        });
    });
    const { recorded, api } = recordedServer(server, requests);
    return Object.assign(recorded, {
        openUploads: () => [],
        emulateUploads: () => {
            throw new Error("emulateUploads: only for s3rver");
        },
        injectFaults: (failWith) => {
            faults = failWith ? { failWith, n: 0, failed: [] } : undefined;
            return { failed: faults?.failed ?? [] };
        },
        close: async () => {
            api.destroy();
            server.closeAllConnections();
            await app.close();
        },
    } satisfies Partial<LocalS3>);
}

export interface S3Options {
    /** false: s3rver's own replies to ListMultipartUploads and AbortMultipartUpload (501, 405) */
    uploads?: boolean;
    /** default s3rver */
    server?: S3ServerKind;
    /** fauxqs only: in the test's own process, without a front (see startInProcess) */
    inProcess?: boolean;
}

export interface ProxyOptions {
    /** return an HTTP status to answer the n-th request (1-based) with instead of forwarding it */
    failWith?: (n: number, req: http.IncomingMessage) => number | undefined;
    /** return true to never answer the n-th request (a stalled server; the connection stays open) */
    stall?: (n: number, req: http.IncomingMessage) => boolean;
    /**
     * A server that lies about what it stored: return an ETag (quoted, as S3 sends it) to answer
     * with instead of the real one, in the `ETag` header (PutObject, UploadPart) or in the
     * `<ETag>` of a CompleteMultipartUploadResult; undefined passes the real answer on.
     */
    etag?: (req: http.IncomingMessage, real: string) => string | undefined;
}

export interface FaultProxy {
    endpoint: string;
    /** requests that reached the proxy (forwarded or failed) */
    seen: Array<SeenRequest & { failedWith?: number; stalled?: boolean; contentMd5?: string; bodyMd5?: string }>;
    close(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of a server. It can answer chosen requests
 * with an error (503 SlowDown by default) and records, for every request with
 * a body, the Content-MD5 header and the real MD5 of the body.
 */
export async function startProxy(targetPort: number, opts: ProxyOptions = {}): Promise<FaultProxy> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const seen: FaultProxy["seen"] = [];
    let n = 0;
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            n++;
            const body = Buffer.concat(chunks);
            const entry: FaultProxy["seen"][number] = { method: req.method ?? "", url: req.url ?? "" };
            if (body.length > 0 || req.headers["content-md5"]) {
                entry.contentMd5 = req.headers["content-md5"] as string | undefined;
                entry.bodyMd5 = createHash("md5").update(body).digest("base64");
            }
            seen.push(entry);
            if (opts.stall?.(n, req)) {
                entry.stalled = true;
                return;
            }
            const status = opts.failWith?.(n, req);
            if (status !== undefined) {
                entry.failedWith = status;
                const code = status === 503 ? "SlowDown" : status === 500 ? "InternalError" : "ServiceUnavailable";
                res.writeHead(status, { "content-type": "application/xml" });
                res.end(
                    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected by the test proxy</Message></Error>`,
                );
                return;
            }
            const upstream = http.request(
                { host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers, agent },
                (up) => {
                    const lie = opts.etag;
                    if (!lie) {
                        res.writeHead(up.statusCode ?? 502, up.headers);
                        up.pipe(res);
                        return;
                    }
                    const reply: Buffer[] = [];
                    up.on("data", (c: Buffer) => reply.push(c));
                    up.on("end", () => {
                        const headers = { ...up.headers };
                        let text = Buffer.concat(reply);
                        const header = typeof headers.etag === "string" ? lie(req, headers.etag) : undefined;
                        if (header !== undefined) headers.etag = header;
                        const inBody = /<ETag>([^<]*)<\/ETag>/.exec(text.toString());
                        if (inBody) {
                            const real = inBody[1]!.replace(/&quot;/g, '"').replace(/&#34;/g, '"');
                            const told = lie(req, real);
                            if (told !== undefined) {
                                const escaped = told.replace(/"/g, "&quot;");
                                text = Buffer.from(text.toString().replace(inBody[0], `<ETag>${escaped}</ETag>`));
                                headers["content-length"] = String(text.length);
                            }
                        }
                        res.writeHead(up.statusCode ?? 502, headers);
                        res.end(text);
                    });
                },
            );
            upstream.on("error", () => {
                res.writeHead(502);
                res.end();
            });
            upstream.end(body);
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    return {
        endpoint: `http://127.0.0.1:${port}`,
        seen,
        close: async () => {
            agent.destroy();
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}

/** Writes `files` (relative path → content) under a fresh folder in SCRATCH and returns its path. */
export async function makeTree(files: Record<string, string | Buffer>, parent?: string): Promise<string> {
    const root = parent ?? (await mkdtemp(path.join(SCRATCH, "upload-src-")));
    for (const [rel, content] of Object.entries(files)) {
        const abs = path.join(root, rel);
        await mkdir(path.dirname(abs), { recursive: true });
        await writeFile(abs, content);
    }
    return root;
}

/** Collects what the tool prints. */
export function captureIo() {
    const out: string[] = [];
    const err: string[] = [];
    return {
        io: { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l), isTTY: false },
        out,
        err,
        all: () => [...out, ...err].join("\n"),
        lastOut: () => out[out.length - 1] ?? "",
    };
}

/** Environment with s3rver's credentials and nothing else that could leak in from the developer's shell. */
export function s3Env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_KEY, ...extra };
}

/** A stack-output reader that records its calls and returns `outputs` (or throws `error`). */
export function stackReader(outputs: Record<string, unknown> = {}, error?: Error) {
    const calls: string[] = [];
    return {
        calls,
        read: async (stack: string): Promise<Record<string, unknown>> => {
            calls.push(stack);
            if (error) throw error;
            return outputs;
        },
    };
}

/**
 * One local S3 server for a test file: started before its tests, closed after them.
 * `s3()` is the running server; `freshBucket()` creates a new, empty bucket per test.
 */
export function useLocalS3(
    prefix: string,
    opts: S3Options = {},
): { s3: () => LocalS3; freshBucket: () => Promise<string> } {
    let server: LocalS3 | undefined;
    let seq = 0;
    before(async () => {
        server = await startS3(opts);
    });
    after(async () => {
        await server?.close();
    });
    const s3 = () => {
        if (!server) throw new Error("the local S3 server is not running (use inside a test)");
        return server;
    };
    return {
        s3,
        freshBucket: async () => {
            const name = `${prefix}-${++seq}`;
            await s3().createBucket(name);
            return name;
        },
    };
}

/**
 * Runs the sync tool as a command (`node <entry…> <args…>` from the repository root, e.g.
 * tools/upload/run.cjs as `make upload-do` does) with s3rver's credentials and nothing else from
 * the developer's environment; killed after 60 s.
 */
export function runUploadCommand(
    entry: readonly string[],
    args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [...entry, ...args], {
            cwd: path.resolve(__dirname, ".."),
            env: { PATH: process.env.PATH, AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_KEY },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr });
        });
    });
}
