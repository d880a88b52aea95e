import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runOffline } from "../tools/mocks";
import { baseConfig, baseStack, inputValue, isSecretOutput, MockRecorder, redact, reveal, runStack } from "./harness";

const KEY = "digitalocean:index/spacesKey:SpacesKey";

describe("the whole program", () => {
    test("creates the cluster, the bucket with scoped keys, a provider and Flux", async () => {
        const run = await baseStack();
        assert.equal(run.error, undefined, String(run.error));
        const r = run.recorder;
        const cluster = reveal<any>(
            r.get("digitalocean:index/kubernetesCluster:KubernetesCluster", "doks-cluster").inputs,
        );
        assert.equal(cluster.version, "1.34.5-do.1", "prefix 1.34 resolves to the newest 1.34 slug the API offers");
        assert.equal(cluster.name, "do-gitops-platform-test");
        assert.ok(r.get("digitalocean:index/spacesBucket:SpacesBucket", "gitops-bucket"));
        assert.equal(r.all(KEY).length, 2);
        assert.ok(r.get("pulumi:providers:kubernetes", "doks"));
        assert.ok(r.kubeObject("FluxInstance", "flux"));
    });

    test("'latest' resolves to the newest version", async () => {
        const run = await runStack({ ...baseConfig(), cluster: { version: "latest" } });
        const cluster = reveal<any>(
            run.recorder.get("digitalocean:index/kubernetesCluster:KubernetesCluster", "doks-cluster").inputs,
        );
        assert.equal(cluster.version, "1.36.1-do.0");
    });

    test("Kubernetes objects go through the DOKS provider, built from the re-read kubeconfig", async () => {
        const { recorder } = await baseStack();
        const provider = recorder.get("pulumi:providers:kubernetes", "doks");
        assert.match(String(reveal(provider.inputs.kubeconfig)), /re-read on every run/);
        assert.equal(
            JSON.stringify(provider.inputs.kubeconfig).includes("1b47061264138c4ac30d75fd1eb44270"),
            true,
            "kubeconfig input is secret",
        );
        const kube = recorder.resources.filter(
            (x) => x.custom && x.type.startsWith("kubernetes:") && x.type !== "pulumi:providers:kubernetes",
        );
        assert.ok(kube.length >= 4);
        for (const x of kube) {
            assert.match(x.provider ?? "", /::doks::/, `${x.type} ${x.name} must use the DOKS provider`);
        }
    });

    test("Flux reads with the read-only key; uploads get the read-write key", async () => {
        const { recorder, rawOutputs } = await baseStack();
        const read = recorder.get(KEY, "gitops-read").state as { accessKey: string; secretKey: string };
        const upload = recorder.get(KEY, "gitops-upload").state as { accessKey: string; secretKey: string };
        const secret = recorder.kubeObject("Secret", "bucket-credentials");
        assert.deepEqual(secret.stringData, { accesskey: read.accessKey, secretkey: read.secretKey });
        assert.equal(await inputValue(rawOutputs!.uploadAccessKeyId as any), upload.accessKey);
        assert.equal(await inputValue(rawOutputs!.uploadSecretAccessKey as any), upload.secretKey);
    });

    test("outputs: what the upload tool and users need; credentials are secret", async () => {
        const { rawOutputs, outputs } = await baseStack();
        for (const key of [
            "bucketName",
            "bucketRegion",
            "bucketEndpoint",
            "clusterName",
            "kubernetesVersion",
            "fluxNamespace",
        ]) {
            assert.ok(outputs?.[key], `output ${key}`);
            assert.equal(await isSecretOutput(rawOutputs![key]), false, `${key} need not be secret`);
        }
        assert.equal(outputs!.bucketEndpoint, "https://fra1.digitaloceanspaces.com");
        for (const key of ["kubeconfig", "uploadAccessKeyId", "uploadSecretAccessKey"]) {
            assert.equal(await isSecretOutput(rawOutputs![key]), true, `${key} must be secret`);
        }
    });

    test("no generated credential appears in plaintext in any resource's recorded inputs", async () => {
        const recorder = new MockRecorder();
        await runStack(baseConfig(), { recorder });
        assert.ok(recorder.generatedSecrets.length >= 4);
        const everything = JSON.stringify(recorder.resources.map((r) => redact(r.inputs)));
        for (const s of recorder.generatedSecrets) {
            assert.equal(everything.includes(s), false, "a generated secret leaked into plaintext inputs");
        }
        // Sanity: the same check does see them when they are not redacted.
        const unredacted = JSON.stringify(recorder.resources.map((r) => reveal(r.inputs)));
        assert.ok(recorder.generatedSecrets.some((s) => unredacted.includes(s)));
    });
});

describe("stack traces in an offline run", () => {
    const options = { project: "p", stack: "s", config: {} };
    // The probe lifts the limit for its own stack, as Pulumi's Resource.callsites does.
    const fail = (seen: { during?: string }) => () => {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = Number.POSITIVE_INFINITY;
        seen.during = new Error("probe").stack;
        Error.stackTraceLimit = limit;
        throw new Error("the program failed");
    };

    test("during the run an error has its first line only; after it, stacks and their settings are as they were", async () => {
        const limit = Error.stackTraceLimit;
        const prepare = Error.prepareStackTrace;
        const seen: { during?: string } = {};
        const run = await runOffline({ ...options, stackTraces: false }, fail(seen));
        assert.equal(seen.during, "Error: probe");
        assert.equal((run.error as Error).message, "the program failed");
        assert.equal((run.error as Error).stack, "Error: the program failed");
        assert.equal(Error.stackTraceLimit, limit);
        assert.equal(Error.prepareStackTrace, prepare);
        assert.match(new Error("after").stack ?? "", /^Error: after\n\s+at /);
    });

    test("stackTraces: true keeps them during the run", async () => {
        const seen: { during?: string } = {};
        const run = await runOffline({ ...options, stackTraces: true }, fail(seen));
        assert.match(seen.during ?? "", /^Error: probe\n\s+at /);
        assert.match((run.error as Error).stack ?? "", /^Error: the program failed\n\s+at /);
    });
});
