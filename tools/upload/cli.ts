// `make upload-do`: sync deploy/ to the bucket, then ask Flux to reconcile.
//
// Exit codes: 0 everything synced (and the receiver, if configured, accepted
// the call); 1 sync or receiver failure; 2 usage or configuration error;
// 130 interrupted. The last stdout line of a sync is the summary
// `uploaded N, deleted N, unchanged N`.
import path from "node:path";
import { ConfigError, parseFlags, type ResolvedConfig, resolveConfig, USAGE, UsageError } from "./config";
import { SourceError, scanSource } from "./files";
import { type Forward, kubectlPortForward, LocalAccessError, type PortForwarder, viaLocalPort } from "./port-forward";
import { createReporter, formatBytes, type Io, processIo } from "./progress";
import { explainStatus, redactUrl, triggerReceiver } from "./receiver";
import { createClient, describeError, type RequestStats } from "./s3";
import { pulumiStackOutputs, type StackOutputReader } from "./stack";
import { digestAll, executePlan, listRemote, planSync, type Sizes, type SyncResult } from "./sync";

export interface RunDeps {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    readStackOutputs?: StackOutputReader;
    io?: Io;
    signal?: AbortSignal;
    /** attempts per S3 request (default 6) */
    maxAttempts?: number;
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

export function summaryLine(r: Pick<SyncResult, "uploaded" | "deleted" | "unchanged" | "failures">): string {
    return `uploaded ${r.uploaded}, deleted ${r.deleted}, unchanged ${r.unchanged}${r.failures.length ? `, failed ${r.failures.length}` : ""}`;
}

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
    if (scan.files.length === 0) {
        io.err(
            `error: source folder ${cfg.source} has no files to upload` +
                (scan.ignored ? ` (${scan.ignored} entries ignored by the rules; see docs/upload.md)` : "") +
                "; refusing to sync an empty tree",
        );
        return 1;
    }

    const opened = await openForwards(cfg, deps.portForward ?? kubectlPortForward({ env }), io);
    if (typeof opened === "string") {
        io.err(`error: ${opened}`);
        return 1;
    }
    const forwards = opened;

    const target = { endpoint: cfg.endpoint, bucket: cfg.bucket };
    // One controller for the run: Ctrl-C (deps.signal) or a fatal error aborts
    // it, and with it every request of the client.
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    if (deps.signal?.aborted) controller.abort();
    deps.signal?.addEventListener("abort", onAbort, { once: true });
    const { client, stats } = createClient({
        endpoint: cfg.endpoint,
        region: cfg.region,
        credentials: cfg.credentials,
        bucket: cfg.bucket,
        concurrency: cfg.concurrency,
        maxAttempts: deps.maxAttempts,
        signal: controller.signal,
    });
    const interrupted = () => {
        io.err("interrupted: nothing is half-written (each object is replaced atomically); re-run to finish the sync");
        return 130;
    };
    try {
        let remote: Awaited<ReturnType<typeof listRemote>>;
        let local: Awaited<ReturnType<typeof digestAll>>;
        try {
            [remote, local] = await Promise.all([listRemote(client, cfg.bucket, cfg.prefix), digestAll(scan.files)]);
        } catch (err) {
            if (deps.signal?.aborted) return interrupted();
            io.err(`error: ${describeError(err, target)}`);
            return 1;
        }
        const plan = await planSync({
            files: scan.files,
            digests: local.digests,
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
            io.out(`receiver: ${cfg.receiverNote ?? "not triggered (dry run)"}`);
            io.out(
                `dry run: would upload ${plan.uploads.length}, would delete ${plan.deletes.length}, unchanged ${plan.unchanged}`,
            );
            return 0;
        }

        const result = await executePlan({
            client,
            bucket: cfg.bucket,
            plan,
            concurrency: cfg.concurrency,
            reporter: createReporter(io),
            signal: deps.signal,
            controller,
            sizes: deps.sizes,
            bodies: local.bodies,
            describe: (err) => describeError(err, target),
        });
        if (plan.keptRemote.length > 0) {
            io.out(
                `kept ${plan.keptRemote.length} remote object(s) that are not in the source (pass --delete to remove them)`,
            );
        }
        const seconds = ((Date.now() - started) / 1000).toFixed(2);
        const retried = stats.retryable + stats.networkErrors;
        io.out(
            `${formatBytes(result.bytesUploaded)} sent, ${stats.describe()}` +
                `${retried ? `, ${retried} failed attempt(s) retried` : ""} in ${seconds}s`,
        );

        if (deps.signal?.aborted) {
            io.out(summaryLine(result));
            return interrupted();
        }
        if (result.failures.length > 0) {
            io.err(
                `error: ${result.failures.length} object(s) could not be synced (first: ${result.failures[0]?.key}: ${result.failures[0]?.message})` +
                    `${result.deletesSkipped ? `; ${result.deletesSkipped} deletion(s) skipped` : ""}. ` +
                    "Re-run to finish: unchanged files are skipped. Flux was not triggered.",
            );
            io.out(summaryLine(result));
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
        io.out(summaryLine(result));
        return code;
    } finally {
        deps.signal?.removeEventListener("abort", onAbort);
        client.destroy();
        for (const f of forwards) f.close();
        deps.onStats?.(stats);
    }
}
