import assert from "node:assert/strict";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { RunError } from "@pulumi/pulumi/errors";
import { ConfigError, parseConfig } from "../infrastructure/config";
import { baseConfig, FAKE_ENV } from "./config-fixtures";

const ROOT = join(__dirname, "..");

/**
 * The whole program under mocks, loaded only by the tests that run it (named `[program]`, which
 * `make mutation` leaves out: the others start without loading the program).
 */
const runStack: typeof import("./harness").runStack = async (...args) => (await import("./harness")).runStack(...args);

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
        const cfg = parse({
            webhook: { host: "flux.example.com" },
            acme: { email: "a@example.com", termsAccepted: true },
        });
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
        assert.ok(
            problems.some((p) => p.startsWith("clustr: unknown key")),
            problems.join("\n"),
        );
        assert.ok(
            problems.some((p) => p.startsWith("cluster.regoin: unknown key")),
            problems.join("\n"),
        );
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
            assert.ok(RunError.isInstance(e));
            assert.match((e as Error).message, /^Invalid configuration \(\d+ problems\):\n {2}- /);
        }
    });
});

describe("bad input stops the program before any resource is registered", () => {
    test("invalid config: no resources [program]", async () => {
        const run = await runStack({ ...baseConfig(), cluster: { nodePool: { count: 0 } } });
        assert.ok(run.error instanceof ConfigError);
        const registered = run.recorder.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
        assert.deepEqual(registered, []);
    });

    test("unknown Kubernetes version prefix is a config error, reported with the others [program]", async () => {
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

    test("a full version slug that DigitalOcean does not offer is refused [program]", async () => {
        const run = await runStack({ ...baseConfig(), cluster: { version: "1.35.0-do.9" } });
        assert.ok(run.error instanceof ConfigError);
        assert.match((run.error as ConfigError).problems[0], /^cluster\.version: 1\.35\.0-do\.9 is not offered/);
    });

    test("missing credentials in a real run are named by the program too [program]", async () => {
        const run = await runStack(baseConfig(), { program: { env: {} } });
        assert.ok(run.error instanceof ConfigError);
        assert.ok((run.error as ConfigError).problems.some((p) => p.startsWith("environment DIGITALOCEAN_TOKEN")));
        assert.equal(run.recorder.calls.length, 0, "no API call without a token");
    });
});

/**
 * Runs the program on a stack file as a user writes it: read the way the Pulumi CLI hands it
 * to the program (scalars as text, maps and lists as JSON), then the real program under mocks.
 */
async function problemsOfStackFile(yaml: string, stack = "test"): Promise<string[]> {
    const root = mkdtempSync(join(tmpdir(), "stackfile-"));
    cpSync(join(ROOT, "Pulumi.yaml"), join(root, "Pulumi.yaml"));
    writeFileSync(join(root, `Pulumi.${stack}.yaml`), yaml);
    const { readStackConfig } = await import("../tools/render/stack-config");
    const { runOffline } = await import("../tools/mocks");
    const { main } = await import("../infrastructure/program");
    const cfg = readStackConfig(root, stack);
    const run = await runOffline({ project: cfg.project, stack, config: cfg.config, secretKeys: cfg.secretKeys }, () =>
        main({ env: FAKE_ENV }),
    );
    assert.ok(run.error instanceof ConfigError, `expected a ConfigError, got ${run.error}`);
    assert.deepEqual(
        run.recorder.resources.filter((r) => r.custom),
        [],
        "no resource before the config is valid",
    );
    return [...run.error.problems];
}

/** A valid stack file body (under `config:`), to add problems to. */
const VALID_STACK = `config:
  do-gitops-platform:webhook:
    host: flux.example.com
    dnsZone: example.com
  do-gitops-platform:acme:
    email: ops@example.com
    termsAccepted: true
`;

function has(problems: string[], key: string, pattern: RegExp): void {
    assert.ok(
        problems.some((p) => p.startsWith(`${key}:`) && pattern.test(p)),
        `no problem for ${key} matching ${pattern} in:\n${problems.join("\n")}`,
    );
}

describe("a value of the wrong type says what was expected and what was found", () => {
    test("count, ha, an unquoted version and a unit-less interval, as written in a stack file [program]", async () => {
        const problems = await problemsOfStackFile(`${VALID_STACK}  do-gitops-platform:cluster:
    version: 1.35
    ha: "yes"
    autoUpgrade: yes
    nodePool:
      count: two
  do-gitops-platform:flux:
    interval: 10
  do-gitops-platform:bucket:
    versioning: "true"
`);
        has(problems, "cluster.version", /expected .*found the number 1\.35.*quote it.*version: "1\.35"/);
        has(problems, "cluster.ha", /expected true or false, found the text "yes"/);
        has(problems, "cluster.autoUpgrade", /expected true or false, found the text "yes"/);
        has(problems, "cluster.nodePool.count", /expected a whole number, found the text "two"/);
        has(problems, "flux.interval", /expected a duration.*found the number 10.*unit.*10s or 10m/);
        has(problems, "bucket.versioning", /found the text "true": remove the quotes/);
        assert.ok(!problems.some((p) => p.includes("is required")), problems.join("\n"));
    });

    test("a fractional count and a section that is not a map [program]", async () => {
        const problems = await problemsOfStackFile(`${VALID_STACK}  do-gitops-platform:cluster:
    nodePool:
      count: 2.5
  do-gitops-platform:flux: hello
`);
        has(problems, "cluster.nodePool.count", /expected a whole number, found the number 2\.5/);
        has(problems, "flux", /expected a map of settings, found the text "hello"/);
    });

    test("a secret value of the wrong type is described without its value", () => {
        const problems = problemsOf(() =>
            parseConfig(
                {
                    ...baseConfig(),
                    notifications: [{ name: "chat", type: "slack", credential: 123456789 }],
                },
                { env: FAKE_ENV, secretKeys: new Set(["notifications"]) },
            ),
        );
        has(problems, "notifications[0].credential", /expected text, found the number \(not shown: a secret\)/);
        assert.ok(!problems.join("\n").includes("123456789"), problems.join("\n"));
    });
});

describe("checks between fields run whenever their own fields are valid", () => {
    test("one run lists the cross-field problems next to every other one", () => {
        const problems = problemsOf(() =>
            parse({
                clustr: {},
                cluster: { region: "nyc1", nodePool: { size: 5, autoscale: { min: 4, max: 2 } } },
                webhook: { host: "flux.other.org", dnsZone: "example.com", exposure: "nope" },
                acme: { email: "ops@example.com", environment: "production", termsAccepted: false },
                notifications: [{ name: "chat", type: "slack", channel: 5 }],
            }),
        );
        has(problems, "clustr", /unknown key/);
        has(problems, "cluster.nodePool.size", /found the number 5/);
        has(problems, "webhook.exposure", /must be one of httpproxy, ingress/);
        has(problems, "bucket.region", /Spaces is not offered in nyc1/);
        has(problems, "webhook.host", /outside the DNS zone example\.com/);
        has(problems, "acme.termsAccepted", /must be true/);
        has(problems, "cluster.nodePool.autoscale", /min \(4\) must not exceed max \(2\)/);
        has(problems, "notifications[0].channel", /expected text, found the number 5/);
        has(problems, "notifications[0].credential", /type slack needs a credential/);
    });

    test("a check does not run on a field that is itself invalid", () => {
        const problems = problemsOf(() =>
            parse({ ...baseConfig(), webhook: { host: "not a host", dnsZone: "example.com" } }),
        );
        assert.deepEqual(
            problems.map((p) => p.split(":")[0]),
            ["webhook.host"],
        );
    });
});

describe("settings under another namespace", () => {
    test("a typo of the project namespace is named with the namespace it should be [program]", async () => {
        const problems = await problemsOfStackFile(`${VALID_STACK}  do-gitops-platfrom:cluster:
    region: ams3
  Do_Gitops_Platform:flux:
    path: ./x
  flux:interval: 5m
`);
        has(problems, "do-gitops-platfrom:cluster", /unknown namespace.*do-gitops-platform:cluster/);
        has(problems, "Do_Gitops_Platform:flux", /did you mean do-gitops-platform:flux/);
        has(problems, "flux:interval", /did you mean do-gitops-platform:flux with interval inside it/);
    });

    test("providers' own settings are not flagged [program]", async () => {
        const run = await runStack(baseConfig(), {
            otherConfig: {
                "digitalocean:token": "x",
                "digitalocean:spacesEndpoint": "https://fra1.digitaloceanspaces.com",
                "kubernetes:context": "doks",
                "pulumi:disable-default-providers": '["kubernetes"]',
                "github:owner": "acme",
                "random:x": "y",
                "aws:region": "eu-west-1",
            },
        });
        assert.equal(run.error, undefined, String(run.error));
    });
});

describe("values that are accepted today and must not be", () => {
    test("a notification address over plain http, except to an in-cluster Service", () => {
        const problems = problemsOf(() =>
            parse({
                ...baseConfig(),
                notifications: [
                    { name: "plain", type: "generic", address: "http://hooks.example.com/flux" },
                    { name: "svc", type: "generic", address: "http://relay.tools.svc:8080/flux" },
                    { name: "fqdn", type: "generic", address: "http://relay.tools.svc.cluster.local/flux" },
                    { name: "tls", type: "generic", address: "https://hooks.example.com/flux" },
                ],
            }),
        );
        assert.deepEqual(problems.length, 1, problems.join("\n"));
        has(problems, "notifications[0].address", /must use https.*\.svc or \.svc\.cluster\.local/);
    });

    test("flux.path absolute or climbing out of the bucket", () => {
        for (const path of ["/clusters/dev", "../other", "./a/../../b"]) {
            const problems = problemsOf(() => parse({ ...baseConfig(), flux: { path } }));
            has(problems, "flux.path", /must (be relative|stay inside)/);
        }
        assert.doesNotThrow(() => parse({ ...baseConfig(), flux: { path: "./clusters/dev..old" } }));
    });

    test("zero durations", () => {
        for (const d of ["0s", "0m", "0h0m", "0.0s", "0ms"]) {
            const problems = problemsOf(() =>
                parse({
                    ...baseConfig(),
                    flux: { sourceInterval: d },
                    notifications: [{ name: "n", type: "generic", address: "https://h.example.com", timeout: d }],
                }),
            );
            has(problems, "flux.sourceInterval", /longer than zero/);
            // Flux's Provider timeout takes no hours at all; the others are zero.
            has(problems, "notifications[0].timeout", d.includes("h") ? /no hours|rejects hours/ : /longer than zero/);
        }
        assert.doesNotThrow(() => parse({ ...baseConfig(), flux: { sourceInterval: "0h1m", interval: "0.5s" } }));
    });

    test("names derived from the project and stack obey the limits of the explicit keys [program]", async () => {
        const longStack = "s".repeat(46); // do-gitops-platform- (19) + 46 = 65 > 63
        let run = await runStack(baseConfig(), { stack: longStack });
        assert.ok(run.error instanceof ConfigError, String(run.error));
        has([...run.error.problems], "cluster.name", /do-gitops-platform-s+.*at most 63 characters.*set cluster\.name/);
        assert.deepEqual(
            run.recorder.resources.filter((r) => r.custom),
            [],
        );

        run = await runStack(baseConfig(), { stack: "Dev_1" });
        assert.ok(run.error instanceof ConfigError, String(run.error));
        has([...run.error.problems], "cluster.name", /"do-gitops-platform-Dev_1".*lowercase DNS label/);

        // A cluster name the explicit key accepts, whose load balancer name is too long.
        run = await runStack({ ...baseConfig(), cluster: { ...baseConfig().cluster, name: "c".repeat(60) } });
        assert.ok(run.error instanceof ConfigError, String(run.error));
        has(
            [...run.error.problems],
            "contour.loadBalancerName",
            /c{60}-envoy.*at most 63.*set contour\.loadBalancerName/,
        );

        // Explicit names replace the derived ones.
        run = await runStack(
            {
                ...baseConfig(),
                cluster: { ...baseConfig().cluster, name: "c".repeat(60) },
                contour: { loadBalancerName: "lb" },
            },
            { stack: longStack },
        );
        assert.equal(run.error, undefined, String(run.error));
    });
});

describe("unknown keys and values get a did-you-mean", () => {
    test("close keys and enum values are suggested; far ones list what is known", () => {
        const problems = problemsOf(() =>
            parse({
                ...baseConfig(),
                clustr: {},
                cluster: { regoin: "fra1", nodepool: {}, maintenance: { day: "sundy" } },
                acme: { ...baseConfig().acme, enviroment: "staging" },
                webhook: { ...baseConfig().webhook, xyz: 1 },
            }),
        );
        has(problems, "clustr", /did you mean cluster\?/);
        has(problems, "cluster.regoin", /did you mean region\?/);
        has(problems, "cluster.nodepool", /did you mean nodePool\?/);
        has(problems, "acme.enviroment", /did you mean environment\?/);
        has(problems, "cluster.maintenance.day", /found the text "sundy", did you mean sunday\?/);
        has(problems, "webhook.xyz", /unknown key; known keys: host, .*dnsZone, exposure, rateLimit/);
    });
});

describe("keys written flat instead of nested", () => {
    test("`pulumi config set cluster.region` without --path is named with the nested key to use", () => {
        const problems = problemsOf(() =>
            parse({
                ...baseConfig(),
                "cluster.region": "ams3",
                "fluxx:interval": "5m",
                webhook: { ...baseConfig().webhook, "rateLimit.burst": 5 },
            }),
        );
        has(problems, "cluster.region", /did you mean cluster with region inside it\?.*--path 'cluster\.region'/);
        has(problems, "fluxx:interval", /did you mean flux with interval inside it\?.*--path 'flux\.interval'/);
        has(
            problems,
            "webhook.rateLimit.burst",
            /did you mean rateLimit with burst inside it\?.*--path 'webhook\.rateLimit\.burst'/,
        );
    });

    test("an empty value is called one", () => {
        const problems = problemsOf(() => parse({ ...baseConfig(), flux: "", github: { repository: "" } }));
        has(problems, "flux", /expected a map of settings, found an empty value/);
        has(problems, "github.repository", /must be in owner\/name form; found an empty value/);
    });
});

describe("ACME terms (Let's Encrypt refuses accounts that do not agree, staging too)", () => {
    for (const [label, acme] of [
        ["unset, staging", { email: "ops@example.com" }],
        ["false, staging", { email: "ops@example.com", environment: "staging", termsAccepted: false }],
        ["false, production", { email: "ops@example.com", environment: "production", termsAccepted: false }],
    ] as const) {
        test(`termsAccepted ${label} is refused with a link to the terms`, () => {
            const problems = problemsOf(() => parse({ ...baseConfig(), acme }));
            has(problems, "acme.termsAccepted", /must be true.*https:\/\/letsencrypt\.org\/repository\//);
        });
    }
    test("on an existing cluster, the terms are required with a public host (KCert), not without one", () => {
        const existing = (extra: Record<string, unknown>) =>
            parseConfig({ target: "existing-cluster", ...extra }, { env: {}, requireCredentials: false });
        const problems = problemsOf(() =>
            existing({
                webhook: { host: "flux.example.org" },
                contour: { install: true },
                acme: { email: "ops@example.org" },
            }),
        );
        has(problems, "acme.termsAccepted", /must be true.*https:\/\/letsencrypt\.org\/repository\//);
        assert.doesNotThrow(() => existing({}));
    });

    test("termsAccepted true passes in both environments", () => {
        for (const environment of ["staging", "production"]) {
            assert.doesNotThrow(() =>
                parse({ ...baseConfig(), acme: { email: "ops@example.com", environment, termsAccepted: true } }),
            );
        }
    });
});
