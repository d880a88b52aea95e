import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { NOTIFICATION_API } from "../components/flux/api";
import { FluxProvider, type FluxProviderArgs, SLACK_POST_MESSAGE_URL } from "../components/flux-provider";
import { containsSecret, inputValue, type MockRecorder, redact, reveal, runComponent } from "./harness";

// Credentials are distinctive so a leak anywhere is found by a plain substring search.
const CRED = {
    genericUrl: "https://hooks.example.com/flux?token=GENERIC-URL-SECRET",
    hmacKey: "HMAC-KEY-SECRET",
    headerToken: "Bearer HEADER-SECRET",
    slackWebhook: "https://hooks.slack.com/services/T000/B000/SLACK-WEBHOOK-SECRET",
    slackBot: "xoxb-SLACK-BOT-SECRET",
    discord: "https://discord.com/api/webhooks/1/DISCORD-SECRET",
    teams: "https://example.webhook.office.com/webhookb2/TEAMS-SECRET",
    github: "ghp_GITHUB-STATUS-SECRET",
    dispatch: "ghp_GITHUB-DISPATCH-SECRET",
    proxy: "http://user:PROXY-SECRET@proxy.internal:3128",
};

/** One provider per case, all created in a single offline run. */
const CASES: Record<string, FluxProviderArgs> = {
    "generic-plain": {
        namespace: "flux-system",
        target: { type: "generic", address: "https://hooks.example.com/flux" },
    },
    "generic-secret": {
        namespace: "flux-system",
        target: { type: "generic", secretAddress: CRED.genericUrl, headers: { Authorization: CRED.headerToken } },
    },
    hmac: {
        namespace: "flux-system",
        target: { type: "generic-hmac", address: "https://hooks.example.com/hmac", hmacKey: CRED.hmacKey },
    },
    "slack-webhook": {
        namespace: "flux-system",
        target: { type: "slack", webhookUrl: CRED.slackWebhook, username: "flux-dev" },
    },
    "slack-bot": { namespace: "flux-system", target: { type: "slack", token: CRED.slackBot, channel: "alerts" } },
    "slack-bot-custom": {
        namespace: "flux-system",
        target: {
            type: "slack",
            token: CRED.slackBot,
            channel: "alerts",
            address: "https://slack.example.com/api/chat.postMessage",
        },
    },
    discord: { namespace: "flux-system", target: { type: "discord", webhookUrl: CRED.discord, username: "flux" } },
    teams: { namespace: "flux-system", target: { type: "msteams", webhookUrl: CRED.teams } },
    status: {
        namespace: "flux-system",
        target: { type: "github", repositoryUrl: "https://github.com/acme/apps", token: CRED.github },
    },
    dispatch: {
        namespace: "flux-system",
        target: { type: "githubdispatch", repositoryUrl: "https://github.com/acme/ops", token: CRED.dispatch },
    },
    options: {
        namespace: "team-a",
        providerName: "team-a-chat",
        target: { type: "slack", webhookUrl: CRED.slackWebhook, proxy: CRED.proxy },
        timeout: "30s",
        suspend: true,
        labels: { team: "a" },
    },
};

/**
 * The components, run once under the mocks when a test first asks (never while the file loads,
 * so the file can share a process with others: tools/test/groups.mts).
 */
let started: Promise<{ recorder: MockRecorder; made: Record<string, FluxProvider> }> | undefined;
const run = () =>
    (started ??= (async () => {
        const made: Record<string, FluxProvider> = {};
        const { recorder } = await runComponent(() => {
            for (const [name, args] of Object.entries(CASES)) made[name] = new FluxProvider(name, args);
        });
        return { recorder, made };
    })());

const providerObject = (r: MockRecorder, name: string) =>
    reveal<any>(r.get("kubernetes:notification.toolkit.fluxcd.io/v1beta3:Provider", `${name}-provider`).inputs);
const secretOf = (r: MockRecorder, resourceName: string) =>
    r.resources.find((x) => x.type === "kubernetes:core/v1:Secret" && x.name === resourceName);

/** The Provider spec and its credentials Secret (revealed), asserting the Secret data is marked secret. */
async function rendered(name: string) {
    const { recorder } = await run();
    const provider = providerObject(recorder, name);
    const secret = secretOf(recorder, `${name}-credentials`);
    if (secret) assert.ok(containsSecret(secret.inputs.stringData), `${name}: Secret data must be marked secret`);
    return { provider, spec: provider.spec, secret: secret ? reveal<any>(secret.inputs) : undefined };
}

describe("FluxProvider", () => {
    test("is a v1beta3 Provider named after the component in the given namespace", async () => {
        const { provider } = await rendered("generic-plain");
        assert.equal(provider.apiVersion, NOTIFICATION_API);
        assert.equal(provider.apiVersion, "notification.toolkit.fluxcd.io/v1beta3");
        assert.equal(provider.kind, "Provider");
        assert.deepEqual(provider.metadata, { name: "generic-plain", namespace: "flux-system" });
    });

    test("generic with a plain address: the address is in the spec and there is no Secret", async () => {
        const { spec, secret } = await rendered("generic-plain");
        assert.deepEqual(spec, { type: "generic", address: "https://hooks.example.com/flux" });
        assert.equal(secret, undefined);
    });

    test("generic with a secret URL and headers: both only in the Secret (address, headers)", async () => {
        const { spec, secret } = await rendered("generic-secret");
        assert.deepEqual(spec, { type: "generic", secretRef: { name: "generic-secret-provider-credentials" } });
        assert.equal(secret.metadata.name, "generic-secret-provider-credentials");
        assert.equal(secret.metadata.namespace, "flux-system");
        assert.deepEqual(Object.keys(secret.stringData).sort(), ["address", "headers"]);
        assert.equal(secret.stringData.address, CRED.genericUrl);
        assert.deepEqual(parse(secret.stringData.headers), { Authorization: CRED.headerToken });
    });

    test("generic-hmac: address in the spec, HMAC key in the Secret under token", async () => {
        const { spec, secret } = await rendered("hmac");
        assert.deepEqual(spec, {
            type: "generic-hmac",
            address: "https://hooks.example.com/hmac",
            secretRef: { name: "hmac-provider-credentials" },
        });
        assert.deepEqual(secret.stringData, { token: CRED.hmacKey });
    });

    test("slack incoming webhook: URL in the Secret under address; username in the spec, no channel", async () => {
        const { spec, secret } = await rendered("slack-webhook");
        assert.deepEqual(spec, {
            type: "slack",
            username: "flux-dev",
            secretRef: { name: "slack-webhook-provider-credentials" },
        });
        assert.deepEqual(secret.stringData, { address: CRED.slackWebhook });
    });

    test("slack bot token: token in the Secret, address defaults to chat.postMessage", async () => {
        const bot = await rendered("slack-bot");
        assert.equal(SLACK_POST_MESSAGE_URL, "https://slack.com/api/chat.postMessage");
        assert.deepEqual(bot.spec, {
            type: "slack",
            address: "https://slack.com/api/chat.postMessage",
            channel: "alerts",
            secretRef: { name: "slack-bot-provider-credentials" },
        });
        assert.deepEqual(bot.secret.stringData, { token: CRED.slackBot });
        const custom = await rendered("slack-bot-custom");
        assert.equal(custom.spec.address, "https://slack.example.com/api/chat.postMessage");
    });

    test("discord: webhook URL in the Secret under address; username in the spec", async () => {
        const { spec, secret } = await rendered("discord");
        assert.deepEqual(spec, {
            type: "discord",
            username: "flux",
            secretRef: { name: "discord-provider-credentials" },
        });
        assert.deepEqual(secret.stringData, { address: CRED.discord });
    });

    test("msteams: webhook URL in the Secret under address; nothing else", async () => {
        const { spec, secret } = await rendered("teams");
        assert.deepEqual(spec, { type: "msteams", secretRef: { name: "teams-provider-credentials" } });
        assert.deepEqual(secret.stringData, { address: CRED.teams });
    });

    test("github (commit status) and githubdispatch: repository URL in the spec, token in the Secret", async () => {
        const status = await rendered("status");
        assert.deepEqual(status.spec, {
            type: "github",
            address: "https://github.com/acme/apps",
            secretRef: { name: "status-provider-credentials" },
        });
        assert.deepEqual(status.secret.stringData, { token: CRED.github });
        const dispatch = await rendered("dispatch");
        assert.deepEqual(dispatch.spec, {
            type: "githubdispatch",
            address: "https://github.com/acme/ops",
            secretRef: { name: "dispatch-provider-credentials" },
        });
        assert.deepEqual(dispatch.secret.stringData, { token: CRED.dispatch });
    });

    test("options: name, namespace, labels, timeout, suspend; the proxy goes to a proxySecretRef Secret", async () => {
        const { recorder } = await run();
        const { provider, spec, secret } = await rendered("options");
        assert.deepEqual(provider.metadata, { name: "team-a-chat", namespace: "team-a", labels: { team: "a" } });
        assert.equal(spec.timeout, "30s");
        assert.equal(spec.suspend, true);
        assert.equal(spec.proxy, undefined, "spec.proxy is deprecated and would show the proxy URL");
        assert.deepEqual(spec.proxySecretRef, { name: "team-a-chat-provider-proxy" });
        assert.equal(secret.metadata.namespace, "team-a");
        assert.deepEqual(secret.metadata.labels, { team: "a" });
        const proxy = secretOf(recorder, "options-proxy")!;
        assert.ok(containsSecret(proxy.inputs.stringData));
        const p = reveal<any>(proxy.inputs);
        assert.deepEqual(p.metadata, {
            name: "team-a-chat-provider-proxy",
            namespace: "team-a",
            labels: { team: "a" },
        });
        assert.deepEqual(p.stringData, { address: CRED.proxy });
        // Without the options, none of these fields is set.
        const plain = await rendered("slack-webhook");
        for (const f of ["timeout", "suspend", "proxy", "proxySecretRef"]) assert.equal(f in plain.spec, false, f);
        assert.equal(secretOf(recorder, "slack-webhook-proxy"), undefined);
    });

    test("no credential appears in any Provider, nor anywhere once secrets are redacted", async () => {
        const { recorder } = await run();
        const providers = JSON.stringify(recorder.kube("Provider").map((r) => reveal(r.inputs)));
        const redacted = JSON.stringify(recorder.resources.map((r) => redact(r.inputs)));
        const revealed = JSON.stringify(recorder.resources.map((r) => reveal(r.inputs)));
        for (const [what, value] of Object.entries(CRED)) {
            assert.equal(providers.includes(value), false, `${what} is in a Provider spec`);
            assert.equal(redacted.includes(value), false, `${what} is in plaintext`);
            assert.ok(revealed.includes(value), `${what} was rendered (sanity: the search can find it)`);
        }
    });

    test("outputs: providerType, ref (name and namespace) and the Secrets", async () => {
        const { made } = await run();
        const o = made.options;
        assert.equal(o.providerType, "slack");
        assert.equal(await inputValue(o.ref.name), "team-a-chat");
        assert.equal(await inputValue(o.ref.namespace), "team-a");
        assert.ok(o.secret && o.proxySecret);
        assert.equal(made["generic-plain"].secret, undefined);
        assert.equal(made["generic-plain"].proxySecret, undefined);
        assert.equal(made.status.providerType, "github");
    });

    test("rejects ambiguous or incomplete targets from untyped callers", async () => {
        const make = (target: unknown) => () =>
            runComponent(
                () =>
                    new FluxProvider("bad", { namespace: "flux-system", target: target as FluxProviderArgs["target"] }),
            );
        await assert.rejects(
            make({ type: "generic", address: "https://a.example", secretAddress: "https://b.example" }),
            /either address or secretAddress/,
        );
        await assert.rejects(make({ type: "generic" }), /set address or secretAddress/);
        await assert.rejects(
            make({ type: "slack", webhookUrl: "https://hooks.slack.com/x", token: "t" }),
            /either webhookUrl or token/,
        );
        await assert.rejects(
            make({ type: "slack", webhookUrl: "https://hooks.slack.com/x", address: "https://slack.com/api" }),
            /address applies to a Slack bot token/,
        );
    });

    // notification-controller v1.9.3 (internal/notifier/slack.go): SlackPayload.Channel is
    // `json:"channel"` without omitempty, so a bot token without a channel posts "channel": ""
    // to chat.postMessage, which Slack answers with channel_not_found; an incoming webhook is
    // bound to its channel and ignores the field.
    test("a Slack bot token needs a channel; an incoming webhook refuses one", async () => {
        const make = (target: unknown) => () =>
            runComponent(
                () =>
                    new FluxProvider("bad", { namespace: "flux-system", target: target as FluxProviderArgs["target"] }),
            );
        await assert.rejects(make({ type: "slack", token: "xoxb-1" }), /bot token needs a channel/);
        await assert.rejects(make({ type: "slack", token: "xoxb-1", channel: "" }), /bot token needs a channel/);
        await assert.rejects(
            make({ type: "slack", webhookUrl: "https://hooks.slack.com/x", channel: "ops" }),
            /incoming webhook posts to its own channel/,
        );
    });
});
