/**
 * The stack program: read and validate configuration, resolve what must be known before
 * anything is created, then compose the platform.
 */
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import {
    ConfigError,
    type PlatformConfig,
    parseConfig,
    readRawConfig,
    readStackFileSecrets,
    stackFilePath,
} from "./config";
import { createPlatform, platformOutputs } from "./platform";

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

/**
 * Resolves `latest`, a minor prefix (`1.33`) or a full slug (`1.33.1-do.0`) to a DOKS version
 * slug through the DigitalOcean API. Returns a problem message when it cannot.
 */
export async function resolveKubernetesVersion(spec: string): Promise<{ version: string } | { problem: string }> {
    const full = /-do\.\d+$/.test(spec);
    const prefix = spec === "latest" ? undefined : full ? spec.replace(/^(\d+\.\d+).*$/, "$1") : spec;
    const result = await digitalocean.getKubernetesVersions(prefix ? { versionPrefix: prefix } : {});
    const valid = result.validVersions ?? [];
    if (full) {
        return valid.includes(spec)
            ? { version: spec }
            : {
                  problem: `cluster.version: ${spec} is not offered by DigitalOcean (offered: ${valid.join(", ") || "none"})`,
              };
    }
    if (!result.latestVersion) {
        return { problem: `cluster.version: no DOKS version matches the prefix ${spec}` };
    }
    return { version: result.latestVersion };
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
    // The version check asks the DigitalOcean API, so it runs only on the digitalocean target and
    // when a token is there; its problem is reported together with every other one.
    const onDigitalOcean = cfg ? cfg.target === "digitalocean" : raw.target !== "existing-cluster";
    let kubernetesVersion: string | undefined;
    if (onDigitalOcean) {
        const rawVersion = (raw.cluster as { version?: unknown } | undefined)?.version;
        const versionSpec = cfg?.cluster.version ?? (typeof rawVersion === "string" ? rawVersion : "latest");
        const checkable = !problems.some((p) => p.includes("DIGITALOCEAN_TOKEN") || p.startsWith("cluster.version"));
        const version = checkable ? await resolveKubernetesVersion(versionSpec) : undefined;
        if (version && "problem" in version) problems.push(version.problem);
        else if (version) kubernetesVersion = version.version;
    }
    if (problems.length > 0 || !cfg || (onDigitalOcean && !kubernetesVersion)) {
        throw new ConfigError(problems);
    }

    const platform = createPlatform(cfg, {
        kubernetesVersion,
        baseName,
    });
    return platformOutputs(platform);
}
