// Extra trust for the one call to the Flux receiver: Let's Encrypt's staging
// roots (when the stack's ACME environment is staging) and/or a CA file the
// user names with --receiver-ca. Never used for the S3 client, and
// certificate checks are never turned off. See tools/upload/certs/README.md.
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

export interface PinnedRoot {
    file: string;
    /** the certificate's subject CN, as Let's Encrypt names it */
    name: string;
    /** SHA-256 of the DER encoding, as `openssl x509 -fingerprint -sha256` prints it */
    sha256: string;
}

/** Let's Encrypt's active staging roots (letsencrypt.org/docs/staging-environment, "Root CAs"). */
export const STAGING_ROOTS: readonly PinnedRoot[] = [
    {
        file: "letsencrypt-stg-root-x1.pem",
        name: "(STAGING) Pretend Pear X1",
        sha256: "E7:05:70:A9:89:F8:56:5A:AB:DF:7C:AE:27:AB:D1:62:18:72:D6:A3:F8:11:E3:FE:F2:7E:3D:BA:02:91:21:98",
    },
    {
        file: "letsencrypt-stg-root-x2.pem",
        name: "(STAGING) Bogus Broccoli X2",
        sha256: "9B:2A:33:9F:E6:A3:E8:55:85:C4:CD:75:53:6C:B8:C1:CF:7C:D6:03:B9:A6:4B:EC:25:21:85:8A:E4:8D:A8:5D",
    },
    {
        file: "letsencrypt-stg-root-ye.pem",
        name: "(STAGING) Yearning Yucca Root YE",
        sha256: "B5:9B:FC:0B:A5:2D:AF:84:98:53:B7:32:4A:91:E8:2F:03:1D:B3:39:7F:35:64:41:57:35:2C:DE:63:84:B5:6C",
    },
    {
        file: "letsencrypt-stg-root-yr.pem",
        name: "(STAGING) Yonder Yam Root YR",
        sha256: "EF:11:5F:B5:9E:04:0F:F3:9D:15:FD:8F:3E:F5:40:63:C7:04:32:1D:83:CB:08:12:13:27:2F:77:D3:09:16:72",
    },
];

export class TrustError extends Error {}

/**
 * tools/upload/certs, found upwards from this file (`from`): tools/upload/ when run
 * from source, bin/ when run as the bundle; `certs` beside a copy of tools/upload elsewhere.
 */
export function certsDir(from: string = __dirname): string {
    // at most 8 folders up (at the root, dirname is the root again: checked again, harmlessly)
    let dir = from;
    for (let i = 0; i < 8; i++) {
        const candidate = path.join(dir, "tools", "upload", "certs");
        if (existsSync(candidate)) return candidate;
        if (path.basename(dir) === "upload" && existsSync(path.join(dir, "certs"))) return path.join(dir, "certs");
        dir = path.dirname(dir);
    }
    throw new TrustError(
        `cannot find tools/upload/certs (Let's Encrypt's staging roots) in ${from} or the 7 folders above it`,
    );
}

/** The staging roots as PEM strings, each checked against its pinned fingerprint. */
export function stagingRoots(dir: string = certsDir()): string[] {
    return STAGING_ROOTS.map((root) => {
        const file = path.join(dir, root.file);
        let pem: string;
        try {
            pem = readFileSync(file, "utf8");
        } catch (err) {
            throw new TrustError(`cannot read ${file}: ${(err as Error).message}`);
        }
        const cert = new X509Certificate(pem);
        if (cert.fingerprint256 !== root.sha256) {
            throw new TrustError(
                `${file} is not ${root.name}: its SHA-256 fingerprint is ${cert.fingerprint256}, expected ${root.sha256}`,
            );
        }
        return pem;
    });
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM file given with --receiver-ca (one or more). */
export function readCaFile(file: string): string[] {
    let text: string;
    try {
        text = readFileSync(file, "utf8");
    } catch (err) {
        throw new TrustError(`cannot read the receiver CA file ${file}: ${(err as Error).message}`);
    }
    const blocks = text.match(PEM_BLOCK) ?? [];
    if (blocks.length === 0) throw new TrustError(`the receiver CA file ${file} holds no PEM certificate`);
    for (const block of blocks) {
        try {
            new X509Certificate(block);
        } catch (err) {
            throw new TrustError(
                `the receiver CA file ${file} holds an invalid certificate: ${(err as Error).message}`,
            );
        }
    }
    return blocks;
}
