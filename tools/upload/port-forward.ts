// Local access to in-cluster services for stacks of the existing-cluster target: the stack output
// `localAccess` names the kubeconfig, context and Services (the in-cluster S3 server, Flux's
// receiver); this opens `kubectl port-forward` to each on a free 127.0.0.1 port and closes it
// when the run ends.
import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";

/** A Service to forward to. */
export interface ForwardTarget {
    namespace: string;
    service: string;
    port: number;
}

/** The stack output `localAccess` (infrastructure/platform.ts `LocalAccess`). */
export interface LocalAccess {
    /** kubeconfig file; unset: kubectl's default ($KUBECONFIG, ~/.kube/config) */
    kubeconfig?: string;
    /** context; unset: the current context */
    context?: string;
    s3?: ForwardTarget;
    receiver?: ForwardTarget;
}

export class LocalAccessError extends Error {}

function target(raw: unknown, name: string): ForwardTarget | undefined {
    if (raw === undefined || raw === null) return undefined;
    const t = raw as Record<string, unknown>;
    if (
        typeof t !== "object" ||
        typeof t.namespace !== "string" ||
        typeof t.service !== "string" ||
        !Number.isInteger(t.port)
    ) {
        throw new LocalAccessError(`stack output localAccess.${name} is not {namespace, service, port}`);
    }
    return { namespace: t.namespace, service: t.service, port: t.port as number };
}

/** Validates the stack output `localAccess`; undefined when the stack has none. */
export function parseLocalAccess(raw: unknown): LocalAccess | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw !== "object" || Array.isArray(raw))
        throw new LocalAccessError("stack output localAccess is not an object");
    const r = raw as Record<string, unknown>;
    for (const k of ["kubeconfig", "context"]) {
        if (r[k] !== undefined && typeof r[k] !== "string")
            throw new LocalAccessError(`stack output localAccess.${k} is not a string`);
    }
    return {
        kubeconfig: r.kubeconfig as string | undefined,
        context: r.context as string | undefined,
        s3: target(r.s3, "s3"),
        receiver: target(r.receiver, "receiver"),
    };
}

/** An open forward. */
export interface Forward {
    /** The 127.0.0.1 port that reaches the Service. */
    localPort: number;
    close(): void;
}

export type PortForwarder = (access: LocalAccess, to: ForwardTarget) => Promise<Forward>;

/** The kubectl arguments of a forward to `to` (a free local port on 127.0.0.1 only). */
export function kubectlArgs(access: LocalAccess, to: ForwardTarget, home = os.homedir()): string[] {
    const kubeconfig = access.kubeconfig?.startsWith("~/")
        ? path.join(home, access.kubeconfig.slice(2))
        : access.kubeconfig;
    return [
        ...(kubeconfig ? ["--kubeconfig", kubeconfig] : []),
        ...(access.context ? ["--context", access.context] : []),
        "--namespace",
        to.namespace,
        "port-forward",
        "--address",
        "127.0.0.1",
        `service/${to.service}`,
        `:${to.port}`,
    ];
}

const FORWARDING = /Forwarding from 127\.0\.0\.1:(\d+) ->/;

/** The manual alternative, printed when kubectl cannot be used. */
export function manualHint(access: LocalAccess, to: ForwardTarget): string {
    return `kubectl ${kubectlArgs(access, to)
        .join(" ")
        .replace(/ :(\d+)$/, " 8080:$1")}`;
}

/**
 * Opens forwards with `kubectl port-forward` (kubectl picks a free port and prints it). Waits at
 * most `timeoutMs` for the "Forwarding from" line; the child is killed on close, on failure and
 * when this process exits.
 */
export function kubectlPortForward(
    opts: { command?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): PortForwarder {
    const command = opts.command ?? "kubectl";
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return (access, to) =>
        new Promise<Forward>((resolve, reject) => {
            const child = spawn(command, kubectlArgs(access, to), {
                env: opts.env ?? process.env,
                stdio: ["ignore", "pipe", "pipe"],
            });
            const kill = () => {
                // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent, kill() on a child that has ended sends nothing
                if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
            };
            process.once("exit", kill);
            const what = `kubectl port-forward to service ${to.namespace}/${to.service}:${to.port}`;
            // Stryker disable next-line StringLiteral: equivalent, FORWARDING is not anchored at the start
            let out = "";
            let errOut = "";
            let settled = false;
            const fail = (why: string) => {
                // Stryker disable next-line ConditionalExpression: equivalent, once settled only close (no child left, its exit handler removed) or error calls it, and the promise is settled
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                kill();
                process.removeListener("exit", kill);
                reject(new LocalAccessError(`${what} ${why}; or forward yourself: ${manualHint(access, to)}`));
            };
            const timer = setTimeout(() => fail(`printed no port within ${timeoutMs / 1000}s`), timeoutMs);
            // Stryker disable next-line StringLiteral: equivalent, Node's decoders read "" as utf8
            child.stdout.setEncoding("utf8");
            // Stryker disable next-line StringLiteral: equivalent, Node's decoders read "" as utf8
            child.stderr.setEncoding("utf8");
            child.stdout.on("data", (d: string) => {
                out += d;
                const m = FORWARDING.exec(out);
                if (m && !settled) {
                    // Stryker disable next-line BooleanLiteral: equivalent, after the resolve only close or error call fail, when there is nothing left to stop or remove
                    settled = true;
                    clearTimeout(timer);
                    resolve({
                        localPort: Number(m[1]),
                        close: () => {
                            kill();
                            process.removeListener("exit", kill);
                        },
                    });
                }
            });
            child.stderr.on("data", (d: string) => {
                errOut += d;
            });
            child.on("error", (err: NodeJS.ErrnoException) =>
                fail(
                    err.code === "ENOENT"
                        ? "failed: kubectl is not installed (or not on PATH)"
                        : `failed: ${err.message}`,
                ),
            );
            child.on("close", (code, sig) => {
                // kubectl is gone (by itself too, while the forward is open): nothing to stop at exit
                process.removeListener("exit", kill);
                const why = errOut.trim().split("\n").slice(-2).join(" ");
                fail(`ended (${sig ?? `exit ${code}`})${why ? `: ${why}` : ""}`);
            });
        });
}

/** `url` with its origin replaced by http://127.0.0.1:<port> (path and query kept). */
export function viaLocalPort(url: string, port: number): string {
    const u = new URL(url);
    return `http://127.0.0.1:${port}${u.pathname}${u.search}`;
}
