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
import { validateObject } from "./validator.mjs";

type Obj = Record<string, any>;

/** Objects of a kind, revealed (secret markers removed) as the cluster would receive them. */
const objects = (run: Pick<StackRun, "recorder">, kind: string): Obj[] =>
    run.recorder.kube(kind).map((r) => reveal<Obj>(r.inputs));

// ------------------------------------------------------------------ the rendered stack

describe("webhook objects validate against their schemas", () => {
    let run: StackRun;
    let ingressRun: { recorder: StackRun["recorder"] };
    before(async () => {
        const cfg = baseConfig();
        cfg.github = { repository: "acme/platform" };
        run = await runStack(cfg);
        assert.equal(run.error, undefined);
        ingressRun = await runComponent(
            () =>
                new ReceiverExposure("webhook", {
                    host: "flux.example.com",
                    mode: "ingress",
                    hookPaths: [`/hook/${"0".repeat(64)}`, `/hook/${"1".repeat(64)}`],
                }),
        );
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
        // KCert's certificate request, and FluxBootstrap's platform-settings
        const configMaps = objects(run, "ConfigMap");
        assert.equal(configMaps.length, 2);
        for (const c of configMaps) new ConfigMap(c as any).validate();
        new Namespace(objects(run, "Namespace").find((n) => n.metadata.name === "projectcontour") as any).validate();
    });

    it("the Ingress of the `ingress` exposure", () => {
        const [ingress] = objects(ingressRun, "Ingress");
        assert.ok(ingress);
        new Ingress(ingress as any).validate();
    });

    it("the validators do reject a broken object (so the checks above can fail)", () => {
        const [receiver] = objects(run, "Receiver");
        assert.throws(() =>
            new Receiver({ ...receiver, spec: { ...receiver.spec, type: "smoke-signal" } } as any).validate(),
        );
        const [kustomization] = objects(run, "Kustomization");
        assert.throws(() =>
            new Kustomization({ ...kustomization, spec: { ...kustomization.spec, prune: "yes" } } as any).validate(),
        );
    });

    it("the HTTPProxy matches the CRD's fields, enums and bounds", async () => {
        const proxies = objects(run, "HTTPProxy");
        assert.equal(proxies.length, 1);
        assert.equal(proxies[0].spec.routes.length, 2);
        assert.deepEqual(await validateObject(proxies[0]), []);
    });

    it("the HTTPProxy check rejects what the CRD rejects", async () => {
        const good = objects(run, "HTTPProxy")[0];
        const broken = async (mutate: (p: Obj) => void) => {
            const p = structuredClone(good);
            mutate(p);
            return validateObject(p);
        };
        assert.match((await broken((p) => (p.spec.routes[0].rateLimitPolicy.local.requests = 0))).join(), /requests/);
        assert.match((await broken((p) => (p.spec.routes[0].rateLimitPolicy.local.unit = "day"))).join(), /unit/);
        assert.match(
            (await broken((p) => (p.spec.routes[0].rateLimitPolicy.local.responseStatusCode = 200))).join(),
            /responseStatusCode/,
        );
        assert.match((await broken((p) => (p.spec.routes[0].conditions[0].exact = "hook/x"))).join(), /exact/);
        // Contour: "more than one prefix, exact or regex is not allowed in a condition block".
        assert.notDeepEqual(await broken((p) => (p.spec.routes[0].conditions[0].prefix = "/hook/")), []);
        assert.match((await broken((p) => (p.spec.routes[0].conditions = [{ prefix: "hook/" }]))).join(), /prefix/);
        assert.match((await broken((p) => (p.spec.virtualhost.fqdn = "Flux_Example"))).join(), /fqdn/);
        assert.match((await broken((p) => (p.spec.routes[0].rateLimit = {}))).join(), /unknown field/);
    });
});
