/**
 * The webhook composition in the whole program: outputs, DNS, destroy ordering, secrecy of the
 * tokens, and bad input.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { before, describe, it } from "node:test";
import { ConfigError } from "../infrastructure/config";
import { baseConfig, isSecretOutput, redact, reveal, runStack, type StackRun } from "./harness";

const PASSWORD = "random:index/randomPassword:RandomPassword";
const DNS = "digitalocean:index/dnsRecord:DnsRecord";
const SERVICE = "kubernetes:core/v1:Service";
const RELEASE = "kubernetes:helm.sh/v3:Release";

const tokenOf = (run: StackRun, component: string): string =>
    reveal<any>(run.recorder.get(PASSWORD, `${component}-token`).state).result;
const hookOf = (token: string, name: string, namespace: string) =>
    createHash("sha256")
        .update(token + name + namespace)
        .digest("hex");
const envoyIp = (run: StackRun): string =>
    (run.recorder.get(SERVICE, "contour-envoy-service").state as any).status.loadBalancer.ingress[0].ip;

// One full run shared by most tests (each run takes a while): zone set, GitHub configured.
let shared: Promise<StackRun> | undefined;
const sharedRun = () => {
    const cfg = baseConfig();
    cfg.github = { repository: "acme/platform" };
    shared ??= runStack(cfg).then((run) => {
        if (run.error) throw run.error;
        return run;
    });
    return shared;
};

describe("webhook outputs", () => {
    let run: StackRun;
    before(async () => {
        run = await sharedRun();
    });

    it("webhookUrl is the github receiver's hook, recomputed from the generated token", async () => {
        const digest = hookOf(tokenOf(run, "github-receiver"), "github", "flux-system");
        assert.equal(run.outputs?.webhookUrl, `https://flux.example.com/hook/${digest}`);
    });

    it("bucketReceiverUrl/Token are the generic-hmac receiver's, which reconciles the bucket source", async () => {
        const token = tokenOf(run, "bucket-receiver");
        assert.equal(run.outputs?.bucketReceiverToken, token);
        assert.equal(
            run.outputs?.bucketReceiverUrl,
            `https://flux.example.com/hook/${hookOf(token, "bucket", "flux-system")}`,
        );
        const receiver = run.recorder.kubeObject("Receiver", "bucket");
        assert.equal(receiver.spec.type, "generic-hmac");
        assert.deepEqual(receiver.spec.resources, [
            { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "Bucket", name: "flux-system" },
        ]);
        // The Bucket the FluxInstance generates has that name, in that namespace.
        const instance = run.recorder.kubeObject("FluxInstance", "flux");
        assert.equal(instance.spec.sync.kind, "Bucket");
        assert.equal(instance.spec.sync.name, receiver.spec.resources[0].name);
        assert.equal(instance.metadata.namespace, receiver.metadata.namespace);
        assert.notEqual(tokenOf(run, "bucket-receiver"), tokenOf(run, "github-receiver"));
    });

    it("acmeEnvironment is the stack's acme.environment (make upload-do trusts the staging roots by it)", async () => {
        assert.equal(run.outputs?.acmeEnvironment, "staging");
        const production = baseConfig();
        production.acme = { ...production.acme, environment: "production" };
        const prod = await runStack(production);
        if (prod.error) throw prod.error;
        assert.equal(prod.outputs?.acmeEnvironment, "production");
    });

    it("the URLs and the token are secret outputs", async () => {
        const raw = run.rawOutputs as Record<string, unknown>;
        for (const key of ["webhookUrl", "bucketReceiverUrl", "bucketReceiverToken"]) {
            assert.ok(await isSecretOutput(raw[key]), key);
        }
        assert.equal(await isSecretOutput(raw.loadBalancerIp), false);
    });

    it("no token or hook digest appears in plaintext in any resource input", () => {
        const rendered = JSON.stringify(run.recorder.resources.map((r) => redact(r.inputs)));
        const tokens = [tokenOf(run, "github-receiver"), tokenOf(run, "bucket-receiver")];
        for (const token of tokens) assert.ok(rendered.length > 0 && !rendered.includes(token), "token in plaintext");
        assert.ok(!rendered.includes(hookOf(tokens[0], "github", "flux-system")), "github hook digest in plaintext");
        assert.ok(!rendered.includes(hookOf(tokens[1], "bucket", "flux-system")), "bucket hook digest in plaintext");
        // ...while the revealed inputs do hold them (so the check above can fail).
        const revealed = JSON.stringify(run.recorder.resources.map((r) => reveal(r.inputs)));
        for (const token of tokens) assert.ok(revealed.includes(token));
    });

    it("loadBalancerIp is the Envoy Service's load balancer address", () => {
        assert.equal(run.outputs?.loadBalancerIp, envoyIp(run));
    });

    it("the load balancer is named after the cluster unless configured", async () => {
        const annotation = (r: StackRun) =>
            reveal<any>(r.recorder.get(RELEASE, "contour-release").inputs).values.envoy.service.annotations[
                "service.beta.kubernetes.io/do-loadbalancer-name"
            ];
        assert.equal(annotation(run), "do-gitops-platform-test-envoy");
        const cfg = baseConfig();
        cfg.contour = { loadBalancerName: "edge-lb" };
        assert.equal(annotation(await runStack(cfg)), "edge-lb");
    });
});

describe("DNS", () => {
    it("with a DigitalOcean zone: an A record for the host, pointing at Envoy's IP", async () => {
        const run = await sharedRun();
        const [record] = run.recorder.all(DNS);
        assert.deepEqual(reveal(record.inputs), {
            domain: "example.com",
            type: "A",
            name: "flux",
            value: envoyIp(run),
            ttl: 300,
        });
        assert.equal(run.outputs?.dnsRecord, `flux.example.com A ${envoyIp(run)}`);
        assert.equal(run.outputs?.dnsRecordToCreate, undefined);
    });

    it("without a zone: no record; outputs say which record to create and the IP", async () => {
        const cfg = baseConfig();
        cfg.webhook = { host: "flux.example.com" };
        const run = await runStack(cfg);
        assert.equal(run.error, undefined);
        assert.equal(run.recorder.all(DNS).length, 0);
        assert.equal(run.outputs?.dnsRecordToCreate, `flux.example.com A ${envoyIp(run)}`);
        assert.equal(run.outputs?.loadBalancerIp, envoyIp(run));
        assert.equal(run.outputs?.dnsRecord, undefined);
    });
});

describe("destroy ordering", () => {
    it("DNS record → Contour release (its LB) → Kubernetes provider → cluster", async () => {
        const { recorder } = await sharedRun();
        // The record depends on the release owning the load balancer and on the Service read,
        // so Pulumi deletes the record first.
        const recordDeps = recorder.dependsOn(DNS, "webhook-dns-record");
        assert.ok(recordDeps.includes(`${RELEASE}::contour-release`), recordDeps.join(", "));
        assert.deepEqual(
            await recorder.outputDependencies(recorder.construction(DNS, "webhook-dns-record").props.value),
            [`${SERVICE}::contour-envoy-service`],
        );
        assert.deepEqual(recorder.dependsOn(SERVICE, "contour-envoy-service"), [`${RELEASE}::contour-release`]);
        // The release (and everything in the cluster) goes through the provider built from the
        // cluster's kubeconfig, so it is deleted before the provider, and that before the cluster.
        for (const r of recorder.resources.filter((r) => r.type.startsWith("kubernetes:"))) {
            assert.match(r.provider ?? "", /pulumi:providers:kubernetes::doks::/, r.name);
        }
        const kubeconfigDeps = await recorder.outputDependencies(
            recorder.construction("pulumi:providers:kubernetes", "doks").props.kubeconfig,
        );
        assert.deepEqual(kubeconfigDeps, ["digitalocean:index/kubernetesCluster:KubernetesCluster::doks-cluster"]);
    });

    it("KCert and the exposure wait for Contour and Flux; receivers wait for Flux", async () => {
        const { recorder } = await sharedRun();
        const instance = "kubernetes:fluxcd.controlplane.io/v1:FluxInstance::flux-instance";
        const kcert = recorder.dependsOn(
            "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization",
            "kcert-kustomization",
        );
        assert.ok(kcert.includes(`${RELEASE}::contour-release`) && kcert.includes(instance), kcert.join(", "));
        const proxy = recorder.dependsOn("kubernetes:projectcontour.io/v1:HTTPProxy", "webhook-httpproxy");
        assert.ok(proxy.includes(`${RELEASE}::contour-release`), proxy.join(", "));
        for (const name of ["github-receiver-receiver", "bucket-receiver-receiver"]) {
            assert.ok(
                recorder.dependsOn("kubernetes:notification.toolkit.fluxcd.io/v1:Receiver", name).includes(instance),
                name,
            );
        }
    });
});

describe("bad input", () => {
    const cases: [string, (cfg: Record<string, any>) => void, string][] = [
        ["missing email", (c) => delete c.acme.email, "acme.email"],
        ["missing host", (c) => delete c.webhook.host, "webhook.host"],
        [
            "production ACME without accepting the terms",
            (c) => Object.assign(c.acme, { environment: "production", termsAccepted: false }),
            "acme.termsAccepted",
        ],
        ["repository not owner/name", (c) => (c.github = { repository: "platform" }), "github.repository"],
        [
            "host outside the DNS zone",
            (c) => (c.webhook = { host: "flux.example.org", dnsZone: "example.com" }),
            "webhook.host",
        ],
    ];
    for (const [title, mutate, key] of cases) {
        it(`${title}: a ConfigError naming ${key}, nothing registered`, async () => {
            const cfg = baseConfig();
            mutate(cfg);
            const run = await runStack(cfg);
            assert.ok(run.error instanceof ConfigError, String(run.error));
            assert.ok(
                run.error.problems.some((p) => p.startsWith(`${key}:`)),
                `problems: ${run.error.problems.join(" | ")}`,
            );
            assert.equal(run.error.problems.length, 1, run.error.problems.join(" | "));
            assert.deepEqual(
                run.recorder.resources.filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => r.type),
                [],
            );
        });
    }

    it("the valid base config passes (so the cases above fail for their own reason)", async () => {
        const run = await sharedRun();
        assert.equal(run.error, undefined);
        assert.ok(run.recorder.all(DNS).length === 1 && run.outputs?.webhookUrl !== undefined);
    });
});

describe("who may reach the receivers", () => {
    it("Flux's allow-webhooks policy is narrowed to Envoy's namespace (contour.namespace)", async () => {
        const ops = (run: StackRun) => {
            const fi = run.recorder.kubeObject("FluxInstance", "flux");
            const patch = fi.spec.kustomize.patches.find(
                (p: any) => p.target.kind === "NetworkPolicy" && p.target.name === "allow-webhooks",
            );
            assert.ok(patch, "no patch for allow-webhooks");
            return JSON.parse(patch.patch).find((o: any) => o.op === "replace").value;
        };
        const envoyNamespace = (run: StackRun) =>
            reveal<any>(run.recorder.get(RELEASE, "contour-release").inputs).namespace as string;
        const def = await sharedRun();
        assert.equal(envoyNamespace(def), "projectcontour");
        assert.deepEqual(ops(def), [
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "projectcontour" } } },
        ]);
        const cfg = baseConfig();
        cfg.contour = { namespace: "edge" };
        const custom = await runStack(cfg);
        assert.equal(envoyNamespace(custom), "edge");
        assert.deepEqual(ops(custom), [
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "edge" } } },
        ]);
    });
});
