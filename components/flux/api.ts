/**
 * Typed Flux objects over `k8s.apiextensions.CustomResource`.
 *
 * Callers build Flux objects from these spec interfaces and never touch the untyped
 * `otherFields`. The API versions are the ones served by current Flux (2.9) and the
 * Flux Operator; the older v1beta1/v1beta2 APIs are gone and must not be used.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export const SOURCE_API = "source.toolkit.fluxcd.io/v1";
export const KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/v1";
export const HELM_API = "helm.toolkit.fluxcd.io/v2";
export const RECEIVER_API = "notification.toolkit.fluxcd.io/v1";
export const NOTIFICATION_API = "notification.toolkit.fluxcd.io/v1beta3";
export const FLUX_OPERATOR_API = "fluxcd.controlplane.io/v1";
export const IMAGE_API = "image.toolkit.fluxcd.io/v1";

type In<T> = pulumi.Input<T>;

/** A Go duration as Flux accepts it, e.g. `30s`, `5m`, `1h30m`. */
export type Duration = string;

export interface LocalObjectReference {
    readonly name: In<string>;
}

export interface CrossNamespaceSourceReference {
    readonly kind: "Bucket" | "GitRepository" | "OCIRepository" | "HelmRepository" | "HelmChart" | "ExternalArtifact";
    readonly name: In<string>;
    readonly namespace?: In<string>;
    readonly apiVersion?: In<string>;
}

/** Object metadata accepted by every typed Flux object. */
export interface FluxMetadata {
    readonly name: In<string>;
    readonly namespace: In<string>;
    readonly labels?: In<Record<string, In<string>>>;
    readonly annotations?: In<Record<string, In<string>>>;
}

// ---------------------------------------------------------------- source.toolkit.fluxcd.io/v1

export interface BucketSpec {
    readonly bucketName: In<string>;
    readonly endpoint: In<string>;
    readonly interval: In<Duration>;
    readonly provider?: "generic" | "aws" | "gcp" | "azure";
    readonly region?: In<string>;
    readonly prefix?: In<string>;
    readonly insecure?: In<boolean>;
    readonly secretRef?: LocalObjectReference;
    readonly timeout?: In<Duration>;
    readonly ignore?: In<string>;
    readonly suspend?: In<boolean>;
}

export interface GitRepositoryRef {
    readonly branch?: In<string>;
    readonly tag?: In<string>;
    readonly semver?: In<string>;
    readonly name?: In<string>;
    readonly commit?: In<string>;
}

export interface GitRepositorySpec {
    readonly url: In<string>;
    readonly interval: In<Duration>;
    readonly ref?: GitRepositoryRef;
    readonly secretRef?: LocalObjectReference;
    readonly timeout?: In<Duration>;
    /** `.sourceignore`-format patterns; overrides the default exclusions. */
    readonly ignore?: In<string>;
    readonly suspend?: In<boolean>;
}

// ---------------------------------------------------------------- kustomize.toolkit.fluxcd.io/v1

/** Kustomize patch target selector. */
export interface PatchSelector {
    readonly group?: string;
    readonly version?: string;
    readonly kind?: string;
    readonly name?: string;
    readonly namespace?: string;
    readonly labelSelector?: string;
    readonly annotationSelector?: string;
}

/** A strategic-merge or JSON6902 patch, given as a YAML/JSON string, with its target. */
export interface KustomizePatch {
    readonly patch: In<string>;
    readonly target?: PatchSelector;
}

export interface DependencyReference {
    readonly name: In<string>;
    readonly namespace?: In<string>;
}

/** A ConfigMap or Secret, in the Kustomization's namespace, whose data are substitution variables. */
export interface SubstituteReference {
    readonly kind: "ConfigMap" | "Secret";
    readonly name: In<string>;
    readonly optional?: In<boolean>;
}

/** Flux's post-build variable substitution (`${name}` in the built objects). */
export interface PostBuild {
    readonly substitute?: In<Record<string, In<string>>>;
    readonly substituteFrom?: In<SubstituteReference[]>;
}

/**
 * How kustomize-controller decrypts SOPS-encrypted manifests before applying them
 * (`spec.decryption`): keys are read from a Secret in the Kustomization's namespace, each data
 * entry ending in `.agekey` being age identities (kustomize-controller internal/decryptor).
 */
export interface Decryption {
    readonly provider: "sops";
    readonly secretRef?: { readonly name: In<string> };
}

export interface KustomizationSpec {
    readonly sourceRef: CrossNamespaceSourceReference;
    readonly interval: In<Duration>;
    readonly prune: In<boolean>;
    readonly path?: In<string>;
    readonly retryInterval?: In<Duration>;
    readonly timeout?: In<Duration>;
    readonly wait?: In<boolean>;
    readonly targetNamespace?: In<string>;
    readonly dependsOn?: In<DependencyReference[]>;
    readonly patches?: In<KustomizePatch[]>;
    readonly postBuild?: In<PostBuild>;
    readonly decryption?: In<Decryption>;
    readonly suspend?: In<boolean>;
    readonly force?: In<boolean>;
}

// ---------------------------------------------------------------- notification.toolkit.fluxcd.io

/** A reference to the objects a Receiver reconciles or an Alert watches. */
export interface CrossNamespaceObjectReference {
    readonly kind: In<string>;
    /** Object name, or `*` for every object of the kind (optionally narrowed by matchLabels). */
    readonly name: In<string>;
    readonly namespace?: In<string>;
    readonly apiVersion?: In<string>;
    readonly matchLabels?: In<Record<string, In<string>>>;
}

export type ReceiverType =
    | "generic"
    | "generic-hmac"
    | "github"
    | "gitlab"
    | "bitbucket"
    | "harbor"
    | "dockerhub"
    | "quay"
    | "gcr"
    | "nexus"
    | "acr"
    | "cdevents";

export interface ReceiverSpec {
    readonly type: ReceiverType;
    readonly secretRef: LocalObjectReference;
    readonly resources: In<CrossNamespaceObjectReference[]>;
    readonly events?: In<In<string>[]>;
    readonly interval?: In<Duration>;
    readonly suspend?: In<boolean>;
}

export type ProviderType =
    | "generic"
    | "generic-hmac"
    | "slack"
    | "discord"
    | "msteams"
    | "rocket"
    | "googlechat"
    | "webex"
    | "sentry"
    | "telegram"
    | "lark"
    | "matrix"
    | "opsgenie"
    | "alertmanager"
    | "grafana"
    | "githubdispatch"
    | "github"
    | "gitlab"
    | "gitea"
    | "bitbucket"
    | "bitbucketserver"
    | "azuredevops"
    | "pagerduty"
    | "datadog"
    | "nats";

export interface ProviderSpec {
    readonly type: ProviderType;
    readonly channel?: In<string>;
    readonly username?: In<string>;
    readonly address?: In<string>;
    readonly timeout?: In<Duration>;
    /** Deprecated by Flux in favour of `proxySecretRef`. */
    readonly proxy?: In<string>;
    readonly secretRef?: LocalObjectReference;
    /** Secret with the proxy URL under `address` (optionally `username`, `password`). */
    readonly proxySecretRef?: LocalObjectReference;
    readonly certSecretRef?: LocalObjectReference;
    readonly suspend?: In<boolean>;
}

export type EventSeverity = "info" | "error";

/** Kinds an Alert's `eventSources` may name (the v1beta3 CRD's enum). */
export type EventSourceKind =
    | "Bucket"
    | "GitRepository"
    | "Kustomization"
    | "HelmRelease"
    | "HelmChart"
    | "HelmRepository"
    | "ImageRepository"
    | "ImagePolicy"
    | "ImageUpdateAutomation"
    | "OCIRepository"
    | "ArtifactGenerator"
    | "ExternalArtifact";

export interface AlertSpec {
    readonly providerRef: LocalObjectReference;
    readonly eventSources: In<CrossNamespaceObjectReference[]>;
    readonly eventSeverity?: EventSeverity;
    readonly inclusionList?: In<In<string>[]>;
    readonly exclusionList?: In<In<string>[]>;
    readonly eventMetadata?: In<Record<string, In<string>>>;
    readonly summary?: In<string>;
    readonly suspend?: In<boolean>;
}

// ---------------------------------------------------------------- image.toolkit.fluxcd.io/v1

export interface ImageRepositorySpec {
    /** Image name without tag, e.g. `ghcr.io/stefanprodan/podinfo`. */
    readonly image: In<string>;
    readonly interval: In<Duration>;
    readonly timeout?: In<Duration>;
    readonly secretRef?: LocalObjectReference;
    readonly provider?: "generic" | "aws" | "azure" | "gcp";
    readonly exclusionList?: In<In<string>[]>;
    readonly insecure?: In<boolean>;
    readonly suspend?: In<boolean>;
}

/** How an ImagePolicy orders the tags it keeps: exactly one of the three. */
export interface ImagePolicyChoice {
    readonly semver?: { readonly range: In<string> };
    readonly alphabetical?: { readonly order?: "asc" | "desc" };
    readonly numerical?: { readonly order?: "asc" | "desc" };
}

export interface ImagePolicySpec {
    readonly imageRepositoryRef: { readonly name: In<string>; readonly namespace?: In<string> };
    readonly policy: ImagePolicyChoice;
    /** Keep only tags matching `pattern`; order by `extract` (e.g. `$ts`), default the whole tag. */
    readonly filterTags?: { readonly pattern?: In<string>; readonly extract?: In<string> };
    readonly digestReflectionPolicy?: "Always" | "IfNotPresent" | "Never";
    readonly suspend?: In<boolean>;
}

export interface ImageUpdateAutomationSpec {
    readonly interval: In<Duration>;
    readonly sourceRef: {
        readonly kind: "GitRepository";
        readonly name: In<string>;
        readonly namespace?: In<string>;
        readonly apiVersion?: In<string>;
    };
    readonly git?: {
        readonly checkout?: { readonly ref: GitRepositoryRef };
        readonly commit: {
            readonly author: { readonly email: In<string>; readonly name?: In<string> };
            readonly messageTemplate?: In<string>;
        };
        readonly push?: { readonly branch?: In<string>; readonly refspec?: In<string> };
    };
    readonly update?: { readonly path?: In<string>; readonly strategy?: "Setters" };
    readonly policySelector?: { readonly matchLabels?: In<Record<string, In<string>>> };
    readonly suspend?: In<boolean>;
}

// ---------------------------------------------------------------- fluxcd.controlplane.io/v1

export interface FluxInstanceSpec {
    readonly distribution: {
        readonly version: In<string>;
        readonly registry: In<string>;
        readonly artifact?: In<string>;
    };
    readonly components?: In<In<string>[]>;
    readonly cluster?: {
        readonly type?: "kubernetes" | "openshift" | "aws" | "azure" | "gcp";
        readonly size?: "small" | "medium" | "large";
        readonly multitenant?: In<boolean>;
        readonly networkPolicy?: In<boolean>;
        readonly domain?: In<string>;
    };
    readonly sync?: {
        readonly kind: "OCIRepository" | "GitRepository" | "Bucket";
        readonly url: In<string>;
        readonly ref: In<string>;
        readonly path: In<string>;
        readonly name?: In<string>;
        readonly interval?: In<Duration>;
        readonly pullSecret?: In<string>;
        readonly provider?: "generic" | "aws" | "azure" | "gcp" | "github";
    };
    readonly kustomize?: {
        readonly patches?: In<KustomizePatch[]>;
    };
    readonly wait?: In<boolean>;
}

// ---------------------------------------------------------------- the typed resources

/** Arguments of every typed Flux object: metadata plus its typed spec. */
export interface FluxObjectArgs<TSpec> {
    readonly metadata: FluxMetadata;
    readonly spec: In<TSpec>;
}

/**
 * Base of the typed Flux objects: pins apiVersion and kind, takes a typed spec.
 * Subclasses only name their API; no caller writes `otherFields` or a raw apiVersion.
 */
abstract class FluxObject<TSpec> extends k8s.apiextensions.CustomResource {
    protected constructor(
        apiVersion: string,
        kind: string,
        name: string,
        args: FluxObjectArgs<TSpec>,
        opts?: pulumi.CustomResourceOptions,
    ) {
        super(name, { apiVersion, kind, metadata: args.metadata, spec: args.spec as pulumi.Input<object> }, opts);
    }
}

export class Bucket extends FluxObject<BucketSpec> {
    constructor(name: string, args: FluxObjectArgs<BucketSpec>, opts?: pulumi.CustomResourceOptions) {
        super(SOURCE_API, "Bucket", name, args, opts);
    }
}

export class GitRepository extends FluxObject<GitRepositorySpec> {
    constructor(name: string, args: FluxObjectArgs<GitRepositorySpec>, opts?: pulumi.CustomResourceOptions) {
        super(SOURCE_API, "GitRepository", name, args, opts);
    }
}

export class Kustomization extends FluxObject<KustomizationSpec> {
    constructor(name: string, args: FluxObjectArgs<KustomizationSpec>, opts?: pulumi.CustomResourceOptions) {
        super(KUSTOMIZE_API, "Kustomization", name, args, opts);
    }
}

export class Receiver extends FluxObject<ReceiverSpec> {
    constructor(name: string, args: FluxObjectArgs<ReceiverSpec>, opts?: pulumi.CustomResourceOptions) {
        super(RECEIVER_API, "Receiver", name, args, opts);
    }
}

export class Provider extends FluxObject<ProviderSpec> {
    constructor(name: string, args: FluxObjectArgs<ProviderSpec>, opts?: pulumi.CustomResourceOptions) {
        super(NOTIFICATION_API, "Provider", name, args, opts);
    }
}

export class Alert extends FluxObject<AlertSpec> {
    constructor(name: string, args: FluxObjectArgs<AlertSpec>, opts?: pulumi.CustomResourceOptions) {
        super(NOTIFICATION_API, "Alert", name, args, opts);
    }
}

export class FluxInstance extends FluxObject<FluxInstanceSpec> {
    constructor(name: string, args: FluxObjectArgs<FluxInstanceSpec>, opts?: pulumi.CustomResourceOptions) {
        super(FLUX_OPERATOR_API, "FluxInstance", name, args, opts);
    }
}

export class ImageRepository extends FluxObject<ImageRepositorySpec> {
    constructor(name: string, args: FluxObjectArgs<ImageRepositorySpec>, opts?: pulumi.CustomResourceOptions) {
        super(IMAGE_API, "ImageRepository", name, args, opts);
    }
}

export class ImagePolicy extends FluxObject<ImagePolicySpec> {
    constructor(name: string, args: FluxObjectArgs<ImagePolicySpec>, opts?: pulumi.CustomResourceOptions) {
        super(IMAGE_API, "ImagePolicy", name, args, opts);
    }
}

export class ImageUpdateAutomation extends FluxObject<ImageUpdateAutomationSpec> {
    constructor(name: string, args: FluxObjectArgs<ImageUpdateAutomationSpec>, opts?: pulumi.CustomResourceOptions) {
        super(IMAGE_API, "ImageUpdateAutomation", name, args, opts);
    }
}
