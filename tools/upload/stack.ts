// Reads the Pulumi stack's outputs (only when flags and env do not supply everything).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { backendUrl, LOCAL_STATE_DIR, localStateFolder, pulumiEnv } from "../lib/backend";

/** Injected in tests; the default spawns the pulumi CLI. */
export type StackOutputReader = (stack: string) => Promise<Record<string, unknown>>;

export class StackOutputError extends Error {}

const OUTPUT_NAMES = [
    "bucketName",
    "bucketRegion",
    "bucketEndpoint",
    "uploadAccessKeyId",
    "uploadSecretAccessKey",
    "bucketReceiverUrl",
    "bucketReceiverToken",
    "acmeEnvironment",
] as const;
export type StackOutputs = Partial<Record<(typeof OUTPUT_NAMES)[number], string>>;

/**
 * Picks the outputs this tool uses. Missing or empty ones are left out; one of
 * another type is an error. (A hand-written check rather than zod: loading zod
 * costs ~60 ms of start-up, a tenth of a no-op sync.)
 */
export function parseStackOutputs(raw: unknown): StackOutputs {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw))
        throw new StackOutputError("stack outputs are not a JSON object");
    const out: StackOutputs = {};
    const bad: string[] = [];
    for (const name of OUTPUT_NAMES) {
        const v = (raw as Record<string, unknown>)[name];
        if (v === undefined || v === null || v === "") continue;
        if (typeof v === "string") out[name] = v;
        else bad.push(name);
    }
    if (bad.length)
        throw new StackOutputError(`stack outputs have unexpected types (expected strings): ${bad.join(", ")}`);
    return out;
}

/** The nearest folder with a Pulumi.yaml, from `start` upwards. */
function findProject(start: string): string | undefined {
    let dir = path.resolve(start);
    for (let i = 0; i < 32; i++) {
        if (existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
        const up = path.dirname(dir);
        if (up === dir) break;
        dir = up;
    }
    return undefined;
}

/**
 * The Pulumi project folder: found upwards from the working directory, as the pulumi CLI
 * finds it, else upwards from this file (tools/upload/ from source, bin/ as the bundle).
 */
function projectRoot(): string {
    // Stryker disable next-line StringLiteral: not reached from this repository, whose root (a Pulumi.yaml) is found from __dirname first
    return findProject(process.cwd()) ?? findProject(__dirname) ?? path.resolve(__dirname, "..", "..");
}
/** How long `pulumi stack output` may take before it is stopped (SIGTERM). */
export const PULUMI_TIMEOUT_MS = 120_000;

export const AVOID_PULUMI_HINT =
    "supply every value instead: --bucket/UPLOAD_BUCKET, --endpoint/UPLOAD_ENDPOINT, --region/UPLOAD_REGION, " +
    "AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, and --receiver-url/FLUX_RECEIVER_URL + --receiver-token/FLUX_RECEIVER_TOKEN (or --no-trigger)";

export function pulumiStackOutputs(
    opts: { command?: string; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): StackOutputReader {
    const command = opts.command ?? "pulumi";
    const timeoutMs = opts.timeoutMs ?? PULUMI_TIMEOUT_MS;
    return (stack) =>
        new Promise((resolve, reject) => {
            // The same backend make bootstrap deployed to (tools/lib/backend.ts): PULUMI_BACKEND_URL
            // when set, else the project's local .pulumi-state/; never the user's global login.
            const cwd = opts.cwd ?? projectRoot();
            const env = pulumiEnv(cwd, opts.env ?? process.env);
            const backend = backendUrl(cwd, opts.env ?? process.env);
            const folder = localStateFolder(backend);
            if (folder && !existsSync(folder)) {
                reject(
                    new StackOutputError(
                        `no Pulumi state in ${folder === path.join(cwd, LOCAL_STATE_DIR) ? `${LOCAL_STATE_DIR}/` : folder} ` +
                            `(run \`make bootstrap\` first, or set PULUMI_BACKEND_URL to the backend that holds stack "${stack}"); ${AVOID_PULUMI_HINT}`,
                    ),
                );
                return;
            }
            const args = ["stack", "output", "--json", "--show-secrets", "--non-interactive", "--stack", stack];
            const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
            const out: Buffer[] = [];
            const errOut: Buffer[] = [];
            const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
            child.stdout.on("data", (d: Buffer) => out.push(d));
            child.stderr.on("data", (d: Buffer) => errOut.push(d));
            child.on("error", (err: NodeJS.ErrnoException) => {
                // Stryker disable next-line CallExpression: equivalent, "close" follows "error" (exit -2 for ENOENT) and clears it too
                clearTimeout(timer);
                reject(
                    new StackOutputError(
                        err.code === "ENOENT"
                            ? `the pulumi CLI is not installed (or not on PATH), so the stack's outputs cannot be read; ${AVOID_PULUMI_HINT}`
                            : `could not run pulumi: ${err.message}`,
                    ),
                );
            });
            child.on("close", (code, sig) => {
                clearTimeout(timer);
                if (code !== 0) {
                    // pulumi's stderr explains (not logged in, no such stack); it carries no secret values
                    const why = Buffer.concat(errOut).toString("utf8").trim().split("\n").slice(-3).join(" ");
                    reject(
                        new StackOutputError(
                            `\`pulumi stack output --stack ${stack}\` failed (${sig ?? `exit ${code}`})${why ? `: ${why}` : ""}; ${AVOID_PULUMI_HINT}`,
                        ),
                    );
                    return;
                }
                try {
                    resolve(JSON.parse(Buffer.concat(out).toString("utf8")) as Record<string, unknown>);
                } catch {
                    reject(new StackOutputError(`\`pulumi stack output --json --stack ${stack}\` did not print JSON`));
                }
            });
        });
}
