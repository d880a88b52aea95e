// Calls Flux's notification-controller Receiver of type generic-hmac.
//
// Verified against fluxcd/notification-controller (internal/server/receiver_handlers.go
// and docs/spec/v1/receivers.md): for `generic-hmac` the controller reads the
// `X-Signature` header, formatted `<hash-function>=<hex HMAC of the raw body>`
// with sha1, sha256 or sha512, keyed with the `token` field of the Receiver's
// secret (go-github's ValidateSignature). Any method works; we POST JSON.
// Replies: 200 reconciliation requested, 400 bad signature, 404 unknown hook
// path, 503 receiver suspended or not ready, 500 annotation failed; 429 comes
// from Envoy's rate limit in front of it (retried, honouring Retry-After).
import { createHmac } from "node:crypto";
import http from "node:http";
import https from "node:https";
import tls from "node:tls";

export interface ReceiverConfig {
    url: string;
    token: string;
    /**
     * Roots trusted for this call in addition to Node's (Let's Encrypt's
     * staging roots, --receiver-ca). Certificate checks always stay on.
     */
    extraCa?: string[];
}

export interface TriggerResult {
    ok: boolean;
    status?: number;
    statusText?: string;
    attempts: number;
    error?: string;
    /** the receiver's certificate was not trusted (never retried) */
    tlsError?: boolean;
}

/** OpenSSL/Node codes of a certificate that does not verify (a retry cannot fix them). */
const TLS_ERRORS = new Set([
    "UNABLE_TO_GET_ISSUER_CERT",
    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "SELF_SIGNED_CERT_IN_CHAIN",
    "DEPTH_ZERO_SELF_SIGNED_CERT",
    "CERT_HAS_EXPIRED",
    "CERT_NOT_YET_VALID",
    "CERT_UNTRUSTED",
    "CERT_REJECTED",
    "CERT_SIGNATURE_FAILURE",
    "ERR_TLS_CERT_ALTNAME_INVALID",
    // a certificate not meant for a TLS server (its extended key usage is client authentication only…)
    "INVALID_PURPOSE",
]);

export function signature(body: string | Uint8Array, token: string): string {
    return `sha256=${createHmac("sha256", token).update(body).digest("hex")}`;
}

/**
 * The receiver URL's hook path is derived from the token and works as a
 * capability, so it is never printed: `/hook/<sha256>` becomes `/hook/<redacted>`,
 * and query strings, user info and any other long hex or base64-like path
 * segments are dropped too.
 */
export function redactUrl(raw: string): string {
    let url: URL;
    try {
        url = new URL(raw);
    } catch {
        return "<invalid URL>";
    }
    const segments = url.pathname
        .split("/")
        .map((seg, i, all) =>
            all[i - 1] === "hook" || /^[0-9a-fA-F]{16,}$/.test(seg) || /^[A-Za-z0-9_-]{24,}$/.test(seg)
                ? "<redacted>"
                : seg,
        );
    return `${url.protocol}//${url.host}${segments.join("/")}${url.search ? "?<redacted>" : ""}`;
}

/** Longest wait a Retry-After header can ask for; longer ones are cut to this. */
export const MAX_RETRY_AFTER_MS = 60_000;

/** A Retry-After header (delay-seconds or an HTTP-date, RFC 9110 §10.2.3) in ms; undefined if absent or invalid. */
export function retryAfterMs(header: string | undefined, now: number = Date.now()): number | undefined {
    if (!header) return undefined;
    const value = header.trim();
    if (/^\d+$/.test(value)) return Math.min(Number(value) * 1000, MAX_RETRY_AFTER_MS);
    const date = Date.parse(value);
    if (Number.isNaN(date)) return undefined;
    return Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS);
}

interface Reply {
    status: number;
    statusText: string;
    retryAfter?: string;
}

/** One POST with node:http(s), so the call can carry its own trust store (`ca`). */
function post(url: URL, body: string, headers: Record<string, string>, timeoutMs: number, extraCa?: string[]) {
    return new Promise<Reply>((resolve, reject) => {
        const secure = url.protocol === "https:";
        const options: https.RequestOptions = {
            method: "POST",
            headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
            signal: AbortSignal.timeout(timeoutMs),
            agent: false,
        };
        // Node's own roots plus the extra ones: `ca` replaces the default list
        if (secure && extraCa?.length) options.ca = [...tls.rootCertificates, ...extraCa];
        const req = (secure ? https : http).request(url, options, (res) => {
            res.resume();
            res.on("end", () =>
                resolve({
                    status: res.statusCode ?? 0,
                    // Stryker disable next-line StringLiteral: equivalent, node:http always gives a reply's status message (empty at worst)
                    statusText: res.statusMessage ?? "",
                    retryAfter: res.headers["retry-after"],
                }),
            );
            res.on("error", reject);
        });
        req.on("error", reject);
        req.end(body);
    });
}

export async function triggerReceiver(
    cfg: ReceiverConfig,
    payload: Record<string, unknown>,
    opts: { attempts?: number; timeoutMs?: number; backoffMs?: number } = {},
): Promise<TriggerResult> {
    const body = JSON.stringify(payload);
    const maxAttempts = opts.attempts ?? 3;
    const url = new URL(cfg.url);
    let last: TriggerResult = { ok: false, attempts: 0 };
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        let wait: number | undefined;
        try {
            const res = await post(
                url,
                body,
                {
                    "content-type": "application/json",
                    "user-agent": "upload-do",
                    "x-signature": signature(body, cfg.token),
                },
                opts.timeoutMs ?? 10_000,
                cfg.extraCa,
            );
            const ok = res.status >= 200 && res.status < 300;
            last = { ok, status: res.status, statusText: res.statusText, attempts: attempt };
            // 429 = rate limited (Envoy's local limit), 503 = receiver not ready yet, 5xx = transient;
            // other 4xx (and redirects, which are not followed) will not get better
            if (ok || (res.status < 500 && res.status !== 429)) return last;
            wait = retryAfterMs(res.retryAfter);
        } catch (err) {
            // node:http and node:tls name their errors by a code (ECONNREFUSED, ABORT_ERR, OpenSSL's)
            const e = err as Error & { code?: string };
            const code = e.code ?? e.name;
            last = { ok: false, attempts: attempt, error: code };
            if (TLS_ERRORS.has(code)) return { ...last, tlsError: true };
        }
        if (attempt < maxAttempts) {
            // Retry-After when the receiver sent one, else exponential backoff with jitter
            const base = (opts.backoffMs ?? 500) * 2 ** (attempt - 1);
            await new Promise((r) => setTimeout(r, wait ?? base / 2 + Math.random() * (base / 2)));
        }
    }
    return last;
}

/** Why a receiver reply failed, in words an operator can act on. */
export function explainStatus(status: number): string {
    if (status === 400) return "the signature was rejected: the token does not match the Receiver's secret";
    if (status === 404) return "no Receiver has this hook path: check bucketReceiverUrl / FLUX_RECEIVER_URL";
    if (status === 503) return "the Receiver is suspended or not ready";
    if (status === 429) return "rate limited by the ingress in front of the receiver";
    if (status >= 500) return "notification-controller failed to request the reconciliation";
    return "unexpected reply";
}
