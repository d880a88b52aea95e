import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { seaweedfsImage } from "./versions";

/** The S3 API port of `weed mini`. */
export const S3_PORT = 8333;
/** Where the server's identities file is mounted. */
export const S3_CONFIG_PATH = "/etc/seaweedfs/s3.json";
/** Annotation that tells pulumi-kubernetes not to wait for a resource to become ready. */
export const SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait";

/** One identity of SeaweedFS's static S3 configuration (`-s3.config`). */
export interface S3Identity {
    readonly name: string;
    readonly credentials: { readonly accessKey: string; readonly secretKey: string }[];
    /** Actions, each scoped to one bucket as `Action:bucket` (SeaweedFS's `Identity.CanDo`). */
    readonly actions: string[];
}

/** What each key may do. Neither key is an `Admin`: both are limited to the one bucket. */
export const KEY_ACTIONS = {
    /** Flux's source-controller lists and reads objects. */
    read: ["Read", "List"],
    /** `make upload-do` lists, reads, writes and deletes objects. */
    readwrite: ["Read", "List", "Write"],
} as const;

/**
 * SeaweedFS's static identities file: one read-only identity for Flux and one read-write
 * identity for uploads, each scoped to `bucket`. With identities configured, anonymous requests
 * are refused.
 */
export function s3IdentitiesConfig(
    bucket: string,
    keys: {
        readonly read: { readonly accessKey: string; readonly secretKey: string };
        readonly readwrite: { readonly accessKey: string; readonly secretKey: string };
    },
): { identities: S3Identity[] } {
    const identity = (name: string, permission: keyof typeof KEY_ACTIONS): S3Identity => ({
        name,
        credentials: [{ accessKey: keys[permission].accessKey, secretKey: keys[permission].secretKey }],
        actions: KEY_ACTIONS[permission].map((a) => `${a}:${bucket}`),
    });
    return { identities: [identity("flux-read", "read"), identity("upload", "readwrite")] };
}

export interface InClusterS3Args {
    /** Namespace of the server (created here). Default: `gitops-s3`. */
    readonly namespace?: string;
    /** Bucket the server creates on start. Default: `gitops`. */
    readonly bucket?: string;
    /** Size of the data volume. Default: `1Gi`. */
    readonly storageSize?: pulumi.Input<string>;
    /** StorageClass of the data volume. Default: the cluster's default class. */
    readonly storageClass?: pulumi.Input<string>;
    /** Image. Default: `seaweedfsImage` from versions.ts. */
    readonly image?: pulumi.Input<string>;
    /**
     * Mark the volume claim and the Deployment `pulumi.com/skipAwait`, so the run does not wait for
     * a pod (API servers without nodes). Default: `false`.
     */
    readonly skipAwait?: boolean;
}

/**
 * An S3-compatible server inside the cluster for the GitOps bucket: SeaweedFS's single-process
 * `weed mini` (pinned in versions.ts) on a persistent volume, behind a ClusterIP Service. The
 * bucket is created by the server on start (`-bucket`); the two keys are random and written to
 * its static identities file (`-s3.config`), each scoped to that bucket: `read` (Read, List)
 * for Flux and `readwrite` (Read, List, Write) for uploads. No key is an admin. Nothing of the
 * server is published outside the cluster: reach it with a port-forward (`make upload-do` opens
 * one itself).
 */
export class InClusterS3 extends pulumi.ComponentResource {
    /** The namespace. */
    public readonly namespace: pulumi.Output<string>;
    /** Secret holding the identities file. */
    public readonly configSecret: k8s.core.v1.Secret;
    /** The data volume claim. */
    public readonly volume: k8s.core.v1.PersistentVolumeClaim;
    /** The server. */
    public readonly deployment: k8s.apps.v1.Deployment;
    /** Its Service. */
    public readonly service: k8s.core.v1.Service;
    /**
     * Admits traffic to the S3 port only: `weed mini` also serves its filer, master and admin
     * APIs, which do not check the S3 keys. (Enforced where the cluster's network plugin
     * implements NetworkPolicy; kind's default kindnet does not.)
     */
    public readonly networkPolicy: k8s.networking.v1.NetworkPolicy;
    /** Bucket name. */
    public readonly bucketName: pulumi.Output<string>;
    /** Region requests are signed for (SeaweedFS accepts any). */
    public readonly region: pulumi.Output<string>;
    /** `<service>.<namespace>.svc.cluster.local:8333`: the endpoint as Flux's Bucket wants it (no scheme). */
    public readonly endpointHost: pulumi.Output<string>;
    /** `http://<endpointHost>`: the in-cluster endpoint URL. */
    public readonly endpoint: pulumi.Output<string>;
    /** Service name, for port-forwards. */
    public readonly serviceName: pulumi.Output<string>;
    /** Service port. */
    public readonly servicePort: pulumi.Output<number>;
    /** Read-only key: access key ID (secret). */
    public readonly readAccessKeyId: pulumi.Output<string>;
    /** Read-only key: secret access key (secret). */
    public readonly readSecretAccessKey: pulumi.Output<string>;
    /** Upload key: access key ID (secret). */
    public readonly uploadAccessKeyId: pulumi.Output<string>;
    /** Upload key: secret access key (secret). */
    public readonly uploadSecretAccessKey: pulumi.Output<string>;

    constructor(name: string, args: InClusterS3Args = {}, opts?: pulumi.ComponentResourceOptions) {
        super("gitops:storage:InClusterS3", name, {}, opts);
        const namespaceName = args.namespace ?? "gitops-s3";
        const bucket = args.bucket ?? "gitops";
        const labels = { "app.kubernetes.io/name": "seaweedfs", "app.kubernetes.io/instance": name };
        const skipAwait = args.skipAwait ? { [SKIP_AWAIT_ANNOTATION]: "true" } : undefined;

        const ns = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            { metadata: { name: namespaceName, labels: { "app.kubernetes.io/part-of": "gitops-s3" } } },
            { parent: this },
        );
        this.namespace = ns.metadata.name;

        // Letters and digits only: keys travel in headers and environment variables unquoted.
        const secret = (suffix: string, length: number) =>
            new random.RandomPassword(
                `${name}-${suffix}`,
                { length, special: false },
                // @pulumi/random's RandomPassword registers `result` as a secret output itself (its SDK merges
                // additionalSecretOutputs [bcryptHash, result]); kept here so the intent does not hang on that.
                // Stryker disable next-line ArrayDeclaration,StringLiteral: equivalent, the SDK adds `result` (see above)
                { parent: this, additionalSecretOutputs: ["result"] },
            ).result;
        const readId = secret("read-id", 20);
        const readSecret = secret("read-secret", 40);
        const uploadId = secret("upload-id", 20);
        const uploadSecret = secret("upload-secret", 40);

        const identities = pulumi.all([readId, readSecret, uploadId, uploadSecret]).apply(([ra, rs, ua, us]) =>
            JSON.stringify(
                s3IdentitiesConfig(bucket, {
                    read: { accessKey: ra, secretKey: rs },
                    readwrite: { accessKey: ua, secretKey: us },
                }),
                null,
                2,
            ),
        );
        this.configSecret = new k8s.core.v1.Secret(
            `${name}-config`,
            {
                metadata: { name: "seaweedfs-s3-config", namespace: this.namespace, labels },
                // Stryker disable next-line StringLiteral: equivalent, the API server defaults an empty Secret type to Opaque (SetDefaults_Secret)
                type: "Opaque",
                stringData: { "s3.json": pulumi.secret(identities) },
            },
            { parent: this },
        );

        this.volume = new k8s.core.v1.PersistentVolumeClaim(
            `${name}-data`,
            {
                metadata: { name: "seaweedfs-data", namespace: this.namespace, labels, annotations: skipAwait },
                spec: {
                    accessModes: ["ReadWriteOnce"],
                    resources: { requests: { storage: args.storageSize ?? "1Gi" } },
                    // Unset: left out (Pulumi sends no undefined input), so the cluster's default class applies.
                    storageClassName: args.storageClass,
                },
            },
            { parent: this },
        );

        this.deployment = new k8s.apps.v1.Deployment(
            `${name}-server`,
            {
                metadata: { name: "seaweedfs", namespace: this.namespace, labels, annotations: skipAwait },
                spec: {
                    replicas: 1,
                    // One writer on a ReadWriteOnce volume.
                    strategy: { type: "Recreate" },
                    selector: { matchLabels: labels },
                    template: {
                        metadata: {
                            labels,
                            // A new identities file (new keys) restarts the server, which reads it on start.
                            // (A digest reveals nothing of the keys, so it need not be secret.)
                            annotations: {
                                "checksum/s3-config": pulumi.unsecret(
                                    identities.apply((t) => createHash("sha256").update(t).digest("hex")),
                                ),
                            },
                        },
                        spec: {
                            containers: [
                                {
                                    name: "seaweedfs",
                                    image: args.image ?? seaweedfsImage,
                                    // The image's entrypoint runs `weed mini -dir=/data <args>`.
                                    args: [
                                        "mini",
                                        `-s3.config=${S3_CONFIG_PATH}`,
                                        `-bucket=${bucket}`,
                                        "-s3.autoCreateBucket=false",
                                        "-s3.iam=false",
                                        "-webdav=false",
                                        "-admin.ui=false",
                                        "-master.telemetry=false",
                                        "-s3.port.iceberg=0",
                                        "-s3.port.lance=0",
                                    ],
                                    ports: [{ name: "s3", containerPort: S3_PORT }],
                                    readinessProbe: {
                                        tcpSocket: { port: "s3" },
                                        periodSeconds: 5,
                                    },
                                    resources: {
                                        requests: { cpu: "100m", memory: "256Mi" },
                                        limits: { memory: "1Gi" },
                                    },
                                    volumeMounts: [
                                        { name: "data", mountPath: "/data" },
                                        {
                                            name: "config",
                                            mountPath: S3_CONFIG_PATH,
                                            subPath: "s3.json",
                                            readOnly: true,
                                        },
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "data", persistentVolumeClaim: { claimName: this.volume.metadata.name } },
                                { name: "config", secret: { secretName: this.configSecret.metadata.name } },
                            ],
                        },
                    },
                },
            },
            { parent: this },
        );

        this.service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: "seaweedfs", namespace: this.namespace, labels },
                spec: {
                    type: "ClusterIP",
                    selector: labels,
                    ports: [{ name: "s3", port: S3_PORT, targetPort: "s3" }],
                },
            },
            { parent: this },
        );

        this.networkPolicy = new k8s.networking.v1.NetworkPolicy(
            `${name}-s3-only`,
            {
                metadata: { name: "seaweedfs-s3-only", namespace: this.namespace, labels },
                spec: {
                    podSelector: { matchLabels: labels },
                    policyTypes: ["Ingress"],
                    ingress: [{ ports: [{ protocol: "TCP", port: S3_PORT }] }],
                },
            },
            { parent: this },
        );

        this.bucketName = pulumi.output(bucket);
        this.region = pulumi.output("us-east-1");
        this.serviceName = this.service.metadata.name;
        this.servicePort = pulumi.output(S3_PORT);
        this.endpointHost = pulumi.interpolate`${this.serviceName}.${this.namespace}.svc.cluster.local:${S3_PORT}`;
        this.endpoint = pulumi.interpolate`http://${this.endpointHost}`;
        this.readAccessKeyId = pulumi.secret(readId);
        this.readSecretAccessKey = pulumi.secret(readSecret);
        this.uploadAccessKeyId = pulumi.secret(uploadId);
        this.uploadSecretAccessKey = pulumi.secret(uploadSecret);

        this.registerOutputs({
            namespace: this.namespace,
            configSecret: this.configSecret,
            volume: this.volume,
            deployment: this.deployment,
            service: this.service,
            networkPolicy: this.networkPolicy,
            bucketName: this.bucketName,
            region: this.region,
            endpointHost: this.endpointHost,
            endpoint: this.endpoint,
            serviceName: this.serviceName,
            servicePort: this.servicePort,
            readAccessKeyId: this.readAccessKeyId,
            readSecretAccessKey: this.readSecretAccessKey,
            uploadAccessKeyId: this.uploadAccessKeyId,
            uploadSecretAccessKey: this.uploadSecretAccessKey,
        });
    }
}
