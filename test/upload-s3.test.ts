// The tool's own S3 path (tools/upload/s3.ts, sigv4.ts over aws4, xml.ts, ops.ts): signatures checked
// against the AWS SDK's signer, directly and by a front that re-signs every request before s3rver
// (which does not verify V4 signatures itself), keys that need
// URI and XML escaping end to end, the LIST reader fed in every possible split, memory bounded
// by the uploads in flight rather than by the tree.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { describe, test } from "node:test";
import { extendedEncodeURIComponent } from "@smithy/core/protocols";
import { SignatureV4 } from "@smithy/signature-v4";
import { runUpload } from "../tools/upload/cli";
import { type ListedObject, listObjectsV2 } from "../tools/upload/ops";
import { createClient } from "../tools/upload/s3";
import { canonicalQuery, SigV4Signer, UNSIGNED_PAYLOAD, uriEncode } from "../tools/upload/sigv4";
import { ElementStream, unescapeXml } from "../tools/upload/xml";
import { captureIo, makeTree, S3RVER_KEY, s3Env, stackReader, useLocalS3 } from "./helpers-s3";
import { Sha256 } from "./smithy-sha256";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

describe("upload: SigV4", () => {
    const cases: Array<{ method: string; key: string; query?: Record<string, string>; token?: string; body?: string }> =
        [
            { method: "PUT", key: "apps/a&b <c>.yaml" },
            { method: "PUT", key: "ünïcödé/ñ space+plus.yaml", token: "session/token+=" },
            { method: "GET", key: "", query: { "list-type": "2", prefix: "team a/", "continuation-token": "x+y/z=" } },
            { method: "POST", key: "", query: { delete: "" }, body: "<Delete><Quiet>true</Quiet></Delete>" },
            { method: "DELETE", key: "(x)!*'~.yaml", query: { uploadId: "2~abc/def" } },
            { method: "GET", key: "", query: { uploads: "", prefix: "(x)!*'~ a&b/ü", "key-marker": "k=v;w" } },
            // not normalised for S3 (aws4 would fold `//` and `..` for other services); `%` encoded once
            { method: "PUT", key: "a//b/../c/./100% +%41.yaml/", query: { partNumber: "1", uploadId: "u" } },
        ];
    for (const c of cases) {
        test(`the same Authorization as the AWS SDK's signer: ${c.method} ${JSON.stringify(c.key)}`, async () => {
            const credentials = {
                accessKeyId: "AKIDEXAMPLE",
                secretAccessKey: "wJalr/XUtnFEMI+K7MDENG",
                sessionToken: c.token,
            };
            const when = new Date("2026-12-07T01:02:03Z");
            const pathname = `/bucket/${uriEncode(c.key, true)}`;
            // the key's path as the SDK's S3 serialiser encodes it (each segment of the greedy label)
            assert.equal(uriEncode(c.key, true), c.key.split("/").map(extendedEncodeURIComponent).join("/"));
            const body = c.body === undefined ? undefined : Buffer.from(c.body);
            const payload = body
                ? createHash("sha256").update(body).digest("hex")
                : c.method === "PUT"
                  ? UNSIGNED_PAYLOAD
                  : createHash("sha256").update("").digest("hex");
            const ours = new SigV4Signer(credentials, "fra1").sign(
                {
                    method: c.method,
                    path: pathname,
                    query: canonicalQuery(c.query),
                    headers: { host: "127.0.0.1:9000", "content-md5": "1B2M2Y8AsgTpgAmY7PhCfg==" },
                    payloadHash: payload,
                },
                when,
            );
            const sdk = new SignatureV4({
                credentials,
                region: "fra1",
                service: "s3",
                sha256: Sha256,
                uriEscapePath: false, // S3: the path is encoded once, as sent
                applyChecksum: true,
            });
            const signed = await sdk.sign(
                {
                    method: c.method,
                    protocol: "http:",
                    hostname: "127.0.0.1",
                    port: 9000,
                    path: pathname,
                    query: c.query ?? {},
                    headers: {
                        host: "127.0.0.1:9000",
                        "content-md5": "1B2M2Y8AsgTpgAmY7PhCfg==",
                        "x-amz-content-sha256": payload,
                    },
                    body,
                },
                { signingDate: when },
            );
            assert.equal(ours.authorization, signed.headers.authorization);
            assert.equal(ours["x-amz-date"], signed.headers["x-amz-date"]);
        });
    }
});

describe("upload: reading S3's XML", () => {
    test("entities and numeric references are resolved", () => {
        assert.equal(
            unescapeXml("a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#13;&#x1F600;"),
            "a&b <c> \"d\" 'e' \r😀",
        );
        assert.equal(unescapeXml("&amp;lt;"), "&lt;", "resolved once, not twice");
    });

    test("a LIST page gives the same objects however its text is split", () => {
        const page =
            '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><Prefix></Prefix>' +
            "<Contents><Key>a&amp;b &lt;c&gt;.yaml</Key><ETag>&quot;0123&quot;</ETag><Size>12</Size></Contents>" +
            "<Contents><Key>ünï.yaml</Key><ETag>&quot;4567-2&quot;</ETag><Size>3</Size></Contents>" +
            "<IsTruncated>true</IsTruncated><NextContinuationToken>t&amp;1</NextContinuationToken></ListBucketResult>";
        const whole = parse([page]);
        assert.deepEqual(whole.objects, [
            { key: "a&b <c>.yaml", etag: '"0123"', size: 12 },
            { key: "ünï.yaml", etag: '"4567-2"', size: 3 },
        ]);
        assert.deepEqual(whole.page, { isTruncated: true, nextContinuationToken: "t&1" });
        for (let i = 1; i < page.length; i++) {
            assert.deepEqual(parse([page.slice(0, i), page.slice(i)]), whole, `split at ${i}`);
        }
        // one character at a time
        assert.deepEqual(parse([...page]), whole);
    });

    test("the element reader keeps only the unfinished element", () => {
        const seen: string[] = [];
        const s = new ElementStream("C", (inner) => seen.push(inner));
        s.write("<R><C>1</C><C>2");
        assert.deepEqual(seen, ["1"]);
        s.write("</C><X>y</X></R>");
        assert.deepEqual(seen, ["1", "2"]);
        assert.equal(s.rest(), "<R><X>y</X></R>");
    });
});

function parse(pieces: string[]) {
    const objects: ListedObject[] = [];
    const op = listObjectsV2("", undefined, (o) => objects.push(o));
    const reader = op.reader!();
    for (const p of pieces) reader.write(p);
    return { objects, page: reader.end({ status: 200, headers: {} }) };
}

// s3rver behind the SigV4-checking front: keys that need escaping, signed, stored and listed back
// by a server of its own (s3rver's escaping, not ours)
const local = useLocalS3("s3path");

/**
 * A SigV4-checking front for s3rver (which accepts any V4 signature: "Signature version 4
 * calculation is unimplemented" in its authentication.js): every request is signed again by the
 * AWS SDK's signer from what arrived (method, path and query as sent, the signed headers, the
 * payload hash checked against the body) and refused with 403 SignatureDoesNotMatch unless both
 * signatures agree; good ones are passed on to s3rver.
 */
async function startVerifier(targetPort: number) {
    const checked = { ok: 0, refused: 0 };
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", async () => {
            const body = Buffer.concat(chunks);
            const auth =
                /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
                    req.headers.authorization ?? "",
                );
            const [rawPath = "", rawQuery = ""] = (req.url ?? "").split("?");
            const query: Record<string, string> = {};
            for (const pair of rawQuery ? rawQuery.split("&") : []) {
                const [k = "", v = ""] = pair.split("=");
                query[decodeURIComponent(k)] = decodeURIComponent(v);
            }
            let good = false;
            const payload = String(req.headers["x-amz-content-sha256"] ?? "");
            if (auth && (payload === UNSIGNED_PAYLOAD || payload === createHash("sha256").update(body).digest("hex"))) {
                const headers: Record<string, string> = {};
                for (const h of auth[4]!.split(";")) headers[h] = String(req.headers[h] ?? "");
                const date = String(req.headers["x-amz-date"]);
                const signer = new SignatureV4({
                    credentials: { accessKeyId: auth[1]!, secretAccessKey: S3RVER_KEY },
                    region: auth[3]!,
                    service: "s3",
                    sha256: Sha256,
                    uriEscapePath: false,
                });
                const host = String(req.headers.host);
                const signed = await signer.sign(
                    {
                        method: req.method ?? "",
                        protocol: "http:",
                        hostname: host,
                        path: rawPath,
                        query,
                        headers,
                        body,
                    },
                    {
                        signingDate: new Date(
                            `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
                        ),
                        // sign exactly the headers the request says it signed
                        unsignableHeaders: new Set(Object.keys(req.headers).filter((h) => !(h in headers))),
                    },
                );
                good = /Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization))?.[1] === auth[5];
            }
            if (!good) {
                checked.refused++;
                res.writeHead(403, { "content-type": "application/xml" });
                res.end(
                    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error>',
                );
                return;
            }
            checked.ok++;
            const up = http.request(
                { host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers },
                (r) => {
                    res.writeHead(r.statusCode ?? 502, r.headers);
                    r.pipe(res);
                },
            );
            up.on("error", () => {
                res.writeHead(502);
                res.end();
            });
            up.end(body);
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        checked,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

async function sync(src: string, bucket: string, args: string[] = [], endpoint = local.s3().endpoint, env = s3Env()) {
    const cap = captureIo();
    const code = await runUpload(
        ["--source", src, "--bucket", bucket, "--endpoint", endpoint, "--no-trigger", ...args],
        {
            env,
            io: cap.io,
            readStackOutputs: stackReader().read,
            sizes: { multipartThreshold: 64 * 1024, partSize: 32 * 1024 },
        },
    );
    return { code, ...cap };
}

describe("upload: keys that need escaping, against s3rver", () => {
    const NAMES = [
        "a&b <c>.yaml",
        "ünïcödé/ñ space.yaml",
        "plus+sign=equals.yaml",
        "(parens)!star*'quote'~tilde.yaml",
        "percent%20literal.yaml",
        "semi;colon,comma@at$dollar.yaml",
    ];
    test("uploaded with signatures the SDK's signer verifies on the wire, listed back unchanged, deleted with --delete", async () => {
        const bucket = await local.freshBucket();
        const files = Object.fromEntries(NAMES.map((n, i) => [n, `kind: ConfigMap\nmetadata:\n  name: n${i}\n`]));
        // and one multipart upload (threshold 64 KiB here): create, parts, complete
        files["big & <multipart>.json"] = `${JSON.stringify({ pad: "x".repeat(100_000) })}\n`;
        const src = await makeTree(files);
        const verifier = await startVerifier(local.s3().port);
        try {
            const first = await sync(src, bucket, [], verifier.endpoint);
            assert.equal(first.code, 0, first.all());
            assert.equal(first.lastOut(), `uploaded ${NAMES.length + 1}, deleted 0, unchanged 0`);
            const stored = await local.s3().objects(bucket);
            assert.deepEqual([...stored.keys()].sort(), Object.keys(files).sort());
            for (const [k, v] of Object.entries(files)) assert.equal(stored.get(k)?.toString(), v, k);
            // the listing's escaped keys and ETags are read back exactly: nothing is uploaded again
            const again = await sync(src, bucket, [], verifier.endpoint);
            assert.equal(again.lastOut(), `uploaded 0, deleted 0, unchanged ${NAMES.length + 1}`);
            // DeleteObjects' XML body carries the keys escaped
            await rm(path.join(src, NAMES[0]!));
            await rm(path.join(src, NAMES[3]!));
            const pruned = await sync(src, bucket, ["--delete"], verifier.endpoint);
            assert.equal(pruned.code, 0, pruned.all());
            assert.equal(pruned.lastOut(), `uploaded 0, deleted 2, unchanged ${NAMES.length - 1}`);
            assert.deepEqual(
                [...(await local.s3().objects(bucket)).keys()].sort(),
                Object.keys(files)
                    .filter((k) => k !== NAMES[0] && k !== NAMES[3])
                    .sort(),
            );
            assert.equal(verifier.checked.refused, 0);
            assert.ok(verifier.checked.ok >= NAMES.length + 6, `${verifier.checked.ok} requests verified`);
        } finally {
            await verifier.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a wrong secret gives a signature the verifier refuses, and the tool names the secret key", async () => {
        const bucket = await local.freshBucket();
        const src = await makeTree({ "a.yaml": "kind: ConfigMap\n" });
        const verifier = await startVerifier(local.s3().port);
        try {
            const r = await sync(src, bucket, [], verifier.endpoint, {
                ...s3Env(),
                AWS_SECRET_ACCESS_KEY: "not-the-secret",
            });
            assert.equal(r.code, 1, r.all());
            assert.match(r.err.join("\n"), /the secret key was rejected by .* \(SignatureDoesNotMatch\)/);
            assert.ok(!r.all().includes("not-the-secret"), "the secret is never printed");
            assert.ok(verifier.checked.refused >= 1);
            assert.equal(verifier.checked.ok, 0);
        } finally {
            await verifier.close();
            await rm(src, { recursive: true, force: true });
        }
    });
});

describe("upload: a listing of more pages than one, against fauxqs", () => {
    // fauxqs (in memory, in this process), not s3rver: what is checked is the tool's paging (the
    // continuation token sent back escaped, keys that need XML escaping on both sides of a page
    // boundary), which any server's pages exercise; s3rver's 1,050 PUTs to seed the listing (a file
    // and its metadata each, a front and a process of its own) cost more than the rest of this
    // file. fauxqs's token (base64 of the last key: `+`, `/`, `=`) needs the same query escaping
    // as s3rver's (base64 of DES); the paging of a whole sync is upload-faults' 2,001 files.
    const paged = useLocalS3("pages", { server: "fauxqs", inProcess: true });
    test("a listing of more pages than one follows the continuation tokens", async () => {
        const bucket = await paged.freshBucket();
        const { send, client } = createClient({
            endpoint: paged.s3().endpoint,
            region: "us-east-1",
            credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
            bucket,
            concurrency: 16,
        });
        try {
            const files = Object.fromEntries(
                Array.from({ length: 1_050 }, (_, i) => [`p/${String(i).padStart(4, "0")}&<x>.yaml`, `n: ${i}\n`]),
            );
            const src = await makeTree(files);
            const up = await sync(src, bucket, [], paged.s3().endpoint);
            assert.equal(up.lastOut(), "uploaded 1050, deleted 0, unchanged 0", up.all());
            await rm(src, { recursive: true, force: true });
            const keys: string[] = [];
            let token: string | undefined;
            let pages = 0;
            for (; pages < 10; pages++) {
                const res = await send(
                    listObjectsV2("p/", token, (o) => keys.push(o.key)),
                    "LIST",
                );
                if (!res.isTruncated) break;
                token = res.nextContinuationToken;
            }
            assert.equal(pages + 1, 2, "two pages");
            assert.deepEqual(keys, Object.keys(files).sort());
        } finally {
            client.destroy();
        }
    });
});

/** Peak RSS (MiB) of `make upload-do`'s command (run.cjs) over `src`, as /usr/bin/time reports it. */
function peakRss(args: string[]): Promise<{ code: number | null; rss: number; out: string }> {
    const root = path.resolve(__dirname, "..");
    return new Promise((resolve, reject) => {
        const child = spawn("/usr/bin/time", ["-f", "PEAKRSS %M", process.execPath, "tools/upload/run.cjs", ...args], {
            cwd: root,
            env: { PATH: process.env.PATH, HOME: process.env.HOME, ...s3Env() },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (err += d));
        child.on("error", reject);
        const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
        child.on("close", (code) => {
            clearTimeout(timer);
            const m = /PEAKRSS (\d+)/.exec(err);
            if (!m) return reject(new Error(`no RSS: ${err.slice(-300)}`));
            resolve({ code, rss: Number(m[1]) / 1024, out: out + err });
        });
    });
}

/**
 * A bucket that keeps nothing, for a test of the tool's memory: an empty listing (ListObjectsV2,
 * ListMultipartUploads) and, for every PUT, the MD5 of the body it read as the ETag (so the tool's
 * check of what was stored still runs); the bodies are hashed as they arrive and dropped.
 */
async function startSink() {
    const received = { puts: 0, bytes: 0 };
    const server = http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://x");
        const md5 = createHash("md5");
        req.on("data", (c: Buffer) => {
            md5.update(c);
            received.bytes += c.length;
        });
        req.on("end", () => {
            const xml = (body: string) => {
                res.writeHead(200, { "content-type": "application/xml" });
                res.end(`<?xml version="1.0" encoding="UTF-8"?>${body}`);
            };
            if (req.method === "PUT" && !url.search) {
                received.puts++;
                res.writeHead(200, { etag: `"${md5.digest("hex")}"` });
                res.end();
            } else if (req.method === "GET" && url.searchParams.get("list-type") === "2")
                xml("<ListBucketResult><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>");
            else if (req.method === "GET" && url.searchParams.has("uploads"))
                xml("<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>");
            else {
                res.writeHead(501, { "content-type": "application/xml" });
                res.end("<Error><Code>NotImplemented</Code><Message>not in the sink</Message></Error>");
            }
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        received,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

describe("upload: memory", () => {
    // The tool's memory is measured, not the server's work: a sink in this process that hashes
    // each body as it arrives and keeps nothing (s3rver writes every byte to disk and hashes it
    // again; fauxqs, in memory, gathers each body, hashes it and keeps it: 125 MiB, about 2 s of
    // CPU and the memory of this process, none of it about the tool).
    test("peak RSS does not grow with the tree: 4× the bytes, at most 40 MiB more", { timeout: 600_000 }, async () => {
        // 256 KiB files: a tool that kept every body (hashed or uploaded) would need
        // 25 MiB more for the small tree and 100 MiB more for the large one, 75 MiB apart; one
        // that does not measured 20 MiB apart on a quiet machine and 25 under make test's load
        const body = (i: number) => Buffer.alloc(256 * 1024, `kind: ConfigMap # ${i}\n`);
        const rss: number[] = [];
        for (const n of [100, 400]) {
            const sink = await startSink();
            const src = await makeTree(
                Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}.yaml`, body(i)])),
            );
            try {
                const r = await peakRss([
                    "--source",
                    src,
                    "--bucket",
                    "memory",
                    "--endpoint",
                    sink.endpoint,
                    "--no-trigger",
                    "--concurrency",
                    "8",
                ]);
                assert.equal(r.code, 0, r.out);
                assert.match(r.out, new RegExp(`uploaded ${n}, deleted 0, unchanged 0`));
                assert.deepEqual(sink.received, { puts: n, bytes: n * body(0).length }, "every body arrived");
                rss.push(r.rss);
            } finally {
                await sink.close();
                await rm(src, { recursive: true, force: true });
            }
        }
        const [small, large] = rss as [number, number];
        assert.ok(
            large - small < 40,
            `peak RSS ${small.toFixed(0)} MiB at 25 MiB of files, ${large.toFixed(0)} MiB at 100 MiB`,
        );
    });
});

describe("upload: slow links", () => {
    test("a large body that keeps moving is not cut off by the stall timeout", { timeout: 180_000 }, async () => {
        // A front that reads the first 8 MiB of a request body at about 4 MiB/s and answers PUTs
        // itself at once (ETag = MD5, as S3 does; everything else goes on to s3rver): a 12 MiB PUT
        // takes over 2 s, twice the stall timeout, but never stalls. The last 4 MiB are read at
        // full speed: once the client has written its whole body, what is left in the socket
        // buffers is not progress it can see, and draining it slowly on a loaded machine ran into
        // the timeout for the reply.
        const attempts: number[] = [];
        const server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            let received = 0;
            req.on("data", (c: Buffer) => {
                chunks.push(c);
                received += c.length;
                if (received > 8 * 1024 * 1024) return;
                req.pause();
                setTimeout(() => req.resume(), Math.ceil(c.length / 4096)); // ~4 MiB/s
            });
            req.on("end", () => {
                const body = Buffer.concat(chunks);
                if (req.method === "PUT" && body.length > 0) {
                    attempts.push(body.length);
                    res.writeHead(200, { etag: `"${createHash("md5").update(body).digest("hex")}"` });
                    res.end();
                    return;
                }
                const up = http.request(
                    {
                        host: "127.0.0.1",
                        port: local.s3().port,
                        method: req.method,
                        path: req.url,
                        headers: req.headers,
                    },
                    (r) => {
                        res.writeHead(r.statusCode ?? 502, r.headers);
                        r.pipe(res);
                    },
                );
                up.end(body);
            });
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const bucket = await local.freshBucket();
        const big = Buffer.alloc(12 * 1024 * 1024, "kind: ConfigMap\n");
        const src = await makeTree({ "big.yaml": big });
        try {
            const cap = captureIo();
            const code = await runUpload(
                [
                    "--source",
                    src,
                    "--bucket",
                    bucket,
                    "--endpoint",
                    `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
                    "--no-trigger",
                ],
                {
                    env: s3Env(),
                    io: cap.io,
                    readStackOutputs: stackReader().read,
                    requestTimeoutMs: 1_000,
                    maxAttempts: 2,
                },
            );
            assert.equal(code, 0, cap.all());
            assert.equal(cap.lastOut(), "uploaded 1, deleted 0, unchanged 0");
            assert.deepEqual(attempts, [big.length], "one attempt, never timed out and retried");
        } finally {
            server.closeAllConnections();
            server.close();
            await rm(src, { recursive: true, force: true });
        }
    });
});
