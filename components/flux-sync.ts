import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Bucket, Kustomization } from "./flux/api";
import {
    bucketSyncSpec,
    FLUX_SYNC_NAME,
    kustomizationSyncSpec,
    type SyncSettings,
    settingsConfigMap,
    sopsAgeSecret,
    treeSettings,
} from "./flux/sync";
import type { FluxBucketSource } from "./flux-bootstrap";

export interface FluxSyncArgs extends SyncSettings {
    /** The bucket to sync from, with Flux's read-only key. Required. */
    readonly source: FluxBucketSource;
    /** Namespace of the existing Flux installation; the sync objects go there. Default: `flux-system`. */
    readonly namespace?: string;
    /** Name of the Bucket source and root Kustomization. Default: `flux-system` (as the Flux Operator names them). */
    readonly syncName?: string;
}

/**
 * The root sync on a cluster where Flux is already installed (by `flux install`, another
 * operator, a platform team): a Secret with the bucket's read-only key, a `Bucket` source and the
 * root `Kustomization`. Their settings come from components/flux/sync.ts, the same code that
 * patches the objects the Flux Operator generates in {@link FluxBootstrap}, so both paths sync
 * with the same interval, retry, timeout, wait and prune.
 */
export class FluxSync extends pulumi.ComponentResource {
    /** The Flux namespace. */
    public readonly namespace: pulumi.Output<string>;
    /** Secret with the bucket's read-only key (keys `accesskey`, `secretkey`). */
    public readonly bucketSecret: k8s.core.v1.Secret;
    /** The Bucket source. */
    public readonly bucket: Bucket;
    /** The root Kustomization. */
    public readonly kustomization: Kustomization;
    /** Name of the Bucket source and root Kustomization. */
    public readonly syncName: pulumi.Output<string>;
    /** ConfigMap `platform-settings`: the stack's values for the synced tree. */
    public readonly settings: k8s.core.v1.ConfigMap;
    /** Secret `sops-age` (key `age.agekey`) the Kustomizations decrypt with, when `sopsAgeIdentity` is set. */
    public readonly sopsAgeSecret?: k8s.core.v1.Secret;

    constructor(name: string, args: FluxSyncArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops:flux:FluxSync", name, {}, opts);
        const namespace = args.namespace ?? "flux-system";
        const syncName = args.syncName ?? FLUX_SYNC_NAME;

        this.bucketSecret = new k8s.core.v1.Secret(
            `${name}-bucket-credentials`,
            {
                metadata: { name: "bucket-credentials", namespace },
                type: "Opaque",
                stringData: {
                    accesskey: pulumi.secret(args.source.accessKeyId),
                    secretkey: pulumi.secret(args.source.secretAccessKey),
                },
            },
            { parent: this },
        );

        this.bucket = new Bucket(
            `${name}-bucket`,
            {
                metadata: { name: syncName, namespace },
                spec: bucketSyncSpec(args.source, args, this.bucketSecret.metadata.name),
            },
            { parent: this, dependsOn: [this.bucketSecret] },
        );

        this.settings = settingsConfigMap(`${name}-settings`, namespace, treeSettings(namespace, args), {
            parent: this,
        });

        if (args.sopsAgeIdentity !== undefined) {
            this.sopsAgeSecret = sopsAgeSecret(`${name}-sops-age`, namespace, args.sopsAgeIdentity, { parent: this });
        }

        this.kustomization = new Kustomization(
            `${name}-kustomization`,
            {
                metadata: { name: syncName, namespace },
                spec: kustomizationSyncSpec(namespace, args, this.bucket.metadata.name),
            },
            // the tree's layers read platform-settings as soon as the root sync applies them, and
            // kustomize-controller fails a Kustomization whose decryption Secret does not exist
            {
                parent: this,
                dependsOn: [this.bucket, this.settings, ...(this.sopsAgeSecret ? [this.sopsAgeSecret] : [])],
            },
        );

        this.namespace = pulumi.output(namespace);
        this.syncName = pulumi.output(syncName);

        this.registerOutputs({
            namespace: this.namespace,
            bucketSecret: this.bucketSecret,
            bucket: this.bucket,
            kustomization: this.kustomization,
            syncName: this.syncName,
            settings: this.settings,
            sopsAgeSecret: this.sopsAgeSecret,
        });
    }
}
