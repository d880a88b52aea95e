import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { type CrossNamespaceObjectReference, Receiver, type ReceiverType, SOURCE_API } from "./flux/api";

/** Label a GitRepository carries to be reconciled by the receiver named in its value. */
export const RECEIVER_SELECTOR_LABEL = "gitops.platform/receiver";
/** Shortest token accepted: 32 characters. */
export const MIN_TOKEN_LENGTH = 32;

/**
 * The path notification-controller serves a Receiver on:
 * `/hook/` + hex(sha256(token + name + namespace)).
 */
export function receiverHookPath(token: string, name: string, namespace: string): string {
    return `/hook/${createHash("sha256")
        .update(token + name + namespace)
        .digest("hex")}`;
}

export interface FluxReceiverArgs {
    /** Public host name the receiver is reachable at: `url` is `https://<host>/hook/…`. Required unless `baseUrl` is set. */
    readonly host?: pulumi.Input<string>;
    /**
     * Base URL instead of `https://<host>`, e.g. the in-cluster `http://webhook-receiver.flux-system.svc.cluster.local`
     * when there is no public host. Default: `https://<host>`.
     */
    readonly baseUrl?: pulumi.Input<string>;
    /** Receiver type. Default: `github`. */
    readonly type?: ReceiverType;
    /**
     * Events the receiver accepts. Default: `["ping", "push"]` for `github`, none (every event)
     * for other types.
     */
    readonly events?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Objects annotated for reconciliation on a valid request. Default: every GitRepository in
     * the receiver's namespace labelled `gitops.platform/receiver: <receiverName>` (a label
     * selector, since notification-controller requires matchLabels with the `*` name).
     */
    readonly resources?: pulumi.Input<CrossNamespaceObjectReference[]>;
    /** `metadata.name` of the Receiver (part of its hook path). Default: the component name. */
    readonly receiverName?: string;
    /** Flux namespace, where the Receiver and its Secret live. Default: `flux-system`. */
    readonly namespace?: string;
    /** Length of the generated token, at least 32. Default: `48`. */
    readonly tokenLength?: number;
    /** Resources that must exist first (the FluxInstance installing the Receiver CRD). Default: none. */
    readonly dependsOn?: pulumi.Resource[];
}

/**
 * A Flux notification Receiver with a generated token: a `random.RandomPassword`, a Secret with
 * key `token`, and the `Receiver`. The webhook URL is computed here, the way
 * notification-controller computes the hook path, so it is known (as a secret) in the same run.
 */
export class FluxReceiver extends pulumi.ComponentResource {
    /** The generated token. */
    public readonly password: random.RandomPassword;
    /** Secret holding the token under key `token`. */
    public readonly secret: k8s.core.v1.Secret;
    /** The Receiver. */
    public readonly receiver: Receiver;
    /** Receiver name. */
    public readonly receiverName: pulumi.Output<string>;
    /** Receiver namespace. */
    public readonly namespace: pulumi.Output<string>;
    /** The token (secret). */
    public readonly token: pulumi.Output<string>;
    /** `/hook/<sha256>` (secret: whoever knows it can trigger reconciliations). */
    public readonly webhookPath: pulumi.Output<string>;
    /** `https://<host>/hook/<sha256>` or `<baseUrl>/hook/<sha256>` (secret). */
    public readonly url: pulumi.Output<string>;

    constructor(name: string, args: FluxReceiverArgs, opts?: pulumi.ComponentResourceOptions) {
        // Checked before anything is registered.
        if (args.host === undefined && args.baseUrl === undefined) {
            throw new Error(`FluxReceiver ${name}: set host or baseUrl`);
        }
        const tokenLength = args.tokenLength ?? 48;
        if (!Number.isInteger(tokenLength) || tokenLength < MIN_TOKEN_LENGTH) {
            throw new Error(
                `FluxReceiver ${name}: tokenLength must be an integer >= ${MIN_TOKEN_LENGTH}, got ${tokenLength}`,
            );
        }
        super("gitops:flux:FluxReceiver", name, {}, opts);
        const receiverName = args.receiverName ?? name;
        const namespace = args.namespace ?? "flux-system";
        const type = args.type ?? "github";

        this.password = new random.RandomPassword(
            `${name}-token`,
            // Letters and digits only: the token goes into headers and env vars unquoted.
            { length: tokenLength, special: false },
            // @pulumi/random's RandomPassword registers `result` as a secret output itself (its SDK merges
            // additionalSecretOutputs [bcryptHash, result]); kept here so the intent does not hang on that.
            // Stryker disable next-line ArrayDeclaration,StringLiteral: equivalent, the SDK adds `result` (see above)
            { parent: this, additionalSecretOutputs: ["result"] },
        );
        this.token = pulumi.secret(this.password.result);

        this.secret = new k8s.core.v1.Secret(
            `${name}-secret`,
            {
                metadata: { name: `${receiverName}-receiver-token`, namespace },
                type: "Opaque",
                stringData: { token: this.token },
            },
            { parent: this, dependsOn: args.dependsOn },
        );

        const defaultResources: CrossNamespaceObjectReference[] = [
            {
                apiVersion: SOURCE_API,
                kind: "GitRepository",
                name: "*",
                matchLabels: { [RECEIVER_SELECTOR_LABEL]: receiverName },
            },
        ];
        this.receiver = new Receiver(
            `${name}-receiver`,
            {
                metadata: { name: receiverName, namespace },
                spec: {
                    type,
                    secretRef: { name: this.secret.metadata.name },
                    resources: args.resources ?? defaultResources,
                    ...(args.events !== undefined
                        ? { events: args.events }
                        : type === "github"
                          ? { events: ["ping", "push"] }
                          : {}),
                },
            },
            { parent: this, dependsOn: [...(args.dependsOn ?? []), this.secret] },
        );

        this.receiverName = pulumi.output(receiverName);
        this.namespace = pulumi.output(namespace);
        this.webhookPath = pulumi.secret(this.token.apply((token) => receiverHookPath(token, receiverName, namespace)));
        const base =
            args.baseUrl !== undefined ? pulumi.output(args.baseUrl) : pulumi.interpolate`https://${args.host}`;
        this.url = pulumi.secret(pulumi.interpolate`${base}${this.webhookPath}`);

        this.registerOutputs({
            password: this.password,
            secret: this.secret,
            receiver: this.receiver,
            receiverName: this.receiverName,
            namespace: this.namespace,
            token: this.token,
            webhookPath: this.webhookPath,
            url: this.url,
        });
    }
}
