/**
 * Which DOKS version the cluster runs, decided against the cluster that already runs.
 *
 * Facts this relies on (terraform-provider-digitalocean, which @pulumi/digitalocean bridges):
 * - `version` is upgraded in place when it rises (`Kubernetes.Upgrade`), but a lower version
 *   replaces the cluster: `CustomizeDiff: ForceNewIfChange("version", new < old)`
 *   (digitalocean/kubernetes/resource_kubernetes_cluster.go);
 * - refresh stores the version the cluster runs (`d.Set("version", cluster.VersionSlug)`), so
 *   once `autoUpgrade` has moved it to a newer patch, planning the older slug again means
 *   replacing the cluster;
 * - `getKubernetesCluster` by name lists the account's clusters and fails with "Unable to
 *   find cluster with name: …" when none has it (datasource_kubernetes_cluster.go).
 *
 * So a running cluster keeps its version unless `cluster.version` asks for another minor
 * (an upgrade, in place) or, as a full slug, for a newer patch of the same minor. A pinned slug
 * older than what runs (auto-upgrade moved past it, or DigitalOcean no longer offers it) keeps
 * the running version instead of stopping the program, and a lower minor is refused.
 */
import * as digitalocean from "@pulumi/digitalocean";

/** The data source's message when no cluster in the account has the name. */
export const CLUSTER_NOT_FOUND = "Unable to find cluster with name";

/** The cluster of this name at DigitalOcean, or undefined when the account has none. */
export async function findRunningCluster(name: string): Promise<{ id: string; version: string } | undefined> {
    try {
        const c = await digitalocean.getKubernetesCluster({ name });
        return { id: c.id, version: c.version };
    } catch (e) {
        if (String((e as Error)?.message ?? e).includes(CLUSTER_NOT_FOUND)) return undefined;
        throw e;
    }
}

/** What DigitalOcean offers for a version prefix: the newest slug and every valid one. */
export type OfferedVersions = (prefix?: string) => Promise<{ latest?: string; valid: readonly string[] }>;

/** The DigitalOcean API's answer, through the `getKubernetesVersions` data source. */
export const offeredByDigitalOcean: OfferedVersions = async (prefix) => {
    const r = await digitalocean.getKubernetesVersions(prefix ? { versionPrefix: prefix } : {});
    return { latest: r.latestVersion || undefined, valid: r.validVersions ?? [] };
};

const SLUG = /^(\d+)\.(\d+)\.(\d+)-do\.(\d+)$/;

/** `1.35` of `1.35.4-do.0` or `1.35`. */
export function minorOf(version: string): string {
    return /^(\d+\.\d+)/.exec(version)?.[1] ?? version;
}

function numbers(version: string): number[] {
    const m = SLUG.exec(version);
    return m ? m.slice(1).map(Number) : minorOf(version).split(".").map(Number);
}

/** Orders versions (slugs or minors) numerically: negative when `a` is older. */
export function compareVersions(a: string, b: string): number {
    const [x, y] = [numbers(a), numbers(b)];
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
        const d = (x[i] ?? 0) - (y[i] ?? 0);
        if (d !== 0) return d;
    }
    return 0;
}

export type VersionChoice =
    /** The slug to declare; `note` explains a pin that was not followed. */
    { readonly version: string; readonly note?: string } | { readonly problem: string };

/**
 * Decides the version slug.
 * @param spec `cluster.version`: `latest`, a prefix (`1.35`, `1.35.4`) or a full slug.
 * @param running the slug the existing cluster runs; undefined for a new cluster.
 */
export async function chooseKubernetesVersion(
    spec: string,
    running: string | undefined,
    offered: OfferedVersions,
): Promise<VersionChoice> {
    const slug = SLUG.test(spec);
    if (running !== undefined) {
        if (spec === "latest") return { version: running };
        const minor = compareVersions(minorOf(spec), minorOf(running));
        if (minor < 0) {
            return {
                problem:
                    `cluster.version: ${spec} is older than the ${running} the cluster runs; DOKS cannot downgrade, ` +
                    `and a lower version would replace the cluster (losing every workload). Set it to ${minorOf(running)} ` +
                    "or a newer minor",
            };
        }
        if (minor === 0) {
            if (!slug || compareVersions(spec, running) <= 0) {
                const older = slug && compareVersions(spec, running) < 0;
                return older
                    ? {
                          version: running,
                          note: `cluster.version ${spec} is older than the ${running} the cluster runs (auto-upgrade); keeping ${running}`,
                      }
                    : { version: running };
            }
            // an explicit newer patch of the same minor: an in-place upgrade, if it is offered
            const { valid } = await offered(`${minorOf(spec)}.`);
            return valid.includes(spec)
                ? { version: spec }
                : {
                      version: running,
                      note: `cluster.version ${spec} is not offered by DigitalOcean; keeping ${running}`,
                  };
        }
    }
    // a new cluster, or a minor upgrade of the running one
    if (slug) {
        const { valid } = await offered(`${minorOf(spec)}.`);
        return valid.includes(spec)
            ? { version: spec }
            : {
                  problem: `cluster.version: ${spec} is not offered by DigitalOcean (offered: ${valid.join(", ") || "none"})`,
              };
    }
    const { latest } = await offered(spec === "latest" ? undefined : spec);
    if (!latest) {
        return {
            problem:
                spec === "latest"
                    ? "cluster.version: DigitalOcean offers no Kubernetes version"
                    : `cluster.version: no DOKS version matches the prefix ${spec}`,
        };
    }
    return { version: latest };
}
