// Reads the Pulumi stack's outputs (only when flags and env do not supply everything).
import { spawn } from "node:child_process";
import path from "node:path";
import { z } from "zod";

/** Injected in tests; the default spawns the pulumi CLI. */
export type StackOutputReader = (stack: string) => Promise<Record<string, unknown>>;

export class StackOutputError extends Error {}

export const StackOutputs = z
  .object({
    bucketName: z.string().min(1),
    bucketRegion: z.string().min(1),
    bucketEndpoint: z.string().min(1),
    uploadAccessKeyId: z.string().min(1),
    uploadSecretAccessKey: z.string().min(1),
    bucketReceiverUrl: z.string().min(1),
    bucketReceiverToken: z.string().min(1),
  })
  .partial();
export type StackOutputs = z.infer<typeof StackOutputs>;

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const TIMEOUT_MS = 120_000;

export const AVOID_PULUMI_HINT =
  "supply every value instead: --bucket/UPLOAD_BUCKET, --endpoint/UPLOAD_ENDPOINT, --region/UPLOAD_REGION, " +
  "AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, and --receiver-url/FLUX_RECEIVER_URL + --receiver-token/FLUX_RECEIVER_TOKEN (or --no-trigger)";

export function pulumiStackOutputs(opts: { command?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): StackOutputReader {
  const command = opts.command ?? "pulumi";
  return (stack) =>
    new Promise((resolve, reject) => {
      const args = ["stack", "output", "--json", "--show-secrets", "--non-interactive", "--stack", stack];
      const child = spawn(command, args, {
        cwd: opts.cwd ?? REPO_ROOT,
        env: opts.env ?? process.env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      const out: Buffer[] = [];
      const errOut: Buffer[] = [];
      const timer = setTimeout(() => child.kill("SIGTERM"), TIMEOUT_MS);
      child.stdout.on("data", (d: Buffer) => out.push(d));
      child.stderr.on("data", (d: Buffer) => errOut.push(d));
      child.on("error", (err: NodeJS.ErrnoException) => {
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
