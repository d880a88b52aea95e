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

/**
 * Runs the component against a Service state and collects the errors the program reports.
 * An error in an Output of a component's `registerOutputs` reaches Pulumi as an unhandled
 * rejection (the runtime re-rejects a failed resource operation on purpose), and
 * `pulumi up` reports it from its own `unhandledRejection` handler as "Running program …
 * failed with an unhandled exception". This stands in for that handler during the run (the
 * test runner's own handlers are set aside and put back), so a test reads what the user reads.
 */
async function reportedErrors(service: Record<string, unknown>, args: ContourArgs = {}): Promise<string[]> {
    const reported = new Set<string>();
    const saved = process.rawListeners("unhandledRejection") as ((...a: unknown[]) => void)[];
    process.removeAllListeners("unhandledRejection");
    const handler = (e: unknown) => reported.add(e instanceof Error ? e.message : String(e));
    process.on("unhandledRejection", handler);
    try {
        const { contour } = await renderWithService(service, args);
        await (contour.loadBalancerIp as unknown as { promise(): Promise<unknown> }).promise().catch(() => {});
        // Unhandled rejections are reported once the microtasks of the current macrotask have run.
        await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
        process.off("unhandledRejection", handler);
        for (const l of saved) process.on("unhandledRejection", l);
    }
    return [...reported];
}

async function render(args: ContourArgs = {}) {
    return runComponent(() => {
        const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
        return new Contour("contour", args, { provider });
    });
}

/**
 * Parameters of the pinned projectcontour chart 0.7.0 (charts/contour/values.yaml at tag
 * contour-0.7.0 of projectcontour/helm-charts: its `## @param <path>` lines) for the values the
 * component sets, each with the type of the chart's own default there. `[object]` parameters
 * (annotations) are maps whose keys are free. A value under any other path is one the chart's
 * templates never read.
 */
const CONTOUR_CHART_0_7_0_PARAMS: Readonly<Record<string, "boolean" | "string" | "object">> = {
    "contour.manageCRDs": "boolean",
    "contour.ingressClass.name": "string",
    "contour.ingressClass.create": "boolean",
    "contour.ingressClass.default": "boolean",
    "envoy.service.type": "string",
    "envoy.service.externalTrafficPolicy": "string",
    "envoy.service.annotations": "object",
};

/** The values' leaves as `path → value`, a documented `[object]` parameter taken whole. */
function leaves(values: Record<string, unknown>, prefix = ""): [string, unknown][] {
    return Object.entries(values).flatMap(([key, value]): [string, unknown][] => {
        const at = `${prefix}${key}`;
        if (CONTOUR_CHART_0_7_0_PARAMS[at] === "object") return [[at, value]];
        return value !== null && typeof value === "object" && !Array.isArray(value)
            ? leaves(value as Record<string, unknown>, `${at}.`)
            : [[at, value]];
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

    // The shapes a Service's status can take with no address, from what the API server returns
    // for a LoadBalancer Service the cloud has not served yet (`status: {loadBalancer: {}}`:
    // ServiceStatus.LoadBalancer is a struct, which Go's `omitempty` never leaves out, while its
    // `ingress` list is left out while empty) down to a state with no status at all; each prefix
    // of the path status → loadBalancer → ingress → [0] → ip / hostname stops at one of them.
    const addressless: Record<string, Record<string, unknown>> = {
        "no status": {},
        "an empty status": { status: {} },
        "a pending load balancer (what the API server returns)": { status: { loadBalancer: {} } },
        "an empty ingress list": { status: { loadBalancer: { ingress: [] } } },
        "an ingress entry with ports but no ip or hostname": {
            status: { loadBalancer: { ingress: [{ ports: [{ port: 80, protocol: "TCP" }] }] } },
        },
        "an empty ip and hostname": { status: { loadBalancer: { ingress: [{ ip: "", hostname: "" }] } } },
    };
    for (const [shape, service] of Object.entries(addressless)) {
        it(`a Service with ${shape} makes the program report that Envoy has no load balancer address yet`, async () => {
            for (const namespace of [undefined, "edge"]) {
                const errors = await reportedErrors(service, { namespace });
                const message = `Contour contour: Service ${namespace ?? "projectcontour"}/contour-envoy has no load balancer address yet`;
                assert.ok(errors.length > 0, "the run reports an error");
                for (const e of errors) assert.ok(e.endsWith(message), `${e} (expected: …${message})`);
            }
        });
    }

    it("an address is the first ingress entry's IP, else its hostname", async () => {
        const entries = [
            { ip: "203.0.113.7" },
            { hostname: "lb.example.net" },
            { ip: "203.0.113.8", hostname: "lb2.example.net" },
        ];
        for (const first of entries) {
            for (const second of [[], [{ ip: "198.51.100.9" }]]) {
                const { run, contour } = await renderWithService({
                    status: { loadBalancer: { ingress: [first, ...second] } },
                });
                assert.equal(run.error, undefined);
                assert.equal(await inputValue(contour.loadBalancerIp), first.ip ?? first.hostname);
            }
        }
    });

    it("Envoy's Service is read in the requested namespace when the release's status does not name one", async () => {
        // A Release whose state records no status (the provider fills it once Helm reports the
        // release), and one whose status lacks the namespace.
        for (const release of [{}, { status: { status: "deployed" } }]) {
            for (const namespace of [undefined, "edge"]) {
                const recorder = new MockRecorder(undefined, {}, { [`${RELEASE}::contour-release`]: release });
                const run = await runOffline({ project: PROJECT, stack: STACK, config: {}, recorder }, () => {
                    const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
                    new Contour("contour", { namespace }, { provider });
                    return {};
                });
                assert.equal(run.error, undefined);
                const read = recorder.construction(SERVICE, "contour-envoy-service");
                assert.equal(await inputValue(read.opts.id), `${namespace ?? "projectcontour"}/contour-envoy`);
            }
        }
    });

    it("the Contour namespace carries the recommended part-of label naming Contour, in another namespace too", async () => {
        for (const namespace of ["projectcontour", "ingress"]) {
            const { recorder } = await render(namespace === "projectcontour" ? {} : { namespace });
            assert.deepEqual(recorder.kubeObject("Namespace", namespace).metadata.labels, {
                "app.kubernetes.io/part-of": "contour",
            });
        }
    });

    it("every value given to the chart is a parameter chart 0.7.0 documents, of its type (the table is the pinned version's)", async () => {
        assert.equal(versions.contourChart.version, "0.7.0", "re-read the chart's values.yaml on a bump");
        const cases: ContourArgs[] = [{}, { cloud: "generic", externalTrafficPolicy: "Cluster", namespace: "edge" }];
        for (const args of cases) {
            const { recorder } = await render(args);
            const values = reveal<any>(recorder.get(RELEASE, "contour-release").inputs).values;
            const given = leaves(values);
            assert.deepEqual(given.map(([at]) => at).sort(), Object.keys(CONTOUR_CHART_0_7_0_PARAMS).sort());
            for (const [at, value] of given) {
                assert.ok(Object.hasOwn(CONTOUR_CHART_0_7_0_PARAMS, at), `${at}: not a parameter of the chart`);
                assert.equal(typeof value, CONTOUR_CHART_0_7_0_PARAMS[at], `${at}: ${JSON.stringify(value)}`);
            }
            // Kubernetes' ServiceSpec: externalTrafficPolicy is `Cluster` or `Local`.
            assert.ok(["Cluster", "Local"].includes(values.envoy.service.externalTrafficPolicy));
            for (const [key, value] of Object.entries(values.envoy.service.annotations)) {
                assert.equal(typeof value, "string", `annotation ${key}: Kubernetes' annotations are strings`);
            }
        }
    });
});
