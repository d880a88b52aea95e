// AWS Signature Version 4 for S3 requests (header authorisation, AWS4-HMAC-SHA256),
// computed by the `aws4` library (mhart/aws4, pinned in package.json). What stays ours is
// what aws4 is not asked to do: the URI encoding of object keys and the query string as
// they are sent, the x-amz-date stamp, and the payload hash in x-amz-content-sha256.
//
// For service "s3" aws4 takes the path as already encoded: it decodes each segment once
// and re-encodes it (RFC 3986), so a path from `uriEncode` is signed exactly as sent
// (no double encoding, `.`/`..`/`//` kept); it parses the query and re-encodes and sorts
// it the same way, and takes the payload hash from x-amz-content-sha256 when present.
//
// Checked: test/upload-s3.test.ts compares the Authorization with the AWS SDK's own
// signer (@smithy/signature-v4) for keys needing escaping, and puts a front before
// s3rver that re-signs every request of a full sync (multipart, --delete) with the
// SDK's signer and refuses any mismatch. s3rver itself does not verify V4 signatures
// (its source: "Signature version 4 calculation is not implemented").
//
// Bodies of PUTs are not hashed (`UNSIGNED-PAYLOAD`): their Content-MD5 header is
// signed instead, so a body that changes on the way still fails (BadDigest); small XML
// bodies (DeleteObjects, CompleteMultipartUpload) are hashed.
import { hash } from "node:crypto";
import { sign as aws4Sign } from "aws4";

export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export interface SigningCredentials {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
}

/**
 * RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ is
 * percent-encoded (UTF-8); `/` too unless `keepSlash` (object key paths).
 */
export function uriEncode(s: string, keepSlash = false): string {
    const out = encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    return keepSlash ? out.replace(/%2F/g, "/") : out;
}

/** The query string as sent: encoded names and values, sorted by name, then value. */
export function canonicalQuery(query: Record<string, string | undefined> | undefined): string {
    if (!query) return "";
    const pairs: string[] = [];
    for (const [k, v] of Object.entries(query)) if (v !== undefined) pairs.push(`${uriEncode(k)}=${uriEncode(v)}`);
    return pairs.sort().join("&");
}

export const sha256Hex = (data: string | Uint8Array): string => hash("sha256", data, "hex");

// The last stamp, reused within the same second: a cache only (computing the text every time gives
// the same text, which is why the mutants that always recompute it are marked equivalent). NaN is
// no second at all, so the first call always computes its stamp (-1 was 1969-12-31T23:59:59Z).
let stampSecond = Number.NaN;
// Stryker disable next-line StringLiteral: never returned, the first call replaces it
let stampText = "";
/** `20261207T004500Z` (the last one is reused within the same second) */
export function amzDate(date: Date): string {
    // Stryker disable next-line ArithmeticOperator: another "second" only makes the cache miss more often
    const second = Math.floor(date.getTime() / 1000);
    // Stryker disable next-line ConditionalExpression: always recomputing the stamp gives the same text
    if (second !== stampSecond) {
        stampText = date
            .toISOString()
            .replace(/[-:]/g, "")
            .replace(/\.\d{3}/, "");
        stampSecond = second;
    }
    return stampText;
}

export interface ToSign {
    method: string;
    /** the encoded path as sent, e.g. `/bucket/a%20b.yaml` */
    path: string;
    /** the query string as sent (canonicalQuery), without `?` */
    query: string;
    /** every header to sign, lower-case names (host included); x-amz-date and x-amz-content-sha256 are added */
    headers: Record<string, string>;
    /** hex SHA-256 of the body, UNSIGNED_PAYLOAD or EMPTY_SHA256 */
    payloadHash: string;
}

/** Signs requests for one region and service with one key pair (aws4 caches the day's signing key). */
export class SigV4Signer {
    private readonly credentials: SigningCredentials;
    private readonly region: string;
    private readonly service: string;

    constructor(credentials: SigningCredentials, region: string, service = "s3") {
        this.credentials = credentials;
        this.region = region;
        this.service = service;
    }

    /** Adds x-amz-date, x-amz-content-sha256, x-amz-security-token and authorization to `req.headers`. */
    sign(req: ToSign, now: Date = new Date()): Record<string, string> {
        const headers = req.headers;
        headers["x-amz-date"] = amzDate(now);
        headers["x-amz-content-sha256"] = req.payloadHash;
        if (this.credentials.sessionToken) headers["x-amz-security-token"] = this.credentials.sessionToken;
        // aws4 signs a copy of the headers (all of them but the few it never signs, e.g.
        // user-agent, range, expect) and adds only its Authorization to that copy.
        const signed = aws4Sign(
            {
                method: req.method,
                path: req.query ? `${req.path}?${req.query}` : req.path,
                headers,
                service: this.service,
                region: this.region,
            },
            this.credentials,
        );
        headers.authorization = String(signed.headers?.Authorization);
        return headers;
    }
}
