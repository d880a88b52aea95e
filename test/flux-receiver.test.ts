/** Flux receivers: generated token, token Secret, Receiver object and the computed webhook URL. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RECEIVER_API, SOURCE_API } from "../components/flux/api";
import { FluxReceiver, type FluxReceiverArgs } from "../components/flux-receiver";
import { containsSecret, inputValue, isSecretOutput, redact, reveal, runComponent } from "./harness";

const PASSWORD = "random:index/randomPassword:RandomPassword";
const SECRET = "kubernetes:core/v1:Secret";

async function render(args: Partial<FluxReceiverArgs> = {}) {
    return runComponent(() => {
        const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
        return new FluxReceiver(
            "github-receiver",
            { host: "hooks.example.net", receiverName: "github", ...args },
            { provider },
        );
    });
}

/** The token the mocked random provider generated for the receiver. */
function generatedToken(recorder: Awaited<ReturnType<typeof render>>["recorder"]): string {
    const token = reveal<any>(recorder.get(PASSWORD, "github-receiver-token").state).result;
    assert.ok(recorder.generatedSecrets.includes(token));
    return token;
}

describe("FluxReceiver", () => {
    it("generates a token of at least 32 characters", async () => {
        const { recorder } = await render();
        const inputs = reveal<any>(recorder.get(PASSWORD, "github-receiver-token").inputs);
        assert.ok(inputs.length >= 32, `length ${inputs.length}`);
        assert.equal(inputs.special, false);
        assert.ok(generatedToken(recorder).length >= 32);
        assert.throws(() => new FluxReceiver("short", { host: "h.example.net", tokenLength: 31 }), /tokenLength/);
    });

    it("stores the token in a Secret under key `token`, marked secret", async () => {
        const { recorder } = await render();
        const secret = recorder.get(SECRET, "github-receiver-secret");
        const obj = reveal<any>(secret.inputs);
        assert.deepEqual(Object.keys(obj.stringData), ["token"]);
        assert.equal(obj.stringData.token, generatedToken(recorder));
        assert.equal(obj.metadata.namespace, "flux-system");
        assert.ok(containsSecret((secret.inputs as any).stringData), "stringData.token must carry the secret marker");
        assert.ok(!JSON.stringify(redact(secret.inputs)).includes(generatedToken(recorder)));
    });

    it("declares a github Receiver (notification v1) for ping and push, using that Secret", async () => {
        const { recorder } = await render();
        const receiver = recorder.kubeObject("Receiver", "github");
        assert.equal(receiver.apiVersion, RECEIVER_API);
        assert.equal(RECEIVER_API, "notification.toolkit.fluxcd.io/v1");
        assert.equal(receiver.metadata.namespace, "flux-system");
        assert.equal(receiver.spec.type, "github");
        assert.deepEqual(receiver.spec.events, ["ping", "push"]);
        const secret = reveal<any>(recorder.get(SECRET, "github-receiver-secret").inputs);
        assert.equal(receiver.spec.secretRef.name, secret.metadata.name);
    });

    it("by default reconciles GitRepositories selected by label (`*` needs matchLabels)", async () => {
        const { recorder } = await render();
        assert.deepEqual(recorder.kubeObject("Receiver", "github").spec.resources, [
            {
                apiVersion: "source.toolkit.fluxcd.io/v1", // Flux v2.9's GitRepository API
                kind: "GitRepository",
                name: "*",
                matchLabels: { "gitops.platform/receiver": "github" },
            },
        ]);
    });

    it("reconciles the resources given in Args", async () => {
        const { recorder } = await render({
            receiverName: "bucket",
            type: "generic-hmac",
            resources: [{ kind: "Bucket", name: "flux-system", apiVersion: SOURCE_API }],
        });
        const receiver = recorder.kubeObject("Receiver", "bucket");
        assert.equal(receiver.spec.type, "generic-hmac");
        assert.deepEqual(receiver.spec.resources, [{ kind: "Bucket", name: "flux-system", apiVersion: SOURCE_API }]);
        assert.equal(receiver.spec.events, undefined);
    });

    it("computes the URL as https://<host>/hook/ + hex(sha256(token + name + namespace)), as a secret", async () => {
        const { recorder, value } = await render({ namespace: "gitops" });
        const token = generatedToken(recorder);
        const expected = `https://hooks.example.net/hook/${createHash("sha256").update(`${token}githubgitops`).digest("hex")}`;
        assert.equal(await inputValue(value.url), expected);
        assert.ok(await isSecretOutput(value.url));
        assert.ok(await isSecretOutput(value.token));
        assert.ok(await isSecretOutput(value.webhookPath));
        assert.equal(await inputValue(value.token), token);
    });

    it("the state keeps the token secret: result is a secret output of the RandomPassword", async () => {
        // The engine stores an output in plaintext unless the resource is registered with it in
        // additionalSecretOutputs; the component's pulumi.secret() around the token does not change
        // what is stored. `result` is @pulumi/random's output holding the generated password.
        const { recorder } = await render();
        const opts = recorder.construction(PASSWORD, "github-receiver-token").opts as pulumi.CustomResourceOptions;
        assert.ok((opts.additionalSecretOutputs ?? []).includes("result"), String(opts.additionalSecretOutputs));
        assert.equal(
            (recorder.get(PASSWORD, "github-receiver-token").state as { result: unknown }).result,
            generatedToken(recorder),
        );
    });
});

describe("FluxReceiver: arguments and ordering", () => {
    it("refuses to build a receiver with neither host nor baseUrl, before registering anything", async () => {
        const { recorder } = await runComponent(() => {
            assert.throws(() => new FluxReceiver("nowhere", {}), /FluxReceiver nowhere: set host or baseUrl/);
            return undefined;
        });
        assert.deepEqual(
            recorder.resources.map((r) => r.type),
            ["pulumi:pulumi:Stack"],
        );
    });

    it("with only baseUrl the URL is <baseUrl>/hook/<sha256> (the in-cluster Service of README's local stack)", async () => {
        const base = "http://webhook-receiver.flux-system.svc.cluster.local";
        const { recorder, value } = await render({ host: undefined, baseUrl: base });
        const token = generatedToken(recorder);
        const digest = createHash("sha256").update(`${token}githubflux-system`).digest("hex");
        assert.equal(await inputValue(value.url), `${base}/hook/${digest}`);
        assert.equal(await inputValue(value.webhookPath), `/hook/${digest}`);
    });

    it("the token is 48 characters by default (JSDoc); 32 is the least accepted, fractions are refused", async () => {
        const lengthOf = async (tokenLength?: number) =>
            reveal<any>((await render({ tokenLength })).recorder.get(PASSWORD, "github-receiver-token").inputs).length;
        assert.equal(await lengthOf(), 48);
        assert.equal(await lengthOf(32), 32);
        assert.throws(
            () => new FluxReceiver("frac", { host: "h.example.net", tokenLength: 40.5 }),
            /FluxReceiver frac: tokenLength must be an integer >= 32, got 40.5/,
        );
    });

    it("the Secret is named <receiverName>-receiver-token, as README and docs/webhooks.md say", async () => {
        const { recorder } = await render({ receiverName: "gitlab", type: "gitlab" });
        const secret = reveal<any>(recorder.get(SECRET, "github-receiver-secret").inputs);
        assert.equal(secret.metadata.name, "gitlab-receiver-token");
        assert.equal(secret.type, "Opaque");
        assert.equal(recorder.kubeObject("Receiver", "gitlab").spec.secretRef.name, "gitlab-receiver-token");
    });

    it("events given in Args replace the github default", async () => {
        const { recorder } = await render({ events: ["push", "release"] });
        assert.deepEqual(recorder.kubeObject("Receiver", "github").spec.events, ["push", "release"]);
    });

    it("the Secret waits for dependsOn; the Receiver for dependsOn and its Secret", async () => {
        const { recorder } = await runComponent(() => {
            const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
            const crds = new pulumi.ComponentResource("test:index:FluxCrds", "crds");
            return new FluxReceiver("r", { host: "h.example.net", dependsOn: [crds] }, { provider });
        });
        assert.deepEqual(recorder.dependsOn(SECRET, "r-secret"), ["test:index:FluxCrds::crds"]);
        assert.deepEqual(
            recorder.dependsOn("kubernetes:notification.toolkit.fluxcd.io/v1:Receiver", "r-receiver").sort(),
            ["kubernetes:core/v1:Secret::r-secret", "test:index:FluxCrds::crds"],
        );
    });
});
