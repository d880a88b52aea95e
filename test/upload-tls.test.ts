// The receiver call over TLS: Let's Encrypt's staging roots shipped in
// tools/upload/certs (fingerprints recomputed here), trusted for that one call
// when the stack's ACME environment is staging; --receiver-ca for other roots;
// a certificate that does not verify is reported, never waved through.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type RunDeps, runUpload } from "../tools/upload/cli";
import { parseFlags, resolveConfig } from "../tools/upload/config";
import { STAGING_ROOTS, stagingRoots, TrustError } from "../tools/upload/trust";
import { captureIo, makeTree, S3RVER_KEY, s3Env, stackReader } from "./helpers-s3";
import { useFakeS3 } from "./upload-fake-http";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const CERTS = path.resolve(__dirname, "..", "tools", "upload", "certs");

describe("upload: Let's Encrypt staging roots", () => {
    test("each shipped root has its pinned SHA-256 fingerprint (recomputed by Node and by openssl), name and self-signature", () => {
        const shipped = readdirSync(CERTS)
            .filter((f) => f.endsWith(".pem"))
            .sort();
        assert.deepEqual(shipped, STAGING_ROOTS.map((r) => r.file).sort(), "every .pem is pinned, every pin shipped");
        for (const root of STAGING_ROOTS) {
            const file = path.join(CERTS, root.file);
            const pem = readFileSync(file, "utf8");
            const cert = new X509Certificate(pem);
            assert.equal(cert.fingerprint256, root.sha256, root.file);
            const openssl = execFileSync("openssl", ["x509", "-in", file, "-noout", "-fingerprint", "-sha256"], {
                encoding: "utf8",
            });
            assert.equal(openssl.trim().replace(/^sha256 Fingerprint=/i, ""), root.sha256, `${root.file} (openssl)`);
            assert.ok(cert.subject.split("\n").includes(`CN=${root.name}`), `${root.file}: ${cert.subject}`);
            assert.equal(cert.issuer, cert.subject, `${root.file} is a root (self-issued)`);
            assert.ok(cert.verify(cert.publicKey), `${root.file} is self-signed`);
            assert.equal(cert.ca, true);
            assert.ok(new Date(cert.validTo).getTime() > Date.now(), `${root.file} has not expired`);
        }
        assert.deepEqual(
            STAGING_ROOTS.map((r) => r.name),
            [
                "(STAGING) Pretend Pear X1",
                "(STAGING) Bogus Broccoli X2",
                "(STAGING) Yearning Yucca Root YE",
                "(STAGING) Yonder Yam Root YR",
            ],
        );
    });

    test("a root file that does not match its pinned fingerprint is refused", () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), "stg-roots-"));
        try {
            for (const r of STAGING_ROOTS) copyFileSync(path.join(CERTS, r.file), path.join(dir, r.file));
            assert.equal(stagingRoots(dir).length, 4);
            // another valid certificate under a pinned name
            copyFileSync(path.join(CERTS, STAGING_ROOTS[1]!.file), path.join(dir, STAGING_ROOTS[0]!.file));
            assert.throws(
                () => stagingRoots(dir),
                (err: Error) => {
                    assert.ok(err instanceof TrustError);
                    assert.match(err.message, /is not \(STAGING\) Pretend Pear X1: its SHA-256 fingerprint is 9B:2A/);
                    return true;
                },
            );
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test("the receiver call trusts them only when the stack's ACME environment is staging", async () => {
        const base = {
            bucketName: "b",
            bucketEndpoint: "https://fra1.digitaloceanspaces.com",
            uploadAccessKeyId: "K",
            uploadSecretAccessKey: "S",
            bucketReceiverUrl: "https://flux.example.com/hook/abc",
            bucketReceiverToken: "t",
        };
        const resolve = (outputs: Record<string, unknown>) =>
            resolveConfig(parseFlags([]), { env: {}, cwd: "/", readStackOutputs: stackReader(outputs).read });
        const staging = await resolve({ ...base, acmeEnvironment: "staging" });
        const pins = new Set(STAGING_ROOTS.map((r) => r.sha256));
        assert.equal(staging.receiver?.extraCa?.length, 4);
        for (const pem of staging.receiver?.extraCa ?? [])
            assert.ok(pins.has(new X509Certificate(pem).fingerprint256), "only the pinned staging roots");
        assert.equal((await resolve({ ...base, acmeEnvironment: "production" })).receiver?.extraCa, undefined);
        assert.equal((await resolve(base)).receiver?.extraCa, undefined);
    });
});

/** A test CA and a server certificate for 127.0.0.1 signed by it, made with the openssl CLI. */
function makeCa(dir: string): { caPem: string; key: string; chain: string } {
    const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=upload-do test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    );
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    );
    writeFileSync(path.join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    );
    const read = (f: string) => readFileSync(path.join(dir, f), "utf8");
    return { caPem: read("ca.pem"), key: read("server.key"), chain: read("server.pem") };
}

/**
 * One test CA (two RSA keys from openssl) and one bucket server for both suites below: what each
 * suite checks is the TLS of its own server (the receiver, a front of the bucket), and neither
 * changes the CA or the server (each test has a fresh bucket). The bucket is upload-fake-http.ts's
 * in-memory one in this process: the S3 server's own replies are not what these tests check.
 */
let shared: { dir: string; ca: ReturnType<typeof makeCa> } | undefined;
function testCa(): { dir: string; ca: ReturnType<typeof makeCa> } {
    if (!shared) {
        const dir = mkdtempSync(path.join(os.tmpdir(), "upload-tls-"));
        shared = { dir, ca: makeCa(dir) };
    }
    return shared;
}
after(() => {
    if (shared) rmSync(shared.dir, { recursive: true, force: true });
});
const local = useFakeS3("tls");

describe("upload: receiver over HTTPS with a test CA", () => {
    let dir: string;
    let ca: ReturnType<typeof makeCa>;
    let server: https.Server;
    let url: string;
    const received: string[] = [];

    before(async () => {
        ({ dir, ca } = testCa());
        server = https.createServer({ key: ca.key, cert: ca.chain }, (req, res) => {
            received.push(req.url ?? "");
            req.resume();
            req.on("end", () => res.writeHead(200).end());
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook/0123456789abcdef0123456789abcdef`;
    });
    after(async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    async function sync(args: string[], deps: RunDeps = {}) {
        const bucket = await local.freshBucket();
        const src = await makeTree({ "a.yaml": "a: 1\n" });
        const cap = captureIo();
        try {
            const code = await runUpload(
                ["--source", src, "--bucket", bucket, "--endpoint", local.s3().endpoint, ...args],
                {
                    env: s3Env({ FLUX_RECEIVER_URL: url, FLUX_RECEIVER_TOKEN: "tok" }),
                    io: cap.io,
                    readStackOutputs: stackReader().read,
                    receiverBackoffMs: 5,
                    ...deps,
                },
            );
            return { code, ...cap };
        } finally {
            rmSync(src, { recursive: true, force: true });
        }
    }

    test("trusted when the test CA is given as the extra root (--receiver-ca)", async () => {
        received.length = 0;
        writeFileSync(path.join(dir, "trust.pem"), ca.caPem);
        const r = await sync(["--receiver-ca", path.join(dir, "trust.pem")]);
        assert.equal(r.code, 0, r.all());
        assert.match(r.out.join("\n"), /receiver: POST https:\/\/127\.0\.0\.1:\d+\/hook\/<redacted> -> 200 OK/);
        assert.equal(received.length, 1);
    });

    test("rejected otherwise: a clear error, no request reaches the server, no retry", async () => {
        received.length = 0;
        const r = await sync([]);
        assert.equal(r.code, 1, r.all());
        const err = r.err.join("\n");
        assert.match(
            err,
            /its TLS certificate is not trusted \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)/,
        );
        assert.match(err, /--receiver-ca FILE/);
        assert.match(err, /Certificate checks are never turned off/);
        assert.equal(received.length, 0);
        assert.equal(r.lastOut(), "uploaded 1, deleted 0, unchanged 0");
    });

    test("with the stack on staging the staging roots are trusted for the call, and a chain to another CA is still refused", async () => {
        received.length = 0;
        const bucket = await local.freshBucket();
        const src = await makeTree({ "a.yaml": "a: 1\n" });
        const cap = captureIo();
        try {
            const stack = stackReader({
                bucketName: bucket,
                bucketEndpoint: local.s3().endpoint,
                bucketRegion: "us-east-1",
                uploadAccessKeyId: S3RVER_KEY,
                uploadSecretAccessKey: S3RVER_KEY,
                bucketReceiverUrl: url,
                bucketReceiverToken: "tok",
                acmeEnvironment: "staging",
            });
            const code = await runUpload(["--source", src], {
                env: {},
                io: cap.io,
                readStackOutputs: stack.read,
                receiverBackoffMs: 5,
            });
            assert.equal(code, 1, cap.all());
            const err = cap.err.join("\n");
            assert.match(
                err,
                /checked against Node's roots and Let's Encrypt's staging roots \(\(STAGING\) Pretend Pear X1, \(STAGING\) Bogus Broccoli X2/,
            );
            assert.match(err, /certificates come from Let's Encrypt staging/);
            assert.equal(received.length, 0);
        } finally {
            rmSync(src, { recursive: true, force: true });
        }
    });
});

describe("upload: the bucket endpoint over HTTPS with a test CA", () => {
    let dir: string;
    let ca: ReturnType<typeof makeCa>;
    let front: https.Server;
    let endpoint: string;
    let seen = 0;

    before(async () => {
        ({ dir, ca } = testCa());
        writeFileSync(path.join(dir, "ca.pem"), ca.caPem);
        // TLS in front of the bucket: the tool's S3 client (undici) verifies it like any endpoint
        front = https.createServer({ key: ca.key, cert: ca.chain }, (req, res) => {
            seen++;
            const up = http.request(
                { host: "127.0.0.1", port: local.s3().port, method: req.method, path: req.url, headers: req.headers },
                (r) => {
                    res.writeHead(r.statusCode ?? 502, r.headers);
                    r.pipe(res);
                },
            );
            req.pipe(up);
        });
        await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
        endpoint = `https://127.0.0.1:${(front.address() as AddressInfo).port}`;
    });
    after(async () => {
        front.closeAllConnections();
        await new Promise<void>((resolve) => front.close(() => resolve()));
    });

    test("a certificate Node does not trust fails the run at once, named as such", async () => {
        const bucket = await local.freshBucket();
        const src = await makeTree({ "a.yaml": "a: 1\n", "b.yaml": "b: 1\n" });
        const cap = captureIo();
        seen = 0;
        try {
            const code = await runUpload(
                ["--source", src, "--bucket", bucket, "--endpoint", endpoint, "--no-trigger"],
                {
                    env: s3Env(),
                    io: cap.io,
                    readStackOutputs: stackReader().read,
                },
            );
            assert.equal(code, 1, cap.all());
            assert.match(
                cap.err.join("\n"),
                new RegExp(
                    `the TLS certificate of ${endpoint.replace(/\./g, "\\.")} is not trusted \\((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\\); certificate checks are never turned off`,
                ),
            );
            assert.equal(seen, 0, "no request got through");
        } finally {
            rmSync(src, { recursive: true, force: true });
        }
    });

    test("with the test CA added (NODE_EXTRA_CA_CERTS), make upload-do's command syncs over TLS", async () => {
        const bucket = await local.freshBucket();
        const src = await makeTree({ "a b&c.yaml": "a: 1\n", "d/e.yaml": "e: 1\n" });
        seen = 0;
        try {
            // asynchronously: the TLS front runs in this process
            const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
                execFile(
                    process.execPath,
                    [
                        "tools/upload/run.cjs",
                        "--source",
                        src,
                        "--bucket",
                        bucket,
                        "--endpoint",
                        endpoint,
                        "--no-trigger",
                    ],
                    {
                        cwd: path.resolve(__dirname, ".."),
                        timeout: 120_000,
                        env: {
                            PATH: process.env.PATH,
                            HOME: process.env.HOME,
                            ...s3Env(),
                            NODE_EXTRA_CA_CERTS: path.join(dir, "ca.pem"),
                        },
                    },
                    (err, stdout, stderr) =>
                        resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
                );
            });
            assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
            assert.equal(r.stdout.trimEnd().split("\n").pop(), "uploaded 2, deleted 0, unchanged 0");
            assert.ok(seen >= 4, `${seen} requests over TLS`);
            const stored = await local.s3().objects(bucket);
            assert.equal(stored.get("a b&c.yaml")?.toString(), "a: 1\n");
        } finally {
            rmSync(src, { recursive: true, force: true });
        }
    });
});
