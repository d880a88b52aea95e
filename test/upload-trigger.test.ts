// The receiver call (receiver.ts), its extra trust (trust.ts) and the port-forwards of
// existing-cluster stacks (port-forward.ts), in process: a loopback HTTP receiver that checks
// the signature as notification-controller's generic-hmac does (HMAC-SHA256 of the raw body,
// keyed with the token; RFC 4231's test case 2 for the HMAC itself), RFC 9110's Retry-After
// forms, the shipped staging roots against their pinned fingerprints, HTTPS receivers whose
// certificates (made with the openssl CLI) fail each of OpenSSL's checks, and a kubectl stand-in.
// The first test file of `make mutation GROUP=upload-receiver`; no S3 server.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac, X509Certificate } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import {
    kubectlArgs,
    kubectlPortForward,
    LocalAccessError,
    manualHint,
    parseLocalAccess,
    viaLocalPort,
} from "../tools/upload/port-forward";
import {
    explainStatus,
    MAX_RETRY_AFTER_MS,
    redactUrl,
    retryAfterMs,
    signature,
    triggerReceiver,
} from "../tools/upload/receiver";
import { certsDir, readCaFile, STAGING_ROOTS, stagingRoots, TrustError } from "../tools/upload/trust";

interface Received {
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
    body: string;
}

async function receiver(reply: (n: number, r: Received) => { status: number; headers?: Record<string, string> }) {
    const received: Received[] = [];
    const server = http.createServer((req, res) => {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (c: string) => {
            body += c;
        });
        req.on("end", () => {
            const r = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
            received.push(r);
            const a = reply(received.length, r);
            res.writeHead(a.status, a.headers).end();
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/${"ab".repeat(32)}`,
        received,
        close: () => new Promise((r) => server.close(r)),
    };
}

describe("upload receiver: the call", () => {
    test("one POST of the JSON payload, signed sha256=<HMAC of the raw body keyed with the token>", async () => {
        const rx = await receiver(() => ({ status: 200 }));
        try {
            const payload = { source: "upload-do", bucket: "b", uploaded: 2 };
            const res = await triggerReceiver({ url: rx.url, token: "s3cr3t" }, payload);
            assert.deepEqual(res, { ok: true, status: 200, statusText: "OK", attempts: 1 });
            assert.equal(rx.received.length, 1);
            const r = rx.received[0]!;
            assert.equal(r.method, "POST");
            assert.equal(r.url, `/hook/${"ab".repeat(32)}`);
            assert.deepEqual(JSON.parse(r.body), payload);
            assert.equal(r.headers["content-type"], "application/json");
            assert.equal(r.headers["content-length"], String(Buffer.byteLength(r.body)));
            assert.equal(r.headers["user-agent"], "upload-do");
            assert.equal(
                r.headers["x-signature"],
                `sha256=${createHmac("sha256", "s3cr3t").update(r.body).digest("hex")}`,
            );
        } finally {
            await rx.close();
        }
    });

    test("5xx and 429 are retried (429 after its Retry-After); other 4xx and 3xx are final", async () => {
        const cases: Array<[number[], boolean, number]> = [
            [[503, 200], true, 2],
            [[500, 502, 504], false, 3],
            [[429, 200], true, 2],
            [[400], false, 1],
            [[404], false, 1],
            [[302], false, 1],
            [[300], false, 1],
            [[204], true, 1],
            [[299], true, 1],
        ];
        for (const [statuses, ok, attempts] of cases) {
            const rx = await receiver((n) => ({
                status: statuses[Math.min(n, statuses.length) - 1]!,
                headers: statuses[n - 1] === 429 ? { "retry-after": "0" } : undefined,
            }));
            try {
                const res = await triggerReceiver({ url: rx.url, token: "t" }, {}, { backoffMs: 1 });
                assert.equal(res.ok, ok, statuses.join(","));
                assert.equal(res.attempts, attempts, statuses.join(","));
                assert.equal(res.status, statuses[attempts - 1], statuses.join(","));
                assert.equal(rx.received.length, attempts, statuses.join(","));
            } finally {
                await rx.close();
            }
        }
    });

    test("a final reply below 200 (node:http hands 0xx codes over as final; 1xx are interim) is not ok and not retried", async () => {
        const lines: string[] = [];
        const server = net.createServer((socket) => {
            socket.once("data", () => socket.end(`${lines.shift()}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`));
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        try {
            const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/x`;
            for (const [line, status, statusText] of [
                ["HTTP/1.1 099 Below", 99, "Below"],
                ["HTTP/1.1 000 Zero", 0, "Zero"],
            ] as const) {
                lines.push(line, line, line);
                const res = await triggerReceiver({ url, token: "t" }, {}, { backoffMs: 1 });
                assert.deepEqual(res, { ok: false, status, statusText, attempts: 1 }, line);
                lines.length = 0;
            }
        } finally {
            await new Promise((r) => server.close(r));
        }
    });

    test("no attempt allowed: no request, not ok", async () => {
        const rx = await receiver(() => ({ status: 200 }));
        try {
            assert.deepEqual(await triggerReceiver({ url: rx.url, token: "t" }, {}, { attempts: 0 }), {
                ok: false,
                attempts: 0,
            });
            assert.equal(rx.received.length, 0);
        } finally {
            await rx.close();
        }
    });

    test("between attempts: half the backoff plus up to half of it at random, doubled each attempt; none after the last", async () => {
        // Math.random at 0.99: the waits are 0.995 × 200 ms, then 0.995 × 400 ms
        const at: number[] = [];
        const rx = await receiver(() => {
            at.push(performance.now());
            return { status: 503 };
        });
        const random = Math.random;
        Math.random = () => 0.99;
        try {
            const res = await triggerReceiver({ url: rx.url, token: "t" }, {}, { attempts: 3, backoffMs: 200 });
            const done = performance.now();
            assert.deepEqual(res, { ok: false, status: 503, statusText: "Service Unavailable", attempts: 3 });
            assert.equal(at.length, 3);
            const [g1, g2] = [at[1]! - at[0]!, at[2]! - at[1]!];
            // a timer never fires early; the upper bounds leave 200-300 ms for a loaded machine
            assert.ok(g1 >= 198 && g1 < 400, `first wait ${g1} ms, want 199 ms`);
            assert.ok(g2 >= 397 && g2 < 700, `second wait ${g2} ms, want 398 ms`);
            assert.ok(done - at[2]! < 350, `returned ${done - at[2]!} ms after the last reply, want no wait`);
        } finally {
            Math.random = random;
            await rx.close();
        }
    });

    test("429's Retry-After is waited for instead of the backoff", async () => {
        const at: number[] = [];
        const rx = await receiver((n) => {
            at.push(performance.now());
            return n === 1 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 };
        });
        try {
            const res = await triggerReceiver({ url: rx.url, token: "t" }, {}, { backoffMs: 1 });
            assert.deepEqual(res, { ok: true, status: 200, statusText: "OK", attempts: 2 });
            assert.ok(at[1]! - at[0]! >= 999, `waited ${at[1]! - at[0]!} ms, want 1 s`);
        } finally {
            await rx.close();
        }
    });

    // bounded: a reply whose stream error nobody hears never settles
    test("a reply cut off in its body is an error (ECONNRESET), retried", { timeout: 10_000 }, async () => {
        let replies = 0;
        const server = net.createServer((socket) => {
            socket.unref();
            socket.once("data", () => {
                replies++;
                socket.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial");
                setTimeout(() => socket.destroy(), 20);
            });
        });
        // nothing here keeps the test process alive if the call never settles
        server.unref();
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        try {
            const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/x`;
            const res = await triggerReceiver({ url, token: "t" }, {}, { attempts: 2, backoffMs: 1 });
            assert.deepEqual(res, { ok: false, attempts: 2, error: "ECONNRESET" });
            assert.equal(replies, 2);
        } finally {
            await new Promise((r) => server.close(r));
        }
    });

    test("an unreachable receiver is tried the given number of times and named by its error code", async () => {
        const rx = await receiver(() => ({ status: 200 }));
        await rx.close();
        const res = await triggerReceiver({ url: rx.url, token: "t" }, {}, { attempts: 2, backoffMs: 1 });
        assert.deepEqual(res, { ok: false, attempts: 2, error: "ECONNREFUSED" });
    });

    test("a receiver that does not answer in time is cut off by the timeout (ABORT_ERR), retried", async () => {
        const held: http.ServerResponse[] = [];
        const server = http.createServer((_req, res) => held.push(res));
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        try {
            const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/x`;
            // 400 ms: long enough for each attempt to reach the server on a loaded machine (with 50 ms,
            // at load 27, the second attempt's timer fired before it had connected)
            const res = await triggerReceiver({ url, token: "t" }, {}, { attempts: 2, timeoutMs: 400, backoffMs: 1 });
            assert.equal(res.ok, false);
            assert.equal(res.attempts, 2);
            assert.equal(res.error, "ABORT_ERR", "Node's code for a request its signal (the timeout) aborted");
            assert.equal(held.length, 2);
        } finally {
            for (const r of held) r.socket?.destroy();
            server.closeAllConnections();
            await new Promise((r) => server.close(r));
        }
    });

    test("RFC 4231 test case 2; Retry-After as delay-seconds or HTTP-date (RFC 9110 10.2.3), capped at a minute", () => {
        assert.equal(
            signature("what do ya want for nothing?", "Jefe"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        );
        const now = Date.parse("Fri, 31 Dec 1999 23:59:00 GMT");
        assert.equal(retryAfterMs("Fri, 31 Dec 1999 23:59:59 GMT", now), 59_000);
        assert.equal(retryAfterMs("120", now), MAX_RETRY_AFTER_MS);
        assert.equal(retryAfterMs(" 7 ", now), 7_000);
        assert.equal(retryAfterMs("60", now), 60_000);
        assert.equal(retryAfterMs("0", now), 0);
        assert.equal(retryAfterMs("Fri, 31 Dec 1999 23:58:00 GMT", now), 0, "a date in the past: at once");
        assert.equal(retryAfterMs("Sat, 01 Jan 2000 01:00:00 GMT", now), 60_000);
        assert.equal(retryAfterMs("soon", now), undefined);
        // delay-seconds is digits only (1*DIGIT): digits with anything before or after are no delay
        assert.equal(retryAfterMs("5s", now), undefined);
        assert.equal(retryAfterMs("x5", now), undefined);
        assert.equal(retryAfterMs("", now), undefined);
        assert.equal(retryAfterMs(undefined, now), undefined);
        assert.equal(MAX_RETRY_AFTER_MS, 60_000);
    });

    test("each failing status is explained in words an operator can act on", () => {
        const got = Object.fromEntries([400, 404, 503, 429, 500, 502, 403, 302].map((s) => [s, explainStatus(s)]));
        assert.deepEqual(got, {
            400: "the signature was rejected: the token does not match the Receiver's secret",
            404: "no Receiver has this hook path: check bucketReceiverUrl / FLUX_RECEIVER_URL",
            503: "the Receiver is suspended or not ready",
            429: "rate limited by the ingress in front of the receiver",
            500: "notification-controller failed to request the reconciliation",
            502: "notification-controller failed to request the reconciliation",
            403: "unexpected reply",
            302: "unexpected reply",
        });
    });

    test("the hook path, long hex or token-like segments, user info and the query are never printed", () => {
        const hash = "0123456789abcdef".repeat(4);
        assert.equal(redactUrl(`https://h.example/hook/${hash}`), "https://h.example/hook/<redacted>");
        assert.equal(redactUrl("https://h.example/hook/short"), "https://h.example/hook/<redacted>");
        assert.equal(
            redactUrl(`https://u:p@h.example:8443/a/${"f".repeat(16)}/b?t=1`),
            "https://h.example:8443/a/<redacted>/b?<redacted>",
        );
        assert.equal(redactUrl(`https://h.example/x/${"f".repeat(15)}`), `https://h.example/x/${"f".repeat(15)}`);
        assert.equal(redactUrl(`https://h.example/x/${"A_-b".repeat(6)}`), "https://h.example/x/<redacted>");
        assert.equal(
            redactUrl(`https://h.example/x/${"A_-b".repeat(5)}abc`),
            `https://h.example/x/${"A_-b".repeat(5)}abc`,
        );
        assert.equal(redactUrl("https://h.example/plain/path"), "https://h.example/plain/path");
        // a long hex run inside a segment with other characters is not a hash segment
        const named = `https://h.example/x/${hash.slice(0, 16)}.json/v.${hash.slice(0, 16)}`;
        assert.equal(redactUrl(named), named);
        assert.equal(redactUrl("not a url"), "<invalid URL>");
    });
});

describe("upload receiver: certificates", () => {
    /** A root CA, an intermediate and server certificates for 127.0.0.1 (openssl CLI; EC P-256 keys). */
    function pki(dir: string) {
        const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
        const key = (name: string) =>
            ssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`);
        const ca = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign"];
        key("root");
        ssl(
            "req",
            "-x509",
            "-key",
            "root.key",
            "-out",
            "root.pem",
            "-days",
            "2",
            "-subj",
            "/CN=upload test root",
            ...ca.flatMap((e) => ["-addext", e]),
        );
        writeFileSync(path.join(dir, "ca.ext"), `${ca.join("\n")}\n`);
        writeFileSync(path.join(dir, "ip.ext"), "subjectAltName=IP:127.0.0.1\n");
        writeFileSync(path.join(dir, "dns.ext"), "subjectAltName=DNS:localhost\n");
        const sign = (name: string, subject: string, by: string, ext: string, days = "2") => {
            key(name);
            ssl("req", "-new", "-key", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
            ssl(
                "x509",
                "-req",
                "-in",
                `${name}.csr`,
                "-CA",
                `${by}.pem`,
                "-CAkey",
                `${by}.key`,
                "-CAcreateserial",
                "-out",
                `${name}.pem`,
                "-days",
                days,
                "-extfile",
                ext,
            );
        };
        sign("inter", "/CN=upload test intermediate", "root", "ca.ext");
        sign("leaf", "/CN=127.0.0.1", "root", "ip.ext");
        sign("expired", "/CN=127.0.0.1", "root", "ip.ext", "-1");
        sign("other-name", "/CN=localhost", "root", "dns.ext");
        sign("via-inter", "/CN=127.0.0.1", "inter", "ip.ext");
        writeFileSync(path.join(dir, "client.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=clientAuth\n");
        sign("client-only", "/CN=127.0.0.1", "root", "client.ext");
        // valid from 2099 on: `openssl x509 -req` (OpenSSL 3.0) cannot set the start, `openssl ca` can
        key("future");
        ssl("req", "-new", "-key", "future.key", "-out", "future.csr", "-subj", "/CN=127.0.0.1");
        writeFileSync(
            path.join(dir, "ca.cnf"),
            "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial.txt\npolicy = p\ndefault_md = sha256\n[p]\ncommonName = supplied\n",
        );
        writeFileSync(path.join(dir, "index.txt"), "");
        writeFileSync(path.join(dir, "serial.txt"), "01\n");
        ssl(
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-cert",
            "root.pem",
            "-keyfile",
            "root.key",
            "-in",
            "future.csr",
            "-out",
            "future.pem",
            "-notext",
            "-startdate",
            "20991231000000Z",
            "-enddate",
            "21000101000000Z",
            "-extfile",
            "ip.ext",
        );
        // the leaf with one bit of its signature (the end of the DER) flipped
        const der = new X509Certificate(readFileSync(path.join(dir, "leaf.pem"))).raw;
        der[der.length - 3]! ^= 0x01;
        writeFileSync(
            path.join(dir, "bad-signature.pem"),
            `-----BEGIN CERTIFICATE-----\n${der.toString("base64")}\n-----END CERTIFICATE-----\n`,
        );
        copyFileSync(path.join(dir, "leaf.key"), path.join(dir, "bad-signature.key"));
        key("self");
        ssl(
            "req",
            "-x509",
            "-key",
            "self.key",
            "-out",
            "self.pem",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        );
        const read = (f: string) => readFileSync(path.join(dir, f), "utf8");
        return { read, root: read("root.pem") };
    }

    test("one that does not verify is named by its OpenSSL code and never retried; an extra root makes it trusted", async () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), "upload-trigger-tls-"));
        try {
            const { read, root } = pki(dir);
            const cases: Array<[string, string, string[] | undefined, string | undefined]> = [
                ["self", read("self.pem"), undefined, "DEPTH_ZERO_SELF_SIGNED_CERT"],
                ["leaf", read("leaf.pem"), undefined, "UNABLE_TO_VERIFY_LEAF_SIGNATURE"],
                ["leaf", read("leaf.pem") + root, undefined, "SELF_SIGNED_CERT_IN_CHAIN"],
                [
                    "via-inter",
                    read("via-inter.pem") + read("inter.pem"),
                    undefined,
                    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
                ],
                ["expired", read("expired.pem"), [root], "CERT_HAS_EXPIRED"],
                ["other-name", read("other-name.pem"), [root], "ERR_TLS_CERT_ALTNAME_INVALID"],
                ["future", read("future.pem"), [root], "CERT_NOT_YET_VALID"],
                ["bad-signature", read("bad-signature.pem"), [root], "CERT_SIGNATURE_FAILURE"],
                ["client-only", read("client-only.pem"), [root], "INVALID_PURPOSE"],
                // the intermediate trusted, its issuer (the root) nowhere
                ["via-inter", read("via-inter.pem"), [read("inter.pem")], "UNABLE_TO_GET_ISSUER_CERT"],
                ["leaf", read("leaf.pem"), [root], undefined],
                ["via-inter", read("via-inter.pem") + read("inter.pem"), [root], undefined],
            ];
            for (const [name, cert, extraCa, code] of cases) {
                let requests = 0;
                const server = https.createServer({ key: read(`${name}.key`), cert }, (req, res) => {
                    requests++;
                    req.resume();
                    res.writeHead(200).end();
                });
                await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
                const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook/x`;
                try {
                    const res = await triggerReceiver({ url, token: "t", extraCa }, {}, { attempts: 3, backoffMs: 1 });
                    const what = `${name}${extraCa ? ` (${extraCa.length} extra root)` : ""}: ${code ?? "trusted"}`;
                    if (code) {
                        assert.deepEqual(res, { ok: false, attempts: 1, error: code, tlsError: true }, what);
                        assert.equal(requests, 0, what);
                    } else {
                        assert.deepEqual(res, { ok: true, status: 200, statusText: "OK", attempts: 1 }, what);
                        assert.equal(requests, 1, what);
                    }
                } finally {
                    server.closeAllConnections();
                    await new Promise((r) => server.close(r));
                }
            }
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("upload receiver: extra trust", () => {
    test("the shipped staging roots match their pinned fingerprints and names", () => {
        const pems = stagingRoots();
        assert.equal(pems.length, STAGING_ROOTS.length);
        for (const [i, pem] of pems.entries()) {
            const cert = new X509Certificate(pem);
            assert.equal(cert.fingerprint256, STAGING_ROOTS[i]!.sha256);
            assert.match(cert.subject, new RegExp(`CN=${STAGING_ROOTS[i]!.name.replace(/[()]/g, "\\$&")}`));
        }
        assert.equal(certsDir(), path.resolve(__dirname, "..", "tools", "upload", "certs"));
    });

    test("each pinned name is its certificate's subject CN; the roots are the files' PEM text", () => {
        const pems = stagingRoots();
        for (const [i, root] of STAGING_ROOTS.entries()) {
            const cert = new X509Certificate(pems[i]!);
            const cn = cert.subject.split("\n").find((l) => l.startsWith("CN="));
            assert.equal(cn, `CN=${root.name}`);
            assert.equal(pems[i], readFileSync(path.join(certsDir(), root.file), "utf8"));
        }
    });

    test("the certs folder: tools/upload/certs in one of the 8 folders from the start up, or certs in an upload folder", () => {
        const base = mkdtempSync(path.join(os.tmpdir(), "upload-certs-dir-"));
        try {
            const dirs = (...rels: string[]) => {
                for (const rel of rels) mkdirSync(path.join(base, rel), { recursive: true });
            };
            const deep = (n: number) => path.join(base, "repo", ..."abcdefghij".slice(0, n).split(""));
            dirs("repo/tools/upload/certs", "repo/bin", "repo/x/upload", "copy/upload/certs", "other/certs");
            dirs(path.relative(base, deep(8)));
            const certs = path.join(base, "repo", "tools", "upload", "certs");
            // the bundle (bin/), the source (tools/upload/), an upload folder without certs inside the tree
            assert.equal(certsDir(path.join(base, "repo", "bin")), certs);
            assert.equal(certsDir(path.join(base, "repo", "tools", "upload")), certs);
            assert.equal(certsDir(path.join(base, "repo", "x", "upload")), certs);
            // a copy of tools/upload elsewhere: its own certs folder
            assert.equal(certsDir(path.join(base, "copy", "upload")), path.join(base, "copy", "upload", "certs"));
            // 7 folders below the tree is the deepest start that finds it
            assert.equal(certsDir(deep(7)), certs);
            for (const from of [deep(8), path.join(base, "other")]) {
                assert.throws(
                    () => certsDir(from),
                    (e: Error) =>
                        e instanceof TrustError &&
                        e.message ===
                            `cannot find tools/upload/certs (Let's Encrypt's staging roots) in ${from} or the 7 folders above it`,
                    from,
                );
            }
        } finally {
            rmSync(base, { recursive: true, force: true });
        }
    });

    test("a root file swapped for another certificate, or missing, is refused by name", () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), "upload-roots-"));
        try {
            const src = certsDir();
            for (const r of STAGING_ROOTS) copyFileSync(path.join(src, r.file), path.join(dir, r.file));
            assert.equal(stagingRoots(dir).length, STAGING_ROOTS.length);
            // the second root's file holds the first root
            copyFileSync(path.join(src, STAGING_ROOTS[0]!.file), path.join(dir, STAGING_ROOTS[1]!.file));
            assert.throws(
                () => stagingRoots(dir),
                (e: Error) =>
                    e instanceof TrustError &&
                    e.message ===
                        `${path.join(dir, STAGING_ROOTS[1]!.file)} is not ${STAGING_ROOTS[1]!.name}: its SHA-256 fingerprint is ${STAGING_ROOTS[0]!.sha256}, expected ${STAGING_ROOTS[1]!.sha256}`,
            );
            rmSync(path.join(dir, STAGING_ROOTS[2]!.file));
            copyFileSync(path.join(src, STAGING_ROOTS[1]!.file), path.join(dir, STAGING_ROOTS[1]!.file));
            assert.throws(
                () => stagingRoots(dir),
                (e: Error) =>
                    e instanceof TrustError &&
                    e.message.startsWith(`cannot read ${path.join(dir, STAGING_ROOTS[2]!.file)}: `),
            );
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test("--receiver-ca: every PEM certificate of the file; none, an invalid one or no file is refused", () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), "upload-ca-"));
        try {
            const a = readFileSync(path.join(certsDir(), STAGING_ROOTS[0]!.file), "utf8").trim();
            const b = readFileSync(path.join(certsDir(), STAGING_ROOTS[1]!.file), "utf8").trim();
            const two = path.join(dir, "two.pem");
            writeFileSync(two, `# roots\n${a}\nbetween\n${b}\n`);
            assert.deepEqual(readCaFile(two), [a, b]);
            const none = path.join(dir, "none.pem");
            writeFileSync(none, "no certificate here\n");
            assert.throws(() => readCaFile(none), { message: `the receiver CA file ${none} holds no PEM certificate` });
            const bad = path.join(dir, "bad.pem");
            writeFileSync(bad, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
            assert.throws(
                () => readCaFile(bad),
                (e: Error) =>
                    e instanceof TrustError &&
                    e.message.startsWith(`the receiver CA file ${bad} holds an invalid certificate: `),
            );
            const gone = path.join(dir, "gone.pem");
            assert.throws(
                () => readCaFile(gone),
                (e: Error) =>
                    e instanceof TrustError && e.message.startsWith(`cannot read the receiver CA file ${gone}: `),
            );
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("upload port-forwards", () => {
    const to = { namespace: "flux-system", service: "webhook-receiver", port: 80 };

    test("localAccess: kubeconfig and context strings, s3 and receiver {namespace, service, port}", () => {
        assert.equal(parseLocalAccess(undefined), undefined);
        assert.equal(parseLocalAccess(null), undefined);
        assert.deepEqual(parseLocalAccess({ context: "kind", receiver: to, s3: null }), {
            kubeconfig: undefined,
            context: "kind",
            s3: undefined,
            receiver: to,
        });
        const refused: Array<[unknown, string]> = [
            ["x", "stack output localAccess is not an object"],
            [[], "stack output localAccess is not an object"],
            [{ kubeconfig: 1 }, "stack output localAccess.kubeconfig is not a string"],
            [{ context: false }, "stack output localAccess.context is not a string"],
            [{ s3: { namespace: "n", service: "s" } }, "stack output localAccess.s3 is not {namespace, service, port}"],
            [
                { s3: { namespace: "n", service: "s", port: 1.5 } },
                "stack output localAccess.s3 is not {namespace, service, port}",
            ],
            [
                { receiver: { namespace: 1, service: "s", port: 1 } },
                "stack output localAccess.receiver is not {namespace, service, port}",
            ],
            [
                { receiver: { namespace: "n", service: 2, port: 1 } },
                "stack output localAccess.receiver is not {namespace, service, port}",
            ],
            [{ receiver: "svc" }, "stack output localAccess.receiver is not {namespace, service, port}"],
            // only a plain object: not a function that carries the three fields
            [
                { receiver: Object.assign(() => undefined, to) },
                "stack output localAccess.receiver is not {namespace, service, port}",
            ],
        ];
        for (const [raw, message] of refused)
            assert.throws(
                () => parseLocalAccess(raw),
                (e: Error) => e instanceof LocalAccessError && e.message === message,
                message,
            );
    });

    test("kubectl's arguments: 127.0.0.1 only, a free local port, ~/ expanded; the manual command names port 8080", () => {
        assert.deepEqual(kubectlArgs({}, to), [
            "--namespace",
            "flux-system",
            "port-forward",
            "--address",
            "127.0.0.1",
            "service/webhook-receiver",
            ":80",
        ]);
        assert.deepEqual(kubectlArgs({ kubeconfig: "~/k/cfg", context: "kind" }, to, "/home/u").slice(0, 4), [
            "--kubeconfig",
            "/home/u/k/cfg",
            "--context",
            "kind",
        ]);
        assert.deepEqual(kubectlArgs({ kubeconfig: "/etc/k~/cfg" }, to, "/home/u").slice(0, 2), [
            "--kubeconfig",
            "/etc/k~/cfg",
        ]);
        assert.equal(
            manualHint({ context: "kind" }, to),
            "kubectl --context kind --namespace flux-system port-forward --address 127.0.0.1 service/webhook-receiver 8080:80",
        );
        assert.equal(viaLocalPort("https://r.example:8443/hook/abc?x=1#f", 4321), "http://127.0.0.1:4321/hook/abc?x=1");
        // only the service's port becomes 8080:port, not a " :digits" in a context's name
        assert.equal(
            manualHint({ context: "team :1" }, to),
            "kubectl --context team :1 --namespace flux-system port-forward --address 127.0.0.1 service/webhook-receiver 8080:80",
        );
    });

    function fakeKubectl(script: string): { command: string; dir: string } {
        const dir = mkdtempSync(path.join(os.tmpdir(), "upload-kubectl-"));
        const command = path.join(dir, "kubectl");
        writeFileSync(command, `#!${process.execPath}\n${script}\n`);
        chmodSync(command, 0o755);
        return { command, dir };
    }

    test("the port kubectl prints is the forward's; closing it ends kubectl", async () => {
        const { command, dir } = fakeKubectl(`
process.stdout.write("Forwarding from 127.0.0.1:");
setTimeout(() => process.stdout.write("43210 -> 80\\nForwarding from [::1]:43210 -> 80\\n"), 20);
const path = require("node:path");
process.on("SIGTERM", () => {
    require("node:fs").writeFileSync(path.join(path.dirname(process.argv[1]), "stopped"), process.argv.slice(2).join(" "));
    process.exit(0);
});
setTimeout(() => process.exit(3), 30000);`);
        try {
            const fwd = await kubectlPortForward({ command })({ context: "kind" }, to);
            assert.equal(fwd.localPort, 43210);
            fwd.close();
            // until the stand-in has written it (the file exists, empty, before its text is in)
            let stopped = "";
            for (let i = 0; i < 100 && !stopped; i++) {
                try {
                    stopped = readFileSync(path.join(dir, "stopped"), "utf8");
                } catch {
                    // not yet
                }
                if (!stopped) await new Promise((r) => setTimeout(r, 20));
            }
            assert.equal(stopped, kubectlArgs({ context: "kind" }, to).join(" "));
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test("kubectl is found on the PATH of the environment given, gets that environment and no stdin", async () => {
        const { dir } = fakeKubectl(`
const fs = require("node:fs");
if (!fs.fstatSync(0).isCharacterDevice() || fs.fstatSync(0).rdev !== fs.statSync("/dev/null").rdev) {
    process.stderr.write("stdin is not /dev/null\\n");
    process.exit(1);
}
process.stdout.write("Forwarding from 127.0.0.1:" + process.env.FAKE_PORT + " -> 80\\n");
process.on("SIGTERM", () => process.exit(0));
setTimeout(() => process.exit(3), 30000);`);
        try {
            const fwd = await kubectlPortForward({ env: { PATH: dir, FAKE_PORT: "43219" }, timeoutMs: 5000 })({}, to);
            assert.equal(fwd.localPort, 43219);
            fwd.close();
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test("while a forward is open this process's exit stops kubectl; closed, failed or ended, no exit handler is left", async () => {
        const { command, dir } = fakeKubectl(`
process.on("SIGTERM", () => {
    require("node:fs").writeFileSync(require("node:path").join(__dirname, "stopped"), "SIGTERM");
    process.exit(0);
});
process.stdout.write("Forwarding from 127.0.0.1:43211 -> 80\\n");
setTimeout(() => process.exit(3), 30000);`);
        const ends = fakeKubectl("process.exit(1);");
        const before = process.listeners("exit").length;
        try {
            const fwd = await kubectlPortForward({ command })({}, to);
            const added = process.listeners("exit").slice(before);
            assert.equal(added.length, 1);
            // what the exit of this process runs
            (added[0] as () => void)();
            let stopped = "";
            for (let i = 0; i < 100 && !stopped; i++) {
                try {
                    stopped = readFileSync(path.join(dir, "stopped"), "utf8");
                } catch {
                    // not yet
                }
                if (!stopped) await new Promise((r) => setTimeout(r, 20));
            }
            assert.equal(stopped, "SIGTERM");
            fwd.close();
            assert.equal(process.listeners("exit").length, before);
            await assert.rejects(kubectlPortForward({ command: ends.command })({}, to), LocalAccessError);
            assert.equal(process.listeners("exit").length, before);
            // a kubectl that ends by itself while its forward is open: none left either, before close()
            const dies = fakeKubectl('process.stdout.write("Forwarding from 127.0.0.1:43212 -> 80\\n");');
            try {
                const gone = await kubectlPortForward({ command: dies.command })({}, to);
                for (let i = 0; i < 100 && process.listeners("exit").length > before; i++)
                    await new Promise((r) => setTimeout(r, 20));
                assert.equal(process.listeners("exit").length, before);
                gone.close();
            } finally {
                rmSync(dies.dir, { recursive: true, force: true });
            }
        } finally {
            rmSync(dir, { recursive: true, force: true });
            rmSync(ends.dir, { recursive: true, force: true });
        }
    });

    test("kubectl that ends, prints no port in time, or is missing: a LocalAccessError with the manual command", async () => {
        const hint = manualHint({}, to);
        const what = "kubectl port-forward to service flux-system/webhook-receiver:80";
        const ends = fakeKubectl(
            `process.stderr.write("line 1\\nerror: no context\\nservice not found\\n"); process.exit(1);`,
        );
        const silent = fakeKubectl("setTimeout(() => process.exit(0), 30000);");
        try {
            await assert.rejects(kubectlPortForward({ command: ends.command })({}, to), {
                message: `${what} ended (exit 1): error: no context service not found; or forward yourself: ${hint}`,
            });
            await assert.rejects(kubectlPortForward({ command: silent.command, timeoutMs: 200 })({}, to), {
                message: `${what} printed no port within 0.2s; or forward yourself: ${hint}`,
            });
            await assert.rejects(
                kubectlPortForward({ command: path.join(ends.dir, "missing-kubectl") })({}, to),
                (e: Error) =>
                    e instanceof LocalAccessError &&
                    e.message ===
                        `${what} failed: kubectl is not installed (or not on PATH); or forward yourself: ${hint}`,
            );
            // a kubectl that cannot be run: Node's error, as it words it
            const notExecutable = path.join(ends.dir, "not-executable");
            writeFileSync(notExecutable, "#!/bin/sh\n");
            await assert.rejects(kubectlPortForward({ command: notExecutable })({}, to), {
                message: `${what} failed: spawn ${notExecutable} EACCES; or forward yourself: ${hint}`,
            });
        } finally {
            rmSync(ends.dir, { recursive: true, force: true });
            rmSync(silent.dir, { recursive: true, force: true });
        }
    });
});
