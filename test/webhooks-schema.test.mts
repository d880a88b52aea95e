/**
 * Schema validation of what the webhook composition renders: Flux kinds against
 * @kubernetes-models/flux-cd, core kinds against kubernetes-models, and the HTTPProxy against the
 * fields, enums and bounds of Contour's projectcontour.io/v1 CRD (no npm schema exists for it).
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
// Per-kind modules: the packages' index modules load every kind and are slow to import.
import { Kustomization } from "@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization";
import { Receiver } from "@kubernetes-models/flux-cd/notification.toolkit.fluxcd.io/v1/Receiver";
import { GitRepository } from "@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { ReceiverExposure } from "../components/receiver-exposure.js";
import { baseConfig, reveal, runComponent, runStack, type StackRun } from "./harness.js";

type Obj = Record<string, any>;

/** Objects of a kind, revealed (secret markers removed) as the cluster would receive them. */
const objects = (run: Pick<StackRun, "recorder">, kind: string): Obj[] => run.recorder.kube(kind).map((r) => reveal<Obj>(r.inputs));

// ------------------------------------------------------------------ HTTPProxy (projectcontour.io/v1)

const FQDN = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const INT32_MAX = 2 ** 31 - 1;
const isInt = (v: unknown, min: number, max = INT32_MAX) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

function onlyKeys(where: string, obj: Obj, allowed: string[], problems: string[]) {
    for (const k of Object.keys(obj)) if (!allowed.includes(k)) problems.push(`${where}.${k}: unknown field`);
}

/** Problems of an HTTPProxy against the CRD fields this project uses (empty when valid). */
export function httpProxyProblems(p: Obj): string[] {
    const problems: string[] = [];
    if (p.apiVersion !== "projectcontour.io/v1") problems.push("apiVersion must be projectcontour.io/v1");
    if (p.kind !== "HTTPProxy") problems.push("kind must be HTTPProxy");
    if (!p.metadata?.name || !p.metadata?.namespace) problems.push("metadata.name and metadata.namespace are required");
    const spec = p.spec ?? {};
    onlyKeys("spec", spec, ["virtualhost", "routes", "ingressClassName", "includes", "tcpproxy"], problems);
    const vh = spec.virtualhost;
    if (vh) {
        onlyKeys("spec.virtualhost", vh, ["fqdn", "tls", "rateLimitPolicy", "corsPolicy", "authorization", "ipAllowPolicy", "ipDenyPolicy", "jwtProviders"], problems);
        if (typeof vh.fqdn !== "string" || vh.fqdn.length < 1 || !FQDN.test(vh.fqdn)) problems.push(`spec.virtualhost.fqdn: ${vh.fqdn} is not a valid fqdn`);
        if (vh.tls !== undefined) {
            onlyKeys("spec.virtualhost.tls", vh.tls, ["secretName", "minimumProtocolVersion", "maximumProtocolVersion", "passthrough", "clientValidation", "enableFallbackCertificate"], problems);
            if (typeof vh.tls.secretName !== "string" || vh.tls.secretName === "") problems.push("spec.virtualhost.tls.secretName is required");
        }
    }
    if (!Array.isArray(spec.routes)) problems.push("spec.routes must be a list");
    (spec.routes ?? []).forEach((route: Obj, i: number) => {
        const at = `spec.routes[${i}]`;
        onlyKeys(at, route, ["conditions", "services", "rateLimitPolicy", "permitInsecure", "timeoutPolicy", "retryPolicy", "loadBalancerPolicy", "requestHeadersPolicy", "responseHeadersPolicy", "pathRewritePolicy", "enableWebsockets", "authPolicy", "ipAllowPolicy", "ipDenyPolicy", "jwtVerificationPolicy", "directResponsePolicy", "requestRedirectPolicy", "mirrorPolicy", "healthCheckPolicy", "internalRedirectPolicy", "cookieRewritePolicies", "queryParameterHashOptions"], problems);
        for (const [j, c] of (route.conditions ?? []).entries()) {
            if (c.prefix !== undefined && (typeof c.prefix !== "string" || !c.prefix.startsWith("/"))) problems.push(`${at}.conditions[${j}].prefix must start with /`);
        }
        if (!Array.isArray(route.services) || route.services.length === 0) problems.push(`${at}.services is required`);
        for (const [j, s] of (route.services ?? []).entries()) {
            if (typeof s.name !== "string" || s.name === "") problems.push(`${at}.services[${j}].name is required`);
            if (!isInt(s.port, 1, 65535)) problems.push(`${at}.services[${j}].port must be 1-65535`);
        }
        const local = route.rateLimitPolicy?.local;
        if (route.rateLimitPolicy) onlyKeys(`${at}.rateLimitPolicy`, route.rateLimitPolicy, ["local", "global"], problems);
        if (local) {
            onlyKeys(`${at}.rateLimitPolicy.local`, local, ["requests", "unit", "burst", "responseStatusCode", "responseHeadersToAdd"], problems);
            if (!isInt(local.requests, 1)) problems.push(`${at}.rateLimitPolicy.local.requests must be an int32 >= 1`);
            if (!["second", "minute", "hour"].includes(local.unit)) problems.push(`${at}.rateLimitPolicy.local.unit must be second, minute or hour`);
            if (local.burst !== undefined && !isInt(local.burst, 0)) problems.push(`${at}.rateLimitPolicy.local.burst must be an int32`);
            if (local.responseStatusCode !== undefined && !isInt(local.responseStatusCode, 400, 599)) {
                problems.push(`${at}.rateLimitPolicy.local.responseStatusCode must be 400-599`);
            }
        }
    });
    return problems;
}

// ------------------------------------------------------------------ the rendered stack

describe("webhook objects validate against their schemas", () => {
    let run: StackRun;
    let ingressRun: { recorder: StackRun["recorder"] };
    before(async () => {
        const cfg = baseConfig();
        cfg.github = { repository: "acme/platform" };
        run = await runStack(cfg);
        assert.equal(run.error, undefined);
        ingressRun = await runComponent(() => new ReceiverExposure("webhook", { host: "flux.example.com", mode: "ingress" }));
    });

    it("KCert's GitRepository and Kustomization (Flux source/kustomize v1)", () => {
        const [repo] = objects(run, "GitRepository").filter((o) => o.metadata.name === "kcert");
        assert.ok(repo);
        new GitRepository(repo as any).validate();
        const [kustomization] = objects(run, "Kustomization").filter((o) => o.metadata.name === "kcert");
        assert.ok(kustomization);
        new Kustomization(kustomization as any).validate();
    });

    it("both Receivers (notification v1)", () => {
        const receivers = objects(run, "Receiver");
        assert.deepEqual(receivers.map((r) => r.metadata.name).sort(), ["bucket", "github"]);
        for (const r of receivers) new Receiver(r as any).validate();
    });

    it("the token Secrets, the certificate request ConfigMap, Contour's Namespace", () => {
        const secrets = objects(run, "Secret").filter((s) => s.metadata.name.endsWith("-receiver-token"));
        assert.equal(secrets.length, 2);
        for (const s of secrets) new Secret(s as any).validate();
        const configMaps = objects(run, "ConfigMap");
        assert.equal(configMaps.length, 1);
        new ConfigMap(configMaps[0] as any).validate();
        new Namespace(objects(run, "Namespace").find((n) => n.metadata.name === "projectcontour") as any).validate();
    });

    it("the Ingress of the `ingress` exposure", () => {
        const [ingress] = objects(ingressRun, "Ingress");
        assert.ok(ingress);
        new Ingress(ingress as any).validate();
    });

    it("the validators do reject a broken object (so the checks above can fail)", () => {
        const [receiver] = objects(run, "Receiver");
        assert.throws(() => new Receiver({ ...receiver, spec: { ...receiver.spec, type: "smoke-signal" } } as any).validate());
        const [kustomization] = objects(run, "Kustomization");
        assert.throws(() => new Kustomization({ ...kustomization, spec: { ...kustomization.spec, prune: "yes" } } as any).validate());
    });

    it("the HTTPProxy matches the CRD's fields, enums and bounds", () => {
        const proxies = objects(run, "HTTPProxy");
        assert.equal(proxies.length, 1);
        assert.deepEqual(httpProxyProblems(proxies[0]), []);
    });

    it("the HTTPProxy check rejects what the CRD rejects", () => {
        const good = objects(run, "HTTPProxy")[0];
        const broken = (mutate: (p: Obj) => void) => {
            const p = structuredClone(good);
            mutate(p);
            return httpProxyProblems(p);
        };
        assert.match(broken((p) => (p.spec.routes[0].rateLimitPolicy.local.requests = 0)).join(), /requests/);
        assert.match(broken((p) => (p.spec.routes[0].rateLimitPolicy.local.unit = "day")).join(), /unit/);
        assert.match(broken((p) => (p.spec.routes[0].rateLimitPolicy.local.responseStatusCode = 200)).join(), /responseStatusCode/);
        assert.match(broken((p) => (p.spec.routes[0].conditions[0].prefix = "hook/")).join(), /prefix/);
        assert.match(broken((p) => (p.spec.virtualhost.fqdn = "Flux_Example")).join(), /fqdn/);
        assert.match(broken((p) => (p.spec.routes[0].rateLimit = {})).join(), /unknown field/);
    });
});
