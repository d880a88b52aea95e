// The Flux receiver call after a sync, and where the configuration comes from.
import assert from "node:assert/strict";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { type RunDeps, runUpload } from "../tools/upload/cli";
import { parseFlags, resolveConfig } from "../tools/upload/config";
import { retryAfterMs } from "../tools/upload/receiver";
import { captureIo, makeTree, S3RVER_KEY, s3Env, stackReader } from "./helpers-s3";
import { useFakeS3 } from "./upload-fake-http";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const TOKEN = "receiver-token-3f9a1c";
const HOOK = createHash("sha256").update(`${TOKEN}bucket-receiverflux-system`).digest("hex");

interface Received {
    method: string;
    path: string;
    headers: http.IncomingHttpHeaders;
    body: string;
}

/**
 * A stand-in for notification-controller's generic-hmac Receiver: it accepts
 * only /hook/<HOOK>, and checks X-Signature the way Flux does (go-github's
 * ValidateSignature: "<sha1|sha256|sha512>=<hex HMAC of the raw body>").
 */
async function startReceiver(token: string, status = 200) {
    const received: Received[] = [];
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const body = Buffer.concat(chunks);
            received.push({
                method: req.method ?? "",
                path: req.url ?? "",
                headers: req.headers,
                body: body.toString(),
            });
            if (req.url !== `/hook/${HOOK}`) return void res.writeHead(404).end();
            const m = /^(sha1|sha256|sha512)=([0-9a-f]+)$/.exec(String(req.headers["x-signature"] ?? ""));
            if (!m) return void res.writeHead(400).end();
            const expected = createHmac(m[1]!, token).update(body).digest();
            const got = Buffer.from(m[2]!, "hex");
            if (got.length !== expected.length || !timingSafeEqual(got, expected)) return void res.writeHead(400).end();
            res.writeHead(status).end();
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/${HOOK}`;
    return {
        url,
        received,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}

// The bucket: upload-fake-http.ts's in-memory one in this process (the S3 server's own replies
// are not what these tests check; s3rver would cost a process of its own)
const local = useFakeS3("recv");
const freshBucket = local.freshBucket;

const TREE = { "kustomization.yaml": "resources: [a.yaml]\n", "a.yaml": "kind: ConfigMap\n" };

async function run(args: string[], deps: RunDeps = {}) {
    const cap = captureIo();
    const code = await runUpload(args, {
        env: s3Env(),
        io: cap.io,
        readStackOutputs: stackReader().read,
        receiverBackoffMs: 5,
        ...deps,
    });
    return { code, ...cap };
}

describe("upload: Flux receiver", () => {
    test("after a sync the receiver gets one POST signed as Flux's generic-hmac expects; nothing secret is printed", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        const receiver = await startReceiver(TOKEN);
        try {
            const r = await run(["--source", src, "--bucket", bucket, "--endpoint", local.s3().endpoint], {
                env: s3Env({ FLUX_RECEIVER_URL: receiver.url, FLUX_RECEIVER_TOKEN: TOKEN }),
            });
            assert.equal(r.code, 0, r.all());
            assert.equal(receiver.received.length, 1);
            const call = receiver.received[0]!;
            assert.equal(call.method, "POST");
            assert.equal(call.headers["content-type"], "application/json");
            assert.deepEqual(JSON.parse(call.body), {
                source: "upload-do",
                bucket,
                prefix: "",
                uploaded: 2,
                deleted: 0,
                unchanged: 0,
            });
            assert.match(r.all(), /receiver: POST http:\/\/127\.0\.0\.1:\d+\/hook\/<redacted> -> 200 OK/);
            assert.equal(r.lastOut(), "uploaded 2, deleted 0, unchanged 0");
            for (const secret of [TOKEN, HOOK, S3RVER_KEY])
                assert.ok(!r.all().includes(secret), `output leaks ${secret}`);
        } finally {
            await receiver.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a no-op sync still triggers (e.g. after an earlier run failed at the trigger)", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        const receiver = await startReceiver(TOKEN);
        try {
            const args = [
                "--source",
                src,
                "--bucket",
                bucket,
                "--endpoint",
                local.s3().endpoint,
                "--receiver-url",
                receiver.url,
            ];
            const env = s3Env({ FLUX_RECEIVER_TOKEN: TOKEN });
            assert.equal((await run(args, { env })).code, 0);
            const r = await run(args, { env });
            assert.equal(r.code, 0, r.all());
            assert.equal(receiver.received.length, 2);
            assert.equal(JSON.parse(receiver.received[1]!.body).unchanged, 2);
        } finally {
            await receiver.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("bucket, endpoint, region, upload key and receiver come from the stack outputs when not given", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        const receiver = await startReceiver(TOKEN);
        const stack = stackReader({
            bucketName: bucket,
            bucketRegion: "us-east-1",
            bucketEndpoint: local.s3().endpoint,
            uploadAccessKeyId: S3RVER_KEY,
            uploadSecretAccessKey: S3RVER_KEY,
            bucketReceiverUrl: receiver.url,
            bucketReceiverToken: TOKEN,
        });
        try {
            const r = await run(["--source", src, "--stack", "prod"], { env: {}, readStackOutputs: stack.read });
            assert.equal(r.code, 0, r.all());
            assert.deepEqual(stack.calls, ["prod"]);
            assert.match(r.out[0]!, /upload key from stack "prod"/);
            assert.equal(receiver.received.length, 1);
            assert.equal((await local.s3().objects(bucket)).size, 2);
            for (const secret of [TOKEN, HOOK, S3RVER_KEY])
                assert.ok(!r.all().includes(secret), `output leaks ${secret}`);
        } finally {
            await receiver.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a rejected signature fails the run (exit 1) but says the sync itself succeeded", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        const receiver = await startReceiver("the-cluster-has-another-token");
        try {
            const r = await run(["--source", src, "--bucket", bucket, "--endpoint", local.s3().endpoint], {
                env: s3Env({ FLUX_RECEIVER_URL: receiver.url, FLUX_RECEIVER_TOKEN: TOKEN }),
            });
            assert.equal(r.code, 1);
            const err = r.err.join("\n");
            assert.match(err, /answered 400 Bad Request \(the signature was rejected/);
            assert.match(err, /The sync itself succeeded/);
            assert.equal(receiver.received.length, 1, "a 4xx is not retried");
            assert.equal(r.lastOut(), "uploaded 2, deleted 0, unchanged 0");
            assert.equal((await local.s3().objects(bucket)).size, 2);
        } finally {
            await receiver.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("5xx replies are retried a bounded number of times; an unreachable receiver fails clearly", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        const receiver = await startReceiver(TOKEN, 503);
        try {
            const r = await run(["--source", src, "--bucket", bucket, "--endpoint", local.s3().endpoint], {
                env: s3Env({ FLUX_RECEIVER_URL: receiver.url, FLUX_RECEIVER_TOKEN: TOKEN }),
            });
            assert.equal(r.code, 1);
            assert.equal(receiver.received.length, 3);
            assert.match(
                r.err.join("\n"),
                /503 Service Unavailable \(the Receiver is suspended or not ready\) after 3 attempt/,
            );
        } finally {
            await receiver.close();
        }
        try {
            const r = await run(["--source", src, "--bucket", bucket, "--endpoint", local.s3().endpoint], {
                env: s3Env({ FLUX_RECEIVER_URL: receiver.url, FLUX_RECEIVER_TOKEN: TOKEN }), // closed now
            });
            assert.equal(r.code, 1);
            assert.match(r.err.join("\n"), /could not be reached \(ECONNREFUSED\).*The sync itself succeeded/);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("429 (Envoy's rate limit) is retried after the Retry-After the reply names", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        const times: number[] = [];
        const server = http.createServer((req, res) => {
            req.resume();
            req.on("end", () => {
                times.push(Date.now());
                if (times.length === 1) res.writeHead(429, { "retry-after": "1" }).end();
                else res.writeHead(200).end();
            });
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/${HOOK}`;
        try {
            const r = await run(["--source", src, "--bucket", bucket, "--endpoint", local.s3().endpoint], {
                env: s3Env({ FLUX_RECEIVER_URL: url, FLUX_RECEIVER_TOKEN: TOKEN }),
            });
            assert.equal(r.code, 0, r.all());
            assert.equal(times.length, 2);
            // the backoff in this test is 5 ms: the second call waited for Retry-After: 1
            assert.ok(times[1]! - times[0]! >= 950, `retried after ${times[1]! - times[0]!} ms`);
            assert.match(r.out.join("\n"), /receiver: POST .* -> 200 OK/);
        } finally {
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
            await rm(src, { recursive: true, force: true });
        }
    });

    test("Retry-After: delay-seconds or an HTTP-date (RFC 9110 10.2.3), capped at a minute", () => {
        assert.equal(retryAfterMs("2"), 2000);
        assert.equal(retryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("2015-10-21T07:27:58Z")), 2000);
        assert.equal(retryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("2015-10-21T07:29:00Z")), 0);
        assert.equal(retryAfterMs("3600"), 60_000);
        assert.equal(retryAfterMs("soon"), undefined);
        assert.equal(retryAfterMs(undefined), undefined);
    });

    test("--dry-run and --no-trigger never call the receiver", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        const receiver = await startReceiver(TOKEN);
        try {
            const env = s3Env({ FLUX_RECEIVER_URL: receiver.url, FLUX_RECEIVER_TOKEN: TOKEN });
            const base = ["--source", src, "--bucket", bucket, "--endpoint", local.s3().endpoint];
            const dry = await run([...base, "--dry-run"], { env });
            assert.equal(dry.code, 0);
            assert.match(dry.out.join("\n"), /receiver: not triggered \(dry run\)/);
            const noTrigger = await run([...base, "--no-trigger"], { env });
            assert.equal(noTrigger.code, 0);
            assert.match(noTrigger.out.join("\n"), /receiver: not triggered \(--no-trigger\)/);
            assert.equal(receiver.received.length, 0);
        } finally {
            await receiver.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("without a receiver in flags, env or stack, the sync succeeds and says Flux waits for its interval", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        const stack = stackReader({}); // a stack from before the receiver existed
        try {
            const r = await run(["--source", src, "--bucket", bucket, "--endpoint", local.s3().endpoint], {
                readStackOutputs: stack.read,
            });
            assert.equal(r.code, 0, r.all());
            assert.deepEqual(stack.calls, ["dev"]);
            assert.match(
                r.out.join("\n"),
                /receiver: not triggered: no receiver URL and token .*bucketReceiverUrl.*next interval/,
            );
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload: configuration precedence", () => {
    const stackValues = {
        bucketName: "stack-bucket",
        bucketRegion: "fra1",
        bucketEndpoint: "https://fra1.digitaloceanspaces.com",
        uploadAccessKeyId: "STACKKEY",
        uploadSecretAccessKey: "stack-secret",
        bucketReceiverUrl: "https://flux-webhook.example.com/hook/abc",
        bucketReceiverToken: "stack-token",
    };

    test("flags win over env, env over stack outputs", async () => {
        const stack = stackReader(stackValues);
        const env = {
            UPLOAD_BUCKET: "env-bucket",
            UPLOAD_REGION: "ams3",
            FLUX_RECEIVER_URL: "https://env.example.com/hook/def",
            AWS_ACCESS_KEY_ID: "ENVKEY",
            AWS_SECRET_ACCESS_KEY: "env-secret",
        };
        const resolve = (argv: string[]) =>
            resolveConfig(parseFlags(argv), { env, cwd: "/", readStackOutputs: stack.read });

        const a = await resolve(["--bucket", "flag-bucket"]);
        assert.equal(a.bucket, "flag-bucket");
        assert.equal(a.region, "ams3");
        assert.equal(a.endpoint, "https://fra1.digitaloceanspaces.com");
        assert.equal(a.credentials.accessKeyId, "ENVKEY");
        assert.equal(a.credentialsFrom, "environment");
        assert.equal(a.receiver?.url, "https://env.example.com/hook/def");
        assert.equal(a.receiver?.token, "stack-token");

        const b = await resolve(["--receiver-url", "https://flag.example.com/hook/x", "--region", "nyc3"]);
        assert.equal(b.bucket, "env-bucket");
        assert.equal(b.region, "nyc3");
        assert.equal(b.receiver?.url, "https://flag.example.com/hook/x");

        const c = await resolveConfig(parseFlags([]), { env: {}, cwd: "/", readStackOutputs: stack.read });
        assert.equal(c.bucket, "stack-bucket");
        assert.equal(c.credentials.secretAccessKey, "stack-secret");
        assert.equal(c.credentialsFrom, "stack");
        assert.equal(c.source, "/deploy");
        assert.equal(c.prefix, "");
    });

    test("the stack is not read when every needed value is supplied", async () => {
        const stack = stackReader(stackValues);
        const env = { AWS_ACCESS_KEY_ID: "K", AWS_SECRET_ACCESS_KEY: "S" };
        const flags = ["--bucket", "b", "--endpoint", "https://fra1.digitaloceanspaces.com"];
        const noTrigger = await resolveConfig(parseFlags([...flags, "--no-trigger"]), {
            env,
            cwd: "/",
            readStackOutputs: stack.read,
        });
        assert.equal(noTrigger.region, "fra1", "derived from the Spaces endpoint");
        const withReceiver = await resolveConfig(
            parseFlags([...flags, "--receiver-url", "https://h.example.com/hook/1"]),
            {
                env: { ...env, FLUX_RECEIVER_TOKEN: "t" },
                cwd: "/",
                readStackOutputs: stack.read,
            },
        );
        assert.equal(withReceiver.usedStack, false);
        assert.deepEqual(stack.calls, []);
        // ...but it is read when the receiver is missing and triggering is on
        await resolveConfig(parseFlags(flags), { env, cwd: "/", readStackOutputs: stack.read });
        assert.deepEqual(stack.calls, ["dev"]);
    });

    test("a non-https receiver URL is refused (except on loopback)", async () => {
        const env = { AWS_ACCESS_KEY_ID: "K", AWS_SECRET_ACCESS_KEY: "S", FLUX_RECEIVER_TOKEN: "t" };
        const flags = ["--bucket", "b", "--endpoint", "https://fra1.digitaloceanspaces.com", "--receiver-url"];
        await assert.rejects(
            resolveConfig(parseFlags([...flags, "http://flux.example.com/hook/1"]), {
                env,
                cwd: "/",
                readStackOutputs: stackReader().read,
            }),
            /must be https/,
        );
    });
});
