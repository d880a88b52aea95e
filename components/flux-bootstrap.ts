import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { FluxInstance } from "./flux/api";
import { FLUX_SYNC_NAME, SYNC_DEFAULTS, type SyncSettings, syncPatches } from "./flux/sync";
import { versions } from "./versions";

export { FLUX_SYNC_NAME } from "./flux/sync";

/** The bucket Flux syncs from (Spaces or any S3-compatible server), with the read-only key Flux uses. */
export interface FluxBucketSource {
    /** Bucket name. */
    readonly bucketName: pulumi.Input<string>;
    /** S3 endpoint host without scheme, e.g. `fra1.digitaloceanspaces.com`. */
    readonly endpointHost: pulumi.Input<string>;
    /** Bucket region, e.g. `fra1`. */
    readonly region: pulumi.Input<string>;
    /** Read-only access key ID. */
    readonly accessKeyId: pulumi.Input<string>;
    /** Read-only secret access key. */
    readonly secretAccessKey: pulumi.Input<string>;
    /** The endpoint is plain HTTP (an in-cluster server): sets the Bucket's `insecure`. Default: `false`. */
    readonly insecure?: boolean;
}

export interface FluxBootstrapArgs extends SyncSettings {
    /** The bucket to sync from. Required. */
    readonly source: FluxBucketSource;
    /** Namespace of Flux and of the sync objects. Default: `flux-system`. */
    readonly namespace?: string;
    /** Flux distribution version. Default: `versions.flux`. */
    readonly fluxVersion?: pulumi.Input<string>;
    /** Flux Operator chart version. Default: `versions.fluxOperatorChart.version`. */
    readonly operatorChartVersion?: pulumi.Input<string>;
    /** Flux network policies (deny ingress except webhooks and metrics). Default: `true`. */
    readonly networkPolicy?: pulumi.Input<boolean>;
    /** Flux controllers' vertical scaling profile. Default: the operator's default. */
    readonly size?: "small" | "medium" | "large";
}

/** Service of Flux's notification-controller that serves Receivers (port 80 → 9292). */
export const FLUX_WEBHOOK_SERVICE = { name: "webhook-receiver", port: 80 } as const;

/**
 * Flux installed by the Flux Operator: the operator's Helm chart, then a `FluxInstance`
 * that installs the pinned Flux distribution and syncs the cluster from a Spaces bucket
 * (`sync.kind: Bucket`). The root Kustomization the operator generates is patched to carry
 * `interval`, `retryInterval`, `timeout`, `wait` and `prune`.
 */
export class FluxBootstrap extends pulumi.ComponentResource {
    /** The Flux namespace. */
    public readonly namespace: pulumi.Output<string>;
    /** The Flux Operator Helm release. */
    public readonly operator: k8s.helm.v3.Release;
    /** Secret with the bucket's read-only key (keys `accesskey`, `secretkey`). */
    public readonly bucketSecret: k8s.core.v1.Secret;
    /** The FluxInstance. */
    public readonly instance: FluxInstance;
    /** Name of the generated Bucket source and root Kustomization. */
    public readonly syncName: pulumi.Output<string>;
    /** Flux version installed. */
    public readonly fluxVersion: pulumi.Output<string>;

    constructor(name: string, args: FluxBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops:flux:FluxBootstrap", name, {}, opts);
        const namespaceName = args.namespace ?? "flux-system";

        const ns = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            { metadata: { name: namespaceName, labels: { "app.kubernetes.io/part-of": "flux" } } },
            { parent: this },
        );
        this.namespace = ns.metadata.name;

        this.operator = new k8s.helm.v3.Release(
            `${name}-operator`,
            {
                name: "flux-operator",
                chart: `${versions.fluxOperatorChart.repo}/${versions.fluxOperatorChart.chart}`,
                version: args.operatorChartVersion ?? versions.fluxOperatorChart.version,
                namespace: this.namespace,
                values: { installCRDs: true },
                atomic: true,
                cleanupOnFail: true,
                timeout: 600,
            },
            { parent: this },
        );

        this.bucketSecret = new k8s.core.v1.Secret(
            `${name}-bucket-credentials`,
            {
                metadata: { name: "bucket-credentials", namespace: this.namespace },
                type: "Opaque",
                stringData: {
                    accesskey: pulumi.secret(args.source.accessKeyId),
                    secretkey: pulumi.secret(args.source.secretAccessKey),
                },
            },
            { parent: this },
        );

        this.fluxVersion = pulumi.output(args.fluxVersion ?? versions.flux);
        this.instance = new FluxInstance(
            `${name}-instance`,
            {
                // The operator only reconciles a FluxInstance named `flux`.
                metadata: { name: "flux", namespace: this.namespace },
                spec: {
                    distribution: {
                        version: this.fluxVersion,
                        registry: versions.fluxDistribution.registry,
                        artifact: versions.fluxDistribution.artifact,
                    },
                    components: [
                        "source-controller",
                        "kustomize-controller",
                        "helm-controller",
                        "notification-controller",
                    ],
                    cluster: {
                        type: "kubernetes",
                        networkPolicy: args.networkPolicy ?? true,
                        ...(args.size ? { size: args.size } : {}),
                    },
                    sync: {
                        kind: "Bucket",
                        name: FLUX_SYNC_NAME,
                        url: args.source.endpointHost,
                        ref: args.source.bucketName,
                        path: args.path ?? SYNC_DEFAULTS.path,
                        interval: args.sourceInterval ?? SYNC_DEFAULTS.sourceInterval,
                        pullSecret: this.bucketSecret.metadata.name,
                        provider: "generic",
                    },
                    // The operator generates the Bucket and root Kustomization; these patches add
                    // the settings it does not set (components/flux/sync.ts, shared with FluxSync).
                    kustomize: { patches: syncPatches(namespaceName, args.source, args) },
                    wait: true,
                },
            },
            { parent: this, dependsOn: [this.operator, this.bucketSecret] },
        );
        this.syncName = pulumi.output(FLUX_SYNC_NAME);

        this.registerOutputs({
            namespace: this.namespace,
            operator: this.operator,
            bucketSecret: this.bucketSecret,
            instance: this.instance,
            syncName: this.syncName,
            fluxVersion: this.fluxVersion,
        });
    }
}
