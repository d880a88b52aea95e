/**
 * Properties of the configuration that protect users, checked against independent facts:
 * the README's configuration tables (the documented defaults) against the schema's own
 * defaults, the anchors of every pattern (a value with anything before or after a valid one
 * is refused), a node pool that autoscales without a count, and other namespaces' settings
 * in a stack file.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { z } from "zod";
import { ConfigError, configSchema, parseConfig } from "../infrastructure/config";
import { baseConfig, FAKE_ENV } from "./config-fixtures";

const ROOT = join(__dirname, "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");

/**
 * The whole program under mocks, loaded only by the tests that run it (named `[program]`, which
 * `make mutation` leaves out: the others start without loading the program).
 */
let harness: typeof import("./harness") | undefined;
const runStack: typeof import("./harness").runStack = async (...args) => {
    harness ??= await import("./harness");
    return harness.runStack(...args);
};
/** A recorded input without its secret wrappers (after a runStack). */
const reveal = <T>(v: unknown): T => {
    assert.ok(harness, "reveal before runStack");
    return harness.reveal<T>(v);
};
const render: typeof import("../tools/render/render").render = async (...args) =>
    (await import("../tools/render/render")).render(...args);

const parse = (raw: Record<string, unknown>, secretKeys: string[] = []) =>
    parseConfig(raw, { env: FAKE_ENV, secretKeys: new Set(secretKeys) });

function problemsOf(fn: () => unknown): string[] {
    try {
        fn();
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        return [...e.problems];
    }
    return [];
}

/** The schema of the field at a dotted path, below default/prefault/optional wrappers. */
function fieldSchema(path: string): z.ZodType {
    let cur: z.ZodType = configSchema;
    for (const part of path.split(".")) {
        let inner: any = cur;
        while (inner?._zod?.def?.innerType) inner = inner._zod.def.innerType;
        assert.ok(inner instanceof z.ZodObject, `${path}: ${part} is not inside an object`);
        cur = (inner as z.ZodObject).shape[part] as z.ZodType;
        assert.ok(cur, `${path}: the schema has no ${part}`);
    }
    return cur;
}

/** Whether the field, or a section it is in, may be left out (and is then unset). */
function optionalAlongTheWay(path: string): boolean {
    const parts = path.split(".");
    return parts.some((_, n) => {
        const r = fieldSchema(parts.slice(0, n + 1).join(".")).safeParse(undefined);
        return r.success && r.data === undefined;
    });
}

/** The schema's own default of a field: what it parses an absent value to. */
function schemaDefault(path: string): unknown {
    const r = fieldSchema(path).safeParse(undefined);
    assert.ok(r.success, `${path}: the schema requires a value`);
    return r.data;
}

interface Row {
    readonly keys: string[];
    readonly defaults: string[];
}

/** Rows of every README table headed `| key | default | meaning |`, keys and defaults split on " / ". */
function readmeRows(): Row[] {
    const rows: Row[] = [];
    const lines = readme.split("\n");
    for (let i = 0; i < lines.length; i++) {
        if (!/^\| key +\| default +\| meaning +\|$/.test(lines[i]!)) continue;
        for (let j = i + 2; j < lines.length && lines[j]!.startsWith("|"); j++) {
            const [keyCell, defaultCell] = lines[j]!.split("|")
                .slice(1, 3)
                .map((c) => c.trim()) as [string, string];
            const parts = keyCell.split(" / ").map((k) => k.replace(/`/g, ""));
            const first = parts[0]!;
            const parent = first.slice(0, first.lastIndexOf("."));
            const keys = parts.map((k) => (k.startsWith(".") ? parent + k : k));
            const defaults = keys.length > 1 ? defaultCell.split(" / ") : [defaultCell];
            rows.push({ keys, defaults: keys.map((_, n) => defaults[n] ?? defaults[0]!) });
        }
    }
    return rows;
}

/** A default cell that is one literal: `fra1`, `2`, `false`, `[]`. */
function literal(cell: string): { value: unknown } | undefined {
    const m = /^`([^`]*)`$/.exec(cell);
    if (!m) return undefined;
    const text = m[1]!;
    if (text === "true" || text === "false") return { value: text === "true" };
    if (/^\d+$/.test(text)) return { value: Number(text) };
    if (text === "[]") return { value: [] };
    return { value: text };
}

/**
 * Documented defaults that are not one literal of the schema: what each says, checked against
 * what the program does with the key unset.
 */
const PROGRAM_DEFAULTS: Record<string, (cell: string) => Promise<void>> = {
    "cluster.name": async (cell) => {
        assert.equal(cell, "`<project>-<stack>`");
        const run = await runStack(baseConfig(), { stack: "staging" });
        const cluster = run.recorder.all("digitalocean:index/kubernetesCluster:KubernetesCluster")[0]!;
        assert.equal(reveal<any>(cluster.inputs).name, "do-gitops-platform-staging");
    },
    "cluster.nodePool.count": async (cell) => {
        // the schema leaves it unset (exclusive with autoscale); the program's fixed pool size
        assert.equal(cell, "`2`");
        const config = baseConfig();
        delete config.cluster.nodePool.count;
        const run = await runStack(config);
        const cluster = run.recorder.all("digitalocean:index/kubernetesCluster:KubernetesCluster")[0]!;
        assert.equal(reveal<any>(cluster.inputs).nodePool.nodeCount, 2);
    },
    "bucket.name": async (cell) => {
        assert.match(cell, /auto-named `gitops-bucket-<random>`/);
        const run = await runStack(baseConfig());
        const bucket = run.recorder.get("digitalocean:index/spacesBucket:SpacesBucket", "gitops-bucket");
        assert.equal(reveal<any>(bucket.inputs).name, undefined, "no name: Pulumi auto-names gitops-bucket-<random>");
    },
    "bucket.region": async (cell) => {
        assert.equal(cell, "`cluster.region`");
        const config = baseConfig();
        config.cluster.region = "ams3";
        const run = await runStack(config);
        const bucket = run.recorder.get("digitalocean:index/spacesBucket:SpacesBucket", "gitops-bucket");
        assert.equal(reveal<any>(bucket.inputs).region, "ams3");
    },
    "contour.loadBalancerName": async (cell) => {
        assert.equal(cell, "`<cluster name>-envoy`");
        const config = baseConfig();
        config.cluster.name = "edge";
        const run = await runStack(config);
        assert.match(JSON.stringify(reveal(run.recorder.resources.map((r) => r.inputs))), /"edge-envoy"/);
    },
    "contour.install": async (cell) => {
        assert.equal(cell, "`true` (digitalocean), `false` (existing-cluster)");
        assert.equal(parse(baseConfig()).contour.install, true);
        const dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
        const kubeconfig = join(dir, "config");
        writeFileSync(
            kubeconfig,
            "apiVersion: v1\nkind: Config\nclusters: [{name: kind, cluster: {server: 'https://127.0.0.1:6443'}}]\n" +
                "users: [{name: kind, user: {}}]\ncontexts: [{name: kind-gitops, context: {cluster: kind, user: kind}}]\n",
        );
        const local = parseConfig(
            { target: "existing-cluster", existingCluster: { kubeconfig, context: "kind-gitops" } },
            { env: {}, secretKeys: new Set() },
        );
        assert.equal(local.contour.install, false);
    },
    "flux.size": async (cell) => {
        assert.equal(cell, "operator default");
        assert.equal(schemaDefault("flux.size"), undefined);
    },
};

/** The documented defaults above that take a run of the whole program to see. */
const PROGRAM_RUNS = new Set([
    "cluster.name",
    "cluster.nodePool.count",
    "bucket.name",
    "bucket.region",
    "contour.loadBalancerName",
]);

/** Documented as required or as another tool's default: nothing of the schema to compare. */
const NOT_DEFAULTS = new Set([
    "webhook.host", // required on digitalocean
    "acme.email", // required with webhook.host
    "acme.termsAccepted", // required: true with acme
    "existingCluster.kubeconfig", // $KUBECONFIG, else ~/.kube/config (kubeconfig loading, tested in existing-cluster)
    "existingCluster.context", // the kubeconfig's current context
    "s3.bucket", // required with s3
    "s3.accessKeyId",
    "s3.secretAccessKey",
    "inClusterS3.storageClass", // the cluster's default class
    "webhook.ingressClassName", // `contour` only means Contour's class; the key is required where it matters
]);

describe("the README's documented defaults are the schema's", () => {
    const rows = readmeRows();

    test("both configuration tables are read", () => {
        assert.ok(rows.length >= 45, `${rows.length} rows`);
        assert.ok(rows.some((r) => r.keys.includes("cluster.region")));
        assert.ok(rows.some((r) => r.keys.includes("inClusterS3.bucket")));
    });

    for (const row of rows) {
        for (const [n, key] of row.keys.entries()) {
            const cell = row.defaults[n]!;
            test(`${key}: ${cell}${PROGRAM_RUNS.has(key) ? " [program]" : ""}`, async () => {
                if (NOT_DEFAULTS.has(key)) return;
                const program = PROGRAM_DEFAULTS[key];
                if (program) return program(cell);
                const lit = literal(cell);
                if (lit) {
                    assert.deepEqual(schemaDefault(key), lit.value, `README says ${cell}`);
                } else if (/^unset\b/.test(cell)) {
                    assert.ok(optionalAlongTheWay(key), `README says ${cell}, the schema has a default or requires it`);
                } else {
                    assert.fail(`README default ${cell} of ${key} is neither a literal nor checked here`);
                }
            });
        }
    }
});

/**
 * Every pattern is anchored at both ends: a valid value passes, the same value with anything
 * before or after it is refused, named by its key. Valid values are the upstream formats:
 * DOKS version slugs, RFC 1123 host names and labels, Go durations, GitHub's owner/name.
 */
const ANCHORED: Array<{ key: string; set: (v: string) => Record<string, unknown>; valid: string; bad: string[] }> = [
    {
        key: "cluster.version",
        set: (v) => ({ cluster: { version: v } }),
        valid: "1.35.4-do.0",
        bad: ["v1.35.4-do.0", "1.35.4-do.0-x", "latest!", "!latest"],
    },
    { key: "cluster.name", set: (v) => ({ cluster: { name: v } }), valid: "edge-1", bad: ["!edge-1", "edge-1!"] },
    {
        key: "cluster.nodePool.size",
        set: (v) => ({ cluster: { nodePool: { size: v, count: 2 } } }),
        valid: "s-2vcpu-4gb",
        bad: ["!s-2vcpu-4gb", "s-2vcpu-4gb!"],
    },
    {
        key: "cluster.maintenance.startTime",
        set: (v) => ({ cluster: { maintenance: { startTime: v } } }),
        valid: "23:59",
        bad: ["123:59", "23:591", "x23:59", "23:59x"],
    },
    {
        key: "cluster.tags[0]",
        set: (v) => ({ cluster: { tags: [v] } }),
        valid: "team:ops",
        bad: ["!team:ops", "team:ops!"],
    },
    {
        key: "bucket.name",
        set: (v) => ({ bucket: { name: v } }),
        valid: "my-gitops",
        bad: ["!my-gitops", "my-gitops!"],
    },
    {
        key: "webhook.host",
        set: (v) => ({ webhook: { host: v, dnsZone: "example.com" } }),
        valid: "flux.example.com",
        bad: ["!flux.example.com", "flux.example.com!"],
    },
    {
        key: "webhook.dnsZone",
        set: (v) => ({ webhook: { host: "flux.example.com", dnsZone: v } }),
        valid: "example.com",
        bad: ["!example.com", "example.com!"],
    },
    {
        key: "github.repository",
        set: (v) => ({ github: { repository: v } }),
        valid: "acme/platform",
        bad: ["org/acme/platform", "acme/platform!", "!acme/platform"],
    },
    {
        key: "flux.sourceInterval",
        set: (v) => ({ flux: { sourceInterval: v } }),
        valid: "1m30s",
        bad: ["x1m", "1mx", "m1m"],
    },
    { key: "flux.interval", set: (v) => ({ flux: { interval: v } }), valid: "10m", bad: ["x10m", "10mx"] },
    { key: "flux.retryInterval", set: (v) => ({ flux: { retryInterval: v } }), valid: "2m", bad: ["x2m", "2mx"] },
    { key: "flux.timeout", set: (v) => ({ flux: { timeout: v } }), valid: "1.5h", bad: ["x5m", "5mx"] },
    {
        key: "flux.path",
        set: (v) => ({ flux: { path: v } }),
        valid: "./clusters/dev",
        bad: ["./clusters dev", "!./clusters"],
    },
    {
        key: "flux.namespace",
        set: (v) => ({ flux: { namespace: v } }),
        valid: "flux-system",
        bad: ["!flux-system", "flux-system!"],
    },
    {
        key: "notifications[0].name",
        set: (v) => ({ notifications: [{ name: v, type: "generic", address: "https://h.example.com/x" }] }),
        valid: "ops",
        bad: ["!ops", "ops!"],
    },
    {
        key: "notifications[0].timeout",
        set: (v) => ({
            notifications: [{ name: "ops", type: "generic", address: "https://h.example.com/x", timeout: v }],
        }),
        valid: "15s",
        bad: ["x15s", "15sx", "15s1h"],
    },
    {
        key: "notifications[0].kustomizations[0]",
        set: (v) => ({
            notifications: [
                {
                    name: "gh",
                    type: "github",
                    address: "https://github.com/acme/platform",
                    credential: "t",
                    kustomizations: [v],
                },
            ],
        }),
        valid: "apps/podinfo",
        bad: ["!apps/podinfo", "apps/podinfo!", "a/b/c"],
    },
];

describe("every config pattern is anchored at both ends", () => {
    for (const c of ANCHORED) {
        test(`${c.key}: ${c.valid} is accepted, ${c.bad.join(", ")} refused`, () => {
            const run = (v: string) => {
                const base = baseConfig();
                const over = c.set(v);
                const merged: Record<string, any> = { ...base };
                for (const [k, val] of Object.entries(over)) {
                    merged[k] = val && typeof val === "object" && !Array.isArray(val) ? { ...base[k], ...val } : val;
                }
                return problemsOf(() => parse(merged, ["notifications"]));
            };
            const named = (problems: string[]) => problems.filter((p) => p.startsWith(`${c.key}:`));
            assert.deepEqual(named(run(c.valid)), [], `${c.valid} must be accepted`);
            for (const bad of c.bad) assert.equal(named(run(bad)).length, 1, `${JSON.stringify(bad)} must be refused`);
        });
    }
});

describe("node pool", () => {
    test("autoscale without count: accepted, with no count filled in", () => {
        const config = baseConfig();
        config.cluster.nodePool = { size: "s-2vcpu-4gb", autoscale: { min: 1, max: 3 } };
        const cfg = parse(config);
        assert.equal(cfg.cluster.nodePool.count, undefined);
        assert.deepEqual(cfg.cluster.nodePool.autoscale, { min: 1, max: 3 });
    });

    test("autoscale without count: the pool autoscales with no fixed count [program]", async () => {
        const config = baseConfig();
        config.cluster.nodePool = { size: "s-2vcpu-4gb", autoscale: { min: 1, max: 3 } };
        const run = await runStack(config);
        assert.equal(run.error, undefined, String(run.error));
        const cluster = run.recorder.all("digitalocean:index/kubernetesCluster:KubernetesCluster")[0]!;
        const pool = reveal<any>(cluster.inputs).nodePool;
        assert.equal(pool.autoScale, true);
        assert.equal(pool.minNodes, 1);
        assert.equal(pool.maxNodes, 3);
        assert.equal(pool.nodeCount, undefined);
    });

    test("autoscale bounds: min 1 and max 512 (the DOKS limits the schema states), whole numbers", () => {
        const at = (autoscale: Record<string, unknown>) => {
            const config = baseConfig();
            config.cluster.nodePool = { autoscale };
            return problemsOf(() => parse(config)).filter((p) => p.startsWith("cluster.nodePool.autoscale"));
        };
        assert.deepEqual(at({ min: 1, max: 512 }), []);
        assert.equal(at({ min: 0, max: 3 }).length, 1);
        assert.equal(at({ min: 1, max: 513 }).length, 1);
        assert.equal(at({ min: 1.5, max: 3 }).length, 1);
        assert.equal(at({ min: 1 }).length, 1, "max is required");
        assert.equal(at({ min: 1, max: 3, desired: 2 }).length, 1, "unknown key");
    });
});

describe("other namespaces in a stack file", () => {
    test("a provider's own settings (digitalocean:token as a secret, kubernetes:, github:) render without a problem [program]", async () => {
        const dir = mkdtempSync(join(tmpdir(), "stack-namespaces-"));
        writeFileSync(join(dir, "Pulumi.yaml"), "name: do-gitops-platform\nruntime: nodejs\n");
        writeFileSync(
            join(dir, "Pulumi.dev.yaml"),
            [
                "config:",
                "  digitalocean:token:",
                "    secure: AAABAKlM0v8Yu2cKc0Hb2mYkQ1V0vIy7Vt0pW2lK0c5E",
                "  digitalocean:spacesEndpoint: https://fra1.digitaloceanspaces.com",
                "  kubernetes:context: doks",
                "  github:owner: acme",
                "  do-gitops-platform:cluster:",
                "    region: fra1",
                "  do-gitops-platform:webhook:",
                "    host: flux.example.com",
                "  do-gitops-platform:acme:",
                "    email: ops@example.com",
                "    termsAccepted: true",
                "",
            ].join("\n"),
        );
        const out = join(dir, "out");
        const result = await render({ root: dir, stack: "dev", out, cwd: dir });
        assert.ok(result.files.length > 10, result.files.join(", "));
    });

    test("a typo of the project's namespace in a stack file is named, and nothing renders [program]", async () => {
        const dir = mkdtempSync(join(tmpdir(), "stack-namespaces-"));
        writeFileSync(join(dir, "Pulumi.yaml"), "name: do-gitops-platform\nruntime: nodejs\n");
        writeFileSync(
            join(dir, "Pulumi.dev.yaml"),
            "config:\n  digitalocean:token: x\n  do-gitops-platfrom:cluster:\n    region: fra1\n  do-gitops-platform:webhook:\n    host: flux.example.com\n  do-gitops-platform:acme:\n    email: ops@example.com\n    termsAccepted: true\n",
        );
        await assert.rejects(render({ root: dir, stack: "dev", out: join(dir, "out"), cwd: dir }), (e: unknown) => {
            assert.ok(e instanceof ConfigError, String(e));
            assert.deepEqual(
                e.problems.map((p) => p.split(":").slice(0, 2).join(":")),
                ["do-gitops-platfrom:cluster"],
                e.message,
            );
            return true;
        });
    });
});
