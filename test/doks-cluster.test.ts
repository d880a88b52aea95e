import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DoksCluster } from "../components/doks-cluster";
import { inputValue, isSecretOutput, reveal, runComponent } from "./harness";

const CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster";

describe("DoksCluster", () => {
    test("fixed node pool with the documented defaults", async () => {
        const { recorder } = await runComponent(() => new DoksCluster("c", { region: "ams3", version: "1.35.4-do.0" }));
        const i = reveal<any>(recorder.get(CLUSTER, "c-cluster").inputs);
        assert.equal(i.name, "c");
        assert.equal(i.region, "ams3");
        assert.equal(i.version, "1.35.4-do.0");
        assert.deepEqual(i.nodePool, { name: "default", size: "s-2vcpu-4gb", nodeCount: 2 });
        assert.equal(i.ha, false);
        assert.equal(i.surgeUpgrade, true);
        assert.equal(i.autoUpgrade, true);
        assert.deepEqual(i.maintenancePolicy, { day: "sunday", startTime: "04:00" });
        assert.equal(i.destroyAllAssociatedResources, true, "destroy must take load balancers and volumes along");
        assert.equal(recorder.get(CLUSTER, "c-cluster").parent, "gitops:doks:Cluster::c");
    });

    test("autoscaled pool, HA, maintenance window and tags", async () => {
        const { recorder } = await runComponent(
            () =>
                new DoksCluster("c", {
                    region: "fra1",
                    version: "1.35.4-do.0",
                    clusterName: "prod-cluster",
                    nodeSize: "s-4vcpu-8gb",
                    scaling: { kind: "autoscale", min: 2, max: 5 },
                    ha: true,
                    surgeUpgrade: false,
                    maintenance: { day: "tuesday", startTime: "02:30" },
                    tags: ["env:prod"],
                }),
        );
        const i = reveal<any>(recorder.get(CLUSTER, "c-cluster").inputs);
        assert.equal(i.name, "prod-cluster");
        assert.deepEqual(i.nodePool, {
            name: "default",
            size: "s-4vcpu-8gb",
            autoScale: true,
            minNodes: 2,
            maxNodes: 5,
            tags: ["env:prod"],
        });
        assert.equal(i.nodePool.nodeCount, undefined);
        assert.equal(i.ha, true);
        assert.equal(i.surgeUpgrade, false);
        assert.deepEqual(i.maintenancePolicy, { day: "tuesday", startTime: "02:30" });
        assert.deepEqual(i.tags, ["env:prod"]);
    });

    test("kubeconfig is re-read through the data source on every run, and is secret", async () => {
        const { recorder, value } = await runComponent(
            () => new DoksCluster("c", { region: "fra1", version: "1.35.4-do.0" }),
        );
        const kubeconfig = await inputValue<string>(value.kubeconfig);
        const calls = recorder.calls.filter(
            (c) => c.token === "digitalocean:index/getKubernetesCluster:getKubernetesCluster",
        );
        assert.equal(calls.length, 1);
        assert.equal(calls[0].inputs.name, "c");
        // The value is the data source's credentials, not the resource's creation-time ones.
        assert.match(kubeconfig, /re-read on every run/);
        assert.equal(await isSecretOutput(value.kubeconfig), true);
    });
});
