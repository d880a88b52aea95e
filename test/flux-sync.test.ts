import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SyncSettings } from "../components/flux/sync";
import { FLUX_SYNC_NAME, FluxBootstrap, type FluxBucketSource } from "../components/flux-bootstrap";
import { FluxSync } from "../components/flux-sync";
import { applyPatches, generatedSyncObjects } from "./flux-operator-sync";
import { containsSecret, reveal, runComponent } from "./harness";

const inCluster: FluxBucketSource = {
    bucketName: "gitops",
    endpointHost: "seaweedfs.gitops-s3.svc.cluster.local:8333",
    region: "us-east-1",
    accessKeyId: "READ-KEY-ID",
    secretAccessKey: "READ-KEY-SECRET",
    insecure: true,
};
const spaces: FluxBucketSource = {
    bucketName: "gitops-bucket-1",
    endpointHost: "fra1.digitaloceanspaces.com",
    region: "fra1",
    accessKeyId: "READ-KEY-ID",
    secretAccessKey: "READ-KEY-SECRET",
};

/** The Bucket and root Kustomization the operator path ends with: generated, then patched. */
async function operatorPath(source: FluxBucketSource, settings: SyncSettings) {
    const { recorder } = await runComponent(() => new FluxBootstrap("flux", { source, ...settings }));
    const fi = recorder.kubeObject("FluxInstance", "flux");
    const { bucket, kustomization } = generatedSyncObjects(fi.spec);
    return {
        bucket: applyPatches(bucket, fi.spec.kustomize.patches),
        kustomization: applyPatches(kustomization, fi.spec.kustomize.patches),
    };
}

async function syncPath(source: FluxBucketSource, settings: SyncSettings) {
    const { recorder } = await runComponent(() => new FluxSync("flux-sync", { source, ...settings }));
    return {
        recorder,
        bucket: recorder.kubeObject("Bucket", FLUX_SYNC_NAME),
        kustomization: recorder.kubeObject("Kustomization", FLUX_SYNC_NAME),
    };
}

describe("FluxSync (an existing Flux installation)", () => {
    const cases: [string, FluxBucketSource, SyncSettings][] = [
        ["defaults, Spaces bucket", spaces, {}],
        [
            "every setting changed, in-cluster plain-HTTP bucket",
            inCluster,
            {
                path: "./clusters/local",
                sourceInterval: "30s",
                interval: "15m",
                retryInterval: "1m",
                timeout: "3m",
                wait: false,
            },
        ],
    ];
    for (const [what, source, settings] of cases) {
        test(`the Bucket and root Kustomization equal what the operator path produces (${what})`, async () => {
            const operator = await operatorPath(source, settings);
            const mine = await syncPath(source, settings);
            assert.deepEqual(mine.bucket.spec, operator.bucket.spec);
            assert.deepEqual(mine.kustomization.spec, operator.kustomization.spec);
            assert.deepEqual(
                [mine.bucket.apiVersion, mine.kustomization.apiVersion],
                [operator.bucket.apiVersion, operator.kustomization.apiVersion],
            );
            assert.equal(mine.bucket.metadata.namespace, "flux-system");
        });
    }

    test("the settings reach the objects (the comparison above is not between two empty specs)", async () => {
        const { bucket, kustomization } = await syncPath(inCluster, { interval: "15m", wait: false, timeout: "3m" });
        assert.deepEqual(
            {
                interval: kustomization.spec.interval,
                retryInterval: kustomization.spec.retryInterval,
                timeout: kustomization.spec.timeout,
                wait: kustomization.spec.wait,
                prune: kustomization.spec.prune,
                sourceRef: kustomization.spec.sourceRef,
            },
            {
                interval: "15m",
                retryInterval: "2m",
                timeout: "3m",
                wait: false,
                prune: true,
                sourceRef: { kind: "Bucket", name: FLUX_SYNC_NAME },
            },
        );
        assert.deepEqual(
            {
                endpoint: bucket.spec.endpoint,
                insecure: bucket.spec.insecure,
                provider: bucket.spec.provider,
                interval: bucket.spec.interval,
            },
            {
                endpoint: "seaweedfs.gitops-s3.svc.cluster.local:8333",
                insecure: true,
                provider: "generic",
                interval: "1m",
            },
        );
    });

    test("installs nothing: no Helm release, no FluxInstance, no namespace; the key is a secret", async () => {
        const { recorder, bucket } = await syncPath(spaces, {});
        assert.deepEqual(recorder.all("kubernetes:helm.sh/v3:Release"), []);
        assert.deepEqual(recorder.kube("FluxInstance"), []);
        assert.deepEqual(recorder.kube("Namespace"), []);
        assert.equal(bucket.spec.insecure, undefined, "HTTPS endpoints keep TLS");
        const secret = recorder.kube("Secret")[0];
        assert.equal(containsSecret(secret.inputs.stringData), true);
        assert.deepEqual(reveal(secret.inputs.stringData), { accesskey: "READ-KEY-ID", secretkey: "READ-KEY-SECRET" });
        assert.equal(bucket.spec.secretRef.name, reveal<any>(secret.inputs).metadata.name);
    });
});
