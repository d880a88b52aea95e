/**
 * The stack's default notifications, driven by the `notifications` config list: one FluxProvider
 * per target and the standard Alerts for it. The rules are documented in docs/notifications.md.
 *
 * Alert rule, per target:
 * - `severity` is the minimum severity the target wants (default `info`).
 * - The standard alerts are `info` (every event of everything the stack syncs) and `error`
 *   (errors only, same sources). `alerts` picks them explicitly; by default a webhook target
 *   (`generic`, `generic-hmac`) with severity `info` gets both, the receiver routing on the
 *   event metadata key `alert`; every other target gets the one alert named by its severity
 *   (a chat channel would otherwise show each error twice).
 * - A commit-status target (`github`, `gitlab`, `bitbucket`, `azuredevops`) gets one
 *   commit-status alert on the GitRepository-sourced Kustomizations listed in its
 *   `kustomizations` (a bucket revision is not a Git commit).
 */
import { type Dirent, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { parseAllDocuments } from "yaml";
import { substituteText } from "../components/flux/substitute";
import { FluxAlert, type FluxAlertEventSource } from "../components/flux-alert";
import { FluxProvider, type FluxProviderTarget } from "../components/flux-provider";
import { COMMIT_STATUS_NOTIFICATIONS, kustomizationRef, type NotificationTarget, type PlatformConfig } from "./config";

export interface NotificationsContext {
    /** Kubernetes provider of the cluster. */
    readonly provider: k8s.Provider;
    /** The Flux namespace: Providers, their Secrets and the Alerts live here. */
    readonly fluxNamespace: string;
    /** Name of the root Kustomization and Bucket source (FLUX_SYNC_NAME). */
    readonly syncName: string;
    /** Created only after these (the FluxInstance, which installs the notification CRDs). */
    readonly dependsOn?: readonly pulumi.Resource[];
    /** Other namespaces in which the stack declares Flux objects; their Kustomizations and HelmReleases are watched. */
    readonly namespaces?: readonly string[];
    /** More event sources for the `info` and `error` alerts (e.g. KCert's GitRepository and Kustomization). */
    readonly extraEventSources?: readonly FluxAlertEventSource[];
}

/** What createNotifications made. */
export interface Notifications {
    /** One provider per target, in config order. */
    readonly providers: readonly FluxProvider[];
    /** Every alert, in config order. */
    readonly alerts: readonly FluxAlert[];
}

export type StandardAlert = "info" | "error";

/** The standard alerts a (non-github) target gets: its `alerts`, else the default rule. */
export function standardAlerts(n: NotificationTarget): StandardAlert[] {
    if (n.alerts) return [...n.alerts];
    if (n.severity === "error") return ["error"];
    return n.type === "generic" || n.type === "generic-hmac" ? ["info", "error"] : ["info"];
}

/** The FluxProvider target of a config entry; the credential is kept secret from the start. */
function providerTarget(n: NotificationTarget): FluxProviderTarget {
    const credential = n.credential === undefined ? undefined : pulumi.secret(n.credential);
    const need = (v: pulumi.Input<string> | undefined, what: string): pulumi.Input<string> => {
        // parseConfig guarantees these; a miss here is a programming error.
        if (v === undefined) throw new Error(`notification ${n.name}: missing ${what}`);
        return v;
    };
    switch (n.type) {
        case "generic":
            return n.address !== undefined
                ? { type: "generic", address: n.address, proxy: n.proxy }
                : { type: "generic", secretAddress: need(credential, "credential"), proxy: n.proxy };
        case "generic-hmac":
            return {
                type: "generic-hmac",
                address: need(n.address, "address"),
                hmacKey: need(credential, "credential"),
                proxy: n.proxy,
            };
        case "slack":
            return n.address !== undefined
                ? {
                      type: "slack",
                      token: need(credential, "credential"),
                      address: n.address,
                      channel: need(n.channel, "channel"),
                      username: n.username,
                      proxy: n.proxy,
                  }
                : {
                      type: "slack",
                      webhookUrl: need(credential, "credential"),
                      username: n.username,
                      proxy: n.proxy,
                  };
        case "discord":
            return {
                type: "discord",
                webhookUrl: need(credential, "credential"),
                username: n.username,
                proxy: n.proxy,
            };
        case "msteams":
            return { type: "msteams", webhookUrl: need(credential, "credential"), proxy: n.proxy };
        case "github":
        case "githubdispatch":
        case "gitlab":
        case "bitbucket":
        case "azuredevops":
            return { type: n.type, repositoryUrl: need(n.address, "address"), token: need(credential, "credential") };
        case "telegram":
            return {
                type: "telegram",
                token: need(credential, "credential"),
                chatId: need(n.channel, "channel"),
                proxy: n.proxy,
            };
        case "googlechat":
            return { type: "googlechat", webhookUrl: need(credential, "credential"), proxy: n.proxy };
        case "pagerduty":
            return {
                type: "pagerduty",
                routingKey: need(credential, "credential"),
                address: n.address,
                proxy: n.proxy,
            };
    }
}

/** Identity of a source whose namespace and name are plain strings; undefined otherwise. */
const sourceKey = (s: FluxAlertEventSource) =>
    typeof s.namespace === "string" && typeof s.name === "string" ? `${s.kind}/${s.namespace}/${s.name}` : undefined;

/**
 * The sources of the `info` and `error` alerts: the root sync (Kustomization and Bucket), every
 * Kustomization and HelmRelease in the Flux namespace and in each other namespace, and the
 * extra sources the composition passes.
 */
export function everythingSources(
    ctx: NotificationsContext,
    extraNamespaces: readonly string[] = [],
): FluxAlertEventSource[] {
    const namespaces = [...new Set([ctx.fluxNamespace, ...(ctx.namespaces ?? []), ...extraNamespaces])];
    const sources: FluxAlertEventSource[] = [
        { kind: "Kustomization", name: ctx.syncName, namespace: ctx.fluxNamespace },
        { kind: "Bucket", name: ctx.syncName, namespace: ctx.fluxNamespace },
        ...namespaces.flatMap((namespace): FluxAlertEventSource[] => [
            { kind: "Kustomization", name: "*", namespace },
            { kind: "HelmRelease", name: "*", namespace },
        ]),
    ];
    const seen = new Set(sources.map(sourceKey));
    for (const s of ctx.extraEventSources ?? []) {
        const withNs = { ...s, namespace: s.namespace ?? ctx.fluxNamespace };
        const key = sourceKey(withNs);
        if (key !== undefined && seen.has(key)) continue;
        sources.push(withNs);
        seen.add(key);
    }
    return sources;
}

/** The GitOps tree the stack's bucket serves (`make upload-do` uploads this folder). */
export const DEPLOY_DIR = path.join(__dirname, "..", "deploy");

/**
 * The namespaces in which the GitOps tree declares Flux objects, so the alerts can watch them:
 * notification-controller v1.9.3 matches an Alert's event source only when the event's
 * namespace equals the source's (`eventMatchesAlertSource`), and has no namespace wildcard.
 * Read from the files themselves (the program needs no kustomize): every Flux object's
 * `metadata.namespace`, after the stack's `${…}` values are substituted, plus the `namespace:`
 * of any kustomization.yaml above one. test/notifications-program.test.ts checks the result
 * against the tree as kustomize builds it.
 */
export function fluxNamespacesInTree(dir: string, variables: Readonly<Record<string, string>>): string[] {
    const found = new Set<string>();
    const walk = (d: string, depth: number): boolean => {
        if (depth > 20) return false;
        let hasFlux = false;
        let entries: Dirent[];
        try {
            entries = readdirSync(d, { withFileTypes: true });
        } catch {
            return false;
        }
        let kustomizeNamespace: string | undefined;
        for (const e of entries) {
            const file = path.join(d, e.name);
            if (e.isDirectory() && !e.name.startsWith(".")) {
                hasFlux = walk(file, depth + 1) || hasFlux;
                continue;
            }
            if (!e.isFile() || !/\.ya?ml$/.test(e.name)) continue;
            for (const o of yamlFacts(substituteText(readFileSync(file, "utf8"), variables).text)) {
                if (/^kustomization\.ya?ml$/.test(e.name) && o.namespace !== undefined)
                    kustomizeNamespace = o.namespace;
                if (o.flux) {
                    hasFlux = true;
                    if (o.metadataNamespace !== undefined && o.metadataNamespace !== "") found.add(o.metadataNamespace);
                }
            }
        }
        if (hasFlux && kustomizeNamespace) found.add(kustomizeNamespace);
        return hasFlux;
    };
    walk(dir, 0);
    return [...found].sort();
}

/** What fluxNamespacesInTree reads from one YAML document. */
interface DocumentFacts {
    /** Top-level `namespace` (a kustomization.yaml's), when a string. */
    readonly namespace?: string;
    /** Whether its apiVersion is a Flux one (`….toolkit.fluxcd.io/…`). */
    readonly flux: boolean;
    /** `metadata.namespace`, when a string. */
    readonly metadataNamespace?: string;
}

/**
 * The facts of a file's documents, by the file's text after substitution: every run of the
 * program reads the whole tree, and parsing it was about a quarter of the CPU of a mocked run (node --cpu-prof of the shared test process, which runs the program some 300
 * times: 3.3 of 12 s). The files are read and substituted on every call; only the parse of a
 * text already seen is reused (the cache is emptied past FACTS_CACHE_MAX entries).
 */
const factsCache = new Map<string, readonly DocumentFacts[]>();
const FACTS_CACHE_MAX = 2000;

function yamlFacts(text: string): readonly DocumentFacts[] {
    const cached = factsCache.get(text);
    if (cached) return cached;
    const facts: DocumentFacts[] = [];
    for (const doc of parseAllDocuments(text)) {
        const o = doc.toJS() as {
            apiVersion?: unknown;
            kind?: unknown;
            namespace?: unknown;
            metadata?: { namespace?: unknown };
        } | null;
        if (!o) continue;
        facts.push({
            namespace: typeof o.namespace === "string" ? o.namespace : undefined,
            flux: typeof o.apiVersion === "string" && o.apiVersion.includes(".toolkit.fluxcd.io/"),
            metadataNamespace: typeof o.metadata?.namespace === "string" ? o.metadata.namespace : undefined,
        });
    }
    if (factsCache.size >= FACTS_CACHE_MAX) factsCache.clear();
    factsCache.set(text, facts);
    return facts;
}

/** Creates the providers and alerts of every configured notification target. */
export function createNotifications(cfg: PlatformConfig, ctx: NotificationsContext): Notifications {
    const deps = ctx.dependsOn ?? [];
    // Children of a component do not inherit its dependsOn: the namespace Output carries the
    // dependency on the FluxInstance to every Secret, Provider and (through the Provider) Alert.
    const namespace = pulumi.all([ctx.fluxNamespace, ...deps.map((d) => d.urn)]).apply(([ns]) => ns as string);
    const opts = (): pulumi.ComponentResourceOptions => ({ provider: ctx.provider, dependsOn: [...deps] });

    const providers: FluxProvider[] = [];
    const alerts: FluxAlert[] = [];
    for (const n of cfg.notifications) {
        const provider = new FluxProvider(
            `notify-${n.name}`,
            {
                providerName: n.name,
                namespace,
                target: providerTarget(n),
                timeout: n.timeout,
                suspend: n.suspend,
            },
            opts(),
        );
        providers.push(provider);
        const filters = {
            inclusionList: n.inclusionList,
            exclusionList: n.exclusionList,
            summary: n.summary,
        };

        if ((COMMIT_STATUS_NOTIFICATIONS as readonly string[]).includes(n.type)) {
            const eventSources = (n.kustomizations ?? []).map((k): FluxAlertEventSource => {
                const [ns, name] = kustomizationRef(k, ctx.fluxNamespace);
                return { kind: "Kustomization", name, namespace: ns };
            });
            alerts.push(
                new FluxAlert(
                    `notify-${n.name}-commit-status`,
                    {
                        provider,
                        alertName: `${n.name}-commit-status`,
                        eventSources,
                        eventSeverity: n.severity,
                        eventMetadata: n.eventMetadata,
                        ...filters,
                    },
                    opts(),
                ),
            );
            continue;
        }

        const which = standardAlerts(n);
        const sources = everythingSources(ctx, n.namespaces);
        for (const severity of which) {
            const alertName = `${n.name}-${severity}`;
            alerts.push(
                new FluxAlert(
                    `notify-${alertName}`,
                    {
                        provider,
                        alertName,
                        eventSources: sources,
                        eventSeverity: severity,
                        // With both alerts on one receiver, `alert` tells them apart.
                        eventMetadata: which.length > 1 ? { ...n.eventMetadata, alert: alertName } : n.eventMetadata,
                        ...filters,
                    },
                    opts(),
                ),
            );
        }
    }
    return { providers, alerts };
}

/** Stack outputs: names only, never a credential. */
export function notificationOutputs(n: Notifications) {
    return {
        notificationProviders: pulumi.all(n.providers.map((p) => p.ref.name)),
        notificationAlerts: pulumi.all(n.alerts.map((a) => a.alertName)),
    };
}
