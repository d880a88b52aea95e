/**
 * The composition: which components the stack creates and how they are wired together.
 * Configuration arrives already validated (see config.ts); nothing here re-checks input.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DoksCluster } from "../components/doks-cluster";
import { FLUX_SYNC_NAME, FluxBootstrap } from "../components/flux-bootstrap";
import { GitOpsBucket } from "../components/gitops-bucket";
import type { PlatformConfig } from "./config";
import { createNotifications, type Notifications, notificationOutputs } from "./notifications";
import { createWebhooks, type Webhooks } from "./webhooks";

/** Values resolved before any resource is registered. */
export interface Resolved {
    /** Full DOKS version slug. */
    readonly kubernetesVersion: string;
    /** `<project>-<stack>`, the default name for cloud resources. */
    readonly baseName: string;
}

/** Everything the stack creates, for composition and outputs. */
export interface Platform {
    readonly cluster: DoksCluster;
    readonly bucket: GitOpsBucket;
    readonly provider: k8s.Provider;
    readonly flux: FluxBootstrap;
    readonly webhooks: Webhooks;
    readonly notifications: Notifications;
}

export function createPlatform(cfg: PlatformConfig, resolved: Resolved): Platform {
    const pool = cfg.cluster.nodePool;
    const clusterName = cfg.cluster.name ?? resolved.baseName;
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
    });

    const bucket = new GitOpsBucket("gitops", {
        bucketName: cfg.bucket.name,
        region: cfg.bucket.region ?? cfg.cluster.region,
        forceDestroy: cfg.bucket.forceDestroy,
        versioning: cfg.bucket.versioning,
    });

    const provider = new k8s.Provider("doks", {
        kubeconfig: cluster.kubeconfig,
        // Lets `pulumi destroy` finish when the cluster is already gone.
        deleteUnreachable: true,
    });

    const flux = new FluxBootstrap(
        "flux",
        {
            namespace: cfg.flux.namespace,
            source: {
                bucketName: bucket.bucketName,
                endpointHost: bucket.endpointHost,
                region: bucket.region,
                accessKeyId: bucket.readAccessKeyId,
                secretAccessKey: bucket.readSecretAccessKey,
            },
            path: cfg.flux.path,
            sourceInterval: cfg.flux.sourceInterval,
            interval: cfg.flux.interval,
            retryInterval: cfg.flux.retryInterval,
            timeout: cfg.flux.timeout,
            wait: cfg.flux.wait,
            networkPolicy: true,
            size: cfg.flux.size,
        },
        { provider },
    );

    const webhooks = createWebhooks(cfg, {
        provider,
        fluxNamespace: cfg.flux.namespace,
        bucketSyncName: FLUX_SYNC_NAME,
        fluxInstance: flux.instance,
        clusterName,
    });

    const notifications = createNotifications(cfg, {
        provider,
        fluxNamespace: cfg.flux.namespace,
        syncName: FLUX_SYNC_NAME,
        dependsOn: [flux.instance],
        // KCert's Kustomization is already covered by `Kustomization *` in the Flux namespace.
        extraEventSources: [
            { kind: "GitRepository", name: webhooks.kcert.source.metadata.name, namespace: cfg.flux.namespace },
        ],
    });

    return { cluster, bucket, provider, flux, webhooks, notifications };
}

/** The stack outputs a user needs next; credentials stay secret. */
export function platformOutputs(p: Platform) {
    return {
        clusterName: p.cluster.clusterName,
        clusterId: p.cluster.clusterId,
        clusterEndpoint: p.cluster.endpoint,
        kubernetesVersion: p.cluster.version,
        kubeconfig: pulumi.secret(p.cluster.kubeconfig),
        bucketName: p.bucket.bucketName,
        bucketRegion: p.bucket.region,
        bucketEndpoint: p.bucket.endpoint,
        uploadAccessKeyId: pulumi.secret(p.bucket.uploadAccessKeyId),
        uploadSecretAccessKey: pulumi.secret(p.bucket.uploadSecretAccessKey),
        fluxNamespace: p.flux.namespace,
        fluxVersion: p.flux.fluxVersion,
        ...p.webhooks.outputs,
        ...notificationOutputs(p.notifications),
    };
}
