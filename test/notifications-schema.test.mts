/**
 * Every Provider, Alert and provider Secret the stack renders (with every provider type and
 * option configured) passes the published schemas: @kubernetes-models/flux-cd for the Flux
 * objects, kubernetes-models for Secrets, plus the Flux duration patterns the model package
 * leaves out (tools/validate/validate.ts), e.g. the Provider timeout's "no hours".
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { Alert, Provider } from "@kubernetes-models/flux-cd/notification.toolkit.fluxcd.io/v1beta3";
import { Secret } from "kubernetes-models/v1";
import { baseConfig, reveal, runStack } from "./harness.js";
import { validateObject } from "./validator.mjs";

const PROVIDER = "kubernetes:notification.toolkit.fluxcd.io/v1beta3:Provider";
const ALERT = "kubernetes:notification.toolkit.fluxcd.io/v1beta3:Alert";

const notifications = [
    {
        name: "feed",
        type: "generic",
        credential: "https://hooks.example.com/s",
        namespaces: ["podinfo"],
        timeout: "30s",
        suspend: true,
        summary: "dev",
        eventMetadata: { env: "dev" },
        inclusionList: [".*"],
        exclusionList: ["x"],
    },
    {
        name: "plain",
        type: "generic",
        address: "https://hooks.example.com/p",
        proxy: "http://proxy.internal:3128",
        severity: "error",
    },
    { name: "signed", type: "generic-hmac", address: "https://hooks.example.com/h", credential: "key" },
    {
        name: "chat",
        type: "slack",
        credential: "https://hooks.slack.com/services/T/B/X",
        username: "flux",
        timeout: "1m30s",
    },
    {
        name: "bot",
        type: "slack",
        address: "https://slack.com/api/chat.postMessage",
        credential: "xoxb-1",
        channel: "ops",
    },
    {
        name: "pager",
        type: "discord",
        credential: "https://discord.com/api/webhooks/1/t",
        username: "flux",
        severity: "error",
    },
    { name: "teams", type: "msteams", credential: "https://t.webhook.office.com/x", proxy: "https://proxy.internal" },
    {
        name: "status",
        type: "github",
        address: "https://github.com/acme/apps",
        credential: "ghp_x",
        kustomizations: ["apps/web", "infra"],
    },
    {
        name: "dispatch",
        type: "githubdispatch",
        address: "https://github.com/acme/ops.git",
        credential: "ghp_y",
        alerts: ["info", "error"],
    },
    {
        name: "gl-status",
        type: "gitlab",
        address: "https://gitlab.com/acme/group/apps",
        credential: "glpat-x",
        kustomizations: ["apps/web"],
    },
    {
        name: "bb-status",
        type: "bitbucket",
        address: "https://bitbucket.org/acme/apps",
        credential: "flux:app-password",
        kustomizations: ["apps/web"],
    },
    {
        name: "ado-status",
        type: "azuredevops",
        address: "https://dev.azure.com/acme/platform/_git/apps",
        credential: "pat",
        kustomizations: ["apps/web"],
    },
    { name: "tg", type: "telegram", credential: "123:bot", channel: "-1001234", proxy: "https://proxy.internal" },
    { name: "gchat", type: "googlechat", credential: "https://chat.googleapis.com/v1/spaces/X/messages?key=k&token=t" },
    { name: "oncall", type: "pagerduty", credential: "routing-key-0123", severity: "error" },
];

function modelProblems(obj: any): string[] {
    const Model = obj.kind === "Provider" ? Provider : obj.kind === "Alert" ? Alert : Secret;
    try {
        new Model(obj).validate();
        return [];
    } catch (e) {
        return [(e as Error).message];
    }
}

// The stack runs in the test, not while the file loads, so the file can share a process with
// others (tools/test/groups.mts); each check is a subtest, one per object.
test("rendered notification objects pass the Flux and Kubernetes schemas", async (t) => {
    const run = await runStack({ ...baseConfig(), notifications }, { secretKeys: ["notifications"] });
    if (run.error) throw run.error;
    const providers = run.recorder.all(PROVIDER).map((r) => reveal<any>(r.inputs));
    const alerts = run.recorder.all(ALERT).map((r) => reveal<any>(r.inputs));
    const secretNames = new Set(
        providers.flatMap((p) => [p.spec.secretRef?.name, p.spec.proxySecretRef?.name]).filter((n): n is string => !!n),
    );
    const secrets = run.recorder
        .all("kubernetes:core/v1:Secret")
        .map((r) => reveal<any>(r.inputs))
        .filter((s) => secretNames.has(s.metadata.name));

    await t.test("every provider type and every default alert is rendered", () => {
        assert.deepEqual(providers.map((p) => p.spec.type).sort(), notifications.map((n) => n.type).sort());
        assert.equal(alerts.length, 18, "feed, signed, dispatch: 2 each; 12 others: 1 each");
        assert.equal(
            secrets.length,
            16,
            "13 credential Secrets (the plain generic and pagerduty have none) and 3 proxy Secrets",
        );
    });

    for (const obj of [...providers, ...alerts]) {
        await t.test(`${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}: @kubernetes-models/flux-cd`, () => {
            assert.equal(obj.apiVersion, "notification.toolkit.fluxcd.io/v1beta3");
            assert.deepEqual(modelProblems(obj), []);
        });
        await t.test(
            `${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}: project validator (models + Flux patterns)`,
            async () => {
                assert.deepEqual(await validateObject(obj), []);
            },
        );
    }

    for (const s of secrets) {
        await t.test(`Secret ${s.metadata.namespace}/${s.metadata.name}: kubernetes-models`, () => {
            assert.deepEqual(modelProblems(s), []);
            assert.equal(s.type, "Opaque");
            assert.ok(Object.keys(s.stringData).length > 0);
        });
    }

    await t.test("the validators can fail", () => {
        const p = structuredClone(providers[0]);
        p.spec.type = "carrier-pigeon";
        assert.ok(modelProblems(p).length > 0);
        const a = structuredClone(alerts[0]);
        a.spec.eventSources = [{ kind: "Deployment", name: "web" }];
        assert.ok(modelProblems(a).length > 0);
        assert.ok(
            modelProblems({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, stringData: { token: 1 } })
                .length > 0,
        );
    });

    await t.test("the project validator enforces the Provider timeout pattern (no hours)", async () => {
        const hours = structuredClone(providers[0]);
        hours.spec.timeout = "1h";
        assert.ok((await validateObject(hours)).length > 0);
    });
});
