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

describe("InClusterS3: the objects fit together", () => {
    test("the config checksum is the sha256 of the identities file the Secret holds (recomputed)", async () => {
        const { createHash } = await import("node:crypto");
        const { recorder } = await runComponent(() => new InClusterS3("s3"));
        const file = reveal<Record<string, string>>(recorder.kube("Secret")[0]!.inputs.stringData)["s3.json"]!;
        const d = recorder.kubeObject("Deployment", "seaweedfs");
        assert.equal(
            d.spec.template.metadata.annotations["checksum/s3-config"],
            createHash("sha256").update(file).digest("hex"),
        );
        assert.equal(containsSecret(recorder.kube("Deployment")[0]!.inputs), false, "a digest reveals no key");
    });

    test("the pod mounts the Secret's key and the claim by their names; Service, probe and policy reach its s3 port", async () => {
        const { recorder } = await runComponent(() => new InClusterS3("s3", { namespace: "store" }));
        const secret = recorder.kube("Secret")[0]!;
        const secretName = reveal<any>(secret.inputs).metadata.name;
        const d = recorder.kubeObject("Deployment", "seaweedfs");
        const pod = d.spec.template.spec;
        const c = pod.containers[0];
        const volumes = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
        const config = c.volumeMounts.find((m: any) => m.mountPath === "/etc/seaweedfs/s3.json");
        assert.equal(volumes[config.name].secret.secretName, secretName);
        assert.ok(Object.hasOwn(reveal<any>(secret.inputs).stringData, config.subPath), config.subPath);
        assert.equal(config.readOnly, true);
        const data = c.volumeMounts.find((m: any) => m.mountPath === "/data");
        const pvc = recorder.kubeObject("PersistentVolumeClaim", "seaweedfs-data");
        assert.equal(volumes[data.name].persistentVolumeClaim.claimName, pvc.metadata.name);
        assert.deepEqual(pvc.spec.accessModes, ["ReadWriteOnce"]);
        assert.equal(d.spec.replicas, 1);

        const s3Port = c.ports.find((p: any) => p.containerPort === S3_PORT);
        const svc = recorder.kubeObject("Service", "seaweedfs");
        assert.equal(svc.spec.ports[0].targetPort, s3Port.name);
        assert.equal(c.readinessProbe.tcpSocket.port, s3Port.name);
        const selects = (sel: Record<string, string>, labels: Record<string, string>) =>
            Object.entries(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v);
        const podLabels = d.spec.template.metadata.labels;
        assert.ok(selects(d.spec.selector.matchLabels, podLabels));
        assert.ok(selects(svc.spec.selector, podLabels));
        const np = recorder.kubeObject("NetworkPolicy", "seaweedfs-s3-only");
        assert.ok(selects(np.spec.podSelector.matchLabels, podLabels));
        assert.deepEqual(np.spec.policyTypes, ["Ingress"]);
        for (const o of [secret, ...recorder.kube("Deployment"), ...recorder.kube("Service")])
            assert.equal(reveal<any>(o.inputs).metadata.namespace, "store");
        assert.equal(recorder.kubeObject("Namespace", "store").metadata.name, "store");
    });

    test("SeaweedFS runs only what the bucket needs: no IAM API, WebDAV, admin UI, telemetry, Iceberg or Lance ports", async () => {
        // `weed mini` flags (SeaweedFS weed/command/mini.go): each of these services is on by default
        const { recorder } = await runComponent(() => new InClusterS3("s3"));
        const args: string[] = recorder.kubeObject("Deployment", "seaweedfs").spec.template.spec.containers[0].args;
        assert.equal(args[0], "mini", "the image's entrypoint runs weed <args>");
        for (const flag of [
            "-s3.iam=false",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ])
            assert.ok(args.includes(flag), flag);
    });

    test("defaults (JSDoc): namespace gitops-s3, bucket gitops, 1Gi on the default class, awaited; keys shaped like AWS's", async () => {
        const { recorder, value } = await runComponent(() => new InClusterS3("s3"));
        assert.equal(recorder.kubeObject("Namespace", "gitops-s3").metadata.name, "gitops-s3");
        assert.equal(await inputValue(value.bucketName), "gitops");
        const pvc = recorder.kubeObject("PersistentVolumeClaim", "seaweedfs-data");
        assert.equal(pvc.spec.resources.requests.storage, "1Gi");
        assert.equal("storageClassName" in pvc.spec, false);
        assert.equal(pvc.metadata.annotations, undefined);
        assert.equal(await inputValue(value.endpointHost), "seaweedfs.gitops-s3.svc.cluster.local:8333");
        // an access key ID of 20 and a secret key of 40 characters, letters and digits (AWS's shape),
        // each output the result of its own generator
        const password = (n: string) => recorder.get("random:index/randomPassword:RandomPassword", `s3-${n}`);
        for (const [key, gen, length] of [
            ["readAccessKeyId", "read-id", 20],
            ["uploadAccessKeyId", "upload-id", 20],
            ["readSecretAccessKey", "read-secret", 40],
            ["uploadSecretAccessKey", "upload-secret", 40],
        ] as const) {
            assert.deepEqual([password(gen).inputs.length, password(gen).inputs.special], [length, false], gen);
            assert.equal(await inputValue(value[key]), password(gen).state.result, key);
        }
        assert.equal(await inputValue(value.serviceName), "seaweedfs");
        assert.equal(await inputValue(value.servicePort), 8333);
    });

    test("skipAwait marks the claim and the Deployment with pulumi.com/skipAwait", async () => {
        const { recorder } = await runComponent(
            () => new InClusterS3("s3", { skipAwait: true, image: "mirror/seaweedfs:x" }),
        );
        for (const kind of ["PersistentVolumeClaim", "Deployment"] as const) {
            const o = recorder.kube(kind)[0]!;
            assert.deepEqual(reveal<any>(o.inputs).metadata.annotations, { "pulumi.com/skipAwait": "true" }, kind);
        }
        assert.equal(
            recorder.kubeObject("Deployment", "seaweedfs").spec.template.spec.containers[0].image,
            "mirror/seaweedfs:x",
        );
    });
});
