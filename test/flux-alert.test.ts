import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FluxAlert, type FluxAlertArgs } from "../components/flux-alert";
import { FluxProvider } from "../components/flux-provider";
import { inputValue, type MockRecorder, reveal, runComponent } from "./harness";

const ALERT = "kubernetes:notification.toolkit.fluxcd.io/v1beta3:Alert";
const alertObject = (r: MockRecorder, name: string) => reveal<any>(r.get(ALERT, `${name}-alert`).inputs);

/**
 * The components, run once under the mocks when a test first asks (never while the file loads,
 * so the file can share a process with others: tools/test/groups.mts).
 */
let started: Promise<{ recorder: MockRecorder; made: Record<string, FluxAlert> }> | undefined;
const run = () =>
    (started ??= (async () => {
        const made: Record<string, FluxAlert> = {};
        const { recorder } = await runComponent(() => {
            // A provider in a non-default namespace with its own metadata name: the Alert must follow both.
            const chat = new FluxProvider("chat", {
                namespace: "team-a",
                providerName: "team-a-slack",
                target: { type: "slack", webhookUrl: "https://hooks.slack.com/services/T/B/X" },
            });
            const status = new FluxProvider("status", {
                namespace: "flux-system",
                target: { type: "github", repositoryUrl: "https://github.com/acme/apps", token: "t" },
            });
            made.minimal = new FluxAlert("minimal", {
                provider: chat,
                eventSources: [{ kind: "Kustomization", name: "*" }],
            });
            made.full = new FluxAlert("full", {
                provider: chat,
                alertName: "team-a-errors",
                eventSources: [
                    { kind: "Kustomization", name: "apps", namespace: "team-a" },
                    { kind: "HelmRelease", name: "*", namespace: "team-a", matchLabels: { team: "a" } },
                    { kind: "GitRepository", name: "*" },
                ],
                eventSeverity: "error",
                inclusionList: [".*failed.*"],
                exclusionList: ["waiting.*socket"],
                eventMetadata: { cluster: "dev", env: "staging", summary: "overridden" },
                summary: "Team A apps impacted",
                suspend: true,
                labels: { team: "a" },
            });
            made.summaryOnly = new FluxAlert("summary-only", {
                provider: chat,
                eventSources: [{ kind: "Bucket", name: "flux-system", namespace: "flux-system" }],
                summary: "dev cluster",
            });
            // An untyped caller trying to place the Alert elsewhere: the namespace is not an argument.
            made.sneaky = new FluxAlert("sneaky", {
                provider: chat,
                eventSources: [{ kind: "Kustomization", name: "*" }],
                namespace: "flux-system",
                metadata: { namespace: "flux-system" },
            } as unknown as FluxAlertArgs);
            made.status = new FluxAlert("status", {
                provider: status,
                eventSources: [{ kind: "Kustomization", name: "apps", namespace: "apps" }],
            });
        });
        return { recorder, made };
    })());

describe("FluxAlert", () => {
    test("is a v1beta3 Alert with defaults: name from the component, severity info, no optional fields", async () => {
        const { recorder } = await run();
        const a = alertObject(recorder, "minimal");
        assert.equal(a.apiVersion, "notification.toolkit.fluxcd.io/v1beta3");
        assert.equal(a.kind, "Alert");
        assert.equal(a.metadata.name, "minimal");
        assert.deepEqual(a.spec, {
            providerRef: { name: "team-a-slack" },
            eventSources: [{ kind: "Kustomization", name: "*" }],
            eventSeverity: "info",
        });
    });

    test("providerRef and namespace both come from the FluxProvider", async () => {
        const { recorder } = await run();
        for (const name of ["minimal", "full", "summary-only"]) {
            const a = alertObject(recorder, name);
            assert.equal(a.spec.providerRef.name, "team-a-slack", name);
            assert.equal(a.metadata.namespace, "team-a", name);
            assert.deepEqual(Object.keys(a.spec.providerRef), ["name"], "Flux's providerRef has no namespace");
        }
        const status = alertObject(recorder, "status");
        assert.equal(status.spec.providerRef.name, "status");
        assert.equal(status.metadata.namespace, "flux-system");
    });

    test("an Alert cannot be put in another namespace than its provider's", async () => {
        const { recorder, made } = await run();
        const a = alertObject(recorder, "sneaky");
        assert.equal(a.metadata.namespace, "team-a");
        assert.equal(await inputValue(made.sneaky.namespace), "team-a");
        // And the type system has no such argument: this line must not compile.
        const args: FluxAlertArgs = {
            provider: undefined as unknown as FluxProvider,
            eventSources: [],
            // @ts-expect-error FluxAlertArgs has no namespace: it is always the provider's.
            namespace: "elsewhere",
        };
        assert.ok(args);
    });

    test("filters: sources with namespace and matchLabels, severity, inclusion/exclusion lists, suspend, labels", async () => {
        const { recorder } = await run();
        const a = alertObject(recorder, "full");
        assert.deepEqual(a.metadata, { name: "team-a-errors", namespace: "team-a", labels: { team: "a" } });
        assert.deepEqual(a.spec.eventSources, [
            { kind: "Kustomization", name: "apps", namespace: "team-a" },
            { kind: "HelmRelease", name: "*", namespace: "team-a", matchLabels: { team: "a" } },
            { kind: "GitRepository", name: "*" },
        ]);
        assert.equal(a.spec.eventSeverity, "error");
        assert.deepEqual(a.spec.inclusionList, [".*failed.*"]);
        assert.deepEqual(a.spec.exclusionList, ["waiting.*socket"]);
        assert.equal(a.spec.suspend, true);
    });

    test("summary goes to eventMetadata.summary (spec.summary is deprecated) and wins over eventMetadata's", async () => {
        const { recorder } = await run();
        const full = alertObject(recorder, "full");
        assert.deepEqual(full.spec.eventMetadata, { cluster: "dev", env: "staging", summary: "Team A apps impacted" });
        assert.equal("summary" in full.spec, false);
        const only = alertObject(recorder, "summary-only");
        assert.deepEqual(only.spec.eventMetadata, { summary: "dev cluster" });
        assert.equal("eventMetadata" in alertObject(recorder, "minimal").spec, false);
    });

    test("outputs: alertName and namespace", async () => {
        const { made } = await run();
        assert.equal(await inputValue(made.full.alertName), "team-a-errors");
        assert.equal(await inputValue(made.full.namespace), "team-a");
    });

    test("rejects sources Flux would reject or never match", async () => {
        const attempt =
            (sources: FluxAlertArgs["eventSources"], github = false) =>
            () =>
                runComponent(() => {
                    const provider = new FluxProvider("p", {
                        namespace: "flux-system",
                        target: github
                            ? { type: "github", repositoryUrl: "https://github.com/acme/apps", token: "t" }
                            : { type: "generic", address: "https://hooks.example.com" },
                    });
                    return new FluxAlert("a", { provider, eventSources: sources });
                });
        await assert.rejects(attempt([]), /eventSources must not be empty/);
        await assert.rejects(
            attempt([{ kind: "HelmRelease", name: "web", matchLabels: { a: "b" } }]),
            /matchLabels needs name "\*"/,
        );
        await assert.rejects(
            attempt([{ kind: "Bucket", name: "flux-system" }], true),
            /commit statuses.*Bucket cannot be an event source/,
        );
        await assert.rejects(
            attempt([{ kind: "HelmRelease", name: "*" }], true),
            /HelmRelease cannot be an event source/,
        );
        await attempt([{ kind: "Kustomization", name: "apps" }], true)();
    });
});
