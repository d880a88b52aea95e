/** The GitHub repository webhook, alone and as the stack wires it to the github receiver. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { before, describe, it } from "node:test";
import * as github from "@pulumi/github";
import type * as pulumi from "@pulumi/pulumi";
import { GitHubWebhook, parseRepository } from "../components/github-webhook";
import {
    baseConfig,
    baseStack,
    containsSecret,
    redact,
    reveal,
    runComponent,
    runStack,
    type StackRun,
} from "./harness";

const WEBHOOK = "github:index/repositoryWebhook:RepositoryWebhook";
const PASSWORD = "random:index/randomPassword:RandomPassword";

describe("GitHubWebhook component", () => {
    it("delivers JSON push events with the secret, TLS verified by default", async () => {
        const { recorder } = await runComponent(() => {
            const provider = new github.Provider("gh", { owner: "acme" });
            return new GitHubWebhook(
                "hook",
                {
                    repository: "acme/platform",
                    url: "https://flux.example.com/hook/abc",
                    secret: "s3cr3t-value-for-hmac",
                },
                { provider },
            );
        });
        const hook = recorder.get(WEBHOOK, "hook-webhook");
        const inputs = reveal<any>(hook.inputs);
        assert.equal(inputs.repository, "platform");
        assert.deepEqual(inputs.events, ["push"]);
        assert.equal(inputs.active, true);
        assert.equal(inputs.configuration.contentType, "json");
        assert.equal(inputs.configuration.insecureSsl, false);
        assert.equal(inputs.configuration.url, "https://flux.example.com/hook/abc");
        assert.equal(inputs.configuration.secret, "s3cr3t-value-for-hmac");
        assert.ok(containsSecret(hook.inputs), "url and secret are secrets");
        assert.ok(!JSON.stringify(redact(hook.inputs)).includes("s3cr3t-value-for-hmac"));
        assert.match(hook.provider ?? "", /pulumi:providers:github::gh::/);
        // The state: the provider echoes `configuration` (URL with the secret hook path, HMAC secret)
        // back as an output, which @pulumi/github 6.15.0 does not mark secret by itself.
        const opts = recorder.construction(WEBHOOK, "hook-webhook").opts as pulumi.CustomResourceOptions;
        assert.ok((opts.additionalSecretOutputs ?? []).includes("configuration"), String(opts.additionalSecretOutputs));
    });

    it("accepts only owner/name repositories", () => {
        assert.deepEqual(parseRepository("my-org/my.repo_1"), { owner: "my-org", name: "my.repo_1" });
        for (const bad of [
            "platform",
            "acme/",
            "/platform",
            "acme/platform/extra",
            "https://github.com/acme/platform",
        ]) {
            assert.throws(() => parseRepository(bad), /owner\/name/, bad);
        }
    });
});

describe("GitHub webhook in the stack", () => {
    const withRepo = (environment: "staging" | "production") => {
        const cfg = baseConfig();
        cfg.github = { repository: "acme/platform" };
        cfg.acme.environment = environment;
        return cfg;
    };
    let staging: StackRun;
    before(async () => {
        staging = await runStack(withRepo("staging"));
        assert.equal(staging.error, undefined);
    });

    it("targets the github receiver: URL = its hook, secret = its token", async () => {
        const r = staging.recorder;
        const token = reveal<any>(r.get(PASSWORD, "github-receiver-token").state).result;
        const receiver = r.kubeObject("Receiver", "github");
        const digest = createHash("sha256")
            .update(token + receiver.metadata.name + receiver.metadata.namespace)
            .digest("hex");
        const hook = r.get(WEBHOOK, "github-webhook-webhook");
        const cfg = reveal<any>(hook.inputs).configuration;
        assert.equal(cfg.url, `https://flux.example.com/hook/${digest}`);
        assert.equal(cfg.secret, token);
        // The receiver verifies X-Hub-Signature-256 with the same token.
        assert.equal(
            reveal<any>(r.get("kubernetes:core/v1:Secret", "github-receiver-secret").inputs).stringData.token,
            token,
        );
        assert.ok(containsSecret((hook.inputs as any).configuration));
        const rendered = JSON.stringify(redact(hook.inputs));
        assert.ok(!rendered.includes(token) && !rendered.includes(digest));
    });

    it("uses a GitHub provider for the repository's owner", async () => {
        const run = staging;
        const provider = run.recorder.get("pulumi:providers:github", "github");
        assert.equal(reveal<any>(provider.inputs).owner, "acme");
        assert.equal(reveal<any>(provider.inputs).token, undefined, "the provider reads GITHUB_TOKEN itself");
        assert.match(
            run.recorder.get(WEBHOOK, "github-webhook-webhook").provider ?? "",
            /pulumi:providers:github::github::/,
        );
        assert.equal(reveal<any>(run.recorder.get(WEBHOOK, "github-webhook-webhook").inputs).repository, "platform");
    });

    it("skips TLS verification with Let's Encrypt staging only", async () => {
        assert.equal(
            reveal<any>(staging.recorder.get(WEBHOOK, "github-webhook-webhook").inputs).configuration.insecureSsl,
            true,
        );
        const production = await runStack(withRepo("production"));
        assert.equal(production.error, undefined);
        assert.equal(
            reveal<any>(production.recorder.get(WEBHOOK, "github-webhook-webhook").inputs).configuration.insecureSsl,
            false,
        );
    });

    it("without github.repository: no webhook, no GitHub provider, the receiver still exists", async () => {
        const run = await baseStack();
        assert.equal(run.error, undefined);
        assert.equal(run.recorder.all(WEBHOOK).length, 0);
        assert.equal(run.recorder.all("pulumi:providers:github").length, 0);
        assert.equal(run.recorder.kubeObject("Receiver", "github").spec.type, "github");
        assert.match(String(run.outputs?.webhookUrl), /^https:\/\/flux\.example\.com\/hook\/[0-9a-f]{64}$/);
    });
});

describe("GitHubWebhook: GitHub's own limits on owner/name", () => {
    // GitHub: a user or organization name is 1-39 characters, letters, digits and hyphens, not
    // starting with a hyphen; a repository name is at most 100 characters of letters, digits,
    // `.`, `_` and `-`.
    it("owners of 1 to 39 characters, repository names of 1 to 100", () => {
        const owner39 = `a${"b".repeat(38)}`;
        const name100 = "r".repeat(100);
        assert.deepEqual(parseRepository(`${owner39}/${name100}`), { owner: owner39, name: name100 });
        assert.deepEqual(parseRepository("a/r"), { owner: "a", name: "r" });
        assert.deepEqual(parseRepository("A-1/R._-"), { owner: "A-1", name: "R._-" });
        assert.throws(() => parseRepository(`${owner39}c/r`), /owner\/name form, got "a/);
        assert.throws(() => parseRepository(`a/${name100}r`), /owner\/name/);
    });

    it("no leading hyphen, no characters GitHub refuses, nothing before or after", () => {
        for (const bad of [
            "-acme/platform",
            "ac_me/platform",
            "acme/plat form",
            " acme/platform",
            "acme/platform\n",
            "acme/platform x",
        ]) {
            assert.throws(
                () => parseRepository(bad),
                (e: Error) => e.message === `GitHub repository must be in owner/name form, got ${JSON.stringify(bad)}`,
                bad,
            );
        }
    });

    it("the defaults the JSDoc gives: active, push only, TLS verified", async () => {
        const { recorder, value } = await runComponent(
            () => new GitHubWebhook("d", { repository: "acme/platform", url: "https://h.example/hook/x", secret: "s" }),
        );
        const inputs = reveal<any>(recorder.get(WEBHOOK, "d-webhook").inputs);
        assert.deepEqual([inputs.active, inputs.events, inputs.configuration.insecureSsl], [true, ["push"], false]);
        const given = await runComponent(
            () =>
                new GitHubWebhook("g", {
                    repository: "acme/platform",
                    url: "https://h.example/hook/x",
                    secret: "s",
                    active: false,
                    events: ["push", "release"],
                    insecureSsl: true,
                }),
        );
        const g = reveal<any>(given.recorder.get(WEBHOOK, "g-webhook").inputs);
        assert.deepEqual([g.active, g.events, g.configuration.insecureSsl], [false, ["push", "release"], true]);
        assert.equal(await new Promise((r) => value.owner.apply(r)), "acme");
        assert.equal(await new Promise((r) => value.repository.apply(r)), "platform");
    });
});
