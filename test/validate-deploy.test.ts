// `make validate`: the real deploy/ tree passes; a broken tree fails, naming file, object and error.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { buildKey, keptBuild } from "../tools/kustomize/build";
import { buildTree } from "../tools/sops/guard";
import {
    ensureKustomize,
    formatProblem,
    isReservedHost,
    type ValidationReport,
    validateDeploy,
    validateObject,
} from "../tools/validate/validate";
import { cachedKustomizeBuild, kustomizeObjects } from "./kustomize-objects";

const REPO = path.resolve(__dirname, "..");

/**
 * Writes `files` (relative path → content) under `parent`, default a fresh temporary folder.
 * (helpers-s3's makeTree does the same, but loading that module loads the AWS SDK: 0.5 s of CPU.)
 */
async function makeTree(files: Record<string, string>, parent?: string): Promise<string> {
    const root = parent ?? (await mkdtemp(path.join(os.tmpdir(), "validate-tree-")));
    for (const [rel, content] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
        await writeFile(path.join(root, rel), content);
    }
    return root;
}

function runValidateCli(dir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, ["tools/lib/run-bundled.cjs", "tools/validate/main.ts", dir], {
            cwd: REPO,
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

const BROKEN = {
    "kustomization.yaml": "resources:\n  - app\n  - missing\n",
    "app/kustomization.yaml":
        "resources:\n  - release.yaml\n  - old.yaml\n  - widget.yaml\n  - ingress.yaml\n  - ok.yaml\n",
    // HelmRelease without spec.interval and without chart.spec.sourceRef
    "app/release.yaml": [
        "apiVersion: helm.toolkit.fluxcd.io/v2",
        "kind: HelmRelease",
        "metadata:",
        "  name: broken-release",
        "  namespace: demo",
        "spec:",
        "  chart:",
        "    spec:",
        "      chart: podinfo",
        "",
    ].join("\n"),
    // a superseded Flux API version
    "app/old.yaml": [
        "apiVersion: source.toolkit.fluxcd.io/v1beta2",
        "kind: HelmRepository",
        "metadata:",
        "  name: old-repo",
        "  namespace: demo",
        "spec:",
        "  interval: 1h",
        "  url: https://example.com/charts",
        "",
    ].join("\n"),
    // a kind nobody has a schema for
    "app/widget.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: gizmo\n",
    // wrong type: port number as a string
    "app/ingress.yaml": [
        "apiVersion: networking.k8s.io/v1",
        "kind: Ingress",
        "metadata:",
        "  name: bad-ingress",
        "  namespace: demo",
        "spec:",
        "  rules:",
        "    - host: demo.example.com",
        "      http:",
        "        paths:",
        "          - path: /",
        "            pathType: Prefix",
        "            backend:",
        "              service:",
        "                name: demo",
        "                port:",
        "                  number: http",
        "",
    ].join("\n"),
    "app/ok.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n  namespace: demo\n",
    // "missing" is listed above but does not exist
};

describe("validate: deploy/", () => {
    let report: ValidationReport;
    before(async () => {
        report = await validateDeploy(path.join(REPO, "deploy"), { relativeTo: REPO, build: cachedKustomizeBuild });
    });

    test("every kustomization in the repository's deploy/ builds and validates", () => {
        assert.deepEqual(report.problems.map(formatProblem), []);
        const dirs = report.kustomizations.map((k) => k.dir);
        for (const d of [
            "deploy/clusters/dev",
            "deploy/clusters/prod",
            "deploy/infrastructure/controllers",
            "deploy/infrastructure/configs",
            "deploy/apps/base/podinfo",
            "deploy/apps/dev",
            "deploy/apps/prod",
            "deploy/github",
        ])
            assert.ok(dirs.includes(d), `${d} was not built`);
        assert.equal(
            dirs.includes("deploy/apps/base/podinfo/tls"),
            false,
            "a kustomize Component is built through its users",
        );
        for (const d of ["deploy/apps/base/podinfo", "deploy/apps/dev", "deploy/apps/prod"])
            assert.equal(report.kustomizations.find((k) => k.dir === d)?.objects, 4, d);
    });

    test("every environment is built with what its layers apply, and reported on its own", () => {
        const shipped = report.environments.filter((e) => e.name === "dev" || e.name === "prod");
        assert.deepEqual(
            shipped.map((e) => ({ ...e })),
            ["dev", "prod"].map((name) => ({
                name,
                dir: `deploy/clusters/${name}`,
                layers: 3,
                // its 3 layers, platform-info and podinfo's Namespace, HelmRepository, HelmRelease, Ingress
                objects: 8,
                problems: 0,
            })),
        );
        for (const e of report.environments) assert.equal(e.dir, `deploy/clusters/${e.name}`);
    });

    test("stack values that YAML would read as numbers or booleans stay strings (the tree quotes them)", async () => {
        // Flux substitutes into the built YAML text and parses it again (fluxcd/pkg kustomize
        // SubstituteVariables), so an unquoted ${cluster_name} of 123 or 1e5 becomes a number.
        // The config allows such cluster names; ConfigMap data must be strings.
        for (const value of ["123", "1e5", "true", "0x1F"]) {
            const r = await validateDeploy(path.join(REPO, "deploy"), {
                relativeTo: REPO,
                build: cachedKustomizeBuild,
                variables: { flux_namespace: "flux-system", cluster_name: value, cluster_region: value, quote: '"' },
            });
            assert.deepEqual(r.problems.map(formatProblem), [], `cluster_name ${value}`);
        }
    });

    test("the demo uses current Flux APIs, a pinned chart and a Contour Ingress", async () => {
        const dir = path.join(REPO, "deploy/apps/base/podinfo");
        const objects: any[] = [];
        for (const f of await readdir(dir)) {
            if (f !== "kustomization.yaml" && f.endsWith(".yaml"))
                objects.push(...parseAllDocuments(await readFile(path.join(dir, f), "utf8")).map((d) => d.toJS()));
        }
        const byKind = (k: string) => objects.filter((o) => o.kind === k);
        const [release] = byKind("HelmRelease");
        assert.equal(release.apiVersion, "helm.toolkit.fluxcd.io/v2");
        assert.match(release.spec.chart.spec.version, /^\d+\.\d+\.\d+$/, "the chart version is an exact pin");
        assert.equal(byKind("HelmRepository")[0].apiVersion, "source.toolkit.fluxcd.io/v1");
        const [ingress] = byKind("Ingress");
        assert.equal(ingress.spec.ingressClassName, "contour");
        // the Ingress points at the Service the chart creates for release "podinfo"
        assert.equal(release.spec.releaseName, ingress.spec.rules[0].http.paths[0].backend.service.name);
    });
});

describe("validate: the demo asks KCert for a certificate only for a real host", () => {
    const dirs: string[] = [];
    after(async () => {
        for (const d of dirs) await rm(d, { recursive: true, force: true });
    });
    /** A copy of deploy/ with prod's podinfo host set and its tls component on or off. */
    async function demo(host: string | undefined, tls: boolean) {
        const dir = await mkdtemp(path.join(os.tmpdir(), "validate-demo-"));
        dirs.push(dir);
        await cp(path.join(REPO, "deploy"), dir, { recursive: true });
        const k = path.join(dir, "apps/prod/kustomization.yaml");
        if (tls) await writeFile(k, `${await readFile(k, "utf8")}components:\n  - ../base/podinfo/tls\n`);
        const overlay = path.join(dir, "apps/prod/podinfo/kustomization.yaml");
        if (host) await writeFile(overlay, (await readFile(overlay, "utf8")).replace("podinfo.example.com", host));
        const report = await validateDeploy(dir, { relativeTo: dir, build: cachedKustomizeBuild });
        const ingress = kustomizeObjects(ensureKustomize(), path.join(dir, "apps/prod")).find(
            (o) => o?.kind === "Ingress",
        );
        return { problems: report.problems.map(formatProblem), ingress };
    }

    test("as shipped: plain HTTP on the example host, no KCert label, no tls, no problem", async () => {
        const { problems, ingress } = await demo(undefined, false);
        assert.deepEqual(problems, []);
        assert.equal(ingress.metadata.labels?.["kcert.dev/ingress"], undefined);
        assert.equal(ingress.spec.tls, undefined);
    });

    test("the tls component with the example host is refused: Let's Encrypt never issues for example.com", async () => {
        const { problems } = await demo(undefined, true);
        assert.equal(problems.length, 1, problems.join("\n"));
        assert.match(
            problems[0]!,
            /^apps\/base\/podinfo\/ingress\.yaml: Ingress podinfo\/podinfo: asks KCert .* podinfo\.example\.com, .*\[kustomization apps\/prod; environment prod\]$/,
        );
    });

    test("with a real host the component labels the Ingress for KCert and requests that host", async () => {
        const { problems, ingress } = await demo("podinfo.apps.acme-corp.dev", true);
        assert.deepEqual(problems, []);
        assert.equal(ingress.metadata.labels["kcert.dev/ingress"], "managed");
        assert.equal(ingress.metadata.labels["app.kubernetes.io/name"], "podinfo", "existing labels are kept");
        assert.deepEqual(ingress.spec.tls, [{ hosts: ["podinfo.apps.acme-corp.dev"], secretName: "podinfo-tls" }]);
        assert.equal(ingress.spec.rules[0].host, "podinfo.apps.acme-corp.dev");
    });

    test("reserved names", () => {
        for (const h of ["podinfo.example.com", "a.example.org", "x.example", "app.test", "localhost", "web.local"])
            assert.equal(isReservedHost(h), true, h);
        for (const h of ["podinfo.apps.acme-corp.dev", "example.company.io", "examples.com"])
            assert.equal(isReservedHost(h), false, h);
    });
});

describe("validate: a broken overlay names its environment", () => {
    const dirs: string[] = [];
    after(async () => {
        for (const d of dirs) await rm(d, { recursive: true, force: true });
    });
    /** A copy of deploy/ with one environment's podinfo overlay given one more patch. */
    async function withPatch(env: string, patch: string): Promise<string> {
        const dir = await mkdtemp(path.join(os.tmpdir(), "validate-env-"));
        dirs.push(dir);
        await cp(path.join(REPO, "deploy"), dir, { recursive: true });
        const file = path.join(dir, `apps/${env}/podinfo/kustomization.yaml`);
        await writeFile(file, `${await readFile(file, "utf8")}${patch}`);
        return dir;
    }
    const BAD_PORT = [
        "  - target:",
        "      kind: Ingress",
        "      name: podinfo",
        "    patch: |-",
        "      - op: replace",
        "        path: /spec/rules/0/http/paths/0/backend/service/port/number",
        "        value: http",
        "",
    ].join("\n");

    test("an object an overlay breaks is reported for that environment only, at the overlay", async () => {
        const dir = await withPatch("prod", BAD_PORT);
        const report = await validateDeploy(dir, { relativeTo: dir, build: cachedKustomizeBuild });
        const text = report.problems.map(formatProblem);
        assert.equal(text.length, 1, text.join("\n"));
        assert.match(
            text[0]!,
            /^apps\/base\/podinfo\/ingress\.yaml: Ingress podinfo\/podinfo: .*port\/number must be integer \[kustomization apps\/prod\/podinfo; environment prod\]$/,
        );
        assert.deepEqual(
            report.environments
                .filter((e) => e.name === "dev" || e.name === "prod")
                .map((e) => `${e.name}: ${e.problems}`),
            ["dev: 0", "prod: 1"],
        );
    });

    test("an overlay that does not build names its environment", async () => {
        const dir = await withPatch(
            "dev",
            "  - target:\n      kind: Ingress\n      name: podinfo\n    patch: |-\n      - op: replace\n        path: /spec/nothing/here\n        value: x\n",
        );
        const report = await validateDeploy(dir, { relativeTo: dir, build: cachedKustomizeBuild });
        const failed = report.problems.filter((p) => p.message.startsWith("kustomize build failed"));
        assert.deepEqual(
            failed.map((p) => `${p.kustomization}: ${p.environments?.join(",")}`),
            ["apps/dev: dev", "apps/dev/podinfo: dev"],
        );
        assert.deepEqual(
            report.environments
                .filter((e) => e.name === "dev" || e.name === "prod")
                .map((e) => [e.name, e.problems > 0]),
            [
                ["dev", true],
                ["prod", false],
            ],
        );
    });

    test("a problem of the base is reported once, at the base, for every environment", async () => {
        const dir = await withPatch("prod", "");
        const release = path.join(dir, "apps/base/podinfo/release.yaml");
        await writeFile(release, (await readFile(release, "utf8")).replace("interval: 30m", "interval: 30x"));
        const report = await validateDeploy(dir, { relativeTo: dir, build: cachedKustomizeBuild });
        assert.deepEqual(report.problems.map(formatProblem), [
            'apps/base/podinfo/release.yaml: HelmRelease podinfo/podinfo: /spec/interval "30x" is not a duration [kustomization apps/base/podinfo; environments dev, prod]',
        ]);
    });

    test("make validate prints one line per environment and exits 1", async () => {
        const dir = await withPatch("prod", BAD_PORT);
        const r = await runValidateCli(dir);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stdout, /^environment dev \(clusters\/dev\): 3 layers, 8 objects: ok$/m);
        assert.match(r.stdout, /^environment prod \(clusters\/prod\): 3 layers, 8 objects: 1 problem\(s\)$/m);
        assert.match(r.stderr, /^error: .*\[kustomization apps\/prod\/podinfo; environment prod\]$/m);
        assert.match(r.stdout, /in \d+ environment\(s\): 1 problem\(s\)\n$/);
    });

    test("a clusters/ folder without an environment is an error", async () => {
        const dir = await makeTree({
            "clusters/README.md": "nothing here\n",
            "apps/kustomization.yaml": "resources:\n  - cm.yaml\n",
            "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n",
        });
        dirs.push(dir);
        const report = await validateDeploy(dir, { relativeTo: dir, build: cachedKustomizeBuild });
        assert.match(report.problems.map(formatProblem).join("\n"), /clusters\/ holds no environment/);
    });
});

describe("validate: a broken tree fails", () => {
    let dir: string;
    let report: ValidationReport;
    before(async () => {
        dir = await makeTree(BROKEN, await mkdtemp(path.join(os.tmpdir(), "validate-broken-")));
        report = await validateDeploy(dir, { relativeTo: dir });
    });
    after(async () => {
        await rm(dir, { recursive: true, force: true });
    });

    const find = (object: string) =>
        report.problems
            .filter((p) => p.object === object)
            .map(formatProblem)
            .join("\n");

    test("schema errors name the file, the object and the error", () => {
        assert.match(
            find("HelmRelease demo/broken-release"),
            /^app\/release\.yaml: HelmRelease demo\/broken-release: .*interval/m,
        );
        assert.match(find("HelmRelease demo/broken-release"), /sourceRef/);
        assert.match(
            find("Ingress demo/bad-ingress"),
            /^app\/ingress\.yaml: .*\/spec\/rules\/0\/http\/paths\/0\/backend\/service\/port\/number must be integer/m,
        );
    });

    test("unknown kinds and superseded Flux APIs are errors", () => {
        assert.match(find("Widget gizmo"), /app\/widget\.yaml: Widget gizmo: unknown kind Widget in example\.com\/v1/);
        assert.match(
            find("HelmRepository demo/old-repo"),
            /source\.toolkit\.fluxcd\.io\/v1beta2 is superseded: use apiVersion source\.toolkit\.fluxcd\.io\/v1/,
        );
    });

    test("a kustomization that does not build is an error; valid objects are not reported", () => {
        const buildErrors = report.problems.filter((p) => p.message.startsWith("kustomize build failed"));
        assert.equal(buildErrors.length, 1);
        assert.equal(buildErrors[0]!.kustomization, ".");
        assert.equal(find("ConfigMap demo/fine"), "");
        // each problem is reported once even though app/ is also reachable from the root
        const ids = report.problems.map((p) => `${p.object}|${p.message}`);
        assert.equal(new Set(ids).size, ids.length);
    });

    test("validateObject rejects objects without a name", async () => {
        assert.deepEqual(await validateObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }), []);
        assert.ok(
            (await validateObject({ apiVersion: "v1", kind: "ConfigMap", metadata: {} })).includes(
                "metadata.name is missing",
            ),
        );
    });

    test("the make validate entry point exits 1 on the broken tree and 0 on a valid one", async () => {
        // the HTTPProxy is checked against the project's own schema (tools/validate/schemas/),
        // which the bundled entry point must find from bin/
        const goodDir = await makeTree({
            "kustomization.yaml": "resources:\n  - cm.yaml\n  - proxy.yaml\n",
            "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n",
            "proxy.yaml":
                "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata:\n  name: web\n  namespace: web\n" +
                "spec:\n  virtualhost:\n    fqdn: web.example.com\n  routes:\n    - services:\n        - name: web\n          port: 80\n",
        });
        try {
            const [broken, good] = await Promise.all([runValidateCli(dir), runValidateCli(goodDir)]);
            assert.equal(broken.code, 1, broken.stdout + broken.stderr);
            assert.match(broken.stderr, /^error: app\/release\.yaml: HelmRelease demo\/broken-release: /m);
            assert.match(broken.stdout, /5 problem\(s\)\n$/);
            assert.equal(good.code, 0, good.stdout + good.stderr);
            assert.match(good.stdout, /validated 2 distinct objects from 1 kustomizations: no problems\n$/);
        } finally {
            await rm(goodDir, { recursive: true, force: true });
        }
    });
});

describe("validate: Flux durations are checked where Flux reads them", () => {
    const release = (spec: Record<string, unknown>) => ({
        apiVersion: "helm.toolkit.fluxcd.io/v2",
        kind: "HelmRelease",
        metadata: { name: "app", namespace: "apps" },
        spec: {
            interval: "10m",
            chart: { spec: { chart: "app", sourceRef: { kind: "HelmRepository", name: "charts" } } },
            ...spec,
        },
    });

    test("a chart's own `timeout` or `interval` values are the chart's business", async () => {
        const obj = release({
            values: { timeout: "30", probe: { interval: "5 minutes" }, list: [{ retryInterval: "soon" }] },
        });
        assert.deepEqual(await validateObject(obj as never), []);
    });

    test("the HelmRelease's own durations still are", async () => {
        const obj = release({ timeout: "5 minutes", values: { timeout: "30" }, install: { timeout: "2x" } });
        assert.deepEqual(await validateObject(obj as never), [
            '/spec/timeout "5 minutes" is not a duration',
            '/spec/install/timeout "2x" is not a duration',
        ]);
    });
});

describe("make validate and make upload-do build each folder content once and keep it", () => {
    // A stand-in kustomize that logs every build and prints the folder's cm.yaml, or fails on a
    // folder holding a file named `fail`.
    let dir: string;
    let fake: string;
    let log: string;
    const cacheBefore = process.env.DO_GITOPS_CACHE;
    before(async () => {
        dir = await mkdtemp(path.join(os.tmpdir(), "validate-kept-"));
        log = path.join(dir, "builds.log");
        fake = path.join(dir, "kustomize");
        await writeFile(
            fake,
            `#!/bin/sh\necho "$2" >> '${log}'\nif [ -e "$2/fail" ]; then echo "cannot build $2" >&2; exit 1; fi\ncat "$2/cm.yaml"\n`,
            { mode: 0o755 },
        );
        await writeFile(log, "");
        process.env.DO_GITOPS_CACHE = path.join(dir, "cache"); // kept builds go here
    });
    after(async () => {
        if (cacheBefore === undefined) delete process.env.DO_GITOPS_CACHE;
        else process.env.DO_GITOPS_CACHE = cacheBefore;
        await rm(dir, { recursive: true, force: true });
    });
    const builds = async () => (await readFile(log, "utf8")).split("\n").filter(Boolean).length;
    /** An app folder listing a base folder, under a fresh parent; `name` makes its content unique. */
    const tree = (name: string, extra: Record<string, string> = {}) =>
        makeTree(
            {
                "app/kustomization.yaml": "resources:\n  - cm.yaml\n  - ../base\n",
                "app/cm.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`,
                "base/kustomization.yaml": "resources:\n  - x.yaml\n",
                "base/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
                "base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\n",
                ...extra,
            },
            path.join(dir, `${name}-${Math.random().toString(36).slice(2)}`),
        );

    test("a copy elsewhere is read from the kept build; a change in a listed folder or of the binary builds again", async () => {
        const first = await tree("kept");
        const out = await cachedKustomizeBuild(fake, path.join(first, "app"));
        assert.match(out, /name: kept/);
        assert.equal(await builds(), 1);
        const copy = await tree("kept");
        assert.equal(await cachedKustomizeBuild(fake, path.join(copy, "app")), out);
        assert.equal(await builds(), 1, "same content elsewhere: not built again");
        const key = buildKey(fake, path.join(copy, "app"));
        assert.ok(key);
        assert.equal(keptBuild(key), out, "kept on disk for the next run");
        await writeFile(path.join(copy, "base/x.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n");
        await cachedKustomizeBuild(fake, path.join(copy, "app"));
        assert.equal(await builds(), 2, "a file of the listed base changed: built again");
        const renamed = await tree("kept", { "app/extra.txt": "not listed, but kustomize could read it\n" });
        await cachedKustomizeBuild(fake, path.join(renamed, "app"));
        assert.equal(await builds(), 3, "any file under the folder counts");
        const later = new Date(Date.now() + 5_000);
        await utimes(fake, later, later);
        await cachedKustomizeBuild(fake, path.join(first, "app"));
        assert.equal(await builds(), 4, "another kustomize binary (modification time): built again");
    });

    test("failed builds, remote resources and files outside the folder are never kept", async () => {
        const failing = await tree("failing", { "app/fail": "" });
        const initial = await builds();
        for (let i = 0; i < 2; i++)
            await assert.rejects(cachedKustomizeBuild(fake, path.join(failing, "app")), /cannot build/);
        const start = await builds();
        assert.equal(start, initial + 2, "a failed build is run again");
        const remote = await tree("remote", {
            "app/kustomization.yaml": "resources:\n  - cm.yaml\n  - https://example.com/base\n",
        });
        const outside = await tree("outside", { "app/kustomization.yaml": "resources:\n  - ../base/cm.yaml\n" });
        for (const t of [remote, outside]) {
            assert.equal(buildKey(fake, path.join(t, "app")), undefined);
            await cachedKustomizeBuild(fake, path.join(t, "app"));
            await cachedKustomizeBuild(fake, path.join(t, "app"));
        }
        assert.equal(await builds(), start + 4, "each built every time");
        const failedKey = buildKey(fake, path.join(failing, "app"));
        assert.ok(failedKey);
        assert.equal(keptBuild(failedKey), undefined);
    });

    test("a build that holds a Secret is kept in memory only, never on disk", async () => {
        const secret = await tree("secret", {
            "app/cm.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: hunter2\n",
        });
        const initial = await builds();
        const out = await cachedKustomizeBuild(fake, path.join(secret, "app"));
        assert.match(out, /hunter2/);
        assert.equal(await cachedKustomizeBuild(fake, path.join(secret, "app")), out);
        assert.equal(await builds(), initial + 1, "built once in this process");
        const key = buildKey(fake, path.join(secret, "app"));
        assert.ok(key);
        assert.equal(keptBuild(key), undefined, "no copy on disk");
        const files = await readdir(path.join(dir, "cache", "kustomize-builds"));
        for (const f of files)
            assert.doesNotMatch(await readFile(path.join(dir, "cache", "kustomize-builds", f), "utf8"), /hunter2/, f);
    });

    test("make validate and the upload guard read kept builds by default", async () => {
        const first = await tree("default");
        const initial = await builds();
        const report = await validateDeploy(first, { relativeTo: first, kustomize: fake });
        assert.deepEqual(report.problems.map(formatProblem), []);
        const start = await builds();
        assert.equal(start, initial + 2, "app and base built once each");
        const again = await validateDeploy(await tree("default"), { relativeTo: first, kustomize: fake });
        assert.deepEqual(
            again.kustomizations.map((k) => k.objects),
            report.kustomizations.map((k) => k.objects),
        );
        const { built, failed } = await buildTree(await tree("default"), fake);
        assert.deepEqual(failed, new Map());
        assert.equal(built.size, 2);
        assert.equal(await builds(), start, "neither built again");
    });
});
