/**
 * The notification providers of issue 12 §3: azuredevops, gitlab and bitbucket commit status,
 * telegram, googlechat and pagerduty. Each credential goes where notification-controller v1.9.3
 * reads it (internal/server/event_handlers.go createNotifier, internal/notifier/*.go), and only
 * into a Secret, except PagerDuty's routing key, which Flux reads only from spec.channel.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ConfigError } from "../infrastructure/config";
import { isSecretValue } from "../tools/mocks";
import { baseConfig, MockRecorder, redact, reveal, runStack, type StackRun } from "./harness";

const PROVIDER = "kubernetes:notification.toolkit.fluxcd.io/v1beta3:Provider";

const targets = [
    {
        name: "gl",
        type: "gitlab",
        address: "https://gitlab.example.com/acme/group/apps",
        credential: "glpat-secret-1",
        kustomizations: ["apps/web"],
    },
    {
        name: "bb",
        type: "bitbucket",
        address: "https://bitbucket.org/acme/apps",
        credential: "flux:app-secret-2",
        kustomizations: ["web"],
    },
    {
        name: "ado",
        type: "azuredevops",
        address: "https://dev.azure.com/acme/platform/_git/apps",
        credential: "ado-pat-secret-3",
        kustomizations: ["apps/web"],
    },
    { name: "tg", type: "telegram", credential: "123456:bot-secret-4", channel: "-1001234" },
    { name: "gchat", type: "googlechat", credential: "https://chat.googleapis.com/v1/spaces/S/messages?key=secret-5" },
    { name: "pd", type: "pagerduty", credential: "routing-secret-6", severity: "error" },
];

describe("new notification providers in the program", () => {
    let run: StackRun;
    let recorder: MockRecorder;
    before(async () => {
        recorder = new MockRecorder();
        run = await runStack({ ...baseConfig(), notifications: targets }, { secretKeys: ["notifications"], recorder });
        if (run.error) throw run.error;
    });
    const secretOf = (p: any) => recorder.kubeObject("Secret", p.spec.secretRef.name);

    for (const type of ["gitlab", "bitbucket", "azuredevops"]) {
        it(`${type}: the repository URL in spec.address, the token in the Secret key token, one commit-status alert`, () => {
            const t = targets.find((x) => x.type === type)!;
            const p = recorder.kubeObject("Provider", t.name);
            assert.equal(p.spec.type, type);
            assert.equal(p.spec.address, t.address);
            assert.deepEqual(secretOf(p).stringData, { token: t.credential });
            const alert = recorder.kubeObject("Alert", `${t.name}-commit-status`);
            const [ns, name] = t.kustomizations![0].includes("/")
                ? t.kustomizations![0].split("/")
                : ["flux-system", t.kustomizations![0]];
            assert.deepEqual(alert.spec.eventSources, [{ kind: "Kustomization", name, namespace: ns }]);
        });
    }

    it("telegram: the bot token in the Secret key token, the chat ID in spec.channel, no address", () => {
        const p = recorder.kubeObject("Provider", "tg");
        assert.equal(p.spec.channel, "-1001234");
        assert.equal(p.spec.address, undefined);
        assert.deepEqual(secretOf(p).stringData, { token: "123456:bot-secret-4" });
    });

    it("googlechat: the webhook URL only in the Secret key address", () => {
        const p = recorder.kubeObject("Provider", "gchat");
        assert.equal(p.spec.address, undefined);
        assert.deepEqual(secretOf(p).stringData, { address: targets[4].credential });
    });

    it("pagerduty: the Events API address, the routing key in spec.channel as a Pulumi secret, no Secret", () => {
        const p = recorder.kubeObject("Provider", "pd");
        assert.equal(p.spec.address, "https://events.pagerduty.com");
        assert.equal(p.spec.channel, "routing-secret-6");
        assert.equal(p.spec.secretRef, undefined);
        const raw = recorder.all(PROVIDER).find((r) => reveal<any>(r.inputs).metadata.name === "pd")!;
        const spec = raw.inputs.spec as any;
        assert.ok(isSecretValue(spec) || isSecretValue(spec.channel), "the routing key is a Pulumi secret");
        assert.equal(recorder.kubeObject("Alert", "pd-error").spec.eventSeverity, "error");
    });

    it("no credential appears in plaintext in any recorded input or output", () => {
        const everything = JSON.stringify([recorder.resources.map((r) => redact(r.inputs)), run.outputs]);
        for (const t of targets) assert.equal(everything.includes(t.credential), false, t.name);
    });
});

describe("new notification providers: configuration", () => {
    it("refuses wrong repository URLs, missing or extra fields and plain http, all at once", async () => {
        const cfg = baseConfig();
        cfg.notifications = [
            {
                name: "a",
                type: "azuredevops",
                address: "https://dev.azure.com/acme/apps",
                credential: "x",
                kustomizations: ["w"],
            },
            {
                name: "b",
                type: "bitbucket",
                address: "https://bitbucket.org/acme/apps/extra",
                credential: "x",
                kustomizations: ["w"],
            },
            {
                name: "c",
                type: "gitlab",
                address: "http://gitlab.example.com/acme/apps",
                credential: "x",
                kustomizations: ["w"],
            },
            { name: "d", type: "gitlab", address: "https://gitlab.com/acme/apps", credential: "x" },
            { name: "e", type: "telegram", credential: "x", address: "https://api.telegram.org" },
            {
                name: "f",
                type: "googlechat",
                address: "https://chat.googleapis.com/v1/spaces/S/messages",
                credential: "x",
            },
            { name: "g", type: "pagerduty", credential: "x", channel: "key" },
            {
                name: "h",
                type: "gitlab",
                address: "https://gitlab.com/acme/apps",
                credential: "x",
                kustomizations: ["flux-system"],
            },
        ];
        const run = await runStack(cfg, { secretKeys: ["notifications"] });
        assert.ok(run.error instanceof ConfigError, String(run.error));
        const text = run.error.problems.join("\n");
        assert.match(
            text,
            /notifications\[0\]\.address: must be a repository URL such as https:\/\/dev\.azure\.com\/org\/project\/_git\/repo/,
        );
        assert.match(
            text,
            /notifications\[1\]\.address: must be a repository URL such as https:\/\/bitbucket\.org\/owner\/repo/,
        );
        assert.match(text, /notifications\[2\]\.address: must use https/);
        assert.match(text, /notifications\[3\]\.kustomizations: type gitlab posts commit statuses/);
        assert.match(text, /notifications\[4\]\.address: not used by type telegram/);
        assert.match(text, /notifications\[4\]\.channel: type telegram needs the chat ID/);
        assert.match(text, /notifications\[5\]\.address: a googlechat webhook URL carries a token/);
        assert.match(text, /notifications\[6\]\.channel: not supported by type pagerduty/);
        assert.match(text, /notifications\[7\]\.kustomizations\[0\]: flux-system\/flux-system is the root sync/);
    });

    it("refuses a credential stored in plaintext", async () => {
        const cfg = baseConfig();
        cfg.notifications = [{ name: "pd", type: "pagerduty", credential: "routing-plain" }];
        const run = await runStack(cfg);
        assert.ok(run.error instanceof ConfigError, String(run.error));
        assert.match(run.error.problems.join("\n"), /notifications\[0\]\.credential: must be stored as a secret/);
        assert.equal(run.error.problems.join("\n").includes("routing-plain"), false);
    });
});
