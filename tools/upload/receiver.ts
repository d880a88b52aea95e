// Calls Flux's notification-controller Receiver of type generic-hmac.
//
// Verified against fluxcd/notification-controller (internal/server/receiver_handlers.go
// and docs/spec/v1/receivers.md): for `generic-hmac` the controller reads the
// `X-Signature` header, formatted `<hash-function>=<hex HMAC of the raw body>`
// with sha1, sha256 or sha512, keyed with the `token` field of the Receiver's
// secret (go-github's ValidateSignature). Any method works; we POST JSON.
// Replies: 200 reconciliation requested, 400 bad signature, 404 unknown hook
// path, 503 receiver suspended or not ready, 500 annotation failed.
import { createHmac } from "node:crypto";

export interface ReceiverConfig {
    url: string;
    token: string;
}

export interface TriggerResult {
    ok: boolean;
    status?: number;
    statusText?: string;
    attempts: number;
    error?: string;
}

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

export async function triggerReceiver(
    cfg: ReceiverConfig,
    payload: Record<string, unknown>,
    opts: { attempts?: number; timeoutMs?: number; backoffMs?: number } = {},
): Promise<TriggerResult> {
    const body = JSON.stringify(payload);
    const maxAttempts = opts.attempts ?? 3;
    let last: TriggerResult = { ok: false, attempts: 0 };
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        try {
            const res = await fetch(cfg.url, {
                method: "POST",
                headers: {
                    "content-type": "application/json",
                    "user-agent": "upload-do",
                    "x-signature": signature(body, cfg.token),
                },
                body,
                signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
                redirect: "error",
            });
            await res.arrayBuffer().catch(() => undefined);
            last = { ok: res.ok, status: res.status, statusText: res.statusText, attempts: attempt };
            // 503 = receiver not ready yet, 5xx = transient; 4xx will not get better
            if (res.ok || res.status < 500) return last;
        } catch (err) {
            const e = err as Error & { cause?: { code?: string } };
            last = { ok: false, attempts: attempt, error: e.cause?.code ?? e.name ?? "error" };
        }
        if (attempt < maxAttempts)
            await new Promise((r) => setTimeout(r, (opts.backoffMs ?? 500) * 2 ** (attempt - 1)));
    }
    return last;
}

/** Why a receiver reply failed, in words an operator can act on. */
export function explainStatus(status: number): string {
    if (status === 400) return "the signature was rejected: the token does not match the Receiver's secret";
    if (status === 404) return "no Receiver has this hook path: check bucketReceiverUrl / FLUX_RECEIVER_URL";
    if (status === 503) return "the Receiver is suspended or not ready";
    if (status >= 500) return "notification-controller failed to request the reconciliation";
    return "unexpected reply";
}
