// Command line, environment and stack outputs → one resolved configuration.
// Precedence: flags, then environment, then the stack's outputs.
import { isIPv4 } from "node:net";
import path from "node:path";
import { parseArgs } from "node:util";
import { type ForwardTarget, type LocalAccess, LocalAccessError, parseLocalAccess } from "./port-forward";
import type { ReceiverConfig } from "./receiver";
import type { Credentials } from "./s3";
import { parseStackOutputs, type StackOutputReader } from "./stack";
import { normalisePrefix } from "./sync";
import { readCaFile, STAGING_ROOTS, stagingRoots, TrustError } from "./trust";

export const DEFAULT_CONCURRENCY = 32;
export const MAX_CONCURRENCY = 256;

export const USAGE = `usage: npm run upload -- [--stack NAME] [--source deploy] [--bucket NAME] [--endpoint URL]
                         [--region R] [--prefix P] [--delete] [--dry-run] [--concurrency N]
                         [--receiver-url URL] [--receiver-token T] [--receiver-ca FILE] [--no-trigger]
                         [--ignore-file F]

Syncs the source folder to the bucket (content-based: MD5 against the ETag),
then calls the Flux bucket receiver so Flux reconciles at once.

  --stack NAME          Pulumi stack whose outputs supply missing values (default: dev)
  --source DIR          folder to sync (default: deploy)
  --bucket NAME         env UPLOAD_BUCKET,   stack output bucketName
  --endpoint URL        env UPLOAD_ENDPOINT, stack output bucketEndpoint (http://127.0.0.1:PORT for local servers)
  --region R            env UPLOAD_REGION,   stack output bucketRegion
  --prefix P            env UPLOAD_PREFIX (default: bucket root, which is where Flux reads);
                        relative: no leading /, no . or .. segments
  --delete              delete remote objects that no longer exist locally
  --dry-run             print the plan, change nothing
  --concurrency N       parallel requests, 1-256 (default: ${DEFAULT_CONCURRENCY})
  --receiver-url URL    env FLUX_RECEIVER_URL,   stack output bucketReceiverUrl
  --receiver-token T    env FLUX_RECEIVER_TOKEN, stack output bucketReceiverToken (prefer the env var)
  --receiver-ca FILE    env FLUX_RECEIVER_CA: PEM root(s) to trust for the receiver call, besides
                        Node's; Let's Encrypt's staging roots are added when the stack output
                        acmeEnvironment is staging
  --no-trigger          do not call the receiver
  --ignore-file F       ignore rules (default: <source>/.sourceignore)

Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when both are set, else the
stack outputs uploadAccessKeyId / uploadSecretAccessKey.

Stacks of the existing-cluster target: when the bucket endpoint or the receiver URL comes from
the stack and is inside the cluster (stack output localAccess), the tool opens
\`kubectl port-forward\` to it on 127.0.0.1 for the run (kubectl must be on PATH).`;

export class UsageError extends Error {}
export class ConfigError extends Error {}

export interface CliFlags {
    stack: string;
    source: string;
    bucket?: string;
    endpoint?: string;
    region?: string;
    prefix?: string;
    delete: boolean;
    dryRun: boolean;
    concurrency?: string;
    receiverUrl?: string;
    receiverToken?: string;
    receiverCa?: string;
    trigger: boolean;
    ignoreFile?: string;
    help: boolean;
}

const FLAG_OPTIONS = {
    stack: { type: "string" },
    source: { type: "string" },
    bucket: { type: "string" },
    endpoint: { type: "string" },
    region: { type: "string" },
    prefix: { type: "string" },
    delete: { type: "boolean" },
    "dry-run": { type: "boolean" },
    concurrency: { type: "string" },
    "receiver-url": { type: "string" },
    "receiver-token": { type: "string" },
    "receiver-ca": { type: "string" },
    "no-trigger": { type: "boolean" },
    "ignore-file": { type: "string" },
    help: { type: "boolean", short: "h" },
} as const;

export function parseFlags(argv: readonly string[]): CliFlags {
    let parsed: ReturnType<typeof parseArgs<{ options: typeof FLAG_OPTIONS; strict: true; allowPositionals: false }>>;
    try {
        parsed = parseArgs({
            args: [...argv],
            strict: true,
            allowPositionals: false,
            options: FLAG_OPTIONS,
        });
    } catch (err) {
        throw new UsageError((err as Error).message);
    }
    const v = parsed.values;
    return {
        stack: v.stack ?? "dev",
        source: v.source ?? "deploy",
        bucket: v.bucket,
        endpoint: v.endpoint,
        region: v.region,
        prefix: v.prefix,
        delete: v.delete ?? false,
        dryRun: v["dry-run"] ?? false,
        concurrency: v.concurrency,
        receiverUrl: v["receiver-url"],
        receiverToken: v["receiver-token"],
        receiverCa: v["receiver-ca"],
        trigger: !(v["no-trigger"] ?? false),
        ignoreFile: v["ignore-file"],
        help: v.help ?? false,
    };
}

export interface ResolvedConfig {
    stack: string;
    source: string;
    ignoreFile?: string;
    bucket: string;
    endpoint: string;
    region: string;
    prefix: string;
    credentials: Credentials;
    credentialsFrom: "environment" | "stack";
    deleteRemote: boolean;
    dryRun: boolean;
    concurrency: number;
    /** undefined: do not trigger (see receiverNote) */
    receiver?: ReceiverConfig;
    receiverNote?: string;
    /** the stack's ACME environment (output acmeEnvironment), when the stack was read */
    acmeEnvironment?: string;
    /** what the receiver call trusts besides Node's roots, in words */
    receiverTrust?: string;
    /** whether the stack outputs were read */
    usedStack: boolean;
    /** in-cluster services to reach through port-forwards (stack output localAccess) */
    forward?: { access: LocalAccess; s3?: ForwardTarget; receiver?: ForwardTarget };
    warnings: string[];
}

const nonEmpty = (s: string | undefined): string | undefined =>
    s === undefined || s.trim() === "" ? undefined : s.trim();

function isLoopback(host: string): boolean {
    // Stryker disable next-line Regex: a URL's hostname holds "[" and "]" only around an IPv6 address, first and last
    const h = host.replace(/^\[|\]$/g, "");
    // (a URL's hostname: WHATWG URL writes an IPv4 address in its four-number form)
    return h === "localhost" || h === "::1" || (isIPv4(h) && h.startsWith("127."));
}

/** Region from a Spaces endpoint (https://fra1.digitaloceanspaces.com → fra1); loopback → us-east-1. */
export function regionFromEndpoint(endpoint: string | undefined): string | undefined {
    if (!endpoint) return undefined;
    try {
        const url = new URL(endpoint);
        const m = /^([a-z0-9-]+)\.digitaloceanspaces\.com$/.exec(url.hostname);
        if (m) return m[1];
        if (isLoopback(url.hostname)) return "us-east-1";
    } catch {
        /* reported by validation */
    }
    return undefined;
}

function normaliseEndpoint(raw: string): string {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
    let url: URL;
    try {
        url = new URL(withScheme);
    } catch {
        throw new ConfigError(`endpoint ${JSON.stringify(raw)} is not a URL`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:")
        throw new ConfigError(`endpoint must be http(s), got ${url.protocol}`);
    // an http(s) URL's path is never empty (WHATWG URL): "/" when none was given
    if (url.pathname !== "/") throw new ConfigError(`endpoint ${url.origin}${url.pathname} must not have a path`);
    return url.origin;
}

export interface ResolveDeps {
    env: NodeJS.ProcessEnv;
    readStackOutputs: StackOutputReader;
    cwd: string;
}

export async function resolveConfig(flags: CliFlags, deps: ResolveDeps): Promise<ResolvedConfig> {
    const env = deps.env;
    const warnings: string[] = [];
    let concurrency = DEFAULT_CONCURRENCY;
    if (flags.concurrency !== undefined) {
        concurrency = Number(flags.concurrency);
        if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
            throw new UsageError(
                `--concurrency must be an integer from 1 to ${MAX_CONCURRENCY}, got ${JSON.stringify(flags.concurrency)}`,
            );
        }
    }

    let bucket = nonEmpty(flags.bucket) ?? nonEmpty(env.UPLOAD_BUCKET);
    let endpoint = nonEmpty(flags.endpoint) ?? nonEmpty(env.UPLOAD_ENDPOINT);
    let region = nonEmpty(flags.region) ?? nonEmpty(env.UPLOAD_REGION);
    let prefix: string;
    try {
        prefix = normalisePrefix(flags.prefix ?? env.UPLOAD_PREFIX);
    } catch (err) {
        // normalisePrefix throws PrefixError, and nothing else
        throw new UsageError(`${flags.prefix !== undefined ? "--prefix" : "UPLOAD_PREFIX"}: ${(err as Error).message}`);
    }
    let credentials: Credentials | undefined;
    let credentialsFrom: ResolvedConfig["credentialsFrom"] = "environment";
    const envKey = nonEmpty(env.AWS_ACCESS_KEY_ID);
    const envSecret = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
    if (envKey && envSecret) {
        credentials = {
            accessKeyId: envKey,
            secretAccessKey: envSecret,
            sessionToken: nonEmpty(env.AWS_SESSION_TOKEN),
        };
    } else if (envKey || envSecret) {
        warnings.push(
            "only one of AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY is set; ignoring both and using the stack's upload key",
        );
    }
    let receiverUrl = nonEmpty(flags.receiverUrl) ?? nonEmpty(env.FLUX_RECEIVER_URL);
    let receiverToken = nonEmpty(flags.receiverToken) ?? nonEmpty(env.FLUX_RECEIVER_TOKEN);

    const wantReceiver = flags.trigger && !flags.dryRun;
    const coreMissing = () => !bucket || !endpoint || !credentials || (!region && !regionFromEndpoint(endpoint));
    const receiverMissing = () => wantReceiver && (!receiverUrl || !receiverToken);

    let usedStack = false;
    let stackError: string | undefined;
    let forward: ResolvedConfig["forward"];
    let acmeEnvironment: string | undefined;
    if (coreMissing() || receiverMissing()) {
        try {
            const raw = await deps.readStackOutputs(flags.stack);
            const out = parseStackOutputs(raw);
            const access = parseLocalAccess(raw.localAccess);
            usedStack = true;
            bucket ??= out.bucketName;
            // In-cluster endpoints from the stack are reached through port-forwards.
            if (access) {
                forward = {
                    access,
                    s3: endpoint === undefined && out.bucketEndpoint ? access.s3 : undefined,
                    receiver: receiverUrl === undefined && out.bucketReceiverUrl ? access.receiver : undefined,
                };
            }
            endpoint ??= out.bucketEndpoint;
            region ??= out.bucketRegion;
            if (!credentials && out.uploadAccessKeyId && out.uploadSecretAccessKey) {
                credentials = { accessKeyId: out.uploadAccessKeyId, secretAccessKey: out.uploadSecretAccessKey };
                credentialsFrom = "stack";
            }
            receiverUrl ??= out.bucketReceiverUrl;
            receiverToken ??= out.bucketReceiverToken;
            acmeEnvironment = out.acmeEnvironment;
        } catch (err) {
            if (err instanceof LocalAccessError) throw new ConfigError(err.message);
            stackError = (err as Error).message;
        }
    }

    region ??= regionFromEndpoint(endpoint);
    const missing: string[] = [];
    if (!bucket) missing.push("bucket (--bucket, UPLOAD_BUCKET or stack output bucketName)");
    if (!endpoint) missing.push("endpoint (--endpoint, UPLOAD_ENDPOINT or stack output bucketEndpoint)");
    if (!region) missing.push("region (--region, UPLOAD_REGION or stack output bucketRegion)");
    if (!credentials) {
        missing.push(
            "credentials (AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY or stack outputs uploadAccessKeyId + uploadSecretAccessKey)",
        );
    }
    if (missing.length > 0) {
        // a value is missing only when the stack was asked for it: it failed (stackError) or lacked it
        const why = stackError ?? `stack "${flags.stack}" does not have these outputs`;
        throw new ConfigError(`missing ${missing.join("; ")}. ${why}`);
    }

    const normalisedEndpoint = normaliseEndpoint(endpoint!);
    const host = new URL(normalisedEndpoint).hostname;
    if (normalisedEndpoint.startsWith("http:") && !isLoopback(host) && !forward?.s3) {
        warnings.push(`endpoint ${normalisedEndpoint} is plain http: manifests travel unencrypted`);
    }

    let receiver: ReceiverConfig | undefined;
    let receiverNote: string | undefined;
    let receiverTrustNote: string | undefined;
    if (!flags.trigger) receiverNote = "not triggered (--no-trigger)";
    else if (flags.dryRun) receiverNote = "not triggered (dry run)";
    else if (receiverUrl && receiverToken) {
        let url: URL;
        try {
            url = new URL(receiverUrl);
        } catch {
            throw new ConfigError("the receiver URL is not a valid URL");
        }
        const forwarded = forward?.receiver !== undefined;
        if (url.protocol !== "https:" && !(url.protocol === "http:" && (isLoopback(url.hostname) || forwarded))) {
            throw new ConfigError(
                "the receiver URL must be https (plain http is accepted for 127.0.0.1/localhost only)",
            );
        }
        receiver = { url: url.toString(), token: receiverToken };
        const trust = receiverTrust(
            nonEmpty(flags.receiverCa) ?? nonEmpty(env.FLUX_RECEIVER_CA),
            acmeEnvironment,
            deps.cwd,
        );
        if (trust.ca.length > 0) receiver.extraCa = trust.ca;
        receiverTrustNote = trust.note;
    } else {
        const what = !receiverUrl && !receiverToken ? "URL and token" : !receiverUrl ? "URL" : "token";
        receiverNote =
            `not triggered: no receiver ${what} (--receiver-url/FLUX_RECEIVER_URL, --receiver-token/FLUX_RECEIVER_TOKEN` +
            `${usedStack ? `; stack "${flags.stack}" has no bucketReceiverUrl/bucketReceiverToken output` : ""}` +
            `${stackError ? `; ${stackError}` : ""}); Flux picks the change up at its next interval`;
    }

    return {
        stack: flags.stack,
        source: path.resolve(deps.cwd, flags.source),
        ignoreFile: flags.ignoreFile ? path.resolve(deps.cwd, flags.ignoreFile) : undefined,
        bucket: bucket!,
        endpoint: normalisedEndpoint,
        region: region!,
        prefix,
        credentials: credentials!,
        credentialsFrom,
        deleteRemote: flags.delete,
        dryRun: flags.dryRun,
        concurrency,
        receiver,
        receiverNote,
        acmeEnvironment,
        receiverTrust: receiverTrustNote,
        usedStack,
        ...(forward && (forward.s3 || forward.receiver) ? { forward } : {}),
        warnings,
    };
}

/**
 * The roots the receiver call trusts besides Node's: Let's Encrypt's staging
 * roots when the stack's ACME environment is staging (certificates issued by
 * KCert there chain to them), and the PEM file of --receiver-ca/FLUX_RECEIVER_CA.
 */
function receiverTrust(
    caFile: string | undefined,
    acmeEnvironment: string | undefined,
    cwd: string,
): { ca: string[]; note?: string } {
    const ca: string[] = [];
    const notes: string[] = [];
    try {
        if (acmeEnvironment === "staging") {
            ca.push(...stagingRoots());
            notes.push(`Let's Encrypt's staging roots (${STAGING_ROOTS.map((r) => r.name).join(", ")})`);
        }
        if (caFile) {
            const file = path.resolve(cwd, caFile);
            ca.push(...readCaFile(file));
            notes.push(`the root(s) in ${file}`);
        }
    } catch (err) {
        if (err instanceof TrustError) throw new ConfigError(err.message);
        throw err;
    }
    return { ca, note: notes.length ? notes.join(" and ") : undefined };
}
