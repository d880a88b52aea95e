// Per-request retries: every request has its own schedule (exponential backoff
// with full jitter, a cap on attempts and on each wait), so a storm of 5xx
// replies delays a sync instead of failing it. The SDK's own retry strategy is
// switched off (maxAttempts 1): its "standard" mode shares one retry quota
// (a token bucket of 500, 5 per retry) across every request of a client, which
// a 30% error rate over a few thousand PUTs drains, after which every failure
// is final.

export interface RetryPolicy {
    /** attempts per request, the first included (1 = no retries) */
    attempts: number;
    /** backoff base for 5xx, timeouts and network errors: waits are random in [0, base·2^(n-1)] */
    baseMs: number;
    /** backoff base for throttling (429, 503 SlowDown) */
    throttleBaseMs: number;
    /** no single wait is longer than this */
    capMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 10, baseMs: 100, throttleBaseMs: 500, capMs: 10_000 };

/** Thrown instead of retrying once the run was told to stop (first Ctrl-C): not a failure of the object. */
export class StoppedError extends Error {
    override name = "StoppedError";
    constructor() {
        super("not attempted again: the run was interrupted");
    }
}

interface ErrorShape {
    name?: string;
    code?: string;
    cause?: { code?: string };
    $metadata?: { httpStatusCode?: number };
    $retryable?: { throttling?: boolean };
}

const THROTTLING = new Set([
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "TooManyRequests",
    "RequestLimitExceeded",
]);
/** 4xx replies that a fresh attempt can cure (the body or the connection went wrong on the way). */
const RETRYABLE_4XX = new Set(["RequestTimeout", "BadDigest", "IncompleteBody", "RequestTimeTooSkewed"]);
const NETWORK = new Set([
    "ECONNRESET",
    "ECONNREFUSED",
    "EPIPE",
    "ETIMEDOUT",
    "ENOTFOUND",
    "EAI_AGAIN",
    "EHOSTUNREACH",
    "ENETUNREACH",
    "ECONNABORTED",
    "ERR_STREAM_PREMATURE_CLOSE",
]);

export type Verdict = "final" | "retry" | "throttle";

/** Whether a failed attempt is worth another one. Aborts (Ctrl-C) never are. */
export function classify(err: unknown): Verdict {
    const e = (err ?? {}) as ErrorShape;
    // Stryker disable next-line StringLiteral: a missing name need only match none of the names below; any non-name does
    const name = e.name ?? "";
    if (name === "AbortError" || name === "StoppedError") return "final";
    const status = e.$metadata?.httpStatusCode;
    if (THROTTLING.has(name) || status === 429 || e.$retryable?.throttling) return "throttle";
    // 501 Not Implemented: the server lacks the feature (e.g. ListMultipartUploads on s3rver);
    // another attempt gets the same answer.
    if (status === 501) return "final";
    if ((status ?? 0) >= 500) return "retry";
    if (RETRYABLE_4XX.has(name)) return "retry";
    if (name === "TimeoutError") return "retry";
    // Stryker disable next-line StringLiteral: no code need only be no member of NETWORK; any non-code does
    const code = e.code ?? e.cause?.code ?? "";
    if (NETWORK.has(code)) return "retry";
    return "final";
}

/** Full jitter: a random wait in [0, min(cap, base·2^(attempt-1))]. */
export function backoffMs(
    policy: RetryPolicy,
    attempt: number,
    verdict: Verdict,
    random: () => number = Math.random,
): number {
    const base = verdict === "throttle" ? policy.throttleBaseMs : policy.baseMs;
    const ceiling = Math.min(policy.capMs, base * 2 ** Math.min(attempt - 1, 30));
    return Math.floor(random() * ceiling);
}

/** Resolves after `ms`, or rejects with StoppedError as soon as `stop` aborts. */
function wait(ms: number, stop?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
        if (stop?.aborted) return reject(new StoppedError());
        const onStop = () => {
            clearTimeout(timer);
            reject(new StoppedError());
        };
        const timer = setTimeout(() => {
            stop?.removeEventListener("abort", onStop);
            resolve();
        }, ms);
        stop?.addEventListener("abort", onStop, { once: true });
    });
}

export interface RetryHooks {
    /** no new attempt is started once this aborts (StoppedError instead) */
    stop?: AbortSignal;
    /** called before each wait */
    onRetry?: (attempt: number, err: unknown, delayMs: number) => void;
}

/**
 * Runs `fn` until it succeeds, fails for good or the policy's attempts are
 * spent. The error of the last attempt is thrown with `attempts` set on it.
 */
export async function withRetries<T>(fn: () => Promise<T>, policy: RetryPolicy, hooks: RetryHooks = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
        try {
            return await fn();
        } catch (err) {
            const verdict = classify(err);
            if (verdict === "final" || attempt >= policy.attempts) {
                if (err && typeof err === "object") Object.assign(err, { attempts: attempt });
                throw err;
            }
            const delay = backoffMs(policy, attempt, verdict);
            hooks.onRetry?.(attempt, err, delay);
            // rejects (StoppedError) if stop has aborted or aborts meanwhile: no new attempt then
            await wait(delay, hooks.stop);
        }
    }
}
