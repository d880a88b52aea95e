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
const runStack: typeof import("./harness").runStack = async (...args) =>
    (await import("./harness.js")).runStack(...args);

const parse = (raw: Record<string, unknown>, env: NodeJS.ProcessEnv = FAKE_ENV, secretKeys: string[] = []) =>
    parseConfig(raw, { env, secretKeys: new Set(secretKeys) });

function problemsOf(fn: () => unknown): string[] {
    try {
        fn();
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        return [...e.problems];
    }
    assert.fail("expected a ConfigError");
}

/** The problems a ConfigError names, none when the config is valid. */
function problemsOrNone(fn: () => unknown): string[] {
    try {
        fn();
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        return [...e.problems];
    }
    return [];
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
    const { readStackConfig } = await import("../tools/render/stack-config.js");
    const { runOffline } = await import("../tools/mocks.js");
    const { main } = await import("../infrastructure/program.js");
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

describe("a value of the wrong type, as the CLI hands a stack file's values over", () => {
    test("what was expected and what was found, with the fix for YAML's readings", () => {
        const problems = problemsOrNone(() =>
            parse({
                ...baseConfig(),
                cluster: {
                    version: 1.35,
                    ha: "yes",
                    autoUpgrade: "false",
                    name: 123,
                    tags: [7],
                    nodePool: { count: "3", size: true },
                },
                flux: { interval: 10, wait: null },
                webhook: { host: "flux.example.com", rateLimit: { requests: "many", burst: 2.5 } },
                bucket: "b",
                notifications: "none",
                github: { repository: "acme/platform", branch: false },
            }),
        );
        assert.deepEqual(problems, [
            'cluster.name: expected text, found the number 123: YAML reads it unquoted as a number; quote it: name: "123"',
            'cluster.version: expected a version as text, found the number 1.35: YAML reads an unquoted 1.35 as a number (and 1.30 as 1.3); quote it: version: "1.35"',
            'cluster.nodePool.size: expected text, found the value true: YAML reads it unquoted as true; quote it: size: "true"',
            'cluster.nodePool.count: expected a whole number, found the text "3": remove the quotes: count: 3',
            'cluster.ha: expected true or false, found the text "yes"',
            'cluster.autoUpgrade: expected true or false, found the text "false": remove the quotes: autoUpgrade: false',
            'cluster.tags[0]: expected text, found the number 7: YAML reads it unquoted as a number; quote it: tags: "7"',
            'bucket: expected a map of settings, found the text "b"',
            "flux.interval: expected a duration such as 30s, 5m or 1h, found the number 10: a duration needs a unit, e.g. 10s or 10m",
            "flux.wait: expected true or false, found an empty value",
            'webhook.rateLimit.requests: expected a whole number, found the text "many"',
            "webhook.rateLimit.burst: expected a whole number, found the number 2.5",
            'github.branch: expected text, found the value false: YAML reads it unquoted as false; quote it: branch: "false"',
            'notifications: expected a list, found the text "none"',
        ]);
    });

    test("inside a list too: a number for a notification's timeout gets the duration's advice", () => {
        const problems = problemsOrNone(() =>
            parse({
                ...baseConfig(),
                notifications: [{ name: "n", type: "generic", address: "https://h.example.com", timeout: 10 }],
            }),
        );
        assert.deepEqual(problems, [
            "notifications[0].timeout: expected a duration such as 30s, 5m or 1h, found the number 10: a duration needs a unit, e.g. 10s or 10m",
        ]);
    });

    test("found values: long text is cut, lists and maps are named, secrets are not shown", () => {
        const long = "x".repeat(61);
        const sixty = "y".repeat(60);
        const problems = problemsOrNone(() =>
            parse({
                ...baseConfig(),
                cluster: { region: long, version: sixty, maintenance: [], nodePool: { count: {} } },
            }),
        );
        assert.ok(
            problems.includes(
                `cluster.region: must be one of ${["nyc1", "nyc3", "sfo2", "sfo3", "ams3", "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1", "atl1"].join(", ")}; found the text "${"x".repeat(57)}..."`,
            ),
            problems.join("\n"),
        );
        assert.ok(
            problems.some((p) => p.startsWith("cluster.version:") && p.endsWith(`found the text "${sixty}"`)),
            problems.join("\n"),
        );
        assert.ok(
            problems.includes("cluster.maintenance: expected a map of settings, found a list"),
            problems.join("\n"),
        );
        assert.ok(
            problems.includes("cluster.nodePool.count: expected a whole number, found a map of settings"),
            problems.join("\n"),
        );

        const secret = problemsOrNone(() =>
            parse(
                { ...baseConfig(), acme: { email: "not-an-email", termsAccepted: true }, github: { repository: true } },
                FAKE_ENV,
                ["acme", "github"],
            ),
        );
        assert.deepEqual(secret, [
            "acme.email: is required and must be an email address (Let's Encrypt account); found the text (not shown: a secret)",
            "github.repository: expected text, found the value (not shown: a secret)",
        ]);
    });

    test("missing values, empty values and limits", () => {
        const problems = problemsOrNone(() =>
            parse(
                {
                    ...baseConfig(),
                    acme: { termsAccepted: true },
                    github: {},
                    cluster: { ...baseConfig().cluster, nodePool: { count: 513 }, name: "n".repeat(64) },
                    webhook: { host: "flux.example.com", rateLimit: { requests: 0 } },
                    notifications: [
                        { name: "a", credential: "" },
                        {
                            name: "b",
                            type: "slack",
                            credential: "x",
                            channel: "c".repeat(2049),
                            alerts: [],
                        },
                    ],
                },
                FAKE_ENV,
                ["notifications"],
            ),
        );
        assert.deepEqual(problems, [
            'cluster.name: must be at most 63 characters long; found the text "' +
                "n".repeat(57) +
                '..." (64 characters)',
            "cluster.nodePool.count: must be at most 512; found the number 513",
            "webhook.rateLimit.requests: must be at least 1; found the number 0",
            "acme.email: is required and must be an email address (Let's Encrypt account)",
            "github.repository: is required",
            "notifications[0].type: is required",
            "notifications[0].credential: must not be empty; found an empty value",
            "notifications[1].channel: must be at most 2048 characters long; found the text (not shown: a secret) (2049 characters)",
            "notifications[1].alerts: must list at least 1 entries; found a list",
        ]);
    });
});

describe("checks between fields, at their edges", () => {
    const at = (key: string, raw: Record<string, unknown>) =>
        problemsOrNone(() => parse({ ...baseConfig(), ...raw })).filter((p) => p.startsWith(`${key}:`));

    test("the webhook host is the zone itself or inside it, not a name that merely ends like it", () => {
        assert.deepEqual(at("webhook.host", { webhook: { host: "example.com", dnsZone: "example.com" } }), []);
        assert.deepEqual(at("webhook.host", { webhook: { host: "a.b.example.com", dnsZone: "example.com" } }), []);
        assert.deepEqual(at("webhook.host", { webhook: { host: "fluxexample.com", dnsZone: "example.com" } }), [
            "webhook.host: fluxexample.com is outside the DNS zone example.com (webhook.dnsZone)",
        ]);
        assert.deepEqual(
            at("webhook.host", { webhook: { host: "flux.example.com" } }),
            [],
            "no zone: nothing to be in",
        );
    });

    test("autoscale bounds may be equal; count alone or autoscale alone is fine", () => {
        const pool = (nodePool: Record<string, unknown>) =>
            problemsOrNone(() => parse({ ...baseConfig(), cluster: { ...baseConfig().cluster, nodePool } })).filter(
                (p) => p.startsWith("cluster.nodePool"),
            );
        assert.deepEqual(pool({ autoscale: { min: 3, max: 3 } }), []);
        assert.deepEqual(pool({ count: 1 }), []);
        assert.deepEqual(pool({ autoscale: { min: 4, max: 3 } }), [
            "cluster.nodePool.autoscale: min (4) must not exceed max (3)",
        ]);
        assert.deepEqual(pool({ count: 2, autoscale: { min: 1, max: 2 } }), [
            "cluster.nodePool.count: set either count or autoscale, not both",
        ]);
        // an invalid count is reported by itself, not as "both"
        assert.deepEqual(pool({ count: 0, autoscale: { min: 1, max: 2 } }), [
            "cluster.nodePool.count: must be at least 1; found the number 0",
        ]);
    });

    test("the bucket region is checked on the digitalocean target only", () => {
        const existing = problemsOrNone(() =>
            parseConfig(
                { target: "existing-cluster", cluster: { region: "nyc1" }, existingCluster: { context: "x" } },
                { env: {}, requireCredentials: false },
            ),
        );
        assert.ok(!existing.some((p) => p.startsWith("bucket.region")), existing.join("\n"));
    });
});

describe("names derived from the project and stack (baseName)", () => {
    const derived = (raw: Record<string, unknown>, baseName: string) =>
        problemsOrNone(() => parseConfig(raw, { env: FAKE_ENV, baseName }));

    test("the default cluster and load balancer names are checked like the keys that replace them", () => {
        const long = `do-gitops-platform-${"s".repeat(44)}`; // 63: the cluster name fits, its -envoy does not
        assert.deepEqual(derived(baseConfig(), long), [
            `contour.loadBalancerName: the default name "${long}-envoy" (<cluster name>-envoy) is not valid: must be at most 63 characters long; found the text "${`${long}-envoy`.slice(0, 57)}..." (69 characters); set contour.loadBalancerName, or a shorter cluster.name`,
        ]);
        assert.deepEqual(derived(baseConfig(), "do-gitops-platform-Dev"), [
            'cluster.name: the default name "do-gitops-platform-Dev" (<project>-<stack>) is not valid: must be a lowercase DNS label (a-z, 0-9, \'-\'); found the text "do-gitops-platform-Dev"; set cluster.name, or use a shorter lowercase stack name',
            'contour.loadBalancerName: the default name "do-gitops-platform-Dev-envoy" (<cluster name>-envoy) is not valid: must be a lowercase DNS label (a-z, 0-9, \'-\'); found the text "do-gitops-platform-Dev-envoy"; set contour.loadBalancerName, or a shorter cluster.name',
        ]);
        const both = derived(baseConfig(), `D${"s".repeat(63)}`);
        assert.equal(both.length, 2, both.join("\n"));
        assert.match(
            both[0]!,
            /^cluster\.name: .*is not valid: must be at most 63 characters long; .*; must be a lowercase DNS label/,
        );
    });

    test("explicit names replace them; an invalid cluster.name is reported by itself; existing-cluster names nothing", () => {
        const bad = "do-gitops-platform-Dev";
        assert.deepEqual(derived({ ...baseConfig(), cluster: { ...baseConfig().cluster, name: "edge" } }, bad), []);
        assert.deepEqual(
            derived({ ...baseConfig(), cluster: { ...baseConfig().cluster, name: "Edge" } }, bad).map(
                (p) => p.split(":")[0],
            ),
            ["cluster.name"],
        );
        assert.deepEqual(
            derived({ ...baseConfig(), contour: { loadBalancerName: "lb" } }, bad).map((p) => p.split(":")[0]),
            ["cluster.name"],
        );
        const existing = problemsOrNone(() =>
            parseConfig(
                { target: "existing-cluster", existingCluster: { context: "x" } },
                { env: {}, requireCredentials: false, baseName: bad },
            ),
        );
        assert.deepEqual(existing, []);
    });

    test("a load balancer name derived from an explicit cluster.name is checked without a stack name too", () => {
        const name = "a".repeat(60); // a valid cluster name (at most 63); with -envoy 66
        const cluster = { ...baseConfig(), cluster: { ...baseConfig().cluster, name } };
        const expected = [
            `contour.loadBalancerName: the default name "${name}-envoy" (<cluster name>-envoy) is not valid: must be at most 63 characters long; found the text "${`${name}-envoy`.slice(0, 57)}..." (66 characters); set contour.loadBalancerName, or a shorter cluster.name`,
        ];
        assert.deepEqual(
            problemsOrNone(() => parseConfig(cluster, { env: FAKE_ENV })),
            expected,
        );
        assert.deepEqual(derived(cluster, "do-gitops-platform-dev"), expected);
        // with neither a cluster.name nor a stack name nothing is derived, so nothing is reported
        assert.deepEqual(
            problemsOrNone(() => parseConfig(baseConfig(), { env: FAKE_ENV })),
            [],
        );
    });
});

describe("notification targets: each check between fields", () => {
    const at = (notifications: unknown[], opts: Partial<Parameters<typeof parseConfig>[1]> = {}, extra = {}) =>
        problemsOrNone(() =>
            parseConfig(
                { ...baseConfig(), ...extra, notifications },
                { env: FAKE_ENV, secretKeys: new Set(["notifications"]), ...opts },
            ),
        );
    const root = "https://github.com/acme/platform";

    test("names are unique; a credential is a secret; an address carries none", () => {
        assert.deepEqual(
            at([
                { name: "a", type: "generic", address: "https://h.example.com" },
                { name: "a", type: "generic", address: "https://user:pw@h.example.com" },
                { name: "b", type: "generic", credential: "https://h.example.com/t" },
            ]),
            [
                "notifications[1].name: duplicate name a",
                "notifications[1].address: must not embed credentials (user:password@); put the URL in notifications[1].credential",
            ],
        );
        const plain = problemsOrNone(() =>
            parseConfig(
                {
                    ...baseConfig(),
                    notifications: [{ name: "b", type: "slack", credential: "https://hooks.slack.com/x" }],
                },
                { env: FAKE_ENV },
            ),
        );
        assert.deepEqual(plain, [
            "notifications[0].credential: must be stored as a secret (pulumi config set --secret --path 'notifications[0].credential' <value>)",
        ]);
    });

    test("generic takes an address or a credential, exactly one; generic-hmac needs the address", () => {
        assert.deepEqual(at([{ name: "g", type: "generic" }]), [
            "notifications[0].address: type generic needs an address (or a credential holding a secret URL)",
        ]);
        assert.deepEqual(at([{ name: "g", type: "generic", address: "https://a.example.com", credential: "x" }]), [
            "notifications[0].credential: type generic takes either an address (plain URL) or a credential (secret URL), not both",
        ]);
        assert.deepEqual(at([{ name: "h", type: "generic-hmac", credential: "k" }]), [
            "notifications[0].address: type generic-hmac needs the webhook URL (the credential is the HMAC key)",
        ]);
        assert.deepEqual(
            at([{ name: "h", type: "generic-hmac", credential: "k", address: "https://a.example.com" }]),
            [],
        );
    });

    test("slack: a bot token needs a channel, an incoming webhook takes none", () => {
        const bot = { name: "s", type: "slack", credential: "xoxb", address: "https://slack.com/api/chat.postMessage" };
        assert.deepEqual(at([bot]), [
            "notifications[0].channel: a Slack bot token (address set, chat.postMessage) needs the channel to post to",
        ]);
        assert.deepEqual(at([{ ...bot, channel: "ops" }]), []);
        assert.deepEqual(at([{ name: "s", type: "slack", credential: "https://hooks.slack.com/x" }]), []);
        const hook = at([{ name: "s", type: "slack", credential: "https://hooks.slack.com/x", channel: "ops" }]);
        assert.equal(hook.length, 1);
        assert.match(
            hook[0]!,
            /^notifications\[0\]\.channel: a Slack incoming webhook posts to its own channel; remove channel, or set address to https:\/\/slack\.com\/api\/chat\.postMessage/,
        );
    });

    test("webhook URLs that carry a token belong in the credential; telegram needs a chat and no address", () => {
        for (const type of ["discord", "msteams", "googlechat"]) {
            assert.deepEqual(at([{ name: "w", type, credential: "x", address: "https://hook.example.com/x" }]), [
                `notifications[0].address: a ${type} webhook URL carries a token; set it as notifications[0].credential (pulumi config set --secret --path 'notifications[0].credential' <value>) instead`,
            ]);
            assert.deepEqual(at([{ name: "w", type, credential: "x" }]), []);
        }
        assert.deepEqual(at([{ name: "t", type: "telegram", credential: "x", address: "https://api.telegram.org" }]), [
            "notifications[0].address: not used by type telegram (Flux posts to https://api.telegram.org); remove it",
            "notifications[0].channel: type telegram needs the chat ID (or @channelname) to post to",
        ]);
        assert.deepEqual(at([{ name: "t", type: "telegram", credential: "x", channel: "@ops" }]), []);
        // an invalid channel is reported as such, not as missing
        assert.deepEqual(at([{ name: "t", type: "telegram", credential: "x", channel: "" }]), [
            "notifications[0].channel: must not be empty; found an empty value",
        ]);
        assert.deepEqual(
            at([{ name: "p", type: "pagerduty", credential: "x", address: "https://events.pagerduty.com" }]),
            [],
        );
    });

    test("commit statuses: listed Kustomizations, never the root sync from the bucket", () => {
        const gh = { name: "gh", type: "github", credential: "t", address: root };
        assert.deepEqual(at([gh]), [
            "notifications[0].kustomizations: type github posts commit statuses, so it needs the GitRepository-sourced Kustomizations to report on (the root sync comes from a bucket and has no Git commit)",
        ]);
        assert.deepEqual(
            at([
                {
                    ...gh,
                    kustomizations: ["flux-system", "apps/podinfo", "flux-system/flux-system", "other/flux-system"],
                },
            ]),
            [
                "notifications[0].kustomizations[0]: flux-system/flux-system is the root sync, sourced from the Spaces bucket; its revision is not a Git commit, so no commit status can be posted for it",
                "notifications[0].kustomizations[2]: flux-system/flux-system is the root sync, sourced from the Spaces bucket; its revision is not a Git commit, so no commit status can be posted for it",
            ],
        );
        // in another Flux namespace, the root sync is <namespace>/flux-system
        const other = at(
            [{ ...gh, kustomizations: ["flux-system", "flux-system/flux-system"] }],
            {},
            { flux: { namespace: "flux" } },
        );
        assert.deepEqual(
            other.map((p) => p.split(":")[0]),
            ["notifications[0].kustomizations[0]"],
        );
        assert.match(other[0]!, /flux\/flux-system is the root sync/);
        assert.deepEqual(at([{ ...gh, kustomizations: ["apps/podinfo"], alerts: ["error"], namespaces: ["apps"] }]), [
            "notifications[0].alerts: not supported by type github (it gets one commit-status alert)",
            "notifications[0].namespaces: not supported by type github (list kustomizations instead)",
        ]);
        // invalid ones are named as unsupported too
        assert.deepEqual(
            at([{ ...gh, kustomizations: ["apps/podinfo"], alerts: ["warn"], namespaces: ["Apps"] }]).filter((p) =>
                p.includes("not supported"),
            ),
            [
                "notifications[0].alerts: not supported by type github (it gets one commit-status alert)",
                "notifications[0].namespaces: not supported by type github (list kustomizations instead)",
            ],
        );
        const chat = { name: "c", type: "slack", credential: "x" };
        for (const kustomizations of [["apps/podinfo"], ["A/B"]]) {
            assert.deepEqual(
                at([{ ...chat, kustomizations }]).filter((p) => p.includes("only for")),
                [
                    "notifications[0].kustomizations: only for the commit-status types github, gitlab, bitbucket, azuredevops",
                ],
            );
        }
        assert.deepEqual(
            at([{ name: "d", type: "githubdispatch", credential: "t", address: root }]),
            [],
            "not a commit-status type",
        );
    });

    test("alerts: each once, and info only when the severity allows it", () => {
        const chat = { name: "c", type: "slack", credential: "x" };
        assert.deepEqual(at([{ ...chat, alerts: ["error", "error"] }]), [
            "notifications[0].alerts: lists an alert twice",
        ]);
        assert.deepEqual(at([{ ...chat, severity: "error", alerts: ["info", "error"] }]), [
            "notifications[0].alerts: includes info, but severity is error (the minimum this target wants)",
        ]);
        assert.deepEqual(at([{ ...chat, severity: "error", alerts: ["error"] }]), []);
        assert.deepEqual(at([{ ...chat, severity: "info", alerts: ["info", "error"] }]), []);
        assert.deepEqual(
            at([{ ...chat, severity: "warn", alerts: ["info"] }]).map((p) => p.split(":")[0]),
            ["notifications[0].severity"],
        );
    });

    test("items that are not maps, and a missing type, leave the other checks to the schema", () => {
        assert.deepEqual(
            at(["slack", { name: "x" }]).map((p) => p.split(":")[0]),
            ["notifications[0]", "notifications[1].type"],
        );
    });
});

describe("the stack file's secure: markers decide, leaf by leaf, which credentials are secrets", () => {
    const creds = (
        stackFileSecrets: { keys: Set<string>; paths: Set<string> },
        secretKeys: string[] = ["notifications", "github"],
    ) =>
        problemsOrNone(() =>
            parseConfig(
                {
                    ...baseConfig(),
                    github: { repository: "acme/platform", statusToken: "t" },
                    notifications: [
                        { name: "a", type: "slack", credential: "x" },
                        { name: "b", type: "slack", credential: "y" },
                    ],
                },
                { env: FAKE_ENV, secretKeys: new Set(secretKeys), stackFileSecrets },
            ),
        ).map((p) => p.split(":")[0]);

    test("the value itself, or a list or map around it, encrypted", () => {
        const file = (...paths: string[]) => ({ keys: new Set(["notifications", "github"]), paths: new Set(paths) });
        assert.deepEqual(creds(file("notifications", "github")), []);
        assert.deepEqual(creds(file("notifications[0]", "notifications[1].credential", "github.statusToken")), []);
        assert.deepEqual(creds(file("notifications[1].credential")), [
            "notifications[0].credential",
            "github.statusToken",
        ]);
        assert.deepEqual(creds(file("notifications[0].credential.x", "notifications[10]", "notifications[1]x")), [
            "notifications[0].credential",
            "notifications[1].credential",
            "github.statusToken",
        ]);
    });

    test("a key the stack file does not define (an ESC environment) falls back to the engine's secret keys", () => {
        const none = { keys: new Set<string>(), paths: new Set<string>() };
        assert.deepEqual(creds(none), []);
        assert.deepEqual(creds(none, []), [
            "notifications[0].credential",
            "notifications[1].credential",
            "github.statusToken",
        ]);
    });
});

describe("github: the commit-status token", () => {
    test("is a secret, and no notification takes the name of the Provider it creates", () => {
        const problems = problemsOrNone(() =>
            parse(
                {
                    ...baseConfig(),
                    github: { repository: "acme/platform", statusToken: "t" },
                    notifications: ["x", { name: "github-status", type: "slack", credential: "c" }],
                },
                FAKE_ENV,
                ["notifications"],
            ),
        );
        assert.deepEqual(
            problems.filter((p) => !p.startsWith("notifications[0]:")),
            [
                "github.statusToken: must be stored as a secret (pulumi config set --secret --path 'github.statusToken' <token>)",
                "notifications[1].name: github-status is the commit-status Provider github.statusToken creates; choose another name",
            ],
        );
        const noToken = problemsOrNone(() =>
            parse(
                {
                    ...baseConfig(),
                    github: { repository: "acme/platform" },
                    notifications: [{ name: "github-status", type: "slack", credential: "c" }],
                },
                FAKE_ENV,
                ["notifications"],
            ),
        );
        assert.deepEqual(noToken, []);
        const empty = problemsOrNone(() =>
            parse({ ...baseConfig(), github: { repository: "acme/platform", statusToken: "" } }),
        );
        assert.deepEqual(empty, ["github.statusToken: must not be empty; found an empty value"]);
    });
});

describe("receivers: checks between fields", () => {
    const at = (receivers: unknown, webhook: Record<string, unknown> = baseConfig().webhook) =>
        problemsOrNone(() => parse({ ...baseConfig(), webhook, receivers }));

    test("unique names that are not the built-in ones, a public host, labels only with the name *", () => {
        assert.deepEqual(
            at([
                { name: "github", type: "github" },
                { name: "bucket", type: "generic-hmac" },
                { name: "hub", type: "dockerhub" },
                { name: "hub", type: "quay" },
                "x",
                {
                    name: "sel",
                    type: "harbor",
                    resources: [
                        { kind: "ImageRepository", name: "*", matchLabels: { a: "b" } },
                        { kind: "ImageRepository", name: "app", matchLabels: { a: "b" } },
                        "y",
                    ],
                },
            ]).filter((p) => !/^receivers\[(4|5)\]\.?(resources\[2\])?:/.test(p)),
            [
                "receivers[0].name: github is a receiver the stack always makes (github, bucket); choose another name",
                "receivers[1].name: bucket is a receiver the stack always makes (github, bucket); choose another name",
                "receivers[3].name: duplicate name hub",
                'receivers[5].resources[1].matchLabels: needs name "*" (Flux selects by labels only then)',
            ],
        );
        const noHost = at([{ name: "hub", type: "dockerhub" }], {});
        assert.ok(
            noHost.includes(
                "receivers: need webhook.host (their senders reach them over the internet, through the HTTPS exposure); set webhook.host or remove receivers",
            ),
            noHost.join("\n"),
        );
        assert.ok(!at([], {}).some((p) => p.startsWith("receivers")), "no receivers, no host needed for them");
        assert.ok(
            !at([{ name: "hub", type: "dockerhub" }], { host: "not a host" }).some((p) => p.startsWith("receivers:")),
        );
    });
});

describe("image automation: checks between fields", () => {
    const at = (
        imageAutomation: Record<string, unknown>,
        extra: Record<string, unknown> = { github: { repository: "acme/platform" } },
    ) =>
        problemsOrNone(() => parse({ ...baseConfig(), ...extra, imageAutomation })).filter(
            (p) => !p.startsWith("environment"),
        );

    test("it writes to Git: the GitHub source, and enabled to take images", () => {
        assert.deepEqual(at({ enabled: true }, {}), [
            "imageAutomation.enabled: image automation commits the new tags to Git, so it needs the GitHub source (github.repository); the bucket is written only by make upload-do and cannot take commits",
        ]);
        // a github section the schema refuses counts as given: it is named by itself
        assert.deepEqual(
            at({ enabled: true }, { github: "acme/platform" }).map((p) => p.split(":")[0]),
            ["github"],
        );
        assert.deepEqual(at({ images: [{ name: "app", image: "nginx", semver: "1.x" }] }), [
            "imageAutomation.images: listed, but imageAutomation.enabled is not true",
        ]);
        assert.deepEqual(at({ enabled: false, images: [] }), []);
        assert.deepEqual(
            at({ enabled: "yes", images: [{ name: "app", image: "nginx", semver: "1.x" }] }).map(
                (p) => p.split(":")[0],
            ),
            ["imageAutomation.enabled"],
        );
    });

    test("each image: a unique name, semver or pattern, extract and order only with pattern, a valid regex, a known receiver", () => {
        const problems = at(
            {
                enabled: true,
                images: [
                    { name: "app", image: "nginx", semver: ">=1.0.0" },
                    { name: "app", image: "nginx", semver: ">=1.0.0", pattern: "^v" },
                    { name: "b", image: "nginx" },
                    { name: "c", image: "nginx", semver: "1.x", extract: "$ts", order: "numerical" },
                    { name: "d", image: "nginx", pattern: "^(?P<ts>[0-9]+)$", extract: "$ts", order: "numerical" },
                    { name: "e", image: "nginx", pattern: "([" },
                    { name: "f", image: "nginx", semver: "1.x", receiver: "hubb" },
                    { name: "g", image: "nginx", semver: "1.x", receiver: "zzzzzz" },
                    { name: "h", image: "nginx", semver: "1.x", receiver: "hub" },
                    "x",
                ],
            },
            { github: { repository: "acme/platform" }, receivers: [{ name: "hub", type: "dockerhub" }] },
        ).filter((p) => !p.startsWith("imageAutomation.images[9]"));
        assert.deepEqual(problems, [
            "imageAutomation.images[1].name: duplicate name app",
            'imageAutomation.images[1]: set either semver (a range such as ">=1.0.0 <2.0.0") or pattern (a tag regex), not both',
            'imageAutomation.images[2]: set either semver (a range such as ">=1.0.0 <2.0.0") or pattern (a tag regex), not neither',
            "imageAutomation.images[3].extract: only with pattern",
            "imageAutomation.images[3].order: only with pattern",
            "imageAutomation.images[5].pattern: not a valid regular expression",
            "imageAutomation.images[6].receiver: no receivers entry named hubb; did you mean hub?",
            "imageAutomation.images[7].receiver: no receivers entry named zzzzzz",
        ]);
    });

    test("a receiver the schema refuses could be the one an image names: only the schema's problem is reported", () => {
        for (const broken of ["y", { type: "dockerhub" }, { name: 5, type: "dockerhub" }]) {
            const problems = at(
                { enabled: true, images: [{ name: "f", image: "nginx", semver: "1.x", receiver: "hubb" }] },
                { github: { repository: "acme/platform" }, receivers: [{ name: "hub", type: "dockerhub" }, broken] },
            );
            assert.deepEqual(
                problems.map((p) => p.split(":")[0]),
                [`receivers[1]${typeof broken === "string" ? "" : ".name"}`],
                JSON.stringify(broken),
            );
        }
        // a receivers setting that is no list: no entry can be read
        assert.deepEqual(
            at(
                { enabled: true, images: [{ name: "f", image: "nginx", semver: "1.x", receiver: "hub" }] },
                { github: { repository: "acme/platform" }, receivers: "hub" },
            ).map((p) => p.split(":")[0]),
            ["receivers"],
        );
    });
});

describe("every problem is named at once, before any resource", () => {
    test("schema, cross-field, target, notification, receiver, image, github, namespace and credential problems together", () => {
        const problems = problemsOrNone(() =>
            parseConfig(
                {
                    clustr: {},
                    cluster: { region: "nyc1", nodePool: { count: 2, autoscale: { min: 1, max: 3 } } },
                    webhook: { host: "flux.other.org", dnsZone: "example.com" },
                    acme: { email: "ops@example.com" },
                    existingCluster: { context: "x" },
                    github: { repository: "acme/platform", statusToken: "t" },
                    notifications: [{ name: "chat", type: "slack" }],
                    receivers: [{ name: "github", type: "github" }],
                    imageAutomation: { images: [{ name: "app", image: "nginx", semver: "1.x" }] },
                },
                {
                    env: {},
                    secretKeys: new Set(),
                    otherKeys: ["do-gitops-platfrom:flux"],
                    baseName: "do-gitops-platform-Dev",
                },
            ),
        );
        assert.deepEqual(
            problems.map((p) => p.split(": ")[0]),
            [
                "do-gitops-platfrom:flux",
                "clustr",
                "bucket.region",
                "webhook.host",
                "acme.termsAccepted",
                "cluster.nodePool.count",
                "cluster.name",
                "contour.loadBalancerName",
                "existingCluster",
                "notifications[0].credential",
                "github.statusToken",
                "receivers[0].name",
                "imageAutomation.images",
                "environment DIGITALOCEAN_TOKEN",
                "environment SPACES_ACCESS_KEY_ID",
                "environment SPACES_SECRET_ACCESS_KEY",
                "environment GITHUB_TOKEN",
            ],
        );
    });

    test("the existing-cluster target's credential is its kubeconfig, checked with the rest", () => {
        const problems = problemsOrNone(() =>
            parseConfig(
                {
                    target: "existing-cluster",
                    existingCluster: { context: "kind" },
                    github: { repository: "acme/platform" },
                    webhook: { host: "flux.example.com", ingressClassName: "nginx" },
                    acme: { email: "a@example.com", termsAccepted: true },
                },
                { env: { KUBECONFIG: "/nonexistent/kubeconfig" } },
            ),
        );
        assert.deepEqual(
            problems.map((p) => p.split(":")[0]),
            ["environment GITHUB_TOKEN", "existingCluster.kubeconfig"],
        );
        assert.deepEqual(
            problemsOrNone(() =>
                parseConfig(
                    { target: "existing-cluster", existingCluster: { context: "kind" } },
                    { env: { KUBECONFIG: "/nonexistent/kubeconfig" }, requireCredentials: false },
                ),
            ),
            [],
        );
        // an invalid existingCluster section is named by the schema, not looked for on disk
        assert.deepEqual(
            problemsOrNone(() =>
                parseConfig(
                    { target: "existing-cluster", existingCluster: { context: 5 } },
                    { env: { KUBECONFIG: "/nonexistent/kubeconfig" } },
                ),
            ).map((p) => p.split(":")[0]),
            ["existingCluster.context"],
        );
    });

    test("a valid configuration comes back typed, with contour.install resolved and the secret keys", () => {
        const cfg = parseConfig(baseConfig(), { env: FAKE_ENV, secretKeys: new Set(["acme"]) });
        assert.equal(cfg.contour.install, true);
        assert.equal(cfg.contour.namespace, "projectcontour");
        assert.deepEqual([...cfg.secretKeys], ["acme"]);
        assert.equal(parseConfig(baseConfig(), { env: FAKE_ENV }).secretKeys.size, 0);
        assert.equal(
            parseConfig({ ...baseConfig(), contour: { install: true } }, { env: FAKE_ENV }).contour.install,
            true,
        );
    });
});

describe("the target's checks run on the sections they read, when those are valid", () => {
    const existing = (extra: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
        problemsOrNone(() =>
            parseConfig(
                { target: "existing-cluster", existingCluster: { context: "kind" }, ...extra },
                { env, requireCredentials: false },
            ),
        ).map((p) => p.split(":")[0]);
    const acme = { email: "ops@example.com", termsAccepted: true };

    test("an invalid host, ingress class or contour.install is named by itself", () => {
        assert.deepEqual(existing({ webhook: { host: "not a host" }, acme }), ["webhook.host"]);
        assert.deepEqual(existing({ webhook: { host: "flux.example.com", ingressClassName: "Nginx" }, acme }), [
            "webhook.ingressClassName",
        ]);
        assert.deepEqual(existing({ webhook: { host: "flux.example.com" }, contour: { install: "yes" }, acme }), [
            "contour.install",
        ]);
    });

    test("an invalid target is named by itself, and the credentials of the default target are asked for", () => {
        const problems = problemsOrNone(() => parseConfig({ ...baseConfig(), target: "kind" }, { env: {} }));
        assert.deepEqual(
            problems.map((p) => p.split(":")[0]),
            [
                "target",
                "environment DIGITALOCEAN_TOKEN",
                "environment SPACES_ACCESS_KEY_ID",
                "environment SPACES_SECRET_ACCESS_KEY",
            ],
        );
    });

    test("a present but invalid acme or github section counts as set", () => {
        // digitalocean: an invalid acme is not reported as missing
        const problems = problemsOrNone(() => parse({ ...baseConfig(), acme: { email: "nope", termsAccepted: true } }));
        assert.deepEqual(
            problems.map((p) => p.split(":")[0]),
            ["acme.email"],
        );
        assert.ok(!problems.some((p) => p.includes("is required by target")), problems.join("\n"));
        // existing-cluster without a host: an invalid github section still needs the host
        assert.deepEqual(existing({ github: { repository: "nope" } }), ["github.repository", "github.repository"]);
        assert.match(
            problemsOrNone(() =>
                parseConfig(
                    {
                        target: "existing-cluster",
                        existingCluster: { context: "kind" },
                        github: { repository: "nope" },
                    },
                    { env: {}, requireCredentials: false },
                ),
            )[1]!,
            /^github\.repository: needs webhook\.host/,
        );
    });

    test("the s3 secret keys are checked against the secret markers, each by its own path", () => {
        const s3 = {
            endpoint: "https://s3.example.com",
            bucket: "b-1",
            accessKeyId: "A",
            secretAccessKey: "s",
            uploadAccessKeyId: "U",
            uploadSecretAccessKey: "u",
        };
        const run = (secretKeys: string[], paths?: string[]) =>
            problemsOrNone(() =>
                parseConfig(
                    { target: "existing-cluster", existingCluster: { context: "kind" }, s3 },
                    {
                        env: {},
                        requireCredentials: false,
                        secretKeys: new Set(secretKeys),
                        stackFileSecrets: paths && { keys: new Set(["s3"]), paths: new Set(paths) },
                    },
                ),
            ).map((p) => p.split(":")[0]);
        assert.deepEqual(run([]), ["s3.secretAccessKey", "s3.uploadSecretAccessKey"]);
        assert.deepEqual(run(["s3"]), []);
        assert.deepEqual(run(["s3"], ["s3.uploadSecretAccessKey"]), ["s3.secretAccessKey"]);
        assert.deepEqual(run([], ["s3"]), []);
    });
});

describe("checks that read a field the schema refuses fall back to its default", () => {
    test("an invalid Flux namespace: the root sync is looked for in flux-system", () => {
        const problems = problemsOrNone(() =>
            parse(
                {
                    ...baseConfig(),
                    flux: { namespace: "Flux" },
                    notifications: [
                        {
                            name: "gh",
                            type: "github",
                            credential: "t",
                            address: "https://github.com/acme/platform",
                            kustomizations: ["flux-system"],
                        },
                    ],
                },
                FAKE_ENV,
                ["notifications"],
            ),
        );
        assert.deepEqual(
            problems.map((p) => p.split(":")[0]),
            ["flux.namespace", "notifications[0].kustomizations[0]"],
        );
        assert.match(problems[1]!, /flux-system\/flux-system is the root sync/);
    });

    test("an invalid address: the type's address checks do not run on it", () => {
        for (const type of ["generic", "generic-hmac", "github", "slack"]) {
            const problems = problemsOrNone(() =>
                parse(
                    {
                        ...baseConfig(),
                        notifications: [
                            { name: "n", type, credential: "t", address: "not a url", kustomizations: ["apps/a"] },
                        ],
                    },
                    FAKE_ENV,
                    ["notifications"],
                ),
            );
            assert.deepEqual(
                problems.filter((p) => p.startsWith("notifications[0].address") || p.includes("channel")),
                ["notifications[0].address: must be an http(s) URL; found the text (not shown: a secret)"],
                type,
            );
        }
    });

    test("a map's key must not be empty", () => {
        const problems = problemsOrNone(() =>
            parse(
                {
                    ...baseConfig(),
                    notifications: [{ name: "n", type: "slack", credential: "t", eventMetadata: { "": "v" } }],
                },
                FAKE_ENV,
                ["notifications"],
            ),
        );
        assert.equal(problems.length, 1, problems.join("\n"));
        assert.match(problems[0]!, /^notifications\[0\]\.eventMetadata\b/);
    });
});
