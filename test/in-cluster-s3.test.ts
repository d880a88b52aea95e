import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InClusterS3, S3_PORT, s3IdentitiesConfig } from "../components/in-cluster-s3";
import { seaweedfsImage, versions } from "../components/versions";
import { containsSecret, inputValue, isSecretOutput, reveal, runComponent } from "./harness";

describe("InClusterS3", () => {
    test("the identities file: two keys, each scoped to the one bucket, neither an admin", () => {
        const cfg = s3IdentitiesConfig("platform", {
            read: { accessKey: "R", secretKey: "RS" },
            readwrite: { accessKey: "W", secretKey: "WS" },
        });
        assert.deepEqual(cfg, {
            identities: [
                {
                    name: "flux-read",
                    credentials: [{ accessKey: "R", secretKey: "RS" }],
                    actions: ["Read:platform", "List:platform"],
                },
                {
                    name: "upload",
                    credentials: [{ accessKey: "W", secretKey: "WS" }],
                    actions: ["Read:platform", "List:platform", "Write:platform"],
                },
            ],
        });
    });

    test("a pinned SeaweedFS that creates the bucket, reads the identities file and keeps data on a volume", async () => {
        const { recorder, value } = await runComponent(
            () =>
                new InClusterS3("s3", {
                    namespace: "store",
                    bucket: "platform",
                    storageSize: "2Gi",
                    storageClass: "standard",
                }),
        );
        assert.equal(seaweedfsImage, `chrislusf/seaweedfs:${versions.seaweedfs.tag}`);
        const d = recorder.kubeObject("Deployment", "seaweedfs");
        assert.equal(d.metadata.namespace, "store");
        assert.equal(d.spec.strategy.type, "Recreate", "one writer on a ReadWriteOnce volume");
        const c = d.spec.template.spec.containers[0];
        assert.equal(c.image, seaweedfsImage);
        assert.ok(c.args.includes("-bucket=platform"));
        assert.ok(c.args.includes("-s3.config=/etc/seaweedfs/s3.json"));
        assert.ok(c.args.includes("-s3.autoCreateBucket=false"));
        assert.deepEqual(
            c.volumeMounts.map((m: { mountPath: string }) => m.mountPath),
            ["/data", "/etc/seaweedfs/s3.json"],
        );
        const pvc = recorder.kubeObject("PersistentVolumeClaim", "seaweedfs-data");
        assert.deepEqual([pvc.spec.resources.requests.storage, pvc.spec.storageClassName], ["2Gi", "standard"]);

        const svc = recorder.kubeObject("Service", "seaweedfs");
        assert.deepEqual(svc.spec.ports, [{ name: "s3", port: S3_PORT, targetPort: "s3" }]);
        assert.equal(svc.spec.type, "ClusterIP", "not published outside the cluster");
        const np = recorder.kubeObject("NetworkPolicy", "seaweedfs-s3-only");
        assert.deepEqual(np.spec.ingress, [{ ports: [{ protocol: "TCP", port: 8333 }] }]);

        assert.equal(await inputValue(value.endpointHost), "seaweedfs.store.svc.cluster.local:8333");
        assert.equal(await inputValue(value.endpoint), "http://seaweedfs.store.svc.cluster.local:8333");
        for (const key of [
            "readAccessKeyId",
            "readSecretAccessKey",
            "uploadAccessKeyId",
            "uploadSecretAccessKey",
        ] as const) {
            assert.equal(await isSecretOutput(value[key]), true, `${key} is secret`);
        }
    });

    test("the identities file holds the generated keys, as a secret; a new file restarts the server", async () => {
        const { recorder, value } = await runComponent(() => new InClusterS3("s3"));
        const secret = recorder.kube("Secret")[0]!;
        assert.equal(containsSecret(secret.inputs.stringData), true);
        const file = JSON.parse(reveal<Record<string, string>>(secret.inputs.stringData)["s3.json"]);
        const [read, upload] = file.identities;
        assert.equal(read.credentials[0].accessKey, await inputValue(value.readAccessKeyId));
        assert.equal(read.credentials[0].secretKey, await inputValue(value.readSecretAccessKey));
        assert.equal(upload.credentials[0].secretKey, await inputValue(value.uploadSecretAccessKey));
        assert.deepEqual(read.actions, ["Read:gitops", "List:gitops"]);
        const generated = recorder.all("random:index/randomPassword:RandomPassword").map((r) => r.state.result);
        assert.equal(new Set(generated).size, 4, "four independent random values");
        const d = recorder.kubeObject("Deployment", "seaweedfs");
        assert.match(d.spec.template.metadata.annotations["checksum/s3-config"], /^[0-9a-f]{64}$/);
        assert.equal(d.metadata.annotations, undefined, "awaited by default");
    });
});
