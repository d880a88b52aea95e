// The GitOps tree as Flux applies it: layers in order, the stack's values substituted, and a
// CRD plus its first object in one upload. Everything is built with the pinned kustomize.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import * as jsonpatch from "fast-json-patch";
import { parse, parseAllDocuments, stringify } from "yaml";
import { FLUX_SYNC_NAME, PLATFORM_SETTINGS_NAME, PLATFORM_VARIABLES } from "../components/flux/settings";
import { substituteText } from "../components/flux/substitute";
import { SOPS_AGE_SECRET } from "../components/flux/sync";
import { versions } from "../components/versions";
import { ancestors, findLayers } from "../tools/validate/flux-tree";
import { ensureKustomize, formatProblem, validateDeploy } from "../tools/validate/validate";
import { baseConfig, reveal, runStack } from "./harness";
import { cachedKustomizeBuild, kustomizeObjects } from "./kustomize-objects";

const REPO = path.resolve(__dirname, "..");
const DEPLOY = path.join(REPO, "deploy");
const FIXTURE = path.join(__dirname, "fixtures", "crd-and-first-object");
/** The environments of the tree: deploy/clusters/<name>. */
const ENVIRONMENTS = readdirSync(path.join(DEPLOY, "clusters")).sort();

/** The pinned kustomize (ensureKustomize answers once per process): no top-level hook, so the file can share a test process. */
const kustomize = (): string => ensureKustomize();

const build = (dir: string) => kustomizeObjects(kustomize(), dir);

/** Flux's post-build substitution of one object; fails the test on a variable the values lack. */
function substitute(obj: any, vars: Record<string, string>): any {
    const { text, missing } = substituteText(stringify(obj), vars);
    assert.deepEqual(missing, [], `${obj.kind} ${obj.metadata?.name} uses variables the stack does not set`);
    return parse(text);
}

/** Copies deploy/ and adds the fixture's files; each new folder is listed in its parent's kustomization. */
function treeWithFixture(move?: { from: string; to: string }): string {
    const dir = mkdtempSync(path.join(tmpdir(), "tree-"));
    cpSync(DEPLOY, dir, { recursive: true });
    cpSync(FIXTURE, dir, { recursive: true, filter: (src) => !src.endsWith("README.md") });
    const list = (kustomization: string, entry: string) => {
        const file = path.join(dir, kustomization, "kustomization.yaml");
        const k = parse(readFileSync(file, "utf8"));
        k.resources = [...(k.resources ?? []), entry];
        writeFileSync(file, stringify(k));
    };
    list("infrastructure/controllers", "widgets-crd.yaml");
    for (const env of ENVIRONMENTS) list(`apps/${env}`, "../base/widgets");
    if (move) {
        // move the CRD to another layer
        cpSync(
            path.join(dir, "infrastructure/controllers/widgets-crd.yaml"),
            path.join(dir, move.to, "widgets-crd.yaml"),
        );
        const from = path.join(dir, "infrastructure/controllers/kustomization.yaml");
        const k = parse(readFileSync(from, "utf8"));
        k.resources = k.resources.filter((r: string) => r !== "widgets-crd.yaml");
        writeFileSync(from, stringify(k));
        list(move.to, "widgets-crd.yaml");
    }
    return dir;
}

describe("deploy/: every environment applies the layers in order from the stack's bucket", () => {
    const vars = Object.fromEntries(Object.entries(PLATFORM_VARIABLES).map(([k, v]) => [k, v.example]));

    test("the environments include dev and prod", () => {
        for (const env of ["dev", "prod"]) assert.ok(ENVIRONMENTS.includes(env), env);
    });

    for (const env of ENVIRONMENTS) {
        test(`clusters/${env} applies only the layers infra-controllers → infra-configs → apps (kustomize.toolkit.fluxcd.io/v1)`, () => {
            const clusterDir = path.join(DEPLOY, "clusters", env);
            const root = build(clusterDir).map((o) => substitute(o, vars));
            assert.deepEqual(
                root.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace}/${o.metadata.name}`).sort(),
                ["apps", "infra-configs", "infra-controllers"].map(
                    (n) => `kustomize.toolkit.fluxcd.io/v1 Kustomization flux-system/${n}`,
                ),
            );
            const byName = Object.fromEntries(root.map((o) => [o.metadata.name, o.spec]));
            assert.deepEqual(byName["infra-controllers"].dependsOn, undefined);
            assert.deepEqual(byName["infra-configs"].dependsOn, [{ name: "infra-controllers" }]);
            assert.deepEqual(byName.apps.dependsOn, [{ name: "infra-configs" }]);
            // paths are relative to the bucket's root, where the whole tree is
            assert.equal(byName["infra-controllers"].path, "./infrastructure/controllers");
            assert.equal(byName["infra-configs"].path, "./infrastructure/configs");
            assert.equal(byName.apps.path, `./apps/${env}`, "the environment's own apps overlay");
            for (const [name, spec] of Object.entries<any>(byName)) {
                // the Bucket the Flux Operator generates is named after sync.name (flux-operator v0.58 sync template)
                assert.deepEqual(spec.sourceRef, { kind: "Bucket", name: FLUX_SYNC_NAME }, name);
                assert.equal(spec.wait, true, `${name} waits for health, so Ready means healthy`);
                assert.equal(spec.prune, true, name);
                assert.deepEqual(spec.postBuild.substituteFrom, [{ kind: "ConfigMap", name: PLATFORM_SETTINGS_NAME }]);
                // SOPS-encrypted Secrets are decrypted with the stack's age key (the Secret the stack creates)
                assert.deepEqual(
                    spec.decryption,
                    { provider: "sops", secretRef: { name: SOPS_AGE_SECRET.name } },
                    name,
                );
                // every layer's path is a folder of the tree that builds
                assert.ok(build(path.join(DEPLOY, spec.path)).length > 0 || name === "infra-controllers", name);
            }
            const { layers } = findLayers(root, {
                root: DEPLOY,
                fluxNamespace: "flux-system",
                syncName: FLUX_SYNC_NAME,
            });
            assert.deepEqual([...ancestors(layers, "flux-system/apps")].sort(), [
                "flux-system/infra-configs",
                "flux-system/infra-controllers",
            ]);
        });
    }

    test("make validate builds with the kustomize release kustomize-controller v1.9.4 is built with (v5.8.1)", () => {
        // kustomize-controller v1.9.4 go.mod: sigs.k8s.io/kustomize/api v0.21.1 ("Pin kustomize to v5.8.1")
        assert.equal(versions.kustomize.module, "sigs.k8s.io/kustomize/kustomize/v5");
        assert.equal(versions.kustomize.version, "v5.8.1");
        assert.equal(execFileSync(kustomize(), ["version"], { encoding: "utf8" }).trim(), versions.kustomize.version);
        // the Go build info names the kustomize API module kustomize-controller uses
        const go = existsSync("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : "go"; // as ensure-kustomize.sh
        const info = execFileSync(go, ["version", "-m", kustomize()], { encoding: "utf8" });
        assert.match(info, /\bdep\s+sigs\.k8s\.io\/kustomize\/api\s+v0\.21\.1\b/);
    });
});

describe("the stack's values reach the tree (another Flux namespace)", () => {
    let run: Awaited<ReturnType<typeof runStack>>;
    before(async () => {
        run = await runStack({
            ...baseConfig(),
            cluster: { ...baseConfig().cluster, name: "blue" },
            flux: { namespace: "gitops" },
        });
        assert.equal(run.error, undefined);
    });

    /** The root Kustomization as flux-operator generates it, with the FluxInstance's patches applied. */
    function rootKustomization(): any {
        const fi = run.recorder.kubeObject("FluxInstance", "flux");
        let k: any = {
            apiVersion: "kustomize.toolkit.fluxcd.io/v1",
            kind: "Kustomization",
            metadata: { name: fi.spec.sync.name, namespace: fi.metadata.namespace },
            spec: {
                interval: "10m0s",
                path: fi.spec.sync.path,
                prune: true,
                sourceRef: { kind: "Bucket", name: fi.spec.sync.name },
            },
        };
        for (const p of fi.spec.kustomize.patches) {
            if (p.target.kind === "Kustomization" && p.target.name === k.metadata.name) {
                k = jsonpatch.applyPatch(k, JSON.parse(p.patch), true, false).newDocument;
            }
        }
        return k;
    }

    test("the root Kustomization substitutes them, and the platform-settings ConfigMap holds the same", () => {
        const root = rootKustomization();
        assert.deepEqual(root.spec.postBuild.substitute, {
            flux_namespace: "gitops",
            cluster_name: "blue",
            cluster_region: "fra1",
            quote: '"',
        });
        assert.deepEqual(Object.keys(root.spec.postBuild.substitute).sort(), Object.keys(PLATFORM_VARIABLES).sort());
        const cm = run.recorder.kubeObject("ConfigMap", PLATFORM_SETTINGS_NAME);
        assert.equal(cm.metadata.namespace, "gitops");
        assert.deepEqual(cm.data, {
            flux_namespace: "gitops",
            cluster_name: "blue",
            cluster_region: "fra1",
            quote: '"',
        });
        const fi = reveal<any>(
            run.recorder.get("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux-instance").inputs,
        );
        assert.ok(fi, "FluxInstance recorded");
    });

    for (const env of ENVIRONMENTS) {
        test(`clusters/${env}: nothing lands in flux-system when the Flux namespace is gitops`, () => {
            const vars = rootKustomization().spec.postBuild.substitute;
            const settings = run.recorder.kubeObject("ConfigMap", PLATFORM_SETTINGS_NAME).data;
            const layers = build(path.join(DEPLOY, "clusters", env)).map((o) => substitute(o, vars));
            const applied: any[] = [...layers];
            for (const layer of layers) {
                assert.equal(
                    layer.metadata.namespace,
                    "gitops",
                    `${layer.metadata.name} sits beside its Bucket source`,
                );
                applied.push(...build(path.join(DEPLOY, layer.spec.path)).map((o) => substitute(o, settings)));
            }
            const info = applied.find((o) => o.kind === "ConfigMap" && o.metadata.name === "platform-info");
            assert.equal(info.metadata.namespace, "gitops");
            assert.equal(info.data.cluster, "blue");
            const inFluxSystem = applied.filter((o) => o.metadata.namespace === "flux-system");
            assert.deepEqual(
                inFluxSystem.map((o) => `${o.kind} ${o.metadata.name}`),
                [],
            );
        });
    }

    test("make validate with these values finds no problem", async () => {
        const vars = rootKustomization().spec.postBuild.substitute;
        const report = await validateDeploy(DEPLOY, {
            relativeTo: REPO,
            kustomize: kustomize(),
            variables: vars,
            build: cachedKustomizeBuild,
        });
        assert.deepEqual(report.problems.map(formatProblem), []);
    });
});

describe("a CRD and its first object in one upload", () => {
    const dirs: string[] = [];
    after(() => {
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    test("CRD under controllers, object under apps: the object's layer runs after the CRD's, which waits", async () => {
        const dir = treeWithFixture();
        dirs.push(dir);
        const report = await validateDeploy(dir, {
            relativeTo: dir,
            kustomize: kustomize(),
            build: cachedKustomizeBuild,
        });
        assert.deepEqual(report.problems.map(formatProblem), []);

        const vars = Object.fromEntries(Object.entries(PLATFORM_VARIABLES).map(([k, v]) => [k, v.example]));
        for (const env of ENVIRONMENTS) {
            const root = build(path.join(dir, "clusters", env)).map((o) => substitute(o, vars));
            const { layers } = findLayers(root, { root: dir, fluxNamespace: "flux-system", syncName: FLUX_SYNC_NAME });
            const layerOf = (kind: string) => layers.find((l) => build(l.dir).some((o) => o.kind === kind))?.id;
            const crdLayer = layerOf("CustomResourceDefinition");
            const widgetLayer = layerOf("Widget");
            assert.equal(crdLayer, "flux-system/infra-controllers", env);
            assert.equal(widgetLayer, "flux-system/apps", env);
            assert.ok(ancestors(layers, widgetLayer!).has(crdLayer!), `${env}: apps depends on infra-controllers`);
            assert.equal(layers.find((l) => l.id === crdLayer)?.wait, true, "Ready only once the CRD is established");
        }
    });

    test("the object is validated against its CRD's schema", async () => {
        const dir = treeWithFixture();
        dirs.push(dir);
        writeFileSync(
            path.join(dir, "apps/base/widgets/widget.yaml"),
            readFileSync(path.join(dir, "apps/base/widgets/widget.yaml"), "utf8").replace("size: 3", "size: 0"),
        );
        const report = await validateDeploy(dir, {
            relativeTo: dir,
            kustomize: kustomize(),
            build: cachedKustomizeBuild,
        });
        assert.match(
            report.problems.map(formatProblem).join("\n"),
            /Widget flux-system\/first: \/spec\/size must be >= 1 \[kustomization apps\/base\/widgets; environments dev, prod\]/,
        );
    });

    test("a CRD in a layer the object's layer does not depend on is reported", async () => {
        const dir = treeWithFixture({ from: "infrastructure/controllers", to: "apps/base/widgets" });
        dirs.push(dir);
        // now the CRD is applied by apps, and a second object of its kind by infra-configs
        cpSync(
            path.join(FIXTURE, "apps/base/widgets/widget.yaml"),
            path.join(dir, "infrastructure/configs/widget.yaml"),
        );
        const file = path.join(dir, "infrastructure/configs/kustomization.yaml");
        const k = parse(readFileSync(file, "utf8"));
        writeFileSync(file, stringify({ ...k, resources: [...k.resources, "widget.yaml"] }));
        writeFileSync(
            path.join(dir, "infrastructure/configs/widget.yaml"),
            readFileSync(path.join(dir, "infrastructure/configs/widget.yaml"), "utf8").replace("first", "second"),
        );
        const report = await validateDeploy(dir, {
            relativeTo: dir,
            kustomize: kustomize(),
            build: cachedKustomizeBuild,
        });
        const text = report.problems.map(formatProblem).join("\n");
        assert.match(
            text,
            /Widget flux-system\/second: its CustomResourceDefinition is applied by flux-system\/apps, which flux-system\/infra-configs does not depend on/,
        );
        assert.doesNotMatch(
            text,
            /Widget flux-system\/first:/,
            "same layer as the CRD: kustomize-controller applies CRDs first",
        );
    });

    test("a layer with dependents but no wait, a dependsOn on nothing and a cycle are reported, in their environment only", async () => {
        const dir = treeWithFixture();
        dirs.push(dir);
        const file = path.join(dir, "clusters/prod/infrastructure.yaml");
        const docs = parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS());
        docs[0].spec.wait = false;
        docs[0].spec.dependsOn = [{ name: "apps" }];
        docs[1].spec.dependsOn.push({ name: "nothing" });
        writeFileSync(file, docs.map((d) => stringify(d)).join("---\n"));
        const report = await validateDeploy(dir, {
            relativeTo: dir,
            kustomize: kustomize(),
            build: cachedKustomizeBuild,
        });
        const text = report.problems.map(formatProblem).join("\n");
        assert.match(
            text,
            /Kustomization flux-system\/infra-controllers: .* no wait: true.*\[kustomization clusters\/prod; environment prod\]$/m,
        );
        assert.match(
            text,
            /Kustomization flux-system\/infra-configs: dependsOn flux-system\/nothing, which the tree does not define \[kustomization clusters\/prod; environment prod\]$/m,
        );
        assert.match(
            text,
            /Kustomization flux-system\/apps: dependsOn forms a cycle: .*\[kustomization clusters\/prod; environment prod\]$/m,
        );
        assert.doesNotMatch(text, /environments? dev/, "dev's layers are untouched");
        assert.deepEqual(
            report.environments.filter((e) => e.name !== "prod").map((e) => [e.name, e.problems]),
            report.environments.filter((e) => e.name !== "prod").map((e) => [e.name, 0]),
        );
        assert.ok(report.environments.find((e) => e.name === "prod")!.problems > 0);
    });

    test("a layer without SOPS decryption with the stack's sops-age Secret is reported", async () => {
        const dir = treeWithFixture();
        dirs.push(dir);
        const file = path.join(dir, "clusters/dev/infrastructure.yaml");
        const docs = parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS());
        delete docs[0].spec.decryption;
        docs[1].spec.decryption.secretRef.name = "other-key";
        writeFileSync(file, docs.map((d) => stringify(d)).join("---\n"));
        const report = await validateDeploy(dir, {
            relativeTo: dir,
            kustomize: kustomize(),
            build: cachedKustomizeBuild,
        });
        const text = report.problems.map(formatProblem).join("\n");
        assert.match(text, /Kustomization flux-system\/infra-controllers: has no decryption/);
        assert.match(text, /Kustomization flux-system\/infra-configs: has no decryption/);
        assert.doesNotMatch(text, /flux-system\/apps: has no decryption/);
    });
});
