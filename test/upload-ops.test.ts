// The S3 calls of a sync (tools/upload/ops.ts) against the AWS S3 API reference, in process: each
// request's method, query and headers as the reference's request syntax gives them, its XML body
// read back by a strict parser written here (well-formed, the reference's element names, the
// keys and ETags unescaped to what was given), its Content-MD5 recomputed with node:crypto; and
// replies shaped as S3 sends them (white space before the document, entities, elements in any
// order, elements missing) read into results. One loopback test: a CompleteMultipartUpload that
// answers 200 and then an error, which the client retries. The first test file of
// `make mutation GROUP=upload-s3` for ops.ts.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import {
    abortMultipartUpload,
    completeMultipartUpload,
    createMultipartUpload,
    deleteObjects,
    type ListedObject,
    listMultipartUploads,
    listObjectsV2,
    putObject,
    uploadPart,
} from "../tools/upload/ops";
import { createClient, S3Error, type S3Op, type S3Reply } from "../tools/upload/s3";
import { canonicalQuery } from "../tools/upload/sigv4";

/** An element of a document read by `parseXml`: its name, attributes, child elements and text. */
interface XmlNode {
    name: string;
    attrs: Record<string, string>;
    children: XmlNode[];
    text: string;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/**
 * A strict reader of the XML the tool sends (no DTD, comments or CDATA): one root element after
 * an optional declaration, every tag closed in order, only the five predefined entities.
 */
function parseXml(doc: string): XmlNode {
    const resolve = (s: string) =>
        s.replace(/&([a-z]+);|&/g, (m, e?: string) => {
            const v = e === undefined ? undefined : ENTITIES[e];
            if (v === undefined) throw new Error(`not well-formed: ${m}`);
            return v;
        });
    const rest = doc.replace(/^<\?xml version="1\.0" encoding="UTF-8"\?>/, "");
    const stack: XmlNode[] = [{ name: "#document", attrs: {}, children: [], text: "" }];
    const token = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[A-Za-z][\w:.-]*="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/gy;
    for (let m = token.exec(rest); m; m = token.exec(rest)) {
        const [, closing, name, attrText, selfClosing, text, stray] = m;
        const top = stack.at(-1)!;
        if (stray) throw new Error(`not well-formed at ${m.index}`);
        if (text !== undefined) {
            if (stack.length === 1) throw new Error("text outside the root element");
            top.text += resolve(text);
        } else if (closing) {
            if (top.name !== name) throw new Error(`</${name}> closes <${top.name}>`);
            // S3's documents hold either elements or text, never both (no mixed content)
            if (top.children.length && top.text.trim()) throw new Error(`text beside the elements of <${name}>`);
            stack.pop();
        } else {
            const attrs: Record<string, string> = {};
            for (const [, k, v] of attrText!.matchAll(/([A-Za-z][\w:.-]*)="([^"]*)"/g)) attrs[k!] = resolve(v!);
            const node: XmlNode = { name: name!, attrs, children: [], text: "" };
            if (stack.length === 1 && top.children.length) throw new Error("a second root element");
            top.children.push(node);
            if (!selfClosing) stack.push(node);
        }
        if (token.lastIndex === rest.length) break;
    }
    if (token.lastIndex !== rest.length) throw new Error(`not well-formed at ${token.lastIndex}`);
    if (stack.length !== 1) throw new Error(`<${stack.at(-1)!.name}> is not closed`);
    const [root] = stack[0]!.children;
    if (!root) throw new Error("no root element");
    return root;
}

const S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/";
const kids = (n: XmlNode, name: string) => n.children.filter((c) => c.name === name);
const md5base64 = (b: Buffer) => createHash("md5").update(b).digest("base64");
/** The body of a request op, as a Buffer (every op with a body here has one). */
const bodyOf = (op: S3Op<unknown>) => {
    assert.ok(op.body, "the op has a body");
    return op.body;
};

/** Reads `text` with the op's reader, in pieces of `step` characters, as a reply arrives. */
function read<O>(op: S3Op<O>, text: string, step = 7, reply: S3Reply = { status: 200, headers: {} }): O {
    assert.ok(op.reader, "the op reads its reply");
    const reader = op.reader();
    for (let at = 0; at < text.length; at += step) reader.write(text.slice(at, at + step));
    return reader.end(reply);
}

describe("upload S3 calls: requests as the S3 API reference writes them", () => {
    test("ListObjectsV2: GET ?list-type=2 with the prefix and continuation token when there are any", () => {
        const first = listObjectsV2("", undefined, () => undefined);
        assert.equal(first.method, "GET");
        assert.equal(first.key, undefined);
        assert.equal(canonicalQuery(first.query), "list-type=2");
        const next = listObjectsV2("team a/", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", () => undefined);
        assert.equal(
            canonicalQuery(next.query),
            "continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D&list-type=2&prefix=team%20a%2F",
        );
        assert.equal(next.body, undefined);
    });

    test("PutObject and UploadPart: the body with its Content-MD5, never signed (UNSIGNED-PAYLOAD)", () => {
        const body = Buffer.from("kind: ConfigMap\n");
        const put = putObject("apps/a.yaml", body, md5base64(body), "application/yaml");
        assert.deepEqual(
            [put.method, put.key, put.query, put.headers, put.body, put.signBody],
            [
                "PUT",
                "apps/a.yaml",
                undefined,
                { "content-md5": md5base64(body), "content-type": "application/yaml" },
                body,
                undefined,
            ],
        );
        const part = uploadPart("big.bin", "VXBsb2FkIElE+/=", 3, body, md5base64(body));
        assert.deepEqual(
            [part.method, part.key, canonicalQuery(part.query), part.headers, part.body, part.signBody],
            [
                "PUT",
                "big.bin",
                "partNumber=3&uploadId=VXBsb2FkIElE%2B%2F%3D",
                { "content-md5": md5base64(body) },
                body,
                undefined,
            ],
        );
    });

    test("DeleteObjects: POST ?delete= with a quiet Delete document of the keys, its Content-MD5 and SHA-256 signed", () => {
        const keys = ["a.yaml", "dir/b & c <d>.yaml", `quote"apos'.json`, "é/€.yaml"];
        const op = deleteObjects(keys);
        const body = bodyOf(op);
        assert.deepEqual(
            [op.method, op.key, canonicalQuery(op.query), op.signBody],
            ["POST", undefined, "delete=", true],
        );
        assert.deepEqual(op.headers, { "content-md5": md5base64(body), "content-type": "application/xml" });
        assert.ok(body.toString("utf8").startsWith('<?xml version="1.0" encoding="UTF-8"?>'));
        const doc = parseXml(body.toString("utf8"));
        assert.equal(doc.name, "Delete");
        assert.deepEqual(doc.attrs, { xmlns: S3_NS });
        assert.deepEqual(
            kids(doc, "Quiet").map((q) => q.text),
            ["true"],
        );
        assert.deepEqual(
            kids(doc, "Object").map((o) => kids(o, "Key").map((k) => k.text)),
            keys.map((k) => [k]),
        );
    });

    test("CreateMultipartUpload: POST ?uploads= with the object's content type; AbortMultipartUpload: DELETE ?uploadId=", () => {
        const create = createMultipartUpload("big.bin", "application/octet-stream");
        assert.deepEqual(
            [create.method, create.key, canonicalQuery(create.query), create.headers, create.body],
            ["POST", "big.bin", "uploads=", { "content-type": "application/octet-stream" }, undefined],
        );
        const abort = abortMultipartUpload("big.bin", "id/1");
        assert.deepEqual(
            [abort.method, abort.key, canonicalQuery(abort.query), abort.headers, abort.body],
            ["DELETE", "big.bin", "uploadId=id%2F1", undefined, undefined],
        );
    });

    test("CompleteMultipartUpload: POST ?uploadId= with the parts in the order given, their ETags as S3 sent them", () => {
        const parts = [
            { partNumber: 1, etag: '"a54357aff0632cce46d942af68356b38"' },
            { partNumber: 2, etag: '"0c78aef83f66abc1fa1e8477f296d394"' },
            { partNumber: 10, etag: "&<odd>'" },
        ];
        const op = completeMultipartUpload("big.bin", "VXBsb2Fk", parts);
        const body = bodyOf(op);
        assert.deepEqual(
            [op.method, op.key, canonicalQuery(op.query), op.headers, op.signBody],
            ["POST", "big.bin", "uploadId=VXBsb2Fk", { "content-type": "application/xml" }, true],
        );
        const doc = parseXml(body.toString("utf8"));
        assert.equal(doc.name, "CompleteMultipartUpload");
        assert.deepEqual(doc.attrs, { xmlns: S3_NS });
        assert.deepEqual(
            doc.children.map((p) => [p.name, ...p.children.map((c) => `${c.name}=${c.text}`)]),
            parts.map((p) => ["Part", `PartNumber=${p.partNumber}`, `ETag=${p.etag}`]),
        );
    });

    test("ListMultipartUploads: GET ?uploads= with the prefix and both markers when there are any", () => {
        const first = listMultipartUploads("", undefined, undefined);
        assert.deepEqual([first.method, first.key, canonicalQuery(first.query)], ["GET", undefined, "uploads="]);
        const next = listMultipartUploads("team/", "team/big.bin", "id+2");
        assert.equal(
            canonicalQuery(next.query),
            "key-marker=team%2Fbig.bin&prefix=team%2F&upload-id-marker=id%2B2&uploads=",
        );
    });

    test("the strict reader above refuses what S3 would refuse as MalformedXML (so the checks above can fail)", () => {
        for (const bad of [
            "<Delete><Object></Delete>",
            "<Delete></Delete>Stryker",
            "<Delete><Key>a & b</Key></Delete>",
            "<Delete></Delete><Delete></Delete>",
            "<Delete><Object></Object>text<Object></Object></Delete>",
            "<Delete>",
            "text",
        ]) {
            assert.throws(
                () => parseXml(bad),
                /not well-formed|closes|not closed|outside|second root|no root|beside/,
                bad,
            );
        }
        assert.equal(
            parseXml('<?xml version="1.0" encoding="UTF-8"?><A x="1"><B>&lt;&amp;</B><C/></A>').children[0]!.text,
            "<&",
        );
    });
});

describe("upload S3 calls: replies as S3 sends them", () => {
    test("ListObjectsV2: every Contents with a Key, its ETag unescaped and its Size; the page's truncation and token", () => {
        const page = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="${S3_NS}">
  <Name>bucket</Name>
  <Prefix/>
  <KeyCount>3</KeyCount>
  <MaxKeys>1000</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents>
    <Key>a&amp;b.yaml</Key>
    <LastModified>2026-12-07T03:00:00.000Z</LastModified>
    <ETag>&quot;599393a2c526c680119d84155d90f1e5&quot;</ETag>
    <Size>434234</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <Contents><Size>5</Size><ETag>"x"</ETag></Contents>
  <Contents><ETag>"9b2cf535f27731c974343645a3985328-2"</ETag><Key>big.bin</Key><Size>9437184</Size></Contents>
  <Contents><Key>no-size</Key></Contents>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>`;
        for (const step of [1, 13, page.length]) {
            const seen: ListedObject[] = [];
            const result = read(
                listObjectsV2("", undefined, (o) => seen.push(o)),
                page,
                step,
            );
            assert.deepEqual(seen, [
                { key: "a&b.yaml", etag: '"599393a2c526c680119d84155d90f1e5"', size: 434234 },
                { key: "big.bin", etag: '"9b2cf535f27731c974343645a3985328-2"', size: 9437184 },
                { key: "no-size", etag: undefined, size: 0 },
            ]);
            assert.deepEqual(result, {
                isTruncated: true,
                nextContinuationToken: "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=",
            });
        }
        const last = read(
            listObjectsV2("", undefined, () => undefined),
            "<ListBucketResult><IsTruncated>false</IsTruncated><NextContinuationToken></NextContinuationToken></ListBucketResult>",
        );
        assert.deepEqual(last, { isTruncated: false, nextContinuationToken: undefined });
    });

    test("ListMultipartUploads: uploads with both a Key and an UploadId (Initiated as a date when given); markers only when not empty", () => {
        const page = `<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="${S3_NS}">
  <Bucket>bucket</Bucket>
  <KeyMarker></KeyMarker>
  <UploadIdMarker></UploadIdMarker>
  <NextKeyMarker>my-movie.m2ts</NextKeyMarker>
  <NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</NextUploadIdMarker>
  <MaxUploads>3</MaxUploads>
  <IsTruncated>true</IsTruncated>
  <Upload>
    <Key>my-divisor</Key>
    <UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId>
    <StorageClass>STANDARD</StorageClass>
    <Initiated>2010-11-10T20:48:33.000Z</Initiated>
  </Upload>
  <Upload><Key></Key><UploadId>empty-key</UploadId></Upload>
  <Upload><Key>no-id</Key></Upload>
  <Upload><Key>empty-id</Key><UploadId></UploadId></Upload>
  <Upload><UploadId>no-key</UploadId></Upload>
</ListMultipartUploadsResult>`;
        const result = read(listMultipartUploads("", undefined, undefined), page);
        assert.deepEqual(result, {
            uploads: [
                {
                    key: "my-divisor",
                    uploadId: "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw",
                    initiated: new Date(Date.UTC(2010, 10, 10, 20, 48, 33)),
                },
                { key: "", uploadId: "empty-key", initiated: undefined },
            ],
            isTruncated: true,
            nextKeyMarker: "my-movie.m2ts",
            nextUploadIdMarker: "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ",
        });
        const last = read(
            listMultipartUploads("", undefined, undefined),
            "<ListMultipartUploadsResult><NextKeyMarker></NextKeyMarker><NextUploadIdMarker/><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>",
        );
        assert.deepEqual(last, {
            uploads: [],
            isTruncated: false,
            nextKeyMarker: undefined,
            nextUploadIdMarker: undefined,
        });
    });

    test("DeleteObjects: each Error with its key, code and message (a key S3 left out is empty); Deleted entries are no errors", () => {
        const reply = `<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult xmlns="${S3_NS}">
  <Deleted><Key>sample1.txt</Key></Deleted>
  <Error><Key>a&amp;b.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>
  <Error><Code>InternalError</Code></Error>
</DeleteResult>`;
        assert.deepEqual(read(deleteObjects(["sample1.txt", "a&b.txt", "x"]), reply), {
            errors: [
                { key: "a&b.txt", code: "AccessDenied", message: "Access Denied" },
                { key: "", code: "InternalError", message: undefined },
            ],
        });
        assert.deepEqual(read(deleteObjects(["a"]), `<DeleteResult xmlns="${S3_NS}"/>`), { errors: [] });
    });

    test("CreateMultipartUpload gives the UploadId; PutObject and UploadPart the ETag header", () => {
        const created = read(
            createMultipartUpload("big.bin", "application/octet-stream"),
            `<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult xmlns="${S3_NS}"><Bucket>b</Bucket><Key>big.bin</Key><UploadId>VXBsb2FkIElE</UploadId></InitiateMultipartUploadResult>`,
        );
        assert.deepEqual(created, { uploadId: "VXBsb2FkIElE" });
        const body = Buffer.from("x");
        for (const op of [
            putObject("k", body, md5base64(body), "text/plain"),
            uploadPart("k", "u", 1, body, md5base64(body)),
        ]) {
            assert.ok(op.result);
            assert.deepEqual(op.result({ status: 200, headers: { etag: '"9dd4e461268c8034f5c8564e155c67a6"' } }), {
                etag: '"9dd4e461268c8034f5c8564e155c67a6"',
            });
            assert.deepEqual(op.result({ status: 200, headers: { etag: ['"first"', '"second"'] } }), {
                etag: '"first"',
            });
            assert.deepEqual(op.result({ status: 200, headers: {} }), { etag: undefined });
        }
    });

    test("CompleteMultipartUpload: the ETag of the result, or an error in the 200 reply (after S3's white space) as a retryable 500", () => {
        const op = () => completeMultipartUpload("big.bin", "u", [{ partNumber: 1, etag: '"a"' }]);
        const ok = `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult xmlns="${S3_NS}"><Location>http://b/big.bin</Location><Bucket>b</Bucket><Key>big.bin</Key><ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag></CompleteMultipartUploadResult>`;
        assert.deepEqual(read(op(), `  \n  \n${ok}`), { etag: '"3858f62230ac3c915f300c664312c11f-9"' });
        const failed = `<?xml version="1.0" encoding="UTF-8"?>
<Error>
<Code>InternalError</Code>
<Message>We encountered an internal error. Please try again.</Message>
<RequestId>656c76696e6727732072657175657374</RequestId>
</Error>`;
        const cases: Array<[string, string, string]> = [
            [failed, "InternalError", "We encountered an internal error. Please try again."],
            [
                "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
                "SlowDown",
                "Please reduce your request rate.",
            ],
            ["<Error></Error>", "InternalError", "CompleteMultipartUpload failed"],
        ];
        for (const [text, code, message] of cases) {
            const err = (() => {
                try {
                    read(op(), `   \n   \n${text}`);
                } catch (e) {
                    return e;
                }
                return undefined;
            })() as S3Error;
            assert.ok(err instanceof S3Error, text);
            assert.deepEqual([err.name, err.message, err.$metadata.httpStatusCode], [code, message, 500]);
        }
        // a result whose key reads <Error> (escaped in the document, as S3 writes every text)
        assert.deepEqual(
            read(
                op(),
                `<CompleteMultipartUploadResult><Key>&lt;Error&gt;</Key><ETag>"e"</ETag></CompleteMultipartUploadResult>`,
            ),
            { etag: '"e"' },
        );
    });

    test("a client retries a CompleteMultipartUpload whose 200 reply ends in an error, and then has the ETag", async () => {
        let calls = 0;
        const server = http.createServer((req, res) => {
            req.resume();
            req.on("end", () => {
                calls++;
                res.writeHead(200, { "content-type": "application/xml" });
                res.write("  \n");
                setTimeout(() => {
                    res.end(
                        calls === 1
                            ? "<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>"
                            : `<CompleteMultipartUploadResult xmlns="${S3_NS}"><ETag>"abc-1"</ETag></CompleteMultipartUploadResult>`,
                    );
                }, 5);
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const c = createClient({
            endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
            region: "us-east-1",
            credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
            bucket: "b",
            concurrency: 1,
            retry: { attempts: 3, baseMs: 1, throttleBaseMs: 1, capMs: 2 },
        });
        try {
            const done = await c.send(
                completeMultipartUpload("big.bin", "u", [{ partNumber: 1, etag: '"a"' }]),
                "COMPLETE",
            );
            assert.deepEqual(done, { etag: '"abc-1"' });
            assert.equal(calls, 2);
            assert.equal(c.stats.retries, 1);
        } finally {
            c.client.destroy();
            server.closeAllConnections();
            await new Promise((r) => server.close(r));
        }
    });
});
