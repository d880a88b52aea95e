/**
 * The `receivers` list (issue 12 §3): one Receiver per entry with its own random token Secret,
 * its events and resources, a secret URL equal to `/hook/` + sha256(token + name + namespace),
 * and one exact-path route in the exposure.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { before, describe, it } from "node:test";
import { ConfigError } from "../infrastructure/config";
import { validateObject } from "../tools/validate/validate";
import { baseConfig, isSecretOutput, MockRecorder, reveal, runStack, type StackRun } from "./harness";

const PASSWORD = "random:index/randomPassword:RandomPassword";
const ALL_TYPES = ["github", "gitlab", "bitbucket", "dockerhub", "quay", "harbor", "generic-hmac"] as const;

/** The events each sender's header carries, per Flux's receiver docs and receiver_handlers.go. */
const DEFAULT_EVENTS: Record<string, string[] | undefined> = {
    github: ["ping", "push"],
    gitlab: ["Push Hook", "Tag Push Hook"],
    bitbucket: ["repo:refs_changed"],
};

describe("the receivers list", () => {
    let run: StackRun;
    let recorder: MockRecorder;
    before(async () => {
        const cfg = baseConfig();
        cfg.receivers = [
            ...ALL_TYPES.map((type) => ({ name: `in-${type}`, type })),
            {
                name: "apps",
                type: "generic-hmac",
                events: ["deploy"],
                resources: [{ kind: "OCIRepository", name: "apps", namespace: "apps" }],
            },
        ];
        recorder = new MockRecorder();
        run = await runStack(cfg, { recorder });
        if (run.error) throw run.error;
    });

    for (const type of ALL_TYPES) {
        it(`${type}: a valid Receiver with its own token Secret, its events and the type's kind by label`, async () => {
            const name = `in-${type}`;
            const receiver = recorder.kubeObject("Receiver", name);
            assert.equal(receiver.apiVersion, "notification.toolkit.fluxcd.io/v1");
            assert.equal(receiver.spec.type, type);
            assert.deepEqual(receiver.spec.events, DEFAULT_EVENTS[type]);
            const registry = ["dockerhub", "quay", "harbor"].includes(type);
            assert.deepEqual(receiver.spec.resources, [
                {
                    apiVersion: registry ? "image.toolkit.fluxcd.io/v1" : "source.toolkit.fluxcd.io/v1",
                    kind: registry ? "ImageRepository" : "GitRepository",
                    name: "*",
                    matchLabels: { "gitops.platform/receiver": name },
                },
            ]);
            const secret = recorder.kubeObject("Secret", receiver.spec.secretRef.name);
            const token = reveal<any>(recorder.get(PASSWORD, `receiver-${name}-token`).state).result;
            assert.equal(secret.stringData.token, token);
            assert.ok(token.length >= 32);
            assert.deepEqual(await validateObject(receiver as any), []);
            assert.deepEqual(await validateObject(secret as any), []);
        });
    }

    it("explicit events and resources are kept", () => {
        const receiver = recorder.kubeObject("Receiver", "apps");
        assert.deepEqual(receiver.spec.events, ["deploy"]);
        assert.deepEqual(receiver.spec.resources, [
            { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", name: "apps", namespace: "apps" },
        ]);
    });

    it("every token is different", () => {
        const tokens = recorder.all(PASSWORD).map((r) => reveal<any>(r.state).result);
        assert.equal(new Set(tokens).size, tokens.length);
    });

    it("each URL (a secret output) is https://<host>/hook/ + sha256(token + name + namespace), and has its own exact route", async () => {
        const raw = run.rawOutputs as any;
        assert.equal(await isSecretOutput(raw.receiverUrls), true);
        assert.equal(await isSecretOutput(raw.receiverTokens), true);
        assert.equal(await isSecretOutput(raw.receiverSetup), false);
        const urls = run.outputs?.receiverUrls as Record<string, string>;
        const tokens = run.outputs?.receiverTokens as Record<string, string>;
        const routes = recorder
            .kubeObject("HTTPProxy", "webhook-receiver")
            .spec.routes.map((r: any) => r.conditions[0].exact);
        assert.equal(routes.length, 2 + ALL_TYPES.length + 1, "github, bucket and every listed receiver");
        for (const name of [...ALL_TYPES.map((t) => `in-${t}`), "apps"]) {
            const token = reveal<any>(recorder.get(PASSWORD, `receiver-${name}-token`).state).result;
            assert.equal(tokens[name], token);
            const digest = createHash("sha256").update(`${token}${name}flux-system`).digest("hex");
            assert.equal(urls[name], `https://flux.example.com/hook/${digest}`);
            assert.ok(routes.includes(`/hook/${digest}`), `${name} has a route`);
        }
        const setup = run.outputs?.receiverSetup as Record<string, string>;
        assert.match(setup["in-gitlab"], /X-Gitlab-Token/);
        assert.match(setup["in-harbor"], /Authorization/);
        assert.match(setup["in-dockerhub"], /secret path is the only credential/);
    });
});

describe("receivers configuration", () => {
    it("refuses built-in names, duplicates and a label selector on a named object, all at once", async () => {
        const cfg = baseConfig();
        cfg.receivers = [
            { name: "github", type: "github" },
            { name: "bucket", type: "generic-hmac" },
            { name: "x", type: "quay" },
            {
                name: "x",
                type: "harbor",
                resources: [{ kind: "ImageRepository", name: "app", matchLabels: { a: "b" } }],
            },
            { name: "y", type: "gitea" },
        ];
        const run = await runStack(cfg);
        assert.ok(run.error instanceof ConfigError, String(run.error));
        const text = run.error.problems.join("\n");
        assert.match(text, /receivers\[0\]\.name: github is a receiver the stack always makes/);
        assert.match(text, /receivers\[1\]\.name: bucket is a receiver the stack always makes/);
        assert.match(text, /receivers\[3\]\.name: duplicate name x/);
        assert.match(text, /receivers\[3\]\.resources\[0\]\.matchLabels: needs name "\*"/);
        assert.match(text, /receivers\[4\]\.type: must be one of github, gitlab/);
    });

    it("refuses receivers without a public host", async () => {
        const run = await runStack({
            target: "existing-cluster",
            existingCluster: { context: "kind-gitops" },
            receivers: [{ name: "hub", type: "dockerhub" }],
        });
        assert.ok(run.error instanceof ConfigError, String(run.error));
        assert.match(run.error.problems.join("\n"), /receivers: need webhook\.host/);
    });
});
