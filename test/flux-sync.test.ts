import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SyncSettings } from "../components/flux/sync";
import { FLUX_SYNC_NAME, FluxBootstrap, type FluxBucketSource } from "../components/flux-bootstrap";
import { FluxSync } from "../components/flux-sync";
import { applyPatches, generatedSyncObjects } from "./flux-operator-sync";
import { containsSecret, inputValue, reveal, runComponent } from "./harness";

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

describe("FluxSync: names, namespace and order (FluxSyncArgs JSDoc)", () => {
    test("another namespace and sync name: every object there, the Kustomization reads that Bucket, the Bucket that Secret", async () => {
        const { recorder, value } = await runComponent(
            () => new FluxSync("flux-sync", { source: spaces, namespace: "gitops", syncName: "platform" }),
        );
        const bucket = recorder.kubeObject("Bucket", "platform");
        const kustomization = recorder.kubeObject("Kustomization", "platform");
        const secret = recorder.kubeObject("Secret", bucket.spec.secretRef.name);
        const settings = recorder.kubeObject("ConfigMap", "platform-settings");
        for (const o of [bucket, kustomization, secret, settings]) assert.equal(o.metadata.namespace, "gitops", o.kind);
        assert.deepEqual(kustomization.spec.sourceRef, { kind: "Bucket", name: "platform" });
        assert.equal(secret.type, "Opaque");
        assert.equal(settings.data.flux_namespace, "gitops");
        assert.deepEqual(settings.metadata.labels, { "app.kubernetes.io/part-of": "flux" });
        assert.deepEqual([await inputValue(value.namespace), await inputValue(value.syncName)], ["gitops", "platform"]);
    });

    test("every object is a child of the FluxSync (its URN and deletion follow it); sops-age only with an identity", async () => {
        const withKey = (
            await runComponent(
                () => new FluxSync("flux-sync", { source: spaces, sopsAgeIdentity: "AGE-SECRET-KEY-1X" }),
            )
        ).recorder;
        const kube = withKey.resources.filter((r) => r.type.startsWith("kubernetes:"));
        assert.deepEqual(kube.map((r) => r.name).sort(), [
            "flux-sync-bucket",
            "flux-sync-bucket-credentials",
            "flux-sync-kustomization",
            "flux-sync-settings",
            "flux-sync-sops-age",
        ]);
        for (const r of kube) assert.equal(r.parent, "gitops:flux:FluxSync::flux-sync", r.name);
        const plain = (await runComponent(() => new FluxSync("flux-sync", { source: spaces }))).recorder;
        assert.deepEqual(
            plain.kube("Secret").map((s) => reveal<any>(s.inputs).metadata.name),
            ["bucket-credentials"],
            "no age identity: no sops-age Secret (SyncSettings.sopsAgeIdentity default unset)",
        );
    });

    test("the Bucket waits for its key Secret; the root Kustomization for the Bucket and platform-settings", async () => {
        const { recorder } = await runComponent(() => new FluxSync("flux-sync", { source: spaces }));
        assert.deepEqual(recorder.dependsOn("kubernetes:source.toolkit.fluxcd.io/v1:Bucket", "flux-sync-bucket"), [
            "kubernetes:core/v1:Secret::flux-sync-bucket-credentials",
        ]);
        assert.deepEqual(
            recorder.dependsOn("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "flux-sync-kustomization"),
            [
                "kubernetes:source.toolkit.fluxcd.io/v1:Bucket::flux-sync-bucket",
                "kubernetes:core/v1:ConfigMap::flux-sync-settings",
            ],
        );
    });
});
