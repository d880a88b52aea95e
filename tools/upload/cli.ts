// `make upload-do`: sync deploy/ to the bucket, then ask Flux to reconcile.
//
// Exit codes: 0 everything synced (and the receiver, if configured, accepted
// the call); 1 sync or receiver failure; 2 usage or configuration error;
// 130 interrupted. The last stdout line of a sync is the summary
// `uploaded N, deleted N, unchanged N` (`, failed N`, `, skipped N` appended when not 0).
import path from "node:path";
import { ALLOW_FILE, formatPlaintext, guardUpload, SECRET_NEEDLES } from "../sops/guard";
import { ConfigError, parseFlags, type ResolvedConfig, resolveConfig, USAGE, UsageError } from "./config";
import { SourceError, scanSource } from "./files";
import { type Forward, kubectlPortForward, LocalAccessError, type PortForwarder, viaLocalPort } from "./port-forward";
import { createReporter, formatBytes, type Io, processIo } from "./progress";
import { explainStatus, redactUrl, triggerReceiver } from "./receiver";
import type { RetryPolicy } from "./retry";
import { createClient, describeError, type RequestStats } from "./s3";
import { pulumiStackOutputs, type StackOutputReader } from "./stack";
import {
    abortStaleUploads,
    type Digests,
    digestAll,
    executePlan,
    listRemote,
    planSync,
    type Sizes,
    type StaleUploads,
    type SyncResult,
} from "./sync";

/** S3's limit on the length of an object key (UTF-8 bytes). */
const MAX_KEY_BYTES = 1024;
/** How long the requests in flight may take to finish after the first Ctrl-C. */
export const DEFAULT_GRACE_MS = 10_000;
/** How often a "still waiting" line is printed while no request completes. */
export const DEFAULT_HEARTBEAT_MS = 5_000;

export interface RunDeps {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    readStackOutputs?: StackOutputReader;
    io?: Io;
    /** first Ctrl-C/SIGTERM: stop scheduling, let the requests in flight finish (within graceMs) */
    signal?: AbortSignal;
    /** second Ctrl-C: abort the requests in flight at once */
    abortSignal?: AbortSignal;
    /** how long in-flight requests may take after `signal` before they are aborted (default 10 s) */
    graceMs?: number;
    /** attempts per S3 request (default 10) */
    maxAttempts?: number;
    /** the retry schedule (tests shorten the waits) */
    retry?: Partial<RetryPolicy>;
    /** idle time after which an attempt counts as stalled and is retried (default 20 s) */
    requestTimeoutMs?: number;
    /** interval of the "still waiting" line (default 5 s) */
    heartbeatMs?: number;
    sizes?: Sizes;
    /** receiver retry backoff (tests shorten it) */
    receiverBackoffMs?: number;
    /** called with the request counters when the run ends */
    onStats?: (stats: RequestStats) => void;
    /** opens port-forwards to in-cluster services (default: kubectl port-forward) */
    portForward?: PortForwarder;
}

/**
 * Opens the port-forwards the resolved config asks for and points the endpoint and the receiver
 * URL at them. Returns the forwards to close, or the error message.
 */
async function openForwards(cfg: ResolvedConfig, forwarder: PortForwarder, io: Io): Promise<Forward[] | string> {
    const forwards: Forward[] = [];
    const { forward } = cfg;
    if (!forward) return forwards;
    try {
        if (forward.s3) {
            const f = await forwarder(forward.access, forward.s3);
            forwards.push(f);
            cfg.endpoint = `http://127.0.0.1:${f.localPort}`;
            io.out(
                `bucket: port-forward 127.0.0.1:${f.localPort} -> service ${forward.s3.namespace}/${forward.s3.service}:${forward.s3.port}`,
            );
        }
        if (forward.receiver && cfg.receiver) {
            const f = await forwarder(forward.access, forward.receiver);
            forwards.push(f);
            cfg.receiver = { ...cfg.receiver, url: viaLocalPort(cfg.receiver.url, f.localPort) };
            io.out(
                `receiver: port-forward 127.0.0.1:${f.localPort} -> service ${forward.receiver.namespace}/${forward.receiver.service}:${forward.receiver.port}`,
            );
        }
        return forwards;
    } catch (err) {
        for (const f of forwards) f.close();
        if (err instanceof LocalAccessError) return err.message;
        throw err;
    }
}

export function summaryLine(
    r: Pick<SyncResult, "uploaded" | "deleted" | "unchanged" | "failures">,
    skipped = 0,
): string {
    return (
        `uploaded ${r.uploaded}, deleted ${r.deleted}, unchanged ${r.unchanged}` +
        `${r.failures.length ? `, failed ${r.failures.length}` : ""}${skipped ? `, skipped ${skipped}` : ""}`
    );
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;

function describeTarget(cfg: ResolvedConfig, cwd: string): string {
    const rel = path.relative(cwd, cfg.source);
    const src = rel === "" ? "." : rel.startsWith("..") || path.isAbsolute(rel) ? cfg.source : rel;
    const creds =
        cfg.credentialsFrom === "stack" ? `upload key from stack "${cfg.stack}"` : "credentials from AWS_ACCESS_KEY_ID";
    return `sync ${src}/ -> s3://${cfg.bucket}/${cfg.prefix} at ${cfg.endpoint} (region ${cfg.region}, ${creds})`;
}

export async function runUpload(argv: readonly string[], deps: RunDeps = {}): Promise<number> {
    const io = deps.io ?? processIo;
    const env = deps.env ?? process.env;
    const cwd = deps.cwd ?? process.cwd();
    const started = Date.now();

    let cfg: ResolvedConfig;
    try {
        const flags = parseFlags(argv);
        if (flags.help) {
            io.out(USAGE);
            return 0;
        }
        cfg = await resolveConfig(flags, { env, cwd, readStackOutputs: deps.readStackOutputs ?? pulumiStackOutputs() });
    } catch (err) {
        if (err instanceof UsageError) {
            io.err(`error: ${err.message}\n\n${USAGE}`);
            return 2;
        }
        if (err instanceof ConfigError) {
            io.err(`error: ${err.message}`);
            return 2;
        }
        throw err;
    }
    for (const w of cfg.warnings) io.err(`warning: ${w}`);
    io.out(describeTarget(cfg, cwd));

    let scan: Awaited<ReturnType<typeof scanSource>>;
    try {
        scan = await scanSource(cfg.source, cfg.ignoreFile);
    } catch (err) {
        if (err instanceof SourceError) {
            io.err(`error: ${err.message}`);
            return 1;
        }
        throw err;
    }
    for (const w of scan.warnings) io.err(`warning: ${w}`);
    // keys S3 cannot take (too long with the prefix) join the files the scan could not use
    const skipped = [...scan.skipped];
    const files = scan.files.filter((f) => {
        const bytes = Buffer.byteLength(cfg.prefix + f.rel);
        if (bytes <= MAX_KEY_BYTES) return true;
        skipped.push({ rel: f.rel, reason: `object key would be ${bytes} bytes (S3 allows ${MAX_KEY_BYTES})` });
        return false;
    });
    for (const s of skipped) io.err(`skipped ${s.rel}: ${s.reason}`);
    if (files.length === 0) {
        io.err(
            `error: source folder ${cfg.source} has no files to upload` +
                (scan.ignored ? ` (${scan.ignored} entries ignored by the rules; see docs/upload.md)` : "") +
                (skipped.length ? ` (${skipped.length} skipped, listed above)` : "") +
                "; refusing to sync an empty tree",
        );
        return 1;
    }

    // One read of every file: its MD5, and whether it can hold a Secret at all (the guard parses
    // only those). On a large tree this runs in a worker thread while the bucket is listed below
    // (a read-only request); nothing is written to the bucket before the guard has passed.
    const digestStop = new AbortController();
    const digesting = digestAll(files, {
        needles: SECRET_NEEDLES,
        signal: deps.signal ? AbortSignal.any([deps.signal, digestStop.signal]) : digestStop.signal,
    });
    digesting.catch(() => undefined); // awaited below; this only keeps an early return from leaving it unhandled

    const opened = await openForwards(cfg, deps.portForward ?? kubectlPortForward({ env }), io);
    if (typeof opened === "string") {
        digestStop.abort();
        io.err(`error: ${opened}`);
        return 1;
    }
    const forwards = opened;

    const target = { endpoint: cfg.endpoint, bucket: cfg.bucket };
    // Two signals for the run. `stopper`: stop scheduling (first Ctrl-C, a
    // fatal error); requests in flight finish. `hard`: abort the requests in
    // flight (second Ctrl-C, or the grace period after the first ran out); the
    // client carries it, so every request listens to it.
    const stopper = new AbortController();
    const hard = new AbortController();
    const graceMs = deps.graceMs ?? DEFAULT_GRACE_MS;
    let graceTimer: NodeJS.Timeout | undefined;
    let hardBy: "signal" | "deadline" | undefined;
    const onStop = () => {
        stopper.abort();
        graceTimer ??= setTimeout(() => {
            hardBy ??= "deadline";
            hard.abort();
        }, graceMs);
    };
    const onHard = () => {
        // Stryker disable next-line StringLiteral: equivalent, only "deadline" is ever compared
        hardBy ??= "signal";
        stopper.abort();
        hard.abort();
    };
    if (deps.signal?.aborted) onStop();
    if (deps.abortSignal?.aborted) onHard();
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent, an AbortSignal dispatches "abort" once at most
    deps.signal?.addEventListener("abort", onStop, { once: true });
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent, an AbortSignal dispatches "abort" once at most
    deps.abortSignal?.addEventListener("abort", onHard, { once: true });
    const { client, stats, send } = createClient({
        endpoint: cfg.endpoint,
        region: cfg.region,
        credentials: cfg.credentials,
        bucket: cfg.bucket,
        concurrency: cfg.concurrency,
        retry: { ...deps.retry, ...(deps.maxAttempts ? { attempts: deps.maxAttempts } : {}) },
        requestTimeoutMs: deps.requestTimeoutMs,
        signal: hard.signal,
    });
    const reporter = createReporter(io);
    // Keeps the output alive while requests are slow (stalls, long backoffs).
    const heartbeatMs = deps.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    const heartbeat = setInterval(
        () => {
            const now = Date.now();
            if (stats.inFlight.size === 0 || now - stats.lastDone < heartbeatMs) return;
            let oldest: { label: string; since: number } | undefined;
            for (const r of stats.inFlight) if (!oldest || r.since < oldest.since) oldest = r;
            const stopping = stopper.signal.aborted ? "stopping: " : "";
            reporter.waiting(
                // Stryker disable next-line OptionalChaining: equivalent, a request in flight makes the loop above set oldest
                `${stopping}still waiting for ${stats.inFlight.size} request(s); the oldest (${oldest?.label}) for ` +
                    // Stryker disable next-line OptionalChaining: equivalent, a request in flight makes the loop above set oldest
                    `${seconds(now - (oldest?.since ?? now))}` +
                    `${stats.retries ? `; ${stats.retries} attempt(s) retried so far` : ""}`,
            );
        },
        Math.max(50, Math.floor(heartbeatMs / 2)),
    );
    heartbeat.unref();
    const userStopped = () => Boolean(deps.signal?.aborted || deps.abortSignal?.aborted);
    const interrupted = (result?: SyncResult) => {
        const notDone = result ? result.notDone + result.deletesSkipped : undefined;
        const cut = result?.cutOff.length ?? 0;
        io.err(
            "interrupted: no new request was started after the signal" +
                (cut > 0
                    ? `; ${cut} request(s) in flight were cut off ${hardBy === "deadline" ? `after the ${seconds(graceMs)} grace period` : "by the second Ctrl-C"}` +
                      " (S3 stores a PUT only when its whole body arrived and matches its Content-MD5, so nothing is half-written)"
                    : "; the requests in flight finished") +
                (notDone !== undefined ? `; ${notDone} change(s) not made` : "") +
                "; re-run to finish the sync",
        );
        return 130;
    };
    try {
        const listing = listRemote(send, cfg.prefix, stopper.signal);
        listing.catch(() => undefined); // awaited after the guard
        let hashed: Digests["files"];
        let digests: Digests["digests"];
        let candidates: Digests["candidates"];
        try {
            ({ files: hashed, digests, candidates } = await digesting);
        } catch (err) {
            if (userStopped()) {
                io.out(summaryLine({ uploaded: 0, deleted: 0, unchanged: 0, failures: [] }, skipped.length));
                return interrupted();
            }
            io.err(`error: cannot read the source: ${(err as Error).message}`);
            return 1;
        }
        // No plaintext Secret leaves the machine (tools/sops/guard.ts): checked before any write.
        const guard = await guardUpload(
            cfg.source,
            candidates.map((f) => f.abs),
            { relativeTo: cwd },
        );
        for (const [dir, why] of guard.unbuilt) {
            io.err(
                `warning: ${path.relative(cwd, dir) || "."} does not build, so its generated Secrets are not checked (make validate shows why): ${why.split("\n")[0]}`,
            );
        }
        if (guard.plaintext.length > 0) {
            for (const p of guard.plaintext) io.err(`error: ${formatPlaintext(p)}`);
            io.err(
                `error: refusing to upload: ${guard.plaintext.length} Secret(s) with plaintext data; seal each with make seal FILE=…, or list a path that may stay in plaintext in ${path.join(path.relative(cwd, cfg.source), ALLOW_FILE)} (README: Secrets in the tree)`,
            );
            return 1;
        }
        let remote: Awaited<ReturnType<typeof listRemote>>;
        let stale: StaleUploads;
        try {
            [remote, stale] = await Promise.all([
                listing,
                abortStaleUploads({
                    send,
                    prefix: cfg.prefix,
                    before: new Date(started),
                    dryRun: cfg.dryRun,
                    stop: stopper.signal,
                    describe: (err) => describeError(err, target),
                }),
            ]);
        } catch (err) {
            if (userStopped()) {
                io.out(summaryLine({ uploaded: 0, deleted: 0, unchanged: 0, failures: [] }, skipped.length));
                return interrupted();
            }
            io.err(`error: ${describeError(err, target)}`);
            return 1;
        }
        reportStale(io, stale, cfg.prefix, cfg.dryRun);
        const plan = await planSync({
            files: hashed,
            digests,
            remote,
            prefix: cfg.prefix,
            deleteRemote: cfg.deleteRemote,
            isIgnored: (rel) => scan.matcher.ignores(rel),
            partSize: deps.sizes?.partSize,
        });

        if (cfg.dryRun) {
            for (const u of plan.uploads) io.out(`would upload ${u.key} (${u.reason}, ${formatBytes(u.file.size)})`);
            for (const key of plan.deletes) io.out(`would delete ${key}`);
            for (const key of plan.keptRemote) io.out(`would keep ${key} (not in the source; --delete removes it)`);
            // resolveConfig always gives a dry run its note: not triggered (dry run), or (--no-trigger)
            io.out(`receiver: ${cfg.receiverNote}`);
            io.out(
                `dry run: would upload ${plan.uploads.length}, would delete ${plan.deletes.length}, unchanged ${plan.unchanged}` +
                    `${skipped.length ? `, skipped ${skipped.length}` : ""}`,
            );
            return 0;
        }

        const result = await executePlan({
            send,
            plan,
            concurrency: cfg.concurrency,
            reporter,
            stop: stopper,
            sizes: deps.sizes,
            describe: (err) => describeError(err, target),
        });
        if (plan.keptRemote.length > 0) {
            io.out(
                `kept ${plan.keptRemote.length} remote object(s) that are not in the source (pass --delete to remove them)`,
            );
        }
        const elapsed = ((Date.now() - started) / 1000).toFixed(2);
        const retried = stats.retries;
        io.out(
            `${formatBytes(result.bytesUploaded)} sent, ${stats.describe()}` +
                `${retried ? `, ${retried} failed attempt(s) retried` : ""} in ${elapsed}s`,
        );

        if (userStopped()) {
            if (result.failures.length > 0)
                io.err(`error: ${result.failures.length} object(s) failed before the interrupt (listed above)`);
            io.out(summaryLine(result, skipped.length));
            return interrupted(result);
        }
        if (result.failures.length > 0) {
            io.err(
                // Stryker disable next-line OptionalChaining: equivalent, this branch has at least one failure
                `error: ${result.failures.length} object(s) could not be synced (first: ${result.failures[0]?.key}: ${result.failures[0]?.message})` +
                    `${result.deletesSkipped ? `; ${result.deletesSkipped} deletion(s) skipped` : ""}. ` +
                    "Re-run to finish: unchanged files are skipped. Flux was not triggered.",
            );
            io.out(summaryLine(result, skipped.length));
            return 1;
        }

        let code = 0;
        if (cfg.receiver) {
            const shown = redactUrl(cfg.receiver.url);
            const res = await triggerReceiver(
                cfg.receiver,
                {
                    source: "upload-do",
                    bucket: cfg.bucket,
                    prefix: cfg.prefix,
                    uploaded: result.uploaded,
                    deleted: result.deleted,
                    unchanged: result.unchanged,
                },
                { backoffMs: deps.receiverBackoffMs },
            );
            if (res.ok) {
                io.out(
                    `receiver: POST ${shown} -> ${res.status} ${res.statusText ?? ""}`.trimEnd() +
                        "; Flux reconciles the bucket now",
                );
            } else if (res.tlsError) {
                io.err(
                    `error: receiver POST ${shown}: its TLS certificate is not trusted (${res.error}), so the call was not made. ` +
                        tlsHint(cfg) +
                        " Certificate checks are never turned off. The sync itself succeeded; Flux will pick the change up at its next interval.",
                );
                code = 1;
            } else {
                const what =
                    res.status !== undefined
                        ? `${`answered ${res.status} ${res.statusText ?? ""}`.trimEnd()} (${explainStatus(res.status)})`
                        : `could not be reached (${res.error ?? "error"})`;
                io.err(
                    `error: receiver POST ${shown} ${what} after ${res.attempts} attempt(s). ` +
                        "The sync itself succeeded; Flux will pick the change up at its next interval.",
                );
                code = 1;
            }
        } else {
            io.out(`receiver: ${cfg.receiverNote}`);
        }
        io.out(summaryLine(result, skipped.length));
        return code;
    } finally {
        digestStop.abort(); // ends the hashing thread if it still runs (an early return)
        // Nothing outlives the run: a request still going when the run returns early (the
        // uploads listing beside a listing that failed, a listing beside a refused guard) is
        // not retried and is cut off, so the process exits when the run has answered.
        stopper.abort();
        hard.abort();
        clearInterval(heartbeat);
        clearTimeout(graceTimer);
        deps.signal?.removeEventListener("abort", onStop);
        deps.abortSignal?.removeEventListener("abort", onHard);
        client.destroy();
        for (const f of forwards) f.close();
        deps.onStats?.(stats);
    }
}

/** What to do about a receiver certificate that does not verify, given what the call trusted. */
function tlsHint(cfg: ResolvedConfig): string {
    const trusted = `It was checked against Node's roots${cfg.receiverTrust ? ` and ${cfg.receiverTrust}` : ""}.`;
    if (cfg.acmeEnvironment === "staging")
        return `${trusted} The stack's certificates come from Let's Encrypt staging, so the receiver does not serve a certificate KCert issued yet (is it still pending?), or it serves another one.`;
    if (cfg.acmeEnvironment === "production")
        return `${trusted} The stack uses Let's Encrypt production (acme.environment), whose roots Node trusts: the receiver does not serve a certificate KCert issued yet (is it still pending?), or it serves another one.`;
    return (
        `${trusted} The stack's ACME environment is not known${cfg.usedStack ? " (the stack has no acmeEnvironment output: run make bootstrap to update it)" : " (the stack outputs were not read)"}: ` +
        "with Let's Encrypt staging certificates, let the tool read the stack's outputs, or pass --receiver-ca FILE (FLUX_RECEIVER_CA) with the root to trust."
    );
}

/** What the clean-up of earlier runs' incomplete multipart uploads found (quiet when there was nothing). */
function reportStale(io: Io, stale: StaleUploads, prefix: string, dryRun: boolean): void {
    const where = prefix ? `under ${prefix}` : "in the bucket";
    if (!stale.supported) {
        io.err(
            `note: could not list incomplete multipart uploads ${where} (${stale.reason}); ` +
                "parts left by interrupted runs, if any, are not cleaned up by this run",
        );
        return;
    }
    if (stale.found.length === 0) return;
    if (dryRun) {
        for (const u of stale.found) io.out(`would abort incomplete multipart upload of ${u.key}`);
        return;
    }
    io.out(`aborted ${stale.aborted} incomplete multipart upload(s) left ${where} by earlier runs`);
    for (const f of stale.failed) io.err(`warning: ${f.key}: ${f.message}`);
}
