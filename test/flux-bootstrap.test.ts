import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
    FLUX_READY_TIMEOUT_SECONDS,
    FLUX_SYNC_NAME,
    FluxBootstrap,
    type FluxBootstrapArgs,
} from "../components/flux-bootstrap";
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

    test("the FluxInstance waits for the operator and the credentials", async () => {
        const { recorder } = await bootstrap();
        const fi = recorder.get("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux-instance");
        assert.deepEqual([...fi.dependsOn].sort(), [
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
            "pulumi.com/timeoutSeconds": String(FLUX_READY_TIMEOUT_SECONDS),
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
