/**
 * Publishing the receiver: `httpproxy` (KCert ConfigMap certificate request + rate-limited
 * HTTPProxy, the default) and `ingress` (plain KCert-managed Ingress, not rate-limited).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import { CONTOUR_API } from "../components/contour/api";
import { receiverHookPath } from "../components/flux-receiver";
import { ReceiverExposure, type ReceiverExposureArgs } from "../components/receiver-exposure";
import { baseConfig, inputValue, runComponent, runStack } from "./harness";

/** Two receivers' hook paths, as notification-controller derives them (sha256 hex). */
const HOOKS = [
    receiverHookPath("a".repeat(48), "github", "flux-system"),
    receiverHookPath("b".repeat(48), "bucket", "flux-system"),
];

async function render(args: Partial<ReceiverExposureArgs> = {}) {
    return runComponent(() => {
        const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
        return new ReceiverExposure("webhook", { host: "flux.example.org", hookPaths: HOOKS, ...args }, { provider });
    });
}

/**
 * The route Envoy picks for a request path, as Contour configures it: routes are tried in order;
 * `exact` is Envoy's `path` match (the whole path, query string removed), `prefix` a string
 * prefix. No match: Envoy's router answers 404 itself (no upstream, no rate limit: Contour's
 * local_ratelimit filter has no token bucket outside the routes that configure one).
 */
function routeFor(proxy: any, requestPath: string): any {
    const path = requestPath.split("?")[0];
    return proxy.spec.routes.find((r: any) =>
        (r.conditions ?? [{ prefix: "/" }]).every((c: any) =>
            c.exact !== undefined ? path === c.exact : c.prefix !== undefined ? path.startsWith(c.prefix) : true,
        ),
    );
}

describe("httpproxy exposure (default)", () => {
    it("requests a certificate from KCert with a ConfigMap named like the TLS secret", async () => {
        const { recorder } = await render();
        const cm = recorder.kubeObject("ConfigMap", "webhook-receiver-tls");
        assert.equal(cm.metadata.namespace, "flux-system");
        assert.deepEqual(cm.metadata.labels, { "kcert.dev/cert-request": "request" });
        assert.deepEqual(cm.data, { hosts: "flux.example.org" });
    });

    it("serves only the receivers' exact hook paths over TLS from that secret, to Flux's webhook-receiver:80", async () => {
        const { recorder } = await render();
        const proxy = recorder.kubeObject("HTTPProxy", "webhook-receiver");
        assert.equal(proxy.apiVersion, CONTOUR_API);
        assert.equal(proxy.metadata.namespace, "flux-system");
        assert.equal(proxy.spec.virtualhost.fqdn, "flux.example.org");
        // Same namespace as the ConfigMap, so KCert's Secret is usable without a delegation.
        const cm = recorder.kubeObject("ConfigMap", "webhook-receiver-tls");
        assert.equal(proxy.spec.virtualhost.tls.secretName, cm.metadata.name);
        assert.equal(proxy.metadata.namespace, cm.metadata.namespace);
        // One route per receiver, exact path match (Contour 1.33 MatchCondition.exact).
        assert.deepEqual(
            proxy.spec.routes.map((r: any) => r.conditions),
            HOOKS.map((h) => [{ exact: h }]),
        );
        for (const route of proxy.spec.routes) {
            assert.deepEqual(route.services, [{ name: "webhook-receiver", port: 80 }]);
            assert.notEqual(route.permitInsecure, true);
        }
        assert.equal(proxy.spec.virtualhost.rateLimitPolicy, undefined, "no limit shared by every path");
    });

    it("unknown /hook/ paths match no route (Envoy: 404, no limit touched); each hook matches its own", async () => {
        const { recorder } = await render();
        const proxy = recorder.kubeObject("HTTPProxy", "webhook-receiver");
        for (const unknown of [
            "/hook/",
            "/hook/anything",
            `/hook/${"0".repeat(64)}`,
            `${HOOKS[0]}/x`,
            `${HOOKS[0]}x`,
            "/",
        ]) {
            assert.equal(routeFor(proxy, unknown), undefined, unknown);
        }
        assert.equal(routeFor(proxy, HOOKS[0]), proxy.spec.routes[0]);
        assert.equal(routeFor(proxy, `${HOOKS[1]}?x=1`), proxy.spec.routes[1]);
    });

    it("rate-limits each route on its own: 30/minute, burst 10, 429 by default", async () => {
        const { recorder, value } = await render();
        const routes = recorder.kubeObject("HTTPProxy", "webhook-receiver").spec.routes;
        assert.equal(routes.length, 2);
        for (const route of routes) {
            assert.deepEqual(route.rateLimitPolicy, {
                local: { requests: 30, unit: "minute", burst: 10, responseStatusCode: 429 },
            });
        }
        assert.equal(await inputValue(value.rateLimited), true);
        assert.equal(recorder.kube("Ingress").length, 0);
    });

    it("needs at least one hook path", async () => {
        await assert.rejects(render({ hookPaths: [] }), /hookPaths must name at least one receiver path/);
    });

    it("takes the limit from Args", async () => {
        const { recorder } = await render({
            rateLimit: { requests: 5, unit: "second", burst: 2 },
            tlsSecretName: "hook-tls",
        });
        const proxy = recorder.kubeObject("HTTPProxy", "webhook-receiver");
        assert.deepEqual(proxy.spec.routes[1].rateLimitPolicy.local, {
            requests: 5,
            unit: "second",
            burst: 2,
            responseStatusCode: 429,
        });
        assert.equal(proxy.spec.virtualhost.tls.secretName, "hook-tls");
        assert.equal(recorder.kubeObject("ConfigMap", "hook-tls").data.hosts, "flux.example.org");
    });

    it("takes the limit from the stack config (webhook.rateLimit); routes are the receivers' hook paths", async () => {
        const cfg = baseConfig();
        cfg.webhook.rateLimit = { requests: 12, unit: "hour", burst: 0 };
        const run = await runStack(cfg);
        assert.equal(run.error, undefined);
        const routes = run.recorder.kubeObject("HTTPProxy", "webhook-receiver").spec.routes;
        for (const route of routes) {
            assert.deepEqual(route.rateLimitPolicy.local, {
                requests: 12,
                unit: "hour",
                burst: 0,
                responseStatusCode: 429,
            });
        }
        // Exactly the paths of the URLs the stack exports (GitHub's webhook, make upload-do's trigger).
        const paths = ["webhookUrl", "bucketReceiverUrl"].map((k) => new URL(String(run.outputs?.[k])).pathname);
        assert.deepEqual(routes.map((r: any) => r.conditions[0].exact).sort(), paths.sort());
        for (const p of paths) assert.match(p, /^\/hook\/[0-9a-f]{64}$/);
    });
});

describe("ingress exposure", () => {
    it("is the plain Ingress: class contour, KCert label, TLS, the exact hook paths to webhook-receiver:80", async () => {
        const { recorder, value } = await render({ mode: "ingress" });
        const ing = recorder.kubeObject("Ingress", "webhook-receiver");
        assert.equal(ing.metadata.namespace, "flux-system");
        assert.deepEqual(ing.metadata.labels, { "kcert.dev/ingress": "managed" });
        assert.equal(ing.spec.ingressClassName, "contour");
        assert.deepEqual(ing.spec.tls, [{ hosts: ["flux.example.org"], secretName: "webhook-receiver-tls" }]);
        assert.deepEqual(ing.spec.rules, [
            {
                host: "flux.example.org",
                http: {
                    paths: HOOKS.map((h) => ({
                        path: h,
                        pathType: "Exact",
                        backend: { service: { name: "webhook-receiver", port: { number: 80 } } },
                    })),
                },
            },
        ]);
        // Contour cannot rate-limit a plain Ingress: nothing claims otherwise.
        assert.equal(await inputValue(value.rateLimited), false);
        assert.equal(recorder.kube("HTTPProxy").length, 0);
        assert.equal(recorder.kube("ConfigMap").length, 0);
    });

    it("redirects plain HTTP to HTTPS (Contour's force-ssl-redirect), so the hook path is never served in clear", async () => {
        const ing = (await render({ mode: "ingress" })).recorder.kubeObject("Ingress", "webhook-receiver");
        // Contour 1.33 internal/annotation/annotations.go TLSRequired: the value must be exactly "true".
        assert.equal(ing.metadata.annotations?.["ingress.kubernetes.io/force-ssl-redirect"], "true");
        // ...and nothing re-enables cleartext routes next to it.
        assert.notEqual(ing.metadata.annotations?.["kubernetes.io/ingress.allow-http"], "true");
    });

    it("is chosen by webhook.exposure; KCert then does not watch ConfigMaps but may still list them", async () => {
        const cfg = baseConfig();
        cfg.webhook.exposure = "ingress";
        const run = await runStack(cfg);
        assert.equal(run.error, undefined);
        assert.equal(run.recorder.kubeObject("Ingress", "webhook-receiver").spec.rules[0].host, "flux.example.com");
        assert.equal(run.recorder.kube("HTTPProxy").length, 0);
        const patches = run.recorder.kubeObject("Kustomization", "kcert").spec.patches;
        // KCert v1.2.0 lists ConfigMaps on every check whatever KCERT__WATCHCONFIGMAPS says, so
        // the ClusterRole patch is there in this mode too (kcert-patches.test.ts applies it).
        assert.deepEqual(patches.map((p: any) => p.target.kind).sort(), ["ClusterRole", "Deployment"]);
    });
});
