/** KCert installed by Flux from its git tag: the source, the Kustomization and their ordering. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import ignore from "ignore";
import { KUSTOMIZE_API, SOURCE_API } from "../components/flux/api";
import {
    KCERT_CERT_REQUEST_LABEL,
    KCERT_CERT_REQUEST_VALUE,
    KCERT_INGRESS_LABEL,
    KCERT_INGRESS_VALUE,
    KCert,
    type KCertArgs,
} from "../components/kcert";
import { versions } from "../components/versions";
import { runComponent } from "./harness";

async function render(args: Partial<KCertArgs> = {}, withDependency = false) {
    return runComponent(() => {
        const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
        const before = withDependency
            ? new pulumi.ComponentResource("test:index:Contour", "contour-stand-in")
            : undefined;
        const kcert = new KCert(
            "kcert",
            { email: "ops@example.com", ...args, ...(before ? { dependsOn: [before] } : {}) },
            { provider },
        );
        return { kcert, before };
    });
}

const envOf = (kustomization: any): Record<string, string> => {
    const deploymentPatch = kustomization.spec.patches.find((p: any) => p.target.kind === "Deployment");
    const ops = JSON.parse(deploymentPatch.patch);
    const env = ops.find((o: any) => o.path.endsWith("/env")).value;
    return Object.fromEntries(env.map((e: any) => [e.name, e.value]));
};

describe("KCert source", () => {
    it("is a GitRepository on nabsul/kcert at the pinned tag", async () => {
        const { recorder } = await render();
        const repo = recorder.kubeObject("GitRepository", "kcert");
        assert.equal(repo.apiVersion, SOURCE_API);
        assert.equal(repo.metadata.namespace, "flux-system");
        assert.equal(repo.spec.url, "https://github.com/nabsul/kcert");
        assert.deepEqual(repo.spec.ref, { tag: "v1.2.0" });
        assert.equal(repo.spec.ref.tag, versions.kcert.tag);
    });

    it("admits only deploy.yml (spec.ignore, gitignore semantics)", async () => {
        const { recorder } = await render();
        const rules = ignore().add(recorder.kubeObject("GitRepository", "kcert").spec.ignore);
        assert.equal(rules.ignores("deploy.yml"), false);
        for (const excluded of [
            "charts/kcert/templates/deployment.yaml",
            "charts/kcert/Chart.yaml",
            "README.md",
            "src/Program.cs",
            "deploy.yaml",
        ]) {
            assert.equal(rules.ignores(excluded), true, excluded);
        }
    });
});

describe("KCert Kustomization", () => {
    it("applies the source into the kcert namespace with both patches", async () => {
        const { recorder } = await render();
        const k = recorder.kubeObject("Kustomization", "kcert");
        assert.equal(k.apiVersion, KUSTOMIZE_API);
        assert.equal(k.metadata.namespace, "flux-system");
        assert.deepEqual(k.spec.sourceRef, { kind: "GitRepository", name: "kcert", apiVersion: SOURCE_API });
        assert.equal(k.spec.targetNamespace, "kcert");
        assert.equal(k.spec.prune, true);
        assert.equal(k.spec.wait, true);
        assert.deepEqual(k.spec.patches.map((p: any) => p.target.kind).sort(), ["ClusterRole", "Deployment"]);
        for (const p of k.spec.patches) assert.equal(typeof p.patch, "string");
    });

    it("staging by default; ACME__TERMSACCEPTED always set, true only when the terms are accepted", async () => {
        const declined = envOf((await render()).recorder.kubeObject("Kustomization", "kcert"));
        assert.equal(declined.ACME__DIRURL, "https://acme-staging-v02.api.letsencrypt.org/directory");
        assert.equal(declined.ACME__EMAIL, "ops@example.com");
        assert.equal(declined.ACME__TERMSACCEPTED, "false");

        const accepted = envOf(
            (await render({ acmeEnvironment: "production", termsAccepted: true })).recorder.kubeObject(
                "Kustomization",
                "kcert",
            ),
        );
        assert.equal(accepted.ACME__DIRURL, "https://acme-v02.api.letsencrypt.org/directory");
        assert.equal(accepted.ACME__TERMSACCEPTED, "true");
    });

    it("puts KCert's challenge Ingress on the given class", async () => {
        const env = envOf((await render({ ingressClassName: "edge" })).recorder.kubeObject("Kustomization", "kcert"));
        assert.equal(env.CHALLENGEINGRESS__USECLASSNAME, "true");
        assert.equal(env.CHALLENGEINGRESS__CLASSNAME, "edge");
        assert.equal(env.CHALLENGEINGRESS__USEANNOTATIONS, "false");
    });

    it("without ConfigMap requests: KCERT__WATCHCONFIGMAPS=false, and still the ClusterRole patch", async () => {
        // KCert v1.2.0's CertChangeService lists labelled ConfigMaps cluster-wide on every check,
        // whatever KCERT__WATCHCONFIGMAPS says (kcert-patches.test.ts applies the patch).
        const k = (await render({ watchConfigMaps: false })).recorder.kubeObject("Kustomization", "kcert");
        assert.deepEqual(k.spec.patches.map((p: any) => p.target.kind).sort(), ["ClusterRole", "Deployment"]);
        assert.equal(envOf(k).KCERT__WATCHCONFIGMAPS, "false");
    });

    it("a different tag moves the source and the image together", async () => {
        const { recorder } = await render({ tag: "v9.9.9" });
        assert.deepEqual(recorder.kubeObject("GitRepository", "kcert").spec.ref, { tag: "v9.9.9" });
        const patch = recorder
            .kubeObject("Kustomization", "kcert")
            .spec.patches.find((p: any) => p.target.kind === "Deployment");
        const image = JSON.parse(patch.patch).find((o: any) => o.path.endsWith("/image")).value;
        assert.equal(image, "nabsul/kcert:v9.9.9");
    });

    it("waits for what it depends on (Contour's release) and for its source", async () => {
        const { recorder } = await render({}, true);
        const k = recorder.dependsOn("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "kcert-kustomization");
        assert.ok(k.includes("test:index:Contour::contour-stand-in"), k.join(", "));
        assert.ok(k.includes("kubernetes:source.toolkit.fluxcd.io/v1:GitRepository::kcert-source"), k.join(", "));
        const s = recorder.dependsOn("kubernetes:source.toolkit.fluxcd.io/v1:GitRepository", "kcert-source");
        assert.ok(s.includes("test:index:Contour::contour-stand-in"), s.join(", "));
    });

    it("children use the provider from opts and are parented to the component", async () => {
        const { recorder } = await render();
        for (const r of recorder.resources.filter((r) => r.type.startsWith("kubernetes:") && r.custom)) {
            assert.match(r.provider ?? "", /pulumi:providers:kubernetes::k8s::/, r.name);
            assert.equal(r.parent, "gitops:certs:KCert::kcert", r.name);
            assert.ok(r.name.startsWith("kcert-"), r.name);
        }
    });
});

describe("KCert: upstream's names and the documented defaults", () => {
    it("the labels KCert watches are its own (KCert.Services.K8sWatchClient: kcert.dev/ingress=managed, kcert.dev/cert-request=request)", async () => {
        assert.deepEqual([KCERT_INGRESS_LABEL, KCERT_INGRESS_VALUE], ["kcert.dev/ingress", "managed"]);
        assert.deepEqual([KCERT_CERT_REQUEST_LABEL, KCERT_CERT_REQUEST_VALUE], ["kcert.dev/cert-request", "request"]);
    });

    it("JSDoc defaults: source polled hourly, applied every 10 minutes into kcert, Flux objects in flux-system, class contour", async () => {
        const { recorder } = await render();
        assert.equal(recorder.kubeObject("GitRepository", "kcert").spec.interval, "1h");
        const k = recorder.kubeObject("Kustomization", "kcert");
        assert.deepEqual(
            [k.spec.interval, k.spec.targetNamespace, k.metadata.namespace],
            ["10m", "kcert", "flux-system"],
        );
        assert.equal(k.spec.path, "./", "deploy.yml sits at the repository's root");
        assert.equal(k.spec.decryption, undefined);
        const env = envOf(k);
        assert.deepEqual(
            [env.CHALLENGEINGRESS__CLASSNAME, env.KCERT__WATCHINGRESSES, env.KCERT__WATCHCONFIGMAPS],
            ["contour", "true", "true"],
        );
    });

    it("intervals, namespaces and decryption from Args", async () => {
        const { recorder, value } = await render({
            sourceInterval: "6h",
            interval: "30m",
            namespace: "certs",
            fluxNamespace: "gitops",
            decryption: { provider: "sops", secretRef: { name: "sops-age" } },
        });
        const repo = recorder.kubeObject("GitRepository", "kcert");
        assert.deepEqual([repo.spec.interval, repo.metadata.namespace], ["6h", "gitops"]);
        const k = recorder.kubeObject("Kustomization", "kcert");
        assert.deepEqual([k.spec.interval, k.spec.targetNamespace, k.metadata.namespace], ["30m", "certs", "gitops"]);
        assert.deepEqual(k.spec.decryption, { provider: "sops", secretRef: { name: "sops-age" } });
        const out = (o: pulumi.Output<string>) => new Promise((r) => o.apply(r));
        assert.equal(await out(value.kcert.namespace), "certs");
        assert.equal(await out(value.kcert.image), "nabsul/kcert:v1.2.0");
        assert.equal(await out(value.kcert.directoryUrl), "https://acme-staging-v02.api.letsencrypt.org/directory");
    });

    it("a failed apply is retried every 2 minutes, and waits at most 5 minutes for KCert to be ready", async () => {
        const k = (await render()).recorder.kubeObject("Kustomization", "kcert");
        assert.deepEqual([k.spec.retryInterval, k.spec.timeout], ["2m", "5m"]);
    });
});
