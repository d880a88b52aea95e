// Where the sync tool's settings come from (tools/upload/config.ts) and how the stack's outputs
// are read (tools/upload/stack.ts), in process: no S3 server, no pulumi (a stand-in command that
// records what it was called with). The first test file of `make mutation GROUP=upload-cli-config`.
// Facts pinned against their sources: DigitalOcean's Spaces endpoints are
// https://<region>.digitaloceanspaces.com; RFC 6761 / RFC 4291 loopback names and addresses;
// the README's flag list (every flag in USAGE is one parseFlags accepts, and the reverse).
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import {
    ConfigError,
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    parseFlags,
    regionFromEndpoint,
    resolveConfig,
    USAGE,
    UsageError,
} from "../tools/upload/config";
import {
    AVOID_PULUMI_HINT,
    PULUMI_TIMEOUT_MS,
    parseStackOutputs,
    pulumiStackOutputs,
    StackOutputError,
} from "../tools/upload/stack";
import { certsDir, STAGING_ROOTS } from "../tools/upload/trust";

const KEYS = { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const SPACES = "https://fra1.digitaloceanspaces.com";

/** A stack-output reader that records the stacks asked for. */
function stack(outputs: Record<string, unknown> = {}, error?: Error) {
    const calls: string[] = [];
    return {
        calls,
        read: async (name: string) => {
            calls.push(name);
            if (error) throw error;
            return outputs;
        },
    };
}

const noStack = () => stack({}, new Error("stack must not be read"));

function resolve(argv: string[], env: NodeJS.ProcessEnv = {}, outputs = noStack(), cwd = "/work/here") {
    return resolveConfig(parseFlags(argv), { env, cwd, readStackOutputs: outputs.read });
}

async function refusal(p: Promise<unknown>): Promise<Error> {
    return p.then(
        () => assert.fail("resolved; expected a refusal"),
        (e: unknown) => e as Error,
    );
}

describe("upload config: flags", () => {
    test("defaults: stack dev, source deploy, no deletion, no dry run, trigger on, no help", () => {
        assert.deepEqual(parseFlags([]), {
            stack: "dev",
            source: "deploy",
            bucket: undefined,
            endpoint: undefined,
            region: undefined,
            prefix: undefined,
            delete: false,
            dryRun: false,
            concurrency: undefined,
            receiverUrl: undefined,
            receiverToken: undefined,
            receiverCa: undefined,
            trigger: true,
            ignoreFile: undefined,
            help: false,
        });
    });

    test("every flag lands in its field", () => {
        const argv = [
            ["--stack", "prod"],
            ["--source", "src"],
            ["--bucket", "b"],
            ["--endpoint", "e"],
            ["--region", "r"],
            ["--prefix", "p"],
            ["--delete"],
            ["--dry-run"],
            ["--concurrency", "7"],
            ["--receiver-url", "u"],
            ["--receiver-token", "t"],
            ["--receiver-ca", "ca.pem"],
            ["--no-trigger"],
            ["--ignore-file", "ign"],
            ["-h"],
        ].flat();
        assert.deepEqual(parseFlags(argv), {
            stack: "prod",
            source: "src",
            bucket: "b",
            endpoint: "e",
            region: "r",
            prefix: "p",
            delete: true,
            dryRun: true,
            concurrency: "7",
            receiverUrl: "u",
            receiverToken: "t",
            receiverCa: "ca.pem",
            trigger: false,
            ignoreFile: "ign",
            help: true,
        });
        assert.equal(parseFlags(["--help"]).help, true);
    });

    test("an unknown flag, a positional argument or a flag without its value is a UsageError", () => {
        for (const argv of [["--bukket", "b"], ["deploy"], ["--bucket"], ["--delete=yes"]])
            assert.throws(() => parseFlags(argv), UsageError, argv.join(" "));
    });

    test("USAGE lists exactly the flags parseFlags takes, and the concurrency default and limit", () => {
        const listed = new Set([...USAGE.matchAll(/\[(--[a-z-]+)/g)].map((m) => m[1]));
        const described = new Set([...USAGE.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]));
        assert.deepEqual(described, listed);
        for (const flag of listed) {
            const takesValue = new RegExp(`^ {2}${flag} [A-Z]`, "m").test(USAGE);
            const argv = takesValue ? [flag as string, "x"] : [flag as string];
            assert.doesNotThrow(() => parseFlags(argv), `${flag} is accepted`);
        }
        assert.equal(listed.size, 14);
        assert.ok(USAGE.startsWith("usage: npm run upload -- "));
        assert.match(
            USAGE,
            new RegExp(`parallel requests, 1-${MAX_CONCURRENCY} \\(default: ${DEFAULT_CONCURRENCY}\\)`),
        );
        assert.equal(DEFAULT_CONCURRENCY, 32);
        assert.equal(MAX_CONCURRENCY, 256);
    });
});

describe("upload config: values and their sources", () => {
    test("--concurrency: a whole number from 1 to 256; anything else is refused with the value named", async () => {
        for (const [given, want] of [
            ["1", 1],
            ["256", 256],
            ["17", 17],
        ] as const)
            assert.equal(
                (await resolve(["--concurrency", given, "--bucket", "b", "--endpoint", SPACES, "--no-trigger"], KEYS))
                    .concurrency,
                want,
            );
        assert.equal(
            (await resolve(["--bucket", "b", "--endpoint", SPACES, "--no-trigger"], KEYS)).concurrency,
            DEFAULT_CONCURRENCY,
        );
        for (const bad of ["0", "257", "1.5", "x", "-3", ""]) {
            const e = await refusal(resolve([`--concurrency=${bad}`, "--bucket", "b", "--endpoint", SPACES], KEYS));
            assert.ok(e instanceof UsageError, bad);
            assert.equal(e.message, `--concurrency must be an integer from 1 to 256, got ${JSON.stringify(bad)}`);
        }
    });

    test("everything missing: one error names every missing value and where each can come from", async () => {
        const e = await refusal(resolve([], {}, stack({}, new Error("pulumi is not installed"))));
        assert.ok(e instanceof ConfigError);
        assert.equal(
            e.message,
            "missing bucket (--bucket, UPLOAD_BUCKET or stack output bucketName); " +
                "endpoint (--endpoint, UPLOAD_ENDPOINT or stack output bucketEndpoint); " +
                "region (--region, UPLOAD_REGION or stack output bucketRegion); " +
                "credentials (AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY or stack outputs uploadAccessKeyId + uploadSecretAccessKey). " +
                "pulumi is not installed",
        );
        // a stack that was read but lacks the outputs is named
        const empty = stack({});
        const e2 = await refusal(resolve(["--stack", "qa", "--bucket", "b"], KEYS, empty));
        assert.equal(
            e2.message,
            'missing endpoint (--endpoint, UPLOAD_ENDPOINT or stack output bucketEndpoint); region (--region, UPLOAD_REGION or stack output bucketRegion). stack "qa" does not have these outputs',
        );
        assert.deepEqual(empty.calls, ["qa"]);
        // only the credentials missing: nothing else named
        const e3 = await refusal(resolve(["--bucket", "b", "--endpoint", SPACES, "--no-trigger"], {}, stack({})));
        assert.equal(
            e3.message,
            'missing credentials (AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY or stack outputs uploadAccessKeyId + uploadSecretAccessKey). stack "dev" does not have these outputs',
        );
    });

    test("the region comes from a Spaces endpoint (<region>.digitaloceanspaces.com); loopback is us-east-1", async () => {
        const cases: Array<[string | undefined, string | undefined]> = [
            ["https://fra1.digitaloceanspaces.com", "fra1"],
            ["https://sgp1.digitaloceanspaces.com/", "sgp1"],
            ["http://127.0.0.1:9000", "us-east-1"],
            ["http://127.1.2.3:9000", "us-east-1"],
            ["http://127.10.200.254:9000", "us-east-1"],
            ["http://localhost:9000", "us-east-1"],
            ["http://[::1]:9000", "us-east-1"],
            ["https://my.fra1.digitaloceanspaces.com", undefined],
            ["https://fra1.digitaloceanspaces.com.evil.example", undefined],
            ["https://s3.amazonaws.com", undefined],
            ["http://128.0.0.1:9000", undefined],
            ["http://localhost.example:9000", undefined],
            ["not a url", undefined],
            ["", undefined],
            [undefined, undefined],
        ];
        for (const [endpoint, region] of cases) assert.equal(regionFromEndpoint(endpoint), region, String(endpoint));
        // an explicit region wins; without one and without a Spaces/loopback endpoint the region is missing
        const cfg = await resolve(["--bucket", "b", "--endpoint", SPACES, "--region", "ams3", "--no-trigger"], KEYS);
        assert.equal(cfg.region, "ams3");
        const e = await refusal(
            resolve(["--bucket", "b", "--endpoint", "https://s3.example.com", "--no-trigger"], KEYS, stack({})),
        );
        assert.match(e.message, /^missing region \(--region, UPLOAD_REGION or stack output bucketRegion\)\./);
    });

    test("the endpoint: https:// added when no scheme is given, reduced to its origin; other schemes and paths refused", async () => {
        const base = ["--bucket", "b", "--region", "r", "--no-trigger"];
        const ok: Array<[string, string]> = [
            ["fra1.digitaloceanspaces.com", "https://fra1.digitaloceanspaces.com"],
            ["https://fra1.digitaloceanspaces.com/", "https://fra1.digitaloceanspaces.com"],
            ["HTTP://127.0.0.1:9000", "http://127.0.0.1:9000"],
            ["https://s3.example.com:443", "https://s3.example.com"],
        ];
        for (const [given, origin] of ok)
            assert.equal((await resolve([...base, "--endpoint", given], KEYS)).endpoint, origin, given);
        const refused: Array<[string, string]> = [
            ["ftp://files.example.com", "endpoint must be http(s), got ftp:"],
            ["https://s3.example.com/bucket", "endpoint https://s3.example.com/bucket must not have a path"],
            ["https://[bad", 'endpoint "https://[bad" is not a URL'],
            // a scheme only at the start: this has none, so https:// is added and the path refused
            ["s3.example.com/path?x=http://y", "endpoint https://s3.example.com/path must not have a path"],
        ];
        for (const [given, message] of refused) {
            const e = await refusal(resolve([...base, "--endpoint", given], KEYS));
            assert.ok(e instanceof ConfigError, given);
            assert.equal(e.message, message);
        }
    });

    test("plain http is warned about, except on loopback", async () => {
        const base = ["--bucket", "b", "--region", "r", "--no-trigger", "--endpoint"];
        assert.deepEqual((await resolve([...base, "http://s3.example.com"], KEYS)).warnings, [
            "endpoint http://s3.example.com is plain http: manifests travel unencrypted",
        ]);
        for (const loopback of [
            "http://127.0.0.1:9000",
            "http://localhost:9000",
            "http://[::1]:9000",
            "https://s3.example.com",
        ])
            assert.deepEqual((await resolve([...base, loopback], KEYS)).warnings, [], loopback);
    });

    test("flags win over the environment, the environment over the stack; blank values count as unset and are trimmed", async () => {
        const outputs = stack({
            bucketName: "stack-bucket",
            bucketEndpoint: "https://ams3.digitaloceanspaces.com",
            bucketRegion: "ams3",
            uploadAccessKeyId: "STACKKEY",
            uploadSecretAccessKey: "stack-secret",
            bucketReceiverUrl: "https://rx.example.com/hook/abc",
            bucketReceiverToken: "stack-token",
        });
        const env = {
            UPLOAD_BUCKET: "  env-bucket ",
            UPLOAD_ENDPOINT: " ",
            UPLOAD_REGION: "",
            FLUX_RECEIVER_URL: "\t",
            FLUX_RECEIVER_TOKEN: " env-token ",
        };
        const cfg = await resolve(["--bucket", "  ", "--region", " nyc3 "], env, outputs);
        assert.equal(cfg.bucket, "env-bucket");
        assert.equal(cfg.endpoint, "https://ams3.digitaloceanspaces.com");
        assert.equal(cfg.region, "nyc3");
        assert.deepEqual(cfg.credentials, { accessKeyId: "STACKKEY", secretAccessKey: "stack-secret" });
        assert.equal(cfg.credentialsFrom, "stack");
        assert.deepEqual(cfg.receiver, { url: "https://rx.example.com/hook/abc", token: "env-token" });
        assert.equal(cfg.usedStack, true);
        assert.equal(cfg.receiverNote, undefined);
        // the flags' own values
        const flagged = await resolve(
            [
                "--endpoint",
                "https://s3.example.com",
                "--receiver-url",
                "https://f.example.com/hook/1",
                "--receiver-token",
                "flag-token",
                "--region",
                "r",
                "--bucket",
                "fb",
            ],
            {
                ...KEYS,
                UPLOAD_ENDPOINT: "https://e.example.com",
                FLUX_RECEIVER_URL: "https://e.example.com/hook/2",
                FLUX_RECEIVER_TOKEN: "env-token",
            },
        );
        assert.equal(flagged.endpoint, "https://s3.example.com");
        assert.deepEqual(flagged.receiver, { url: "https://f.example.com/hook/1", token: "flag-token" });
        assert.equal(flagged.usedStack, false);
        assert.equal(flagged.credentialsFrom, "environment");
    });

    test("the stack is read for whatever is missing, and only then; what was given is kept", async () => {
        const outputs = stack({
            bucketName: "stack-bucket",
            bucketEndpoint: "https://ams3.digitaloceanspaces.com",
            uploadAccessKeyId: "STACKKEY",
            uploadSecretAccessKey: "stack-secret",
            bucketReceiverUrl: "https://rx.example.com/hook/abc",
            bucketReceiverToken: "stack-token",
        });
        // only the bucket missing
        const noBucket = await resolve(["--endpoint", SPACES, "--no-trigger"], KEYS, outputs);
        assert.equal(noBucket.bucket, "stack-bucket");
        assert.equal(noBucket.endpoint, SPACES);
        assert.deepEqual(noBucket.credentials, {
            accessKeyId: KEYS.AWS_ACCESS_KEY_ID,
            secretAccessKey: KEYS.AWS_SECRET_ACCESS_KEY,
            sessionToken: undefined,
        });
        assert.equal(noBucket.credentialsFrom, "environment");
        assert.deepEqual(outputs.calls, ["dev"]);
        // everything given, the receiver too: not read
        const all = [
            SPACES,
            "--bucket",
            "b",
            "--receiver-url",
            "https://f.example.com/hook/1",
            "--receiver-token",
            "t",
        ];
        const full = await resolve(["--endpoint", ...all], KEYS, outputs);
        assert.equal(full.usedStack, false);
        assert.deepEqual(outputs.calls, ["dev"]);
        // only the receiver token missing
        const noToken = await resolve(["--endpoint", ...all.slice(0, -2)], KEYS, outputs);
        assert.equal(noToken.receiver?.token, "stack-token");
        assert.equal(noToken.receiver?.url, "https://f.example.com/hook/1");
        assert.deepEqual(outputs.calls, ["dev", "dev"]);
    });

    test("credentials: both environment keys (and the session token) or the stack's; one alone is ignored with a warning", async () => {
        const outputs = stack({ uploadAccessKeyId: "STACKKEY", uploadSecretAccessKey: "stack-secret" });
        const base = ["--bucket", "b", "--endpoint", SPACES, "--no-trigger"];
        const full = await resolve(base, { ...KEYS, AWS_SESSION_TOKEN: "sess" }, outputs);
        assert.deepEqual(full.credentials, {
            accessKeyId: KEYS.AWS_ACCESS_KEY_ID,
            secretAccessKey: KEYS.AWS_SECRET_ACCESS_KEY,
            sessionToken: "sess",
        });
        assert.deepEqual(outputs.calls, [], "the stack is not read when nothing is missing");
        for (const one of [{ AWS_ACCESS_KEY_ID: "ONLY" }, { AWS_SECRET_ACCESS_KEY: "only" }]) {
            const cfg = await resolve(base, one, outputs);
            assert.deepEqual(cfg.credentials, { accessKeyId: "STACKKEY", secretAccessKey: "stack-secret" });
            assert.equal(cfg.credentialsFrom, "stack");
            assert.deepEqual(cfg.warnings, [
                "only one of AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY is set; ignoring both and using the stack's upload key",
            ]);
        }
        // a stack with only half a key pair gives none
        const half = await refusal(resolve(base, {}, stack({ uploadAccessKeyId: "STACKKEY" })));
        assert.match(half.message, /^missing credentials /);
    });

    test("a bad prefix is a UsageError naming where it came from", async () => {
        const base = ["--bucket", "b", "--endpoint", SPACES, "--no-trigger"];
        const flag = await refusal(resolve([...base, "--prefix", "/abs"], KEYS));
        assert.ok(flag instanceof UsageError);
        assert.match(flag.message, /^--prefix: prefix /);
        const env = await refusal(resolve(base, { ...KEYS, UPLOAD_PREFIX: "../up" }));
        assert.ok(env instanceof UsageError);
        assert.match(env.message, /^UPLOAD_PREFIX: prefix /);
        assert.equal(
            (await resolve([...base, "--prefix", "a/b"], { ...KEYS, UPLOAD_PREFIX: "/ignored" })).prefix,
            "a/b/",
        );
        assert.equal((await resolve(base, { ...KEYS, UPLOAD_PREFIX: "env" })).prefix, "env/");
    });

    test("the source and the ignore file are resolved against the working directory", async () => {
        const base = ["--bucket", "b", "--endpoint", SPACES, "--no-trigger"];
        const cfg = await resolve([...base, "--source", "../tree", "--ignore-file", "rules"], KEYS, noStack(), "/w/x");
        assert.equal(cfg.source, "/w/tree");
        assert.equal(cfg.ignoreFile, "/w/x/rules");
        const plain = await resolve(base, KEYS, noStack(), "/w/x");
        assert.equal(plain.source, "/w/x/deploy");
        assert.equal(plain.ignoreFile, undefined);
        assert.equal(plain.stack, "dev");
        assert.equal(plain.deleteRemote, false);
        assert.equal(plain.dryRun, false);
        assert.equal((await resolve([...base, "--delete", "--dry-run"], KEYS)).deleteRemote, true);
    });
});

describe("upload config: the receiver", () => {
    const base = ["--bucket", "b", "--endpoint", SPACES];

    test("not triggered: --no-trigger, --dry-run, or no URL/token (each named, with the stack's reason)", async () => {
        assert.equal((await resolve([...base, "--no-trigger"], KEYS)).receiverNote, "not triggered (--no-trigger)");
        assert.equal((await resolve([...base, "--dry-run"], KEYS)).receiverNote, "not triggered (dry run)");
        const rest =
            "(--receiver-url/FLUX_RECEIVER_URL, --receiver-token/FLUX_RECEIVER_TOKEN; " +
            'stack "dev" has no bucketReceiverUrl/bucketReceiverToken output); Flux picks the change up at its next interval';
        const cases: Array<[NodeJS.ProcessEnv, string]> = [
            [{}, "URL and token"],
            [{ FLUX_RECEIVER_TOKEN: "t" }, "URL"],
            [{ FLUX_RECEIVER_URL: "https://rx.example.com/hook/1" }, "token"],
        ];
        for (const [env, what] of cases) {
            const cfg = await resolve(base, { ...KEYS, ...env }, stack({}));
            assert.equal(cfg.receiver, undefined);
            assert.equal(cfg.receiverNote, `not triggered: no receiver ${what} ${rest}`);
        }
        const failed = await resolve(base, KEYS, stack({}, new Error("no Pulumi state")));
        assert.equal(
            failed.receiverNote,
            "not triggered: no receiver URL and token (--receiver-url/FLUX_RECEIVER_URL, --receiver-token/FLUX_RECEIVER_TOKEN; no Pulumi state); Flux picks the change up at its next interval",
        );
        assert.equal(failed.usedStack, false);
    });

    test("https only, except plain http on loopback or through a port-forward; an invalid URL is refused", async () => {
        const env = { ...KEYS, FLUX_RECEIVER_TOKEN: "t" };
        for (const url of [
            "http://rx.example.com/hook/1",
            "ftp://rx.example.com/hook/1",
            "ftp://127.0.0.1/hook/1",
            "http://127.0.0.1.example.com/hook",
        ]) {
            const e = await refusal(resolve([...base, "--receiver-url", url], env));
            assert.ok(e instanceof ConfigError, url);
            assert.equal(
                e.message,
                "the receiver URL must be https (plain http is accepted for 127.0.0.1/localhost only)",
            );
        }
        for (const url of ["https://rx.example.com/hook/1", "http://127.0.0.1:9292/hook/1", "http://localhost/hook/1"])
            assert.equal((await resolve([...base, "--receiver-url", url], env)).receiver?.url, url);
        const bad = await refusal(resolve([...base, "--receiver-url", "::"], env));
        assert.ok(bad instanceof ConfigError);
        assert.equal(bad.message, "the receiver URL is not a valid URL");
    });

    test("extra trust: the staging roots when the stack's ACME environment is staging, and the --receiver-ca file", async () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), "upload-config-ca-"));
        try {
            const root0 = readFileSync(path.join(certsDir(), STAGING_ROOTS[0]!.file), "utf8").trim();
            writeFileSync(path.join(dir, "ca.pem"), `${root0}\n`);
            const outputs = (acme: string) =>
                stack({
                    bucketReceiverUrl: "https://rx.example.com/hook/1",
                    bucketReceiverToken: "t",
                    acmeEnvironment: acme,
                });
            const staging = await resolve(base, KEYS, outputs("staging"));
            assert.equal(staging.acmeEnvironment, "staging");
            assert.equal(staging.receiver?.extraCa?.length, STAGING_ROOTS.length);
            assert.equal(
                staging.receiverTrust,
                "Let's Encrypt's staging roots ((STAGING) Pretend Pear X1, (STAGING) Bogus Broccoli X2, (STAGING) Yearning Yucca Root YE, (STAGING) Yonder Yam Root YR)",
            );
            const production = await resolve(base, KEYS, outputs("production"));
            assert.equal(production.receiver?.extraCa, undefined);
            assert.equal(production.receiverTrust, undefined);
            assert.equal(production.acmeEnvironment, "production");
            // the CA file, relative to the working directory; with staging both
            const both = await resolve([...base, "--receiver-ca", "ca.pem"], KEYS, outputs("staging"), dir);
            assert.deepEqual(both.receiver?.extraCa?.at(-1), root0);
            assert.equal(both.receiver?.extraCa?.length, STAGING_ROOTS.length + 1);
            assert.match(both.receiverTrust ?? "", new RegExp(` and the root\\(s\\) in ${path.join(dir, "ca.pem")}$`));
            const fromEnv = await resolve(base, { ...KEYS, FLUX_RECEIVER_CA: "ca.pem" }, outputs("production"), dir);
            assert.deepEqual(fromEnv.receiver?.extraCa, [root0]);
            assert.equal(fromEnv.receiverTrust, `the root(s) in ${path.join(dir, "ca.pem")}`);
            const missing = await refusal(
                resolve([...base, "--receiver-ca", "gone.pem"], KEYS, outputs("production"), dir),
            );
            assert.ok(missing instanceof ConfigError);
            assert.match(
                missing.message,
                new RegExp(`^cannot read the receiver CA file ${path.join(dir, "gone.pem")}: `),
            );
            // not triggering: no trust is loaded at all
            const off = await resolve(
                [...base, "--no-trigger", "--receiver-ca", "gone.pem"],
                { ...KEYS, FLUX_RECEIVER_URL: "https://x/hook", FLUX_RECEIVER_TOKEN: "t" },
                noStack(),
                dir,
            );
            assert.equal(off.receiver, undefined);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test("localAccess: in-cluster values from the stack are reached through port-forwards, given ones are not", async () => {
        const s3 = { namespace: "s3", service: "seaweedfs", port: 8333 };
        const receiver = { namespace: "flux-system", service: "webhook-receiver", port: 80 };
        const outputs = {
            bucketName: "b",
            bucketEndpoint: "http://seaweedfs.s3.svc:8333",
            bucketRegion: "us-east-1",
            uploadAccessKeyId: "K",
            uploadSecretAccessKey: "S",
            bucketReceiverUrl: "http://webhook-receiver.flux-system.svc/hook/1",
            bucketReceiverToken: "t",
            localAccess: { kubeconfig: "~/kind.yaml", context: "kind", s3, receiver },
        };
        const all = await resolve([], {}, stack(outputs));
        assert.deepEqual(all.forward, {
            access: { kubeconfig: "~/kind.yaml", context: "kind", s3, receiver },
            s3,
            receiver,
        });
        assert.deepEqual(all.warnings, [], "a forwarded plain-http endpoint is not warned about");
        assert.equal(
            all.receiver?.url,
            "http://webhook-receiver.flux-system.svc/hook/1",
            "plain http through a forward",
        );
        const onlyReceiver = await resolve(["--endpoint", "http://127.0.0.1:9000"], {}, stack(outputs));
        assert.equal(onlyReceiver.forward?.s3, undefined);
        assert.deepEqual(onlyReceiver.forward?.receiver, receiver);
        const none = await resolve(
            ["--endpoint", "http://127.0.0.1:9000", "--receiver-url", "http://127.0.0.1:1/hook/1"],
            {},
            stack(outputs),
        );
        assert.equal("forward" in none, false);
        // outputs without the endpoint: nothing to forward to
        const { bucketEndpoint: _e, bucketReceiverUrl: _r, ...rest } = outputs;
        const neither = await resolve(["--endpoint", "http://127.0.0.1:9000", "--no-trigger"], {}, stack(rest));
        assert.equal("forward" in neither, false);
        const bad = await refusal(resolve([], {}, stack({ ...outputs, localAccess: { s3: "svc" } })));
        assert.ok(bad instanceof ConfigError);
        assert.equal(bad.message, "stack output localAccess.s3 is not {namespace, service, port}");
    });
});

describe("upload stack outputs", () => {
    test("only the outputs the tool uses, as strings; empty and null ones left out; other types named together", () => {
        const names = [
            "bucketName",
            "bucketRegion",
            "bucketEndpoint",
            "uploadAccessKeyId",
            "uploadSecretAccessKey",
            "bucketReceiverUrl",
            "bucketReceiverToken",
            "acmeEnvironment",
        ];
        const raw = Object.fromEntries(names.map((n) => [n, `v-${n}`]));
        assert.deepEqual(parseStackOutputs({ ...raw, kubeconfig: "secret", other: 1 }), raw);
        assert.deepEqual(parseStackOutputs({ bucketName: "", bucketRegion: null, bucketEndpoint: undefined }), {});
        assert.throws(
            () =>
                parseStackOutputs({
                    bucketName: 1,
                    bucketRegion: "r",
                    uploadAccessKeyId: { k: 1 },
                    acmeEnvironment: false,
                }),
            (e: Error) =>
                e instanceof StackOutputError &&
                e.message ===
                    "stack outputs have unexpected types (expected strings): bucketName, uploadAccessKeyId, acmeEnvironment",
        );
        for (const bad of [null, [], "x", 3])
            assert.throws(
                () => parseStackOutputs(bad),
                (e: Error) => e instanceof StackOutputError && e.message === "stack outputs are not a JSON object",
            );
    });

    /** A stand-in pulumi: records its arguments, working directory and backend, then behaves as told. */
    function fakePulumi(dir: string, script: string): string {
        const command = path.join(dir, "pulumi");
        writeFileSync(
            command,
            `#!${process.execPath}\nconst fs = require("node:fs");\nfs.writeFileSync(${JSON.stringify(path.join(dir, "called.json"))}, JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd(), backend: process.env.PULUMI_BACKEND_URL, skip: process.env.PULUMI_SKIP_UPDATE_CHECK, stdinIgnored: fs.fstatSync(0).rdev === fs.statSync("/dev/null").rdev }));\n${script}\n`,
        );
        chmodSync(command, 0o755);
        return command;
    }

    test("pulumi stack output --json --show-secrets --non-interactive --stack NAME, in the project, on its backend", async () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), "upload-pulumi-"));
        try {
            const project = path.join(dir, "project");
            mkdirSync(path.join(project, ".pulumi-state"), { recursive: true });
            const command = fakePulumi(dir, `process.stdout.write(JSON.stringify({ bucketName: "b", n: 1 }));`);
            const read = pulumiStackOutputs({ command, cwd: project, env: { PATH: process.env.PATH } });
            assert.deepEqual(await read("prod"), { bucketName: "b", n: 1 });
            const called = JSON.parse(readFileSync(path.join(dir, "called.json"), "utf8"));
            assert.deepEqual(called, {
                argv: ["stack", "output", "--json", "--show-secrets", "--non-interactive", "--stack", "prod"],
                cwd: project,
                backend: `file://${path.join(project, ".pulumi-state")}`,
                skip: "true",
                stdinIgnored: true,
            });
            // nothing of the call is left running (no timer holds the process open)
            const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
            const before = timers();
            await read("prod");
            assert.equal(timers(), before);
            // "pulumi" from the PATH when no command is named
            const onPath = pulumiStackOutputs({ cwd: project, env: { PATH: dir } });
            assert.deepEqual(await onPath("qa"), { bucketName: "b", n: 1 });
            // PULUMI_BACKEND_URL when set (no local folder needed)
            const other = pulumiStackOutputs({ command, cwd: dir, env: { PULUMI_BACKEND_URL: "s3://state-bucket" } });
            await other("dev");
            assert.equal(JSON.parse(readFileSync(path.join(dir, "called.json"), "utf8")).backend, "s3://state-bucket");
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test("with no folder given, pulumi runs in the project: the nearest Pulumi.yaml upwards, else this repository", async () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), "upload-pulumi-"));
        const before = process.cwd();
        try {
            const command = fakePulumi(dir, "process.stdout.write('{}');");
            const project = path.join(dir, "proj");
            mkdirSync(path.join(project, "sub", "deeper"), { recursive: true });
            writeFileSync(path.join(project, "Pulumi.yaml"), "name: p\nruntime: nodejs\n");
            const env = { PULUMI_BACKEND_URL: "s3://state" };
            process.chdir(path.join(project, "sub", "deeper"));
            await pulumiStackOutputs({ command, env })("dev");
            assert.equal(JSON.parse(readFileSync(path.join(dir, "called.json"), "utf8")).cwd, project);
            // no Pulumi.yaml above the working directory: the project this tool belongs to
            mkdirSync(path.join(dir, "elsewhere"));
            process.chdir(path.join(dir, "elsewhere"));
            await pulumiStackOutputs({ command, env })("dev");
            assert.equal(
                JSON.parse(readFileSync(path.join(dir, "called.json"), "utf8")).cwd,
                path.resolve(__dirname, ".."),
            );
        } finally {
            process.chdir(before);
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test("pulumi failing, missing, printing no JSON, or no local state: a StackOutputError that says what to do", async () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), "upload-pulumi-"));
        try {
            mkdirSync(path.join(dir, ".pulumi-state"));
            const failing = fakePulumi(
                dir,
                `process.stderr.write("one\\ntwo\\nthree\\nerror: no stack named 'qa' found\\n"); process.exit(255);`,
            );
            await assert.rejects(pulumiStackOutputs({ command: failing, cwd: dir, env: {} })("qa"), (e: Error) => {
                assert.ok(e instanceof StackOutputError);
                assert.equal(
                    e.message,
                    `\`pulumi stack output --stack qa\` failed (exit 255): two three error: no stack named 'qa' found; ${AVOID_PULUMI_HINT}`,
                );
                return true;
            });
            const silentFail = fakePulumi(dir, "process.exit(3);");
            await assert.rejects(pulumiStackOutputs({ command: silentFail, cwd: dir, env: {} })("qa"), {
                message: `\`pulumi stack output --stack qa\` failed (exit 3); ${AVOID_PULUMI_HINT}`,
            });
            const killed = fakePulumi(dir, `process.kill(process.pid, "SIGKILL");`);
            await assert.rejects(pulumiStackOutputs({ command: killed, cwd: dir, env: {} })("qa"), {
                message: `\`pulumi stack output --stack qa\` failed (SIGKILL); ${AVOID_PULUMI_HINT}`,
            });
            const hangs = fakePulumi(dir, "setTimeout(() => undefined, 30_000);");
            await assert.rejects(pulumiStackOutputs({ command: hangs, cwd: dir, env: {}, timeoutMs: 300 })("qa"), {
                message: `\`pulumi stack output --stack qa\` failed (SIGTERM); ${AVOID_PULUMI_HINT}`,
            });
            // docs/upload.md: "a pulumi that has not answered within 2 minutes is stopped"
            assert.equal(PULUMI_TIMEOUT_MS, 2 * 60_000);
            const notJson = fakePulumi(dir, `process.stdout.write("Current stack outputs (1):");`);
            await assert.rejects(pulumiStackOutputs({ command: notJson, cwd: dir, env: {} })("qa"), {
                message: "`pulumi stack output --json --stack qa` did not print JSON",
            });
            await assert.rejects(
                pulumiStackOutputs({ command: path.join(dir, "no-such-pulumi"), cwd: dir, env: {} })("qa"),
                (e: Error) =>
                    e instanceof StackOutputError &&
                    e.message ===
                        `the pulumi CLI is not installed (or not on PATH), so the stack's outputs cannot be read; ${AVOID_PULUMI_HINT}`,
            );
            await assert.rejects(
                pulumiStackOutputs({ command: dir, cwd: dir, env: {} })("qa"),
                (e: Error) => e instanceof StackOutputError && e.message.startsWith("could not run pulumi: "),
            );
            const empty = path.join(dir, "empty");
            mkdirSync(empty);
            await assert.rejects(pulumiStackOutputs({ command: failing, cwd: empty, env: {} })("qa"), {
                message: `no Pulumi state in .pulumi-state/ (run \`make bootstrap\` first, or set PULUMI_BACKEND_URL to the backend that holds stack "qa"); ${AVOID_PULUMI_HINT}`,
            });
            const elsewhere = path.join(dir, "state-elsewhere");
            await assert.rejects(
                pulumiStackOutputs({
                    command: failing,
                    cwd: empty,
                    env: { PULUMI_BACKEND_URL: `file://${elsewhere}` },
                })("qa"),
                { message: new RegExp(`^no Pulumi state in ${elsewhere} \\(run`) },
            );
            assert.equal(
                AVOID_PULUMI_HINT,
                "supply every value instead: --bucket/UPLOAD_BUCKET, --endpoint/UPLOAD_ENDPOINT, --region/UPLOAD_REGION, AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, and --receiver-url/FLUX_RECEIVER_URL + --receiver-token/FLUX_RECEIVER_TOKEN (or --no-trigger)",
            );
            // every flag and variable the hint names exists
            for (const flag of AVOID_PULUMI_HINT.match(/--[a-z-]+/g) ?? []) assert.ok(USAGE.includes(flag), flag);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
