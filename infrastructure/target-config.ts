/**
 * Where the platform runs: the `target` setting and the sections only the existing-cluster
 * target reads (`existingCluster`, `s3`, `inClusterS3`). Kept apart from config.ts so the
 * DigitalOcean schema and these can change independently; config.ts merges them into the one
 * schema and calls {@link targetProblems} with its other cross-field checks.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { parse } from "yaml";
import { z } from "zod";

/** The targets: DigitalOcean (DOKS + Spaces) or a cluster the user already has. */
export const TARGETS = ["digitalocean", "existing-cluster"] as const;
export type Target = (typeof TARGETS)[number];

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** S3 bucket names (the subset every S3-compatible server accepts). */
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** A Kubernetes quantity such as 1Gi or 500Mi. */
const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

const k8sName = z.string().max(63).regex(DNS_LABEL, "must be a lowercase DNS label (a-z, 0-9, '-')");

/** `target`: digitalocean (default) or existing-cluster. */
export const targetSchema = z.enum(TARGETS, { error: `must be one of ${TARGETS.join(", ")}` }).default("digitalocean");

/** `existingCluster`: how the stack reaches a cluster it does not create. */
export const existingClusterSchema = z
    .object({
        /**
         * Kubeconfig file. Default: what kubectl and the Kubernetes provider use: `$KUBECONFIG`
         * (a list of files), else `~/.kube/config`.
         */
        kubeconfig: z.string().min(1).optional(),
        /** Context in that kubeconfig. Default: its current context. */
        context: z.string().min(1).optional(),
        /**
         * Mark the stack's workloads (the in-cluster S3 server) `pulumi.com/skipAwait`, so
         * `pulumi up` does not wait for pods: for API servers without nodes (tests). Default: false.
         */
        skipAwait: z.boolean().default(false),
    })
    .strict();

/** `s3`: an S3-compatible bucket that exists already (existing-cluster target only). */
export const s3Schema = z
    .object({
        /** Endpoint URL as Flux's source-controller reaches it, e.g. https://s3.example.com or http://minio.minio:9000. */
        endpoint: z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://s3.example.com" }),
        /** Bucket name. */
        bucket: z.string().regex(S3_BUCKET, "must be 3-63 lowercase letters, digits, '.' or '-'"),
        /** Region used to sign requests. */
        region: z.string().min(1).default("us-east-1"),
        /** Read-only key for Flux: access key ID. */
        accessKeyId: z.string({ error: "is required (the key Flux reads the bucket with)" }).min(1),
        /** Read-only key for Flux: secret access key (stored as a secret). */
        secretAccessKey: z.string({ error: "is required (the key Flux reads the bucket with)" }).min(1),
        /** Read-write key for `make upload-do`: access key ID. Default: none (supply AWS_ACCESS_KEY_ID). */
        uploadAccessKeyId: z.string().min(1).optional(),
        /** Read-write key for `make upload-do`: secret access key (stored as a secret). */
        uploadSecretAccessKey: z.string().min(1).optional(),
    })
    .strict();

/** `inClusterS3`: the S3 server the stack installs when no `s3` bucket is given. */
export const inClusterS3Schema = z
    .object({
        /** Namespace of the server. */
        namespace: k8sName.default("gitops-s3"),
        /** Bucket the server creates and Flux syncs from. */
        bucket: z.string().regex(S3_BUCKET, "must be 3-63 lowercase letters, digits, '.' or '-'").default("gitops"),
        /** Size of the server's volume. */
        storageSize: z.string().regex(QUANTITY, "must be a Kubernetes quantity such as 1Gi").default("1Gi"),
        /** StorageClass of the volume. Default: the cluster's default class. */
        storageClass: k8sName.optional(),
    })
    .strict();

/** The schema sections this file owns, merged into the stack's schema by config.ts. */
export const targetSections = {
    target: targetSchema,
    existingCluster: existingClusterSchema.prefault({}),
    s3: s3Schema.optional(),
    inClusterS3: inClusterS3Schema.prefault({}),
};

/** What the cross-field checks read from the validated config. */
export interface TargetCheckInput {
    readonly target: Target;
    readonly existingCluster: z.infer<typeof existingClusterSchema>;
    readonly s3?: z.infer<typeof s3Schema>;
    readonly inClusterS3: z.infer<typeof inClusterS3Schema>;
    readonly webhook?: { readonly host?: string; readonly dnsZone?: string; readonly ingressClassName?: string };
    readonly acme?: unknown;
    readonly github?: unknown;
    readonly contour: { readonly install?: boolean };
}

/** `s3` fields that must be stored as Pulumi secrets (checked leaf by leaf where the stack file says). */
const S3_SECRET_FIELDS = ["secretAccessKey", "uploadSecretAccessKey"] as const;

/**
 * Checks between the target and the rest of the config, naming which settings this target
 * needs. Runs on the validated config.
 */
export function targetProblems(
    cfg: TargetCheckInput,
    raw: Record<string, unknown>,
    isSecret: (path: string) => boolean,
): string[] {
    const problems: string[] = [];
    const host = cfg.webhook?.host;
    if (cfg.target === "digitalocean") {
        for (const key of ["existingCluster", "s3", "inClusterS3"] as const) {
            if (raw[key] !== undefined) {
                problems.push(
                    `${key}: only for target existing-cluster (the digitalocean target creates its cluster and Spaces bucket)`,
                );
            }
        }
        if (!host)
            problems.push(
                "webhook.host: is required by target digitalocean (the public host name of the Flux webhook receiver)",
            );
        if (!cfg.acme)
            problems.push(
                "acme.email: is required by target digitalocean (Let's Encrypt account for the receiver's certificate)",
            );
        if (cfg.contour.install === false) {
            problems.push(
                "contour.install: target digitalocean always installs Contour (its load balancer carries the webhooks)",
            );
        }
        return problems;
    }

    // existing-cluster
    if (cfg.webhook?.dnsZone) {
        problems.push(
            "webhook.dnsZone: only for target digitalocean (a DigitalOcean DNS zone); point webhook.host at your ingress yourself",
        );
    }
    if (host) {
        if (!cfg.acme) {
            problems.push(
                `acme.email: is required with webhook.host on target existing-cluster (KCert gets the certificate for ${host})`,
            );
        }
        if (!cfg.contour.install && !cfg.webhook?.ingressClassName) {
            problems.push(
                "webhook.ingressClassName: is required with webhook.host when contour.install is false (the IngressClass of your ingress controller)",
            );
        }
    } else {
        if (cfg.github) {
            problems.push(
                "github.repository: needs webhook.host (GitHub must reach the receiver over the internet); remove it or set webhook.host",
            );
        }
        if (raw.acme !== undefined) problems.push("acme: only used with webhook.host (no public host, no certificate)");
        if (cfg.webhook?.ingressClassName) problems.push("webhook.ingressClassName: only used with webhook.host");
    }
    if (cfg.s3) {
        for (const field of S3_SECRET_FIELDS) {
            if (cfg.s3[field] !== undefined && !isSecret(`s3.${field}`)) {
                problems.push(
                    `s3.${field}: must be stored as a secret (pulumi config set --secret --path 's3.${field}' <value>)`,
                );
            }
        }
        if ((cfg.s3.uploadAccessKeyId === undefined) !== (cfg.s3.uploadSecretAccessKey === undefined)) {
            problems.push("s3.uploadAccessKeyId: set both uploadAccessKeyId and uploadSecretAccessKey, or neither");
        }
        if (raw.inClusterS3 !== undefined) {
            problems.push("inClusterS3: not used when the s3 section names an existing bucket; remove one of them");
        }
    }
    return problems;
}

/**
 * The kubeconfig files the Kubernetes provider reads, in client-go's order: the configured file,
 * else every file in `$KUBECONFIG` (split on the path delimiter), else `~/.kube/config`.
 * `~/` is expanded as the provider does.
 */
export function kubeconfigFiles(configured: string | undefined, env: NodeJS.ProcessEnv): string[] {
    const home = env.HOME || homedir();
    const expand = (p: string) => (p === "~" ? home : p.startsWith("~/") ? join(home, p.slice(2)) : p);
    if (configured) return [resolve(expand(configured))];
    const fromEnv = (env.KUBECONFIG ?? "").split(delimiter).filter((p) => p !== "");
    if (fromEnv.length > 0) return fromEnv.map((p) => (isAbsolute(p) ? p : resolve(p)));
    return [join(home, ".kube", "config")];
}

/**
 * Checks that the kubeconfig exists and has the context the stack will use (the configured one,
 * else a current context). client-go merges the files: the first `current-context` wins.
 */
export function kubeconfigProblems(
    existing: { readonly kubeconfig?: string; readonly context?: string },
    env: NodeJS.ProcessEnv,
): string[] {
    const files = kubeconfigFiles(existing.kubeconfig, env);
    const found = files.filter((f) => existsSync(f));
    const where = existing.kubeconfig ? "existingCluster.kubeconfig" : env.KUBECONFIG ? "$KUBECONFIG" : "the default";
    if (found.length === 0) {
        return [
            `existingCluster.kubeconfig: no kubeconfig at ${files.join(", ")} (${where}); create the cluster first ` +
                "(e.g. kind create cluster) or set existingCluster.kubeconfig",
        ];
    }
    const contexts = new Set<string>();
    let current: string | undefined;
    for (const file of found) {
        let doc: { contexts?: { name?: string }[]; "current-context"?: string } | undefined;
        try {
            doc = parse(readFileSync(file, "utf8")) ?? {};
        } catch (e) {
            return [`existingCluster.kubeconfig: ${file} is not valid YAML (${(e as Error).message.split("\n")[0]})`];
        }
        for (const c of doc?.contexts ?? []) if (c?.name) contexts.add(c.name);
        current ??= doc?.["current-context"] || undefined;
    }
    const available = [...contexts].join(", ") || "none";
    if (existing.context) {
        return contexts.has(existing.context)
            ? []
            : [`existingCluster.context: ${existing.context} is not in ${found.join(", ")} (contexts: ${available})`];
    }
    if (!current) {
        return [
            `existingCluster.context: ${found.join(", ")} has no current context; set existingCluster.context (contexts: ${available})`,
        ];
    }
    return contexts.has(current)
        ? []
        : [`existingCluster.context: the current context ${current} is not defined in ${found.join(", ")}`];
}
