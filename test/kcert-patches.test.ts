/**
 * KCert's JSON6902 patches, applied with an RFC 6902 implementation (fast-json-patch) to
 * fixtures shaped like upstream's deploy.yml objects, as Kustomize would apply them.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import { applyPatch, JsonPatchError, type Operation } from "fast-json-patch";
import { pointer, pointerToken } from "../components/flux/patches";
import {
    ACME_DIRECTORIES,
    KCERT_CLUSTER_ROLE_TARGET,
    KCERT_DEPLOYMENT_TARGET,
    KCert,
    type KCertSettings,
    kcertClusterRoleOps,
    kcertDeploymentOps,
} from "../components/kcert";
import { versions } from "../components/versions";
import { baseConfig, runComponent, runStack } from "./harness";

const fixture = (name: string) => JSON.parse(readFileSync(path.join(__dirname, "fixtures", name), "utf8"));
const apply = (doc: unknown, ops: unknown) => applyPatch(doc, ops as Operation[], true, false).newDocument as any;
const envOf = (deployment: any): Record<string, string> =>
    Object.fromEntries(deployment.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));

const settings = (over: Partial<KCertSettings> = {}): KCertSettings => ({
    directoryUrl: ACME_DIRECTORIES.staging,
    email: "certs@example.org",
    termsAccepted: true,
    ingressClassName: "contour",
    image: "nabsul/kcert:v1.2.0",
    watchIngresses: true,
    watchConfigMaps: true,
    ...over,
});

describe("KCert Deployment patch", () => {
    it("sets every ACME and challenge setting KCert v1.2.0 reads, as strings", () => {
        const out = apply(fixture("kcert-deployment.json"), kcertDeploymentOps(settings()));
        assert.deepEqual(envOf(out), {
            ACME__DIRURL: "https://acme-staging-v02.api.letsencrypt.org/directory",
            ACME__EMAIL: "certs@example.org",
            ACME__TERMSACCEPTED: "true",
            CHALLENGEINGRESS__USECLASSNAME: "true",
            CHALLENGEINGRESS__CLASSNAME: "contour",
            CHALLENGEINGRESS__USEANNOTATIONS: "false",
            KCERT__WATCHINGRESSES: "true",
            KCERT__WATCHCONFIGMAPS: "true",
        });
        for (const e of out.spec.template.spec.containers[0].env) assert.equal(typeof e.value, "string", e.name);
    });

    it("sets ACME__TERMSACCEPTED to false, never upstream's empty placeholder, when the terms are not accepted", () => {
        const out = apply(fixture("kcert-deployment.json"), kcertDeploymentOps(settings({ termsAccepted: false })));
        assert.equal(envOf(out).ACME__TERMSACCEPTED, "false", "upstream's empty placeholder must be gone");
        assert.equal(envOf(out).ACME__EMAIL, "certs@example.org");
    });

    it("uses the production directory when asked", () => {
        const out = apply(
            fixture("kcert-deployment.json"),
            kcertDeploymentOps(settings({ directoryUrl: ACME_DIRECTORIES.production })),
        );
        assert.equal(envOf(out).ACME__DIRURL, "https://acme-v02.api.letsencrypt.org/directory");
    });

    it("replaces upstream's stale v1.0.1 image and changes nothing else", () => {
        const before = fixture("kcert-deployment.json");
        const out = apply(before, kcertDeploymentOps(settings()));
        assert.equal(before.spec.template.spec.containers[0].image, "nabsul/kcert:v1.0.1");
        assert.equal(out.spec.template.spec.containers[0].image, "nabsul/kcert:v1.2.0");
        // Everything but image and env is untouched.
        const strip = (d: any) => {
            const c = structuredClone(d);
            delete c.spec.template.spec.containers[0].image;
            delete c.spec.template.spec.containers[0].env;
            return c;
        };
        assert.deepEqual(strip(out), strip(before));
    });

    it("refuses to patch a Deployment whose first container is not KCert", () => {
        const other = fixture("kcert-deployment.json");
        other.spec.template.spec.containers.unshift({ name: "sidecar", image: "busybox" });
        assert.throws(
            () => apply(other, kcertDeploymentOps(settings())),
            (e: unknown) => {
                assert.ok(e instanceof JsonPatchError);
                assert.equal(e.name, "TEST_OPERATION_FAILED");
                return true;
            },
        );
    });

    it("is an ordered list of valid RFC 6902 operations", () => {
        const ops = kcertDeploymentOps(settings());
        assert.deepEqual(
            ops.map((o) => o.op),
            ["test", "replace", "add"],
        );
        for (const o of ops) assert.match(o.path, /^\/spec\/template\/spec\/containers\/0\//);
    });
});

describe("KCert ClusterRole patch", () => {
    it("adds read access to ConfigMaps, keeping the existing rules", () => {
        const before = fixture("kcert-clusterrole.json");
        const out = apply(before, kcertClusterRoleOps());
        assert.equal(out.rules.length, before.rules.length + 1);
        assert.deepEqual(out.rules.slice(0, -1), before.rules);
        assert.deepEqual(out.rules.at(-1), {
            apiGroups: [""],
            resources: ["configmaps"],
            verbs: ["get", "list", "watch"],
        });
    });
});

describe("KCert patches as the component renders them", () => {
    it("the Kustomization's patch text, parsed and applied, gives the same result", async () => {
        const { recorder } = await runComponent(() => {
            const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
            return new KCert(
                "kcert",
                { email: "certs@example.org", acmeEnvironment: "production", termsAccepted: true },
                { provider },
            );
        });
        const spec = recorder.kubeObject("Kustomization", "kcert").spec;
        const byKind = new Map<string, any>(spec.patches.map((p: any) => [p.target.kind, p]));
        // Each target selects the object of upstream's deploy.yml (the fixtures) it patches: the
        // group/version of its apiVersion, its kind and its name, as kustomize matches them.
        for (const [kind, file] of [
            ["Deployment", "kcert-deployment.json"],
            ["ClusterRole", "kcert-clusterrole.json"],
        ] as const) {
            const upstream = fixture(file);
            const [group, version] = upstream.apiVersion.includes("/")
                ? upstream.apiVersion.split("/")
                : ["", upstream.apiVersion];
            const expected = { group, version, kind: upstream.kind, name: upstream.metadata.name };
            assert.deepEqual(byKind.get(kind).target, expected, kind);
        }
        assert.deepEqual(KCERT_DEPLOYMENT_TARGET, { group: "apps", version: "v1", kind: "Deployment", name: "kcert" });
        assert.deepEqual(KCERT_CLUSTER_ROLE_TARGET, {
            group: "rbac.authorization.k8s.io",
            version: "v1",
            kind: "ClusterRole",
            name: "kcert",
        });

        const deployment = apply(fixture("kcert-deployment.json"), JSON.parse(byKind.get("Deployment").patch));
        const env = envOf(deployment);
        assert.equal(env.ACME__DIRURL, ACME_DIRECTORIES.production);
        assert.equal(env.ACME__EMAIL, "certs@example.org");
        assert.equal(env.ACME__TERMSACCEPTED, "true");
        assert.equal(env.CHALLENGEINGRESS__CLASSNAME, "contour");
        // The image follows the tag the GitRepository points at.
        const tag = recorder.kubeObject("GitRepository", "kcert").spec.ref.tag;
        assert.equal(tag, versions.kcert.tag);
        assert.equal(deployment.spec.template.spec.containers[0].image, `${versions.kcert.image}:${tag}`);

        const role = apply(fixture("kcert-clusterrole.json"), JSON.parse(byKind.get("ClusterRole").patch));
        assert.ok(role.rules.some((r: any) => r.resources.includes("configmaps") && r.verbs.includes("watch")));
    });
});

/**
 * KCert v1.2.0's CertChangeService.CheckForChangesAsync merges GetIngressCertsAsync() with
 * GetConfigMapCertsAsync() on every check, and the latter calls ListConfigMapForAllNamespacesAsync
 * (K8sClient.GetAllConfigMapsAsync) unconditionally; KCERT__WATCHCONFIGMAPS only switches the
 * ConfigMap watch (ConfigMonitorService). A 403 there aborts the whole check, Ingress certificates
 * included. So the ClusterRole must allow listing ConfigMaps in every cluster scope, in every mode.
 */
describe("KCert's ClusterRole in every exposure mode", () => {
    /** Does `role` let its subject perform `verb` on core `resource` cluster-wide? (RBAC's rule match) */
    const allows = (role: any, verb: string, resource: string) =>
        role.rules.some(
            (r: any) =>
                (r.apiGroups.includes("") || r.apiGroups.includes("*")) &&
                (r.resources.includes(resource) || r.resources.includes("*")) &&
                (r.verbs.includes(verb) || r.verbs.includes("*")) &&
                !r.resourceNames?.length,
        );

    it("upstream's ClusterRole (the fixture) cannot list ConfigMaps on its own", () => {
        assert.equal(allows(fixture("kcert-clusterrole.json"), "list", "configmaps"), false);
    });

    for (const exposure of ["httpproxy", "ingress"] as const) {
        it(`webhook.exposure: ${exposure}: the patched ClusterRole lists ConfigMaps cluster-wide`, async () => {
            const cfg = baseConfig();
            cfg.webhook.exposure = exposure;
            const run = await runStack(cfg);
            assert.equal(run.error, undefined);
            const k = run.recorder.kubeObject("Kustomization", "kcert");
            let role = fixture("kcert-clusterrole.json");
            for (const p of k.spec.patches) {
                const t = p.target;
                if (t.kind === role.kind && t.name === role.metadata.name) role = apply(role, JSON.parse(p.patch));
            }
            assert.equal(allows(role, "list", "configmaps"), true);
            assert.equal(allows(role, "list", "ingresses") || allows(role, "list", "secrets"), true);
        });
    }
});

describe("JSON Pointers in the patches (RFC 6901)", () => {
    it("escapes `~` as ~0 and `/` as ~1, in that order, as RFC 6901's examples; an RFC 6902 implementation finds the keys", () => {
        // RFC 6901 section 5: "/a~1b" → "a/b", "/m~0n" → "m~n"
        assert.equal(pointer("a/b"), "/a~1b");
        assert.equal(pointer("m~n"), "/m~0n");
        assert.equal(pointerToken("~1"), "~01", "a literal ~1 stays a tilde followed by 1");
        assert.equal(pointer("spec", "containers", 0, "env"), "/spec/containers/0/env");
        const doc = { "a/b": 1, "m~n": 2, "~1": 3 };
        const out = apply(doc, [
            { op: "replace", path: pointer("a/b"), value: 10 },
            { op: "replace", path: pointer("m~n"), value: 20 },
            { op: "replace", path: pointer("~1"), value: 30 },
        ]);
        assert.deepEqual(out, { "a/b": 10, "m~n": 20, "~1": 30 });
    });
});
