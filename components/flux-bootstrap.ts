import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { FluxInstance, type PatchSelector } from "./flux/api";
import { type JsonPatchOp, jsonPatch, pointer } from "./flux/patches";
import {
    FLUX_SYNC_NAME,
    SYNC_DEFAULTS,
    type SyncSettings,
    settingsConfigMap,
    sopsAgeSecret,
    syncPatches,
    treeSettings,
} from "./flux/sync";
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
    /**
     * The only namespace (besides Flux's own) whose pods may reach notification-controller's
     * receiver port 9292: Envoy's, so every webhook goes through its rate limit. The operator's
     * `allow-webhooks` NetworkPolicy admits every namespace; with this set (and `networkPolicy`
     * not `false`) it is patched to admit only this one. Default: unset (the operator's policy).
     */
    readonly webhookClientNamespace?: string;
    /** Flux controllers' vertical scaling profile. Default: the operator's default. */
    readonly size?: "small" | "medium" | "large";
    /**
     * Also install image-reflector-controller and image-automation-controller (Flux's image
     * automation; their CRDs `image.toolkit.fluxcd.io/v1`). Plain: it changes which controllers
     * run. Default: `false`.
     */
    readonly imageAutomation?: boolean;
    /**
     * How long Pulumi waits for the FluxInstance's `Ready` condition (Flux's CRDs applied, its
     * controllers and the sync objects healthy) before failing the create or update, in seconds.
     * Default: `900` ({@link FLUX_READY_TIMEOUT_SECONDS}).
     */
    readonly readyTimeoutSeconds?: number;
    /**
     * The stack's values for the synced tree (`${name}`): `postBuild.substitute` on the root
     * Kustomization and the `platform-settings` ConfigMap (components/flux/sync.ts
     * `treeSettings`). Default: only `flux_namespace`.
     */
    readonly settings?: Readonly<Record<string, pulumi.Input<string>>>;
}

/**
 * Default of {@link FluxBootstrapArgs.readyTimeoutSeconds}: room for about two full attempts of
 * the operator (a 30 s distribution pull, then up to its 5 min health wait) and image pulls.
 */
export const FLUX_READY_TIMEOUT_SECONDS = 900;

/** The FluxInstance components of Flux's image automation (flux-operator's components enum). */
export const IMAGE_AUTOMATION_COMPONENTS = ["image-reflector-controller", "image-automation-controller"] as const;

/** Service of Flux's notification-controller that serves Receivers (port 80 → 9292). */
export const FLUX_WEBHOOK_SERVICE = { name: "webhook-receiver", port: 80 } as const;

/**
 * The NetworkPolicy the Flux Operator generates for the receivers with `cluster.networkPolicy`
 * (Flux's `policies.yaml`, e.g. flux-operator config/data/flux/v2.9.4/policies.yaml): ingress to
 * pods `app: notification-controller` on TCP 9292 `from: [{namespaceSelector: {}}]`, i.e. from
 * every namespace. No namespace in the selector: the operator's kustomization sets it with its
 * namespace transformer, which runs after the patches.
 */
export const FLUX_WEBHOOK_POLICY_TARGET: PatchSelector = {
    group: "networking.k8s.io",
    version: "v1",
    kind: "NetworkPolicy",
    name: "allow-webhooks",
};

/**
 * JSON6902 operations narrowing the operator's `allow-webhooks` policy to one source namespace
 * (matched by the `kubernetes.io/metadata.name` label Kubernetes sets on every namespace). The
 * `test` ops make the patch fail loudly if a Flux release changes the policy's shape.
 */
export function webhookPolicyOps(namespace: string): JsonPatchOp[] {
    return [
        { op: "test", path: pointer("spec", "ingress", 0, "ports", 0, "port"), value: 9292 },
        { op: "test", path: pointer("spec", "ingress", 0, "from"), value: [{ namespaceSelector: {} }] },
        {
            op: "replace",
            path: pointer("spec", "ingress", 0, "from"),
            value: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } }],
        },
    ];
}

/**
 * Flux installed by the Flux Operator: the operator's Helm chart, then a `FluxInstance`
 * that installs the pinned Flux distribution and syncs the cluster from a Spaces bucket
 * (`sync.kind: Bucket`). The root Kustomization the operator generates is patched to carry
 * `interval`, `retryInterval`, `timeout`, `wait`, `prune`, the stack's values for the tree
 * (`postBuild.substitute`, also kept in the `platform-settings` ConfigMap) and, with
 * `sopsAgeIdentity`, SOPS decryption with the `sops-age` Secret created here.
 *
 * **Flux's CRDs.** Every Flux object the stack creates (Receivers, Providers, Alerts, KCert's
 * GitRepository and Kustomization) must depend on {@link FluxBootstrap.instance}, which Pulumi
 * creates only once Flux's CRDs exist: the FluxInstance carries `pulumi.com/waitFor:
 * condition=Ready` and `pulumi.com/timeoutSeconds`. Without it pulumi-kubernetes treats the
 * FluxInstance as ready at once (await.go `Creation`: no built-in awaiter for custom resources,
 * metadata/overrides.go `ReadyCondition` returns an immediate condition without the annotation)
 * and retries a dependent's "no matches for kind" only 5 times (retry.SleepingRetry: 1+2+4+8+16 s),
 * while the operator first pulls the distribution from ghcr.io. What Ready means (flux-operator
 * v0.58.1, internal/controller/fluxinstance_controller.go `reconcile`/`apply`): it is set True only
 * after the distribution was fetched, built and server-side applied (`ApplyAllStaged`: CRDs
 * first) and, with `spec.wait` (true here), after every applied object is healthy, the generated
 * Bucket and root Kustomization included (the root does not wait for the tree's layers by default,
 * `SYNC_DEFAULTS.wait`, so an unhealthy app does not hold Ready back); a failure sets Ready=False and the operator retries.
 * Before the first `make upload-do` the bucket is empty, and that is healthy: source-controller
 * archives an empty artifact (bucket_controller.go `reconcileArtifact`, "stored artifact with 0
 * fetched files"), and kustomize-controller builds it with a generated, empty kustomization
 * (fluxcd/pkg kustomize `findOrGenerateKustomization`) and skips health checks when nothing was
 * applied. So the first bootstrap does not wait on the bucket's content. pulumi-kubernetes checks
 * the condition like `kubectl wait` (await/condition/kubectl.go `checkCondition`), ignoring a
 * condition whose observedGeneration is older than the object's generation, so an update waits
 * for the operator to reconcile the new spec.
 */
export class FluxBootstrap extends pulumi.ComponentResource {
    /** The Flux namespace. */
    public readonly namespace: pulumi.Output<string>;
    /** The Flux Operator Helm release. */
    public readonly operator: k8s.helm.v3.Release;
    /** Secret with the bucket's read-only key (keys `accesskey`, `secretkey`). */
    public readonly bucketSecret: k8s.core.v1.Secret;
    /** The FluxInstance; Pulumi treats it as created once it is Ready (Flux's CRDs exist). */
    public readonly instance: FluxInstance;
    /** Name of the generated Bucket source and root Kustomization. */
    public readonly syncName: pulumi.Output<string>;
    /** Flux version installed. */
    public readonly fluxVersion: pulumi.Output<string>;
    /** ConfigMap `platform-settings`: the stack's values for the synced tree. */
    public readonly settings: k8s.core.v1.ConfigMap;
    /** Secret `sops-age` (key `age.agekey`) the Kustomizations decrypt with, when `sopsAgeIdentity` is set. */
    public readonly sopsAgeSecret?: k8s.core.v1.Secret;

    constructor(name: string, args: FluxBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
        const readyTimeoutSeconds = args.readyTimeoutSeconds ?? FLUX_READY_TIMEOUT_SECONDS;
        if (!Number.isInteger(readyTimeoutSeconds) || readyTimeoutSeconds < 1) {
            throw new Error(
                `FluxBootstrap ${name}: readyTimeoutSeconds must be a positive integer, got ${readyTimeoutSeconds}`,
            );
        }
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

        this.settings = settingsConfigMap(`${name}-settings`, this.namespace, treeSettings(namespaceName, args), {
            parent: this,
        });

        if (args.sopsAgeIdentity !== undefined) {
            this.sopsAgeSecret = sopsAgeSecret(`${name}-sops-age`, this.namespace, args.sopsAgeIdentity, {
                parent: this,
            });
        }

        this.fluxVersion = pulumi.output(args.fluxVersion ?? versions.flux);
        this.instance = new FluxInstance(
            `${name}-instance`,
            {
                metadata: {
                    // The operator only reconciles a FluxInstance named `flux`.
                    name: "flux",
                    namespace: this.namespace,
                    // Pulumi creates the Flux objects that depend on this only once Flux's CRDs
                    // exist (see the class comment).
                    annotations: {
                        "pulumi.com/waitFor": "condition=Ready",
                        "pulumi.com/timeoutSeconds": String(readyTimeoutSeconds),
                    },
                },
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
                        ...(args.imageAutomation ? IMAGE_AUTOMATION_COMPONENTS : []),
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
                    kustomize: {
                        patches: [
                            ...syncPatches(namespaceName, args.source, args),
                            ...(args.webhookClientNamespace !== undefined && args.networkPolicy !== false
                                ? [jsonPatch(FLUX_WEBHOOK_POLICY_TARGET, webhookPolicyOps(args.webhookClientNamespace))]
                                : []),
                        ],
                    },
                    wait: true,
                },
            },
            // the tree's layers read platform-settings as soon as the root sync applies them, and
            // kustomize-controller fails a Kustomization whose decryption Secret does not exist
            {
                parent: this,
                dependsOn: [
                    this.operator,
                    this.bucketSecret,
                    this.settings,
                    ...(this.sopsAgeSecret ? [this.sopsAgeSecret] : []),
                ],
            },
        );
        this.syncName = pulumi.output(FLUX_SYNC_NAME);

        this.registerOutputs({
            namespace: this.namespace,
            operator: this.operator,
            bucketSecret: this.bucketSecret,
            instance: this.instance,
            syncName: this.syncName,
            fluxVersion: this.fluxVersion,
            settings: this.settings,
            sopsAgeSecret: this.sopsAgeSecret,
        });
    }
}
