// Environments: deploy/clusters/<env> folders composing the shared infrastructure/ and their own
// apps/<env> overlay of apps/base; every example stack's flux.path names one of them; the prod
// example stack carries the production settings. Everything is built with the pinned kustomize.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, describe, test } from "node:test";
import { parse } from "yaml";
import { main } from "../infrastructure/program";
import { fluxPathProblem, preflight } from "../tools/bootstrap/preflight";
import { MockRecorder, runOffline } from "../tools/mocks";
import { readStackConfig } from "../tools/render/stack-config";
import { findEnvironments } from "../tools/validate/environments";
import { ensureKustomize } from "../tools/validate/validate";
import { exampleStackEnv, exampleStacks } from "./harness";
import { kustomizeObjects } from "./kustomize-objects";

const REPO = path.resolve(__dirname, "..");
const DEPLOY = path.join(REPO, "deploy");

/** The pinned kustomize (ensureKustomize answers once per process): no top-level hook, so the file can share a test process. */
const kustomize = (): string => ensureKustomize();

const build = (dir: string) => kustomizeObjects(kustomize(), dir);

const yamlFile = (file: string): any => parse(readFileSync(file, "utf8"));
const stackFile = (stack: string): Record<string, any> =>
    yamlFile(path.join(REPO, `Pulumi.${stack}.yaml`)).config ?? {};

describe("every example stack syncs an environment of deploy/", () => {
    test("the environments are the folders of deploy/clusters/", async () => {
        const envs = await findEnvironments(DEPLOY);
        const folders = readdirSync(path.join(DEPLOY, "clusters")).map((n) => `clusters/${n}`);
        assert.deepEqual(
            envs.map((e) => path.relative(DEPLOY, e.dir)),
            folders.sort(),
        );
        assert.deepEqual(
            envs.filter((e) => e.name === "dev" || e.name === "prod").map((e) => e.name),
            ["dev", "prod"],
        );
    });

    for (const stack of exampleStacks()) {
        test(`Pulumi.${stack}.yaml: flux.path is a cluster folder of deploy/ (clusters/<env>)`, async () => {
            const p = stackFile(stack)["do-gitops-platform:flux"]?.path;
            assert.equal(typeof p, "string", "flux.path is set: the bucket's root is no environment");
            const dir = path.resolve(DEPLOY, p);
            assert.ok(statSync(dir).isDirectory(), `${p} is not a folder of deploy/`);
            const envs = (await findEnvironments(DEPLOY)).map((e) => e.dir);
            assert.ok(envs.includes(dir), `${p} is not one of ${envs.map((e) => path.relative(DEPLOY, e)).join(", ")}`);
        });
    }

    test("the dev and local stacks run dev, the prod stack runs prod", () => {
        assert.equal(stackFile("dev")["do-gitops-platform:flux"].path, "./clusters/dev");
        assert.equal(stackFile("local")["do-gitops-platform:flux"].path, "./clusters/dev");
        assert.equal(stackFile("prod")["do-gitops-platform:flux"].path, "./clusters/prod");
    });
});

describe("the prod environment differs from dev only by deltas", () => {
    test("clusters/dev and clusters/prod apply the same layers; only the apps layer's path differs", () => {
        const layers = (env: string) =>
            build(path.join(DEPLOY, "clusters", env)).map((o) =>
                o.metadata.name === "apps" ? { ...o, spec: { ...o.spec, path: "<apps overlay>" } } : o,
            );
        assert.deepEqual(layers("prod"), layers("dev"));
        for (const env of ["dev", "prod"]) {
            const apps = build(path.join(DEPLOY, "clusters", env)).find((o) => o.metadata.name === "apps");
            assert.equal(apps.spec.path, `./apps/${env}`);
        }
    });

    for (const env of ["dev", "prod"]) {
        test(`apps/${env}: each app is its apps/base folder plus patches; no object of its own`, () => {
            const top = yamlFile(path.join(DEPLOY, "apps", env, "kustomization.yaml"));
            assert.deepEqual(top.resources, ["podinfo"]);
            for (const app of top.resources as string[]) {
                const k = yamlFile(path.join(DEPLOY, "apps", env, app, "kustomization.yaml"));
                assert.deepEqual(k.resources, [`../../base/${app}`], `${env}/${app} builds on the base`);
                assert.ok(k.patches?.length > 0, `${env}/${app} has deltas`);
                const files = readdirSync(path.join(DEPLOY, "apps", env, app)).filter(
                    (f) => f !== "kustomization.yaml",
                );
                const patchFiles = (k.patches as { path?: string }[]).flatMap((p) => (p.path ? [p.path] : []));
                assert.deepEqual(files.sort(), patchFiles.sort(), "every other file is a patch");
            }
        });

        test(`apps/${env}/podinfo: every value a patch sets differs from the base's (a patch is a delta)`, () => {
            const base = build(path.join(DEPLOY, "apps/base/podinfo"));
            const dir = path.join(DEPLOY, "apps", env, "podinfo");
            const k = yamlFile(path.join(dir, "kustomization.yaml"));
            const same: string[] = [];
            let checked = 0;
            for (const p of k.patches as { path?: string; patch?: string; target?: { kind: string; name: string } }[]) {
                if (p.path) {
                    // strategic-merge patch: compare every leaf with the base object's value
                    const patch = yamlFile(path.join(dir, p.path));
                    const obj = base.find((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
                    assert.ok(obj, `${p.path} patches no object of the base`);
                    const walk = (value: unknown, baseValue: unknown, at: string) => {
                        if (value && typeof value === "object" && !Array.isArray(value)) {
                            for (const [key, v] of Object.entries(value))
                                walk(v, (baseValue as Record<string, unknown> | undefined)?.[key], `${at}.${key}`);
                            return;
                        }
                        checked++;
                        if (JSON.stringify(value) === JSON.stringify(baseValue)) same.push(`${p.path}: ${at}`);
                    };
                    walk(patch.spec, obj.spec, "spec");
                } else {
                    // JSON6902 patch: every add/replace sets another value than the base has
                    const obj = base.find((o) => o.kind === p.target!.kind && o.metadata.name === p.target!.name);
                    for (const op of parse(p.patch!) as { op: string; path: string; value?: unknown }[]) {
                        const at = op.path
                            .split("/")
                            .slice(1)
                            .reduce<any>((v, key) => v?.[key.replace(/~1/g, "/").replace(/~0/g, "~")], obj);
                        checked++;
                        if (JSON.stringify(at) === JSON.stringify(op.value)) same.push(`${op.op} ${op.path}`);
                    }
                }
            }
            assert.ok(checked > 0);
            assert.deepEqual(same, [], "these patches set what the base already has");
        });
    }

    test("the real deltas: prod runs podinfo with replicas, autoscaling and a disruption budget on its own host", () => {
        const release = (env: string) => build(path.join(DEPLOY, "apps", env)).find((o) => o.kind === "HelmRelease");
        const host = (env: string) =>
            build(path.join(DEPLOY, "apps", env)).find((o) => o.kind === "Ingress").spec.rules[0].host;
        const prod = release("prod").spec.values;
        const dev = release("dev").spec.values;
        assert.equal(prod.replicaCount, 2);
        assert.deepEqual(prod.hpa, { enabled: true, maxReplicas: 6, cpu: 80 });
        assert.deepEqual(prod.podDisruptionBudget, { maxUnavailable: 1 });
        assert.equal(dev.replicaCount, 1, "dev keeps the base's single replica");
        assert.equal(dev.hpa, undefined);
        assert.notEqual(host("dev"), host("prod"));
        assert.match(prod.ui.message, /^prod: /);
        assert.match(dev.ui.message, /^dev: /);
        // the chart version is pinned once, in the base: both environments run the same chart
        assert.equal(release("prod").spec.chart.spec.version, release("dev").spec.chart.spec.version);
    });
});

describe("Pulumi.prod.yaml: production settings", () => {
    let recorder: MockRecorder;
    before(async () => {
        const sc = readStackConfig(REPO, "prod");
        recorder = new MockRecorder();
        const run = await runOffline(
            { project: sc.project, stack: "prod", config: sc.config, secretKeys: sc.secretKeys, recorder },
            () => main({ env: exampleStackEnv("prod"), stackFile: path.join(REPO, "Pulumi.prod.yaml") }),
        );
        assert.equal(run.error, undefined, String(run.error));
    });

    test("an HA control plane and an autoscaling node pool", () => {
        const cluster = recorder.get("digitalocean:index/kubernetesCluster:KubernetesCluster", "doks-cluster").inputs;
        assert.equal(cluster.ha, true);
        const pool = cluster.nodePool as Record<string, unknown>;
        assert.equal(pool.autoScale, true);
        assert.ok((pool.minNodes as number) >= 2, "more than one node when the pool is smallest");
        assert.ok((pool.maxNodes as number) > (pool.minNodes as number));
        assert.equal(pool.nodeCount, undefined, "autoscale, not a fixed count");
    });

    test("Let's Encrypt production for the webhook's certificate", () => {
        const text = JSON.stringify(recorder.resources.map((r) => r.inputs));
        assert.match(text, /https:\/\/acme-v02\.api\.letsencrypt\.org\/directory/);
        assert.doesNotMatch(text, /acme-staging-v02/);
    });

    test("its own bucket, kept (not emptied) on destroy and versioned", () => {
        const bucket = recorder.get("digitalocean:index/spacesBucket:SpacesBucket", "gitops-bucket").inputs;
        const name = stackFile("prod")["do-gitops-platform:bucket"].name;
        assert.equal(bucket.name, name);
        for (const other of exampleStacks().filter((s) => s !== "prod"))
            assert.notEqual(stackFile(other)["do-gitops-platform:bucket"]?.name, name, `shared with ${other}`);
        assert.equal(bucket.forceDestroy, false);
        assert.deepEqual(bucket.versioning, { enabled: true });
    });

    test("Flux syncs the prod environment", () => {
        const fi = recorder.kubeObject("FluxInstance", "flux");
        assert.equal(fi.spec.sync.path, "./clusters/prod");
    });
});

describe("make bootstrap: flux.path must be an environment of deploy/", () => {
    test("every example stack's flux.path passes; the bucket's root or a missing folder is named, with the environments", () => {
        for (const stack of exampleStacks()) {
            const p = stackFile(stack)["do-gitops-platform:flux"].path;
            assert.equal(fluxPathProblem(REPO, `Pulumi.${stack}.yaml`, p), undefined, stack);
        }
        for (const wrong of ["./", "./clusters/staging"]) {
            assert.match(
                fluxPathProblem(REPO, "Pulumi.x.yaml", wrong) ?? "",
                /^flux\.path in Pulumi\.x\.yaml \(.*\): deploy\/.* has no kustomization\.yaml, .*\(\.\/clusters\/dev, \.\/clusters\/prod\)/,
                wrong,
            );
        }
    });

    test("make bootstrap's prerequisites name a stack without flux.path (the bucket's root), and not one with an environment", () => {
        const dir = mkdtempSync(path.join(tmpdir(), "flux-path-"));
        try {
            writeFileSync(path.join(dir, "Pulumi.yaml"), "name: do-gitops-platform\nruntime: nodejs\n");
            symlinkSync(DEPLOY, path.join(dir, "deploy"));
            writeFileSync(
                path.join(dir, "Pulumi.a.yaml"),
                "config:\n  do-gitops-platform:cluster:\n    region: fra1\n",
            );
            writeFileSync(
                path.join(dir, "Pulumi.b.yaml"),
                "config:\n  do-gitops-platform:flux:\n    path: ./clusters/prod\n",
            );
            const run = (stack: string, action: "bootstrap" | "destroy" = "bootstrap") =>
                preflight({ action, root: dir, stack, env: { PATH: "/nonexistent", HOME: dir } }).filter((m) =>
                    m.startsWith("flux.path"),
                );
            assert.equal(run("a").length, 1);
            assert.match(
                run("a")[0]!,
                /^flux\.path in Pulumi\.a\.yaml \(\.\/\): deploy\/\. has no kustomization\.yaml/,
            );
            assert.deepEqual(run("b"), []);
            assert.deepEqual(run("a", "destroy"), [], "a destroy syncs nothing");
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
