/**
 * The GitHub repository as a second way in (`github.repository`): the Flux source pulling it
 * over SSH with a stack-generated deploy key, and, with `github.statusToken`, a commit-status
 * Provider and Alert so every push gets a green or red status on its commit.
 *
 * push → GitHub webhook (webhooks.ts) → the `github` Receiver → this GitRepository fetches at
 * once → the `github` Kustomization applies it → the Alert posts the status on the commit.
 * Configuration arrives already validated (see config.ts).
 */
import * as github from "@pulumi/github";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { SyncSettings } from "../components/flux/sync";
import { FluxAlert } from "../components/flux-alert";
import { FluxProvider } from "../components/flux-provider";
import { GitHubSource } from "../components/github-source";
import { parseRepository } from "../components/github-webhook";
import { GITHUB_STATUS_NAME, type PlatformConfig } from "./config";

/** What the GitHub source needs from the rest of the platform. */
export interface GitHubContext {
    /** Kubernetes provider of the cluster. */
    readonly provider: k8s.Provider;
    /** The Flux namespace. */
    readonly fluxNamespace: string;
    /** The root sync's settings, which the `github` Kustomization shares. */
    readonly sync: SyncSettings;
    /** What makes Flux's CRDs exist (the FluxInstance, or the root sync's Bucket on an existing Flux). */
    readonly fluxReady: pulumi.Resource;
    /** The Secret the Kustomization's SOPS decryption reads (`sops-age`); it must exist first. */
    readonly sopsAgeSecret?: pulumi.Resource;
    /** The deploy key may push (image automation). */
    readonly writeAccess: boolean;
    /** Name of the Receiver whose label the GitRepository carries. */
    readonly receiverName: string;
}

export interface GitHub {
    /** GitHub provider for the repository's owner (authenticates with `GITHUB_TOKEN`). */
    readonly provider: github.Provider;
    /** The Flux source and its Kustomization. */
    readonly source: GitHubSource;
    /** Commit-status Provider, with `github.statusToken`. */
    readonly statusProvider?: FluxProvider;
    /** Alert posting the `github` Kustomization's results as commit statuses, with `github.statusToken`. */
    readonly statusAlert?: FluxAlert;
    /** Stack outputs. */
    readonly outputs: Record<string, pulumi.Output<unknown>>;
}

export function createGitHub(
    cfg: PlatformConfig & { github: NonNullable<PlatformConfig["github"]> },
    ctx: GitHubContext,
): GitHub {
    const repo = parseRepository(cfg.github.repository);
    // Reads GITHUB_TOKEN itself; the owner comes from the repository.
    const provider = new github.Provider("github", { owner: repo.owner });
    const source = new GitHubSource(
        "github-source",
        {
            repository: cfg.github.repository,
            namespace: ctx.fluxNamespace,
            branch: cfg.github.branch,
            path: cfg.github.path,
            sync: ctx.sync,
            writeAccess: ctx.writeAccess,
            receiverName: ctx.receiverName,
            deployKeyTitle: `flux ${ctx.fluxNamespace} (${pulumi.getProject()}/${pulumi.getStack()})`,
            dependsOn: [ctx.fluxReady, ...(ctx.sopsAgeSecret ? [ctx.sopsAgeSecret] : [])],
        },
        { providers: [ctx.provider, provider] },
    );

    let statusProvider: FluxProvider | undefined;
    let statusAlert: FluxAlert | undefined;
    if (cfg.github.statusToken !== undefined) {
        statusProvider = new FluxProvider(
            GITHUB_STATUS_NAME,
            {
                providerName: GITHUB_STATUS_NAME,
                // Children do not inherit dependsOn: the namespace carries the wait for Flux's CRDs.
                namespace: ctx.fluxReady.urn.apply(() => ctx.fluxNamespace),
                target: {
                    type: "github",
                    repositoryUrl: `https://github.com/${repo.owner}/${repo.name}`,
                    token: pulumi.secret(cfg.github.statusToken),
                },
            },
            { provider: ctx.provider, dependsOn: [ctx.fluxReady] },
        );
        statusAlert = new FluxAlert(
            GITHUB_STATUS_NAME,
            {
                provider: statusProvider,
                alertName: GITHUB_STATUS_NAME,
                // info: successes and failures alike become statuses (error would post only red ones).
                eventSeverity: "info",
                eventSources: [
                    {
                        kind: "Kustomization",
                        name: source.kustomization.metadata.name,
                        namespace: ctx.fluxNamespace,
                    },
                ],
            },
            { provider: ctx.provider, dependsOn: [ctx.fluxReady] },
        );
    }

    return {
        provider,
        source,
        statusProvider,
        statusAlert,
        outputs: {
            githubDeployKey: source.publicKey,
            githubSource: pulumi.output({
                repository: cfg.github.repository,
                branch: cfg.github.branch,
                path: cfg.github.path,
                writeAccess: ctx.writeAccess,
                commitStatus: cfg.github.statusToken !== undefined,
            }),
        },
    };
}
