/**
 * Flux image automation (`imageAutomation`, off by default): per configured image an
 * `ImageRepository` (image-reflector-controller scans the registry's tags) and an `ImagePolicy`
 * (which tag is the latest), and one `ImageUpdateAutomation` (image-automation-controller) that
 * rewrites the `$imagepolicy` markers under `github.path` and commits to `github.branch` through
 * the deploy key, which then has write access. All `image.toolkit.fluxcd.io/v1`.
 *
 * It writes to Git, so it needs the GitHub source: config.ts refuses it without one.
 * Configuration arrives already validated (see config.ts).
 */
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
    type ImagePolicyChoice,
    ImagePolicy as ImagePolicyObject,
    ImageRepository as ImageRepositoryObject,
    ImageUpdateAutomation as ImageUpdateAutomationObject,
} from "../components/flux/api";
import { RECEIVER_SELECTOR_LABEL } from "../components/flux-receiver";
import type { GitHubSource } from "../components/github-source";
import type { ImageConfig, PlatformConfig } from "./config";

/** Commit message when `imageAutomation.messageTemplate` is unset (image-automation-controller v1.2.4 TemplateData). */
export const DEFAULT_MESSAGE_TEMPLATE = `Update images ({{ .AutomationObject }})

{{ range .Changed.Changes -}}
- {{ .OldValue }} -> {{ .NewValue }}
{{ end -}}
`;

export interface ImageAutomationContext {
    /** Kubernetes provider of the cluster. */
    readonly provider: k8s.Provider;
    /** The Flux namespace. */
    readonly fluxNamespace: string;
    /** The GitHub source the automation commits to. */
    readonly source: GitHubSource;
    /** Branch the source follows and the automation pushes to. */
    readonly branch: string;
    /** Path in the repository whose markers are updated. */
    readonly path: string;
    /** What makes the image CRDs exist (the FluxInstance with the image controllers). */
    readonly fluxReady: pulumi.Resource;
}

export interface ImageAutomation {
    readonly repositories: readonly ImageRepositoryObject[];
    readonly policies: readonly ImagePolicyObject[];
    readonly automation: ImageUpdateAutomationObject;
    /** Stack outputs: the marker to put in the manifests, per image. */
    readonly outputs: Record<string, pulumi.Output<unknown>>;
}

/** The ImagePolicy's `policy` and `filterTags` for one configured image. */
export function imagePolicyFields(img: ImageConfig): {
    policy: ImagePolicyChoice;
    filterTags?: { pattern: string; extract?: string };
} {
    if (img.semver !== undefined) return { policy: { semver: { range: img.semver } } };
    const order = img.order ?? "numerical";
    return {
        policy: order === "numerical" ? { numerical: { order: "asc" } } : { alphabetical: { order: "asc" } },
        filterTags: { pattern: img.pattern ?? ".*", ...(img.extract ? { extract: img.extract } : {}) },
    };
}

export function createImageAutomation(cfg: PlatformConfig, ctx: ImageAutomationContext): ImageAutomation {
    const ia = cfg.imageAutomation;
    const namespace = ctx.fluxNamespace;
    const opts = { provider: ctx.provider, dependsOn: [ctx.fluxReady] };
    const repositories: ImageRepositoryObject[] = [];
    const policies: ImagePolicyObject[] = [];
    for (const img of ia.images) {
        const repo = new ImageRepositoryObject(
            `image-${img.name}`,
            {
                metadata: {
                    name: img.name,
                    namespace,
                    ...(img.receiver ? { labels: { [RECEIVER_SELECTOR_LABEL]: img.receiver } } : {}),
                },
                spec: { image: img.image, interval: ia.interval },
            },
            opts,
        );
        repositories.push(repo);
        policies.push(
            new ImagePolicyObject(
                `image-policy-${img.name}`,
                {
                    metadata: { name: img.name, namespace },
                    spec: { imageRepositoryRef: { name: repo.metadata.name }, ...imagePolicyFields(img) },
                },
                opts,
            ),
        );
    }
    const automation = new ImageUpdateAutomationObject(
        "image-update-automation",
        {
            metadata: { name: "github", namespace },
            spec: {
                interval: ia.interval,
                sourceRef: { kind: "GitRepository", name: ctx.source.gitRepository.metadata.name },
                git: {
                    checkout: { ref: { branch: ctx.branch } },
                    commit: {
                        author: { name: ia.author.name, email: ia.author.email },
                        messageTemplate: ia.messageTemplate ?? DEFAULT_MESSAGE_TEMPLATE,
                    },
                    push: { branch: ctx.branch },
                },
                update: { path: ctx.path, strategy: "Setters" },
            },
        },
        // the deploy key must have write access before the first push
        { ...opts, dependsOn: [ctx.fluxReady, ctx.source.deployKey, ctx.source.gitRepository] },
    );
    const markers = Object.fromEntries(
        ia.images.map((img) => [img.name, `# {"$imagepolicy": "${namespace}:${img.name}"}`]),
    );
    return { repositories, policies, automation, outputs: { imagePolicyMarkers: pulumi.output(markers) } };
}
