import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";

export interface GitOpsBucketArgs {
    /** Spaces region slug, e.g. `fra1`. Required. */
    readonly region: pulumi.Input<string>;
    /**
     * Bucket name (3-63 characters, lowercase, DNS-compatible, globally unique per region).
     * Default: Pulumi auto-naming from the component name plus a random suffix.
     */
    readonly bucketName?: pulumi.Input<string>;
    /**
     * Delete the bucket's objects on destroy so the bucket itself can be deleted.
     * With `false`, destroy fails while the bucket still holds objects. Default: `true`.
     */
    readonly forceDestroy?: pulumi.Input<boolean>;
    /** Keep old object versions (billed storage). Default: `false`. */
    readonly versioning?: pulumi.Input<boolean>;
}

/**
 * Outputs of a SpacesKey that the state must keep secret: both halves of the key pair.
 * @pulumi/digitalocean's SpacesKey registers `secretKey` as a secret output by itself, not `accessKey`.
 */
const KEY_SECRET_OUTPUTS = [
    "accessKey",
    // Stryker disable next-line StringLiteral: equivalent, the SDK adds secretKey itself (see above)
    "secretKey",
];

/**
 * A private Spaces bucket holding the GitOps tree, with two access keys scoped to that bucket
 * only: a `read` key for Flux's Bucket source and a `readwrite` key for uploads.
 */
export class GitOpsBucket extends pulumi.ComponentResource {
    /** The Spaces bucket. */
    public readonly bucket: digitalocean.SpacesBucket;
    /** Bucket name. */
    public readonly bucketName: pulumi.Output<string>;
    /** Region slug. */
    public readonly region: pulumi.Output<string>;
    /** S3 endpoint host without scheme, e.g. `fra1.digitaloceanspaces.com`. */
    public readonly endpointHost: pulumi.Output<string>;
    /** S3 endpoint URL, e.g. `https://fra1.digitaloceanspaces.com`. */
    public readonly endpoint: pulumi.Output<string>;
    /** Read-only key for Flux. */
    public readonly readKey: digitalocean.SpacesKey;
    /** Read-write key for `make upload-do`. */
    public readonly writeKey: digitalocean.SpacesKey;
    /** Read-only key: access key ID (secret). */
    public readonly readAccessKeyId: pulumi.Output<string>;
    /** Read-only key: secret access key (secret). */
    public readonly readSecretAccessKey: pulumi.Output<string>;
    /** Upload key: access key ID (secret). */
    public readonly uploadAccessKeyId: pulumi.Output<string>;
    /** Upload key: secret access key (secret). */
    public readonly uploadSecretAccessKey: pulumi.Output<string>;

    constructor(name: string, args: GitOpsBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops:storage:GitOpsBucket", name, {}, opts);

        this.bucket = new digitalocean.SpacesBucket(
            `${name}-bucket`,
            {
                name: args.bucketName,
                region: args.region,
                acl: "private",
                forceDestroy: args.forceDestroy ?? true,
                versioning: pulumi.output(args.versioning ?? false).apply((enabled) => ({ enabled })),
            },
            { parent: this },
        );

        this.bucketName = this.bucket.name;
        this.region = pulumi.output(args.region);
        this.endpointHost = this.bucket.endpoint;
        this.endpoint = pulumi.interpolate`https://${this.bucket.endpoint}`;

        const grant = (permission: "read" | "readwrite") => [{ bucket: this.bucket.name, permission }];
        this.readKey = new digitalocean.SpacesKey(
            `${name}-read`,
            { name: pulumi.interpolate`${this.bucket.name}-flux-read`, grants: grant("read") },
            { parent: this, additionalSecretOutputs: KEY_SECRET_OUTPUTS },
        );
        this.writeKey = new digitalocean.SpacesKey(
            `${name}-upload`,
            { name: pulumi.interpolate`${this.bucket.name}-upload`, grants: grant("readwrite") },
            { parent: this, additionalSecretOutputs: KEY_SECRET_OUTPUTS },
        );

        this.readAccessKeyId = pulumi.secret(this.readKey.accessKey);
        this.readSecretAccessKey = pulumi.secret(this.readKey.secretKey);
        this.uploadAccessKeyId = pulumi.secret(this.writeKey.accessKey);
        this.uploadSecretAccessKey = pulumi.secret(this.writeKey.secretKey);

        this.registerOutputs({
            bucket: this.bucket,
            bucketName: this.bucketName,
            region: this.region,
            endpointHost: this.endpointHost,
            endpoint: this.endpoint,
            readKey: this.readKey,
            writeKey: this.writeKey,
            readAccessKeyId: this.readAccessKeyId,
            readSecretAccessKey: this.readSecretAccessKey,
            uploadAccessKeyId: this.uploadAccessKeyId,
            uploadSecretAccessKey: this.uploadSecretAccessKey,
        });
    }
}
