/**
 * The stack's configuration: one schema, parsed and validated once at program start.
 *
 * Every problem is collected and reported together, by key, before any resource is
 * registered. `ConfigError` extends `pulumi.RunError`, so the Pulumi CLI prints the message
 * without a stack trace.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { FLUX_SYNC_NAME } from "../components/flux-bootstrap";
import { kubeconfigProblems, type Target, targetProblems, targetSections } from "./target-config";

/** DOKS regions (DigitalOcean datacenter slugs). */
export const DOKS_REGIONS = [
    "nyc1",
    "nyc3",
    "sfo2",
    "sfo3",
    "ams3",
    "sgp1",
    "lon1",
    "fra1",
    "tor1",
    "blr1",
    "syd1",
    "atl1",
] as const;

/** Regions where Spaces object storage is offered. */
export const SPACES_REGIONS = [
    "nyc3",
    "sfo2",
    "sfo3",
    "ams3",
    "sgp1",
    "fra1",
    "syd1",
    "blr1",
    "lon1",
    "tor1",
    "atl1",
] as const;

/**
 * Notification provider types the stack can configure: whether each needs a credential, and
 * which of the options `channel`, `username` and `proxy` the notification-controller honours
 * for it (GitHub API calls made with a token are never proxied).
 */
export const NOTIFICATION_TYPES = {
    generic: { credential: "optional", options: ["proxy"] },
    "generic-hmac": { credential: "required", options: ["proxy"] },
    slack: { credential: "required", options: ["channel", "username", "proxy"] },
    discord: { credential: "required", options: ["username", "proxy"] },
    msteams: { credential: "required", options: ["proxy"] },
    github: { credential: "required", options: [] },
    githubdispatch: { credential: "required", options: [] },
} as const;
export type NotificationType = keyof typeof NOTIFICATION_TYPES;

const DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const K8S_VERSION = /^(latest|\d+\.\d+(\.\d+(-do\.\d+)?)?)$/;
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const GITHUB_REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;

const duration = (dflt: string) =>
    z.string().regex(DURATION, "must be a Go duration such as 30s, 5m or 1h").default(dflt);
const k8sName = z.string().max(63).regex(DNS_LABEL, "must be a lowercase DNS label (a-z, 0-9, '-')");
const httpsUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

/** Flux's Provider timeout pattern: no hours. */
const PROVIDER_TIMEOUT = /^([0-9]+(\.[0-9]+)?(ms|s|m))+$/;
/** A Kustomization as `name` (in the Flux namespace) or `namespace/name`. */
const KUSTOMIZATION_REF = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** One notification target (see docs/notifications.md). */
const notificationSchema = z
    .object({
        name: k8sName,
        type: z.enum(Object.keys(NOTIFICATION_TYPES) as [NotificationType, ...NotificationType[]], {
            error: `must be one of ${Object.keys(NOTIFICATION_TYPES).join(", ")}`,
        }),
        address: httpsUrl.optional(),
        credential: z.string().min(1).optional(),
        channel: z.string().min(1).max(2048).optional(),
        username: z.string().min(1).max(2048).optional(),
        timeout: z
            .string()
            .regex(PROVIDER_TIMEOUT, "must be a Go duration in ms, s or m such as 15s (Flux rejects hours here)")
            .optional(),
        proxy: httpsUrl.optional(),
        severity: z.enum(["info", "error"], { error: "must be info or error" }).default("info"),
        /** The standard alerts this target gets; default from severity and type (docs/notifications.md). */
        alerts: z
            .array(z.enum(["info", "error"], { error: "must be info or error" }))
            .min(1)
            .optional(),
        /** Namespaces, besides the Flux namespace, whose Kustomizations and HelmReleases the alerts watch. */
        namespaces: z.array(k8sName).optional(),
        /** github only: the GitRepository-sourced Kustomizations to post commit statuses for. */
        kustomizations: z
            .array(z.string().regex(KUSTOMIZATION_REF, "must be a Kustomization name or namespace/name"))
            .min(1)
            .optional(),
        summary: z.string().min(1).max(255).optional(),
        eventMetadata: z.record(z.string().min(1), z.string()).optional(),
        inclusionList: z.array(z.string().min(1)).optional(),
        exclusionList: z.array(z.string().min(1)).optional(),
        suspend: z.boolean().optional(),
    })
    .strict();
export type NotificationTarget = z.infer<typeof notificationSchema>;

const nodePoolSchema = z
    .object({
        /** Node pool name. */
        name: k8sName.default("default"),
        /** Droplet size slug. */
        size: z
            .string()
            .regex(/^[a-z0-9-]+$/, "must be a Droplet size slug such as s-2vcpu-4gb")
            .default("s-2vcpu-4gb"),
        /** Fixed node count (exclusive with autoscale). */
        count: z.number().int().min(1, "must be at least 1").max(512).optional(),
        /** Autoscaling bounds (exclusive with count). */
        autoscale: z
            .object({
                min: z.number().int().min(1, "must be at least 1"),
                max: z.number().int().min(1, "must be at least 1").max(512),
            })
            .strict()
            .optional(),
    })
    .strict()
    .superRefine((pool, ctx) => {
        if (pool.count !== undefined && pool.autoscale !== undefined) {
            ctx.addIssue({ code: "custom", path: ["count"], message: "set either count or autoscale, not both" });
        }
        if (pool.autoscale && pool.autoscale.min > pool.autoscale.max) {
            ctx.addIssue({
                code: "custom",
                path: ["autoscale"],
                message: `min (${pool.autoscale.min}) must not exceed max (${pool.autoscale.max})`,
            });
        }
    });

const schema = z
    .object({
        cluster: z
            .object({
                name: k8sName.optional(),
                region: z.enum(DOKS_REGIONS, { error: `must be one of ${DOKS_REGIONS.join(", ")}` }).default("fra1"),
                version: z
                    .string()
                    .regex(K8S_VERSION, "must be 'latest', a minor prefix such as 1.33, or a slug such as 1.33.1-do.0")
                    .default("latest"),
                nodePool: nodePoolSchema.prefault({}),
                ha: z.boolean().default(false),
                surgeUpgrade: z.boolean().default(true),
                autoUpgrade: z.boolean().default(true),
                maintenance: z
                    .object({
                        day: z
                            .enum(["any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])
                            .default("sunday"),
                        startTime: z.string().regex(HHMM, "must be HH:MM (UTC)").default("04:00"),
                    })
                    .strict()
                    .prefault({}),
                tags: z.array(z.string().regex(/^[A-Za-z0-9:_-]{1,255}$/, "must be a DigitalOcean tag")).default([]),
            })
            .strict()
            .prefault({}),
        bucket: z
            .object({
                name: z.string().regex(BUCKET, "must be 3-63 lowercase letters, digits or '-'").optional(),
                region: z
                    .enum(SPACES_REGIONS, { error: `must be a Spaces region: ${SPACES_REGIONS.join(", ")}` })
                    .optional(),
                forceDestroy: z.boolean().default(true),
                versioning: z.boolean().default(false),
            })
            .strict()
            .prefault({}),
        flux: z
            .object({
                namespace: k8sName.default("flux-system"),
                path: z
                    .string()
                    .regex(/^\.?\/?[A-Za-z0-9._/-]*$/, "must be a relative path such as ./ or ./clusters/dev")
                    .default("./"),
                sourceInterval: duration("1m"),
                interval: duration("10m"),
                retryInterval: duration("2m"),
                timeout: duration("5m"),
                wait: z.boolean().default(true),
                size: z.enum(["small", "medium", "large"]).optional(),
                installation: z
                    .enum(["operator", "existing"], { error: "must be operator or existing" })
                    .default("operator"),
            })
            .strict()
            .prefault({}),
        contour: z
            .object({
                namespace: k8sName.default("projectcontour"),
                loadBalancerName: k8sName.optional(),
                install: z.boolean().optional(),
            })
            .strict()
            .prefault({}),
        webhook: z
            .object({
                host: z
                    .string()
                    .regex(HOSTNAME, "must be a fully qualified host name such as flux.example.com")
                    .optional(),
                ingressClassName: k8sName.optional(),
                dnsZone: z.string().regex(HOSTNAME, "must be a domain such as example.com").optional(),
                exposure: z.enum(["httpproxy", "ingress"]).default("httpproxy"),
                rateLimit: z
                    .object({
                        requests: z.number().int().min(1).default(30),
                        unit: z.enum(["second", "minute", "hour"]).default("minute"),
                        burst: z.number().int().min(0).default(10),
                    })
                    .strict()
                    .prefault({}),
            })
            .strict()
            .prefault({}),
        acme: z
            .object({
                email: z.email({ error: "is required and must be an email address (Let's Encrypt account)" }),
                environment: z.enum(["staging", "production"]).default("staging"),
                termsAccepted: z.boolean().default(false),
            })
            .strict()
            .optional(),
        github: z
            .object({
                repository: z.string().regex(GITHUB_REPO, "must be in owner/name form"),
            })
            .strict()
            .optional(),
        notifications: z.array(notificationSchema).default([]),
        // The target and the sections of the existing-cluster target (target-config.ts).
        ...targetSections,
    })
    .strict();

/** The configuration schema (exported for documentation checks). */
export const configSchema = schema;

type ParsedConfig = z.infer<typeof schema>;

/** The validated configuration. */
export type PlatformConfig = Omit<ParsedConfig, "contour"> & {
    /** Contour settings; `install` resolved (default: true on digitalocean, false on existing-cluster). */
    readonly contour: ParsedConfig["contour"] & { readonly install: boolean };
    /** Names of credentials that are stored as Pulumi secrets (for notifications). */
    readonly secretKeys: ReadonlySet<string>;
};

/** A configuration problem, reported as one message naming every problem by key. */
export class ConfigError extends pulumi.RunError {
    constructor(public readonly problems: readonly string[]) {
        super(
            `Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** Environment variables a real deployment needs, and why. */
export const CREDENTIAL_ENV: Record<string, string> = {
    DIGITALOCEAN_TOKEN: "DigitalOcean API token (cluster, bucket, keys, DNS)",
    SPACES_ACCESS_KEY_ID: "Spaces access key ID (the provider creates the bucket with it)",
    SPACES_SECRET_ACCESS_KEY: "Spaces secret access key",
};

export interface ParseOptions {
    /** The process environment to check credentials in. */
    readonly env: NodeJS.ProcessEnv;
    /** Check that the credentials a real deployment needs are set. Default: true. */
    readonly requireCredentials?: boolean;
    /** Config keys (within the project) whose values are stored as secrets. */
    readonly secretKeys?: ReadonlySet<string>;
    /**
     * What the stack file itself says (see `readStackFileSecrets`): the keys it defines and the
     * config paths of its `secure:` values. The engine marks a whole key secret as soon as one
     * value inside it is, so credentials are checked leaf by leaf against these markers; a key
     * the stack file does not define (e.g. from a Pulumi ESC environment) falls back to
     * `secretKeys`. Default: unknown, so `secretKeys` decides.
     */
    readonly stackFileSecrets?: StackFileSecrets;
}

/** The `secure:` markers of a stack file (`Pulumi.<stack>.yaml`) for this project's keys. */
export interface StackFileSecrets {
    /** Keys (within the project) the stack file defines. */
    readonly keys: ReadonlySet<string>;
    /** Config paths of encrypted values, e.g. `notifications[1].credential` or a whole key. */
    readonly paths: ReadonlySet<string>;
}

function formatPath(path: readonly PropertyKey[]): string {
    return path.reduce<string>(
        (acc, part) => (typeof part === "number" ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
        "",
    );
}

/**
 * Names the credentials environment variables that are missing for this configuration. The
 * existing-cluster target needs no DigitalOcean or Spaces credentials.
 */
export function missingCredentials(
    env: NodeJS.ProcessEnv,
    needsGitHub: boolean,
    target: Target = "digitalocean",
): string[] {
    const missing: string[] = [];
    if (target === "digitalocean") {
        if (!env.DIGITALOCEAN_TOKEN && !env.DIGITALOCEAN_ACCESS_TOKEN) {
            missing.push(`DIGITALOCEAN_TOKEN: ${CREDENTIAL_ENV.DIGITALOCEAN_TOKEN}`);
        }
        for (const key of ["SPACES_ACCESS_KEY_ID", "SPACES_SECRET_ACCESS_KEY"]) {
            if (!env[key]) missing.push(`${key}: ${CREDENTIAL_ENV[key]}`);
        }
    }
    if (needsGitHub && !env.GITHUB_TOKEN) {
        missing.push("GITHUB_TOKEN: GitHub token with admin:repo_hook on github.repository (creates the webhook)");
    }
    return missing;
}

/**
 * Parses and validates the raw configuration (one value per top-level key, as JSON-decoded
 * objects). Throws a `ConfigError` listing every problem; returns the typed config otherwise.
 */
export function parseConfig(raw: Record<string, unknown>, options: ParseOptions): PlatformConfig {
    const problems: string[] = [];
    const result = schema.safeParse(raw);
    if (!result.success) {
        for (const issue of result.error.issues) {
            const key = formatPath(issue.path);
            if (issue.code === "unrecognized_keys") {
                for (const k of issue.keys) problems.push(`${key ? `${key}.` : ""}${k}: unknown key`);
            } else if (issue.code === "invalid_type" && issue.input === undefined) {
                const custom = issue.message.startsWith("Invalid input") ? "is required" : issue.message;
                problems.push(`${key}: ${custom}`);
            } else {
                problems.push(`${key}: ${issue.message}`);
            }
        }
    }
    const secretKeys = options.secretKeys ?? new Set<string>();

    const isSecret = (key: string, at: string): boolean => {
        const file = options.stackFileSecrets;
        if (!file?.keys.has(key)) return secretKeys.has(key);
        // the value itself, or an enclosing object or list, is encrypted in the stack file
        for (let p = at; p; p = p.replace(/(\.[^.[\]]+|\[\d+\])$/, "")) {
            if (file.paths.has(p)) return true;
            if (!/[.[]/.test(p)) break;
        }
        return false;
    };

    if (result.success) {
        const cfg = result.data;
        problems.push(...targetProblems(cfg, raw, (at) => isSecret(at.split(/[.[]/)[0], at)));
        const bucketRegion = cfg.bucket.region ?? cfg.cluster.region;
        if (cfg.target === "digitalocean" && !(SPACES_REGIONS as readonly string[]).includes(bucketRegion)) {
            problems.push(
                `bucket.region: Spaces is not offered in ${bucketRegion}; set bucket.region to one of ${SPACES_REGIONS.join(", ")}`,
            );
        }
        const { host, dnsZone } = cfg.webhook;
        if (host && dnsZone && host !== dnsZone && !host.endsWith(`.${dnsZone}`)) {
            problems.push(`webhook.host: ${host} is outside the DNS zone ${dnsZone} (webhook.dnsZone)`);
        }
        if (cfg.acme && cfg.acme.environment === "production" && !cfg.acme.termsAccepted) {
            problems.push(
                "acme.termsAccepted: must be true to use the Let's Encrypt production environment (read https://letsencrypt.org/repository/)",
            );
        }
    }

    const fluxNamespace = result.success
        ? result.data.flux.namespace
        : String((raw.flux as { namespace?: unknown } | undefined)?.namespace ?? "flux-system");
    problems.push(...notificationProblems(raw.notifications, (at) => isSecret("notifications", at), fluxNamespace));

    if (options.requireCredentials ?? true) {
        const needsGitHub = result.success ? result.data.github !== undefined : raw.github !== undefined;
        const target = result.success
            ? result.data.target
            : raw.target === "existing-cluster"
              ? raw.target
              : "digitalocean";
        for (const m of missingCredentials(options.env, needsGitHub, target)) {
            problems.push(`environment ${m} is not set`);
        }
        // The existing-cluster target's credential is its kubeconfig.
        if (result.success && target === "existing-cluster") {
            problems.push(...kubeconfigProblems(result.data.existingCluster, options.env));
        }
    }

    if (problems.length > 0 || !result.success) {
        throw new ConfigError(problems);
    }
    const cfg = result.data;
    return {
        ...cfg,
        contour: { ...cfg.contour, install: cfg.contour.install ?? cfg.target === "digitalocean" },
        secretKeys,
    };
}

/** A `namespace/name` or bare `name` (in the Flux namespace) Kustomization reference, split. */
export function kustomizationRef(ref: string, fluxNamespace: string): [namespace: string, name: string] {
    const slash = ref.indexOf("/");
    return slash >= 0 ? [ref.slice(0, slash), ref.slice(slash + 1)] : [fluxNamespace, ref];
}

/**
 * Checks between the fields of each notification target. Items the schema rejects are skipped
 * (their problems come from the schema), so every problem is reported once and all at once.
 * Messages never include a credential's value, and nothing here inspects it: an offline render
 * sees only a placeholder for it.
 */
function notificationProblems(raw: unknown, isSecret: (path: string) => boolean, fluxNamespace: string): string[] {
    if (!Array.isArray(raw)) return [];
    const problems: string[] = [];
    const seen = new Set<string>();
    raw.forEach((item, i) => {
        const parsed = notificationSchema.safeParse(item);
        if (!parsed.success) return;
        const n = parsed.data;
        const at = `notifications[${i}]`;
        const setSecret = `pulumi config set --secret --path '${at}.credential' <value>`;
        if (seen.has(n.name)) problems.push(`${at}.name: duplicate name ${n.name}`);
        seen.add(n.name);

        const needs = NOTIFICATION_TYPES[n.type].credential;
        if (needs === "required" && !n.credential) {
            problems.push(`${at}.credential: type ${n.type} needs a credential; set it with ${setSecret}`);
        }
        if (n.credential && !isSecret(`${at}.credential`)) {
            problems.push(`${at}.credential: must be stored as a secret (${setSecret})`);
        }
        if (n.address && new URL(n.address).username) {
            problems.push(
                `${at}.address: must not embed credentials (user:password@); put the URL in ${at}.credential`,
            );
        }
        switch (n.type) {
            case "generic":
                if (!n.address && !n.credential) {
                    problems.push(
                        `${at}.address: type generic needs an address (or a credential holding a secret URL)`,
                    );
                } else if (n.address && n.credential) {
                    problems.push(
                        `${at}.credential: type generic takes either an address (plain URL) or a credential (secret URL), not both`,
                    );
                }
                break;
            case "generic-hmac":
                if (!n.address)
                    problems.push(
                        `${at}.address: type generic-hmac needs the webhook URL (the credential is the HMAC key)`,
                    );
                break;
            case "slack":
                // notification-controller posts `"channel": ""` when none is set (SlackPayload has no
                // omitempty): chat.postMessage rejects that, and an incoming webhook has its own channel.
                if (n.address && !n.channel) {
                    problems.push(
                        `${at}.channel: a Slack bot token (address set, chat.postMessage) needs the channel to post to`,
                    );
                } else if (!n.address && n.channel) {
                    problems.push(
                        `${at}.channel: a Slack incoming webhook posts to its own channel; remove channel, or set ` +
                            `address to https://slack.com/api/chat.postMessage and use a bot token as the credential`,
                    );
                }
                break;
            case "discord":
            case "msteams":
                if (n.address)
                    problems.push(
                        `${at}.address: a ${n.type} webhook URL carries a token; set it as ${at}.credential (${setSecret}) instead`,
                    );
                break;
            case "github":
            case "githubdispatch":
                if (!n.address) {
                    problems.push(
                        `${at}.address: type ${n.type} needs the repository URL, e.g. https://github.com/owner/repo`,
                    );
                } else {
                    const u = new URL(n.address);
                    const id = u.pathname
                        .replace(/^\/+/, "")
                        .replace(/\.git$/, "")
                        .split("/");
                    if (id.length !== 2 || !id[0] || !id[1] || u.search || u.hash) {
                        problems.push(`${at}.address: must be a repository URL such as https://github.com/owner/repo`);
                    }
                }
                break;
        }
        for (const option of ["channel", "username", "proxy"] as const) {
            if (
                n[option] !== undefined &&
                !(NOTIFICATION_TYPES[n.type].options as readonly string[]).includes(option)
            ) {
                problems.push(`${at}.${option}: not supported by type ${n.type}`);
            }
        }

        if (n.type === "github") {
            if (!n.kustomizations) {
                problems.push(
                    `${at}.kustomizations: type github posts commit statuses, so it needs the GitRepository-sourced ` +
                        `Kustomizations to report on (the root sync comes from a bucket and has no Git commit)`,
                );
            }
            (n.kustomizations ?? []).forEach((k, j) => {
                const [ns, name] = kustomizationRef(k, fluxNamespace);
                if (ns === fluxNamespace && name === FLUX_SYNC_NAME) {
                    problems.push(
                        `${at}.kustomizations[${j}]: ${ns}/${name} is the root sync, sourced from the Spaces bucket; ` +
                            `its revision is not a Git commit, so GitHub cannot get a commit status for it`,
                    );
                }
            });
            if (n.alerts) problems.push(`${at}.alerts: not supported by type github (it gets one commit-status alert)`);
            if (n.namespaces)
                problems.push(`${at}.namespaces: not supported by type github (list kustomizations instead)`);
        } else if (n.kustomizations) {
            problems.push(`${at}.kustomizations: only for type github (commit statuses)`);
        }
        if (n.alerts) {
            if (new Set(n.alerts).size !== n.alerts.length) problems.push(`${at}.alerts: lists an alert twice`);
            if (n.severity === "error" && n.alerts.includes("info")) {
                problems.push(`${at}.alerts: includes info, but severity is error (the minimum this target wants)`);
            }
        }
    });
    return problems;
}

/** Parses a raw config value as Pulumi stores it: JSON for objects and lists, text otherwise. */
export function decodeConfigValue(value: string): unknown {
    const trimmed = value.trim();
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
        try {
            return JSON.parse(trimmed);
        } catch {
            return value;
        }
    }
    if (trimmed === "true" || trimmed === "false") return trimmed === "true";
    if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
    return value;
}

// `isConfigSecret` is exported by the SDK's runtime but missing from its type declarations.
const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };

/** Config paths (`key`, `key.field`, `key[0].field`) of the `secure:` values inside one stack-file value. */
export function securePaths(value: unknown, at: string): string[] {
    if (Array.isArray(value)) return value.flatMap((v, i) => securePaths(v, `${at}[${i}]`));
    if (!value || typeof value !== "object") return [];
    const o = value as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o.secure === "string") return [at];
    return Object.entries(o).flatMap(([k, v]) => securePaths(v, `${at}.${k}`));
}

/**
 * The `secure:` markers of this project's keys in a stack file, or undefined when the file
 * cannot be read. Keys are written `project:key` (or bare `key`, which Pulumi reads as the
 * project's).
 */
export function readStackFileSecrets(file: string, project: string): StackFileSecrets | undefined {
    let doc: { config?: Record<string, unknown> } | null;
    try {
        doc = parseYaml(readFileSync(file, "utf8")) as typeof doc;
    } catch {
        return undefined;
    }
    const keys = new Set<string>();
    const paths = new Set<string>();
    for (const [fullKey, value] of Object.entries(doc?.config ?? {})) {
        const [ns, ...rest] = fullKey.includes(":") ? fullKey.split(":") : [project, fullKey];
        if (ns !== project) continue;
        const key = rest.join(":");
        keys.add(key);
        for (const p of securePaths(value, key)) paths.add(p);
    }
    return { keys, paths };
}

/**
 * The stack file of the running stack: `Pulumi.<stack>.yaml` in the project's root (or its
 * `stackConfigDir`), or undefined when the runtime does not know the root (offline runs).
 */
export function stackFilePath(stack: string): string | undefined {
    const root = pulumi.runtime.getRootDirectory();
    if (!root) return undefined;
    let dir = root;
    try {
        const project = parseYaml(readFileSync(join(root, "Pulumi.yaml"), "utf8")) as { stackConfigDir?: unknown };
        if (typeof project?.stackConfigDir === "string") dir = join(root, project.stackConfigDir);
    } catch {
        /* no project file: the root itself */
    }
    return join(dir, `Pulumi.${stack}.yaml`);
}

/**
 * Reads this project's raw configuration from the Pulumi runtime: every key under the
 * project's namespace. Unknown keys are kept so the schema reports them.
 */
export function readRawConfig(project: string): { raw: Record<string, unknown>; secretKeys: Set<string> } {
    const all = pulumi.runtime.allConfig();
    const raw: Record<string, unknown> = {};
    const secretKeys = new Set<string>();
    for (const [fullKey, value] of Object.entries(all)) {
        const [ns, ...rest] = fullKey.split(":");
        if (ns !== project) continue;
        const key = rest.join(":");
        raw[key] = decodeConfigValue(value);
        if (isConfigSecret(fullKey)) secretKeys.add(key);
    }
    return { raw, secretKeys };
}
