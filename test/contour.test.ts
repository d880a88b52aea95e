/** Contour from the upstream chart, its DigitalOcean load balancer and the IP read back. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import { Contour, type ContourArgs, DO_LB_NAME_ANNOTATION } from "../components/contour";
import { versions } from "../components/versions";
import { MockRecorder, runOffline } from "../tools/mocks";
import { inputValue, PROJECT, reveal, runComponent, STACK } from "./harness";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const SERVICE = "kubernetes:core/v1:Service";

/** Runs the component with the cluster answering the Envoy Service read with `service` (its state). */
async function renderWithService(service: Record<string, unknown>, args: ContourArgs = {}) {
    const recorder = new MockRecorder(undefined, {}, { [`${SERVICE}::contour-envoy-service`]: service });
    let contour: Contour | undefined;
    const run = await runOffline({ project: PROJECT, stack: STACK, config: {}, recorder }, () => {
        const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
        contour = new Contour("contour", args, { provider });
        return {};
    });
    return { run, contour: contour! };
}

async function render(args: ContourArgs = {}) {
    return runComponent(() => {
        const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
        return new Contour("contour", args, { provider });
    });
}

describe("Contour", () => {
    it("installs the pinned upstream projectcontour chart as release `contour`", async () => {
        const { recorder } = await render();
        const release = reveal<any>(recorder.get(RELEASE, "contour-release").inputs);
        assert.equal(release.chart, "contour");
        assert.equal(release.repositoryOpts.repo, "https://projectcontour.github.io/helm-charts");
        assert.equal(release.version, "0.7.0");
        assert.equal(release.version, versions.contourChart.version);
        assert.doesNotMatch(JSON.stringify(release), /bitnami/i);
        assert.equal(release.name, "contour");
        assert.equal(release.namespace, "projectcontour");
        assert.equal(release.atomic, true);
        assert.notEqual(release.skipAwait, true, "Helm must wait for the load balancer");
        assert.equal(recorder.kubeObject("Namespace", "projectcontour").kind, "Namespace");
    });

    it("gives Envoy a DigitalOcean load balancer with a predictable name", async () => {
        const { recorder } = await render();
        const envoy = reveal<any>(recorder.get(RELEASE, "contour-release").inputs).values.envoy.service;
        assert.equal(envoy.type, "LoadBalancer");
        assert.equal(envoy.externalTrafficPolicy, "Local");
        assert.equal(envoy.annotations[DO_LB_NAME_ANNOTATION], "contour-envoy");
        assert.equal(DO_LB_NAME_ANNOTATION, "service.beta.kubernetes.io/do-loadbalancer-name");

        const named = await render({ loadBalancerName: "prod-edge", namespace: "ingress" });
        const release = reveal<any>(named.recorder.get(RELEASE, "contour-release").inputs);
        assert.equal(release.values.envoy.service.annotations[DO_LB_NAME_ANNOTATION], "prod-edge");
        assert.equal(release.namespace, "ingress");
    });

    it("creates the `contour` IngressClass and the CRDs", async () => {
        const { recorder, value } = await render();
        const values = reveal<any>(recorder.get(RELEASE, "contour-release").inputs).values;
        assert.equal(values.contour.manageCRDs, true);
        assert.deepEqual(values.contour.ingressClass, { name: "contour", create: true, default: true });
        assert.equal(await inputValue(value.ingressClassName), "contour");
    });

    it("reads Envoy's Service after the release and exposes its load balancer IP", async () => {
        const { recorder, value } = await render({ namespace: "edge" });
        const read = recorder.construction(SERVICE, "contour-envoy-service");
        assert.equal(await inputValue(read.opts.id), "edge/contour-envoy");
        // The ID is derived from the release's status (unknown while a preview plans to create it).
        assert.deepEqual(await recorder.outputDependencies(read.opts.id), [`${RELEASE}::contour-release`]);
        assert.deepEqual(recorder.dependsOn(SERVICE, "contour-envoy-service"), [`${RELEASE}::contour-release`]);
        const mocked = recorder.get(SERVICE, "contour-envoy-service").state as any;
        assert.equal(await inputValue(value.loadBalancerIp), mocked.status.loadBalancer.ingress[0].ip);
    });

    it("everything runs through the provider from opts, so it is deleted before the cluster", async () => {
        const { recorder } = await render();
        const inCluster = recorder.resources.filter((r) => r.type.startsWith("kubernetes:"));
        assert.deepEqual(inCluster.map((r) => r.name).sort(), [
            "contour-envoy-service",
            "contour-namespace",
            "contour-release",
        ]);
        for (const r of inCluster) {
            assert.match(r.provider ?? "", /pulumi:providers:kubernetes::k8s::/, r.name);
            assert.equal(r.parent, "gitops:ingress:Contour::contour", r.name);
        }
    });

    it("on another cloud (`cloud: generic`: kind, k3d, …) Envoy's Service carries no DigitalOcean annotation", async () => {
        const { recorder } = await render({ cloud: "generic", loadBalancerName: "edge" });
        const service = reveal<any>(recorder.get(RELEASE, "contour-release").inputs).values.envoy.service;
        assert.deepEqual(service.annotations, {});
        assert.equal(service.type, "LoadBalancer");
    });

    it("Helm cleans up a failed install (a retry can reuse the name) and waits 900 s unless told otherwise", async () => {
        const { recorder } = await render();
        const release = reveal<any>(recorder.get(RELEASE, "contour-release").inputs);
        assert.equal(release.cleanupOnFail, true);
        assert.equal(release.timeout, 900, "the default the JSDoc of ContourArgs.timeout documents");
        const short = await render({ timeout: 120 });
        assert.equal(reveal<any>(short.recorder.get(RELEASE, "contour-release").inputs).timeout, 120);
    });

    it("a load balancer that reports a hostname instead of an IP (as some clouds do) gives that hostname", async () => {
        const { run, contour } = await renderWithService({
            status: { loadBalancer: { ingress: [{ hostname: "lb-1.example.net" }] } },
        });
        assert.equal(run.error, undefined);
        assert.equal(await inputValue(contour.loadBalancerIp), "lb-1.example.net");
    });
});
