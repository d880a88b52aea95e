/**
 * deleteUnreachable on the Kubernetes provider only for a destroy of a cluster that is gone.
 *
 * pulumi-kubernetes (provider/pkg/provider/provider.go): with deleteUnreachable and an
 * unreachable cluster, Read answers "deleted" for every object, Helm releases included (the
 * check runs before the Helm dispatch), and Delete succeeds without a call; without it both
 * fail. Helm releases refuse Delete on an unreachable cluster whatever the flag ("can't
 * delete Helm Release with unreachable cluster"), which is why `make destroy` refreshes first.
 * Provider inputs reach the provider as strings, and it compares with "true" (provider.go).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { baseConfig, FAKE_ENV, MockRecorder, reveal, runStack } from "./harness";

const PROVIDER = "pulumi:providers:kubernetes";
const GET_CLUSTER = "digitalocean:index/getKubernetesCluster:getKubernetesCluster";
const CLUSTER_NAME = "do-gitops-platform-test";

async function provider(env: NodeJS.ProcessEnv, existing: Record<string, string>) {
    const recorder = new MockRecorder(undefined, existing);
    const run = await runStack(baseConfig(), { recorder, program: { env: { ...FAKE_ENV, ...env } } });
    assert.equal(run.error, undefined, String(run.error));
    const p = recorder.get(PROVIDER, "doks");
    return { inputs: reveal<Record<string, unknown>>(p.inputs), recorder };
}

describe("the Kubernetes provider's deleteUnreachable", () => {
    test("off, explicitly, for a deployment (so PULUMI_K8S_DELETE_UNREACHABLE cannot turn it on)", async () => {
        const fresh = await provider({}, {});
        assert.equal(fresh.inputs.deleteUnreachable, "false");
        const update = await provider({}, { [CLUSTER_NAME]: "1.34.5-do.1" });
        assert.equal(update.inputs.deleteUnreachable, "false");
    });

    test("off for make destroy's runs while the cluster exists; credentials re-read as usual", async () => {
        const { inputs, recorder } = await provider({ DO_GITOPS_DESTROY: "1" }, { [CLUSTER_NAME]: "1.34.5-do.1" });
        assert.equal(inputs.deleteUnreachable, "false");
        assert.match(String(inputs.kubeconfig), /re-read on every run/);
        assert.ok(recorder.calls.filter((c) => c.token === GET_CLUSTER).length >= 2, "lookup and credentials");
    });

    test("on for make destroy's runs when DigitalOcean has no cluster of that name; no credential read", async () => {
        const { inputs, recorder } = await provider({ DO_GITOPS_DESTROY: "1" }, {});
        assert.equal(inputs.deleteUnreachable, "true");
        const kubeconfig = parse(String(inputs.kubeconfig));
        assert.deepEqual(kubeconfig.clusters, [], "a kubeconfig naming no cluster: unreachable, never ~/.kube/config");
        assert.equal(recorder.calls.filter((c) => c.token === GET_CLUSTER).length, 1, "only the lookup");
    });

    test("on with make destroy CLUSTER_GONE=1 even though DigitalOcean still lists the cluster", async () => {
        const { inputs } = await provider(
            { DO_GITOPS_DESTROY: "1", DO_GITOPS_CLUSTER_GONE: "1" },
            { [CLUSTER_NAME]: "1.34.5-do.1" },
        );
        assert.equal(inputs.deleteUnreachable, "true");
    });

    test("CLUSTER_GONE alone, outside make destroy, changes nothing", async () => {
        const { inputs } = await provider({ DO_GITOPS_CLUSTER_GONE: "1" }, { [CLUSTER_NAME]: "1.34.5-do.1" });
        assert.equal(inputs.deleteUnreachable, "false");
    });

    test("a destroy does not check the version: a slug DigitalOcean dropped does not block it", async () => {
        const recorder = new MockRecorder(undefined, {});
        const run = await runStack(
            { ...baseConfig(), cluster: { version: "1.30.1-do.0" } },
            { recorder, program: { env: { ...FAKE_ENV, DO_GITOPS_DESTROY: "1" } } },
        );
        assert.equal(run.error, undefined, String(run.error));
    });
});
