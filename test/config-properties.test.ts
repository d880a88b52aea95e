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
import { RunError } from "@pulumi/pulumi/errors";
import { allConfig, setAllConfig } from "@pulumi/pulumi/runtime/config";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import {
    ConfigError,
    configSchema,
    decodeConfigValue,
    kustomizationRef,
    namespaceProblems,
    parseConfig,
    readRawConfig,
    readStackFileSecrets,
    securePaths,
    stackFilePath,
    suggest,
} from "../infrastructure/config";
import { baseConfig, FAKE_ENV } from "./config-fixtures";

const ROOT = join(__dirname, "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");

/**
 * The whole program under mocks, loaded only by the tests that run it (named `[program]`, which
 * `make mutation` leaves out: the others start without loading the program).
 */
let harness: typeof import("./harness") | undefined;
const runStack: typeof import("./harness").runStack = async (...args) => {
    harness ??= await import("./harness.js");
    return harness.runStack(...args);
};
const baseStack: typeof import("./harness").baseStack = async () => {
    harness ??= await import("./harness.js");
    return harness.baseStack();
};
/** A recorded input without its secret wrappers (after a runStack). */
const reveal = <T>(v: unknown): T => {
    assert.ok(harness, "reveal before runStack");
    return harness.reveal<T>(v);
};
const render: typeof import("../tools/render/render").render = async (...args) =>
    (await import("../tools/render/render.js")).render(...args);

const parse = (raw: Record<string, unknown>, secretKeys: string[] = []) =>
    parseConfig(raw, { env: FAKE_ENV, secretKeys: new Set(secretKeys) });

const isPlainMap = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);

/** The credentials of the full configuration below, encrypted one by one in its stack file. */
const SECRET_PATHS = new Set(["github.statusToken", "notifications[0].credential", "notifications[1].credential"]);

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
        const run = await baseStack();
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

/** Problems of `raw` (the base config with `over`'s sections merged in) whose key is `key`. */
function problemsAt(key: string, over: Record<string, unknown>, secretKeys: string[] = []): string[] {
    const base = baseConfig();
    const merged: Record<string, any> = { ...base };
    for (const [k, val] of Object.entries(over)) {
        merged[k] = val && typeof val === "object" && !Array.isArray(val) ? { ...base[k], ...val } : val;
    }
    return problemsOf(() => parse(merged, secretKeys)).filter((p) => p.startsWith(`${key}:`));
}

/**
 * The edges of every format, from the rules the values must obey upstream: RFC 1123 labels
 * and host names (a label of 1 to 63 characters, a name of at most 253), DigitalOcean's bucket
 * names (3-63), DOKS version slugs, Go durations, GitHub's owner/name (an owner of at most 39
 * characters), Git's branch names, OCI image names.
 */
const FORMATS: Array<{
    key: string;
    set: (v: string) => Record<string, unknown>;
    valid: string[];
    invalid: string[];
}> = [
    {
        key: "cluster.name",
        set: (v) => ({ cluster: { ...baseConfig().cluster, name: v } }),
        valid: ["a", "a1", "0-z", "x".repeat(63)],
        invalid: ["A", "-a", "a-", "a_b", "x".repeat(64)],
    },
    {
        key: "webhook.host",
        set: (v) => ({ webhook: { host: v, dnsZone: undefined } }),
        valid: [
            "a.io",
            "z9.example.com",
            "flux-1.a-b.example.com",
            `${"a".repeat(63)}.example.com`,
            // 253 characters: the longest name DNS allows
            `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(57)}.com`,
        ],
        invalid: [
            "localhost",
            "example.c",
            "example.123",
            "-a.example.com",
            "a-.example.com",
            "a..example.com",
            `${"a".repeat(64)}.example.com`,
            `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(58)}.com`,
        ],
    },
    {
        key: "bucket.name",
        set: (v) => ({ bucket: { name: v } }),
        valid: ["abc", "a-0", "0-z", "b".repeat(63)],
        invalid: ["ab", "-ab", "ab-", "a_b", "Abc", "b".repeat(64)],
    },
    {
        key: "cluster.version",
        set: (v) => ({ cluster: { ...baseConfig().cluster, version: v } }),
        valid: ["latest", "1.35", "1.35.4", "1.35.4-do.0", "1.33.10-do.12", "10.1"],
        invalid: ["1", "1.", "1.35.", "1.35.4-do", "1.35.4-do.", "1.35-do.0", "1.x", "Latest", "latest-1.35"],
    },
    {
        key: "cluster.maintenance.startTime",
        set: (v) => ({ cluster: { ...baseConfig().cluster, maintenance: { startTime: v } } }),
        valid: ["00:00", "09:30", "19:59", "20:00", "23:59"],
        invalid: ["24:00", "23:60", "30:00", "9:30", "09:3", "0930", "09.30"],
    },
    {
        key: "github.repository",
        set: (v) => ({ github: { repository: v } }),
        valid: ["a/b", "acme-corp/platform.v2_x", `${"o".repeat(39)}/r`, `o/${"r".repeat(100)}`],
        invalid: ["acme", "acme/", "/platform", "-acme/platform", `${"o".repeat(40)}/r`, `o/${"r".repeat(101)}`],
    },
    {
        key: "github.branch",
        set: (v) => ({ github: { repository: "acme/platform", branch: v } }),
        valid: ["main", "release/1.x", "feature/a.b", "a"],
        invalid: ["-main", "/main", "main/", "main.", "a b", "a~1", "a:b", "a/../b", "main\n"],
    },
    {
        key: "flux.sourceInterval",
        set: (v) => ({ flux: { sourceInterval: v } }),
        valid: ["1.25s", "250ms", "1h30m", "90s", "0.5s"],
        invalid: ["1", "m", "1d", "1.m", ".5s", "1.5", "-1m", "1 m"],
    },
    {
        key: "cluster.tags[0]",
        set: (v) => ({ cluster: { ...baseConfig().cluster, tags: [v] } }),
        valid: ["k8s", "team:ops", "a_b-c", "t".repeat(255)],
        invalid: ["", "a b", "a/b", "t".repeat(256)],
    },
    {
        key: "cluster.nodePool.size",
        set: (v) => ({ cluster: { ...baseConfig().cluster, nodePool: { size: v, count: 2 } } }),
        valid: ["s-2vcpu-4gb", "c2-16vcpu-32gb"],
        invalid: ["", "S-2VCPU-4GB", "s_2vcpu"],
    },
    {
        key: "flux.path",
        set: (v) => ({ flux: { path: v } }),
        valid: ["./", ".", "clusters/dev", "./clusters/dev_1.x"],
        invalid: ["./clusters/dev?x", "./a b", "~/x"],
    },
    {
        key: "notifications[0].timeout",
        set: (v) => ({
            notifications: [{ name: "ops", type: "generic", address: "https://h.example.com/x", timeout: v }],
        }),
        valid: ["1.25s", "250ms", "1m30s", "10s"],
        invalid: ["1h", "1", "s"],
    },
    {
        key: "notifications[0].kustomizations[0]",
        set: (v) => ({
            notifications: [
                { name: "gh", type: "github", address: "https://github.com/acme/platform", credential: "t" },
            ].map((n) => ({ ...n, kustomizations: [v] })),
        }),
        valid: ["podinfo", "a", "a/b", "apps/podinfo.v2", "apps-1/p-1"],
        invalid: ["a/b/c", "/podinfo", "apps/", "Apps/podinfo", "apps/-p", "-a/p", "apps/p."],
    },
    {
        key: "imageAutomation.images[0].image",
        set: (v) => ({
            github: { repository: "acme/platform" },
            imageAutomation: { enabled: true, images: [{ name: "app", image: v, semver: ">=1.0.0" }] },
        }),
        valid: [
            "nginx",
            "ghcr.io/stefanprodan/podinfo",
            "localhost:5000/team/app",
            "registry.example.com/a/b-c_d.e",
            "ghcr.io/acme/app-web.v2",
            "a-b_c.d",
        ],
        invalid: ["Nginx", "nginx:1.0", "ghcr.io/app@sha256:abc", "a//b", "/a", "a/", "a:/b", "ghcr.io:x/app"],
    },
    {
        key: "receivers[0].resources[0].name",
        set: (v) => ({
            receivers: [{ name: "hub", type: "dockerhub", resources: [{ kind: "ImageRepository", name: v }] }],
        }),
        valid: ["*", "a", "podinfo.v2", "app-1"],
        invalid: ["*x", "x*", "-a", "a-", "A"],
    },
];

describe("every format's edges are the upstream rules'", () => {
    for (const f of FORMATS) {
        test(`${f.key}: ${f.valid.length} valid and ${f.invalid.length} invalid values`, () => {
            for (const v of f.valid)
                assert.deepEqual(problemsAt(f.key, f.set(v), ["notifications"]), [], JSON.stringify(v));
            for (const v of f.invalid) {
                assert.equal(
                    problemsAt(f.key, f.set(v), ["notifications"]).length,
                    1,
                    `${JSON.stringify(v)} must be refused`,
                );
            }
        });
    }
});

/**
 * DigitalOcean's regions (docs.digitalocean.com, "Regional Availability" and "Spaces
 * Availability"): Kubernetes in twelve, Spaces in all of them but nyc1.
 */
const DOKS_REGION_SLUGS = [
    "nyc1",
    "nyc3",
    "sfo2",
    "sfo3",
    "ams3",
    "sgp1",
    "lon1",
    "fra1",
    "tor1",
    "blr1",
    "syd1",
    "atl1",
];
const SPACES_REGION_SLUGS = DOKS_REGION_SLUGS.filter((r) => r !== "nyc1");

/** The regions a message lists after `prefix` (`a, b, c`), sorted; fails when the message is not of that form. */
function listed(message: string | undefined, prefix: string, suffix = ""): string[] {
    if (message === undefined) assert.fail(`no message starting with ${prefix}`);
    assert.ok(message.startsWith(prefix), message);
    const rest = message.slice(prefix.length);
    const end = suffix ? rest.indexOf(suffix) : rest.length;
    assert.ok(end >= 0, message);
    const list = rest.slice(0, end);
    assert.match(list, /^[a-z0-9]+(, [a-z0-9]+)*$/, message);
    return list.split(", ").sort();
}

describe("regions are DigitalOcean's", () => {
    test("every DOKS region is a cluster region; the bucket follows it wherever Spaces is offered", () => {
        for (const region of DOKS_REGION_SLUGS) {
            const problems = problemsOf(() => parse({ ...baseConfig(), cluster: { ...baseConfig().cluster, region } }));
            if (SPACES_REGION_SLUGS.includes(region)) {
                assert.deepEqual(problems, [], region);
                continue;
            }
            assert.equal(problems.length, 1, problems.join("\n"));
            const prefix = `bucket.region: Spaces is not offered in ${region}; set bucket.region to one of `;
            assert.deepEqual(listed(problems[0], prefix), [...SPACES_REGION_SLUGS].sort());
        }
    });

    test("every Spaces region is a bucket region; nyc1 and a region outside DigitalOcean are not", () => {
        const at = (bucket: Record<string, unknown>, cluster = baseConfig().cluster) =>
            problemsOf(() => parse({ ...baseConfig(), cluster, bucket })).filter((p) => p.startsWith("bucket.region"));
        for (const region of SPACES_REGION_SLUGS) assert.deepEqual(at({ region }), [], region);
        // nyc1's cluster with a Spaces region next to it is fine
        assert.deepEqual(at({ region: "nyc3" }, { ...baseConfig().cluster, region: "nyc1" }), []);
        for (const [region, tail] of [
            ["mars1", '; found the text "mars1"'],
            ["nyc1", '; found the text "nyc1", did you mean nyc3?'],
        ] as const) {
            const problems = at({ region });
            assert.equal(problems.length, 1, problems.join("\n"));
            assert.ok(problems[0]!.endsWith(tail), problems[0]);
            assert.deepEqual(
                listed(problems[0], "bucket.region: must be a Spaces region: ", "; found"),
                [...SPACES_REGION_SLUGS].sort(),
            );
        }
    });

    test("a cluster region outside DigitalOcean is refused with the list of regions", () => {
        const problems = problemsOf(() =>
            parse({ ...baseConfig(), cluster: { ...baseConfig().cluster, region: "fra2" } }),
        );
        assert.equal(problems.length, 1, problems.join("\n"));
        assert.ok(problems[0]!.endsWith('; found the text "fra2", did you mean fra1?'), problems[0]);
        assert.deepEqual(
            listed(problems[0], "cluster.region: must be one of ", "; found"),
            [...DOKS_REGION_SLUGS].sort(),
        );
    });
});

/**
 * What each notification type takes, as docs/notifications.md states it from Flux's
 * notification-controller: every type but generic needs a credential; `channel` is for slack
 * and telegram, `username` for slack and discord, `proxy` for every type but the Git ones
 * (their API calls are not proxied).
 */
const GIT_TYPES = ["github", "githubdispatch", "gitlab", "bitbucket", "azuredevops"];
const TYPE_FACTS: Record<string, { credential: boolean; channel: boolean; username: boolean; proxy: boolean }> =
    Object.fromEntries(
        [
            "generic",
            "generic-hmac",
            "slack",
            "discord",
            "msteams",
            ...GIT_TYPES,
            "telegram",
            "googlechat",
            "pagerduty",
        ].map((t) => [
            t,
            {
                credential: t !== "generic",
                channel: t === "slack" || t === "telegram",
                username: t === "slack" || t === "discord",
                proxy: !GIT_TYPES.includes(t),
            },
        ]),
    );

describe("notification types take what Flux honours for them", () => {
    const of = (n: Record<string, unknown>) =>
        problemsOf(() => parse({ ...baseConfig(), notifications: [{ name: "n", ...n }] }, ["notifications"]));

    test("the types are Flux's, and an unknown one is named with the list", () => {
        const problems = problemsOf(() =>
            parse({ ...baseConfig(), notifications: [{ name: "n", type: "slak", credential: "x" }] }),
        ).filter((p) => p.startsWith("notifications[0].type"));
        assert.deepEqual(problems, [
            `notifications[0].type: must be one of ${Object.keys(TYPE_FACTS).join(", ")}; found the text "slak", did you mean slack?`,
        ]);
    });

    for (const [type, facts] of Object.entries(TYPE_FACTS)) {
        test(`${type}: credential ${facts.credential ? "required" : "optional"}; options ${["channel", "username", "proxy"].filter((o) => facts[o as "proxy"]).join(", ") || "none"}`, () => {
            const withoutCredential = of({ type }).filter((p) => p.startsWith("notifications[0].credential:"));
            assert.equal(
                withoutCredential.some((p) => p.includes(`type ${type} needs a credential`)),
                facts.credential,
                withoutCredential.join("\n"),
            );
            for (const option of ["channel", "username", "proxy"] as const) {
                const value = option === "proxy" ? "https://proxy.example.com:3128" : "ops";
                const refused = of({ type, credential: "x", [option]: value }).filter(
                    (p) => p === `notifications[0].${option}: not supported by type ${type}`,
                );
                assert.equal(refused.length, facts[option] ? 0 : 1, `${option} on ${type}`);
                // an invalid value of an option the type does not take is named as unsupported too
                const invalid = of({ type, credential: "x", [option]: 5 }).filter(
                    (p) => p === `notifications[0].${option}: not supported by type ${type}`,
                );
                assert.equal(invalid.length, facts[option] ? 0 : 1, `invalid ${option} on ${type}`);
            }
        });
    }
});

/**
 * The repository URL each commit-status type needs (notification-controller's parseGitAddress
 * and each notifier's split of the path): GitHub and Bitbucket `owner/repo`, GitLab a project
 * path of two or more segments (subgroups), Azure DevOps `org/project/_git/repo`; no query or
 * fragment; a trailing `.git` is dropped.
 */
const REPOSITORY_URLS: Record<string, { valid: string[]; invalid: string[] }> = {
    github: {
        valid: [
            "https://github.com/acme/platform",
            "https://github.com/acme/platform.git",
            "https://github.com//acme/p",
        ],
        invalid: [
            "https://github.com/acme",
            "https://github.com/acme/platform/tree",
            "https://github.com/acme/platform?x=1",
            "https://github.com/acme/platform#main",
            "https://github.com/",
        ],
    },
    githubdispatch: {
        valid: ["https://github.com/acme/platform", "https://ghe.example.com/a/b.git"],
        invalid: ["https://github.com/acme", "https://github.com/acme/platform/x", "https://github.com/a/b?x"],
    },
    gitlab: {
        valid: [
            "https://gitlab.com/group/project",
            "https://gitlab.com/group/sub/project.git",
            "https://git.example.com/a/b/c/d",
        ],
        invalid: [
            "https://gitlab.com/group",
            "https://gitlab.com/group//project/x",
            "https://gitlab.com/group/project/",
            "https://gitlab.com/g/p#x",
        ],
    },
    bitbucket: {
        valid: ["https://bitbucket.org/owner/repo", "https://bitbucket.org/owner/repo.git"],
        invalid: ["https://bitbucket.org/owner", "https://bitbucket.org/owner/repo/src", "https://bitbucket.org/o/r?x"],
    },
    azuredevops: {
        valid: ["https://dev.azure.com/org/project/_git/repo", "https://dev.azure.com/org/project/_git/repo.git"],
        invalid: [
            "https://dev.azure.com/org/project/repo",
            "https://dev.azure.com/x/org/project/_git/repo",
            "https://dev.azure.com/org/project/_git/repo/x",
            "https://dev.azure.com/org/project/_git/",
            "https://dev.azure.com/org/project/_git/repo#x",
        ],
    },
};

/** The example URL docs/notifications.md shows for each forge. */
const FORGE_EXAMPLES: Record<string, string> = {
    github: "https://github.com/owner/repo",
    githubdispatch: "https://github.com/owner/repo",
    gitlab: "https://gitlab.com/group/project",
    bitbucket: "https://bitbucket.org/owner/repo",
    azuredevops: "https://dev.azure.com/org/project/_git/repo",
};

describe("commit-status types need a repository URL of their forge's form", () => {
    for (const [type, { valid, invalid }] of Object.entries(REPOSITORY_URLS)) {
        test(type, () => {
            const at = (address?: string) =>
                problemsOf(() =>
                    parse(
                        {
                            ...baseConfig(),
                            notifications: [
                                { name: "git", type, credential: "t", kustomizations: ["apps/podinfo"], address },
                            ],
                        },
                        ["notifications"],
                    ),
                ).filter((p) => p.startsWith("notifications[0].address:"));
            for (const a of valid) assert.deepEqual(at(a), [], a);
            for (const a of invalid) {
                assert.deepEqual(
                    at(a),
                    [`notifications[0].address: must be a repository URL such as ${FORGE_EXAMPLES[type]}`],
                    a,
                );
            }
            assert.deepEqual(at(undefined), [
                `notifications[0].address: type ${type} needs the repository URL, e.g. ${FORGE_EXAMPLES[type]}`,
            ]);
        });
    }
});

describe("config values as Pulumi hands them over", () => {
    test("text is decoded as the stack file meant it: maps and lists from JSON, booleans, numbers", () => {
        const cases: Array<[string, unknown]> = [
            ['{"region":"ams3"}', { region: "ams3" }],
            [' [1, "a"] ', [1, "a"]],
            ["{not json", "{not json"],
            ["[1,", "[1,"],
            ["true", true],
            [" false ", false],
            ["True", "True"],
            ["42", 42],
            ["-1.25", -1.25],
            ["10.5", 10.5],
            ["1.2.3", "1.2.3"],
            ["1.", "1."],
            ["v1", "v1"],
            ["1x", "1x"],
            ["-", "-"],
            ["fra1", "fra1"],
        ];
        for (const [text, value] of cases) assert.deepEqual(decodeConfigValue(text), value, text);
    });

    test("the secure: values inside a key are named by their config path", () => {
        assert.deepEqual(securePaths({ secure: "AAA" }, "acme"), ["acme"]);
        assert.deepEqual(
            securePaths(
                {
                    a: { secure: "v" },
                    b: [{ c: { secure: "w" } }, "plain", { secure: "x" }],
                    d: "plain",
                    e: { secure: "y", other: { secure: "z" } },
                    f: { secure: 5 },
                    g: null,
                },
                "k",
            ),
            ["k.a", "k.b[0].c", "k.b[2]", "k.e.other"],
        );
        assert.deepEqual(securePaths("text", "k"), []);
    });

    test("a stack file's keys and secure: markers of this project only, bare keys included", () => {
        const dir = mkdtempSync(join(tmpdir(), "stack-secrets-"));
        const file = join(dir, "Pulumi.dev.yaml");
        writeFileSync(
            file,
            [
                "config:",
                "  digitalocean:token:",
                "    secure: AAAA",
                "  do-gitops-platform:acme:",
                "    email: ops@example.com",
                "  do-gitops-platform:github:",
                "    repository: acme/platform",
                "    statusToken:",
                "      secure: BBBB",
                "  do-gitops-platform:notifications:",
                "    - name: chat",
                "      credential:",
                "        secure: CCCC",
                "  flux:",
                "    secure: DDDD",
                "  do-gitops-platform:odd:key: x",
                "",
            ].join("\n"),
        );
        const found = readStackFileSecrets(file, "do-gitops-platform");
        assert.ok(found);
        assert.deepEqual([...found.keys].sort(), ["acme", "flux", "github", "notifications", "odd:key"]);
        assert.deepEqual([...found.paths].sort(), ["flux", "github.statusToken", "notifications[0].credential"]);

        assert.equal(readStackFileSecrets(join(dir, "missing.yaml"), "do-gitops-platform"), undefined);
        writeFileSync(join(dir, "bad.yaml"), "config: [1, 2\n");
        assert.equal(readStackFileSecrets(join(dir, "bad.yaml"), "do-gitops-platform"), undefined, "not YAML");
        writeFileSync(join(dir, "list.yaml"), "config:\n  - a\n");
        assert.equal(readStackFileSecrets(join(dir, "list.yaml"), "do-gitops-platform"), undefined, "not a map");
        writeFileSync(join(dir, "text.yaml"), "config: hello\n");
        assert.equal(readStackFileSecrets(join(dir, "text.yaml"), "do-gitops-platform"), undefined, "not a map");
        writeFileSync(join(dir, "empty.yaml"), "encryptionsalt: x\n");
        const empty = readStackFileSecrets(join(dir, "empty.yaml"), "do-gitops-platform");
        assert.deepEqual(empty && [[...empty.keys], [...empty.paths]], [[], []], "no config section");
        writeFileSync(join(dir, "blank.yaml"), "");
        const blank = readStackFileSecrets(join(dir, "blank.yaml"), "do-gitops-platform");
        assert.deepEqual(blank && [[...blank.keys], [...blank.paths]], [[], []], "an empty file");
    });

    test("the runtime's config: this project's keys decoded, secrets named, other namespaces kept apart", (t) => {
        // the runtime's config is global: put back what was there (other files' runs set their own)
        const before = allConfig();
        t.after(() => setAllConfig(before, []));
        setAllConfig(
            {
                "do-gitops-platform:cluster": '{"region":"ams3"}',
                "do-gitops-platform:target": "existing-cluster",
                "do-gitops-platform:acme": '{"email":"ops@example.com"}',
                "do-gitops-platform:odd:key": "true",
                "digitalocean:token": "x",
                "do-gitops-platfrom:flux": "{}",
            },
            ["do-gitops-platform:acme", "digitalocean:token"],
        );
        const { raw, secretKeys, otherKeys } = readRawConfig("do-gitops-platform");
        assert.deepEqual(raw, {
            cluster: { region: "ams3" },
            target: "existing-cluster",
            acme: { email: "ops@example.com" },
            "odd:key": true,
        });
        assert.deepEqual([...secretKeys], ["acme"]);
        assert.deepEqual(otherKeys.sort(), ["digitalocean:token", "do-gitops-platfrom:flux"]);
    });

    test("the stack file is Pulumi.<stack>.yaml in the project root, or in the project's stackConfigDir", () => {
        // The runtime takes the root from the CLI (PULUMI_NODEJS_ROOT_DIRECTORY) into its store.
        const { getStore } = require("@pulumi/pulumi/runtime/state") as {
            getStore(): { settings: { options: { rootDirectory?: string } } };
        };
        const options = getStore().settings.options;
        const saved = options.rootDirectory;
        try {
            const root = mkdtempSync(join(tmpdir(), "project-"));
            options.rootDirectory = root;
            assert.equal(stackFilePath("dev"), join(root, "Pulumi.dev.yaml"), "no Pulumi.yaml");
            writeFileSync(join(root, "Pulumi.yaml"), "name: p\nruntime: nodejs\n");
            assert.equal(stackFilePath("dev"), join(root, "Pulumi.dev.yaml"));
            writeFileSync(join(root, "Pulumi.yaml"), "name: p\nruntime: nodejs\nstackConfigDir: stacks\n");
            assert.equal(stackFilePath("prod"), join(root, "stacks", "Pulumi.prod.yaml"));
            writeFileSync(join(root, "Pulumi.yaml"), "name: p\nstackConfigDir: [1]\n");
            assert.equal(stackFilePath("prod"), join(root, "Pulumi.prod.yaml"), "not a folder name");
            writeFileSync(join(root, "Pulumi.yaml"), "name: [p\n");
            assert.equal(stackFilePath("prod"), join(root, "Pulumi.prod.yaml"), "unreadable project file");
            options.rootDirectory = "";
            assert.equal(stackFilePath("dev"), undefined, "offline: no root");
        } finally {
            options.rootDirectory = saved;
        }
    });
});

describe("messages", () => {
    test("a typo is one edit in short words, up to a third of the word in longer ones (at most three)", () => {
        assert.equal(suggest("regoin", ["name", "region"]), "region", "a swap is two edits: 6 letters allow 2");
        assert.equal(suggest("rgn", ["region"]), undefined);
        assert.equal(suggest("ab", ["ax"]), "ax", "one edit, even in two letters");
        assert.equal(suggest("ab", ["xy"]), undefined);
        assert.equal(suggest("abcde", ["abxye"]), undefined, "5 letters: one edit");
        assert.equal(suggest("abcdef", ["abxyef"]), "abxyef", "6 letters: two edits");
        assert.equal(suggest("abcdef", ["axyzef"]), undefined);
        assert.equal(suggest("abcdefghijkl", ["abcxyzghijkl"]), "abcxyzghijkl", "three edits at most");
        assert.equal(suggest("abcdefghijkl", ["abwxyzghijkl"]), undefined, "12 letters: still three");
        assert.equal(suggest("FRA1", ["fra1"]), "fra1", "case is no edit");
        assert.equal(suggest("ab", ["ac", "ad"]), "ac", "the first of equally close ones");
        assert.equal(suggest("abc", ["xyz", "abd"]), "abd", "the closest, wherever it is");
        assert.equal(suggest("x", []), undefined);
    });

    test("one problem or several: the count and every problem on its own line", () => {
        const one = new ConfigError(["a: bad"]);
        assert.equal(one.message, "Invalid configuration (1 problem):\n  - a: bad");
        assert.equal(one.name, "ConfigError");
        assert.ok(RunError.isInstance(one));
        const two = new ConfigError(["a: bad", "b: worse"]);
        assert.equal(two.message, "Invalid configuration (2 problems):\n  - a: bad\n  - b: worse");
        assert.deepEqual(two.problems, ["a: bad", "b: worse"]);
    });

    test("a Kustomization reference: namespace/name, or a name in the Flux namespace", () => {
        assert.deepEqual(kustomizationRef("apps/podinfo", "flux-system"), ["apps", "podinfo"]);
        assert.deepEqual(kustomizationRef("podinfo", "flux"), ["flux", "podinfo"]);
        assert.deepEqual(kustomizationRef("/podinfo", "flux"), ["", "podinfo"]);
    });
});

describe("settings under other namespaces", () => {
    test("a typo of the project's namespace, or a top-level key used as one, is named; providers' are not", () => {
        assert.deepEqual(
            namespaceProblems("do-gitops-platform", [
                "digitalocean:token",
                "pulumi:disable-default-providers",
                "kubernetes:context",
                "github:owner",
                "random:x",
                "aws:region",
                "nocolon",
                "do-gitops-platform:cluster",
                "do-gitops-platfrom:cluster",
                "DO__GITOPS__PLATFORM:flux",
                "flux:interval",
                "clustr:region",
            ]),
            [
                "do-gitops-platfrom:cluster: unknown namespace do-gitops-platfrom, so this setting is ignored; this " +
                    "project reads its settings under do-gitops-platform: (did you mean do-gitops-platform:cluster?)",
                "DO__GITOPS__PLATFORM:flux: unknown namespace DO__GITOPS__PLATFORM, so this setting is ignored; this " +
                    "project reads its settings under do-gitops-platform: (did you mean do-gitops-platform:flux?)",
                "flux:interval: flux: is read as a namespace, so this setting is ignored; did you mean " +
                    "do-gitops-platform:flux with interval inside it? (pulumi config set --path 'flux.interval' <value>)",
                "clustr:region: clustr: is read as a namespace, so this setting is ignored; did you mean " +
                    "do-gitops-platform:cluster with region inside it? (pulumi config set --path 'cluster.region' <value>)",
            ],
        );
    });

    test("another project's namespace is its own", () => {
        assert.deepEqual(namespaceProblems("other", ["other:cluster", "do-gitops-platform:cluster"]), []);
        assert.equal(namespaceProblems("other", ["othr:cluster"]).length, 1);
    });

    test("parseConfig names them with everything else, under the project it is given", () => {
        const problems = problemsOf(() =>
            parseConfig(baseConfig(), {
                env: FAKE_ENV,
                project: "shop",
                otherKeys: ["shopp:cluster", "do-gitops-platform:cluster"],
            }),
        );
        assert.equal(problems.length, 1, problems.join("\n"));
        assert.match(problems[0]!, /^shopp:cluster: unknown namespace shopp.*did you mean shop:cluster\?/);
    });
});

describe("every setting at once, with the values users write", () => {
    const full = {
        target: "digitalocean",
        cluster: {
            name: "edge",
            region: "ams3",
            version: "1.33.1-do.0",
            nodePool: { name: "workers", size: "s-4vcpu-8gb", autoscale: { min: 2, max: 5 } },
            ha: true,
            surgeUpgrade: false,
            autoUpgrade: false,
            maintenance: { day: "any", startTime: "03:30" },
            tags: ["team:ops", "env-prod"],
        },
        bucket: { name: "edge-gitops", region: "ams3", forceDestroy: false, versioning: true },
        flux: {
            namespace: "flux",
            path: "./clusters/prod",
            sourceInterval: "30s",
            interval: "5m",
            retryInterval: "1m",
            timeout: "3m",
            wait: true,
            size: "medium",
            installation: "existing",
        },
        contour: { namespace: "ingress", loadBalancerName: "edge-lb", install: true },
        webhook: {
            host: "flux.example.com",
            ingressClassName: "contour",
            dnsZone: "example.com",
            exposure: "ingress",
            rateLimit: { requests: 60, unit: "second", burst: 20 },
        },
        acme: { email: "ops@example.com", environment: "production", termsAccepted: true },
        github: {
            repository: "acme/platform",
            branch: "release/1.x",
            path: "./clusters/prod",
            statusToken: "ghp_token",
        },
        notifications: [
            {
                name: "chat",
                type: "slack",
                address: "https://slack.com/api/chat.postMessage",
                credential: "xoxb-1",
                channel: "ops-alerts",
                username: "flux-bot",
                timeout: "30s",
                proxy: "https://proxy.example.com:3128",
                severity: "info",
                alerts: ["info", "error"],
                namespaces: ["apps", "web"],
                summary: "prod cluster",
                eventMetadata: { env: "prod" },
                inclusionList: [".*failed.*"],
                exclusionList: ["^Dependencies"],
                suspend: false,
            },
            {
                name: "status",
                type: "github",
                address: "https://github.com/acme/platform",
                credential: "ghp_x2",
                severity: "error",
                kustomizations: ["apps/podinfo", "infra"],
            },
        ],
        receivers: [
            {
                name: "hub",
                type: "dockerhub",
                events: ["push", "tag"],
                resources: [
                    { kind: "ImageRepository", name: "*", namespace: "apps", matchLabels: { app: "web" } },
                    { kind: "ImageRepository", name: "web" },
                ],
            },
        ],
        imageAutomation: {
            enabled: true,
            interval: "10m",
            author: { name: "bot-user", email: "bot@example.com" },
            messageTemplate: "chore: update images",
            images: [
                {
                    name: "app",
                    image: "ghcr.io/acme/app",
                    pattern: "^main-(?P<ts>[0-9]+)$",
                    extract: "$ts",
                    order: "numerical",
                    receiver: "hub",
                },
                { name: "web", image: "nginx", semver: ">=1.25.0" },
            ],
        },
    };

    test("accepted, and every value comes back as written", () => {
        const cfg = parse(full, ["github", "notifications"]);
        for (const key of Object.keys(full) as (keyof typeof full)[]) {
            assert.deepEqual((cfg as Record<string, unknown>)[key], full[key], key);
        }
    });

    test("a section or list entry that is not a map is named once, as what it is, and nothing reads inside it", () => {
        // Every map of the full configuration above, in turn, replaced by a list and by a text: the
        // schema names it, and no check between fields reads through it (each would find nothing
        // there and report its own problem about a field that is only missing because its parent
        // is not a map).
        const maps: Array<{ at: string; set: (v: unknown) => Record<string, unknown> }> = [
            ...Object.keys(full)
                .filter((k) => isPlainMap((full as Record<string, unknown>)[k]))
                .map((k) => ({ at: k, set: (v: unknown) => ({ ...full, [k]: v }) })),
            ...full.notifications.map((_, i) => ({
                at: `notifications[${i}]`,
                set: (v: unknown) => ({ ...full, notifications: full.notifications.map((n, j) => (j === i ? v : n)) }),
            })),
            {
                at: "receivers[0]",
                set: (v: unknown) => ({ ...full, receivers: [v] }),
            },
            {
                at: "receivers[0].resources[0]",
                set: (v: unknown) => ({
                    ...full,
                    receivers: [{ ...full.receivers[0], resources: [v, full.receivers[0]!.resources[1]] }],
                }),
            },
            ...full.imageAutomation.images.map((_, i) => ({
                at: `imageAutomation.images[${i}]`,
                set: (v: unknown) => ({
                    ...full,
                    imageAutomation: {
                        ...full.imageAutomation,
                        images: full.imageAutomation.images.map((m, j) => (j === i ? v : m)),
                    },
                }),
            })),
        ];
        assert.ok(maps.length >= 14, maps.map((m) => m.at).join(", "));
        for (const { at, set } of maps) {
            for (const [value, found] of [
                [["x"], "a list"],
                ["x", 'the text "x"'],
            ] as const) {
                const problems = problemsOf(() =>
                    parseConfig(set(value), {
                        env: FAKE_ENV,
                        secretKeys: new Set(),
                        stackFileSecrets: { keys: new Set(["github", "notifications"]), paths: SECRET_PATHS },
                    }),
                );
                assert.deepEqual(problems, [`${at}: expected a map of settings, found ${found}`], at);
            }
        }
    });

    test("a list that is not a list is named once, and nothing reads inside it", () => {
        const lists: Array<{ at: string; set: (v: unknown) => Record<string, unknown> }> = [
            { at: "notifications", set: (v) => ({ ...full, notifications: v }) },
            { at: "receivers", set: (v) => ({ ...full, receivers: v }) },
            {
                at: "imageAutomation.images",
                set: (v) => ({ ...full, imageAutomation: { ...full.imageAutomation, images: v } }),
            },
            {
                at: "receivers[0].resources",
                set: (v) => ({ ...full, receivers: [{ ...full.receivers[0], resources: v }] }),
            },
            {
                at: "notifications[1].kustomizations",
                set: (v) => ({
                    ...full,
                    notifications: [full.notifications[0], { ...full.notifications[1], kustomizations: v }],
                }),
            },
        ];
        for (const { at, set } of lists) {
            for (const [value, found] of [
                [{ x: 1 }, "a map of settings"],
                ["x", 'the text "x"'],
            ] as const) {
                const problems = problemsOf(() =>
                    parseConfig(set(value), {
                        env: FAKE_ENV,
                        secretKeys: new Set(),
                        stackFileSecrets: { keys: new Set(["github", "notifications"]), paths: SECRET_PATHS },
                    }),
                );
                assert.deepEqual(problems, [`${at}: expected a list, found ${found}`], at);
            }
        }
    });
});

/** Every value each closed list documents (README, docs/notifications.md, Flux's Receiver kinds). */
const ENUMS: Array<{ key: string; values: string[]; set: (v: string) => Record<string, unknown> }> = [
    {
        key: "cluster.maintenance.day",
        values: ["any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
        set: (day) => ({ cluster: { ...baseConfig().cluster, maintenance: { day } } }),
    },
    { key: "flux.size", values: ["small", "medium", "large"], set: (size) => ({ flux: { size } }) },
    { key: "flux.installation", values: ["operator", "existing"], set: (installation) => ({ flux: { installation } }) },
    { key: "webhook.exposure", values: ["httpproxy", "ingress"], set: (exposure) => ({ webhook: { exposure } }) },
    {
        key: "webhook.rateLimit.unit",
        values: ["second", "minute", "hour"],
        set: (unit) => ({ webhook: { rateLimit: { unit } } }),
    },
    { key: "acme.environment", values: ["staging", "production"], set: (environment) => ({ acme: { environment } }) },
    {
        key: "notifications[0].severity",
        values: ["info", "error"],
        set: (severity) => ({ notifications: [{ name: "n", type: "slack", credential: "x", severity }] }),
    },
    {
        key: "notifications[0].alerts[0]",
        values: ["info", "error"],
        set: (alert) => ({ notifications: [{ name: "n", type: "slack", credential: "x", alerts: [alert] }] }),
    },
    {
        key: "imageAutomation.images[0].order",
        values: ["numerical", "alphabetical"],
        set: (order) => ({
            github: { repository: "acme/platform" },
            imageAutomation: { enabled: true, images: [{ name: "a", image: "nginx", pattern: "^v", order }] },
        }),
    },
    {
        key: "receivers[0].type",
        values: ["github", "gitlab", "bitbucket", "dockerhub", "quay", "harbor", "generic-hmac"],
        set: (type) => ({ receivers: [{ name: "r", type }] }),
    },
    {
        key: "receivers[0].resources[0].kind",
        values: ["GitRepository", "OCIRepository", "Bucket", "HelmRepository", "ImageRepository"],
        set: (kind) => ({ receivers: [{ name: "r", type: "github", resources: [{ kind, name: "a" }] }] }),
    },
];

describe("every documented value of a closed list is accepted, anything else is named with the list", () => {
    for (const e of ENUMS) {
        test(`${e.key}: ${e.values.join(", ")}`, () => {
            for (const v of e.values) assert.deepEqual(problemsAt(e.key, e.set(v), ["notifications"]), [], v);
            const refused = problemsAt(e.key, e.set("nope"));
            assert.equal(refused.length, 1, refused.join("\n"));
            const prefix = `${e.key}: must be `;
            assert.ok(refused[0]!.startsWith(prefix), refused[0]);
            const text = refused[0]!.slice(prefix.length, refused[0]!.indexOf("; found"));
            const named = text
                .replace(/^one of /, "")
                .split(/, | or /)
                .sort();
            assert.deepEqual(named, [...e.values].sort(), refused[0]);
        });
    }
});

/** What a refused value is told, for each field with its own message: the rule in words. */
const MESSAGES: Array<[key: string, over: Record<string, unknown>, message: string]> = [
    ["flux.interval", { flux: { interval: "5 minutes" } }, "must be a Go duration such as 30s, 5m or 1h"],
    ["flux.interval", { flux: { interval: "0s" } }, "must be longer than zero"],
    ["flux.namespace", { flux: { namespace: "Flux" } }, "must be a lowercase DNS label (a-z, 0-9, '-')"],
    ["flux.path", { flux: { path: "./a b" } }, "must be a relative path such as ./ or ./clusters/dev"],
    [
        "flux.path",
        { flux: { path: "/clusters" } },
        "must be relative to the bucket's root, such as ./clusters/dev, not an absolute path",
    ],
    [
        "flux.path",
        { flux: { path: "./a/../../b" } },
        "must stay inside the bucket: '..' is not allowed (use a path such as ./clusters/dev)",
    ],
    [
        "github.path",
        { github: { repository: "acme/platform", path: "../b" } },
        "must stay inside the repository: '..' is not allowed (use a path such as ./clusters/dev)",
    ],
    [
        "github.path",
        { github: { repository: "acme/platform", path: "/b" } },
        "must be relative to the repository's root, such as ./clusters/dev, not an absolute path",
    ],
    ["github.repository", { github: { repository: "acme" } }, "must be in owner/name form"],
    [
        "github.branch",
        { github: { repository: "acme/platform", branch: "a b" } },
        "must be a branch name such as main or release/1.x",
    ],
    ["github.branch", { github: { repository: "acme/platform", branch: "a/../b" } }, "must not contain '..'"],
    [
        "cluster.version",
        { cluster: { version: "1" } },
        "must be 'latest', a minor prefix such as 1.33, or a slug such as 1.33.1-do.0",
    ],
    ["cluster.maintenance.startTime", { cluster: { maintenance: { startTime: "4:00" } } }, "must be HH:MM (UTC)"],
    ["cluster.tags[0]", { cluster: { tags: ["a b"] } }, "must be a DigitalOcean tag"],
    [
        "cluster.nodePool.size",
        { cluster: { nodePool: { size: "S" } } },
        "must be a Droplet size slug such as s-2vcpu-4gb",
    ],
    ["cluster.nodePool.count", { cluster: { nodePool: { count: 0 } } }, "must be at least 1"],
    [
        "cluster.nodePool.autoscale.min",
        { cluster: { nodePool: { autoscale: { min: 0, max: 2 } } } },
        "must be at least 1",
    ],
    [
        "cluster.nodePool.autoscale.max",
        { cluster: { nodePool: { autoscale: { min: 1, max: 0 } } } },
        "must be at least 1",
    ],
    ["bucket.name", { bucket: { name: "a_b" } }, "must be 3-63 lowercase letters, digits or '-'"],
    ["webhook.host", { webhook: { host: "flux" } }, "must be a fully qualified host name such as flux.example.com"],
    [
        "webhook.dnsZone",
        { webhook: { host: "flux.example.com", dnsZone: "example" } },
        "must be a domain such as example.com",
    ],
    ["imageAutomation.author.email", { imageAutomation: { author: { email: "bot" } } }, "must be an email address"],
    [
        "imageAutomation.images[0].image",
        { imageAutomation: { images: [{ name: "a", image: "nginx:latest", semver: "1.x" }] } },
        "must be an image name without tag, such as ghcr.io/org/app",
    ],
    [
        "notifications[0].timeout",
        { notifications: [{ name: "n", type: "slack", credential: "x", timeout: "1h" }] },
        "must be a Go duration in ms, s or m such as 15s (Flux rejects hours here)",
    ],
    [
        "notifications[0].kustomizations[0]",
        { notifications: [{ name: "n", type: "github", credential: "x", kustomizations: ["a/b/c"] }] },
        "must be a Kustomization name or namespace/name",
    ],
    [
        "notifications[0].proxy",
        { notifications: [{ name: "n", type: "slack", credential: "x", proxy: "ftp://proxy.example.com" }] },
        "must be an http(s) URL",
    ],
    [
        "receivers[0].resources[0].name",
        { receivers: [{ name: "r", type: "github", resources: [{ kind: "GitRepository", name: "a*" }] }] },
        "must be an object name, or * (with matchLabels)",
    ],
];

MESSAGES.push(
    [
        "notifications[0].severity",
        { notifications: [{ name: "n", type: "slack", credential: "x", severity: "warn" }] },
        "must be info or error",
    ],
    [
        "notifications[0].alerts[0]",
        { notifications: [{ name: "n", type: "slack", credential: "x", alerts: ["warn"] }] },
        "must be info or error",
    ],
    [
        "imageAutomation.images[0].order",
        { imageAutomation: { images: [{ name: "a", image: "nginx", pattern: "^v", order: "random" }] } },
        "must be numerical or alphabetical",
    ],
    ["flux.installation", { flux: { installation: "helm" } }, "must be operator or existing"],
);

describe("a refused value is told the rule in words", () => {
    for (const [key, over, message] of MESSAGES) {
        test(`${key}: ${message}`, () => {
            const problems = problemsAt(key, over);
            assert.equal(problems.length, 1, problems.join("\n"));
            assert.ok(problems[0]!.startsWith(`${key}: ${message}; found `), problems[0]);
        });
    }
});

describe("URLs", () => {
    const notification = (n: Record<string, unknown>) =>
        problemsOf(() =>
            parse({ ...baseConfig(), notifications: [{ name: "n", type: "generic", ...n }] }, ["notifications"]),
        );

    test("plain http only to a host that ends in .svc or .svc.cluster.local (with or without the root dot)", () => {
        for (const address of [
            "http://relay.tools.svc",
            "http://relay.tools.svc.",
            "http://relay.tools.svc.cluster.local:8080/x",
            "http://relay.tools.svc.cluster.local./x",
        ]) {
            assert.deepEqual(notification({ address }), [], address);
        }
        for (const address of [
            "http://relay.svc.example.com",
            "http://relay.tools.svcx",
            "http://svc.cluster.local.example.com",
        ]) {
            assert.equal(notification({ address }).length, 1, address);
        }
    });

    test("an address that is no URL is named once, as no URL (not also as plain http)", () => {
        assert.deepEqual(notification({ address: "not a url" }), [
            "notifications[0].address: must be an http(s) URL; found the text (not shown: a secret)",
        ]);
    });

    test("a proxy is http or https, and nothing that merely contains them", () => {
        for (const proxy of ["http://proxy:3128", "https://proxy.example.com"]) {
            assert.deepEqual(notification({ address: "https://h.example.com", proxy }), [], proxy);
        }
        for (const proxy of ["xhttp://proxy:3128", "httpsx://proxy:3128", "socks5://proxy:1080"]) {
            assert.deepEqual(
                notification({ address: "https://h.example.com", proxy }).map((p) => p.split(";")[0]),
                ["notifications[0].proxy: must be an http(s) URL"],
                proxy,
            );
        }
    });
});

describe("docs/notifications.md's documented defaults", () => {
    test("severity: the default the fields table gives", () => {
        const doc = readFileSync(join(ROOT, "docs", "notifications.md"), "utf8");
        const row = doc.split("\n").find((l) => l.startsWith("| `severity`"));
        const cell = row?.split("|")[2]?.trim();
        assert.equal(cell, "`info`", row);
        const cfg = parse({ ...baseConfig(), notifications: [{ name: "n", type: "slack", credential: "x" }] }, [
            "notifications",
        ]);
        assert.equal(cfg.notifications[0]?.severity, cell.slice(1, -1));
    });
});

describe("every message names the field and what is wrong with it", () => {
    /** The problems of the base configuration with `extra` merged in (notifications and github secrets). */
    const problemsWith = (extra: Record<string, unknown>) =>
        problemsOf(() => parse({ ...baseConfig(), ...extra }, ["notifications", "github"]));
    const slack = { name: "n", type: "slack", credential: "x" };

    test("a map's keys and values: the map's path, the key, and the rule it breaks", () => {
        // zod's own wording was `notifications[0].eventMetadata.: Invalid key in record`
        assert.deepEqual(problemsWith({ notifications: [{ ...slack, eventMetadata: { "": "v" } }] }), [
            "notifications[0].eventMetadata: a key must not be empty; found an empty value",
        ]);
        assert.deepEqual(problemsWith({ notifications: [{ ...slack, eventMetadata: { env: 3 } }] }), [
            "notifications[0].eventMetadata.env: expected text, found the number (not shown: a secret)",
        ]);
        const labels = (matchLabels: unknown) => ({
            receivers: [{ name: "r", type: "github", resources: [{ kind: "GitRepository", name: "*", matchLabels }] }],
        });
        assert.deepEqual(problemsWith(labels({ "": "web" })), [
            "receivers[0].resources[0].matchLabels: a key must not be empty; found an empty value",
        ]);
        assert.deepEqual(problemsWith(labels({ app: true })), [
            'receivers[0].resources[0].matchLabels.app: expected text, found the value true: YAML reads it unquoted as true; quote it: app: "true"',
        ]);
    });

    test("a number or true/false where a closed list's value belongs is named with the list", () => {
        assert.deepEqual(problemsWith({ acme: { ...baseConfig().acme, environment: 5 } }), [
            "acme.environment: must be one of staging, production; found the number 5",
        ]);
    });

    test("quotes around a number or true/false: removing them is advised where YAML then reads the expected type", () => {
        // The oracle is a YAML 1.2 parser (the `yaml` package): the advice is given exactly when
        // the unquoted text reads as a whole number (count is one) or as true/false (a
        // boolean field). The samples are the forms the advice covers and texts next to them;
        // YAML also reads 0x1F, 1e3, +5 and True, which get no advice.
        const samples = [
            "12",
            " 12 ",
            "-3",
            "1.25",
            "5x",
            "x5",
            "1.x",
            "--1",
            "1 2",
            "true",
            "false",
            " false ",
            "yes",
            "abc",
        ];
        for (const sample of samples) {
            const yamlReads = parseYaml(sample) as unknown;
            const count = problemsWith({
                cluster: { ...baseConfig().cluster, nodePool: { size: "s-2vcpu-4gb", count: sample } },
            });
            assert.equal(count.length, 1, count.join("\n"));
            assert.match(count[0]!, /^cluster\.nodePool\.count: expected a whole number, found the text /);
            assert.equal(
                count[0]!.endsWith(`: remove the quotes: count: ${sample.trim()}`),
                // (count is a whole number: 1.25 unquoted would fail again)
                Number.isInteger(yamlReads),
                `count: ${JSON.stringify(sample)}: ${count[0]}`,
            );
            const ha = problemsWith({ cluster: { ...baseConfig().cluster, ha: sample } });
            assert.equal(ha.length, 1, ha.join("\n"));
            assert.match(ha[0]!, /^cluster\.ha: expected true or false, found the text /);
            assert.equal(
                ha[0]!.endsWith(`: remove the quotes: ha: ${sample.trim()}`),
                typeof yamlReads === "boolean",
                `ha: ${JSON.stringify(sample)}: ${ha[0]}`,
            );
        }
        // quoting is advised only for text fields, and only for what YAML read as a number or true/false
        const cluster = (extra: Record<string, unknown>) =>
            problemsWith({ cluster: { ...baseConfig().cluster, ...extra } });
        assert.deepEqual(cluster({ ha: 5 }), ["cluster.ha: expected true or false, found the number 5"]);
        assert.deepEqual(cluster({ nodePool: { size: "s-2vcpu-4gb", count: true } }), [
            "cluster.nodePool.count: expected a whole number, found the value true",
        ]);
        assert.deepEqual(cluster({ name: ["edge"] }), ["cluster.name: expected text, found a list"]);
        assert.deepEqual(cluster({ name: null }), ["cluster.name: expected text, found an empty value"]);
        assert.deepEqual(cluster({ name: { a: 1 } }), ["cluster.name: expected text, found a map of settings"]);
    });

    test("a key written flat with a deeper path is named with the whole nested path", () => {
        assert.deepEqual(problemsWith({ "cluster.nodePool.size": "s-4vcpu-8gb" }), [
            "cluster.nodePool.size: unknown key; did you mean cluster with nodePool.size inside it? Nest it in the " +
                "stack file, or use pulumi config set --path 'cluster.nodePool.size' <value>",
        ]);
    });

    test("ACME terms: the message names the Subscriber Agreement and where to read it", () => {
        const problems = problemsWith({ acme: { email: "ops@example.com" } });
        assert.equal(problems.length, 1, problems.join("\n"));
        assert.match(problems[0]!, /^acme\.termsAccepted: must be true: /);
        // Let's Encrypt publishes its Subscriber Agreement in its repository
        assert.match(problems[0]!, /does not agree to its Subscriber Agreement/);
        assert.match(problems[0]!, / https:\/\/letsencrypt\.org\/repository\/ /);
        assert.match(problems[0]!, /set acme\.termsAccepted: true$/);
    });

    test("a truncated word is suggested while the cut is at most a third of the longer word", () => {
        // "namespa" is 3 edits from "namespaces" (10 letters: 3 allowed), though only 7 letters typed
        assert.equal(suggest("namespa", ["namespaces"]), "namespaces");
        assert.equal(suggest("namespaces", ["namespa"]), "namespa");
        assert.equal(suggest("names", ["namespaces"]), undefined, "5 edits");
    });

    test("a key with no namespace is not another namespace's", () => {
        // the engine names every key namespace:key; a bare key is no typo of a namespace
        assert.deepEqual(namespaceProblems("do-gitops-platform", ["webhook", "flux", "do-gitops-platfrom"]), []);
    });
});

describe("the target's checks read the resolved contour.install", () => {
    test("digitalocean always installs Contour; existing-cluster with install true needs no ingress class", () => {
        assert.deepEqual(
            problemsOf(() => parse({ ...baseConfig(), contour: { install: false } })),
            ["contour.install: target digitalocean always installs Contour (its load balancer carries the webhooks)"],
        );
        const existing = (contour: Record<string, unknown>) =>
            problemsOf(() =>
                parseConfig(
                    {
                        target: "existing-cluster",
                        existingCluster: { context: "kind" },
                        webhook: { host: "flux.example.com" },
                        acme: { email: "ops@example.com", termsAccepted: true },
                        contour,
                    },
                    { env: {}, requireCredentials: false },
                ),
            ).map((p) => p.split(":")[0]);
        assert.deepEqual(existing({ install: true }), []);
        assert.deepEqual(existing({}), ["webhook.ingressClassName"]);
    });
});

describe("secure: markers of a list's tenth entry and beyond", () => {
    test("a whole notifications list encrypted covers notifications[10].credential", () => {
        const notifications = Array.from({ length: 12 }, (_, i) => ({ name: `n${i}`, type: "slack", credential: "x" }));
        const problems = problemsOf(() =>
            parseConfig(
                { ...baseConfig(), notifications },
                {
                    env: FAKE_ENV,
                    stackFileSecrets: { keys: new Set(["notifications"]), paths: new Set(["notifications"]) },
                },
            ),
        );
        assert.deepEqual(problems, []);
        const one = problemsOf(() =>
            parseConfig(
                { ...baseConfig(), notifications },
                {
                    env: FAKE_ENV,
                    stackFileSecrets: {
                        keys: new Set(["notifications"]),
                        paths: new Set(
                            notifications.map((_, i) => `notifications[${i}]`).filter((p) => p !== "notifications[11]"),
                        ),
                    },
                },
            ),
        );
        assert.deepEqual(
            one.map((p) => p.split(":")[0]),
            ["notifications[11].credential"],
        );
    });
});
