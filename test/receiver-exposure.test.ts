/**
 * Publishing the receiver: `httpproxy` (KCert ConfigMap certificate request + rate-limited
 * HTTPProxy, the default) and `ingress` (plain KCert-managed Ingress, not rate-limited).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import { CONTOUR_API } from "../components/contour/api";
import { ReceiverExposure, type ReceiverExposureArgs } from "../components/receiver-exposure";
import { baseConfig, inputValue, runComponent, runStack } from "./harness";

async function render(args: Partial<ReceiverExposureArgs> = {}) {
    return runComponent(() => {
        const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
        return new ReceiverExposure("webhook", { host: "flux.example.org", ...args }, { provider });
    });
}

describe("httpproxy exposure (default)", () => {
    it("requests a certificate from KCert with a ConfigMap named like the TLS secret", async () => {
        const { recorder } = await render();
        const cm = recorder.kubeObject("ConfigMap", "webhook-receiver-tls");
        assert.equal(cm.metadata.namespace, "flux-system");
        assert.deepEqual(cm.metadata.labels, { "kcert.dev/cert-request": "request" });
        assert.deepEqual(cm.data, { hosts: "flux.example.org" });
    });

    it("serves only /hook/ over TLS from that secret, to Flux's webhook-receiver:80", async () => {
        const { recorder } = await render();
        const proxy = recorder.kubeObject("HTTPProxy", "webhook-receiver");
        assert.equal(proxy.apiVersion, CONTOUR_API);
        assert.equal(proxy.metadata.namespace, "flux-system");
        assert.equal(proxy.spec.virtualhost.fqdn, "flux.example.org");
        // Same namespace as the ConfigMap, so KCert's Secret is usable without a delegation.
        const cm = recorder.kubeObject("ConfigMap", "webhook-receiver-tls");
        assert.equal(proxy.spec.virtualhost.tls.secretName, cm.metadata.name);
        assert.equal(proxy.metadata.namespace, cm.metadata.namespace);
        assert.equal(proxy.spec.routes.length, 1);
        const [route] = proxy.spec.routes;
        assert.deepEqual(route.conditions, [{ prefix: "/hook/" }]);
        assert.deepEqual(route.services, [{ name: "webhook-receiver", port: 80 }]);
        assert.notEqual(route.permitInsecure, true);
    });

    it("rate-limits the route locally: 30/minute, burst 10, 429 by default", async () => {
        const { recorder, value } = await render();
        const [route] = recorder.kubeObject("HTTPProxy", "webhook-receiver").spec.routes;
        assert.deepEqual(route.rateLimitPolicy, {
            local: { requests: 30, unit: "minute", burst: 10, responseStatusCode: 429 },
        });
        assert.equal(await inputValue(value.rateLimited), true);
        assert.equal(recorder.kube("Ingress").length, 0);
    });

    it("takes the limit from Args", async () => {
        const { recorder } = await render({
            rateLimit: { requests: 5, unit: "second", burst: 2 },
            tlsSecretName: "hook-tls",
        });
        const proxy = recorder.kubeObject("HTTPProxy", "webhook-receiver");
        assert.deepEqual(proxy.spec.routes[0].rateLimitPolicy.local, {
            requests: 5,
            unit: "second",
            burst: 2,
            responseStatusCode: 429,
        });
        assert.equal(proxy.spec.virtualhost.tls.secretName, "hook-tls");
        assert.equal(recorder.kubeObject("ConfigMap", "hook-tls").data.hosts, "flux.example.org");
    });

    it("takes the limit from the stack config (webhook.rateLimit)", async () => {
        const cfg = baseConfig();
        cfg.webhook.rateLimit = { requests: 12, unit: "hour", burst: 0 };
        const run = await runStack(cfg);
        assert.equal(run.error, undefined);
        const local = run.recorder.kubeObject("HTTPProxy", "webhook-receiver").spec.routes[0].rateLimitPolicy.local;
        assert.deepEqual(local, { requests: 12, unit: "hour", burst: 0, responseStatusCode: 429 });
    });
});

describe("ingress exposure", () => {
    it("is the plain Ingress: class contour, KCert label, TLS, only /hook/ Prefix to webhook-receiver:80", async () => {
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
                    paths: [
                        {
                            path: "/hook/",
                            pathType: "Prefix",
                            backend: { service: { name: "webhook-receiver", port: { number: 80 } } },
                        },
                    ],
                },
            },
        ]);
        // Contour cannot rate-limit a plain Ingress: nothing claims otherwise.
        assert.equal(await inputValue(value.rateLimited), false);
        assert.equal(recorder.kube("HTTPProxy").length, 0);
        assert.equal(recorder.kube("ConfigMap").length, 0);
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
