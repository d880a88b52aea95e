// The S3 client for Spaces (or any S3-compatible endpoint).
import http from "node:http";
import https from "node:https";
import { S3Client, type S3ServiceException } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { md5 } from "./etag";
import { DEFAULT_RETRY, type RetryPolicy, withRetries } from "./retry";

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
     * An attempt whose connection carries no bytes in either direction for this
     * long (a stalled server) fails with a TimeoutError and is retried (default 20 s).
     */
    requestTimeoutMs?: number;
    /**
     * Aborts every request in flight or still to come, unless a request passes
     * its own `abortSignal` (a hard abort: second Ctrl-C, or the grace period
     * after the first one ran out). Requests are sent without per-call options
     * so the SDK can reuse each command's resolved middleware (`cacheMiddleware`).
     */
    signal?: AbortSignal;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 20_000;

/** One request being sent (all its attempts), for the "still waiting" progress line. */
export interface InFlight {
    label: string;
    since: number;
}

/** What went over the wire, counted at the HTTP handler (every attempt counts). */
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
    const host = url.hostname.replace(/^\[|\]$/g, "");
    return (
        url.protocol === "http:" ||
        host === "localhost" ||
        /^\d+\.\d+\.\d+\.\d+$/.test(host) ||
        host.includes(":") ||
        bucket.includes(".")
    );
}

/** Options of one `send`. */
export interface SendOptions {
    /** no new attempt after this aborts (first Ctrl-C): the request ends with a StoppedError */
    stop?: AbortSignal;
    /** a per-call signal instead of the client-wide one (turns off the middleware cache for this call) */
    abortSignal?: AbortSignal;
    /** fewer attempts than the policy (clean-up calls) */
    attempts?: number;
}

/** An SDK command whose handler resolves to output `O` (e.g. PutObjectCommand). */
export interface SdkCommand<O> {
    // biome-ignore lint/suspicious/noExplicitAny: matching any handler signature
    resolveMiddleware(...a: any[]): (...b: any[]) => Promise<{ output: O }>;
}
/** Sends a command with this tool's own retries; `label` names it in progress lines ("PUT apps/x.yaml"). */
export type SendFn = <O>(command: SdkCommand<O>, label: string, options?: SendOptions) => Promise<O>;

export function createClient(opts: ClientOptions & { bucket: string }): {
    client: S3Client;
    stats: RequestStats;
    send: SendFn;
} {
    const stats = new RequestStats();
    const agentOptions = { keepAlive: true, maxSockets: opts.concurrency, keepAliveMsecs: 1000 };
    const inner = new NodeHttpHandler({
        httpAgent: new http.Agent(agentOptions),
        httpsAgent: new https.Agent(agentOptions),
        connectionTimeout: 5_000,
        // idle timeout: a stalled request fails with a TimeoutError (and is retried) instead of hanging
        socketTimeout: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    });
    // Count every attempt at the transport, below the SDK's retry loop.
    const handler = {
        metadata: inner.metadata,
        destroy: () => inner.destroy(),
        updateHttpClientConfig: inner.updateHttpClientConfig.bind(inner),
        httpHandlerConfigs: inner.httpHandlerConfigs.bind(inner),
        handle: async (
            request: Parameters<NodeHttpHandler["handle"]>[0],
            options?: Parameters<NodeHttpHandler["handle"]>[1],
        ) => {
            const method = request.method.toUpperCase();
            stats.total++;
            stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;
            try {
                const abortSignal = options?.abortSignal ?? opts.signal;
                const out = await inner.handle(request, abortSignal ? { ...options, abortSignal } : options);
                const status = out.response.statusCode;
                if (status === 429 || status >= 500) stats.retryable++;
                return out;
            } catch (err) {
                stats.networkErrors++;
                throw err;
            }
        },
    } as unknown as NodeHttpHandler;

    const client = new S3Client({
        endpoint: opts.endpoint,
        region: opts.region,
        credentials: opts.credentials,
        forcePathStyle: usePathStyle(opts.endpoint, opts.bucket),
        requestHandler: handler,
        // retries are this tool's own, per request (see retry.ts and send below)
        maxAttempts: 1,
        // Only add checksums the API requires. Every PUT carries our own Content-MD5;
        // the newer default (CRC32 in an aws-chunked trailer) is not understood by
        // every S3-compatible server and makes s3rver store corrupted bodies.
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
        // Resolve each command's middleware once, not on every request (about a
        // tenth of the SDK's CPU per PutObject). Only applies to sends without
        // per-call options, hence the client-wide abort signal above.
        cacheMiddleware: true,
    });
    // SDK call logging is never used here; its middleware would still filter
    // every request's input for secrets, for a no-op logger.
    client.middlewareStack.remove("loggerMiddleware");

    // DeleteObjects must carry an integrity header. The SDK sends a CRC32 one;
    // S3-compatible servers that predate flexible checksums want Content-MD5,
    // so add that too (both are valid for AWS S3).
    client.middlewareStack.add(
        (next, context) => async (args) => {
            const req = args.request as { headers?: Record<string, string>; body?: unknown };
            if (context.commandName === "DeleteObjectsCommand" && req.headers && req.body !== undefined) {
                const body = typeof req.body === "string" ? Buffer.from(req.body) : req.body;
                if (
                    body instanceof Uint8Array &&
                    !Object.keys(req.headers).some((h) => h.toLowerCase() === "content-md5")
                ) {
                    req.headers["content-md5"] = md5(body).toString("base64");
                }
            }
            return next(args);
        },
        { step: "build", name: "deleteObjectsContentMd5", priority: "low" },
    );
    const policy: RetryPolicy = { ...DEFAULT_RETRY, ...opts.retry };
    const send: SendFn = async <O>(command: SdkCommand<O>, label: string, options: SendOptions = {}): Promise<O> => {
        const entry: InFlight = { label, since: Date.now() };
        stats.inFlight.add(entry);
        const callOptions = options.abortSignal ? { abortSignal: options.abortSignal } : undefined;
        try {
            return await withRetries(
                // the command is one of the SDK's (SdkCommand only names its output type)
                () =>
                    (callOptions
                        ? client.send(command as never, callOptions)
                        : client.send(command as never)) as unknown as Promise<O>,
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
    return { client, stats, send };
}

/** Turns SDK and network errors into one clear sentence (never includes secrets), with the attempts made. */
export function describeError(err: unknown, ctx: { endpoint: string; bucket: string }): string {
    const attempts = (err as { attempts?: number } | undefined)?.attempts;
    const text = describeOne(err, ctx);
    return attempts && attempts > 1 ? `${text} (last of ${attempts} attempts)` : text;
}

function describeOne(err: unknown, ctx: { endpoint: string; bucket: string }): string {
    const e = err as S3ServiceException & { code?: string; cause?: { code?: string } };
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
