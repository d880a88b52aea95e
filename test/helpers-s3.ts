// Shared test (and benchmark) helpers: a real S3-compatible server (s3rver) on
// 127.0.0.1, a fault-injecting loopback proxy, and small file-tree utilities.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before } from "node:test";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";

// s3rver ships no type declarations.
interface S3rverInstance {
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    httpServer: http.Server;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver: S3rverCtor = require("s3rver");

/** s3rver's built-in key pair; any other access key is rejected with InvalidAccessKeyId. */
export const S3RVER_KEY = "S3RVER";

export interface SeenRequest {
    method: string;
    url: string;
}

export interface LocalS3 {
    endpoint: string;
    port: number;
    dir: string;
    /** every request the server received, in order */
    requests: SeenRequest[];
    count(method?: string): number;
    reset(): void;
    createBucket(name: string): Promise<void>;
    /** key → body of every object in a bucket */
    objects(bucket: string): Promise<Map<string, Buffer>>;
    client: S3Client;
    /** the server itself, e.g. to react to requests as they arrive */
    httpServer: http.Server;
    close(): Promise<void>;
}

export async function startS3(): Promise<LocalS3> {
    const dir = await mkdtemp(path.join(os.tmpdir(), "s3rver-"));
    const server = new S3rver({ address: "127.0.0.1", port: 0, directory: dir, silent: true });
    const addr = await server.run();
    const requests: SeenRequest[] = [];
    server.httpServer.prependListener("request", (req: http.IncomingMessage) => {
        requests.push({ method: req.method ?? "", url: req.url ?? "" });
    });
    const endpoint = `http://127.0.0.1:${addr.port}`;
    const client = new S3Client({
        endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
    });
    return {
        endpoint,
        port: addr.port,
        dir,
        requests,
        count: (method?: string) => (method ? requests.filter((r) => r.method === method).length : requests.length),
        reset: () => {
            requests.length = 0;
        },
        createBucket: async (name: string) => {
            await client.send(new CreateBucketCommand({ Bucket: name }));
        },
        objects: async (bucket: string) => {
            const out = new Map<string, Buffer>();
            let token: string | undefined;
            for (let page = 0; page < 1000; page++) {
                const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
                for (const o of res.Contents ?? []) {
                    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
                    out.set(o.Key!, Buffer.from(await got.Body!.transformToByteArray()));
                }
                if (!res.IsTruncated) break;
                token = res.NextContinuationToken;
            }
            return out;
        },
        client,
        httpServer: server.httpServer,
        close: async () => {
            client.destroy();
            server.httpServer.closeAllConnections?.();
            await server.close();
            await rm(dir, { recursive: true, force: true });
        },
    };
}

export interface ProxyOptions {
    /** return an HTTP status to answer the n-th request (1-based) with instead of forwarding it */
    failWith?: (n: number, req: http.IncomingMessage) => number | undefined;
}

export interface FaultProxy {
    endpoint: string;
    /** requests that reached the proxy (forwarded or failed) */
    seen: Array<SeenRequest & { failedWith?: number; contentMd5?: string; bodyMd5?: string }>;
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
                    res.writeHead(up.statusCode ?? 502, up.headers);
                    up.pipe(res);
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

/** Writes `files` (relative path → content) under a fresh temp folder and returns its path. */
export async function makeTree(files: Record<string, string | Buffer>, parent?: string): Promise<string> {
    const root = parent ?? (await mkdtemp(path.join(os.tmpdir(), "upload-src-")));
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
export function useLocalS3(prefix: string): { s3: () => LocalS3; freshBucket: () => Promise<string> } {
    let server: LocalS3 | undefined;
    let seq = 0;
    before(async () => {
        server = await startS3();
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
