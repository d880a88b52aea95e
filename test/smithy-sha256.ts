// node:crypto in the shape @smithy/signature-v4 wants (its Checksum interface), for the tests and
// bench/sigv4.ts that put the AWS SDK's own signer beside the tool's.
import { createHash, createHmac } from "node:crypto";

type Source = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (d: Source): string | Uint8Array =>
    typeof d === "string"
        ? d
        : d instanceof ArrayBuffer
          ? new Uint8Array(d)
          : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

export class Sha256 {
    private readonly h: { update(d: string | Uint8Array): unknown; digest(): Buffer };
    constructor(secret?: Source) {
        this.h = secret === undefined ? createHash("sha256") : createHmac("sha256", bytesOf(secret));
    }
    update(data: Source): void {
        this.h.update(bytesOf(data));
    }
    async digest(): Promise<Uint8Array> {
        return new Uint8Array(this.h.digest());
    }
    reset(): void {
        throw new Error("not used");
    }
}
