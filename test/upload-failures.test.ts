// Failure handling: retries, interruptions, and the clear errors the issue asks for.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { describe, test } from "node:test";
import { type RunDeps, runUpload } from "../tools/upload/cli";
import { pulumiStackOutputs } from "../tools/upload/stack";
import {
    captureIo,
    makeTree,
    runUploadCommand,
    S3RVER_KEY,
    s3Env,
    stackReader,
    startProxy,
    useLocalS3,
} from "./helpers-s3";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

// s3rver (in a process of its own, behind the recording front): the clear errors are the tool's
// reading of a real server's replies (InvalidAccessKeyId for other keys, NoSuchBucket), and the
// retries and interrupts run against it through a fault-injecting proxy
const local = useLocalS3("fail");
const freshBucket = local.freshBucket;

const TREE: Record<string, string> = {};
for (let i = 0; i < 8; i++) TREE[`apps/app-${i}.yaml`] = `kind: ConfigMap\nmetadata:\n  name: app-${i}\n`;

async function run(args: string[], deps: RunDeps = {}) {
    const cap = captureIo();
    const code = await runUpload(["--no-trigger", ...args], {
        env: s3Env(),
        io: cap.io,
        readStackOutputs: stackReader().read,
        ...deps,
    });
    return { code, ...cap };
}

describe("upload: failures", () => {
    test("500 and 503 SlowDown replies are retried with backoff and the sync still completes", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        // the listing gets a 500 InternalError, the first two PUTs a 503 SlowDown (throttling)
        let gets = 0;
        let puts = 0;
        const proxy = await startProxy(local.s3().port, {
            failWith: (_n, req) => {
                if (req.method === "GET") return ++gets === 1 ? 500 : undefined;
                if (req.method === "PUT") return ++puts <= 2 ? 503 : undefined;
                return undefined;
            },
        });
        try {
            const r = await run([
                "--source",
                src,
                "--bucket",
                bucket,
                "--endpoint",
                proxy.endpoint,
                "--concurrency",
                "4",
            ]);
            assert.equal(r.code, 0, r.all());
            assert.equal(r.lastOut(), "uploaded 8, deleted 0, unchanged 0");
            assert.deepEqual(
                proxy.seen.filter((x) => x.failedWith).map((x) => `${x.method} ${x.failedWith}`),
                ["GET 500", "PUT 503", "PUT 503"],
            );
            assert.equal(
                proxy.seen.filter((x) => !x.failedWith).length,
                10,
                "the list, the list of incomplete multipart uploads and 8 PUTs went through after the retries",
            );
            assert.match(r.out.join("\n"), /3 failed attempt\(s\) retried/);
            const stored = await local.s3().objects(bucket);
            assert.equal(stored.size, 8);
            for (const [k, v] of Object.entries(TREE)) assert.equal(stored.get(k)?.toString(), v);
        } finally {
            await proxy.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("an object that keeps failing makes the run fail clearly; a re-run completes it", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        const proxy = await startProxy(local.s3().port, {
            failWith: (_n, req) => (req.method === "PUT" && req.url?.includes("app-3.yaml") ? 500 : undefined),
        });
        try {
            const r = await run(["--source", src, "--bucket", bucket, "--endpoint", proxy.endpoint, "--delete"], {
                maxAttempts: 2,
            });
            assert.equal(r.code, 1, r.all());
            assert.equal(r.lastOut(), "uploaded 7, deleted 0, unchanged 0, failed 1");
            assert.match(r.err.join("\n"), /apps\/app-3\.yaml/);
            assert.match(r.err.join("\n"), /Re-run to finish/);
            assert.equal(proxy.seen.filter((x) => x.failedWith === 500).length, 2, "tried twice (maxAttempts 2)");

            local.s3().reset();
            const again = await run(["--source", src, "--bucket", bucket, "--endpoint", local.s3().endpoint]);
            assert.equal(again.code, 0, again.all());
            assert.equal(again.lastOut(), "uploaded 1, deleted 0, unchanged 7");
            assert.equal(local.s3().count("PUT"), 1);
        } finally {
            await proxy.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("an interrupted sync (Ctrl-C) exits 130 and simply re-running completes it", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        const controller = new AbortController();
        const onRequest = (req: http.IncomingMessage) => {
            if (req.method === "PUT" && local.s3().count("PUT") >= 3) controller.abort();
        };
        try {
            local.s3().reset();
            // abort once the server has seen three PUTs (concurrency 1: one request in flight)
            local.s3().httpServer.on("request", onRequest);
            const r = await run(
                ["--source", src, "--bucket", bucket, "--endpoint", local.s3().endpoint, "--concurrency", "1"],
                {
                    signal: controller.signal,
                },
            );
            local.s3().httpServer.off("request", onRequest);
            assert.equal(r.code, 130, r.all());
            assert.match(r.err.join("\n"), /re-run to finish/);
            const partial = (await local.s3().objects(bucket)).size;
            assert.ok(partial >= 2 && partial < 8, `expected a partial sync, found ${partial} objects`);

            const again = await run(["--source", src, "--bucket", bucket, "--endpoint", local.s3().endpoint]);
            assert.equal(again.code, 0, again.all());
            assert.equal(again.lastOut(), `uploaded ${8 - partial}, deleted 0, unchanged ${partial}`);
            assert.equal((await local.s3().objects(bucket)).size, 8);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("bad credentials fail clearly", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        try {
            const r = await run(["--source", src, "--bucket", bucket, "--endpoint", local.s3().endpoint], {
                env: { AWS_ACCESS_KEY_ID: "AKIAWRONGWRONG", AWS_SECRET_ACCESS_KEY: "not-the-secret" },
            });
            assert.equal(r.code, 1);
            assert.match(r.err.join("\n"), /access key was rejected .*InvalidAccessKeyId/);
            assert.ok(!r.all().includes("not-the-secret"), "the secret must not be printed");
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a missing bucket fails clearly", async () => {
        const src = await makeTree(TREE);
        try {
            const r = await run(["--source", src, "--bucket", "no-such-bucket", "--endpoint", local.s3().endpoint]);
            assert.equal(r.code, 1);
            assert.match(r.err.join("\n"), /bucket "no-such-bucket" does not exist at http:\/\/127\.0\.0\.1:\d+/);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("an unreachable endpoint fails clearly", async () => {
        const src = await makeTree(TREE);
        // a port that was just free and is closed again
        const probe = http.createServer();
        await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
        const port = (probe.address() as AddressInfo).port;
        await new Promise<void>((resolve) => probe.close(() => resolve()));
        try {
            const r = await run(["--source", src, "--bucket", "any-bucket", "--endpoint", `http://127.0.0.1:${port}`], {
                maxAttempts: 2,
            });
            assert.equal(r.code, 1);
            assert.match(
                r.err.join("\n"),
                new RegExp(`cannot reach endpoint http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
            );
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a run that fails leaves no request behind: the one beside the failed listing is cut off, not retried", async () => {
        // The bucket listing is refused (403 AccessDenied, final) while the listing of incomplete
        // multipart uploads beside it is still waiting for its answer (503 SlowDown after 200 ms,
        // retryable). When runUpload has answered, nothing of that run may still be going (as
        // a command, the process would otherwise stay alive, retrying, long after its error).
        const src = await makeTree(TREE);
        const seen: string[] = [];
        const server = http.createServer((req, res) => {
            seen.push(`${req.method} ${req.url}`);
            req.resume();
            const reply = (status: number, code: string) => {
                if (res.destroyed) return;
                res.writeHead(status, { "content-type": "application/xml" });
                res.end(
                    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`,
                );
            };
            if (/[?&]uploads/.test(req.url ?? "")) setTimeout(() => reply(503, "SlowDown"), 200);
            else setTimeout(() => reply(403, "AccessDenied"), 50);
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        let stats: Parameters<NonNullable<RunDeps["onStats"]>>[0] | undefined;
        try {
            const r = await run(["--source", src, "--bucket", "denied", "--endpoint", endpoint], {
                onStats: (s) => {
                    stats = s;
                },
            });
            assert.equal(r.code, 1, r.all());
            assert.match(r.err.join("\n"), /access denied to bucket "denied"/);
            assert.ok(
                seen.some((x) => x.includes("uploads")),
                `the uploads listing was sent beside the bucket listing: ${seen.join(", ")}`,
            );
            assert.ok(stats, "the run reported its request statistics");
            // bounded by turns of the event loop, not by the clock (a loaded machine can stall it)
            for (let i = 0; i < 100 && stats.inFlight.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
            assert.deepEqual(
                [...stats.inFlight].map((x) => x.label),
                [],
                "no request of the run is still going (or waiting to be retried) after it answered",
            );
            const retries = stats.retries;
            const requests = seen.length;
            await new Promise((r) => setTimeout(r, 400));
            assert.equal(stats.retries, retries, "no retry after the run answered");
            assert.equal(seen.length, requests, "no request reached the server after the run answered");
        } finally {
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
            await rm(src, { recursive: true, force: true });
        }
    });

    test("an empty source folder (or one with only ignored files) is refused before any request", async () => {
        const src = await makeTree({ "README.md": "only docs\n", ".git/HEAD": "ref\n" });
        try {
            local.s3().reset();
            const r = await run([
                "--source",
                src,
                "--bucket",
                "any-bucket",
                "--endpoint",
                local.s3().endpoint,
                "--delete",
            ]);
            assert.equal(r.code, 1);
            assert.match(r.err.join("\n"), /has no files to upload \(2 entries ignored/);
            assert.equal(local.s3().count(), 0);
            const missing = await run([
                "--source",
                path.join(src, "nope"),
                "--bucket",
                "any-bucket",
                "--endpoint",
                local.s3().endpoint,
            ]);
            assert.equal(missing.code, 1);
            assert.match(missing.err.join("\n"), /source folder .*nope does not exist/);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("without the pulumi CLI, a run that needs stack outputs says so and names the flags and env vars", async () => {
        const src = await makeTree(TREE);
        try {
            const r = await run(["--source", src, "--stack", "dev"], {
                env: {},
                // a backend folder that exists, so only the CLI is missing
                readStackOutputs: pulumiStackOutputs({
                    env: { PATH: "/nonexistent", PULUMI_BACKEND_URL: `file://${src}` },
                }),
            });
            assert.equal(r.code, 2);
            const msg = r.err.join("\n");
            assert.match(msg, /pulumi CLI is not installed/);
            for (const name of [
                "--bucket",
                "UPLOAD_BUCKET",
                "--endpoint",
                "UPLOAD_ENDPOINT",
                "AWS_ACCESS_KEY_ID",
                "FLUX_RECEIVER_URL",
            ]) {
                assert.ok(msg.includes(name), `error should name ${name}: ${msg}`);
            }
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("the README's npm run upload example names the credentials it needs, and works with them", async () => {
        const readme = readFileSync(path.resolve(__dirname, "..", "README.md"), "utf8");
        const m = /^(.*)\\\n\s*npm run upload -- (--endpoint \S+ --bucket \S+ --no-trigger)/m.exec(readme);
        assert.ok(m, "the README has the example");
        assert.match(m[1]!, /AWS_ACCESS_KEY_ID=\S+ AWS_SECRET_ACCESS_KEY=\S+/);
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        try {
            const args = m[2]!
                .split(" ")
                .map((a) => (a.startsWith("http://") ? local.s3().endpoint : a === "test" ? bucket : a));
            const without = await run(["--source", src, ...args], {
                env: {},
                readStackOutputs: pulumiStackOutputs({ env: { PATH: "/nonexistent" } }),
            });
            assert.equal(without.code, 2, "without the credentials it needs the stack");
            assert.match(without.err.join("\n"), /missing credentials/);
            const withKeys = await run(["--source", src, ...args]);
            assert.equal(withKeys.code, 0, withKeys.all());
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("usage errors exit 2", async () => {
        assert.equal((await run(["--bogus"])).code, 2);
        const r = await run(["--concurrency", "0", "--bucket", "b", "--endpoint", local.s3().endpoint]);
        assert.equal(r.code, 2);
        assert.match(r.err.join("\n"), /--concurrency must be an integer from 1 to 256/);
    });

    // `make upload-do` runs tools/upload/run.cjs, which runs the bundle bin/upload.cjs
    // (building it first when it is out of date); from source it is main.ts under tsx.
    for (const [how, entry] of [
        ["run.cjs, as make upload-do runs it", ["tools/upload/run.cjs"]],
        ["main.ts from source", ["--import", "tsx", "tools/upload/main.ts"]],
    ] as const) {
        test(`the CLI entry point (${how}) exits 0 and ends with the summary line`, async () => {
            const bucket = await freshBucket();
            const src = await makeTree(TREE);
            try {
                const result = await runUploadCommand(entry, [
                    "--source",
                    src,
                    "--bucket",
                    bucket,
                    "--endpoint",
                    local.s3().endpoint,
                    "--no-trigger",
                ]);
                assert.equal(result.code, 0, result.stderr);
                const lines = result.stdout.trimEnd().split("\n");
                assert.equal(lines[lines.length - 1], "uploaded 8, deleted 0, unchanged 0");
                // also: run.cjs did not fall back to running from source
                assert.equal(result.stderr, "", "no warnings on a clean run");
            } finally {
                await rm(src, { recursive: true, force: true });
            }
        });
    }

    test("Ctrl-C (SIGINT) stops the bundled tool after the request in flight; it exits 130", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        let child: ReturnType<typeof spawn> | undefined;
        const onRequest = (req: http.IncomingMessage) => {
            if (req.method === "PUT" && local.s3().count("PUT") === 2) child?.kill("SIGINT");
        };
        try {
            local.s3().reset();
            local.s3().httpServer.on("request", onRequest);
            const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
                child = spawn(
                    process.execPath,
                    [
                        "tools/upload/run.cjs",
                        "--source",
                        src,
                        "--bucket",
                        bucket,
                        "--endpoint",
                        local.s3().endpoint,
                        "--no-trigger",
                        "--concurrency",
                        "1",
                    ],
                    {
                        cwd: path.resolve(__dirname, ".."),
                        env: {
                            PATH: process.env.PATH,
                            AWS_ACCESS_KEY_ID: S3RVER_KEY,
                            AWS_SECRET_ACCESS_KEY: S3RVER_KEY,
                        },
                    },
                );
                let stdout = "";
                let stderr = "";
                child.stdout!.on("data", (d) => (stdout += d));
                child.stderr!.on("data", (d) => (stderr += d));
                child.on("close", (code) => resolve({ code, stdout, stderr }));
            });
            assert.equal(result.code, 130, result.stderr);
            assert.match(result.stderr, /re-run to finish the sync/);
            const stored = (await local.s3().objects(bucket)).size;
            assert.ok(stored >= 2 && stored < 8, `expected a partial sync, found ${stored} objects`);
        } finally {
            local.s3().httpServer.off("request", onRequest);
            await rm(src, { recursive: true, force: true });
        }
    });
});
