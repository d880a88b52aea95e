import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseConfig } from "../infrastructure/config";
import { baseConfig, FAKE_ENV, runStack } from "./harness";

const parse = (raw: Record<string, unknown>, env: NodeJS.ProcessEnv = FAKE_ENV) =>
    parseConfig(raw, { env, secretKeys: new Set() });

function problemsOf(fn: () => unknown): string[] {
    try {
        fn();
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        return [...e.problems];
    }
    assert.fail("expected a ConfigError");
}

describe("config defaults", () => {
    test("a minimal config gets the documented defaults", () => {
        const cfg = parse({ webhook: { host: "flux.example.com" }, acme: { email: "a@example.com" } });
        assert.equal(cfg.cluster.region, "fra1");
        assert.equal(cfg.cluster.version, "latest");
        assert.deepEqual(cfg.cluster.nodePool, { name: "default", size: "s-2vcpu-4gb" });
        assert.equal(cfg.cluster.ha, false);
        assert.equal(cfg.cluster.surgeUpgrade, true);
        assert.deepEqual(cfg.cluster.maintenance, { day: "sunday", startTime: "04:00" });
        assert.equal(cfg.bucket.forceDestroy, true);
        assert.equal(cfg.flux.namespace, "flux-system");
        assert.equal(cfg.flux.retryInterval, "2m");
        assert.equal(cfg.flux.timeout, "5m");
        assert.equal(cfg.acme?.environment, "staging");
        assert.equal(cfg.webhook.exposure, "httpproxy");
        assert.deepEqual(cfg.notifications, []);
    });
});

describe("bad input", () => {
    test("each problem is named by key, all at once", () => {
        const problems = problemsOf(() =>
            parse({
                cluster: { region: "mars1", nodePool: { count: 0 } },
                webhook: { host: "not a host" },
                acme: { email: "nope" },
                github: { repository: "just-a-name" },
            }),
        );
        const keys = problems.map((p) => p.split(":")[0]);
        for (const key of [
            "cluster.region",
            "cluster.nodePool.count",
            "webhook.host",
            "acme.email",
            "github.repository",
        ]) {
            assert.ok(keys.includes(key), `${key} not reported in:\n${problems.join("\n")}`);
        }
    });

    test("autoscale min greater than max", () => {
        const problems = problemsOf(() =>
            parse({ ...baseConfig(), cluster: { nodePool: { autoscale: { min: 4, max: 2 } } } }),
        );
        assert.ok(
            problems.some((p) => p.startsWith("cluster.nodePool.autoscale") && p.includes("min (4)")),
            problems.join("\n"),
        );
    });

    test("count and autoscale together", () => {
        const problems = problemsOf(() =>
            parse({ ...baseConfig(), cluster: { nodePool: { count: 2, autoscale: { min: 1, max: 3 } } } }),
        );
        assert.ok(
            problems.some((p) => p.startsWith("cluster.nodePool.count: set either")),
            problems.join("\n"),
        );
    });

    test("malformed version, start time and durations", () => {
        const problems = problemsOf(() =>
            parse({
                ...baseConfig(),
                cluster: { version: "one.two", maintenance: { startTime: "25:00" } },
                flux: { timeout: "5 minutes" },
            }),
        );
        for (const key of ["cluster.version", "cluster.maintenance.startTime", "flux.timeout"]) {
            assert.ok(
                problems.some((p) => p.startsWith(`${key}:`)),
                `${key} missing in ${problems.join("\n")}`,
            );
        }
    });

    test("missing required settings are named, with the target that needs them", () => {
        const problems = problemsOf(() => parse({}));
        assert.ok(
            problems.some((p) => p.startsWith("webhook.host: is required by target digitalocean")),
            problems.join("\n"),
        );
        assert.ok(
            problems.some((p) => p.startsWith("acme.email: is required by target digitalocean")),
            problems.join("\n"),
        );
    });

    test("unknown keys are rejected (typos do not pass silently)", () => {
        const problems = problemsOf(() => parse({ ...baseConfig(), clustr: {}, cluster: { regoin: "fra1" } }));
        assert.ok(problems.includes("clustr: unknown key"), problems.join("\n"));
        assert.ok(problems.includes("cluster.regoin: unknown key"), problems.join("\n"));
    });

    test("a bucket region without Spaces is refused", () => {
        const problems = problemsOf(() => parse({ ...baseConfig(), cluster: { region: "nyc1" } }));
        assert.ok(
            problems.some((p) => p.startsWith("bucket.region: Spaces is not offered in nyc1")),
            problems.join("\n"),
        );
        // An explicit Spaces region next to such a cluster is fine.
        assert.doesNotThrow(() => parse({ ...baseConfig(), cluster: { region: "nyc1" }, bucket: { region: "nyc3" } }));
    });

    test("missing credentials are each named; none needed when not required", () => {
        const problems = problemsOf(() => parse({ ...baseConfig(), github: { repository: "o/r" } }, {}));
        for (const v of ["DIGITALOCEAN_TOKEN", "SPACES_ACCESS_KEY_ID", "SPACES_SECRET_ACCESS_KEY", "GITHUB_TOKEN"]) {
            assert.ok(
                problems.some((p) => p.startsWith(`environment ${v}:`)),
                `${v} missing in ${problems.join("\n")}`,
            );
        }
        assert.doesNotThrow(() =>
            parseConfig({ ...baseConfig(), github: { repository: "o/r" } }, { env: {}, requireCredentials: false }),
        );
    });

    test("GITHUB_TOKEN is only required with github.repository", () => {
        const env = { ...FAKE_ENV, GITHUB_TOKEN: undefined };
        assert.doesNotThrow(() => parse(baseConfig(), env));
        const problems = problemsOf(() => parse({ ...baseConfig(), github: { repository: "o/r" } }, env));
        assert.deepEqual(
            problems.map((p) => p.split(":")[0]),
            ["environment GITHUB_TOKEN"],
        );
    });

    test("the error is a RunError, so the CLI prints it without a stack trace", () => {
        try {
            parse({});
            assert.fail("expected an error");
        } catch (e) {
            assert.ok(pulumi.RunError.isInstance(e));
            assert.match((e as Error).message, /^Invalid configuration \(\d+ problems\):\n {2}- /);
        }
    });
});

describe("bad input stops the program before any resource is registered", () => {
    test("invalid config: no resources", async () => {
        const run = await runStack({ ...baseConfig(), cluster: { nodePool: { count: 0 } } });
        assert.ok(run.error instanceof ConfigError);
        const registered = run.recorder.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
        assert.deepEqual(registered, []);
    });

    test("unknown Kubernetes version prefix is a config error, reported with the others", async () => {
        const run = await runStack({ ...baseConfig(), cluster: { version: "1.19" }, acme: { email: "x" } });
        assert.ok(run.error instanceof ConfigError, String(run.error));
        const problems = (run.error as ConfigError).problems;
        assert.ok(problems.includes("cluster.version: no DOKS version matches the prefix 1.19"), problems.join("\n"));
        assert.ok(
            problems.some((p) => p.startsWith("acme.email")),
            problems.join("\n"),
        );
        assert.deepEqual(
            run.recorder.resources.filter((r) => r.custom),
            [],
        );
    });

    test("a full version slug that DigitalOcean does not offer is refused", async () => {
        const run = await runStack({ ...baseConfig(), cluster: { version: "1.35.0-do.9" } });
        assert.ok(run.error instanceof ConfigError);
        assert.match((run.error as ConfigError).problems[0], /^cluster\.version: 1\.35\.0-do\.9 is not offered/);
    });

    test("missing credentials in a real run are named by the program too", async () => {
        const run = await runStack(baseConfig(), { program: { env: {} } });
        assert.ok(run.error instanceof ConfigError);
        assert.ok((run.error as ConfigError).problems.some((p) => p.startsWith("environment DIGITALOCEAN_TOKEN")));
        assert.equal(run.recorder.calls.length, 0, "no API call without a token");
    });
});
