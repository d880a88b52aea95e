// The upload tool's signer and XML reader, in process and against published facts: the four
// worked examples of AWS's "Signature Version 4: examples of header-based authentication" for
// S3 (GET object, PUT object, GET bucket lifecycle, list objects; their access key, secret,
// date and resulting Authorization headers are AWS's), XML 1.0's five predefined entities and
// character references. The first test file of `make mutation GROUP=upload-s3`; the signer is
// also compared with the AWS SDK's on many keys in test/upload-s3.test.ts.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import {
    amzDate,
    canonicalQuery,
    EMPTY_SHA256,
    SigV4Signer,
    sha256Hex,
    UNSIGNED_PAYLOAD,
    uriEncode,
} from "../tools/upload/sigv4";
import { childText, ElementStream, elements, escapeXml, unescapeXml } from "../tools/upload/xml";

const AWS_EXAMPLE = {
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const WHEN = new Date("2013-05-24T00:00:00Z");
// AWS's examples print the header's three parts joined by "," and elsewhere by ", "; S3 accepts
// either, aws4 writes ", "
const auth = (signedHeaders: string, signature: string) =>
    `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=${signedHeaders}, Signature=${signature}`;

describe("upload SigV4: AWS's worked examples", () => {
    const signer = new SigV4Signer(AWS_EXAMPLE, "us-east-1");
    const host = "examplebucket.s3.amazonaws.com";

    test("PUT object test$file.text (REDUCED_REDUNDANCY, body 'Welcome to Amazon S3.')", () => {
        const body = "Welcome to Amazon S3.";
        const payloadHash = createHash("sha256").update(body).digest("hex");
        assert.equal(sha256Hex(body), payloadHash);
        const headers: Record<string, string> = {
            host,
            date: "Fri, 24 May 2013 00:00:00 GMT",
            "x-amz-storage-class": "REDUCED_REDUNDANCY",
        };
        const out = signer.sign(
            { method: "PUT", path: `/${uriEncode("test$file.text", true)}`, query: "", headers, payloadHash },
            WHEN,
        );
        assert.equal(out, headers, "the request's own headers are completed");
        assert.equal(headers["x-amz-date"], "20130524T000000Z");
        assert.equal(headers["x-amz-content-sha256"], payloadHash);
        assert.equal(
            headers.authorization,
            auth(
                "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
            ),
        );
        assert.equal(headers["x-amz-security-token"], undefined);
    });

    test("GET bucket lifecycle (?lifecycle) and list objects (?max-keys=2&prefix=J), empty payloads", () => {
        assert.equal(EMPTY_SHA256, createHash("sha256").update("").digest("hex"));
        const lifecycle: Record<string, string> = { host };
        signer.sign(
            {
                method: "GET",
                path: "/",
                query: canonicalQuery({ lifecycle: "" }),
                headers: lifecycle,
                payloadHash: EMPTY_SHA256,
            },
            WHEN,
        );
        assert.equal(
            lifecycle.authorization,
            auth(
                "host;x-amz-content-sha256;x-amz-date",
                "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
            ),
        );
        const list: Record<string, string> = { host };
        signer.sign(
            {
                method: "GET",
                path: "/",
                query: canonicalQuery({ prefix: "J", "max-keys": "2", absent: undefined }),
                headers: list,
                payloadHash: EMPTY_SHA256,
            },
            WHEN,
        );
        assert.equal(
            list.authorization,
            auth(
                "host;x-amz-content-sha256;x-amz-date",
                "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
            ),
        );
    });

    test("a session token is sent and signed; another region or service changes the scope", () => {
        const withToken = new SigV4Signer({ ...AWS_EXAMPLE, sessionToken: "token/+=" }, "fra1");
        const h: Record<string, string> = { host };
        withToken.sign({ method: "GET", path: "/", query: "", headers: h, payloadHash: UNSIGNED_PAYLOAD }, WHEN);
        assert.equal(h["x-amz-security-token"], "token/+=");
        assert.equal(h["x-amz-content-sha256"], "UNSIGNED-PAYLOAD");
        assert.match(
            h.authorization!,
            /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/20130524\/fra1\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
        );
        const other = new SigV4Signer(AWS_EXAMPLE, "us-east-1", "sqs");
        const o: Record<string, string> = { host };
        other.sign({ method: "GET", path: "/", query: "", headers: o, payloadHash: EMPTY_SHA256 }, WHEN);
        assert.match(o.authorization!, /\/20130524\/us-east-1\/sqs\/aws4_request, /);
    });

    test("x-amz-date is the ISO 8601 basic form in UTC, new for every second", () => {
        assert.equal(amzDate(new Date("2026-12-07T00:45:00.123Z")), "20261207T004500Z");
        assert.equal(amzDate(new Date("2026-12-07T00:45:00.999Z")), "20261207T004500Z");
        assert.equal(amzDate(new Date("2026-12-07T00:45:01.000Z")), "20261207T004501Z");
        assert.equal(amzDate(new Date("1999-01-02T03:04:05.000Z")), "19990102T030405Z");
    });

    test("a fresh module's first stamp is computed, whatever the second (even 1969-12-31T23:59:59Z)", () => {
        const file = require.resolve("../tools/upload/sigv4");
        const loaded = require.cache[file];
        delete require.cache[file];
        try {
            const fresh = require(file) as { amzDate: typeof amzDate };
            assert.notEqual(fresh.amzDate, amzDate, "a second instance of the module");
            assert.equal(fresh.amzDate(new Date("1969-12-31T23:59:59.500Z")), "19691231T235959Z");
        } finally {
            require.cache[file] = loaded;
        }
    });
});

describe("upload SigV4: encoding", () => {
    test("RFC 3986 unreserved characters stay, everything else is %XX of its UTF-8 bytes; / only in key paths", () => {
        assert.equal(uriEncode("AZaz09-._~"), "AZaz09-._~");
        assert.equal(uriEncode("!'()*"), "%21%27%28%29%2A");
        assert.equal(uriEncode("a b+c&d=e/f"), "a%20b%2Bc%26d%3De%2Ff");
        assert.equal(uriEncode("a b/c", true), "a%20b/c");
        assert.equal(uriEncode("é€"), "%C3%A9%E2%82%AC");
        assert.equal(uriEncode("%2F"), "%252F");
        assert.equal(uriEncode("%2F", true), "%252F");
    });

    test("the query: encoded pairs sorted by name, flags as name=, undefined values left out", () => {
        assert.equal(canonicalQuery(undefined), "");
        assert.equal(canonicalQuery({}), "");
        assert.equal(
            canonicalQuery({
                uploads: "",
                prefix: "a b/",
                "continuation-token": "x+y=",
                "list-type": "2",
                gone: undefined,
            }),
            "continuation-token=x%2By%3D&list-type=2&prefix=a%20b%2F&uploads=",
        );
    });
});

describe("upload XML: S3's replies", () => {
    test("the five predefined entities and character references are resolved; anything else is kept", () => {
        assert.equal(unescapeXml("&amp;&lt;&gt;&quot;&apos;"), "&<>\"'");
        assert.equal(unescapeXml("a&#13;b&#x1F;c&#x1f600;&#65;"), "a\rb\u001fc\u{1f600}A");
        assert.equal(unescapeXml("&#x10FFFF;"), "\u{10ffff}");
        assert.equal(unescapeXml("&#x110000;&#1114112;"), "&#x110000;&#1114112;");
        assert.equal(unescapeXml("&nbsp;&X41;&#X41;&amp"), "&nbsp;&X41;&#X41;&amp");
        assert.equal(unescapeXml("&amp;lt;"), "&lt;", "one level only");
        assert.equal(unescapeXml("plain text"), "plain text");
    });

    test("escapeXml writes the five entities; unescapeXml reads them back", () => {
        const s = `a&b<c>d"e'f`;
        assert.equal(escapeXml(s), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
        assert.equal(unescapeXml(escapeXml(s)), s);
    });

    test("childText: the first element's text, unescaped; an empty element is empty; a missing or unclosed one is absent", () => {
        const doc = "<R><Keys>k</Keys><Key>a&amp;b</Key><Key>second</Key><Empty/><Open>x</R>";
        assert.equal(childText(doc, "Key"), "a&b");
        assert.equal(childText(doc, "Keys"), "k");
        assert.equal(childText(doc, "Empty"), "");
        assert.equal(childText(doc, "Missing"), undefined);
        assert.equal(childText(doc, "Open"), undefined);
        assert.equal(childText("<Code></Code>", "Code"), "");
    });

    test("elements: every complete element's inner text in order, not unescaped; an unclosed last one is dropped", () => {
        const doc = "<L><E>1</E><Ex>no</Ex><E>a&amp;b</E><E></E><E>3</E><E>open";
        assert.deepEqual(elements(doc, "E"), ["1", "a&amp;b", "", "3"]);
        assert.deepEqual(elements("<E><E>x</E>", "E"), ["<E>x"]);
        assert.deepEqual(elements("none", "E"), []);
    });

    test("ElementStream: the same elements and the same outside text however the document is cut", () => {
        const doc =
            '<?xml version="1.0"?><ListBucketResult><Name>b</Name><Contents><Key>a</Key></Contents>' +
            "<IsTruncated>true</IsTruncated><Contents><Key>b&amp;c</Key></Contents><Contents></Contents>" +
            "<NextContinuationToken>t</NextContinuationToken></ListBucketResult>";
        const outside =
            '<?xml version="1.0"?><ListBucketResult><Name>b</Name><IsTruncated>true</IsTruncated>' +
            "<NextContinuationToken>t</NextContinuationToken></ListBucketResult>";
        for (let cut = 0; cut <= doc.length; cut++) {
            for (const step of [1, 3, doc.length]) {
                const got: string[] = [];
                const s = new ElementStream("Contents", (inner) => got.push(inner));
                s.write(doc.slice(0, cut));
                for (let at = cut; at < doc.length; at += step) s.write(doc.slice(at, at + step));
                assert.deepEqual(got, ["<Key>a</Key>", "<Key>b&amp;c</Key>", ""], `cut ${cut}, step ${step}`);
                assert.equal(s.rest(), outside, `cut ${cut}, step ${step}`);
                assert.equal(s.rest(), "", "rest() empties the stream");
            }
        }
    });

    test("ElementStream keeps only the unfinished element while a long reply arrives", () => {
        let n = 0;
        const s = new ElementStream("Contents", () => n++);
        const one = "<Contents><Key>k</Key></Contents>";
        for (let i = 0; i < 1000; i++) s.write(one);
        s.write("<Contents><Key>unfinished");
        assert.equal(n, 1000);
        assert.equal(s.rest(), "<Contents><Key>unfinished");
    });
});
