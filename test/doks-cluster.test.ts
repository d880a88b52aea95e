import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { DoksCluster } from "../components/doks-cluster";
import { MockRecorder, runOffline } from "../tools/mocks";
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

describe("DoksCluster: autoscaling, a cluster that is gone", () => {
    test("an autoscaled pool leaves nodePool.nodeCount to DOKS (ignoreChanges), a fixed pool does not", async () => {
        const recorder = new MockRecorder();
        await runOffline({ project: "p", stack: "s", config: {}, recorder }, () => {
            new DoksCluster("auto", {
                region: "fra1",
                version: "1.35.4-do.0",
                scaling: { kind: "autoscale", min: 1, max: 3 },
            });
            new DoksCluster("fixed", {
                region: "fra1",
                version: "1.35.4-do.0",
                nodePoolName: "workers",
                autoUpgrade: false,
            });
            return {};
        });
        const opts = (n: string) => recorder.construction(CLUSTER, `${n}-cluster`).opts as pulumi.CustomResourceOptions;
        assert.deepEqual(opts("auto").ignoreChanges, ["nodePool.nodeCount"]);
        assert.deepEqual(opts("fixed").ignoreChanges ?? [], []);
        // the path names the property the fixed pool sets (digitalocean's KubernetesClusterNodePool.nodeCount)
        const fixed = reveal<any>(recorder.get(CLUSTER, "fixed-cluster").inputs);
        assert.equal(fixed.nodePool.nodeCount, 2);
        assert.equal(fixed.nodePool.name, "workers");
        assert.equal(fixed.autoUpgrade, false);
        const auto = reveal<any>(recorder.get(CLUSTER, "auto-cluster").inputs).nodePool;
        assert.deepEqual([auto.name, auto.size], ["default", "s-2vcpu-4gb"], "the JSDoc defaults, autoscaled too");
    });

    test("exists: false reads nothing and gives a kubeconfig that names no cluster (secret)", async () => {
        const { recorder, value } = await runComponent(
            () => new DoksCluster("gone", { region: "fra1", version: "1.35.4-do.0", exists: false }),
        );
        assert.deepEqual(
            recorder.calls.filter((c) => c.token.includes("getKubernetesCluster")),
            [],
            "no data source call for a cluster that is gone",
        );
        const kubeconfig = parse(await inputValue<string>(value.kubeconfig));
        assert.deepEqual(kubeconfig, { apiVersion: "v1", kind: "Config", clusters: [], contexts: [], users: [] });
        assert.equal(await isSecretOutput(value.kubeconfig), true);
    });
});
