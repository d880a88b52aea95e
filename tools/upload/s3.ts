// The S3 client for Spaces (or any S3-compatible endpoint): every call the tool
// makes (ListObjectsV2, PutObject, DeleteObjects, the multipart calls and
// ListMultipartUploads) goes through one path, `send`: a request described by
// an S3Op, signed with SigV4 (sigv4.ts), sent over a keep-alive connection pool
// (undici's Pool, HTTP/1.1), its reply read as it arrives (xml.ts), with this
// tool's own per-request retries (retry.ts). It replaces the AWS SDK, whose
// middleware, serialisers and Node HTTP handler were most of the client's CPU
// per request in a 10,000-file profile (see docs/upload.md).
import { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type { Dispatcher, Pool as PoolType } from "undici";
import { DEFAULT_RETRY, type RetryPolicy, withRetries } from "./retry";
import { canonicalQuery, EMPTY_SHA256, SigV4Signer, sha256Hex, UNSIGNED_PAYLOAD, uriEncode } from "./sigv4";
import { childText } from "./xml";

export interface Credentials {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
}

export interface ClientOptions {
    endpoint: string;
    region: string;
    credentials: Credentials;
    /** sockets kept open; should match the number of parallel operations */
    concurrency: number;
    /** per-request retry schedule (see retry.ts); throttling, 5xx, timeouts and network errors are retried */
    retry?: Partial<RetryPolicy>;
    /**
     * An attempt that receives no reply (headers, or the next piece of its body)
     * for this long (a stalled server) fails with a TimeoutError and is retried
     * (default 20 s).
     */
    requestTimeoutMs?: number;
    /**
     * Aborts every request in flight or still to come, unless a request passes
     * its own `abortSignal` (a hard abort: second Ctrl-C, or the grace period
     * after the first one ran out).
     */
    signal?: AbortSignal;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 20_000;
const CONNECT_TIMEOUT_MS = 5_000;

/** One request being sent (all its attempts), for the "still waiting" progress line. */
export interface InFlight {
    label: string;
    since: number;
}

/** What went over the wire, counted at the HTTP layer (every attempt counts). */
export class RequestStats {
    total = 0;
    byMethod: Record<string, number> = {};
    /** responses with status 429 or >= 500 (each is retried while attempts remain) */
    retryable = 0;
    networkErrors = 0;
    /** attempts that were repeated (any reason) */
    retries = 0;
    /** requests being sent now */
    inFlight = new Set<InFlight>();
    /** when a request last completed (or failed for good) */
    lastDone = Date.now();

    describe(): string {
        const parts = Object.entries(this.byMethod)
            .sort()
            .map(([m, n]) => `${m} ${n}`);
        return `${this.total} requests (${parts.join(", ") || "none"})`;
    }
}

/** Path-style addressing for IPs, localhost, plain http and bucket names with dots. */
export function usePathStyle(endpoint: string, bucket: string): boolean {
    const url = new URL(endpoint);
    // Stryker disable next-line Regex,StringLiteral,MethodExpression: an IPv6 hostname ("[::1]") holds ":" with or without its brackets, and no other hostname has brackets
    const host = url.hostname.replace(/^\[|\]$/g, "");
    return (
        url.protocol === "http:" ||
        host === "localhost" ||
        /^\d+\.\d+\.\d+\.\d+$/.test(host) ||
        host.includes(":") ||
        bucket.includes(".")
    );
}

/** An error reply of the server: `name` is S3's error code (NoSuchBucket, SlowDown, …). */
export class S3Error extends Error {
    readonly $metadata: { httpStatusCode: number; requestId?: string };
    constructor(code: string, message: string, status: number, requestId?: string) {
        super(message);
        this.name = code;
        this.$metadata = { httpStatusCode: status, requestId };
    }
}

/** The attempt got no reply in time (stalled server, connect timeout). */
class TimeoutError extends Error {
    override name = "TimeoutError";
}

/** The reply of one attempt. */
export interface S3Reply {
    status: number;
    headers: Record<string, string | string[] | undefined>;
}

/** Reads a successful reply's body as it arrives. */
export interface BodyReader<O> {
    write(text: string): void;
    end(reply: S3Reply): O;
}

/** One S3 call: what to send, and how to read a successful reply. */
export interface S3Op<O> {
    method: "GET" | "PUT" | "POST" | "DELETE" | "HEAD";
    /** object key (unencoded); none for bucket-level calls */
    key?: string;
    /** query parameters; "" for flags such as `uploads` */
    query?: Record<string, string | undefined>;
    /** headers besides host and the signature's */
    headers?: Record<string, string>;
    body?: Buffer;
    /** sign the body's SHA-256 (small XML bodies); otherwise UNSIGNED-PAYLOAD (bodies with a signed Content-MD5) */
    signBody?: boolean;
    /** a fresh reader per attempt; without one the body is ignored */
    reader?: () => BodyReader<O>;
    /** the result when there is no reader */
    result?: (reply: S3Reply) => O;
}

/** Options of one `send`. */
export interface SendOptions {
    /** no new attempt after this aborts (first Ctrl-C): the request ends with a StoppedError */
    stop?: AbortSignal;
    /** a per-call signal instead of the client-wide one */
    abortSignal?: AbortSignal;
    /** fewer attempts than the policy (clean-up calls) */
    attempts?: number;
}

/** Sends a call with this tool's own retries; `label` names it in progress lines ("PUT apps/x.yaml"). */
export type SendFn = <O>(op: S3Op<O>, label: string, options?: SendOptions) => Promise<O>;

/** Reads a whole reply body as text, then `parse`s it. */
export function textReader<O>(parse: (text: string, reply: S3Reply) => O): () => BodyReader<O> {
    return () => {
        let text = "";
        return {
            write: (t) => {
                text += t;
            },
            end: (reply) => parse(text, reply),
        };
    };
}

const firstHeader = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** The error for a reply with status >= 300 and its body. */
function replyError(status: number, body: string, headers: S3Reply["headers"]): S3Error {
    const code = childText(body, "Code") ?? STATUS_CODES[status] ?? `Http${status}`;
    const message = childText(body, "Message") ?? (body.trim() === "" ? code : "UnknownError");
    return new S3Error(code, message, status, firstHeader(headers["x-amz-request-id"]));
}

/** S3's codes for replies without a body (HEAD, some proxies). */
const STATUS_CODES: Record<number, string> = {
    400: "BadRequest",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    429: "TooManyRequests",
    500: "InternalError",
    501: "NotImplemented",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
};

/** undici's errors in the shapes retry.ts and describeError know (network codes, TimeoutError). */
export function networkError(err: unknown): unknown {
    const e = err as Error & { code?: string };
    switch (e?.code) {
        case "UND_ERR_HEADERS_TIMEOUT":
        case "UND_ERR_BODY_TIMEOUT":
            return Object.assign(new TimeoutError(`no reply for the request timeout (${e.message})`), { cause: e });
        case "UND_ERR_CONNECT_TIMEOUT":
            return Object.assign(new TimeoutError(`connect timed out (${e.message})`), { cause: e });
        case "UND_ERR_SOCKET":
        case "UND_ERR_CLOSED":
        case "UND_ERR_DESTROYED":
            return Object.assign(new Error(`connection closed: ${e.message}`), { code: "ECONNRESET", cause: e });
        default:
            return err;
    }
}

/**
 * Bodies above this size are written in pieces of it: undici restarts the stall timer as each
 * piece goes out, so a large part on a slow link times out only when it stops moving (one
 * Buffer is written at once, and its timer would run from the start of the whole upload).
 */
const BODY_CHUNK = 256 * 1024;

function* chunks(body: Buffer): Generator<Buffer> {
    for (let at = 0; at < body.length; at += BODY_CHUNK) yield body.subarray(at, at + BODY_CHUNK);
}

/** An error named AbortError (what fetch and undici reject with), which the retry logic never retries. */
export const abortError = (message = "the request was aborted") =>
    Object.assign(new Error(message), { name: "AbortError" });

/**
 * Where a bucket's requests go: virtual-hosted style (`https://<bucket>.<endpoint host>/<key>`)
 * or path style (`<endpoint>/<bucket>/<key>`, see usePathStyle); the endpoint's own path, without
 * its trailing slashes, comes first.
 */
export function addressOf(opts: { endpoint: string; bucket: string }): {
    origin: string;
    host: string;
    basePath: string;
} {
    const endpoint = new URL(opts.endpoint);
    const pathStyle = usePathStyle(opts.endpoint, opts.bucket);
    const host = pathStyle ? endpoint.host : `${opts.bucket}.${endpoint.host}`;
    const origin = `${endpoint.protocol}//${host}`;
    const basePath = `${endpoint.pathname.replace(/\/+$/, "")}${pathStyle ? `/${uriEncode(opts.bucket)}` : ""}`;
    return { origin, host, basePath };
}

export interface S3Client {
    /** closes every connection */
    destroy(): void;
}

export function createClient(opts: ClientOptions & { bucket: string }): {
    client: S3Client;
    stats: RequestStats;
    send: SendFn;
} {
    const stats = new RequestStats();
    const { origin, host, basePath } = addressOf(opts);
    const timeout = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    // Only the pool, not undici's index (fetch, WebSocket, caches), and only when a sync
    // starts: --help and refused runs do not load it.
    const Pool: typeof PoolType = require("undici/lib/dispatcher/pool");
    const pool = new Pool(origin, {
        connections: opts.concurrency,
        pipelining: 1,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        connect: { timeout: CONNECT_TIMEOUT_MS },
    });
    const signer = new SigV4Signer(opts.credentials, opts.region);

    /** One attempt: resolves with the reader's result, rejects with an S3Error or a network error. */
    const attempt = <O>(op: S3Op<O>, signal: AbortSignal | undefined): Promise<O> =>
        new Promise<O>((resolve, reject) => {
            if (signal?.aborted) return reject(abortError());
            const path = `${basePath}/${op.key === undefined ? "" : uriEncode(op.key, true)}`;
            const query = canonicalQuery(op.query);
            const body = op.body;
            const headers: Record<string, string> = { host, ...op.headers };
            if (body) headers["content-length"] = String(body.length);
            signer.sign({
                method: op.method,
                path,
                query,
                headers,
                payloadHash: !body ? EMPTY_SHA256 : op.signBody ? sha256Hex(body) : UNSIGNED_PAYLOAD,
            });
            stats.total++;
            stats.byMethod[op.method] = (stats.byMethod[op.method] ?? 0) + 1;

            let status = 0;
            let replyHeaders: S3Reply["headers"] = {};
            let reader: BodyReader<O> | undefined;
            let errorText = "";
            const decoder = new StringDecoder("utf8");
            let controller: Dispatcher.DispatchController | undefined;
            let settled = false;
            const onAbort = () => {
                if (controller) controller.abort(abortError());
                else finish(abortError());
            };
            const finish = (err: unknown, value?: O) => {
                if (settled) return;
                settled = true;
                signal?.removeEventListener("abort", onAbort);
                if (err === undefined) resolve(value as O);
                else reject(err);
            };
            signal?.addEventListener("abort", onAbort, { once: true });
            try {
                pool.dispatch(
                    {
                        origin,
                        method: op.method,
                        path: query ? `${path}?${query}` : path,
                        headers,
                        body: body && body.length > BODY_CHUNK ? Readable.from(chunks(body)) : body,
                    },
                    {
                        onRequestStart(c) {
                            controller = c;
                            if (signal?.aborted) c.abort(abortError());
                        },
                        onResponseStart(_c, statusCode, h) {
                            status = statusCode;
                            replyHeaders = h as S3Reply["headers"];
                            if (status === 429 || status >= 500) stats.retryable++;
                            if (status < 300 && op.reader) reader = op.reader();
                        },
                        onResponseData(_c, chunk) {
                            const text = decoder.write(chunk);
                            if (status >= 300) errorText += text;
                            else reader?.write(text);
                        },
                        onResponseEnd() {
                            const tail = decoder.end();
                            if (status >= 300) return finish(replyError(status, errorText + tail, replyHeaders));
                            try {
                                const reply = { status, headers: replyHeaders };
                                if (reader) {
                                    if (tail) reader.write(tail);
                                    finish(undefined, reader.end(reply));
                                } else finish(undefined, op.result ? op.result(reply) : (undefined as O));
                            } catch (err) {
                                finish(err);
                            }
                        },
                        onResponseError(_c, err) {
                            if (signal?.aborted) return finish(abortError());
                            stats.networkErrors++;
                            finish(networkError(err));
                        },
                    },
                );
            } catch (err) {
                finish(networkError(err));
            }
        });

    const policy: RetryPolicy = { ...DEFAULT_RETRY, ...opts.retry };
    const send: SendFn = async <O>(op: S3Op<O>, label: string, options: SendOptions = {}): Promise<O> => {
        const entry: InFlight = { label, since: Date.now() };
        stats.inFlight.add(entry);
        const signal = options.abortSignal ?? opts.signal;
        try {
            return await withRetries(
                () => attempt(op, signal),
                options.attempts ? { ...policy, attempts: Math.min(options.attempts, policy.attempts) } : policy,
                {
                    stop: options.stop,
                    onRetry: () => {
                        stats.retries++;
                    },
                },
            );
        } finally {
            stats.inFlight.delete(entry);
            stats.lastDone = Date.now();
        }
    };
    return {
        client: {
            destroy: () => {
                pool.destroy().catch(() => undefined);
            },
        },
        stats,
        send,
    };
}

/** OpenSSL's verification failures (Node's `err.code`): the endpoint's certificate chain is not trusted. */
export const TLS_TRUST =
    /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE|ERR_TLS_CERT_ALTNAME_INVALID)$/;

/** Turns S3 and network errors into one clear sentence (never includes secrets), with the attempts made. */
export function describeError(err: unknown, ctx: { endpoint: string; bucket: string }): string {
    const attempts = (err as { attempts?: number } | undefined)?.attempts;
    const text = describeOne(err, ctx);
    return attempts && attempts > 1 ? `${text} (last of ${attempts} attempts)` : text;
}

function describeOne(err: unknown, ctx: { endpoint: string; bucket: string }): string {
    const e = err as Partial<S3Error> & { code?: string; cause?: { code?: string } };
    const name = e?.name ?? "Error";
    const status = e?.$metadata?.httpStatusCode;
    const netCode = e?.code ?? e?.cause?.code;
    switch (name) {
        case "NoSuchBucket":
            return `bucket "${ctx.bucket}" does not exist at ${ctx.endpoint}`;
        case "InvalidAccessKeyId":
            return `the access key was rejected by ${ctx.endpoint} (InvalidAccessKeyId): check AWS_ACCESS_KEY_ID or the stack's uploadAccessKeyId`;
        case "SignatureDoesNotMatch":
            return `the secret key was rejected by ${ctx.endpoint} (SignatureDoesNotMatch): check AWS_SECRET_ACCESS_KEY or the stack's uploadSecretAccessKey`;
        case "AccessDenied":
            return `access denied to bucket "${ctx.bucket}" at ${ctx.endpoint}: the key is valid but not allowed to use this bucket`;
    }
    if (netCode && TLS_TRUST.test(netCode)) {
        return `the TLS certificate of ${ctx.endpoint} is not trusted (${netCode}); certificate checks are never turned off (NODE_EXTRA_CA_CERTS=FILE adds a root to trust)`;
    }
    if (netCode && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)$/.test(netCode)) {
        return `cannot reach endpoint ${ctx.endpoint} (${netCode})`;
    }
    if (name === "TimeoutError" || /timed? ?out/i.test(e?.message ?? "")) {
        return `endpoint ${ctx.endpoint} did not answer in time (${e?.message ?? name})`;
    }
    if (status === 403) return `access denied by ${ctx.endpoint} (HTTP 403 ${name}): check the upload key`;
    if (status === 404) return `not found at ${ctx.endpoint} (HTTP 404 ${name}): does bucket "${ctx.bucket}" exist?`;
    const msg = e?.message && e.message !== name && e.message !== "UnknownError" ? `: ${e.message}` : "";
    return `${name}${status ? ` (HTTP ${status})` : ""}${msg}`;
}
