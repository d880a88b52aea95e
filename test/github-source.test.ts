/**
 * The GitHub repository as a Flux source (issue 12 §1): deploy key, Secret with GitHub's pinned
 * host keys, a GitRepository the github Receiver selects, a Kustomization with the root sync's
 * settings, and the commit-status Provider and Alert.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import { parse } from "yaml";
import {
    GITHUB_KNOWN_HOSTS,
    GITHUB_SSH_HOST_KEYS,
    GitHubSource,
    type GitHubSourceArgs,
} from "../components/github-source";
import { ConfigError } from "../infrastructure/config";
import {
    baseConfig,
    isSecretOutput,
    MockRecorder,
    redact,
    reveal,
    runComponent,
    runStack,
    type StackRun,
} from "./harness";

const DEPLOY_KEY = "github:index/repositoryDeployKey:RepositoryDeployKey";
const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";

/**
 * GitHub's published SSH host key fingerprints (docs.github.com, "GitHub's SSH key fingerprints"),
 * typed in from that page: the pinned keys must hash to exactly these.
 */
const PUBLISHED_FINGERPRINTS = {
    "ssh-rsa": "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
    "ecdsa-sha2-nistp256": "SHA256:p2QAMXNIC1TJYWeIOttrVc98/R1BUFWu3/LiyKgUfQM",
    "ssh-ed25519": "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU",
};

function githubConfig(extra: Record<string, unknown> = {}) {
    const cfg = baseConfig();
    cfg.github = { repository: "acme/platform", ...extra };
    cfg.flux = { interval: "7m", retryInterval: "3m", timeout: "4m", wait: false, sourceInterval: "45s" };
    return cfg;
}

describe("GitHub's SSH host keys", () => {
    it("each pinned key hashes to the fingerprint GitHub publishes", () => {
        const seen: Record<string, string> = {};
        for (const line of GITHUB_SSH_HOST_KEYS) {
            const [type, blob] = line.split(" ");
            // The key blob starts with its own type as an SSH string: the line cannot mislabel it.
            const raw = Buffer.from(blob, "base64");
            assert.equal(raw.subarray(4, 4 + raw.readUInt32BE(0)).toString(), type);
            seen[type] = `SHA256:${createHash("sha256").update(raw).digest("base64").replace(/=+$/, "")}`;
        }
        assert.deepEqual(seen, PUBLISHED_FINGERPRINTS);
    });

    it("known_hosts names github.com for every key, one per line", () => {
        const lines = GITHUB_KNOWN_HOSTS.trimEnd().split("\n");
        assert.equal(lines.length, 3);
        for (const l of lines)
            assert.match(l, /^github\.com (ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/=]+$/);
    });
});

describe("the GitHub source in the program", () => {
    let run: StackRun;
    let recorder: MockRecorder;
    before(async () => {
        recorder = new MockRecorder();
        run = await runStack(githubConfig({ branch: "release", path: "./clusters/dev", statusToken: "ghs_status" }), {
            secretKeys: ["github"],
            recorder,
        });
        if (run.error) throw run.error;
    });

    it("the GitRepository is selected by the github Receiver", () => {
        const repo = recorder.kubeObject("GitRepository", "github");
        const receiver = recorder.kubeObject("Receiver", "github");
        assert.equal(repo.apiVersion, "source.toolkit.fluxcd.io/v1");
        assert.equal(receiver.metadata.namespace, repo.metadata.namespace);
        // notification-controller: a resource with name "*" selects the objects of its kind and
        // apiVersion in the Receiver's namespace whose labels include matchLabels.
        const selected = (receiver.spec.resources as any[]).some(
            (r) =>
                r.kind === repo.kind &&
                r.apiVersion === repo.apiVersion &&
                (r.namespace ?? receiver.metadata.namespace) === repo.metadata.namespace &&
                (r.name === repo.metadata.name ||
                    (r.name === "*" &&
                        Object.entries(r.matchLabels ?? {}).every(([k, v]) => repo.metadata.labels?.[k] === v))),
        );
        assert.ok(selected, JSON.stringify({ resources: receiver.spec.resources, labels: repo.metadata.labels }));
    });

    it("the GitRepository clones the repository over SSH at the configured branch with the deploy key Secret", () => {
        const repo = recorder.kubeObject("GitRepository", "github");
        assert.equal(repo.spec.url, "ssh://git@github.com/acme/platform");
        assert.deepEqual(repo.spec.ref, { branch: "release" });
        assert.equal(repo.spec.interval, "45s");
        const secret = recorder.kubeObject("Secret", repo.spec.secretRef.name);
        assert.equal(secret.metadata.namespace, repo.metadata.namespace);
        assert.deepEqual(Object.keys(secret.stringData).sort(), ["identity", "identity.pub", "known_hosts"]);
        assert.equal(secret.stringData.known_hosts, GITHUB_KNOWN_HOSTS);
    });

    it("the deploy key is read-only, and its public key is the one the Secret's identity derives", () => {
        const deployKey = reveal<any>(recorder.get(DEPLOY_KEY, "github-source-deploy-key").inputs);
        assert.equal(deployKey.readOnly, true);
        assert.equal(deployKey.repository, "platform");
        const secret = recorder.kubeObject("Secret", "github-deploy-key");
        const dir = mkdtempSync(path.join(tmpdir(), "deploy-key-"));
        try {
            const file = path.join(dir, "identity");
            writeFileSync(file, secret.stringData.identity, { mode: 0o600 });
            // ssh-keygen reads the OpenSSH private key Flux gets and prints its public half.
            const derived = execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }).trim();
            assert.equal(derived.split(" ").slice(0, 2).join(" "), deployKey.key);
            assert.equal(secret.stringData["identity.pub"], deployKey.key);
            assert.match(deployKey.key, /^ssh-ed25519 /);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the Kustomization applies the configured path of the GitRepository with every setting the root sync gets", () => {
        const k = recorder.kubeObject("Kustomization", "github");
        assert.equal(k.apiVersion, "kustomize.toolkit.fluxcd.io/v1");
        assert.deepEqual(k.spec.sourceRef, { kind: "GitRepository", name: "github" });
        assert.equal(k.spec.path, "./clusters/dev");
        // The root Kustomization's settings are the FluxInstance's patches to the generated object:
        // each one must be on the github Kustomization with the same value.
        const instance = recorder.kubeObject("FluxInstance", "flux");
        const patch = (instance.spec.kustomize.patches as any[]).find((p) => p.target.kind === "Kustomization");
        const ops = parse(patch.patch) as { op: string; path: string; value: unknown }[];
        const fields = ops.filter((o) => /^\/spec\/[^/]+$/.test(o.path));
        assert.ok(fields.length >= 5, "interval, retryInterval, timeout, wait, prune at least");
        for (const o of fields) assert.deepEqual(k.spec[o.path.slice("/spec/".length)], o.value, o.path);
        assert.equal(k.spec.interval, "7m");
        assert.equal(k.spec.wait, false);
        assert.equal(k.spec.prune, true);
    });

    it("a commit-status Provider with the token in its Secret, and an Alert on the github Kustomization", () => {
        const provider = recorder.kubeObject("Provider", "github-status");
        assert.equal(provider.spec.type, "github");
        assert.equal(provider.spec.address, "https://github.com/acme/platform");
        const secret = recorder.kubeObject("Secret", provider.spec.secretRef.name);
        assert.equal(secret.stringData.token, "ghs_status");
        const alert = recorder.kubeObject("Alert", "github-status");
        assert.deepEqual(alert.spec.providerRef, { name: "github-status" });
        assert.deepEqual(alert.spec.eventSources, [
            { kind: "Kustomization", name: "github", namespace: "flux-system" },
        ]);
        assert.equal(alert.spec.eventSeverity, "info");
    });

    it("neither the private key nor the status token appears in plaintext", async () => {
        const key = reveal<any>(recorder.get(PRIVATE_KEY, "github-source-key").state).privateKeyOpenssh;
        assert.ok(recorder.generatedSecrets.includes(key));
        const everything = JSON.stringify(recorder.resources.map((r) => redact(r.inputs)));
        assert.equal(everything.includes(key.split("\n")[1]), false);
        assert.equal(everything.includes("ghs_status"), false);
        assert.equal(JSON.stringify(run.outputs).includes("ghs_status"), false);
        assert.equal(await isSecretOutput((run.rawOutputs as any).githubDeployKey), false, "a public key");
        assert.match(String(run.outputs?.githubDeployKey), /^ssh-ed25519 /);
    });
});

describe("GitHub source configuration", () => {
    it("without statusToken there is no commit-status Provider", async () => {
        const recorder = new MockRecorder();
        const run = await runStack(githubConfig(), { recorder });
        if (run.error) throw run.error;
        assert.throws(() => recorder.kubeObject("Provider", "github-status"), /no Provider named github-status/);
        const repo = recorder.kubeObject("GitRepository", "github");
        assert.deepEqual(repo.spec.ref, { branch: "main" });
        assert.equal(recorder.kubeObject("Kustomization", "github").spec.path, "./");
    });

    it("refuses a plaintext status token, a bad branch or path, and a notification named github-status, all at once", async () => {
        const cfg = githubConfig({ branch: "-x", path: "../up", statusToken: "ghs_plain" });
        cfg.notifications = [{ name: "github-status", type: "generic", address: "https://hooks.example.com/x" }];
        const run = await runStack(cfg);
        assert.ok(run.error instanceof ConfigError, String(run.error));
        const text = run.error.problems.join("\n");
        assert.match(text, /github\.statusToken: must be stored as a secret/);
        assert.match(text, /github\.branch: must be a branch name/);
        assert.match(text, /github\.path: must stay inside the repository/);
        assert.match(text, /notifications\[0\]\.name: github-status is the commit-status Provider/);
        assert.equal(text.includes("ghs_plain"), false);
    });
});

describe("GitHubSource on its own: the documented defaults", () => {
    const GIT_REPOSITORY = "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository";
    const KUSTOMIZATION = "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization";
    const SECRET = "kubernetes:core/v1:Secret";

    async function renderSource(args: Partial<GitHubSourceArgs> = {}) {
        return runComponent(() => {
            const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
            const crds = new k8s.core.v1.ConfigMap("crds", { metadata: { name: "crds" } }, { provider });
            const source = new GitHubSource(
                "gh",
                { repository: "acme/platform", namespace: "flux-system", ...args },
                { provider },
            );
            return { source, crds };
        });
    }

    it("read-only key titled flux-<namespace>, selected by the github Receiver, an Opaque Secret, no extra waits", async () => {
        const { recorder } = await renderSource();
        const key = reveal<any>(recorder.get(DEPLOY_KEY, "gh-deploy-key").inputs);
        assert.equal(key.readOnly, true);
        assert.equal(key.title, "flux-flux-system");
        const repo = recorder.kubeObject("GitRepository", "github");
        assert.equal(repo.metadata.labels["gitops.platform/receiver"], "github");
        // source-controller reads identity/known_hosts from a generic (Opaque) Secret
        assert.equal(recorder.kubeObject("Secret", "github-deploy-key").type, "Opaque");
        assert.deepEqual(recorder.dependsOn(SECRET, "gh-secret"), []);
        assert.deepEqual(recorder.dependsOn(GIT_REPOSITORY, "gh-source").sort(), [
            `${DEPLOY_KEY}::gh-deploy-key`,
            `${SECRET}::gh-secret`,
        ]);
        assert.deepEqual(recorder.dependsOn(KUSTOMIZATION, "gh-kustomization"), [`${GIT_REPOSITORY}::gh-source`]);
    });

    it("writeAccess, a title, a receiver and dependsOn given: each reaches its object", async () => {
        const run = await runComponent(() => {
            const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
            const crds = new k8s.core.v1.ConfigMap("crds", { metadata: { name: "crds" } }, { provider });
            return new GitHubSource(
                "gh",
                {
                    repository: "acme/platform",
                    namespace: "flux-system",
                    writeAccess: true,
                    deployKeyTitle: "image automation",
                    receiverName: "push",
                    dependsOn: [crds],
                },
                { provider },
            );
        });
        const { recorder } = run;
        const key = reveal<any>(recorder.get(DEPLOY_KEY, "gh-deploy-key").inputs);
        assert.equal(key.readOnly, false);
        assert.equal(key.title, "image automation");
        assert.equal(
            recorder.kubeObject("GitRepository", "github").metadata.labels["gitops.platform/receiver"],
            "push",
        );
        const crds = "kubernetes:core/v1:ConfigMap::crds";
        assert.ok(recorder.dependsOn(SECRET, "gh-secret").includes(crds));
        assert.ok(recorder.dependsOn(GIT_REPOSITORY, "gh-source").includes(crds));
        assert.ok(recorder.dependsOn(KUSTOMIZATION, "gh-kustomization").includes(crds));
    });
});
