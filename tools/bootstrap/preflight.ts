/**
 * Prerequisites of `make bootstrap` / `make destroy`, checked before the first `pulumi` call.
 * Names every missing one at once.
 *
 * It runs after `make install` (tools/bootstrap/main.ts), so it reads the stack file with a
 * real YAML parser (the `yaml` package): `do-gitops-platform:github: {repository: a/b}` written
 * inline, quoted keys, anchors and comments all mean what they mean to the Pulumi CLI. The
 * only cost of running after the install is that `npm ci` (nothing billable, nothing outside
 * node_modules/) may run before a missing credential is named.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join, relative, resolve } from "node:path";
import { parse } from "yaml";
import { missingCredentials } from "../../infrastructure/credentials";
import type { Target } from "../../infrastructure/target-config";
import { backendUrl } from "../lib/backend";

export interface PreflightOptions {
    readonly action: "bootstrap" | "destroy";
    readonly root: string;
    readonly stack: string;
    readonly env: NodeJS.ProcessEnv;
}

function onPath(cmd: string, args: string[], env: NodeJS.ProcessEnv): boolean {
    const r = spawnSync(cmd, args, { stdio: "ignore", env, timeout: 30_000 });
    return !r.error && r.status === 0;
}

/** Reads a YAML file; a parse problem is returned as a message instead of thrown. */
function readYaml(path: string): { value: unknown } | { problem: string } {
    try {
        return { value: parse(readFileSync(path, "utf8")) };
    } catch (e) {
        return { problem: (e as Error).message.split("\n")[0] };
    }
}

/**
 * The existing-cluster target's credential is a kubeconfig: existingCluster.kubeconfig when the
 * stack file sets it, else $KUBECONFIG, else ~/.kube/config (as kubectl finds it).
 */
function kubeconfigProblem(configured: string | undefined, o: PreflightOptions): string | undefined {
    const home = o.env.HOME || homedir();
    const expand = (p: string) => resolve(o.root, p.startsWith("~/") ? join(home, p.slice(2)) : p);
    const files = configured
        ? [expand(configured)]
        : o.env.KUBECONFIG
          ? o.env.KUBECONFIG.split(delimiter).filter(Boolean).map(expand)
          : [join(home, ".kube", "config")];
    if (files.some((f) => existsSync(f))) return undefined;
    return (
        `a kubeconfig for the existing cluster (target existing-cluster): none at ${files.join(", ")}; ` +
        "create the cluster first (e.g. kind create cluster --name gitops) or set existingCluster.kubeconfig"
    );
}

const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/**
 * The stack's flux.path must be an environment of deploy/ (a folder with a kustomization file,
 * such as ./clusters/dev): the root sync applies that folder of the bucket, and the bucket's
 * root is no environment (without a kustomization.yaml there, Flux would generate one applying
 * every manifest of every environment). Checked where the project has a deploy/ folder.
 */
export function fluxPathProblem(root: string, stackFile: string, fluxPath: string): string | undefined {
    const deploy = join(root, "deploy");
    if (!existsSync(deploy)) return undefined;
    const dir = resolve(deploy, fluxPath);
    if (KUSTOMIZATION_FILES.some((f) => existsSync(join(dir, f)))) return undefined;
    const clusters = join(deploy, "clusters");
    const envs = existsSync(clusters)
        ? readdirSync(clusters, { withFileTypes: true })
              .filter((e) => e.isDirectory() && KUSTOMIZATION_FILES.some((f) => existsSync(join(clusters, e.name, f))))
              .map((e) => `./clusters/${e.name}`)
              .sort()
        : [];
    return (
        `flux.path in ${stackFile} (${fluxPath}): deploy/${relative(deploy, dir) || "."} has no kustomization.yaml, so the stack's Flux would sync no environment; ` +
        `set flux.path to an environment's folder${envs.length > 0 ? ` (${envs.join(", ")})` : ""} (README: Adding an environment)`
    );
}

/** The missing prerequisites, each as `NAME: why`; empty when everything is there. */
export function preflight(o: PreflightOptions): string[] {
    const { env } = o;
    const missing: string[] = [];

    const [major] = process.versions.node.split(".").map(Number);
    if (major < 22) missing.push(`Node.js >= 22 (found ${process.versions.node})`);
    if (!onPath("pulumi", ["version"], env)) {
        missing.push("the pulumi CLI on PATH: https://www.pulumi.com/docs/iac/download-install/");
    }

    const projectFile = readYaml(join(o.root, "Pulumi.yaml"));
    const project =
        "value" in projectFile && typeof (projectFile.value as { name?: unknown })?.name === "string"
            ? (projectFile.value as { name: string }).name
            : "do-gitops-platform";
    const stackFile = `Pulumi.${o.stack}.yaml`;
    let secretsProvider: unknown;
    let target: Target = "digitalocean";
    let needsGitHub = false;
    if (!existsSync(join(o.root, stackFile))) {
        missing.push(`${stackFile}: the stack's config file (copy Pulumi.dev.yaml and edit it)`);
    } else {
        const read = readYaml(join(o.root, stackFile));
        if ("problem" in read) {
            missing.push(`${stackFile}: a valid YAML file (${read.problem})`);
        } else {
            const doc = (read.value ?? {}) as { config?: Record<string, unknown>; secretsprovider?: unknown };
            secretsProvider = doc.secretsprovider;
            const github = doc.config?.[`${project}:github`];
            target = doc.config?.[`${project}:target`] === "existing-cluster" ? "existing-cluster" : "digitalocean";
            needsGitHub = github !== undefined && github !== null;
            if (o.action === "bootstrap") {
                const flux = doc.config?.[`${project}:flux`] as { path?: unknown } | undefined;
                const problem = fluxPathProblem(o.root, stackFile, typeof flux?.path === "string" ? flux.path : "./");
                if (problem) missing.push(problem);
            }
            if (target === "existing-cluster") {
                const existing = doc.config?.[`${project}:existingCluster`] as { kubeconfig?: unknown } | undefined;
                const problem = kubeconfigProblem(
                    typeof existing?.kubeconfig === "string" ? existing.kubeconfig : undefined,
                    o,
                );
                if (problem) missing.push(problem);
            }
        }
    }
    // The credentials the program checks (infrastructure/credentials.ts), for the stack's target. A
    // destroy needs the same ones: it deletes the cluster, DNS record and Spaces keys
    // (DigitalOcean token), empties and deletes the bucket (Spaces key) and deletes the GitHub
    // webhook (GitHub token, only when github.repository is set).
    missing.push(...missingCredentials(env, needsGitHub, target));

    // Self-managed (file://, s3://, …) backends encrypt secrets with a passphrase unless the
    // stack file names another secrets provider; Pulumi Cloud (https://) manages them itself.
    const backend = backendUrl(o.root, env);
    const passphraseSecrets = secretsProvider === undefined || secretsProvider === "passphrase";
    if (
        !/^https?:\/\//.test(backend) &&
        passphraseSecrets &&
        !env.PULUMI_CONFIG_PASSPHRASE &&
        env.PULUMI_CONFIG_PASSPHRASE_FILE === undefined
    ) {
        missing.push(
            `PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): encrypts the stack's secrets in the self-managed state backend (${backend})`,
        );
    }
    return missing;
}
