/**
 * The stack's configuration: one schema, parsed and validated once at program start.
 *
 * Every problem is collected and reported together, by key, before any resource is
 * registered. `ConfigError` extends Pulumi's `RunError`, so the Pulumi CLI prints the message
 * without a stack trace.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
// The SDK's modules this file uses, not its index: the index loads the whole runtime (about
// 1.5 s of CPU under tsx), which the tests of this file alone (and make mutation) do not need.
import { RunError } from "@pulumi/pulumi/errors";
import { allConfig } from "@pulumi/pulumi/runtime/config";
import { distance } from "fastest-levenshtein";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { FLUX_SYNC_NAME } from "../components/flux/settings";
import { missingCredentials } from "./credentials";
import {
    kubeconfigProblems,
    type Target,
    type TargetCheckInput,
    targetProblems,
    targetSections,
} from "./target-config";

export { CREDENTIAL_ENV, missingCredentials } from "./credentials";

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
    gitlab: { credential: "required", options: [] },
    bitbucket: { credential: "required", options: [] },
    azuredevops: { credential: "required", options: [] },
    telegram: { credential: "required", options: ["channel", "proxy"] },
    googlechat: { credential: "required", options: ["proxy"] },
    pagerduty: { credential: "required", options: ["proxy"] },
} as const;

/** Notification types that post Git commit statuses: they report on listed GitRepository-sourced Kustomizations. */
export const COMMIT_STATUS_NOTIFICATIONS = ["github", "gitlab", "bitbucket", "azuredevops"] as const;
const isCommitStatus = (t: NotificationType) => (COMMIT_STATUS_NOTIFICATIONS as readonly string[]).includes(t);

/** The repository URL path a commit-status type needs (notification-controller's parseGitAddress + the notifier's split). */
const REPOSITORY_PATHS: Record<string, { pattern: RegExp; example: string }> = {
    github: { pattern: /^[^/]+\/[^/]+$/, example: "https://github.com/owner/repo" },
    githubdispatch: { pattern: /^[^/]+\/[^/]+$/, example: "https://github.com/owner/repo" },
    gitlab: { pattern: /^[^/]+(\/[^/]+)+$/, example: "https://gitlab.com/group/project" },
    bitbucket: { pattern: /^[^/]+\/[^/]+$/, example: "https://bitbucket.org/owner/repo" },
    azuredevops: { pattern: /^[^/]+\/[^/]+\/_git\/[^/]+$/, example: "https://dev.azure.com/org/project/_git/repo" },
};
export type NotificationType = keyof typeof NOTIFICATION_TYPES;

const DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const K8S_VERSION = /^(latest|\d+\.\d+(\.\d+(-do\.\d+)?)?)$/;
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const GITHUB_REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
/** A Git branch name (a subset of git check-ref-format: no spaces, `~^:?*[\\`, leading `-` or `/`). */
const GIT_BRANCH = /^(?![-/])[A-Za-z0-9._/-]{1,255}(?<![/.])$/;

/**
 * What a schema expects, in words, for type errors (`expected …, found …`), and what to do when
 * a number was written where text is expected. Read back by `describeIssue` through the
 * schema at the problem's path.
 */
interface FieldMeta {
    readonly expected?: string;
    /** Advice when a number is found where this text field is expected. */
    readonly numberHint?: (n: number) => string;
}
const fieldMeta = z.registry<FieldMeta>();

/** A Go duration whose value is above zero (Flux rejects or spins on a zero interval). */
const positiveDuration = (pattern: RegExp, message: string) => {
    const d = z
        .string()
        .regex(pattern, message)
        .refine((v) => !pattern.test(v) || /[1-9]/.test(v), "must be longer than zero");
    fieldMeta.add(d, {
        expected: "a duration such as 30s, 5m or 1h",
        numberHint: (n) => `a duration needs a unit, e.g. ${n}s or ${n}m`,
    });
    return d;
};
const duration = (dflt: string) =>
    positiveDuration(DURATION, "must be a Go duration such as 30s, 5m or 1h").default(dflt);
const k8sName = z.string().max(63).regex(DNS_LABEL, "must be a lowercase DNS label (a-z, 0-9, '-')");
/** A path relative to a source's root (`where`): no leading `/`, no `..`. */
const relativePath = (where: string) =>
    z
        .string()
        .regex(/^\.?\/?[A-Za-z0-9._/-]*$/, "must be a relative path such as ./ or ./clusters/dev")
        .refine((p) => !p.startsWith("/"), `must be relative to ${where}, such as ./clusters/dev, not an absolute path`)
        .refine(
            (p) => !p.split("/").includes(".."),
            // Stryker disable next-line Regex: "'s root" occurs only at the end of either caller's text
            `must stay inside ${where.replace(/'s root$/, "")}: '..' is not allowed (use a path such as ./clusters/dev)`,
        );
const httpsUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

/** In-cluster Service host names, the only ones a notification may reach over plain http. */
const IN_CLUSTER_HOST = /\.svc(\.cluster\.local)?\.?$/;
/** A notification address: https, or http only to an in-cluster Service. */
const notificationAddress = httpsUrl.refine((v) => {
    try {
        const u = new URL(v);
        return u.protocol !== "http:" || IN_CLUSTER_HOST.test(u.hostname);
    } catch {
        return true; // the URL check reports it
    }
}, "must use https; plain http is allowed only to an in-cluster Service (a host ending in .svc or .svc.cluster.local)");

/** Flux's Provider timeout pattern: no hours. */
const PROVIDER_TIMEOUT = /^([0-9]+(\.[0-9]+)?(ms|s|m))+$/;
/** A Kustomization as `name` (in the Flux namespace) or `namespace/name`. */
const KUSTOMIZATION_REF = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** One notification target (see docs/notifications.md). */
const notificationSchema = z
    .object({
        name: k8sName,
        // Stryker disable next-line ObjectLiteral: the message describeIssue makes of an enum without one is this same "must be one of …" list
        type: z.enum(Object.keys(NOTIFICATION_TYPES) as [NotificationType, ...NotificationType[]], {
            error: `must be one of ${Object.keys(NOTIFICATION_TYPES).join(", ")}`,
        }),
        address: notificationAddress.optional(),
        credential: z.string().min(1).optional(),
        channel: z.string().min(1).max(2048).optional(),
        username: z.string().min(1).max(2048).optional(),
        timeout: positiveDuration(
            PROVIDER_TIMEOUT,
            "must be a Go duration in ms, s or m such as 15s (Flux rejects hours here)",
        ).optional(),
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

/**
 * Receiver types the `receivers` list takes: what each reconciles by default (Git sources for
 * forges, ImageRepositories for registries) and the events it accepts by default (the header
 * notification-controller v1.9.3 checks them against; none: every event).
 */
export const RECEIVER_TYPES = {
    github: { reconciles: "GitRepository", events: ["ping", "push"] },
    gitlab: { reconciles: "GitRepository", events: ["Push Hook", "Tag Push Hook"] },
    bitbucket: { reconciles: "GitRepository", events: ["repo:refs_changed"] },
    dockerhub: { reconciles: "ImageRepository", events: [] },
    quay: { reconciles: "ImageRepository", events: [] },
    harbor: { reconciles: "ImageRepository", events: [] },
    "generic-hmac": { reconciles: "GitRepository", events: [] },
} as const;
export type ReceiverConfigType = keyof typeof RECEIVER_TYPES;
/** Kinds a receiver may reconcile (the Receiver CRD's resources enum, minus the Helm and ArtifactGenerator kinds). */
export const RECEIVER_RESOURCE_KINDS = [
    "GitRepository",
    "OCIRepository",
    "Bucket",
    "HelmRepository",
    "ImageRepository",
] as const;
/** Names of the receivers the stack always makes (the github one with webhook.host). */
export const BUILTIN_RECEIVERS = ["github", "bucket"] as const;

/** One extra receiver (see the README, "More receivers"). */
const receiverSchema = z
    .object({
        name: k8sName,
        // Stryker disable next-line ObjectLiteral: the message describeIssue makes of an enum without one is this same "must be one of …" list
        type: z.enum(Object.keys(RECEIVER_TYPES) as [ReceiverConfigType, ...ReceiverConfigType[]], {
            error: `must be one of ${Object.keys(RECEIVER_TYPES).join(", ")}`,
        }),
        /** Events accepted; default per type (RECEIVER_TYPES). */
        events: z.array(z.string().min(1)).min(1).optional(),
        /** What it reconciles; default: every object of the type's kind labelled gitops.platform/receiver: <name>. */
        resources: z
            .array(
                z
                    .object({
                        // Stryker disable next-line ObjectLiteral: the message describeIssue makes of an enum without one is this same "must be one of …" list
                        kind: z.enum(RECEIVER_RESOURCE_KINDS, {
                            error: `must be one of ${RECEIVER_RESOURCE_KINDS.join(", ")}`,
                        }),
                        name: z
                            .string()
                            .regex(
                                /^(\*|[a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/,
                                "must be an object name, or * (with matchLabels)",
                            ),
                        namespace: k8sName.optional(),
                        matchLabels: z.record(z.string().min(1), z.string()).optional(),
                    })
                    .strict(),
            )
            .min(1)
            .optional(),
    })
    .strict();
export type ReceiverConfig = z.infer<typeof receiverSchema>;

/** An image reference without tag or digest, e.g. `ghcr.io/stefanprodan/podinfo` or `nginx`. */
const IMAGE_NAME = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

/** One image the automation follows (see docs/image-automation.md). */
const imageSchema = z
    .object({
        /** ImageRepository and ImagePolicy name; markers name it as `<flux namespace>:<name>`. */
        name: k8sName,
        /** Image without tag. */
        image: z.string().regex(IMAGE_NAME, "must be an image name without tag, such as ghcr.io/org/app"),
        /** Semver range of the tags to pick from (exclusive with pattern). */
        semver: z.string().min(1).optional(),
        /** Go regular expression the tags must match (exclusive with semver). */
        pattern: z.string().min(1).optional(),
        /** With pattern: the part of the tag to order by, e.g. `$ts` from a named group. Default: the whole tag. */
        extract: z.string().min(1).optional(),
        /** With pattern: order tags numerically (timestamps, build numbers) or alphabetically. */
        order: z.enum(["numerical", "alphabetical"], { error: "must be numerical or alphabetical" }).optional(),
        /** A `receivers` entry whose pushes refresh this image at once (labels the ImageRepository). */
        receiver: k8sName.optional(),
    })
    .strict();
export type ImageConfig = z.infer<typeof imageSchema>;

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
        // Stryker disable next-line StringLiteral: zod's own message for min(1) reads the same in describeIssue
        count: z.number().int().min(1, "must be at least 1").max(512).optional(),
        /** Autoscaling bounds (exclusive with count). */
        autoscale: z
            .object({
                // Stryker disable next-line StringLiteral: zod's own message for min(1) reads the same in describeIssue
                min: z.number().int().min(1, "must be at least 1"),
                // Stryker disable next-line StringLiteral: zod's own message for min(1) reads the same in describeIssue
                max: z.number().int().min(1, "must be at least 1").max(512),
            })
            .strict()
            .optional(),
    })
    .strict();

const schema = z
    .object({
        cluster: z
            .object({
                name: k8sName.optional(),
                // Stryker disable next-line ObjectLiteral: the message describeIssue makes of an enum without one is this same "must be one of …" list
                region: z.enum(DOKS_REGIONS, { error: `must be one of ${DOKS_REGIONS.join(", ")}` }).default("fra1"),
                version: z
                    .string()
                    .regex(K8S_VERSION, "must be 'latest', a minor prefix such as 1.33, or a slug such as 1.33.1-do.0")
                    .register(fieldMeta, {
                        expected: "a version as text",
                        numberHint: (n) =>
                            `YAML reads an unquoted ${n} as a number (and 1.30 as 1.3); quote it: version: "${n}"`,
                    })
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
                path: relativePath("the bucket's root").default("./"),
                sourceInterval: duration("1m"),
                interval: duration("10m"),
                retryInterval: duration("2m"),
                timeout: duration("5m"),
                wait: z.boolean().default(false),
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
                /** Must be true (checked in `crossFieldProblems`, with a link to the terms). */
                termsAccepted: z.boolean().optional(),
            })
            .strict()
            .optional(),
        github: z
            .object({
                repository: z.string().regex(GITHUB_REPO, "must be in owner/name form"),
                /** Branch the GitRepository follows. */
                branch: z
                    .string()
                    .regex(GIT_BRANCH, "must be a branch name such as main or release/1.x")
                    .refine((b) => !b.split("/").includes(".."), "must not contain '..'")
                    .default("main"),
                /** Path in the repository the `github` Kustomization applies. */
                path: relativePath("the repository's root").default("./"),
                /** Token for the commit-status Provider (a secret; checked in `githubProblems`). */
                statusToken: z.string().min(1).optional(),
            })
            .strict()
            .optional(),
        notifications: z.array(notificationSchema).default([]),
        receivers: z.array(receiverSchema).default([]),
        imageAutomation: z
            .object({
                enabled: z.boolean().default(false),
                /** How often registries are scanned and the repository is updated. */
                interval: duration("5m"),
                author: z
                    .object({
                        name: z.string().min(1).default("fluxcdbot"),
                        email: z
                            .email({ error: "must be an email address" })
                            .default("fluxcdbot@users.noreply.github.com"),
                    })
                    .strict()
                    .prefault({}),
                /** Go template of the commit message (image-automation-controller's TemplateData). */
                messageTemplate: z.string().min(1).optional(),
                images: z.array(imageSchema).default([]),
            })
            .strict()
            .prefault({}),
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
export class ConfigError extends RunError {
    constructor(public readonly problems: readonly string[]) {
        super(
            `Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

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
    /**
     * `<project>-<stack>`, the default name of the cluster (and, through it, of the load
     * balancer). When given, the names derived from it are checked like the explicit keys.
     */
    readonly baseName?: string;
    /** The project's config namespace (the Pulumi project name). Default: `do-gitops-platform`. */
    readonly project?: string;
    /** Full config keys (`namespace:key`) outside the project's namespace, checked for typos. */
    readonly otherKeys?: readonly string[];
}

/** The `secure:` markers of a stack file (`Pulumi.<stack>.yaml`) for this project's keys. */
export interface StackFileSecrets {
    /** Keys (within the project) the stack file defines. */
    readonly keys: ReadonlySet<string>;
    /** Config paths of encrypted values, e.g. `notifications[1].credential` or a whole key. */
    readonly paths: ReadonlySet<string>;
}

/** The Pulumi project name, which is also the config namespace. */
export const PROJECT_NAMESPACE = "do-gitops-platform";

/**
 * Config namespaces of the Pulumi packages this program uses: their settings (such as
 * `digitalocean:token`) are theirs, never flagged.
 */
export const PROVIDER_NAMESPACES = ["pulumi", "digitalocean", "kubernetes", "github", "random"] as const;

function formatPath(path: readonly PropertyKey[]): string {
    return path.reduce<string>(
        (acc, part) => (typeof part === "number" ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
        "",
    );
}

// ---------------------------------------------------------------- walking the schema

/** The schema inside default/prefault/optional/nullable/readonly/pipe wrappers. */
function unwrap(s: z.ZodType): z.ZodType {
    let cur = s;
    for (;;) {
        const def = (cur as unknown as { _zod: { def: { innerType?: z.ZodType; in?: z.ZodType } } })._zod.def;
        const next = def.innerType ?? def.in;
        if (!next) return cur;
        cur = next;
    }
}

/** The (wrapped) schema of the field at `path`, or undefined when the schema has no such field. */
function schemaAt(root: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
    let cur: z.ZodType | undefined = root;
    // (zod's paths, and the checks' own, name an object's fields by key and a list's entries by
    // number, and name an unknown key at its parent object: a path never goes on past a field the
    // schema lacks)
    for (const part of path) {
        if (!cur) return undefined;
        const inner = unwrap(cur);
        if (inner instanceof z.ZodObject) cur = inner.shape[part as string] as z.ZodType | undefined;
        else if (inner instanceof z.ZodArray) cur = inner.element as z.ZodType;
        else return undefined;
    }
    return cur;
}

/** The metadata registered on a field's schema or any of its wrappers. */
function metaAt(path: readonly PropertyKey[]): FieldMeta | undefined {
    let cur = schemaAt(schema, path);
    while (cur) {
        const m = fieldMeta.get(cur);
        if (m) return m;
        const def = (cur as unknown as { _zod: { def: { innerType?: z.ZodType; in?: z.ZodType } } })._zod.def;
        cur = def.innerType ?? def.in;
    }
    return undefined;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Marks a value that cannot be reached because a parent is not a map/list. */
const UNREACHABLE = Symbol("unreachable");

/** The raw value at a path of map keys: undefined when absent, UNREACHABLE under a non-map. */
function valueAt(raw: unknown, path: readonly string[]): unknown {
    let cur = raw;
    for (const part of path) {
        if (cur === undefined) return undefined;
        if (!isMap(cur)) return UNREACHABLE;
        cur = cur[part];
    }
    return cur;
}

/**
 * The value of one field, parsed on its own with its own schema (defaults applied), so that
 * checks between fields run whenever their own fields are valid, whatever else is wrong.
 */
function fieldValue<S extends z.ZodType>(
    root: z.ZodType,
    raw: unknown,
    path: readonly string[],
): { ok: true; value: z.infer<S> } | { ok: false; value?: undefined } {
    const s = schemaAt(root, path);
    const v = valueAt(raw, path);
    // Stryker disable next-line LogicalOperator: every path given names a field of the schema (s is defined), and a symbol (UNREACHABLE) fails every field's own schema too
    if (!s || v === UNREACHABLE) return { ok: false };
    const r = s.safeParse(v);
    return r.success ? { ok: true, value: r.data as z.infer<S> } : { ok: false };
}

// ---------------------------------------------------------------- messages

/** The closest of `candidates` to `word`, when it is close enough to be a likely typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Number.POSITIVE_INFINITY;
    const w = word.toLowerCase();
    for (const c of candidates) {
        const d = distance(w, c.toLowerCase());
        if (d < bestDistance) {
            best = c;
            bestDistance = d;
        }
    }
    if (best === undefined) return undefined;
    // One edit in short words, up to a third of the word in longer ones (a swap is two edits).
    const allowed = Math.max(1, Math.min(3, Math.floor(Math.max(word.length, best.length) / 3)));
    return bestDistance <= allowed ? best : undefined;
}

/** How a found value reads in a message; secrets are named by type only. */
function describeFound(v: unknown, secret: boolean): string {
    const kind =
        v === null
            ? "an empty value"
            : Array.isArray(v)
              ? "a list"
              : isMap(v)
                ? "a map of settings"
                : typeof v === "string"
                  ? v === ""
                      ? "an empty value"
                      : "the text"
                  : typeof v === "number"
                    ? "the number"
                    : // true or false: a config value is JSON's (text, number, true/false, null, list, map)
                      "the value";
    if (v === null || v === "" || Array.isArray(v) || isMap(v)) return kind;
    if (secret) return `${kind} (not shown: a secret)`;
    const text = String(v);
    const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
    return typeof v === "string" ? `${kind} "${shown}"` : `${kind} ${shown}`;
}

const EXPECTED: Record<string, string> = {
    string: "text",
    // Stryker disable next-line StringLiteral: every number field of the schema is whole (.int()), so a number field's `wanted` is int
    number: "a number",
    int: "a whole number",
    boolean: "true or false",
    object: "a map of settings",
    array: "a list",
};

/** The leaf key of a path, for examples such as `version: "1.35"`. */
const leafOf = (path: readonly PropertyKey[]) => {
    const last = [...path].reverse().find((p) => typeof p === "string");
    // Stryker disable next-line StringLiteral: the hints name a field's value, whose path always has its key
    return last === undefined ? "value" : String(last);
};

/** One zod issue as the messages a user reads (several for several unknown keys). */
function describeIssue(issue: z.core.$ZodIssue, secret: boolean): string[] {
    const key = formatPath(issue.path);
    const at = key ? `${key}: ` : "";
    const input = (issue as { input?: unknown }).input;
    const found = () => describeFound(input, secret);
    const isDefault = (prefix: string) => issue.message.startsWith(prefix);
    switch (issue.code) {
        case "unrecognized_keys": {
            const shape = unwrap(schemaAt(schema, issue.path) ?? schema);
            const known = shape instanceof z.ZodObject ? Object.keys(shape.shape) : [];
            return issue.keys.map((k) => {
                const close = suggest(k, known);
                // `pulumi config set cluster.region fra1` (no --path) stores the key "cluster.region".
                const [first, ...rest] = k.split(/[.:]/);
                const parent = rest.length > 0 ? (known.includes(first) ? first : suggest(first, known)) : undefined;
                const inner = rest.join(".");
                const full = `${key ? `${key}.` : ""}${parent}.${inner}`;
                const hint = parent
                    ? `did you mean ${parent} with ${inner} inside it? Nest it in the stack file, or use ` +
                      `pulumi config set --path '${full}' <value>`
                    : close
                      ? `did you mean ${close}?`
                      : `known keys: ${known.join(", ")}`;
                return `${key ? `${key}.` : ""}${k}: unknown key; ${hint}`;
            });
        }
        case "invalid_type": {
            if (input === undefined) return [`${at}${isDefault("Invalid input") ? "is required" : issue.message}`];
            const meta = metaAt(issue.path);
            const field = unwrap(schemaAt(schema, issue.path) ?? schema);
            // Stryker disable next-line LogicalOperator: isInt is undefined on every schema but a number's
            const wanted = field instanceof z.ZodNumber && field.isInt ? "int" : issue.expected;
            // (only text fields have an expected wording of their own: durations, the version)
            const expected = meta?.expected ?? EXPECTED[wanted] ?? wanted;
            let hint = "";
            if (secret) {
                // No hint: it would repeat the value.
            } else if (issue.expected === "string" && typeof input === "number") {
                hint = meta?.numberHint
                    ? `: ${meta.numberHint(input)}`
                    : `: YAML reads it unquoted as a number; quote it: ${leafOf(issue.path)}: "${input}"`;
            } else if (issue.expected === "string" && typeof input === "boolean") {
                hint = `: YAML reads it unquoted as ${input}; quote it: ${leafOf(issue.path)}: "${input}"`;
            } else if (typeof input === "string") {
                const t = input.trim();
                // (zod expects "int" only of a number: a text is always expected to be a "number";
                // every number field is whole, so only a whole number is worth unquoting)
                if (issue.expected === "number" && /^-?\d+$/.test(t)) {
                    hint = `: remove the quotes: ${leafOf(issue.path)}: ${t}`;
                } else if (issue.expected === "boolean" && (t === "true" || t === "false")) {
                    hint = `: remove the quotes: ${leafOf(issue.path)}: ${t}`;
                }
            }
            return [`${at}expected ${expected}, found ${found()}${hint}`];
        }
        case "invalid_value": {
            if (input === undefined) return [`${at}is required`];
            const options = issue.values.map(String);
            const base = isDefault("Invalid option") ? `must be one of ${options.join(", ")}` : issue.message;
            const close = typeof input === "string" ? suggest(input, options) : undefined;
            return [`${at}${base}; found ${found()}${close ? `, did you mean ${close}?` : ""}`];
        }
        case "too_small":
        case "too_big": {
            const small = issue.code === "too_small";
            const limit = String(small ? issue.minimum : issue.maximum);
            let base = issue.message;
            // Stryker disable next-line StringLiteral: the schema's own limit messages ("must be at least 1") read as the generated ones
            if (isDefault("Too small") || isDefault("Too big")) {
                const word = small ? "at least" : "at most";
                base =
                    issue.origin === "string"
                        ? // Stryker disable next-line LogicalOperator: every text's minimum in the schema is 1 (or none), and no maximum is 1
                          small && limit === "1"
                            ? "must not be empty"
                            : `must be ${word} ${limit} characters long`
                        : issue.origin === "array"
                          ? `must list ${word} ${limit} entries`
                          : `must be ${word} ${limit}`;
            }
            // the length of a text that is shown, or is a secret (an empty one is called empty)
            const size = issue.origin === "string" && input !== "" ? ` (${String(input).length} characters)` : "";
            return [`${at}${base}; found ${issue.origin === "array" ? "a list" : found()}${size}`];
        }
        case "invalid_key": {
            // A map's key (zod's path ends in the key itself: `m.: Invalid key in record` for an
            // empty one): named under the map, with what is wrong with the key.
            const map = formatPath(issue.path.slice(0, -1));
            const why = issue.issues.map((i) => describeIssue({ ...i, path: [] }, secret)[0]).join("; ");
            return [`${map ? `${map}: ` : ""}a key ${why}`];
        }
        case "invalid_format":
        case "custom":
            return [`${at}${issue.message}; found ${found()}`];
        default:
            return [`${at}${issue.message}`];
    }
}

// ---------------------------------------------------------------- checks between fields

/** Checks between fields: each runs when its own fields are valid, whatever else is wrong. */
function crossFieldProblems(raw: Record<string, unknown>): string[] {
    const problems: string[] = [];
    const field = <T>(...path: string[]) => fieldValue<z.ZodType<T>>(schema, raw, path);

    const target = field<Target>("target");
    const onDigitalOcean = target.ok && target.value === "digitalocean";
    const clusterRegion = field<string>("cluster", "region");
    const bucketRegion = field<string | undefined>("bucket", "region");
    if (onDigitalOcean && clusterRegion.ok && bucketRegion.ok) {
        const region = bucketRegion.value ?? clusterRegion.value;
        if (!(SPACES_REGIONS as readonly string[]).includes(region)) {
            problems.push(
                `bucket.region: Spaces is not offered in ${region}; set bucket.region to one of ${SPACES_REGIONS.join(", ")}`,
            );
        }
    }

    const host = field<string | undefined>("webhook", "host");
    const zone = field<string | undefined>("webhook", "dnsZone");
    // (a field that is not ok has no value)
    if (host.value && zone.value && host.value !== zone.value && !host.value.endsWith(`.${zone.value}`)) {
        problems.push(`webhook.host: ${host.value} is outside the DNS zone ${zone.value} (webhook.dnsZone)`);
    }

    // KCert registers a Let's Encrypt account wherever a certificate is needed: on the
    // digitalocean target and with a public webhook.host.
    const acmeUsed = onDigitalOcean || (host.ok && host.value !== undefined);
    const terms = field<boolean | undefined>("acme", "termsAccepted");
    if (acmeUsed && terms.ok && terms.value !== true) {
        problems.push(
            "acme.termsAccepted: must be true: Let's Encrypt (staging too) refuses to create an account that " +
                "does not agree to its Subscriber Agreement, so no certificate would be issued. Read the current " +
                "agreement at https://letsencrypt.org/repository/ and set acme.termsAccepted: true",
        );
    }

    const count = field<number | undefined>("cluster", "nodePool", "count");
    const autoscale = valueAt(raw, ["cluster", "nodePool", "autoscale"]);
    // (a count that is set means nodePool is a map: autoscale is never UNREACHABLE here)
    if (count.ok && count.value !== undefined && autoscale !== undefined) {
        problems.push("cluster.nodePool.count: set either count or autoscale, not both");
    }
    const min = field<number>("cluster", "nodePool", "autoscale", "min");
    const max = field<number>("cluster", "nodePool", "autoscale", "max");
    // an invalid bound has no value: NaN, which no comparison holds for
    if (Number(min.value) > Number(max.value)) {
        problems.push(`cluster.nodePool.autoscale: min (${min.value}) must not exceed max (${max.value})`);
    }
    return problems;
}

/**
 * The target's checks (target-config.ts), run on the sections they read as soon as those are
 * valid, whatever else is wrong.
 */
function targetCheckProblems(raw: Record<string, unknown>, isSecret: (path: string) => boolean): string[] {
    const field = <T>(...path: string[]) => fieldValue<z.ZodType<T>>(schema, raw, path);
    const target = field<Target>("target");
    const existingCluster = field<TargetCheckInput["existingCluster"]>("existingCluster");
    const s3 = field<TargetCheckInput["s3"]>("s3");
    const inClusterS3 = field<TargetCheckInput["inClusterS3"]>("inClusterS3");
    const host = field<string | undefined>("webhook", "host");
    const dnsZone = field<string | undefined>("webhook", "dnsZone");
    const ingressClassName = field<string | undefined>("webhook", "ingressClassName");
    // Stryker disable next-line StringLiteral,ArrayDeclaration: given() below falls back to the raw section, set exactly when the parsed one is (optional, no default)
    const acme = field<unknown>("acme");
    // Stryker disable next-line StringLiteral,ArrayDeclaration: as acme
    const github = field<unknown>("github");
    const install = field<boolean | undefined>("contour", "install");
    if (
        !(
            target.ok &&
            existingCluster.ok &&
            s3.ok &&
            inClusterS3.ok &&
            host.ok &&
            dnsZone.ok &&
            ingressClassName.ok &&
            install.ok
        )
    ) {
        return [];
    }
    // A present but invalid acme or github section is reported by the schema; here it counts as set.
    const given = (f: { ok: boolean; value?: unknown }, key: string) => (f.ok ? f.value : raw[key]);
    return targetProblems(
        {
            target: target.value,
            existingCluster: existingCluster.value,
            s3: s3.value,
            inClusterS3: inClusterS3.value,
            webhook: { host: host.value, dnsZone: dnsZone.value, ingressClassName: ingressClassName.value },
            acme: given(acme, "acme"),
            github: given(github, "github"),
            contour: { install: install.value },
        },
        raw,
        isSecret,
    );
}

/**
 * Names derived from the project and stack name must obey the limits of the explicit keys
 * that would replace them: checked with those keys' own schemas.
 */
function derivedNameProblems(raw: Record<string, unknown>, baseName: string | undefined): string[] {
    const problems: string[] = [];
    const field = <T>(...path: string[]) => fieldValue<z.ZodType<T>>(schema, raw, path);
    const check = (key: string, value: string, how: string, fix: string) => {
        const s = schemaAt(schema, key.split("."));
        // Stryker disable next-line OptionalChaining: both keys checked are the schema's (s is defined)
        const r = s?.safeParse(value, { reportInput: true });
        if (r && !r.success) {
            const why = r.error.issues.map((i) => describeIssue({ ...i, path: [] }, false)[0]).join("; ");
            problems.push(`${key}: the default name "${value}" (${how}) is not valid: ${why}; ${fix}`);
        }
    };
    const clusterName = field<string | undefined>("cluster", "name");
    if (!clusterName.ok) return problems;
    const cluster = clusterName.value ?? baseName;
    // no cluster.name and no stack to name it after (a caller that gives no baseName): nothing derived
    if (cluster === undefined) return problems;
    // (an explicit cluster.name passed its own schema above: checking it again finds nothing)
    check("cluster.name", cluster, "<project>-<stack>", "set cluster.name, or use a shorter lowercase stack name");
    const lbName = field<string | undefined>("contour", "loadBalancerName");
    if (lbName.ok && lbName.value === undefined) {
        check(
            "contour.loadBalancerName",
            `${cluster}-envoy`,
            "<cluster name>-envoy",
            "set contour.loadBalancerName, or a shorter cluster.name",
        );
    }
    return problems;
}

/** Keys under a namespace that looks like a typo of the project's (or like one of its keys). */
export function namespaceProblems(project: string, otherKeys: readonly string[]): string[] {
    const problems: string[] = [];
    const topKeys = Object.keys(schema.shape);
    for (const full of otherKeys) {
        const colon = full.indexOf(":");
        if (colon < 0) continue;
        const ns = full.slice(0, colon);
        const key = full.slice(colon + 1);
        if (ns === project || (PROVIDER_NAMESPACES as readonly string[]).includes(ns)) continue;
        const normalized = (x: string) => x.toLowerCase().replace(/[-_.\s]/g, "");
        if (suggest(ns, [project]) || normalized(ns) === normalized(project)) {
            problems.push(
                `${full}: unknown namespace ${ns}, so this setting is ignored; this project reads its settings ` +
                    `under ${project}: (did you mean ${project}:${key}?)`,
            );
        } else if (topKeys.includes(ns) || suggest(ns, topKeys)) {
            const top = topKeys.includes(ns) ? ns : suggest(ns, topKeys);
            problems.push(
                `${full}: ${ns}: is read as a namespace, so this setting is ignored; did you mean ${project}:${top} ` +
                    `with ${key} inside it? (pulumi config set --path '${top}.${key}' <value>)`,
            );
        }
    }
    return problems;
}

/**
 * Parses and validates the raw configuration (one value per top-level key, as JSON-decoded
 * objects). Throws a `ConfigError` listing every problem; returns the typed config otherwise.
 */
export function parseConfig(raw: Record<string, unknown>, options: ParseOptions): PlatformConfig {
    const problems: string[] = [];
    const secretKeys = options.secretKeys ?? new Set<string>();
    problems.push(...namespaceProblems(options.project ?? PROJECT_NAMESPACE, options.otherKeys ?? []));

    const result = schema.safeParse(raw, { reportInput: true });
    if (!result.success) {
        for (const issue of result.error.issues) {
            // an issue's path starts with the top-level key (none for the whole config: no secret)
            problems.push(...describeIssue(issue, secretKeys.has(String(issue.path[0]))));
        }
    }
    problems.push(...crossFieldProblems(raw));
    const onDigitalOcean = fieldValue<z.ZodType<Target>>(schema, raw, ["target"]);
    // The existing-cluster target names no cloud resource after the stack.
    if (onDigitalOcean.value === "digitalocean") problems.push(...derivedNameProblems(raw, options.baseName));

    const fluxNamespace = fieldValue<z.ZodType<string>>(schema, raw, ["flux", "namespace"]);
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
    const target = fieldValue<z.ZodType<Target>>(schema, raw, ["target"]);
    problems.push(...targetCheckProblems(raw, (at) => isSecret(at.split(/[.[]/)[0], at)));
    problems.push(
        ...notificationProblems(
            raw.notifications,
            (at) => isSecret("notifications", at),
            fluxNamespace.ok ? fluxNamespace.value : "flux-system",
        ),
    );

    problems.push(...githubProblems(raw, (at) => isSecret("github", at)));
    problems.push(...receiverProblems(raw));
    problems.push(...imageAutomationProblems(raw));

    if (options.requireCredentials ?? true) {
        const github = valueAt(raw, ["github"]);
        const onTarget = target.ok ? target.value : "digitalocean";
        for (const m of missingCredentials(options.env, github !== undefined, onTarget)) {
            problems.push(`environment ${m} is not set`);
        }
        // The existing-cluster target's credential is its kubeconfig.
        const existing = fieldValue<z.ZodType<TargetCheckInput["existingCluster"]>>(schema, raw, ["existingCluster"]);
        if (onTarget === "existing-cluster" && existing.ok) {
            problems.push(...kubeconfigProblems(existing.value, options.env));
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

/** Name of the commit-status Provider and Alert `github.statusToken` creates. */
export const GITHUB_STATUS_NAME = "github-status";

/**
 * Checks of the `github` section: the commit-status token is stored as a secret, and no
 * notification target takes the name of the Provider and Alert it creates.
 */
function githubProblems(raw: Record<string, unknown>, isSecret: (path: string) => boolean): string[] {
    const problems: string[] = [];
    const token = valueAt(raw, ["github", "statusToken"]);
    if (typeof token === "string" && token !== "" && !isSecret("github.statusToken")) {
        problems.push(
            "github.statusToken: must be stored as a secret (pulumi config set --secret --path 'github.statusToken' <token>)",
        );
    }
    const notifications = valueAt(raw, ["notifications"]);
    if (typeof token === "string" && Array.isArray(notifications)) {
        notifications.forEach((n, i) => {
            if (isMap(n) && n.name === GITHUB_STATUS_NAME) {
                problems.push(
                    `notifications[${i}].name: ${GITHUB_STATUS_NAME} is the commit-status Provider github.statusToken creates; choose another name`,
                );
            }
        });
    }
    return problems;
}

/**
 * Checks of the `receivers` list: unique names that are not the built-in receivers', a public
 * host to be reached at, and label selectors only with the `*` name.
 */
function receiverProblems(raw: Record<string, unknown>): string[] {
    const list = valueAt(raw, ["receivers"]);
    if (!Array.isArray(list) || list.length === 0) return [];
    const problems: string[] = [];
    const host = fieldValue<z.ZodType<string | undefined>>(schema, raw, ["webhook", "host"]);
    if (host.ok && host.value === undefined) {
        problems.push(
            "receivers: need webhook.host (their senders reach them over the internet, through the HTTPS exposure); set webhook.host or remove receivers",
        );
    }
    const seen = new Set<string>();
    list.forEach((item, i) => {
        if (!isMap(item)) return;
        const at = `receivers[${i}]`;
        if (typeof item.name === "string") {
            if ((BUILTIN_RECEIVERS as readonly string[]).includes(item.name)) {
                problems.push(
                    `${at}.name: ${item.name} is a receiver the stack always makes (${BUILTIN_RECEIVERS.join(", ")}); choose another name`,
                );
            }
            if (seen.has(item.name)) problems.push(`${at}.name: duplicate name ${item.name}`);
            seen.add(item.name);
        }
        if (Array.isArray(item.resources)) {
            item.resources.forEach((r, j) => {
                if (isMap(r) && r.matchLabels !== undefined && r.name !== "*") {
                    problems.push(
                        `${at}.resources[${j}].matchLabels: needs name "*" (Flux selects by labels only then)`,
                    );
                }
            });
        }
    });
    return problems;
}

/**
 * Checks of `imageAutomation`: it writes to Git, so it needs the GitHub source (never the
 * bucket); each image has exactly one way to pick a tag; a named receiver exists.
 */
function imageAutomationProblems(raw: Record<string, unknown>): string[] {
    const problems: string[] = [];
    const enabled = fieldValue<z.ZodType<boolean>>(schema, raw, ["imageAutomation", "enabled"]);
    const github = valueAt(raw, ["github"]);
    const images = valueAt(raw, ["imageAutomation", "images"]);
    if (enabled.ok && enabled.value && github === undefined) {
        problems.push(
            "imageAutomation.enabled: image automation commits the new tags to Git, so it needs the GitHub " +
                "source (github.repository); the bucket is written only by make upload-do and cannot take commits",
        );
    }
    if (enabled.ok && !enabled.value && Array.isArray(images) && images.length > 0) {
        problems.push("imageAutomation.images: listed, but imageAutomation.enabled is not true");
    }
    if (!Array.isArray(images)) return problems;
    // The receivers' names, when every one can be read: a receiver the schema refuses (not a map,
    // no text name) is named by the schema, not again by the images that refer to it.
    const receivers = valueAt(raw, ["receivers"]) ?? [];
    const receiverNames =
        Array.isArray(receivers) && receivers.every((r) => isMap(r) && typeof r.name === "string")
            ? receivers.map((r) => r.name as string)
            : undefined;
    const seen = new Set<unknown>();
    images.forEach((img, i) => {
        if (!isMap(img)) return;
        const at = `imageAutomation.images[${i}]`;
        if (img.name !== undefined) {
            if (seen.has(img.name)) problems.push(`${at}.name: duplicate name ${String(img.name)}`);
            seen.add(img.name);
        }
        const has = (k: string) => img[k] !== undefined;
        if (has("semver") === has("pattern")) {
            problems.push(
                `${at}: set either semver (a range such as ">=1.0.0 <2.0.0") or pattern (a tag regex), not ${has("semver") ? "both" : "neither"}`,
            );
        }
        for (const k of ["extract", "order"]) {
            if (has(k) && !has("pattern")) problems.push(`${at}.${k}: only with pattern`);
        }
        if (typeof img.pattern === "string") {
            try {
                new RegExp(img.pattern.replace(/\(\?P</g, "(?<"));
            } catch {
                problems.push(`${at}.pattern: not a valid regular expression`);
            }
        }
        if (typeof img.receiver === "string" && receiverNames && !receiverNames.includes(img.receiver)) {
            const close = suggest(img.receiver, receiverNames);
            problems.push(
                `${at}.receiver: no receivers entry named ${img.receiver}${close ? `; did you mean ${close}?` : ""}`,
            );
        }
    });
    return problems;
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
        if (!isMap(item)) return;
        // Each field parsed on its own: a check runs when the fields it reads are valid.
        const n: Partial<NotificationTarget> = {};
        const bad = new Set<string>();
        for (const [k, fieldSchema] of Object.entries(notificationSchema.shape)) {
            const r = (fieldSchema as z.ZodType).safeParse(item[k]);
            if (r.success) (n as Record<string, unknown>)[k] = r.data;
            else bad.add(k);
        }
        const ok = (...keys: string[]) => keys.every((k) => !bad.has(k));
        const at = `notifications[${i}]`;
        const setSecret = `pulumi config set --secret --path '${at}.credential' <value>`;
        if (n.name !== undefined) {
            if (seen.has(n.name)) problems.push(`${at}.name: duplicate name ${n.name}`);
            seen.add(n.name);
        }
        if (n.credential && !isSecret(`${at}.credential`)) {
            problems.push(`${at}.credential: must be stored as a secret (${setSecret})`);
        }
        if (n.address && new URL(n.address).username) {
            problems.push(
                `${at}.address: must not embed credentials (user:password@); put the URL in ${at}.credential`,
            );
        }
        if (n.type === undefined) return;

        const needs = NOTIFICATION_TYPES[n.type].credential;
        if (ok("credential") && needs === "required" && !n.credential) {
            problems.push(`${at}.credential: type ${n.type} needs a credential; set it with ${setSecret}`);
        }
        switch (ok("address", "credential") ? n.type : undefined) {
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
            case "googlechat":
                if (n.address)
                    problems.push(
                        `${at}.address: a ${n.type} webhook URL carries a token; set it as ${at}.credential (${setSecret}) instead`,
                    );
                break;
            case "telegram":
                if (n.address)
                    problems.push(
                        `${at}.address: not used by type telegram (Flux posts to https://api.telegram.org); remove it`,
                    );
                if (ok("channel") && !n.channel)
                    problems.push(`${at}.channel: type telegram needs the chat ID (or @channelname) to post to`);
                break;
            case "github":
            case "githubdispatch":
            case "gitlab":
            case "bitbucket":
            case "azuredevops": {
                const { pattern, example } = REPOSITORY_PATHS[n.type];
                if (!n.address) {
                    problems.push(`${at}.address: type ${n.type} needs the repository URL, e.g. ${example}`);
                } else {
                    const u = new URL(n.address);
                    const id = u.pathname.replace(/^\/+/, "").replace(/\.git$/, "");
                    if (!pattern.test(id) || u.search || u.hash) {
                        problems.push(`${at}.address: must be a repository URL such as ${example}`);
                    }
                }
                break;
            }
        }
        for (const option of ["channel", "username", "proxy"] as const) {
            if (
                (n[option] !== undefined || bad.has(option)) &&
                !(NOTIFICATION_TYPES[n.type].options as readonly string[]).includes(option)
            ) {
                problems.push(`${at}.${option}: not supported by type ${n.type}`);
            }
        }

        if (isCommitStatus(n.type)) {
            if (ok("kustomizations") && !n.kustomizations) {
                problems.push(
                    `${at}.kustomizations: type ${n.type} posts commit statuses, so it needs the GitRepository-sourced ` +
                        `Kustomizations to report on (the root sync comes from a bucket and has no Git commit)`,
                );
            }
            (n.kustomizations ?? []).forEach((k, j) => {
                const [ns, name] = kustomizationRef(k, fluxNamespace);
                if (ns === fluxNamespace && name === FLUX_SYNC_NAME) {
                    problems.push(
                        `${at}.kustomizations[${j}]: ${ns}/${name} is the root sync, sourced from the Spaces bucket; ` +
                            `its revision is not a Git commit, so no commit status can be posted for it`,
                    );
                }
            });
            if (n.alerts || bad.has("alerts"))
                problems.push(`${at}.alerts: not supported by type ${n.type} (it gets one commit-status alert)`);
            if (n.namespaces || bad.has("namespaces"))
                problems.push(`${at}.namespaces: not supported by type ${n.type} (list kustomizations instead)`);
        } else if (n.kustomizations || bad.has("kustomizations")) {
            problems.push(
                `${at}.kustomizations: only for the commit-status types ${COMMIT_STATUS_NOTIFICATIONS.join(", ")}`,
            );
        }
        if (n.alerts) {
            if (new Set(n.alerts).size !== n.alerts.length) problems.push(`${at}.alerts: lists an alert twice`);
            if (ok("severity") && n.severity === "error" && n.alerts.includes("info")) {
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
    const section = doc?.config ?? {};
    // Not a map: the CLI refuses such a file itself (and `make render` says so).
    if (typeof section !== "object" || section === null || Array.isArray(section)) return undefined;
    for (const [fullKey, value] of Object.entries(section)) {
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
    // loaded here: the settings module pulls in the engine's gRPC stubs
    const { getRootDirectory } =
        require("@pulumi/pulumi/runtime/settings") as typeof import("@pulumi/pulumi/runtime/settings");
    const root = getRootDirectory();
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
export function readRawConfig(project: string): {
    raw: Record<string, unknown>;
    secretKeys: Set<string>;
    /** Full keys under other namespaces (providers' settings, or typos of the project's). */
    otherKeys: string[];
} {
    const all = allConfig();
    const raw: Record<string, unknown> = {};
    const secretKeys = new Set<string>();
    const otherKeys: string[] = [];
    for (const [fullKey, value] of Object.entries(all)) {
        const [ns, ...rest] = fullKey.split(":");
        if (ns !== project) {
            otherKeys.push(fullKey);
            continue;
        }
        const key = rest.join(":");
        raw[key] = decodeConfigValue(value);
        if (isConfigSecret(fullKey)) secretKeys.add(key);
    }
    return { raw, secretKeys, otherKeys };
}
