// The S3 calls of a sync, as requests for s3.ts's `send` (AWS S3 API reference
// shapes; the bucket is the client's).
import { md5 } from "./etag";
import type { BodyReader, S3Op, S3Reply } from "./s3";
import { S3Error, textReader } from "./s3";
import { childText, ElementStream, elements, escapeXml } from "./xml";

export interface ListedObject {
    key: string;
    etag?: string;
    size: number;
}

export interface ListPage {
    isTruncated: boolean;
    nextContinuationToken?: string;
}

/**
 * ListObjectsV2: one page (up to 1,000 keys). Each `<Contents>` is handed to
 * `onObject` while the page arrives; the page's own fields come back at the end.
 */
export function listObjectsV2(
    prefix: string,
    continuationToken: string | undefined,
    onObject: (o: ListedObject) => void,
): S3Op<ListPage> {
    return {
        method: "GET",
        query: { "list-type": "2", prefix: prefix || undefined, "continuation-token": continuationToken },
        reader: (): BodyReader<ListPage> => {
            const stream = new ElementStream("Contents", (inner) => {
                const key = childText(inner, "Key");
                if (key === undefined) return;
                onObject({ key, etag: childText(inner, "ETag"), size: Number(childText(inner, "Size") ?? 0) });
            });
            return {
                write: (t) => stream.write(t),
                end: () => {
                    const rest = stream.rest();
                    return {
                        isTruncated: childText(rest, "IsTruncated") === "true",
                        nextContinuationToken: childText(rest, "NextContinuationToken") || undefined,
                    };
                },
            };
        },
    };
}

const etagOf = (reply: S3Reply): string | undefined => {
    const v = reply.headers.etag;
    return Array.isArray(v) ? v[0] : v;
};

export function putObject(key: string, body: Buffer, contentMd5: string, contentType: string): S3Op<{ etag?: string }> {
    return {
        method: "PUT",
        key,
        headers: { "content-md5": contentMd5, "content-type": contentType },
        body,
        result: (reply) => ({ etag: etagOf(reply) }),
    };
}

export interface DeleteError {
    key: string;
    code?: string;
    message?: string;
}

/** DeleteObjects (quiet: only failures are listed), with the Content-MD5 S3 requires. */
export function deleteObjects(keys: readonly string[]): S3Op<{ errors: DeleteError[] }> {
    const xml =
        '<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>' +
        keys.map((k) => `<Object><Key>${escapeXml(k)}</Key></Object>`).join("") +
        "</Delete>";
    const body = Buffer.from(xml);
    return {
        method: "POST",
        query: { delete: "" },
        headers: { "content-md5": md5(body).toString("base64"), "content-type": "application/xml" },
        body,
        signBody: true,
        reader: textReader((text) => ({
            errors: elements(text, "Error").map((e) => ({
                key: childText(e, "Key") ?? "",
                code: childText(e, "Code"),
                message: childText(e, "Message"),
            })),
        })),
    };
}

export function createMultipartUpload(key: string, contentType: string): S3Op<{ uploadId?: string }> {
    return {
        method: "POST",
        key,
        query: { uploads: "" },
        headers: { "content-type": contentType },
        reader: textReader((text) => ({ uploadId: childText(text, "UploadId") })),
    };
}

export function uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Buffer,
    contentMd5: string,
): S3Op<{ etag?: string }> {
    return {
        method: "PUT",
        key,
        query: { partNumber: String(partNumber), uploadId },
        headers: { "content-md5": contentMd5 },
        body,
        result: (reply) => ({ etag: etagOf(reply) }),
    };
}

export function completeMultipartUpload(
    key: string,
    uploadId: string,
    parts: ReadonlyArray<{ etag: string; partNumber: number }>,
): S3Op<{ etag?: string }> {
    const body = Buffer.from(
        '<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
            parts
                .map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`)
                .join("") +
            "</CompleteMultipartUpload>",
    );
    return {
        method: "POST",
        key,
        query: { uploadId },
        headers: { "content-type": "application/xml" },
        body,
        signBody: true,
        reader: textReader((text) => {
            // S3 answers 200 at once, sends white space while it assembles the parts, and may then
            // report a failure in the body (AWS S3 API reference): a server error (500), retried.
            // A result never holds "<Error>" (its text is escaped).
            if (/<Error>/.test(text)) {
                throw new S3Error(
                    childText(text, "Code") ?? "InternalError",
                    childText(text, "Message") ?? "CompleteMultipartUpload failed",
                    500,
                );
            }
            return { etag: childText(text, "ETag") };
        }),
    };
}

export function abortMultipartUpload(key: string, uploadId: string): S3Op<void> {
    return { method: "DELETE", key, query: { uploadId } };
}

export interface UploadsPage {
    uploads: Array<{ key: string; uploadId: string; initiated?: Date }>;
    isTruncated: boolean;
    nextKeyMarker?: string;
    nextUploadIdMarker?: string;
}

export function listMultipartUploads(
    prefix: string,
    keyMarker: string | undefined,
    uploadIdMarker: string | undefined,
): S3Op<UploadsPage> {
    return {
        method: "GET",
        query: {
            uploads: "",
            prefix: prefix || undefined,
            "key-marker": keyMarker,
            "upload-id-marker": uploadIdMarker,
        },
        reader: textReader((text) => ({
            uploads: elements(text, "Upload").flatMap((u) => {
                const key = childText(u, "Key");
                const uploadId = childText(u, "UploadId");
                const initiated = childText(u, "Initiated");
                return key !== undefined && uploadId
                    ? [{ key, uploadId, initiated: initiated ? new Date(initiated) : undefined }]
                    : [];
            }),
            isTruncated: childText(text, "IsTruncated") === "true",
            nextKeyMarker: childText(text, "NextKeyMarker") || undefined,
            nextUploadIdMarker: childText(text, "NextUploadIdMarker") || undefined,
        })),
    };
}
