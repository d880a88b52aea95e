/**
 * The cluster's Kubernetes version, decided against the cluster that runs.
 *
 * Independent facts (terraform-provider-digitalocean, digitalocean/kubernetes/
 * resource_kubernetes_cluster.go): a rising `version` is an in-place upgrade
 * (`Kubernetes.Upgrade`), a lower one replaces the cluster (`ForceNewIfChange("version",
 * new < old)`), and refresh stores the version the cluster runs. So for a running cluster the
 * declared version must never be below what runs. The mocked DigitalOcean API offers
 * 1.36.1-do.0, 1.35.4-do.0 and 1.34.5-do.1 (tools/mocks.ts); the running versions below are
 * chosen outside that list on purpose (auto-upgraded, or dropped since).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { baseConfig, MockRecorder, reveal, runStack } from "./harness";

const CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster";
const NAME = "do-gitops-platform-test";

async function declared(version: string | undefined, running?: string, clusterName?: string) {
    const recorder = new MockRecorder(undefined, running ? { [clusterName ?? NAME]: running } : {});
    const cluster: Record<string, unknown> = { ...baseConfig().cluster };
    if (version === undefined) delete cluster.version;
    else cluster.version = version;
    if (clusterName) cluster.name = clusterName;
    const run = await runStack({ ...baseConfig(), cluster }, { recorder });
    if (run.error) return { error: String((run.error as Error).message) };
    return { version: reveal<{ version: string }>(recorder.get(CLUSTER, "doks-cluster").inputs).version };
}

describe("the cluster's Kubernetes version", () => {
    test("a new cluster: the newest slug of the minor asked for; by default the newest offered", async () => {
        assert.deepEqual(await declared("1.35"), { version: "1.35.4-do.0" });
        assert.deepEqual(await declared(undefined), { version: "1.36.1-do.0" });
        assert.deepEqual(await declared("1.34.5-do.1"), { version: "1.34.5-do.1" });
    });

    test("the default never upgrades a running cluster's minor when DigitalOcean ships a newer one", async () => {
        assert.deepEqual(await declared(undefined, "1.34.5-do.1"), { version: "1.34.5-do.1" });
        assert.deepEqual(await declared("latest", "1.35.2-do.0"), { version: "1.35.2-do.0" });
    });

    test("after a patch auto-upgrade, the same minor keeps what runs (an older slug would replace the cluster)", async () => {
        assert.deepEqual(await declared("1.35", "1.35.6-do.1"), { version: "1.35.6-do.1" });
        assert.deepEqual(await declared("1.35.4-do.0", "1.35.6-do.1"), { version: "1.35.6-do.1" });
    });

    test("a pinned slug DigitalOcean dropped does not stop the program when that minor runs", async () => {
        assert.deepEqual(await declared("1.35.2-do.0", "1.35.2-do.0"), { version: "1.35.2-do.0" });
        assert.deepEqual(await declared("1.33.9-do.0", "1.33.9-do.0"), { version: "1.33.9-do.0" });
    });

    test("an explicit newer patch of the running minor is an in-place upgrade to it", async () => {
        assert.deepEqual(await declared("1.34.5-do.1", "1.34.5-do.0"), { version: "1.34.5-do.1" });
    });

    test("a newer minor upgrades in place to its newest slug", async () => {
        assert.deepEqual(await declared("1.36", "1.35.4-do.0"), { version: "1.36.1-do.0" });
    });

    test("an older minor is refused before anything is registered: it would replace the cluster", async () => {
        const r = await declared("1.34", "1.35.4-do.0");
        assert.match(r.error ?? "", /cluster\.version: 1\.34 is older than the 1\.35\.4-do\.0 the cluster runs/);
    });

    test("the running cluster is looked up by the configured cluster name", async () => {
        assert.deepEqual(await declared("1.35", "1.35.6-do.1", "prod"), { version: "1.35.6-do.1" });
        // another cluster of the default name does not count
        const recorder = new MockRecorder(undefined, { [NAME]: "1.35.6-do.1" });
        const run = await runStack(
            { ...baseConfig(), cluster: { ...baseConfig().cluster, name: "prod", version: "1.35" } },
            { recorder },
        );
        assert.equal(run.error, undefined);
        assert.equal(reveal<{ version: string }>(recorder.get(CLUSTER, "doks-cluster").inputs).version, "1.35.4-do.0");
    });
});
