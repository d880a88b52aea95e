// The in-memory bucket of upload-fake-s3.ts behind a loopback HTTP server in this process, for
// tests of the whole command (runUpload), which builds its own S3 client from the endpoint: no
// server process, no disk. Path-style requests (`/<bucket>/<key>?<query>`, the tool's addressing
// for http and 127.0.0.1) are handed to FakeBucket.send as the S3Op they came from; its replies go
// back as S3 would send them (an error as `<Error><Code>…</Code><Message>…</Message></Error>` with
// its status). Signatures are not checked (upload-s3's tests pin the signer against AWS's suite).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before } from "node:test";
import { S3Error, type S3Op, type S3Reply } from "../tools/upload/s3";
import { FakeBucket } from "./upload-fake-s3";

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export interface FakeHttpS3 {
    /** http://127.0.0.1:<port> */
    endpoint: string;
    port: number;
    /** the bucket every request reaches (whatever bucket name the path carries) */
    bucket: FakeBucket;
    /** the bucket names the requests' paths carried */
    bucketNames: string[];
    close(): Promise<void>;
}

export async function startFakeHttpS3(bucket: FakeBucket = new FakeBucket()): Promise<FakeHttpS3> {
    const bucketNames: string[] = [];
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const url = new URL(req.url ?? "/", "http://x");
            const [, name = "", ...rest] = url.pathname.split("/");
            bucketNames.push(decodeURIComponent(name));
            const key = rest.length ? decodeURIComponent(rest.join("/")) : undefined;
            const query: Record<string, string> = {};
            for (const [k, v] of url.searchParams) query[k] = v;
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
            const body = chunks.length ? Buffer.concat(chunks) : undefined;
            const op: S3Op<{ text: string; reply: S3Reply }> = {
                method: req.method as S3Op<unknown>["method"],
                key: key === "" ? undefined : key,
                query,
                headers,
                body,
                reader: () => {
                    let text = "";
                    return {
                        write: (t) => {
                            text += t;
                        },
                        end: (reply) => ({ text, reply }),
                    };
                },
            };
            bucket.send(op, `${req.method} ${key ?? ""}`).then(
                ({ text, reply }) => {
                    const out: Record<string, string> = {};
                    for (const [k, v] of Object.entries(reply.headers)) if (typeof v === "string") out[k] = v;
                    res.writeHead(reply.status, out).end(text);
                },
                (err: unknown) => {
                    if (!(err instanceof S3Error)) {
                        // a hook's network error: the connection drops
                        res.socket?.destroy();
                        return;
                    }
                    const status = err.$metadata.httpStatusCode ?? 500;
                    res.writeHead(status, { "content-type": "application/xml" }).end(
                        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${xml(err.name)}</Code><Message>${xml(err.message)}</Message></Error>`,
                    );
                },
            );
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    return {
        endpoint: `http://127.0.0.1:${port}`,
        port,
        bucket,
        bucketNames,
        close: () =>
            new Promise<void>((r) => {
                server.closeAllConnections();
                server.close(() => r());
            }),
    };
}

/**
 * useLocalS3's shape (helpers-s3.ts) over one FakeHttpS3 for a test file, started before its tests
 * and closed after them, for tests whose subject is not the S3 server (the receiver call after a
 * sync, the port-forward to the bucket): no server process, no disk. `freshBucket()` empties the
 * one bucket (objects, uploads, requests) and names it; `s3().objects()` is its key → body.
 */
export function useFakeS3(prefix: string): {
    s3: () => { endpoint: string; port: number; objects: (bucket: string) => Promise<Map<string, Buffer>> };
    freshBucket: () => Promise<string>;
} {
    let fake: FakeHttpS3 | undefined;
    let seq = 0;
    before(async () => {
        fake = await startFakeHttpS3();
    });
    after(async () => {
        await fake?.close();
    });
    const running = () => {
        if (!fake) throw new Error("the fake S3 server is not running (use inside a test)");
        return fake;
    };
    return {
        s3: () => {
            const { endpoint, port, bucket } = running();
            return {
                endpoint,
                port,
                objects: async () => new Map([...bucket.objects].map(([key, o]) => [key, o.body])),
            };
        },
        freshBucket: async () => {
            const fresh = new FakeBucket();
            Object.assign(running().bucket, {
                objects: fresh.objects,
                uploads: fresh.uploads,
                requests: fresh.requests,
            });
            running().bucket.hook = undefined;
            return `${prefix}-${++seq}`;
        },
    };
}
