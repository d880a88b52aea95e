/**
 * The stack program: read and validate configuration, resolve what must be known before
 * anything is created, then compose the platform.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    ConfigError,
    type PlatformConfig,
    parseConfig,
    readRawConfig,
    readStackFileSecrets,
    stackFilePath,
} from "./config";
import { chooseKubernetesVersion, findRunningCluster, offeredByDigitalOcean } from "./kubernetes-version";
import { createPlatform, platformOutputs } from "./platform";
import { runMode } from "./run-mode";

export interface ProgramOptions {
    /** Environment to check credentials in. Default: `process.env`. */
    readonly env?: NodeJS.ProcessEnv;
    /** Check credentials environment variables. Default: true. */
    readonly requireCredentials?: boolean;
    /**
     * The stack file whose `secure:` markers say which credentials are secrets. Default:
     * `Pulumi.<stack>.yaml` in the project root the Pulumi CLI reports (none under mocks).
     */
    readonly stackFile?: string;
}

/** Runs the whole program and returns the stack outputs. */
export async function main(options: ProgramOptions = {}) {
    const project = pulumi.getProject();
    const stack = pulumi.getStack();
    const { raw, secretKeys, otherKeys } = readRawConfig(project);
    const baseName = `${project}-${stack}`;
    const stackFile = options.stackFile ?? stackFilePath(stack);
    const stackFileSecrets = stackFile === undefined ? undefined : readStackFileSecrets(stackFile, project);

    let cfg: PlatformConfig | undefined;
    const problems: string[] = [];
    try {
        cfg = parseConfig(raw, {
            env: options.env ?? process.env,
            requireCredentials: options.requireCredentials,
            secretKeys,
            stackFileSecrets,
            baseName,
            project,
            otherKeys,
        });
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        problems.push(...e.problems);
    }
    // The version and the running cluster come from the DigitalOcean API, so they are looked up
    // only on the digitalocean target and when a token is there; a version problem is reported
    // together with every other one.
    const onDigitalOcean = cfg ? cfg.target === "digitalocean" : raw.target !== "existing-cluster";
    const mode = runMode(options.env ?? process.env);
    let kubernetesVersion: string | undefined;
    let clusterGone = false;
    if (onDigitalOcean) {
        const rawCluster = raw.cluster as { version?: unknown; name?: unknown } | undefined;
        const versionSpec =
            cfg?.cluster.version ?? (typeof rawCluster?.version === "string" ? rawCluster.version : "latest");
        const clusterName = cfg?.cluster.name ?? (typeof rawCluster?.name === "string" ? rawCluster.name : baseName);
        const checkable = !problems.some((p) => p.includes("DIGITALOCEAN_TOKEN") || p.startsWith("cluster.version"));
        if (checkable && mode.destroying) {
            // A destroy creates and upgrades nothing: no version is chosen or checked (a slug
            // DigitalOcean dropped must not block it). The cluster is gone when DigitalOcean has
            // none of its name, or when the user says so (CLUSTER_GONE=1).
            const running = mode.declaredGone ? undefined : await findRunningCluster(clusterName);
            clusterGone = running === undefined;
            kubernetesVersion = running?.version ?? versionSpec;
        } else if (checkable) {
            const running = await findRunningCluster(clusterName);
            const choice = await chooseKubernetesVersion(versionSpec, running?.version, offeredByDigitalOcean);
            if ("problem" in choice) problems.push(choice.problem);
            else {
                kubernetesVersion = choice.version;
                if (choice.note) void pulumi.log.warn(choice.note);
            }
        }
    }
    if (problems.length > 0 || !cfg || (onDigitalOcean && !kubernetesVersion)) {
        throw new ConfigError(problems);
    }

    const platform = createPlatform(cfg, {
        kubernetesVersion,
        clusterGone,
        baseName,
    });
    return platformOutputs(platform);
}
