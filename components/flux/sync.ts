/**
 * The settings of the root sync (the `Bucket` source and the root `Kustomization`), defined once.
 *
 * Two paths create these objects: the Flux Operator generates them from a `FluxInstance` and the
 * stack patches in what the operator does not set ({@link syncPatches}); with an existing Flux
 * installation the stack creates them itself ({@link bucketSyncSpec}, {@link kustomizationSyncFields}).
 * Both read the fields from here, so the two paths cannot drift apart.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { BucketSpec, Decryption, Duration, KustomizationSpec, KustomizePatch } from "./api";
import { type JsonPatchOp, jsonPatch } from "./patches";
import { FLUX_SYNC_NAME, PLATFORM_SETTINGS_NAME, SOPS_AGE_SECRET, VARIABLE_NAME } from "./settings";

/** Name of the Bucket source and the root Kustomization (the Flux Operator's fixed choice). */
export { FLUX_SYNC_NAME };

/** What the root sync reads and how often; every field but the bucket has a default. */
export interface SyncSettings {
    /** Path in the bucket the root Kustomization applies. Default: `./`. */
    readonly path?: pulumi.Input<string>;
    /** How often the Bucket is polled. Default: `1m`. */
    readonly sourceInterval?: pulumi.Input<Duration>;
    /** Root Kustomization reconcile interval. Default: `10m`. */
    readonly interval?: pulumi.Input<Duration>;
    /** Root Kustomization retry interval after a failure. Default: `2m`. */
    readonly retryInterval?: pulumi.Input<Duration>;
    /** Root Kustomization apply and health-check timeout. Default: `5m`. */
    readonly timeout?: pulumi.Input<Duration>;
    /**
     * Root Kustomization waits for every object it applies to be healthy. The root applies only
     * the tree's layer Kustomizations, which wait for their own objects, so with `true` the
     * root's Ready (and with it the FluxInstance's, which later `pulumi up` runs wait for) would
     * depend on every app in `deploy/`. Default: `false` (as flux2-kustomize-helm-example's root).
     */
    readonly wait?: pulumi.Input<boolean>;
    /**
     * The stack's values for the synced tree, which it uses as `${name}` (Flux post-build
     * substitution; the variables are listed in components/flux/settings.ts): set on the root
     * Kustomization as `postBuild.substitute`, and kept in the `platform-settings` ConfigMap the
     * tree's own Kustomizations read (`postBuild.substituteFrom`). `flux_namespace` is always
     * set, to the Flux namespace. Default: only `flux_namespace`.
     */
    readonly settings?: Readonly<Record<string, pulumi.Input<string>>>;
    /**
     * The stack's age identity (`AGE-SECRET-KEY-1…`, a secret; components/sops-age-key.ts). When
     * set, the `sops-age` Secret (key `age.agekey`) is created in the Flux namespace and every
     * Kustomization built from these settings decrypts SOPS-encrypted manifests with it
     * (`decryption`, {@link sopsDecryption}). Default: unset (no decryption).
     */
    readonly sopsAgeIdentity?: pulumi.Input<string>;
}

// SOPS_AGE_SECRET lives in settings.ts (no Pulumi SDK), so make validate can name it without
// loading @pulumi/pulumi and @pulumi/kubernetes; it is exported here too, beside its users.
export { SOPS_AGE_SECRET };

/** `spec.decryption` of every Kustomization that applies the tree: SOPS with the `sops-age` Secret. */
export function sopsDecryption(): Decryption {
    return { provider: "sops", secretRef: { name: SOPS_AGE_SECRET.name } };
}

/** The `sops-age` Secret with the identity under `age.agekey` (kept secret in state and outputs). */
export function sopsAgeSecret(
    name: string,
    namespace: pulumi.Input<string>,
    identity: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
): k8s.core.v1.Secret {
    return new k8s.core.v1.Secret(
        name,
        {
            metadata: {
                name: SOPS_AGE_SECRET.name,
                namespace,
                labels: { "app.kubernetes.io/part-of": "flux" },
            },
            type: "Opaque",
            // age's identity file format: the key on its own line
            stringData: { [SOPS_AGE_SECRET.key]: pulumiSecret(identity, (id) => `${id}\n`) },
        },
        opts,
    );
}

/** The bucket the root sync reads. */
export interface SyncBucket {
    /** Bucket name. */
    readonly bucketName: pulumi.Input<string>;
    /** Endpoint host (and port) without scheme, e.g. `fra1.digitaloceanspaces.com`. */
    readonly endpointHost: pulumi.Input<string>;
    /** Region used to sign requests. */
    readonly region: pulumi.Input<string>;
    /** Plain HTTP endpoint (`spec.insecure`), e.g. an in-cluster server. Default: `false`. */
    readonly insecure?: boolean;
}

/** The defaults of {@link SyncSettings}. */
export const SYNC_DEFAULTS = {
    path: "./",
    sourceInterval: "1m",
    interval: "10m",
    retryInterval: "2m",
    timeout: "5m",
    wait: false,
} as const;

/**
 * The values the tree substitutes: `settings` plus `quote` (`"`) and `flux_namespace` (always the Flux
 * namespace). Throws on a name Flux would refuse (a programming error: the composition passes
 * fixed names).
 */
export function treeSettings(namespace: string, s: SyncSettings): Record<string, pulumi.Input<string>> {
    const values: Record<string, pulumi.Input<string>> = { ...s.settings, flux_namespace: namespace, quote: '"' };
    const bad = Object.keys(values).filter((k) => !VARIABLE_NAME.test(k));
    if (bad.length > 0) throw new Error(`settings names must match ${VARIABLE_NAME}: ${bad.join(", ")}`);
    return values;
}

/**
 * The root Kustomization's reconcile settings (what the operator's generated object lacks, plus
 * prune), the stack's values for the tree (`postBuild.substitute`, see {@link treeSettings}) and,
 * when the stack has an age identity, SOPS decryption with the `sops-age` Secret
 * ({@link sopsDecryption}). Every Kustomization the stack creates from these settings gets them.
 */
export function kustomizationSyncFields(namespace: string, s: SyncSettings) {
    return {
        interval: s.interval ?? SYNC_DEFAULTS.interval,
        retryInterval: s.retryInterval ?? SYNC_DEFAULTS.retryInterval,
        timeout: s.timeout ?? SYNC_DEFAULTS.timeout,
        wait: s.wait ?? SYNC_DEFAULTS.wait,
        prune: true,
        postBuild: { substitute: treeSettings(namespace, s) },
        ...(s.sopsAgeIdentity !== undefined ? { decryption: sopsDecryption() } : {}),
    } satisfies Partial<KustomizationSpec>;
}

/** The `platform-settings` ConfigMap: the same values, for the tree's own Kustomizations (`substituteFrom`). */
export function settingsConfigMap(
    name: string,
    namespace: pulumi.Input<string>,
    values: Record<string, pulumi.Input<string>>,
    opts: pulumi.CustomResourceOptions,
): k8s.core.v1.ConfigMap {
    return new k8s.core.v1.ConfigMap(
        name,
        {
            metadata: { name: PLATFORM_SETTINGS_NAME, namespace, labels: { "app.kubernetes.io/part-of": "flux" } },
            data: values,
        },
        opts,
    );
}

/** The Bucket fields the operator's generated Bucket lacks. */
export function bucketSyncFields(b: SyncBucket): Pick<BucketSpec, "region" | "insecure"> {
    return { region: b.region, ...(b.insecure ? { insecure: true } : {}) };
}

/** The full Bucket spec, as the operator generates it plus {@link bucketSyncFields}. */
export function bucketSyncSpec(b: SyncBucket, s: SyncSettings, secretName: pulumi.Input<string>): BucketSpec {
    return {
        interval: s.sourceInterval ?? SYNC_DEFAULTS.sourceInterval,
        bucketName: b.bucketName,
        endpoint: b.endpointHost,
        provider: "generic",
        secretRef: { name: secretName },
        ...bucketSyncFields(b),
    };
}

/** The full root Kustomization spec, in the Flux namespace `namespace`. */
export function kustomizationSyncSpec(
    namespace: string,
    s: SyncSettings,
    sourceName: pulumi.Input<string>,
): KustomizationSpec {
    return {
        sourceRef: { kind: "Bucket", name: sourceName },
        path: s.path ?? SYNC_DEFAULTS.path,
        ...kustomizationSyncFields(namespace, s),
    };
}

/** `f(value)`, as a secret whatever `value` was. */
function pulumiSecret(value: pulumi.Input<string>, f: (v: string) => string): pulumi.Output<string> {
    return pulumi.secret(pulumi.output(value).apply(f));
}

/** `add` operations for each field, in a stable order. */
function addOps(fields: Record<string, unknown>): JsonPatchOp[] {
    return Object.entries(fields).map(([k, value]) => ({ op: "add", path: `/spec/${k}`, value }));
}

/**
 * JSON6902 patches for a `FluxInstance`'s `spec.kustomize.patches`: they turn the objects the
 * operator generates into the ones {@link bucketSyncSpec} and {@link kustomizationSyncSpec} describe.
 */
export function syncPatches(namespace: string, b: SyncBucket, s: SyncSettings): KustomizePatch[] {
    const target = (kind: "Kustomization" | "Bucket") => ({ kind, name: FLUX_SYNC_NAME, namespace });
    return [
        jsonPatch(target("Bucket"), addOps(bucketSyncFields(b))),
        jsonPatch(target("Kustomization"), addOps(kustomizationSyncFields(namespace, s))),
    ];
}
