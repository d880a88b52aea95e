/**
 * The composition: which components the stack creates and how they are wired together.
 * Configuration arrives already validated (see config.ts); nothing here re-checks input.
 *
 * Two targets share everything from the Kubernetes provider on: `digitalocean` creates a DOKS
 * cluster and a Spaces bucket; `existing-cluster` builds the provider from a kubeconfig and
 * takes the bucket from config (`s3`) or installs an S3 server in the cluster (`inClusterS3`).
 */
import { isAbsolute, resolve } from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DoksCluster } from "../components/doks-cluster";
import { sopsDecryption } from "../components/flux/sync";
import {
    FLUX_SYNC_NAME,
    FLUX_WEBHOOK_SERVICE,
    FluxBootstrap,
    type FluxBucketSource,
} from "../components/flux-bootstrap";
import { FluxSync } from "../components/flux-sync";
import { GitOpsBucket } from "../components/gitops-bucket";
import { InClusterS3 } from "../components/in-cluster-s3";
import { SopsAgeKey } from "../components/sops-age-key";
import type { PlatformConfig } from "./config";
import { createGitHub, type GitHub } from "./github";
import { createImageAutomation, type ImageAutomation } from "./image-automation";
import {
    createNotifications,
    DEPLOY_DIR,
    fluxNamespacesInTree,
    type Notifications,
    notificationOutputs,
} from "./notifications";
import { createWebhooks, GITHUB_RECEIVER_NAME, type Webhooks } from "./webhooks";

/** Values resolved before any resource is registered. */
export interface Resolved {
    /** Full DOKS version slug (digitalocean target). */
    readonly kubernetesVersion?: string;
    /**
     * The run is part of `make destroy` and the DOKS cluster no longer exists (DigitalOcean has
     * none of its name, or `CLUSTER_GONE=1`). Default: false.
     */
    readonly clusterGone?: boolean;
    /** `<project>-<stack>`, the default name for cloud resources. */
    readonly baseName: string;
}

/** The GitOps bucket as the rest of the platform sees it, whichever target made it. */
export interface BucketAccess {
    /** Bucket name. */
    readonly bucketName: pulumi.Output<string>;
    /** Region requests are signed for. */
    readonly region: pulumi.Output<string>;
    /** Endpoint URL (with scheme) as seen from inside the cluster. */
    readonly endpoint: pulumi.Output<string>;
    /** Endpoint host (and port) without scheme, as Flux's Bucket wants it. */
    readonly endpointHost: pulumi.Output<string>;
    /** Plain HTTP endpoint. */
    readonly insecure: boolean;
    /** Flux's read-only key (secrets). */
    readonly readAccessKeyId: pulumi.Output<string>;
    readonly readSecretAccessKey: pulumi.Output<string>;
    /** The upload key (secrets), when the stack knows one. */
    readonly uploadAccessKeyId?: pulumi.Output<string>;
    readonly uploadSecretAccessKey?: pulumi.Output<string>;
}

/** How `make upload-do` reaches in-cluster services from the user's machine: port-forwards. */
export interface LocalAccess {
    /** Kubeconfig file (unset: `$KUBECONFIG` or `~/.kube/config`). */
    readonly kubeconfig?: string;
    /** Context (unset: the current context). */
    readonly context?: string;
    /** The in-cluster S3 Service, when the bucket is served in the cluster. */
    readonly s3?: {
        readonly namespace: pulumi.Input<string>;
        readonly service: pulumi.Input<string>;
        readonly port: pulumi.Input<number>;
    };
    /** Flux's receiver Service, when there is no public receiver URL. */
    readonly receiver?: { readonly namespace: string; readonly service: string; readonly port: number };
}

/** Everything the stack creates, for composition and outputs. */
export interface Platform {
    /** The DOKS cluster (digitalocean target). */
    readonly cluster?: DoksCluster;
    /** The Spaces bucket (digitalocean target). */
    readonly spaces?: GitOpsBucket;
    /** The in-cluster S3 server (existing-cluster target without an `s3` bucket). */
    readonly inClusterS3?: InClusterS3;
    readonly bucket: BucketAccess;
    readonly provider: k8s.Provider;
    /** Flux installed by the Flux Operator (`flux.installation: operator`). */
    readonly flux?: FluxBootstrap;
    /** The root sync created on an existing Flux installation (`flux.installation: existing`). */
    readonly fluxSync?: FluxSync;
    /** The stack's age key: Flux decrypts SOPS files with it, `make seal` encrypts for its recipient. */
    readonly sopsAgeKey: SopsAgeKey;
    readonly webhooks: Webhooks;
    /** The GitHub repository as a Flux source (`github.repository`). */
    readonly github?: GitHub;
    /** Flux image automation (`imageAutomation.enabled`). */
    readonly imageAutomation?: ImageAutomation;
    readonly notifications: Notifications;
    /** Port-forwards `make upload-do` needs (existing-cluster target). */
    readonly localAccess?: LocalAccess;
}

function createDigitalOcean(cfg: PlatformConfig, resolved: Resolved) {
    const pool = cfg.cluster.nodePool;
    const clusterName = cfg.cluster.name ?? resolved.baseName;
    if (!resolved.kubernetesVersion) throw new Error("the digitalocean target needs a resolved Kubernetes version");
    const cluster = new DoksCluster("doks", {
        clusterName,
        region: cfg.cluster.region,
        version: resolved.kubernetesVersion,
        nodePoolName: pool.name,
        nodeSize: pool.size,
        scaling: pool.autoscale
            ? { kind: "autoscale", min: pool.autoscale.min, max: pool.autoscale.max }
            : { kind: "fixed", count: pool.count ?? 2 },
        ha: cfg.cluster.ha,
        surgeUpgrade: cfg.cluster.surgeUpgrade,
        autoUpgrade: cfg.cluster.autoUpgrade,
        maintenance: cfg.cluster.maintenance,
        tags: cfg.cluster.tags,
        destroyAllAssociatedResources: true,
        exists: !resolved.clusterGone,
    });

    const spaces = new GitOpsBucket("gitops", {
        bucketName: cfg.bucket.name,
        region: cfg.bucket.region ?? cfg.cluster.region,
        forceDestroy: cfg.bucket.forceDestroy,
        versioning: cfg.bucket.versioning,
    });

    const provider = new k8s.Provider("doks", {
        kubeconfig: cluster.kubeconfig,
        // With deleteUnreachable, pulumi-kubernetes answers every read and delete with "gone" when
        // the cluster cannot be reached, so a refresh while the API server is down or a token has
        // expired would drop every object, Helm releases included, from the state. It is on only
        // for a destroy of a cluster that is gone: then the refresh of `make destroy` drops what
        // lived in it (Helm releases included: a Helm release cannot be deleted, only read, from an
        // unreachable cluster), and the destroy deletes the rest. Set explicitly either way: the
        // provider flag overrides PULUMI_K8S_DELETE_UNREACHABLE in the environment.
        deleteUnreachable: resolved.clusterGone === true,
    });

    const bucket: BucketAccess = {
        bucketName: spaces.bucketName,
        region: spaces.region,
        endpoint: spaces.endpoint,
        endpointHost: spaces.endpointHost,
        insecure: false,
        readAccessKeyId: spaces.readAccessKeyId,
        readSecretAccessKey: spaces.readSecretAccessKey,
        uploadAccessKeyId: spaces.uploadAccessKeyId,
        uploadSecretAccessKey: spaces.uploadSecretAccessKey,
    };
    return { cluster, spaces, provider, bucket, clusterName };
}

function createExistingCluster(cfg: PlatformConfig, resolved: Resolved) {
    const existing = cfg.existingCluster;
    // Unset fields keep the provider's own defaults: $KUBECONFIG (else ~/.kube/config) and its
    // current context. A path (not the file's content) is passed, so no credential lands in the
    // state; a relative one is made absolute here (the provider expands `~/` itself).
    const kubeconfig =
        existing.kubeconfig === undefined || existing.kubeconfig.startsWith("~") || isAbsolute(existing.kubeconfig)
            ? existing.kubeconfig
            : resolve(existing.kubeconfig);
    const localAccess: { kubeconfig?: string; context?: string } = {
        ...(kubeconfig !== undefined ? { kubeconfig } : {}),
        ...(existing.context !== undefined ? { context: existing.context } : {}),
    };
    // deleteUnreachable off, explicitly (it overrides PULUMI_K8S_DELETE_UNREACHABLE): the stack cannot
    // tell a deleted cluster from one that is briefly unreachable, so a refresh never drops objects.
    const provider = new k8s.Provider("existing-cluster", { ...localAccess, deleteUnreachable: false });

    let bucket: BucketAccess;
    let inClusterS3: InClusterS3 | undefined;
    let s3Access: LocalAccess["s3"];
    if (cfg.s3) {
        const url = new URL(cfg.s3.endpoint);
        bucket = {
            bucketName: pulumi.output(cfg.s3.bucket),
            region: pulumi.output(cfg.s3.region),
            endpoint: pulumi.output(url.origin),
            endpointHost: pulumi.output(url.host),
            insecure: url.protocol === "http:",
            readAccessKeyId: pulumi.secret(cfg.s3.accessKeyId),
            readSecretAccessKey: pulumi.secret(cfg.s3.secretAccessKey),
            ...(cfg.s3.uploadAccessKeyId && cfg.s3.uploadSecretAccessKey
                ? {
                      uploadAccessKeyId: pulumi.secret(cfg.s3.uploadAccessKeyId),
                      uploadSecretAccessKey: pulumi.secret(cfg.s3.uploadSecretAccessKey),
                  }
                : {}),
        };
    } else {
        inClusterS3 = new InClusterS3(
            "gitops-s3",
            {
                namespace: cfg.inClusterS3.namespace,
                bucket: cfg.inClusterS3.bucket,
                storageSize: cfg.inClusterS3.storageSize,
                storageClass: cfg.inClusterS3.storageClass,
                skipAwait: existing.skipAwait,
            },
            { provider },
        );
        bucket = {
            bucketName: inClusterS3.bucketName,
            region: inClusterS3.region,
            endpoint: inClusterS3.endpoint,
            endpointHost: inClusterS3.endpointHost,
            insecure: true,
            readAccessKeyId: inClusterS3.readAccessKeyId,
            readSecretAccessKey: inClusterS3.readSecretAccessKey,
            uploadAccessKeyId: inClusterS3.uploadAccessKeyId,
            uploadSecretAccessKey: inClusterS3.uploadSecretAccessKey,
        };
        s3Access = {
            namespace: inClusterS3.namespace,
            service: inClusterS3.serviceName,
            port: inClusterS3.servicePort,
        };
    }
    return {
        provider,
        bucket,
        inClusterS3,
        clusterName: resolved.baseName,
        localAccess: { ...localAccess, ...(s3Access ? { s3: s3Access } : {}) },
    };
}

export function createPlatform(cfg: PlatformConfig, resolved: Resolved): Platform {
    const target =
        cfg.target === "digitalocean" ? createDigitalOcean(cfg, resolved) : createExistingCluster(cfg, resolved);
    const { provider, bucket, clusterName } = target;

    const source: FluxBucketSource = {
        bucketName: bucket.bucketName,
        endpointHost: bucket.endpointHost,
        region: bucket.region,
        accessKeyId: bucket.readAccessKeyId,
        secretAccessKey: bucket.readSecretAccessKey,
        insecure: bucket.insecure,
    };
    // The stack's age key, kept in its state: every Kustomization the stack creates decrypts with it.
    const sopsAgeKey = new SopsAgeKey("sops-age");
    const sync = {
        path: cfg.flux.path,
        sourceInterval: cfg.flux.sourceInterval,
        interval: cfg.flux.interval,
        retryInterval: cfg.flux.retryInterval,
        timeout: cfg.flux.timeout,
        wait: cfg.flux.wait,
        // the stack's values for deploy/ (components/flux/settings.ts; flux_namespace is always set)
        settings: { cluster_name: clusterName, cluster_region: cfg.cluster.region },
        sopsAgeIdentity: sopsAgeKey.identity,
    };
    let flux: FluxBootstrap | undefined;
    let fluxSync: FluxSync | undefined;
    if (cfg.flux.installation === "operator") {
        flux = new FluxBootstrap(
            "flux",
            {
                namespace: cfg.flux.namespace,
                source,
                ...sync,
                networkPolicy: true,
                // With Contour installed here only Envoy reaches the receivers, so every webhook
                // passes its rate limit (another ingress controller's namespace is not known).
                ...(cfg.webhook.host && cfg.contour.install ? { webhookClientNamespace: cfg.contour.namespace } : {}),
                size: cfg.flux.size,
                imageAutomation: cfg.imageAutomation.enabled,
            },
            { provider },
        );
    } else {
        fluxSync = new FluxSync("flux-sync", { namespace: cfg.flux.namespace, source, ...sync }, { provider });
    }
    // Flux's CRDs exist once the FluxInstance is ready; an existing installation has them already.
    const fluxReady: pulumi.Resource = flux?.instance ?? (fluxSync as FluxSync).bucket;

    const gh = cfg.github
        ? createGitHub(
              { ...cfg, github: cfg.github },
              {
                  provider,
                  fluxNamespace: cfg.flux.namespace,
                  sync,
                  fluxReady,
                  // its Kustomization decrypts with the sops-age Secret, like every other
                  sopsAgeSecret: (flux?.sopsAgeSecret ?? fluxSync?.sopsAgeSecret) as pulumi.Resource,
                  // image automation pushes its commits through the deploy key
                  writeAccess: cfg.imageAutomation.enabled,
                  receiverName: GITHUB_RECEIVER_NAME,
              },
          )
        : undefined;

    // parseConfig refuses image automation without the GitHub source.
    const imageAutomation =
        gh && cfg.github && cfg.imageAutomation.enabled
            ? createImageAutomation(cfg, {
                  provider,
                  fluxNamespace: cfg.flux.namespace,
                  source: gh.source,
                  branch: cfg.github.branch,
                  path: cfg.github.path,
                  fluxReady,
              })
            : undefined;

    const webhooks = createWebhooks(cfg, {
        provider,
        fluxNamespace: cfg.flux.namespace,
        bucketSyncName: FLUX_SYNC_NAME,
        fluxInstance: fluxReady,
        clusterName,
        decryption: {
            spec: sopsDecryption(),
            secret: (flux?.sopsAgeSecret ?? fluxSync?.sopsAgeSecret) as pulumi.Resource,
        },
        githubProvider: gh?.provider,
    });

    const notifications = createNotifications(cfg, {
        provider,
        fluxNamespace: cfg.flux.namespace,
        syncName: FLUX_SYNC_NAME,
        // every namespace deploy/ puts Flux objects in (notification-controller has no namespace wildcard)
        namespaces: fluxNamespacesInTree(DEPLOY_DIR, { ...sync.settings, flux_namespace: cfg.flux.namespace }),
        dependsOn: [fluxReady],
        // KCert's Kustomization is already covered by `Kustomization *` in the Flux namespace.
        extraEventSources: [
            ...(webhooks.kcert
                ? [
                      {
                          kind: "GitRepository" as const,
                          name: webhooks.kcert.source.metadata.name,
                          namespace: cfg.flux.namespace,
                      },
                  ]
                : []),
            // The github Kustomization is covered by `Kustomization *` too.
            ...(gh
                ? [
                      {
                          kind: "GitRepository" as const,
                          name: gh.source.gitRepository.metadata.name,
                          namespace: cfg.flux.namespace,
                      },
                  ]
                : []),
        ],
    });

    const localAccess: LocalAccess | undefined =
        "localAccess" in target
            ? {
                  ...target.localAccess,
                  ...(webhooks.githubReceiver
                      ? {}
                      : {
                            receiver: {
                                namespace: cfg.flux.namespace,
                                service: FLUX_WEBHOOK_SERVICE.name,
                                port: FLUX_WEBHOOK_SERVICE.port,
                            },
                        }),
              }
            : undefined;

    return {
        cluster: "cluster" in target ? target.cluster : undefined,
        spaces: "spaces" in target ? target.spaces : undefined,
        inClusterS3: "inClusterS3" in target ? target.inClusterS3 : undefined,
        bucket,
        provider,
        flux,
        fluxSync,
        sopsAgeKey,
        webhooks,
        github: gh,
        imageAutomation,
        notifications,
        localAccess,
    };
}

/** The stack outputs a user needs next; credentials stay secret. */
export function platformOutputs(p: Platform) {
    return {
        ...(p.cluster
            ? {
                  clusterName: p.cluster.clusterName,
                  clusterId: p.cluster.clusterId,
                  clusterEndpoint: p.cluster.endpoint,
                  kubernetesVersion: p.cluster.version,
                  kubeconfig: pulumi.secret(p.cluster.kubeconfig),
              }
            : {}),
        bucketName: p.bucket.bucketName,
        bucketRegion: p.bucket.region,
        bucketEndpoint: p.bucket.endpoint,
        ...(p.bucket.uploadAccessKeyId && p.bucket.uploadSecretAccessKey
            ? {
                  uploadAccessKeyId: pulumi.secret(p.bucket.uploadAccessKeyId),
                  uploadSecretAccessKey: pulumi.secret(p.bucket.uploadSecretAccessKey),
              }
            : {}),
        fluxNamespace: pulumi.output(p.flux?.namespace ?? p.fluxSync?.namespace),
        // public: what `make seal` encrypts Secret manifests for
        sopsAgeRecipient: p.sopsAgeKey.recipient,
        // secret: to decrypt or edit sealed files locally, and to re-seal them when rotating the key
        sopsAgeIdentity: pulumi.secret(p.sopsAgeKey.identity),
        ...(p.flux ? { fluxVersion: p.flux.fluxVersion } : {}),
        ...(p.localAccess ? { localAccess: pulumi.output(p.localAccess) } : {}),
        ...p.webhooks.outputs,
        ...p.github?.outputs,
        ...p.imageAutomation?.outputs,
        ...notificationOutputs(p.notifications),
    };
}
