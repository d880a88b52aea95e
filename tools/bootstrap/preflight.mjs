#!/usr/bin/env node
// Prerequisite check for `make bootstrap` / `make destroy`. Runs before `npm ci`, so it uses
// nothing but Node's standard library. Names every missing prerequisite at once; exit 1 if any.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";

const action = process.argv[2] ?? "bootstrap";
const stack = process.env.STACK || "dev";
const env = process.env;
const missing = [];

const [major] = process.versions.node.split(".").map(Number);
if (major < 22) missing.push(`Node.js >= 22 (found ${process.versions.node})`);

const onPath = (cmd, args) => {
    const r = spawnSync(cmd, args, { stdio: "ignore" });
    return !r.error && r.status === 0;
};
if (!onPath("npm", ["--version"])) missing.push("npm on PATH (it comes with Node.js)");
if (!onPath("pulumi", ["version"])) {
    missing.push("the pulumi CLI on PATH: https://www.pulumi.com/docs/iac/download-install/");
}

const stackFile = `Pulumi.${stack}.yaml`;
const stackText = existsSync(stackFile) ? readFileSync(stackFile, "utf8") : "";
// Only what the stack's target needs: the existing-cluster target needs a kubeconfig, not cloud credentials.
const existingCluster = /^\s*[A-Za-z0-9_-]+:target:\s*["']?existing-cluster["']?\s*(#.*)?$/m.test(stackText);
if (existingCluster) {
    // existingCluster.kubeconfig when the stack file sets it, else $KUBECONFIG, else ~/.kube/config (as kubectl).
    const configured = /^\s+kubeconfig:\s*["']?([^"'#\s]+)/m.exec(stackText)?.[1];
    const home = env.HOME || homedir();
    const expand = (p) => (p.startsWith("~/") ? join(home, p.slice(2)) : p);
    const files = configured
        ? [expand(configured)]
        : env.KUBECONFIG
          ? env.KUBECONFIG.split(delimiter).filter(Boolean)
          : [join(home, ".kube", "config")];
    if (!files.some((f) => existsSync(f))) {
        missing.push(
            `a kubeconfig for the existing cluster (target existing-cluster): none at ${files.join(", ")}; ` +
                "create the cluster first (e.g. kind create cluster --name gitops) or set existingCluster.kubeconfig",
        );
    }
} else {
    if (!env.DIGITALOCEAN_TOKEN && !env.DIGITALOCEAN_ACCESS_TOKEN) {
        missing.push("DIGITALOCEAN_TOKEN: a DigitalOcean API token (read/write)");
    }
    if (!env.SPACES_ACCESS_KEY_ID)
        missing.push("SPACES_ACCESS_KEY_ID: a Spaces access key (the provider creates the bucket with it)");
    if (!env.SPACES_SECRET_ACCESS_KEY) missing.push("SPACES_SECRET_ACCESS_KEY: the secret of that Spaces access key");
}

if (!existsSync(stackFile)) {
    missing.push(`${stackFile}: the stack's config file (copy Pulumi.dev.yaml and edit it)`);
} else if (/^\s*[A-Za-z0-9_-]+:github:\s*$/m.test(stackText) && !env.GITHUB_TOKEN) {
    missing.push("GITHUB_TOKEN: a GitHub token allowed to manage the repository's webhooks (github.repository is set)");
}

if (!env.PULUMI_BACKEND_URL && !env.PULUMI_CONFIG_PASSPHRASE && env.PULUMI_CONFIG_PASSPHRASE_FILE === undefined) {
    missing.push(
        "PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): encrypts secrets in the local state backend " +
            "(.pulumi-state/), used because PULUMI_BACKEND_URL is not set",
    );
}

if (missing.length > 0) {
    console.error(`make ${action}: missing prerequisites for stack ${stack}:`);
    for (const m of missing) console.error(`  - ${m}`);
    process.exit(1);
}
