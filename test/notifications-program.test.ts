import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse, stringify } from "yaml";
import { PLATFORM_SETTINGS_NAME } from "../components/flux/settings";
import { substituteText } from "../components/flux/substitute";
import { ConfigError } from "../infrastructure/config";
import { DEPLOY_DIR, fluxNamespacesInTree } from "../infrastructure/notifications";
import { render } from "../tools/render/render";
import { ensureKustomize } from "../tools/validate/validate";
import {
    baseConfig,
    baseStack,
    containsSecret,
    isSecretOutput,
    type MockRecorder,
    redact,
    reveal,
    runStack,
} from "./harness";
import { kustomizeObjects } from "./kustomize-objects";

const ALERT = "kubernetes:notification.toolkit.fluxcd.io/v1beta3:Alert";
const PROVIDER = "kubernetes:notification.toolkit.fluxcd.io/v1beta3:Provider";

const objects = (r: MockRecorder, type: string) => r.all(type).map((x) => reveal<any>(x.inputs));
const byName = (list: any[]): Record<string, any> => Object.fromEntries(list.map((o) => [o.metadata.name, o]));

/** Runs start on first use: the Pulumi runtime is global, so runs must not overlap. */
function once<T>(f: () => Promise<T>): () => Promise<T> {
    let p: Promise<T> | undefined;
    return () => (p ??= f());
}

// ------------------------------------------------------------------ one generic webhook

const single = once(() =>
    runStack(
        {
            ...baseConfig(),
            notifications: [{ name: "ops", type: "generic", address: "https://hooks.example.com/flux" }],
        },
        { secretKeys: ["notifications"] },
    ),
);

describe("stack defaults with one generic webhook", () => {
    test("one Provider and two Alerts: info on everything and error-only", async () => {
        const { recorder, error } = await single();
        assert.equal(error, undefined);
        const providers = objects(recorder, PROVIDER);
        assert.deepEqual(
            providers.map((p) => [p.metadata.namespace, p.metadata.name, p.spec]),
            [["flux-system", "ops", { type: "generic", address: "https://hooks.example.com/flux" }]],
        );
        const alerts = byName(objects(recorder, ALERT));
        assert.deepEqual(Object.keys(alerts).sort(), ["ops-error", "ops-info"]);
        assert.equal(alerts["ops-info"].spec.eventSeverity, "info");
        assert.equal(alerts["ops-error"].spec.eventSeverity, "error");
        for (const a of Object.values(alerts)) {
            assert.equal(a.metadata.namespace, "flux-system");
            assert.deepEqual(a.spec.providerRef, { name: "ops" });
        }
    });

    test("the alerts cover the root sync, the bucket source, every Kustomization and HelmRelease, and KCert's source", async () => {
        const { recorder } = await single();
        const alerts = byName(objects(recorder, ALERT));
        const expected = [
            { kind: "Kustomization", name: "flux-system", namespace: "flux-system" },
            { kind: "Bucket", name: "flux-system", namespace: "flux-system" },
            { kind: "Kustomization", name: "*", namespace: "flux-system" },
            { kind: "HelmRelease", name: "*", namespace: "flux-system" },
            // deploy/apps/podinfo: the demo's HelmRelease lives in its own namespace
            { kind: "Kustomization", name: "*", namespace: "podinfo" },
            { kind: "HelmRelease", name: "*", namespace: "podinfo" },
            { kind: "GitRepository", name: "kcert", namespace: "flux-system" },
        ];
        assert.deepEqual(alerts["ops-info"].spec.eventSources, expected);
        assert.deepEqual(alerts["ops-error"].spec.eventSources, expected);
        // The sources name objects the stack really declares.
        const fi = recorder.kubeObject("FluxInstance", "flux");
        assert.equal(fi.spec.sync.name, "flux-system");
        assert.equal(fi.spec.sync.kind, "Bucket");
        assert.equal(recorder.kubeObject("GitRepository", "kcert").metadata.namespace, "flux-system");
    });

    test("both alerts reach one receiver, so each event says which alert sent it", async () => {
        const { recorder } = await single();
        const alerts = byName(objects(recorder, ALERT));
        assert.deepEqual(alerts["ops-info"].spec.eventMetadata, { alert: "ops-info" });
        assert.deepEqual(alerts["ops-error"].spec.eventMetadata, { alert: "ops-error" });
    });

    test("outputs list the provider and alert names, not secret", async () => {
        const { outputs, rawOutputs } = await single();
        assert.deepEqual(outputs!.notificationProviders, ["ops"]);
        assert.deepEqual(outputs!.notificationAlerts, ["ops-info", "ops-error"]);
        assert.equal(await isSecretOutput(rawOutputs!.notificationProviders), false);
    });

    test("no notifications configured: no Provider, no Alert, empty outputs", async () => {
        const { recorder, outputs, error } = await baseStack();
        assert.equal(error, undefined);
        assert.equal(recorder.all(PROVIDER).length, 0);
        assert.equal(recorder.all(ALERT).length, 0);
        assert.deepEqual(outputs!.notificationProviders, []);
    });
});

// ------------------------------------------------------------------ every type, options, another Flux namespace

const CRED = {
    generic: "https://hooks.example.com/flux/GENERIC-URL-SECRET",
    hmac: "HMAC-KEY-SECRET-1234",
    slack: "https://hooks.slack.com/services/T1/B1/SLACK-SECRET",
    slackBot: "xoxb-SLACK-BOT-SECRET",
    discord: "https://discord.com/api/webhooks/1/DISCORD-SECRET",
    teams: "https://example.webhook.office.com/webhookb2/TEAMS-SECRET",
    github: "ghp_GITHUB-SECRET-5678",
    dispatch: "ghp_DISPATCH-SECRET-9012",
};

const FULL = [
    {
        name: "feed",
        type: "generic",
        credential: CRED.generic,
        namespaces: ["team-a"],
        timeout: "30s",
        suspend: true,
        summary: "dev cluster",
        eventMetadata: { cluster: "dev" },
        inclusionList: [".*"],
        exclusionList: ["waiting.*socket"],
    },
    {
        name: "signed",
        type: "generic-hmac",
        address: "https://hooks.example.com/hmac",
        credential: CRED.hmac,
        proxy: "http://proxy.internal:3128",
    },
    { name: "chat", type: "slack", credential: CRED.slack, username: "flux" },
    {
        name: "bot",
        type: "slack",
        address: "https://slack.com/api/chat.postMessage",
        credential: CRED.slackBot,
        channel: "alerts",
    },
    { name: "pager", type: "discord", credential: CRED.discord, severity: "error" },
    { name: "teams", type: "msteams", credential: CRED.teams, alerts: ["error"] },
    {
        name: "status",
        type: "github",
        address: "https://github.com/acme/apps",
        credential: CRED.github,
        kustomizations: ["apps/podinfo", "infra"],
    },
    { name: "dispatch", type: "githubdispatch", address: "https://github.com/acme/ops", credential: CRED.dispatch },
];

const full = once(() =>
    runStack(
        { ...baseConfig(), flux: { namespace: "gitops" }, notifications: FULL },
        { secretKeys: ["notifications"] },
    ),
);

describe("stack defaults with every provider type", () => {
    test("the run succeeds and makes one Provider per target, in the Flux namespace", async () => {
        const { recorder, error } = await full();
        assert.equal(error, undefined);
        const providers = byName(objects(recorder, PROVIDER));
        assert.deepEqual(Object.keys(providers).sort(), FULL.map((n) => n.name).sort());
        for (const p of Object.values(providers)) assert.equal(p.metadata.namespace, "gitops");
        assert.deepEqual(
            Object.fromEntries(Object.values(providers).map((p) => [p.metadata.name, p.spec.type])),
            Object.fromEntries(FULL.map((n) => [n.name, n.type])),
        );
    });

    test("alert rule: webhooks get info+error, others the alert of their severity or their alerts list", async () => {
        const { recorder } = await full();
        const alerts = objects(recorder, ALERT);
        const names = (provider: string) =>
            alerts
                .filter((a) => a.spec.providerRef.name === provider)
                .map((a) => `${a.metadata.name}:${a.spec.eventSeverity}`)
                .sort();
        assert.deepEqual(names("feed"), ["feed-error:error", "feed-info:info"]);
        assert.deepEqual(names("signed"), ["signed-error:error", "signed-info:info"]);
        assert.deepEqual(names("chat"), ["chat-info:info"]);
        assert.deepEqual(names("bot"), ["bot-info:info"]);
        assert.deepEqual(names("pager"), ["pager-error:error"]);
        assert.deepEqual(names("teams"), ["teams-error:error"]);
        assert.deepEqual(names("dispatch"), ["dispatch-info:info"]);
        assert.deepEqual(names("status"), ["status-commit-status:info"]);
        // Only a target with two alerts gets the `alert` metadata key.
        assert.equal(byName(alerts)["chat-info"].spec.eventMetadata, undefined);
    });

    test("every Alert lives in the namespace of the Provider it names", async () => {
        const { recorder } = await full();
        const providers = new Set(objects(recorder, PROVIDER).map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
        const alerts = objects(recorder, ALERT);
        assert.equal(alerts.length, 10);
        for (const a of alerts) {
            assert.ok(
                providers.has(`${a.metadata.namespace}/${a.spec.providerRef.name}`),
                `${a.metadata.name} points outside its namespace`,
            );
        }
    });

    test("sources follow the Flux namespace; a target's namespaces add their Kustomizations and HelmReleases", async () => {
        const { recorder } = await full();
        const alerts = byName(objects(recorder, ALERT));
        const feed = alerts["feed-info"].spec.eventSources;
        assert.deepEqual(feed, [
            { kind: "Kustomization", name: "flux-system", namespace: "gitops" },
            { kind: "Bucket", name: "flux-system", namespace: "gitops" },
            { kind: "Kustomization", name: "*", namespace: "gitops" },
            { kind: "HelmRelease", name: "*", namespace: "gitops" },
            // from deploy/ (the podinfo demo), for every target
            { kind: "Kustomization", name: "*", namespace: "podinfo" },
            { kind: "HelmRelease", name: "*", namespace: "podinfo" },
            // from this target's namespaces
            { kind: "Kustomization", name: "*", namespace: "team-a" },
            { kind: "HelmRelease", name: "*", namespace: "team-a" },
            { kind: "GitRepository", name: "kcert", namespace: "gitops" },
        ]);
        const chat = alerts["chat-info"].spec.eventSources;
        assert.equal(
            chat.some((s: any) => s.namespace === "team-a"),
            false,
        );
        assert.equal(
            chat.some((s: any) => s.namespace === "podinfo"),
            true,
        );
    });

    test("the GitHub commit-status alert watches only the listed (Git-sourced) Kustomizations", async () => {
        const { recorder } = await full();
        const status = byName(objects(recorder, ALERT))["status-commit-status"];
        assert.deepEqual(status.spec.eventSources, [
            { kind: "Kustomization", name: "podinfo", namespace: "apps" },
            { kind: "Kustomization", name: "infra", namespace: "gitops" },
        ]);
        assert.equal(
            status.spec.eventSources.some((s: any) => s.kind === "Bucket" || s.name === "flux-system"),
            false,
        );
    });

    test("target options reach the Provider and the Alerts", async () => {
        const { recorder } = await full();
        const providers = byName(objects(recorder, PROVIDER));
        assert.equal(providers.feed.spec.timeout, "30s");
        assert.equal(providers.feed.spec.suspend, true);
        assert.equal(providers.chat.spec.channel, undefined, "an incoming webhook posts to its own channel");
        assert.deepEqual(providers.chat.spec.username, "flux");
        assert.equal(providers.bot.spec.address, "https://slack.com/api/chat.postMessage");
        assert.equal(providers.bot.spec.channel, "alerts");
        assert.deepEqual(providers.signed.spec.proxySecretRef, { name: "signed-provider-proxy" });
        const feed = byName(objects(recorder, ALERT))["feed-error"];
        assert.deepEqual(feed.spec.eventMetadata, { cluster: "dev", alert: "feed-error", summary: "dev cluster" });
        assert.deepEqual(feed.spec.inclusionList, [".*"]);
        assert.deepEqual(feed.spec.exclusionList, ["waiting.*socket"]);
    });

    test("each credential is in its Provider's Secret under the key Flux reads, marked secret", async () => {
        const { recorder } = await full();
        const expected: Record<string, Record<string, string>> = {
            feed: { address: CRED.generic },
            signed: { token: CRED.hmac },
            chat: { address: CRED.slack },
            bot: { token: CRED.slackBot },
            pager: { address: CRED.discord },
            teams: { address: CRED.teams },
            status: { token: CRED.github },
            dispatch: { token: CRED.dispatch },
        };
        const providers = byName(objects(recorder, PROVIDER));
        for (const [name, data] of Object.entries(expected)) {
            const secretName = providers[name].spec.secretRef.name;
            const raw = recorder
                .all("kubernetes:core/v1:Secret")
                .find((s) => reveal<any>(s.inputs).metadata.name === secretName)!;
            assert.ok(raw, `Secret ${secretName}`);
            assert.ok(containsSecret(raw.inputs.stringData), `${secretName} data is secret`);
            assert.equal(reveal<any>(raw.inputs).metadata.namespace, "gitops");
            assert.deepEqual(reveal<any>(raw.inputs).stringData, data, name);
        }
    });

    test("no credential appears in plaintext: not in any resource's inputs, not in the outputs", async () => {
        const { recorder, outputs, rawOutputs } = await full();
        const inputs = JSON.stringify(recorder.resources.map((r) => redact(r.inputs)));
        const plainOutputs: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(rawOutputs!)) {
            if (!(await isSecretOutput(v))) plainOutputs[k] = redact(outputs![k]);
        }
        const shown = JSON.stringify(plainOutputs);
        const revealed = JSON.stringify(recorder.resources.map((r) => reveal(r.inputs)));
        for (const [what, value] of Object.entries(CRED)) {
            assert.equal(inputs.includes(value), false, `${what} leaked into plaintext inputs`);
            assert.equal(shown.includes(value), false, `${what} leaked into plain outputs`);
            assert.ok(revealed.includes(value), `sanity: ${what} is rendered somewhere`);
        }
        assert.deepEqual(
            outputs!.notificationProviders,
            FULL.map((n) => n.name),
        );
    });
});

// ------------------------------------------------------------------ bad input

type Case = { title: string; targets: unknown[]; key: string; secret?: boolean; flux?: unknown };

const BAD: Case[] = [
    {
        title: "unknown provider type",
        targets: [{ name: "x", type: "opsgenie", address: "https://a.example" }],
        key: "notifications[0].type",
    },
    {
        title: "a type that needs a secret without one",
        targets: [{ name: "x", type: "slack" }],
        key: "notifications[0].credential",
    },
    {
        title: "an address that is not a URL",
        targets: [{ name: "x", type: "generic", address: "hooks.example.com/flux" }],
        key: "notifications[0].address",
    },
    {
        title: "a severity other than info/error",
        targets: [{ name: "x", type: "generic", address: "https://a.example", severity: "warning" }],
        key: "notifications[0].severity",
    },
    {
        title: "a credential not stored as a secret",
        targets: [{ name: "x", type: "msteams", credential: "https://t.example/SECRET" }],
        key: "notifications[0].credential",
        secret: false,
    },
    {
        title: 'a Slack bot token without a channel (Flux would post "channel": "", which Slack rejects)',
        targets: [
            { name: "x", type: "slack", address: "https://slack.com/api/chat.postMessage", credential: "xoxb-1" },
        ],
        key: "notifications[0].channel",
    },
    {
        title: "a channel on a Slack incoming webhook (it posts to its own channel)",
        targets: [{ name: "x", type: "slack", credential: "https://hooks.slack.com/services/T/B/X", channel: "ops" }],
        key: "notifications[0].channel",
    },
    {
        title: "a timeout in hours (Flux rejects it)",
        targets: [{ name: "x", type: "generic", address: "https://a.example", timeout: "1h" }],
        key: "notifications[0].timeout",
    },
    {
        title: "generic-hmac without an address",
        targets: [{ name: "x", type: "generic-hmac", credential: "k" }],
        key: "notifications[0].address",
    },
    {
        title: "generic with both a plain and a secret URL",
        targets: [{ name: "x", type: "generic", address: "https://a.example", credential: "https://b.example/s" }],
        key: "notifications[0].credential",
    },
    {
        title: "a discord webhook URL given as a plain address",
        targets: [
            {
                name: "x",
                type: "discord",
                address: "https://discord.com/api/webhooks/1/t",
                credential: "https://d.example",
            },
        ],
        key: "notifications[0].address",
    },
    {
        title: "an option the type does not support",
        targets: [{ name: "x", type: "msteams", credential: "https://t.example", channel: "ops" }],
        key: "notifications[0].channel",
    },
    {
        title: "a proxy for a GitHub type",
        targets: [
            {
                name: "x",
                type: "githubdispatch",
                address: "https://github.com/a/b",
                credential: "t",
                proxy: "http://p.example",
            },
        ],
        key: "notifications[0].proxy",
    },
    {
        title: "a GitHub address that is not a repository",
        targets: [{ name: "x", type: "githubdispatch", address: "https://github.com/acme", credential: "t" }],
        key: "notifications[0].address",
    },
    {
        title: "github without Kustomizations to report on",
        targets: [{ name: "x", type: "github", address: "https://github.com/a/b", credential: "t" }],
        key: "notifications[0].kustomizations",
    },
    {
        title: "github on the bucket-sourced root sync",
        targets: [
            {
                name: "x",
                type: "github",
                address: "https://github.com/a/b",
                credential: "t",
                kustomizations: ["flux-system"],
            },
        ],
        key: "notifications[0].kustomizations[0]",
    },
    {
        title: "the root sync in a custom Flux namespace",
        targets: [
            {
                name: "x",
                type: "github",
                address: "https://github.com/a/b",
                credential: "t",
                kustomizations: ["gitops/flux-system"],
            },
        ],
        key: "notifications[0].kustomizations[0]",
        flux: { namespace: "gitops" },
    },
    {
        title: "an info alert on a target whose minimum is error",
        targets: [{ name: "x", type: "slack", credential: "https://s.example", severity: "error", alerts: ["info"] }],
        key: "notifications[0].alerts",
    },
    {
        title: "Kustomizations on a non-github type",
        targets: [{ name: "x", type: "generic", address: "https://a.example", kustomizations: ["apps"] }],
        key: "notifications[0].kustomizations",
    },
    {
        title: "an unknown key",
        targets: [{ name: "x", type: "generic", address: "https://a.example", chanel: "typo" }],
        key: "notifications[0].chanel",
    },
    {
        title: "duplicate names",
        targets: [
            { name: "x", type: "generic", address: "https://a.example" },
            { name: "x", type: "generic", address: "https://b.example" },
        ],
        key: "notifications[1].name",
    },
];

async function expectConfigError(values: Record<string, unknown>, secretKeys: string[]) {
    const { recorder, error } = await runStack(values, { secretKeys });
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    const registered = recorder.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
    assert.deepEqual(
        registered.map((r) => r.name),
        [],
        "no resource may be registered on bad config",
    );
    return error;
}

describe("bad notification config", () => {
    for (const c of BAD) {
        test(`${c.title}: a ConfigError naming ${c.key}, nothing registered`, async () => {
            const values = { ...baseConfig(), notifications: c.targets, ...(c.flux ? { flux: c.flux } : {}) };
            const error = await expectConfigError(values, c.secret === false ? [] : ["notifications"]);
            assert.ok(
                error.problems.some((p) => p.startsWith(`${c.key}:`)),
                `no problem for ${c.key} in:\n${error.problems.join("\n")}`,
            );
        });
    }

    test("the same targets are fine when valid (the cases above fail for their stated reason)", async () => {
        const { error } = await runStack(
            {
                ...baseConfig(),
                notifications: [
                    { name: "a", type: "generic", address: "https://a.example", severity: "error", timeout: "45s" },
                    { name: "b", type: "msteams", credential: "https://t.example" },
                    {
                        name: "c",
                        type: "github",
                        address: "https://github.com/a/b",
                        credential: "t",
                        kustomizations: ["apps"],
                    },
                    { name: "d", type: "slack", credential: "https://s.example", severity: "error", alerts: ["error"] },
                    { name: "e", type: "generic-hmac", address: "https://h.example", credential: "k" },
                ],
            },
            { secretKeys: ["notifications"] },
        );
        assert.equal(error, undefined);
    });

    test("every problem is reported at once, with other keys' problems, and no credential is echoed", async () => {
        const secret = "https://hooks.slack.com/services/T/B/ECHO-SECRET";
        const error = await expectConfigError(
            {
                ...baseConfig(),
                cluster: { region: "mars1" },
                notifications: [
                    { name: "a", type: "carrier-pigeon" },
                    { name: "b", type: "slack" },
                    { name: "c", type: "generic", address: "not a url" },
                    { name: "d", type: "generic", address: "https://a.example", severity: "critical" },
                    { name: "e", type: "discord", address: secret, credential: secret },
                ],
            },
            ["notifications"],
        );
        for (const key of [
            "cluster.region",
            "notifications[0].type",
            "notifications[1].credential",
            "notifications[2].address",
            "notifications[3].severity",
            "notifications[4].address",
        ]) {
            assert.ok(
                error.problems.some((p) => p.startsWith(`${key}:`)),
                `missing ${key} in:\n${error.problems.join("\n")}`,
            );
        }
        assert.equal(error.message.includes("ECHO-SECRET"), false, "a credential was echoed in the error");
    });
});

// ------------------------------------------------------------------ credentials are secrets, leaf by leaf

/**
 * Pulumi marks a whole config key secret as soon as one value inside it is `secure:` (the
 * engine's secret keys are top-level keys), so the check must read the stack file's own
 * `secure:` markers. These runs go through `npm run render`, which reads a real stack file.
 */
describe("each notification credential must be a Pulumi secret", () => {
    const stackFile = (targets: string[]) =>
        [
            "config:",
            "  do-gitops-platform:webhook:",
            "    host: flux.example.com",
            "  do-gitops-platform:acme:",
            "    email: ops@example.com",
            "    termsAccepted: true",
            "  do-gitops-platform:notifications:",
            ...targets,
            "",
        ].join("\n");
    const SECURE_SLACK = ["    - name: chat", "      type: slack", "      credential:", "        secure: AAABAHNsYWNr"];
    async function renderStack(text: string) {
        const root = mkdtempSync(join(tmpdir(), "leaf-"));
        cpSync(join(__dirname, "..", "Pulumi.yaml"), join(root, "Pulumi.yaml"));
        writeFileSync(join(root, "Pulumi.leaf.yaml"), text);
        return render({ root, stack: "leaf", out: join(root, "out") });
    }

    test("a plaintext credential next to a secret one is refused, naming only that one", async () => {
        const plaintext = "https://discord.com/api/webhooks/1/PLAINTEXT-SECRET";
        const text = stackFile([
            ...SECURE_SLACK,
            "    - name: pager",
            "      type: discord",
            `      credential: ${plaintext}`,
        ]);
        await assert.rejects(renderStack(text), (e: unknown) => {
            assert.ok(e instanceof ConfigError, String(e));
            const about = e.problems.filter((p) => p.includes(".credential"));
            assert.deepEqual(
                about.map((p) => p.split(":")[0]),
                ["notifications[1].credential"],
                e.problems.join("\n"),
            );
            assert.match(about[0]!, /must be stored as a secret/);
            assert.equal(e.message.includes(plaintext), false, "the plaintext credential is not echoed");
            return true;
        });
    });

    test("every credential secret (leaf by leaf, or the whole list) renders", async () => {
        await renderStack(
            stackFile([
                ...SECURE_SLACK,
                "    - name: pager",
                "      type: discord",
                "      credential:",
                "        secure: AAABAGRpc2NvcmQ=",
            ]),
        );
        // `pulumi config set --secret notifications '[...]'` encrypts the whole list at once.
        await renderStack(
            [
                "config:",
                "  do-gitops-platform:webhook:",
                "    host: flux.example.com",
                "  do-gitops-platform:acme:",
                "    email: ops@example.com",
                "    termsAccepted: true",
                "  do-gitops-platform:notifications:",
                "    secure: AAABAHdob2xl",
                "",
            ].join("\n"),
        ).catch((e: unknown) => {
            // the placeholder "[secret]" is not a list, so the schema refuses it; what matters is
            // that no credential is reported as plaintext
            assert.ok(e instanceof ConfigError, String(e));
            assert.equal(
                e.problems.some((p) => /must be stored as a secret/.test(p)),
                false,
                e.problems.join("\n"),
            );
        });
    });
});

// ------------------------------------------------------------------ the GitOps tree's namespaces

/**
 * notification-controller v1.9.3 (internal/server/event_handlers.go, eventMatchesAlertSource):
 * an event matches a source only when its namespace and kind equal the source's (an empty source
 * namespace means the Alert's), and its name equals the source's unless that is "*".
 */
function alertMatches(alert: any, event: { kind: string; name: string; namespace: string }): boolean {
    return alert.spec.eventSources.some(
        (s: any) =>
            (s.namespace ?? alert.metadata.namespace) === event.namespace &&
            s.kind === event.kind &&
            (s.name === "*" || s.name === event.name),
    );
}

describe("the alerts hear every Kustomization and HelmRelease the GitOps tree declares", () => {
    for (const fluxNamespace of ["flux-system", "gitops"]) {
        test(`Flux namespace ${fluxNamespace}: built and substituted as Flux applies deploy/`, async () => {
            const { recorder, error } = await runStack(
                {
                    ...baseConfig(),
                    flux: { namespace: fluxNamespace },
                    notifications: [{ name: "ops", type: "generic", address: "https://hooks.example.com/flux" }],
                },
                { secretKeys: ["notifications"] },
            );
            assert.equal(error, undefined);
            const info = byName(objects(recorder, ALERT))["ops-info"];
            const settings = recorder.kubeObject("ConfigMap", PLATFORM_SETTINGS_NAME).data;
            const kustomize = ensureKustomize();
            const build = (dir: string) =>
                kustomizeObjects(kustomize, dir).map((o) => parse(substituteText(stringify(o), settings).text));
            // every environment (deploy/clusters/<env>): its layers and what they apply
            const layers = readdirSync(join(DEPLOY_DIR, "clusters")).flatMap((env) =>
                build(join(DEPLOY_DIR, "clusters", env)),
            );
            assert.ok(layers.length >= 6, "the layers of dev and prod");
            const applied = [...layers, ...layers.flatMap((l: any) => build(join(DEPLOY_DIR, l.spec.path)))];
            const watched = applied.filter((o: any) => ["Kustomization", "HelmRelease"].includes(o.kind));
            assert.ok(watched.some((o: any) => o.kind === "HelmRelease" && o.metadata.namespace === "podinfo"));
            for (const o of watched) {
                const event = { kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace };
                assert.ok(alertMatches(info, event), `${o.kind} ${event.namespace}/${event.name} is not heard`);
            }
        });
    }

    test("namespaces come from Flux objects' metadata and from a kustomization namespace above them", async () => {
        const dir = mkdtempSync(join(tmpdir(), "tree-ns-"));
        const files: Record<string, string> = {
            "a/kustomization.yaml": "namespace: team-a\nresources: [release.yaml]\n",
            "a/release.yaml": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: r\n",
            "b/k.yaml":
                // biome-ignore lint/suspicious/noTemplateCurlyInString: Flux's substitution syntax, not a template
                "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: k\n  namespace: ${flux_namespace}\n",
            "c/kustomization.yaml": "namespace: plain\nresources: [cm.yaml]\n",
            "c/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: other\n",
        };
        for (const [f, text] of Object.entries(files)) {
            mkdirSync(join(dir, f, ".."), { recursive: true });
            writeFileSync(join(dir, f), text);
        }
        assert.deepEqual(fluxNamespacesInTree(dir, { flux_namespace: "gitops" }), ["gitops", "team-a"]);
    });

    test("a file's namespaces follow its current text and the variables of each call (a parse is reused only for the same text after substitution)", () => {
        const dir = mkdtempSync(join(tmpdir(), "tree-ns-"));
        const file = join(dir, "k.yaml");
        const flux = (namespace: string) =>
            `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: k\n  namespace: ${namespace}\n`;
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Flux's substitution syntax, not a template
        writeFileSync(file, flux("${flux_namespace}"));
        assert.deepEqual(fluxNamespacesInTree(dir, { flux_namespace: "gitops" }), ["gitops"]);
        assert.deepEqual(fluxNamespacesInTree(dir, { flux_namespace: "flux-system" }), ["flux-system"]);
        assert.deepEqual(fluxNamespacesInTree(dir, { flux_namespace: "gitops", other: "x" }), ["gitops"]);
        writeFileSync(file, flux("team-b"));
        assert.deepEqual(fluxNamespacesInTree(dir, { flux_namespace: "gitops" }), ["team-b"]);
    });
});
