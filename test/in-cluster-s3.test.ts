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

/**
 * `weed mini`'s flags as SeaweedFS 4.44 defines them (weed/command/mini.go at tag 4.44, commit 3563738:
 * `cmdMini.Flag.*(name, default, …)`), for the flags the component passes and the two it
 * must not: `-dir`, which the image's entrypoint (docker/entrypoint.sh, `mini` case) sets to
 * `/data` unless given, and `-s3.port`, whose default is the port the Service targets.
 */
const WEED_MINI_4_44_DEFAULTS: Readonly<Record<string, string>> = {
    dir: ".",
    "s3.port": "8333",
    "s3.config": "",
    bucket: "",
    "s3.autoCreateBucket": "true",
    "s3.iam": "true",
    webdav: "true",
    "admin.ui": "true",
    "master.telemetry": "true",
    "s3.port.iceberg": "8181",
    "s3.port.lance": "9101",
};

describe("InClusterS3 against SeaweedFS 4.44", () => {
    test("the table above is SeaweedFS's pinned tag (re-read mini.go's flags and the entrypoint on a bump)", () => {
        assert.equal(versions.seaweedfs.tag, "4.44");
    });

    test("every flag passed is one `weed mini` defines, set away from its default; the data dir and S3 port are the image's", async () => {
        for (const bucket of ["gitops", "platform-2"]) {
            const { recorder } = await runComponent(() => new InClusterS3("s3", { bucket }));
            const pod = recorder.kubeObject("Deployment", "seaweedfs").spec.template.spec;
            const [command, ...flags]: string[] = pod.containers[0].args;
            assert.equal(command, "mini");
            const passed = new Map<string, string>();
            for (const flag of flags) {
                const m = /^-([A-Za-z0-9.]+)=(.*)$/.exec(flag);
                assert.ok(m, `${flag}: -name=value`);
                const [, name, value] = m;
                assert.ok(Object.hasOwn(WEED_MINI_4_44_DEFAULTS, name!), `${name}: a flag of weed mini`);
                assert.notEqual(value, WEED_MINI_4_44_DEFAULTS[name!], `${name}: passed at its default`);
                assert.equal(passed.has(name!), false, `${name} passed twice`);
                passed.set(name!, value!);
            }
            assert.equal(passed.get("bucket"), bucket);
            // The entrypoint's `-dir=/data` applies (no -dir given), so the volume is mounted there.
            assert.equal(passed.has("dir"), false);
            const data = pod.volumes.find((v: any) => v.persistentVolumeClaim);
            const mount = pod.containers[0].volumeMounts.find((m: any) => m.name === data.name);
            assert.equal(mount.mountPath, "/data");
            // The server listens on the default S3 port, which the container port names.
            assert.equal(passed.has("s3.port"), false);
            assert.equal(String(S3_PORT), WEED_MINI_4_44_DEFAULTS["s3.port"]);
            // The identities file is read from where the Secret's key is mounted.
            const config = pod.containers[0].volumeMounts.find((m: any) => m.mountPath === passed.get("s3.config"));
            assert.ok(config, `a mount at ${passed.get("s3.config")}`);
            assert.ok(pod.volumes.find((v: any) => v.name === config.name).secret, "the identities file is a Secret's");
        }
    });
});
