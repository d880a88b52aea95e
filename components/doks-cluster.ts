import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";

/** Day of the DOKS maintenance window. */
export type MaintenanceDay = "any" | "monday" | "tuesday" | "wednesday" | "thursday" | "friday" | "saturday" | "sunday";

/** The default node pool: a fixed size, or autoscaled between min and max. */
export type NodePoolScaling =
    | { readonly kind: "fixed"; readonly count: number }
    | { readonly kind: "autoscale"; readonly min: number; readonly max: number };

export interface DoksClusterArgs {
    /** Region slug, e.g. `fra1`. Required. */
    readonly region: pulumi.Input<string>;
    /**
     * Full DOKS version slug, e.g. `1.33.1-do.0`. A lower version than the cluster runs replaces
     * the cluster, so choose it against the running one (infrastructure/kubernetes-version.ts)
     * before constructing the cluster. Required.
     */
    readonly version: pulumi.Input<string>;
    /** Cluster name. Default: the component's name. */
    readonly clusterName?: pulumi.Input<string>;
    /** Droplet size slug of the default node pool. Default: `s-2vcpu-4gb`. */
    readonly nodeSize?: pulumi.Input<string>;
    /** Name of the default node pool. Default: `default`. */
    readonly nodePoolName?: pulumi.Input<string>;
    /** Node count, or autoscaling bounds, of the default node pool. Default: fixed, 2 nodes. */
    readonly scaling?: NodePoolScaling;
    /** Highly available control plane (billed extra; cannot be turned off later). Default: `false`. */
    readonly ha?: pulumi.Input<boolean>;
    /** Surge upgrades (new nodes before old ones drain). Default: `true`. */
    readonly surgeUpgrade?: pulumi.Input<boolean>;
    /** Automatic patch upgrades inside the maintenance window. Default: `true`. */
    readonly autoUpgrade?: pulumi.Input<boolean>;
    /** Maintenance window. Default: `{ day: "sunday", startTime: "04:00" }` (UTC). */
    readonly maintenance?: { readonly day: pulumi.Input<MaintenanceDay>; readonly startTime: pulumi.Input<string> };
    /** Tags applied to the cluster and its node pool. Default: none. */
    readonly tags?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Destroy load balancers, volumes and snapshots that Kubernetes created when the cluster
     * is destroyed, so `pulumi destroy` leaves nothing billable behind. Default: `true`.
     */
    readonly destroyAllAssociatedResources?: pulumi.Input<boolean>;
    /**
     * Whether the cluster exists at DigitalOcean. `false` only while destroying a cluster that is
     * already gone: its credentials are then not re-read (there is nothing to read them from) and
     * `kubeconfig` names no cluster at all, which a Kubernetes provider treats as unreachable
     * (never falling back to `~/.kube/config`, as it would for an empty value). Default: `true`.
     */
    readonly exists?: boolean;
}

/**
 * A kubeconfig without any cluster: client-go refuses it ("no configuration has been
 * provided"), so pulumi-kubernetes marks the cluster unreachable without contacting anything.
 */
export const NO_CLUSTER_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n";

/**
 * A DigitalOcean Kubernetes cluster whose kubeconfig stays valid across runs.
 *
 * DOKS kubeconfigs expire after 7 days. The cluster resource's own `kubeConfigs` output is
 * only refreshed on `pulumi refresh`, so a Kubernetes provider built from it stops working a
 * week after creation. This component instead re-reads the credentials with the
 * `getKubernetesCluster` data source on every run and exposes those as `kubeconfig`
 * (a secret), which is what a Kubernetes provider should be built from.
 */
export class DoksCluster extends pulumi.ComponentResource {
    /** The DOKS cluster resource. */
    public readonly cluster: digitalocean.KubernetesCluster;
    /** Cluster ID. */
    public readonly clusterId: pulumi.Output<string>;
    /** Cluster name. */
    public readonly clusterName: pulumi.Output<string>;
    /** Kubernetes API endpoint. */
    public readonly endpoint: pulumi.Output<string>;
    /** The version slug the cluster runs. */
    public readonly version: pulumi.Output<string>;
    /** Kubeconfig with credentials re-read on every run (secret). */
    public readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: DoksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops:doks:Cluster", name, {}, opts);

        const scaling = args.scaling ?? { kind: "fixed", count: 2 };
        const nodePool: digitalocean.types.input.KubernetesClusterNodePool =
            scaling.kind === "fixed"
                ? {
                      name: args.nodePoolName ?? "default",
                      size: args.nodeSize ?? "s-2vcpu-4gb",
                      nodeCount: scaling.count,
                  }
                : {
                      name: args.nodePoolName ?? "default",
                      size: args.nodeSize ?? "s-2vcpu-4gb",
                      autoScale: true,
                      minNodes: scaling.min,
                      maxNodes: scaling.max,
                  };

        this.cluster = new digitalocean.KubernetesCluster(
            `${name}-cluster`,
            {
                name: args.clusterName ?? name,
                region: args.region,
                version: args.version,
                nodePool: { ...nodePool, tags: args.tags },
                ha: args.ha ?? false,
                surgeUpgrade: args.surgeUpgrade ?? true,
                autoUpgrade: args.autoUpgrade ?? true,
                maintenancePolicy: args.maintenance ?? { day: "sunday", startTime: "04:00" },
                tags: args.tags,
                destroyAllAssociatedResources: args.destroyAllAssociatedResources ?? true,
            },
            {
                parent: this,
                // The DOKS API reports the autoscaled node count back; do not fight it.
                ignoreChanges: scaling.kind === "autoscale" ? ["nodePool.nodeCount"] : [],
            },
        );

        this.clusterId = this.cluster.id;
        this.clusterName = this.cluster.name;
        this.endpoint = this.cluster.endpoint;
        this.version = this.cluster.version;

        if (args.exists === false) {
            this.kubeconfig = pulumi.secret(NO_CLUSTER_KUBECONFIG);
        } else {
            // Fresh credentials on every run: the data source is invoked each `pulumi up`.
            const live = digitalocean.getKubernetesClusterOutput({ name: this.cluster.name }, { parent: this });
            this.kubeconfig = pulumi.secret(
                live.kubeConfigs.apply((configs) => {
                    const raw = configs?.[0]?.rawConfig;
                    if (!raw) {
                        throw new Error(`DOKS cluster ${name}: the API returned no kubeconfig`);
                    }
                    return raw;
                }),
            );
        }

        this.registerOutputs({
            cluster: this.cluster,
            clusterId: this.clusterId,
            clusterName: this.clusterName,
            endpoint: this.endpoint,
            version: this.version,
            kubeconfig: this.kubeconfig,
        });
    }
}
