import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { FLUX_SYNC_NAME, FluxBootstrap, type FluxBootstrapArgs } from "../components/flux-bootstrap";
import { versions } from "../components/versions";
import { applyPatches, generatedSyncObjects } from "./flux-operator-sync";
import { reveal, runComponent } from "./harness";

const source = {
    bucketName: "gitops-bucket-1",
    endpointHost: "fra1.digitaloceanspaces.com",
    region: "fra1",
    accessKeyId: "READ-KEY-ID",
    secretAccessKey: "READ-KEY-SECRET",
};

async function bootstrap(extra: Partial<FluxBootstrapArgs> = {}) {
    return runComponent(() => new FluxBootstrap("flux", { source, ...extra }));
}

describe("FluxBootstrap", () => {
    test("installs the pinned Flux Operator chart into the Flux namespace", async () => {
        const { recorder } = await bootstrap();
        const release = reveal<any>(recorder.get("kubernetes:helm.sh/v3:Release", "flux-operator").inputs);
        assert.equal(release.chart, `${versions.fluxOperatorChart.repo}/flux-operator`);
        assert.equal(release.version, versions.fluxOperatorChart.version);
        assert.match(release.version, /^\d+\.\d+\.\d+$/, "an exact chart version, not a range");
        assert.equal(release.namespace, "flux-system");
        assert.equal(release.values.installCRDs, true);
        assert.equal(recorder.kubeObject("Namespace", "flux-system").kind, "Namespace");
    });

    test("the FluxInstance pins Flux, turns network policies on and syncs from the bucket", async () => {
        const { recorder } = await bootstrap();
        const fi = recorder.kubeObject("FluxInstance", "flux");
        assert.equal(fi.apiVersion, "fluxcd.controlplane.io/v1");
        assert.equal(fi.metadata.namespace, "flux-system");
        assert.equal(fi.spec.distribution.version, versions.flux);
        assert.match(fi.spec.distribution.version, /^2\.9\.\d+$/);
        assert.equal(fi.spec.cluster.networkPolicy, true);
        assert.ok(fi.spec.components.includes("notification-controller"));
        assert.deepEqual(
            { kind: fi.spec.sync.kind, url: fi.spec.sync.url, ref: fi.spec.sync.ref, provider: fi.spec.sync.provider },
            { kind: "Bucket", url: "fra1.digitaloceanspaces.com", ref: "gitops-bucket-1", provider: "generic" },
        );
        assert.doesNotMatch(fi.spec.sync.url, /^https?:/, "source-controller wants the endpoint without a scheme");
    });

    test("the pull secret holds the read-only key under accesskey/secretkey, as a secret", async () => {
        const { recorder } = await bootstrap();
        const fi = recorder.kubeObject("FluxInstance", "flux");
        const secret = recorder.kubeObject("Secret", fi.spec.sync.pullSecret);
        assert.equal(secret.metadata.namespace, "flux-system");
        // source-controller's generic provider reads these two keys of an Opaque Secret (Flux docs, Bucket secretRef)
        assert.equal(secret.type, "Opaque");
        assert.deepEqual(secret.stringData, { accesskey: "READ-KEY-ID", secretkey: "READ-KEY-SECRET" });
        const raw = recorder.kube("Secret")[0].inputs.stringData;
        assert.equal(
            JSON.stringify(raw).includes("4dabf18193072939515e22adb298388d"),
            true,
            "stringData is a secret value",
        );
    });

    test("the root Kustomization gets prune, interval, retryInterval, timeout and wait", async () => {
        const { recorder } = await bootstrap({
            interval: "15m",
            retryInterval: "1m",
            timeout: "3m",
            wait: true,
            path: "./clusters/dev",
        });
        const fi = recorder.kubeObject("FluxInstance", "flux");
        const { kustomization, bucket } = generatedSyncObjects(fi.spec);
        const k = applyPatches(kustomization, fi.spec.kustomize.patches);
        assert.deepEqual(
            {
                prune: k.spec.prune,
                interval: k.spec.interval,
                retryInterval: k.spec.retryInterval,
                timeout: k.spec.timeout,
                wait: k.spec.wait,
                path: k.spec.path,
            },
            { prune: true, interval: "15m", retryInterval: "1m", timeout: "3m", wait: true, path: "./clusters/dev" },
        );
        const b = applyPatches(bucket, fi.spec.kustomize.patches);
        assert.equal(b.spec.region, "fra1");
        assert.equal(b.metadata.name, FLUX_SYNC_NAME);
    });

    test("the root Kustomization substitutes the stack's values; platform-settings holds the same for the tree's layers", async () => {
        const { recorder } = await bootstrap({ namespace: "gitops", settings: { cluster_name: "blue" } });
        const fi = recorder.kubeObject("FluxInstance", "flux");
        const { kustomization } = generatedSyncObjects(fi.spec);
        const k = applyPatches(
            { ...kustomization, metadata: { ...kustomization.metadata, namespace: "gitops" } },
            fi.spec.kustomize.patches,
        );
        assert.deepEqual(k.spec.postBuild, {
            substitute: { cluster_name: "blue", flux_namespace: "gitops", quote: '"' },
        });
        const cm = recorder.kubeObject("ConfigMap", "platform-settings");
        assert.equal(cm.metadata.namespace, "gitops");
        assert.deepEqual(cm.data, k.spec.postBuild.substitute);
        await assert.rejects(
            runComponent(() => new FluxBootstrap("bad", { source, settings: { "cluster-name": "x" } })),
            /settings names must match/,
        );
    });

    test("the FluxInstance waits for the operator, the credentials and the settings", async () => {
        const { recorder } = await bootstrap();
        const fi = recorder.get("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux-instance");
        assert.deepEqual([...fi.dependsOn].sort(), [
            "kubernetes:core/v1:ConfigMap::flux-settings",
            "kubernetes:core/v1:Secret::flux-bucket-credentials",
            "kubernetes:helm.sh/v3:Release::flux-operator",
        ]);
    });
});

describe("FluxBootstrap: waiting for Flux's CRDs", () => {
    test("the FluxInstance carries pulumi-kubernetes' waitFor (condition Ready) and a timeout in seconds", async () => {
        const annotations = (await bootstrap()).recorder.kubeObject("FluxInstance", "flux").metadata.annotations;
        assert.deepEqual(annotations, {
            "pulumi.com/waitFor": "condition=Ready",
            "pulumi.com/timeoutSeconds": "900",
        });
        const custom = (await bootstrap({ readyTimeoutSeconds: 1200 })).recorder.kubeObject("FluxInstance", "flux");
        assert.equal(custom.metadata.annotations["pulumi.com/timeoutSeconds"], "1200");
    });

    test("refuses a timeout that is not a positive whole number of seconds", async () => {
        for (const bad of [0, -5, 12.5]) {
            await assert.rejects(
                bootstrap({ readyTimeoutSeconds: bad }),
                /readyTimeoutSeconds must be a positive integer/,
            );
        }
    });
});

/**
 * The NetworkPolicies the Flux Operator generates with `cluster.networkPolicy: true`
 * (test/fixtures/flux-network-policies.json: Flux v2.9.4's `policies.yaml` as flux-operator
 * v0.58.1 ships it in config/data/flux/v2.9.4/, before kustomize sets their namespace), patched
 * as the FluxInstance's `kustomize.patches` say, then evaluated the way Kubernetes does: a pod
 * selected by at least one Ingress policy admits a connection only if some rule of some such
 * policy admits it (policies are additive).
 */
describe("FluxBootstrap: who may reach the receivers (port 9292)", () => {
    const FLUX_NS = "flux-system";
    const notificationController = { namespace: FLUX_NS, labels: { app: "notification-controller" } };

    const matches = (selector: any, labels: Record<string, string>) =>
        Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
        (selector?.matchExpressions ?? []).length === 0;
    /** Does the (namespaced) policy admit TCP `port` from a pod in `fromNs` with `fromLabels`? */
    function admits(policy: any, port: number, fromNs: string, fromLabels: Record<string, string>): boolean {
        return (policy.spec.ingress ?? []).some((rule: any) => {
            const portOk =
                !rule.ports?.length || rule.ports.some((p: any) => p.port === port && (p.protocol ?? "TCP") === "TCP");
            const peerOk =
                !rule.from?.length ||
                rule.from.some((peer: any) => {
                    const nsLabels = { "kubernetes.io/metadata.name": fromNs };
                    if (peer.ipBlock) return false;
                    const nsOk = peer.namespaceSelector
                        ? matches(peer.namespaceSelector, nsLabels)
                        : fromNs === policy.metadata.namespace;
                    const podOk = peer.podSelector ? matches(peer.podSelector, fromLabels) : true;
                    return nsOk && podOk;
                });
            return portOk && peerOk;
        });
    }
    function reachable(policies: any[], port: number, fromNs: string, fromLabels: Record<string, string> = {}) {
        const selecting = policies.filter(
            (p) =>
                p.metadata.namespace === notificationController.namespace &&
                (p.spec.policyTypes ?? ["Ingress"]).includes("Ingress") &&
                matches(p.spec.podSelector, notificationController.labels),
        );
        return selecting.length === 0 || selecting.some((p) => admits(p, port, fromNs, fromLabels));
    }
    /** The generated policies after the FluxInstance's patches and kustomize's namespace transformer. */
    async function policiesOf(extra: Partial<FluxBootstrapArgs>) {
        const fi = (await bootstrap(extra)).recorder.kubeObject("FluxInstance", "flux");
        const upstream: any[] = JSON.parse(
            readFileSync(path.join(__dirname, "fixtures", "flux-network-policies.json"), "utf8"),
        );
        return upstream.map((p) => {
            const patched = applyPatches(p, fi.spec.kustomize.patches);
            return { ...patched, metadata: { ...patched.metadata, namespace: FLUX_NS } };
        });
    }

    test("without webhookClientNamespace the operator's policies stay as they are: webhooks from every namespace", async () => {
        const fi = (await bootstrap()).recorder.kubeObject("FluxInstance", "flux");
        assert.deepEqual(
            fi.spec.kustomize.patches.filter((p: any) => p.target.kind === "NetworkPolicy"),
            [],
            "no patch of allow-webhooks (FluxBootstrapArgs.webhookClientNamespace: default unset)",
        );
        const upstream = await policiesOf({});
        assert.equal(reachable(upstream, 9292, "podinfo"), true);
        assert.equal(reachable(upstream, 9191, "podinfo"), false);
    });

    test("with webhookClientNamespace, 9292 is admitted only from that namespace (and Flux's own)", async () => {
        const policies = await policiesOf({ webhookClientNamespace: "projectcontour" });
        assert.equal(reachable(policies, 9292, "projectcontour", { app: "envoy" }), true);
        for (const other of ["podinfo", "default", "kcert", "kube-system"]) {
            assert.equal(reachable(policies, 9292, other), false, other);
        }
        // Unchanged: metrics from every namespace, everything from inside the Flux namespace.
        assert.equal(reachable(policies, 8080, "monitoring"), true);
        assert.equal(reachable(policies, 9292, FLUX_NS), true);
    });

    test("the patch targets the policy by kind and name only (kustomize patches before it sets namespaces)", async () => {
        const fi = (await bootstrap({ webhookClientNamespace: "edge" })).recorder.kubeObject("FluxInstance", "flux");
        const np = fi.spec.kustomize.patches.filter((p: any) => p.target.kind === "NetworkPolicy");
        assert.equal(np.length, 1);
        assert.deepEqual(np[0].target, {
            group: "networking.k8s.io",
            version: "v1",
            kind: "NetworkPolicy",
            name: "allow-webhooks",
        });
    });

    test("no patch when Flux's network policies are off", async () => {
        const fi = (await bootstrap({ webhookClientNamespace: "edge", networkPolicy: false })).recorder.kubeObject(
            "FluxInstance",
            "flux",
        );
        assert.equal(fi.spec.cluster.networkPolicy, false);
        assert.ok(!fi.spec.kustomize.patches.some((p: any) => p.target.kind === "NetworkPolicy"));
    });
});

describe("FluxBootstrap: what the FluxInstance asks the operator for", () => {
    // flux-operator v0.58's FluxInstance CRD: spec.components enum (source-controller,
    // kustomize-controller, helm-controller, notification-controller, image-reflector-controller,
    // image-automation-controller, source-watcher), spec.cluster.type enum (kubernetes, openshift,
    // aws, azure, gcp), spec.cluster.size enum (small, medium, large), spec.wait.
    test("Flux's four controllers by default; the two image controllers with imageAutomation", async () => {
        const plain = (await bootstrap()).recorder.kubeObject("FluxInstance", "flux").spec;
        assert.deepEqual(plain.components, [
            "source-controller",
            "kustomize-controller",
            "helm-controller",
            "notification-controller",
        ]);
        const image = (await bootstrap({ imageAutomation: true })).recorder.kubeObject("FluxInstance", "flux").spec;
        assert.deepEqual(image.components, [
            "source-controller",
            "kustomize-controller",
            "helm-controller",
            "notification-controller",
            "image-reflector-controller",
            "image-automation-controller",
        ]);
    });

    test("a generic Kubernetes cluster, sized only when asked; the operator waits for what it applies", async () => {
        const plain = (await bootstrap()).recorder.kubeObject("FluxInstance", "flux").spec;
        assert.deepEqual(plain.cluster, { type: "kubernetes", networkPolicy: true });
        assert.equal(plain.wait, true);
        const sized = (await bootstrap({ size: "large" })).recorder.kubeObject("FluxInstance", "flux").spec;
        assert.equal(sized.cluster.size, "large");
    });

    test("the sync reads ./ every minute by default (SyncSettings JSDoc), with the pull secret; both from Args", async () => {
        const plain = (await bootstrap()).recorder.kubeObject("FluxInstance", "flux").spec.sync;
        assert.deepEqual([plain.name, plain.path, plain.interval], ["flux-system", "./", "1m"]);
        assert.equal(plain.pullSecret, "bucket-credentials");
        const given = (await bootstrap({ path: "./clusters/blue", sourceInterval: "30s" })).recorder.kubeObject(
            "FluxInstance",
            "flux",
        ).spec.sync;
        assert.deepEqual([given.path, given.interval], ["./clusters/blue", "30s"]);
    });

    test("versions from Args replace the pins", async () => {
        const { recorder } = await bootstrap({ fluxVersion: "2.9.0", operatorChartVersion: "0.50.0" });
        assert.equal(recorder.kubeObject("FluxInstance", "flux").spec.distribution.version, "2.9.0");
        assert.equal(
            reveal<any>(recorder.get("kubernetes:helm.sh/v3:Release", "flux-operator").inputs).version,
            "0.50.0",
        );
    });

    test("the Flux namespace carries Flux's own label (app.kubernetes.io/part-of: flux), in another namespace too", async () => {
        const { recorder } = await bootstrap({ namespace: "gitops" });
        assert.deepEqual(recorder.kubeObject("Namespace", "gitops").metadata.labels, {
            "app.kubernetes.io/part-of": "flux",
        });
        const fi = recorder.kubeObject("FluxInstance", "flux");
        assert.equal(fi.metadata.namespace, "gitops");
        assert.equal(recorder.kubeObject("Secret", "bucket-credentials").metadata.namespace, "gitops");
    });

    test("a failed operator install is rolled back and cleaned up, within 10 minutes", async () => {
        const release = reveal<any>(
            (await bootstrap()).recorder.get("kubernetes:helm.sh/v3:Release", "flux-operator").inputs,
        );
        assert.deepEqual(
            [release.name, release.atomic, release.cleanupOnFail, release.timeout],
            ["flux-operator", true, true, 600],
        );
    });

    test("with an age identity, the FluxInstance also waits for the sops-age Secret", async () => {
        const { recorder } = await bootstrap({ sopsAgeIdentity: "AGE-SECRET-KEY-1TEST" });
        const fi = recorder.get("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux-instance");
        assert.ok(fi.dependsOn.includes("kubernetes:core/v1:Secret::flux-sops-age"), fi.dependsOn.join(", "));
    });

    test("a timeout of 1 second is the least accepted; the error names the component and the value", async () => {
        const one = (await bootstrap({ readyTimeoutSeconds: 1 })).recorder.kubeObject("FluxInstance", "flux");
        assert.equal(one.metadata.annotations["pulumi.com/timeoutSeconds"], "1");
        assert.throws(
            () => new FluxBootstrap("flux-x", { source, readyTimeoutSeconds: 0 }),
            (e: Error) => e.message === "FluxBootstrap flux-x: readyTimeoutSeconds must be a positive integer, got 0",
        );
    });
});
