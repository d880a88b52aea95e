/**
 * Flux image automation (issue 12 §2): off by default; when on, the FluxInstance adds the two
 * image controllers, the deploy key may push, and each image gets an ImageRepository and an
 * ImagePolicy, with one ImageUpdateAutomation committing to the GitHub source. Refused without
 * the GitHub source.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ConfigError } from "../infrastructure/config";
import { validateObject } from "../tools/validate/validate";
import { baseConfig, MockRecorder, reveal, runStack, type StackRun } from "./harness";

const DEPLOY_KEY = "github:index/repositoryDeployKey:RepositoryDeployKey";
const IMAGE_CONTROLLERS = ["image-reflector-controller", "image-automation-controller"];

function config(extra: Record<string, unknown> = {}) {
    const cfg = baseConfig();
    cfg.github = { repository: "acme/platform", branch: "trunk", path: "./clusters/dev" };
    cfg.receivers = [{ name: "hub", type: "dockerhub" }];
    cfg.imageAutomation = {
        enabled: true,
        interval: "3m",
        author: { name: "Flux Bot", email: "flux@example.com" },
        images: [
            { name: "podinfo", image: "ghcr.io/stefanprodan/podinfo", semver: ">=6.0.0 <7.0.0" },
            {
                name: "app",
                image: "docker.io/acme/app",
                pattern: "^main-[a-f0-9]+-(?P<ts>[0-9]+)$",
                extract: "$ts",
                receiver: "hub",
            },
        ],
        ...extra,
    };
    return cfg;
}

describe("image automation off (the default)", () => {
    it("no image controllers, no image objects, and a read-only deploy key", async () => {
        const recorder = new MockRecorder();
        const cfg = baseConfig();
        cfg.github = { repository: "acme/platform" };
        const run = await runStack(cfg, { recorder });
        if (run.error) throw run.error;
        const components = recorder.kubeObject("FluxInstance", "flux").spec.components as string[];
        for (const c of IMAGE_CONTROLLERS) assert.equal(components.includes(c), false);
        assert.equal(recorder.kube("ImageRepository").length + recorder.kube("ImageUpdateAutomation").length, 0);
        assert.equal(reveal<any>(recorder.get(DEPLOY_KEY, "github-source-deploy-key").inputs).readOnly, true);
    });
});

describe("image automation on", () => {
    let run: StackRun;
    let recorder: MockRecorder;
    before(async () => {
        recorder = new MockRecorder();
        run = await runStack(config(), { recorder });
        if (run.error) throw run.error;
    });

    it("the FluxInstance installs both image controllers", () => {
        const components = recorder.kubeObject("FluxInstance", "flux").spec.components as string[];
        for (const c of IMAGE_CONTROLLERS) assert.ok(components.includes(c), c);
    });

    it("the deploy key has write access", () => {
        assert.equal(reveal<any>(recorder.get(DEPLOY_KEY, "github-source-deploy-key").inputs).readOnly, false);
    });

    it("an ImageRepository and a semver ImagePolicy for podinfo", () => {
        const repo = recorder.kubeObject("ImageRepository", "podinfo");
        assert.equal(repo.apiVersion, "image.toolkit.fluxcd.io/v1");
        assert.deepEqual(repo.spec, { image: "ghcr.io/stefanprodan/podinfo", interval: "3m" });
        const policy = recorder.kubeObject("ImagePolicy", "podinfo");
        assert.deepEqual(policy.spec, {
            imageRepositoryRef: { name: "podinfo" },
            policy: { semver: { range: ">=6.0.0 <7.0.0" } },
        });
    });

    it("a tag pattern with extraction orders by the extracted number; the receiver's label selects the ImageRepository", () => {
        const policy = recorder.kubeObject("ImagePolicy", "app");
        assert.deepEqual(policy.spec.filterTags, { pattern: "^main-[a-f0-9]+-(?P<ts>[0-9]+)$", extract: "$ts" });
        assert.deepEqual(policy.spec.policy, { numerical: { order: "asc" } });
        const repo = recorder.kubeObject("ImageRepository", "app");
        const receiver = recorder.kubeObject("Receiver", "hub");
        const selected = (receiver.spec.resources as any[]).some(
            (r) =>
                r.kind === repo.kind &&
                r.apiVersion === repo.apiVersion &&
                r.name === "*" &&
                Object.entries(r.matchLabels ?? {}).every(([k, v]) => repo.metadata.labels?.[k] === v),
        );
        assert.ok(selected);
    });

    it("one ImageUpdateAutomation commits to the GitHub source's branch under its path, as the configured author", () => {
        const autos = recorder.kube("ImageUpdateAutomation");
        assert.equal(autos.length, 1);
        const a = recorder.kubeObject("ImageUpdateAutomation", "github");
        assert.deepEqual(a.spec.sourceRef, { kind: "GitRepository", name: "github" });
        assert.deepEqual(a.spec.git.checkout, { ref: { branch: "trunk" } });
        assert.deepEqual(a.spec.git.push, { branch: "trunk" });
        assert.deepEqual(a.spec.git.commit.author, { name: "Flux Bot", email: "flux@example.com" });
        assert.match(a.spec.git.commit.messageTemplate, /\{\{ \.AutomationObject \}\}/);
        assert.deepEqual(a.spec.update, { path: "./clusters/dev", strategy: "Setters" });
        assert.equal(recorder.kubeObject("GitRepository", "github").spec.ref.branch, "trunk");
    });

    it("every image object passes the image.toolkit.fluxcd.io/v1 schema", async () => {
        const objects = ["ImageRepository", "ImagePolicy", "ImageUpdateAutomation"].flatMap((k) =>
            recorder.kube(k).map((r) => reveal<any>(r.inputs)),
        );
        assert.equal(objects.length, 5);
        for (const o of objects) assert.deepEqual(await validateObject(o), [], `${o.kind} ${o.metadata.name}`);
        // the validator can fail
        const broken = structuredClone(objects.find((o) => o.kind === "ImagePolicy"));
        broken.spec.policy = { semver: {} };
        assert.ok((await validateObject(broken)).length > 0);
    });

    it("the markers are a stack output", () => {
        assert.deepEqual(run.outputs?.imagePolicyMarkers, {
            podinfo: '# {"$imagepolicy": "flux-system:podinfo"}',
            app: '# {"$imagepolicy": "flux-system:app"}',
        });
    });
});

describe("image automation configuration", () => {
    it("is refused without the GitHub source (it writes to Git, never to the bucket)", async () => {
        const cfg = config();
        delete cfg.github;
        const run = await runStack(cfg);
        assert.ok(run.error instanceof ConfigError, String(run.error));
        assert.match(
            run.error.problems.join("\n"),
            /imageAutomation\.enabled: .*needs the GitHub source \(github\.repository\)/,
        );
    });

    it("names every bad image at once", async () => {
        const cfg = config({
            images: [
                { name: "a", image: "ghcr.io/x/a", semver: "^1", pattern: "^v" },
                { name: "b", image: "ghcr.io/x/b" },
                { name: "c", image: "ghcr.io/x/c:1.0", semver: "^1", extract: "$ts" },
                { name: "a", image: "ghcr.io/x/d", pattern: "(", receiver: "hubb" },
            ],
        });
        const run = await runStack(cfg);
        assert.ok(run.error instanceof ConfigError, String(run.error));
        const text = run.error.problems.join("\n");
        assert.match(text, /images\[0\]: set either semver .* not both/);
        assert.match(text, /images\[1\]: set either semver .* not neither/);
        assert.match(text, /images\[2\]\.image: must be an image name without tag/);
        assert.match(text, /images\[2\]\.extract: only with pattern/);
        assert.match(text, /images\[3\]\.name: duplicate name a/);
        assert.match(text, /images\[3\]\.pattern: not a valid regular expression/);
        assert.match(text, /images\[3\]\.receiver: no receivers entry named hubb; did you mean hub\?/);
    });

    it("refuses images while it is off", async () => {
        const cfg = config({ enabled: false });
        const run = await runStack(cfg);
        assert.ok(run.error instanceof ConfigError, String(run.error));
        assert.match(
            run.error.problems.join("\n"),
            /imageAutomation\.images: listed, but imageAutomation\.enabled is not true/,
        );
    });
});
