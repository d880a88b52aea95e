// s3.ts's `send` against a plain loopback HTTP server in this process (no S3 server): what goes
// on the wire (path-style URL, query, signed headers, payload hash, body in pieces), how replies
// become results or S3 errors (S3's XML Error document, bodiless replies by status), which
// failures are retried (5xx, resets, stalls) and which end at once (4xx, aborts), the request
// counters, and the one-line descriptions of errors. A test file of `make mutation GROUP=upload-s3`.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { getEventListeners } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { SignatureV4 } from "@smithy/signature-v4";
import { classify } from "../tools/upload/retry";
import {
    addressOf,
    createClient,
    describeError,
    networkError,
    S3Error,
    type S3Op,
    TLS_TRUST,
    textReader,
    usePathStyle,
} from "../tools/upload/s3";
import { Sha256 } from "./smithy-sha256";

interface Seen {
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
}

type Handler = (req: Seen, res: http.ServerResponse) => void;

let server: http.Server;
let endpoint = "";
let handler: Handler = (_req, res) => res.end();
const seen: Seen[] = [];

before(async () => {
    server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const s = {
                method: req.method ?? "",
                url: req.url ?? "",
                headers: req.headers,
                body: Buffer.concat(chunks),
            };
            seen.push(s);
            handler(s, res);
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
});

/**
 * Whether a request's signature is the one the AWS SDK's signer (@smithy/signature-v4) computes
 * for it: the same method, path, query, signed headers, date and secret.
 */
async function sdkAgrees(req: Seen, secretAccessKey: string): Promise<boolean> {
    const auth =
        /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
            String(req.headers.authorization ?? ""),
        );
    if (!auth) return false;
    const [rawPath = "", rawQuery = ""] = req.url.split("?");
    const query: Record<string, string> = {};
    for (const pair of rawQuery ? rawQuery.split("&") : []) {
        const [k = "", v = ""] = pair.split("=");
        query[decodeURIComponent(k)] = decodeURIComponent(v);
    }
    const headers: Record<string, string> = {};
    for (const h of auth[4]!.split(";")) headers[h] = String(req.headers[h] ?? "");
    const date = String(req.headers["x-amz-date"]);
    const signed = await new SignatureV4({
        credentials: { accessKeyId: auth[1]!, secretAccessKey },
        region: auth[3]!,
        service: "s3",
        sha256: Sha256,
        uriEscapePath: false,
    }).sign(
        {
            method: req.method,
            protocol: "http:",
            hostname: String(req.headers.host),
            path: rawPath,
            query,
            headers,
            body: req.body,
        },
        {
            signingDate: new Date(
                `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
            ),
            unsignableHeaders: new Set(Object.keys(req.headers).filter((h) => !(h in headers))),
        },
    );
    return /Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization))?.[1] === auth[5];
}

const FAST = { baseMs: 1, throttleBaseMs: 1, capMs: 2 };
const CREDS = { accessKeyId: "AKID", secretAccessKey: "secret" };

function client(o: { requestTimeoutMs?: number; signal?: AbortSignal; attempts?: number; path?: string } = {}) {
    seen.length = 0;
    return createClient({
        endpoint: `${endpoint}${o.path ?? ""}`,
        region: "us-east-1",
        credentials: CREDS,
        bucket: "bkt",
        concurrency: 2,
        retry: { ...FAST, attempts: o.attempts ?? 3 },
        requestTimeoutMs: o.requestTimeoutMs,
        signal: o.signal,
    });
}

const xmlError = (code: string, message: string) =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>r1</RequestId></Error>`;

describe("upload S3 client: requests", () => {
    test("path-style URLs with the encoded key and the sorted query; signed headers; payload hash by kind", async () => {
        const c = client();
        handler = (_req, res) => res.end();
        try {
            const body = Buffer.from("a: 1\n");
            await c.send({ method: "PUT", key: "dir/a b&c.yaml", headers: { "content-md5": "x" }, body }, "PUT");
            await c.send({ method: "POST", query: { delete: "", z: "1" }, body, signBody: true }, "POST");
            await c.send({ method: "GET", query: { "list-type": "2", prefix: undefined } }, "GET");
            await c.send({ method: "DELETE", key: "k" }, "DELETE");
            assert.deepEqual(
                seen.map((s) => `${s.method} ${s.url}`),
                ["PUT /bkt/dir/a%20b%26c.yaml", "POST /bkt/?delete=&z=1", "GET /bkt/?list-type=2", "DELETE /bkt/k"],
            );
            assert.deepEqual(
                seen.map((s) => s.headers["x-amz-content-sha256"]),
                [
                    "UNSIGNED-PAYLOAD",
                    createHash("sha256").update(body).digest("hex"),
                    createHash("sha256").update("").digest("hex"),
                    createHash("sha256").update("").digest("hex"),
                ],
            );
            assert.equal(seen[0]!.headers["content-length"], "5");
            assert.equal(seen[0]!.headers["content-md5"], "x");
            assert.deepEqual(seen[0]!.body, body);
            assert.equal(seen[0]!.headers.host, endpoint.slice("http://".length));
            for (const s of seen) {
                assert.match(s.headers["x-amz-date"] as string, /^\d{8}T\d{6}Z$/);
                assert.match(
                    s.headers.authorization as string,
                    /^AWS4-HMAC-SHA256 Credential=AKID\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
                );
            }
            // every signature is the AWS SDK's for the request as it arrived; the PUT's Content-MD5 is
            // signed (a body changed on the way then fails S3's BadDigest check)
            for (const s of seen) assert.ok(await sdkAgrees(s, CREDS.secretAccessKey), `${s.method} ${s.url}`);
            assert.ok(!(await sdkAgrees(seen[0]!, "another secret")), "the check can fail");
            assert.deepEqual(/SignedHeaders=([^,]+)/.exec(String(seen[0]!.headers.authorization))?.[1]?.split(";"), [
                "content-length",
                "content-md5",
                "host",
                "x-amz-content-sha256",
                "x-amz-date",
            ]);
            assert.equal(c.stats.describe(), "4 requests (DELETE 1, GET 1, POST 1, PUT 1)");
            assert.equal(c.stats.total, 4);
        } finally {
            c.client.destroy();
        }
    });

    test("an endpoint with a path keeps it before the bucket", async () => {
        const c = client({ path: "/base/" });
        handler = (_req, res) => res.end();
        try {
            await c.send({ method: "GET", key: "x" }, "GET");
            assert.equal(seen[0]!.url, "/base/bkt/x");
        } finally {
            c.client.destroy();
        }
    });

    test("a body above 256 KiB arrives whole", async () => {
        const c = client();
        handler = (_req, res) => res.end();
        try {
            const body = Buffer.alloc(256 * 1024 * 3 + 7);
            for (let i = 0; i < body.length; i++) body[i] = i % 253;
            await c.send({ method: "PUT", key: "big", body }, "PUT");
            assert.equal(seen[0]!.headers["content-length"], String(body.length));
            assert.equal(
                createHash("md5").update(seen[0]!.body).digest("hex"),
                createHash("md5").update(body).digest("hex"),
            );
        } finally {
            c.client.destroy();
        }
    });

    test("a success is read by the op's reader (UTF-8 split across pieces), else by its result function", async () => {
        const c = client();
        handler = (_req, res) => {
            res.writeHead(200, { etag: '"abc"', "x-amz-request-id": "r" });
            const text = Buffer.from("<R>é€</R>");
            res.write(text.subarray(0, 4)); // in the middle of é
            setTimeout(() => res.end(text.subarray(4)), 5);
        };
        try {
            const read = await c.send(
                { method: "GET", reader: textReader((t, reply) => `${reply.status} ${t}`) },
                "GET",
            );
            assert.equal(read, "200 <R>é€</R>");
            const op: S3Op<string | undefined> = { method: "HEAD", result: (reply) => reply.headers.etag as string };
            assert.equal(await c.send({ ...op, method: "GET" }, "GET"), '"abc"');
            assert.equal(await c.send({ method: "GET" }, "GET"), undefined);
            await assert.rejects(
                c.send(
                    {
                        method: "GET",
                        reader: textReader(() => {
                            throw new Error("unreadable");
                        }),
                    },
                    "GET",
                ),
                /unreadable/,
            );
        } finally {
            c.client.destroy();
        }
    });
});

describe("upload S3 client: errors and retries", () => {
    test("S3's XML error document gives the error's name, message, status and request id; 4xx is not retried", async () => {
        const c = client();
        handler = (_req, res) => {
            res.writeHead(403, { "content-type": "application/xml", "x-amz-request-id": "req-7" });
            res.end(xmlError("AccessDenied", "Access Denied"));
        };
        try {
            const err = (await c
                .send({ method: "GET", reader: textReader((t) => t) }, "GET")
                .catch((e: unknown) => e)) as S3Error;
            assert.ok(err instanceof S3Error);
            assert.equal(err.name, "AccessDenied");
            assert.equal(err.message, "Access Denied");
            assert.deepEqual(err.$metadata, { httpStatusCode: 403, requestId: "req-7" });
            assert.equal(seen.length, 1);
            assert.equal(c.stats.retryable, 0);
        } finally {
            c.client.destroy();
        }
    });

    test("a reply without a body is named by its status; an unknown body is UnknownError", async () => {
        const c = client({ attempts: 1 });
        const cases: Array<[number, string, string, string]> = [
            [404, "", "NotFound", "NotFound"],
            [400, "", "BadRequest", "BadRequest"],
            [405, "", "MethodNotAllowed", "MethodNotAllowed"],
            [418, "", "Http418", "Http418"],
            [409, "<html>conflict</html>", "Http409", "UnknownError"],
            [501, "", "NotImplemented", "NotImplemented"],
        ];
        try {
            for (const [status, body, name, message] of cases) {
                handler = (_req, res) => {
                    res.writeHead(status);
                    res.end(body);
                };
                const err = (await c.send({ method: "GET" }, "GET").catch((e: unknown) => e)) as S3Error;
                assert.equal(err.name, name, String(status));
                assert.equal(err.message, message, String(status));
                assert.equal(err.$metadata.httpStatusCode, status);
            }
        } finally {
            c.client.destroy();
        }
    });

    test("5xx and 429 are retried up to the attempts, counted as retryable; then the last error is thrown", async () => {
        const c = client({ attempts: 3 });
        let n = 0;
        handler = (_req, res) => {
            n++;
            res.writeHead(n === 1 ? 503 : n === 2 ? 429 : 500);
            res.end(n === 1 ? xmlError("SlowDown", "Reduce your request rate.") : "");
        };
        try {
            const err = (await c
                .send({ method: "PUT", key: "k", body: Buffer.from("x") }, "PUT")
                .catch((e: unknown) => e)) as S3Error & {
                attempts?: number;
            };
            assert.equal(err.name, "InternalError");
            assert.equal(err.attempts, 3);
            assert.equal(seen.length, 3);
            assert.equal(c.stats.retryable, 3);
            assert.equal(c.stats.retries, 2);
            assert.equal(c.stats.inFlight.size, 0);
            // fewer attempts for one call (clean-up calls)
            n = 10;
            seen.length = 0;
            await c.send({ method: "DELETE", key: "k" }, "ABORT", { attempts: 1 }).catch(() => undefined);
            assert.equal(seen.length, 1);
            seen.length = 0;
            await c.send({ method: "DELETE", key: "k" }, "ABORT", { attempts: 99 }).catch(() => undefined);
            assert.equal(seen.length, 3, "never more than the policy's attempts");
        } finally {
            c.client.destroy();
        }
    });

    test("a connection reset is a network error (ECONNRESET), retried", async () => {
        const c = client({ attempts: 2 });
        handler = (_req, res) => res.socket?.destroy();
        try {
            const err = (await c.send({ method: "GET" }, "GET").catch((e: unknown) => e)) as Error & {
                code?: string;
                attempts?: number;
            };
            assert.equal(err.code, "ECONNRESET");
            assert.match(err.message, /^connection closed: /);
            assert.equal(err.attempts, 2);
            assert.equal(c.stats.networkErrors, 2);
        } finally {
            c.client.destroy();
        }
    });

    test("a reply that never comes is a TimeoutError after the request timeout, retried", async () => {
        const c = client({ attempts: 2, requestTimeoutMs: 100 });
        const held: http.ServerResponse[] = [];
        handler = (_req, res) => held.push(res);
        try {
            const err = (await c.send({ method: "GET" }, "GET").catch((e: unknown) => e)) as Error & {
                attempts?: number;
            };
            assert.equal(err.name, "TimeoutError");
            assert.match(err.message, /^no reply for the request timeout \(/);
            assert.equal(err.attempts, 2);
        } finally {
            for (const r of held) r.socket?.destroy();
            c.client.destroy();
        }
    });

    test("the client's signal aborts a request in flight (AbortError, not retried); an aborted one is never sent", async () => {
        const hard = new AbortController();
        const c = client({ signal: hard.signal, attempts: 5 });
        const held: http.ServerResponse[] = [];
        handler = (_req, res) => {
            held.push(res);
            hard.abort();
        };
        try {
            const err = (await c.send({ method: "GET" }, "GET").catch((e: unknown) => e)) as Error;
            assert.equal(err.name, "AbortError");
            assert.equal(seen.length, 1);
            seen.length = 0;
            const again = (await c.send({ method: "GET" }, "GET").catch((e: unknown) => e)) as Error;
            assert.equal(again.name, "AbortError");
            assert.equal(seen.length, 0);
            // a call with its own signal is not stopped by the client's
            handler = (_req, res) => res.end();
            await c.send({ method: "DELETE", key: "k" }, "ABORT", { abortSignal: AbortSignal.timeout(5_000) });
            assert.equal(seen.length, 1);
        } finally {
            for (const r of held) r.socket?.destroy();
            c.client.destroy();
        }
    });
});

describe("upload S3 client: addressing and messages", () => {
    test("path-style for http, localhost, IP addresses and bucket names with dots; virtual-hosted otherwise", () => {
        assert.equal(usePathStyle("http://minio.example.com", "b"), true);
        assert.equal(usePathStyle("https://localhost:9000", "b"), true);
        assert.equal(usePathStyle("https://10.0.0.1", "b"), true);
        assert.equal(usePathStyle("https://[::1]:9000", "b"), true);
        assert.equal(usePathStyle("https://fra1.digitaloceanspaces.com", "my.bucket"), true);
        assert.equal(usePathStyle("https://fra1.digitaloceanspaces.com", "my-bucket"), false);
        assert.equal(usePathStyle("https://10.0.0.1.example.com", "b"), false);
    });

    test("each error is one sentence naming what to check; attempts are added when there were several", () => {
        const ctx = { endpoint: "https://fra1.example", bucket: "bk" };
        const s3 = (code: string, status: number, message = code) => new S3Error(code, message, status);
        const net = (code: string, message = code) => Object.assign(new Error(message), { code });
        const cases: Array<[unknown, string]> = [
            [s3("NoSuchBucket", 404), 'bucket "bk" does not exist at https://fra1.example'],
            [
                s3("InvalidAccessKeyId", 403),
                "the access key was rejected by https://fra1.example (InvalidAccessKeyId): check AWS_ACCESS_KEY_ID or the stack's uploadAccessKeyId",
            ],
            [
                s3("SignatureDoesNotMatch", 403),
                "the secret key was rejected by https://fra1.example (SignatureDoesNotMatch): check AWS_SECRET_ACCESS_KEY or the stack's uploadSecretAccessKey",
            ],
            [
                s3("AccessDenied", 403),
                'access denied to bucket "bk" at https://fra1.example: the key is valid but not allowed to use this bucket',
            ],
            [
                net("SELF_SIGNED_CERT_IN_CHAIN"),
                "the TLS certificate of https://fra1.example is not trusted (SELF_SIGNED_CERT_IN_CHAIN); certificate checks are never turned off (NODE_EXTRA_CA_CERTS=FILE adds a root to trust)",
            ],
            [
                Object.assign(new Error("x"), { cause: { code: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY" } }),
                "the TLS certificate of https://fra1.example is not trusted (UNABLE_TO_GET_ISSUER_CERT_LOCALLY); certificate checks are never turned off (NODE_EXTRA_CA_CERTS=FILE adds a root to trust)",
            ],
            [net("ECONNREFUSED"), "cannot reach endpoint https://fra1.example (ECONNREFUSED)"],
            [net("EHOSTUNREACH"), "cannot reach endpoint https://fra1.example (EHOSTUNREACH)"],
            [net("EPROTO", "weird"), "Error: weird"],
            [
                Object.assign(new Error("no reply for the request timeout (x)"), { name: "TimeoutError" }),
                "endpoint https://fra1.example did not answer in time (no reply for the request timeout (x))",
            ],
            [new Error("socket timed out"), "endpoint https://fra1.example did not answer in time (socket timed out)"],
            [s3("Forbidden", 403), "access denied by https://fra1.example (HTTP 403 Forbidden): check the upload key"],
            [s3("NotFound", 404), 'not found at https://fra1.example (HTTP 404 NotFound): does bucket "bk" exist?'],
            [
                s3("InternalError", 500, "We encountered an internal error"),
                "InternalError (HTTP 500): We encountered an internal error",
            ],
            [s3("BadGateway", 502), "BadGateway (HTTP 502)"],
            [s3("Http409", 409, "UnknownError"), "Http409 (HTTP 409)"],
            [
                Object.assign(s3("InternalError", 500, "boom"), { attempts: 10 }),
                "InternalError (HTTP 500): boom (last of 10 attempts)",
            ],
            [Object.assign(s3("InternalError", 500, "boom"), { attempts: 1 }), "InternalError (HTTP 500): boom"],
            [undefined, "Error"],
        ];
        assert.deepEqual(
            cases.map(([err]) => describeError(err, ctx)),
            cases.map(([, want]) => want),
        );
    });
});

describe("upload S3 client: replies and failures by their published names", () => {
    test("a reply without a body is named by its status: the HTTP reason phrase (S3's InternalError for 500)", async () => {
        const c = client({ attempts: 1 });
        // RFC 9110 / RFC 6585 reason phrases (Node's http.STATUS_CODES) without spaces; 500 is
        // S3's own code for it (S3 API reference, "Error codes": InternalError, 500)
        const statuses = [400, 403, 404, 405, 429, 500, 501, 502, 503, 504];
        const want = statuses.map((st) => (st === 500 ? "InternalError" : http.STATUS_CODES[st]!.replace(/ /g, "")));
        const got: string[] = [];
        try {
            for (const status of statuses) {
                handler = (_req, res) => {
                    res.writeHead(status);
                    res.end();
                };
                const err = (await c.send({ method: "GET" }, "GET").catch((e: unknown) => e)) as S3Error;
                assert.equal(err.message, err.name, "no body: the message is the name");
                got.push(err.name);
            }
            assert.deepEqual(got, want);
            assert.equal(c.stats.retryable, 6, "429 and the five 5xx");
        } finally {
            c.client.destroy();
        }
    });

    test("a reply whose body stalls after its headers is a TimeoutError too", async () => {
        const c = client({ attempts: 1, requestTimeoutMs: 100 });
        const held: http.ServerResponse[] = [];
        handler = (_req, res) => {
            res.writeHead(200);
            res.write("<ListBucketResult>");
            held.push(res);
        };
        try {
            const err = (await c
                .send({ method: "GET", reader: textReader((t) => t) }, "GET")
                .catch((e: unknown) => e)) as Error & { cause?: { code?: string } };
            assert.equal(err.name, "TimeoutError");
            assert.match(err.message, /^no reply for the request timeout \(/);
            assert.equal(err.cause?.code, "UND_ERR_BODY_TIMEOUT");
        } finally {
            for (const r of held) r.socket?.destroy();
            c.client.destroy();
        }
    });

    test("a call on a closed client is a network error (ECONNRESET, connection closed), counted", async () => {
        const c = client({ attempts: 1 });
        handler = (_req, res) => res.end();
        c.client.destroy();
        const err = (await c.send({ method: "GET" }, "GET").catch((e: unknown) => e)) as Error & {
            code?: string;
            cause?: { code?: string };
        };
        assert.equal(err.code, "ECONNRESET");
        assert.match(err.message, /^connection closed: /);
        assert.equal(err.cause?.code, "UND_ERR_DESTROYED");
        assert.equal(seen.length, 0);
    });

    test("the request in flight is listed with its label until it ends; the time of the last end is kept", async () => {
        const c = client({ attempts: 1 });
        let release: () => void = () => undefined;
        handler = (_req, res) => {
            release = () => res.end();
        };
        try {
            assert.equal(c.stats.describe(), "0 requests (none)");
            const before = Date.now();
            const call = c.send({ method: "GET", key: "x" }, "GET x");
            for (let i = 0; i < 500 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
            assert.deepEqual(
                [...c.stats.inFlight].map((f) => f.label),
                ["GET x"],
            );
            const [entry] = c.stats.inFlight;
            assert.ok(entry!.since >= before && entry!.since <= Date.now());
            await new Promise((r) => setTimeout(r, 10)); // the client was made at least 10 ms ago
            const released = Date.now();
            release();
            await call;
            assert.equal(c.stats.inFlight.size, 0);
            assert.ok(c.stats.lastDone >= released, "lastDone is when the call ended");
        } finally {
            c.client.destroy();
        }
    });

    test("certificate failures are OpenSSL's verify codes (as Node names them), whole codes only", () => {
        const ctx = { endpoint: "https://fra1.example", bucket: "bk" };
        // OpenSSL's X509_V_ERR_* names for an untrusted chain, and Node's name for a wrong host
        const trust = [
            "DEPTH_ZERO_SELF_SIGNED_CERT",
            "SELF_SIGNED_CERT_IN_CHAIN",
            "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
            "UNABLE_TO_GET_ISSUER_CERT",
            "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
            "CERT_HAS_EXPIRED",
            "CERT_NOT_YET_VALID",
            "CERT_UNTRUSTED",
            "CERT_SIGNATURE_FAILURE",
            "ERR_TLS_CERT_ALTNAME_INVALID",
        ];
        for (const code of trust) {
            assert.ok(TLS_TRUST.test(code), code);
            assert.equal(
                describeError(Object.assign(new Error("x"), { code }), ctx),
                `the TLS certificate of https://fra1.example is not trusted (${code}); certificate checks are never turned off (NODE_EXTRA_CA_CERTS=FILE adds a root to trust)`,
            );
        }
        for (const code of [
            "XCERT_HAS_EXPIRED",
            "CERT_HAS_EXPIRED_X",
            "UNABLE_TO_GET_ISSUER_CERT_",
            "CERT_REVOKED",
            "",
        ]) {
            assert.equal(TLS_TRUST.test(code), false, code);
        }
    });

    test("unreachable endpoints are the system's connect and DNS error codes, whole codes only", () => {
        const ctx = { endpoint: "https://fra1.example", bucket: "bk" };
        const net = (code: string) => Object.assign(new Error("x"), { code });
        // connect(2) / getaddrinfo(3) failures as libuv names them
        for (const code of [
            "ECONNREFUSED",
            "ENOTFOUND",
            "EAI_AGAIN",
            "ECONNRESET",
            "ETIMEDOUT",
            "EHOSTUNREACH",
            "ENETUNREACH",
        ]) {
            assert.equal(describeError(net(code), ctx), `cannot reach endpoint https://fra1.example (${code})`);
        }
        for (const code of ["XECONNREFUSED", "ECONNREFUSEDX", "EPIPE"]) {
            assert.equal(describeError(net(code), ctx), "Error: x", code);
        }
        // a cause's code counts too; "time out" in any case and spelling is a timeout
        assert.equal(
            describeError(Object.assign(new Error("fetch failed"), { cause: { code: "ENOTFOUND" } }), ctx),
            "cannot reach endpoint https://fra1.example (ENOTFOUND)",
        );
        for (const message of ["Connect Timeout", "request time out", "operation timed out"]) {
            assert.equal(
                describeError(new Error(message), ctx),
                `endpoint https://fra1.example did not answer in time (${message})`,
            );
        }
    });
});

describe("upload S3 client: what a reply leaves behind", () => {
    test("the client's stop signal keeps no listener once a call ended (success, S3 error, reset, reader error)", async () => {
        const hard = new AbortController();
        const c = client({ signal: hard.signal, attempts: 1 });
        const listeners = () => getEventListeners(hard.signal, "abort").length;
        try {
            const replies: Array<Handler> = [
                (_req, res) => res.end(),
                (_req, res) => {
                    res.writeHead(404);
                    res.end(xmlError("NoSuchKey", "The specified key does not exist."));
                },
                (_req, res) => res.socket?.destroy(),
                (_req, res) => res.end("<R/>"),
            ];
            for (const [i, reply] of replies.entries()) {
                handler = reply;
                const reader =
                    i === 3
                        ? textReader(() => {
                              throw new Error("unreadable");
                          })
                        : undefined;
                const call = c.send({ method: "GET", reader }, "GET").catch(() => undefined);
                await call;
                assert.equal(listeners(), 0, `reply ${i}`);
            }
            // while a call is in flight, it listens
            let release: () => void = () => undefined;
            handler = (_req, res) => {
                release = () => res.end();
            };
            const call = c.send({ method: "GET" }, "GET");
            for (let i = 0; i < 500 && seen.length < 5; i++) await new Promise((r) => setTimeout(r, 5));
            assert.equal(listeners(), 1, "one listener while in flight");
            release();
            await call;
            assert.equal(listeners(), 0);
        } finally {
            c.client.destroy();
        }
    });

    test("an error body of white space only is no body: the error is named by its status", async () => {
        const c = client({ attempts: 1 });
        handler = (_req, res) => {
            res.writeHead(503);
            res.end("\n  \r\n");
        };
        try {
            const err = (await c.send({ method: "GET" }, "GET").catch((e: unknown) => e)) as S3Error;
            assert.deepEqual([err.name, err.message], ["ServiceUnavailable", "ServiceUnavailable"]);
        } finally {
            c.client.destroy();
        }
    });

    test("a repeated x-amz-request-id header: the first is the error's request id", async () => {
        const c = client({ attempts: 1 });
        handler = (_req, res) => {
            res.setHeader("x-amz-request-id", ["first-id", "second-id"]);
            res.writeHead(403);
            res.end(xmlError("AccessDenied", "Access Denied"));
        };
        try {
            const err = (await c.send({ method: "GET" }, "GET").catch((e: unknown) => e)) as S3Error;
            assert.equal(err.$metadata.requestId, "first-id");
        } finally {
            c.client.destroy();
        }
    });

    test("text split anywhere, even inside a character, reads as sent; a cut-off last character is U+FFFD, never dropped", async () => {
        const c = client({ attempts: 1 });
        const text = Buffer.from("<Message>é€😀 ok</Message>");
        try {
            for (const status of [200, 400]) {
                for (const cut of [10, 11, 12, 13, 14, 15, 16]) {
                    handler = (_req, res) => {
                        res.writeHead(status);
                        res.write(text.subarray(0, cut));
                        setTimeout(() => res.end(text.subarray(cut)), 2);
                    };
                    const got = await c
                        .send({ method: "GET", reader: textReader((t) => t) }, "GET")
                        .catch((e: unknown) => (e as Error).message);
                    assert.equal(got, status === 200 ? text.toString() : "é€😀 ok", `${status}, cut at ${cut}`);
                }
                handler = (_req, res) => {
                    res.writeHead(status);
                    res.end(Buffer.concat([Buffer.from("<Message>x"), Buffer.from("é").subarray(0, 1)]));
                };
                const got = await c
                    .send({ method: "GET", reader: textReader((t) => t) }, "GET")
                    .catch((e: unknown) => (e as S3Error).name);
                // an error body that is no S3 document: named by its status (no Code), UnknownError
                assert.equal(got, status === 200 ? "<Message>x\ufffd" : "BadRequest", String(status));
            }
        } finally {
            c.client.destroy();
        }
    });

    test("bodies of 256 KiB and one byte more (one piece, then two) arrive whole", async () => {
        const c = client();
        handler = (_req, res) => res.end();
        try {
            for (const size of [256 * 1024 - 1, 256 * 1024, 256 * 1024 + 1, 512 * 1024]) {
                seen.length = 0;
                const body = Buffer.alloc(size);
                for (let i = 0; i < size; i++) body[i] = (i * 7) % 251;
                await c.send({ method: "PUT", key: "k", body }, "PUT");
                assert.equal(seen[0]!.headers["content-length"], String(size));
                assert.ok(seen[0]!.body.equals(body), String(size));
            }
        } finally {
            c.client.destroy();
        }
    });

    test("a request the HTTP layer refuses to send (a header with a line break) fails at once, unsent", async () => {
        const c = client({ attempts: 3 });
        handler = (_req, res) => res.end();
        try {
            const err = (await c
                .send(
                    {
                        method: "PUT",
                        key: "k",
                        headers: { "content-type": "a\r\nx-injected: 1" },
                        body: Buffer.from("x"),
                    },
                    "PUT",
                )
                .catch((e: unknown) => e)) as Error & { attempts?: number };
            assert.ok(err instanceof Error);
            assert.match(err.message, /header/i);
            assert.equal(seen.length, 0);
            assert.equal(c.stats.inFlight.size, 0);
        } finally {
            c.client.destroy();
        }
    });
});

describe("upload S3 client: stopping and addressing", () => {
    test("an abort before the connection is up ends the call at once (AbortError); the request is never answered", async () => {
        const hard = new AbortController();
        const c = client({ signal: hard.signal, attempts: 5 });
        handler = (_req, res) => res.end();
        try {
            const call = c.send({ method: "PUT", key: "k", body: Buffer.from("x") }, "PUT").catch((e: unknown) => e);
            await new Promise((r) => setImmediate(r));
            hard.abort();
            const err = (await call) as Error;
            assert.equal(err.name, "AbortError");
            await new Promise((r) => setTimeout(r, 50));
            assert.equal(seen.length, 0, "nothing reached the server");
            assert.equal(c.stats.retries, 0);
        } finally {
            c.client.destroy();
        }
    });

    test("an abort in flight closes the request's connection (the server stops sending)", async () => {
        const hard = new AbortController();
        const c = client({ signal: hard.signal, attempts: 1 });
        let closed: Promise<void> = Promise.resolve();
        handler = (_req, res) => {
            closed = new Promise((r) => res.on("close", () => r()));
            res.writeHead(200);
            res.write("<ListBucketResult>");
            hard.abort();
        };
        try {
            const err = (await c
                .send({ method: "GET", reader: textReader((t) => t) }, "GET")
                .catch((e: unknown) => e)) as Error;
            assert.equal(err.name, "AbortError");
            const timeout = new Promise<string>((r) => setTimeout(() => r("still open"), 2_000));
            assert.equal(await Promise.race([closed.then(() => "closed"), timeout]), "closed");
        } finally {
            c.client.destroy();
        }
    });

    test("a stopped run makes no new attempt: a 503 under an aborted stop signal is a StoppedError after one request", async () => {
        const c = client({ attempts: 5 });
        handler = (_req, res) => {
            res.writeHead(503);
            res.end(xmlError("SlowDown", "Please reduce your request rate."));
        };
        const stop = new AbortController();
        stop.abort();
        try {
            const err = (await c
                .send({ method: "GET" }, "GET", { stop: stop.signal })
                .catch((e: unknown) => e)) as Error;
            assert.equal(err.name, "StoppedError");
            assert.equal(seen.length, 1);
        } finally {
            c.client.destroy();
        }
    });

    test("every status from 300 on is an error with S3's document (301 PermanentRedirect: the bucket's region)", async () => {
        const c = client({ attempts: 1 });
        try {
            for (const status of [300, 301, 307]) {
                handler = (_req, res) => {
                    res.writeHead(status, { "content-type": "application/xml" });
                    res.end(
                        xmlError(
                            "PermanentRedirect",
                            "The bucket you are attempting to access must be addressed using the specified endpoint.",
                        ),
                    );
                };
                const err = (await c
                    .send({ method: "GET", reader: textReader((t) => t) }, "GET")
                    .catch((e: unknown) => e)) as S3Error;
                assert.ok(err instanceof S3Error, String(status));
                assert.deepEqual(
                    [err.name, err.message, err.$metadata.httpStatusCode],
                    [
                        "PermanentRedirect",
                        "The bucket you are attempting to access must be addressed using the specified endpoint.",
                        status,
                    ],
                );
            }
        } finally {
            c.client.destroy();
        }
    });

    test("an endpoint path's trailing slashes, however many, are dropped before the bucket", async () => {
        for (const base of ["/base", "/base/", "/base///"]) {
            const c = client({ path: base });
            handler = (_req, res) => res.end();
            try {
                await c.send({ method: "GET", key: "x" }, "GET");
                assert.equal(seen[0]!.url, "/base/bkt/x", base);
            } finally {
                c.client.destroy();
            }
        }
    });
});

describe("upload S3 client: addresses and undici's errors", () => {
    test("virtual-hosted style (bucket in the host name) unless path style is needed; the endpoint's path first", () => {
        // the S3 user guide's two forms: https://bucket.s3.region.amazonaws.com/key and https://s3.region.amazonaws.com/bucket/key
        assert.deepEqual(addressOf({ endpoint: "https://fra1.digitaloceanspaces.com", bucket: "my-bucket" }), {
            origin: "https://my-bucket.fra1.digitaloceanspaces.com",
            host: "my-bucket.fra1.digitaloceanspaces.com",
            basePath: "",
        });
        assert.deepEqual(addressOf({ endpoint: "https://minio.example:9443/s3/", bucket: "b" }), {
            origin: "https://b.minio.example:9443",
            host: "b.minio.example:9443",
            basePath: "/s3",
        });
        assert.deepEqual(addressOf({ endpoint: "https://fra1.digitaloceanspaces.com", bucket: "my.bucket" }), {
            origin: "https://fra1.digitaloceanspaces.com",
            host: "fra1.digitaloceanspaces.com",
            basePath: "/my.bucket",
        });
        assert.deepEqual(addressOf({ endpoint: "http://127.0.0.1:9000//", bucket: "b k" }), {
            origin: "http://127.0.0.1:9000",
            host: "127.0.0.1:9000",
            basePath: "/b%20k",
        });
    });

    test("undici's network errors become what retry.ts retries and describeError names; anything else is kept", () => {
        const errors = require("undici/lib/core/errors") as Record<string, new (m: string) => Error & { code: string }>;
        const timeouts: Array<[string, RegExp]> = [
            ["ConnectTimeoutError", /^connect timed out \(undici says\)$/],
            ["HeadersTimeoutError", /^no reply for the request timeout \(undici says\)$/],
            ["BodyTimeoutError", /^no reply for the request timeout \(undici says\)$/],
        ];
        for (const [name, message] of timeouts) {
            const cause = new errors[name]!("undici says");
            const e = networkError(cause) as Error & { cause?: unknown };
            assert.equal(e.name, "TimeoutError", name);
            assert.match(e.message, message, name);
            assert.equal(e.cause, cause, name);
            assert.equal(classify(e), "retry", name);
        }
        for (const name of ["SocketError", "ClientClosedError", "ClientDestroyedError"]) {
            const cause = new errors[name]!("undici says");
            const e = networkError(cause) as Error & { code?: string; cause?: unknown };
            assert.deepEqual(
                [e.code, e.message, e.cause],
                ["ECONNRESET", "connection closed: undici says", cause],
                name,
            );
            assert.equal(classify(e), "retry", name);
        }
        for (const other of [new errors.InvalidArgumentError!("bad header"), new Error("x"), undefined, "text"]) {
            assert.equal(networkError(other), other);
        }
    });
});
