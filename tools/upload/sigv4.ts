// AWS Signature Version 4 for S3 requests (header authorisation), as the AWS
// reference specifies it ("Authenticating Requests: Using the Authorization
// Header", AWS4-HMAC-SHA256). Its output is checked against the AWS SDK's own
// signer (@smithy/signature-v4) in test/upload-s3.test.ts and accepted by
// s3rver, which verifies every signature, in all upload tests.
//
// Small on purpose: the signing key is derived once per day, each request costs
// one SHA-256 of its canonical request and one HMAC. Bodies of PUTs are not
// hashed (`UNSIGNED-PAYLOAD`): their Content-MD5 header is signed instead, so a
// body that changes on the way still fails (BadDigest), and small XML bodies
// (DeleteObjects, CompleteMultipartUpload) are hashed.
import { createHmac, hash } from "node:crypto";

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

/** The canonical (and wire) query string: encoded names and values, sorted by name, then value. */
export function canonicalQuery(query: Record<string, string | undefined> | undefined): string {
    if (!query) return "";
    const pairs: string[] = [];
    for (const [k, v] of Object.entries(query)) if (v !== undefined) pairs.push(`${uriEncode(k)}=${uriEncode(v)}`);
    return pairs.sort().join("&");
}

export const sha256Hex = (data: string | Uint8Array): string => hash("sha256", data, "hex");

let stampSecond = -1;
let stampText = "";
/** `20261207T004500Z` (the last one is reused within the same second) */
export function amzDate(date: Date): string {
    const second = Math.floor(date.getTime() / 1000);
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
    /** the canonical query string (canonicalQuery), as sent */
    query: string;
    /** every header to sign, lower-case names (host included); x-amz-date and x-amz-content-sha256 are added */
    headers: Record<string, string>;
    /** hex SHA-256 of the body, UNSIGNED_PAYLOAD or EMPTY_SHA256 */
    payloadHash: string;
}

/** Signs requests for one region and service with one key pair. */
export class SigV4Signer {
    private keyDay = "";
    private key: Buffer = Buffer.alloc(0);
    private readonly credentials: SigningCredentials;
    private readonly region: string;
    private readonly service: string;

    constructor(credentials: SigningCredentials, region: string, service = "s3") {
        this.credentials = credentials;
        this.region = region;
        this.service = service;
    }

    private signingKey(day: string): Buffer {
        if (day !== this.keyDay) {
            const kDate = createHmac("sha256", `AWS4${this.credentials.secretAccessKey}`).update(day).digest();
            const kRegion = createHmac("sha256", kDate).update(this.region).digest();
            const kService = createHmac("sha256", kRegion).update(this.service).digest();
            this.key = createHmac("sha256", kService).update("aws4_request").digest();
            this.keyDay = day;
        }
        return this.key;
    }

    /** Adds x-amz-date, x-amz-content-sha256, x-amz-security-token and authorization to `req.headers`. */
    sign(req: ToSign, now: Date = new Date()): Record<string, string> {
        const stamp = amzDate(now);
        const day = stamp.slice(0, 8);
        const headers = req.headers;
        headers["x-amz-date"] = stamp;
        headers["x-amz-content-sha256"] = req.payloadHash;
        if (this.credentials.sessionToken) headers["x-amz-security-token"] = this.credentials.sessionToken;
        const names = Object.keys(headers).sort();
        let canonicalHeaders = "";
        for (const n of names) canonicalHeaders += `${n}:${headers[n]!.trim().replace(/\s+/g, " ")}\n`;
        const signed = names.join(";");
        const canonical = `${req.method}\n${req.path}\n${req.query}\n${canonicalHeaders}\n${signed}\n${req.payloadHash}`;
        const scope = `${day}/${this.region}/${this.service}/aws4_request`;
        const toSign = `AWS4-HMAC-SHA256\n${stamp}\n${scope}\n${sha256Hex(canonical)}`;
        const signature = createHmac("sha256", this.signingKey(day)).update(toSign).digest("hex");
        headers.authorization = `AWS4-HMAC-SHA256 Credential=${this.credentials.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}`;
        return headers;
    }
}
