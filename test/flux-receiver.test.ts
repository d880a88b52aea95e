/** Flux receivers: generated token, token Secret, Receiver object and the computed webhook URL. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
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
