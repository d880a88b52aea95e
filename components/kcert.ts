import * as pulumi from "@pulumi/pulumi";
import {
    type Decryption,
    type Duration,
    GitRepository,
    Kustomization,
    type PatchSelector,
    SOURCE_API,
} from "./flux/api";
import { type JsonPatchOp, jsonPatch, pointer } from "./flux/patches";
import { versions } from "./versions";

/** Let's Encrypt ACME directories. */
export const ACME_DIRECTORIES = {
    staging: "https://acme-staging-v02.api.letsencrypt.org/directory",
    production: "https://acme-v02.api.letsencrypt.org/directory",
} as const;
export type AcmeEnvironment = keyof typeof ACME_DIRECTORIES;

/** KCert issues certificates for Ingresses carrying this label (value {@link KCERT_INGRESS_VALUE}). */
export const KCERT_INGRESS_LABEL = "kcert.dev/ingress";
export const KCERT_INGRESS_VALUE = "managed";
/**
 * KCert issues a certificate for a ConfigMap carrying this label (value
 * {@link KCERT_CERT_REQUEST_VALUE}) for the comma-separated `hosts` in its data, and stores it in
 * a `kubernetes.io/tls` Secret with the ConfigMap's name and namespace.
 */
export const KCERT_CERT_REQUEST_LABEL = "kcert.dev/cert-request";
export const KCERT_CERT_REQUEST_VALUE = "request";

/**
 * `.sourceignore` rules admitting only `deploy.yml`: the repository's Helm chart templates are
 * not valid Kubernetes YAML and break the kustomization Flux generates for the source.
 */
export const KCERT_SOURCE_IGNORE = "/*\n!/deploy.yml\n";

/** Objects of upstream's `deploy.yml` the patches target. */
export const KCERT_DEPLOYMENT_TARGET: PatchSelector = {
    group: "apps",
    version: "v1",
    kind: "Deployment",
    name: "kcert",
};
export const KCERT_CLUSTER_ROLE_TARGET: PatchSelector = {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "ClusterRole",
    name: "kcert",
};

/** What the KCert Deployment patch sets. */
export interface KCertSettings {
    /** ACME directory URL. */
    readonly directoryUrl: string;
    /** Let's Encrypt account email. */
    readonly email: string;
    /** Whether the Let's Encrypt subscriber agreement is accepted (sets `ACME__TERMSACCEPTED`). */
    readonly termsAccepted: boolean;
    /** IngressClass of the challenge Ingress KCert creates. */
    readonly ingressClassName: string;
    /** Image reference, pinned to the tag the source points at. */
    readonly image: string;
    /** Watch labelled Ingresses. */
    readonly watchIngresses: boolean;
    /** Watch labelled ConfigMap certificate requests. */
    readonly watchConfigMaps: boolean;
}

/** The environment KCert v1.2.0 reads (`__` separates configuration sections). */
export function kcertEnv(s: KCertSettings): { name: string; value: string }[] {
    return [
        { name: "ACME__DIRURL", value: s.directoryUrl },
        { name: "ACME__EMAIL", value: s.email },
        // Always explicit: KCert v1.2.0 sends termsOfServiceAgreed from it, and Let's Encrypt
        // refuses to create an account without agreement (the program requires acme.termsAccepted).
        { name: "ACME__TERMSACCEPTED", value: String(s.termsAccepted) },
        { name: "CHALLENGEINGRESS__USECLASSNAME", value: "true" },
        { name: "CHALLENGEINGRESS__CLASSNAME", value: s.ingressClassName },
        // Annotation keys contain `/`, which cannot be expressed through environment variables.
        { name: "CHALLENGEINGRESS__USEANNOTATIONS", value: "false" },
        { name: "KCERT__WATCHINGRESSES", value: String(s.watchIngresses) },
        { name: "KCERT__WATCHCONFIGMAPS", value: String(s.watchConfigMaps) },
    ];
}

/**
 * JSON6902 operations for upstream's `kcert` Deployment: check that container 0 is KCert, pin
 * its image, and replace its env list (upstream's has empty placeholder values) with ours.
 */
export function kcertDeploymentOps(s: KCertSettings): JsonPatchOp[] {
    const container = ["spec", "template", "spec", "containers", 0] as const;
    return [
        { op: "test", path: pointer(...container, "name"), value: "kcert" },
        { op: "replace", path: pointer(...container, "image"), value: s.image },
        { op: "add", path: pointer(...container, "env"), value: kcertEnv(s) },
    ];
}

/**
 * JSON6902 operations for upstream's `kcert` ClusterRole: v1.2.0's `deploy.yml` grants no access
 * to ConfigMaps. KCert needs it in every mode: on every check, `CertChangeService` lists the
 * labelled ConfigMaps in all namespaces (`K8sClient.GetAllConfigMapsAsync`,
 * `ListConfigMapForAllNamespacesAsync`) whatever `KCERT__WATCHCONFIGMAPS` says, and a 403 there
 * aborts the whole check, Ingress certificates included. `watch` serves the ConfigMap watch.
 */
export function kcertClusterRoleOps(): JsonPatchOp[] {
    return [
        {
            op: "add",
            path: pointer("rules", "-"),
            value: { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] },
        },
    ];
}

export interface KCertArgs {
    /** Let's Encrypt account email. Required. */
    readonly email: pulumi.Input<string>;
    /** Let's Encrypt environment. Default: `staging`. */
    readonly acmeEnvironment?: AcmeEnvironment;
    /**
     * Accept the Let's Encrypt subscriber agreement (`ACME__TERMSACCEPTED`); without it Let's
     * Encrypt refuses to register KCert's account, in staging too. Default: `false`.
     */
    readonly termsAccepted?: boolean;
    /** IngressClass KCert puts on its HTTP-01 challenge Ingress. Default: `contour`. */
    readonly ingressClassName?: pulumi.Input<string>;
    /**
     * Watch ConfigMap certificate requests (label `kcert.dev/cert-request: request`) for changes
     * (`KCERT__WATCHCONFIGMAPS`). The ClusterRole rule for ConfigMaps that upstream lacks is added
     * either way, because KCert v1.2.0 lists them on every check. Default: `true`.
     */
    readonly watchConfigMaps?: boolean;
    /** Git tag of nabsul/kcert; the image is pinned to the same tag. Default: `versions.kcert.tag`. */
    readonly tag?: string;
    /** Namespace of the Flux source and Kustomization. Default: `flux-system`. */
    readonly fluxNamespace?: string;
    /** Namespace KCert runs in (`Kustomization.spec.targetNamespace`). Default: `kcert`. */
    readonly namespace?: string;
    /** GitRepository poll interval. Default: `1h` (the tag is immutable). */
    readonly sourceInterval?: pulumi.Input<Duration>;
    /** Kustomization reconcile interval. Default: `10m`. */
    readonly interval?: pulumi.Input<Duration>;
    /**
     * Resources that must be ready before the Flux objects are created: Contour's Helm release
     * (Contour is installed by Pulumi, not Flux, so this ordering cannot be a Flux
     * `spec.dependsOn`) and the FluxInstance that installs Flux's CRDs. Default: none.
     */
    readonly dependsOn?: pulumi.Resource[];
    /**
     * SOPS decryption of the Kustomization (`spec.decryption`, e.g. components/flux/sync.ts
     * `sopsDecryption()`), like every Kustomization the stack creates. Its Secret must exist
     * before the Kustomization: pass it in `dependsOn`. Default: none.
     */
    readonly decryption?: Decryption;
}

/**
 * KCert installed the GitOps way: a Flux GitRepository on nabsul/kcert at a pinned tag, admitting
 * only `deploy.yml`, and a Flux Kustomization that applies it into its own namespace with
 * JSON6902 patches generated from typed operations (ACME settings, challenge IngressClass,
 * pinned image, ConfigMap access).
 */
export class KCert extends pulumi.ComponentResource {
    /** The Flux GitRepository. */
    public readonly source: GitRepository;
    /** The Flux Kustomization. */
    public readonly kustomization: Kustomization;
    /** Namespace KCert runs in. */
    public readonly namespace: pulumi.Output<string>;
    /** Image KCert runs. */
    public readonly image: pulumi.Output<string>;
    /** ACME directory URL KCert uses. */
    public readonly directoryUrl: pulumi.Output<string>;

    constructor(name: string, args: KCertArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops:certs:KCert", name, {}, opts);
        const fluxNamespace = args.fluxNamespace ?? "flux-system";
        const namespace = args.namespace ?? "kcert";
        const tag = args.tag ?? versions.kcert.tag;
        const image = `${versions.kcert.image}:${tag}`;
        const directoryUrl = ACME_DIRECTORIES[args.acmeEnvironment ?? "staging"];
        const watchConfigMaps = args.watchConfigMaps ?? true;
        const childOpts = { parent: this, dependsOn: args.dependsOn };

        this.source = new GitRepository(
            `${name}-source`,
            {
                metadata: { name: "kcert", namespace: fluxNamespace },
                spec: {
                    url: versions.kcert.repoUrl,
                    ref: { tag },
                    interval: args.sourceInterval ?? "1h",
                    ignore: KCERT_SOURCE_IGNORE,
                },
            },
            childOpts,
        );

        const deploymentOps = pulumi
            .all([args.email, args.ingressClassName ?? "contour"])
            .apply(([email, ingressClassName]) =>
                kcertDeploymentOps({
                    directoryUrl,
                    email,
                    termsAccepted: args.termsAccepted ?? false,
                    ingressClassName,
                    image,
                    watchIngresses: true,
                    watchConfigMaps,
                }),
            );

        this.kustomization = new Kustomization(
            `${name}-kustomization`,
            {
                metadata: { name: "kcert", namespace: fluxNamespace },
                spec: {
                    sourceRef: { kind: "GitRepository", name: "kcert", apiVersion: SOURCE_API },
                    path: "./",
                    interval: args.interval ?? "10m",
                    retryInterval: "2m",
                    timeout: "5m",
                    prune: true,
                    wait: true,
                    ...(args.decryption ? { decryption: args.decryption } : {}),
                    targetNamespace: namespace,
                    patches: [
                        jsonPatch(KCERT_DEPLOYMENT_TARGET, deploymentOps),
                        jsonPatch(KCERT_CLUSTER_ROLE_TARGET, kcertClusterRoleOps()),
                    ],
                },
            },
            { ...childOpts, dependsOn: [...(args.dependsOn ?? []), this.source] },
        );

        this.namespace = pulumi.output(namespace);
        this.image = pulumi.output(image);
        this.directoryUrl = pulumi.output(directoryUrl);

        this.registerOutputs({
            source: this.source,
            kustomization: this.kustomization,
            namespace: this.namespace,
            image: this.image,
            directoryUrl: this.directoryUrl,
        });
    }
}
