// `npx tsx bench/sigv4.ts [--n 20000] [--rounds 5]`: CPU per SigV4 signature of an S3 PUT
// (UNSIGNED-PAYLOAD, Content-MD5 signed, a key needing escaping), side by side:
//   aws4   - the tool's signer (tools/upload/sigv4.ts over aws4), as s3.ts calls it
//   smithy - the AWS SDK's @smithy/signature-v4 (async, node:crypto hashes), the reference
// Each round signs N requests with each signer in turn (after a warm-up round); prints the
// median, min and max of µs per signature (process CPU, user + system) over the rounds,
// and checks first that both give the same Authorization. Nothing but the CPU; no network.
import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "../test/smithy-sha256";
import { SigV4Signer, UNSIGNED_PAYLOAD, uriEncode } from "../tools/upload/sigv4";

const { values: opts } = parseArgs({
    options: { n: { type: "string", default: "20000" }, rounds: { type: "string", default: "5" } },
});
const N = Number(opts.n);
const ROUNDS = Number(opts.rounds);
if (!Number.isInteger(N) || N < 1 || N > 1_000_000) throw new Error("--n must be 1..1000000");
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 50) throw new Error("--rounds must be 1..50");

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalr/XUtnFEMI+K7MDENG" };
const HOST = "127.0.0.1:9000";
const MD5 = "1B2M2Y8AsgTpgAmY7PhCfg==";
const keyOf = (i: number) => `team a/apps/app-${i % 20}/file ${i} (ü)+.yaml`;

const ours = new SigV4Signer(credentials, "fra1");
const sdk = new SignatureV4({ credentials, region: "fra1", service: "s3", sha256: Sha256, uriEscapePath: false });

function signOurs(i: number, when: Date): string {
    const headers: Record<string, string> = { host: HOST, "content-md5": MD5, "content-length": "4096" };
    const path = `/bench/${uriEncode(keyOf(i), true)}`;
    return ours.sign({ method: "PUT", path, query: "", headers, payloadHash: UNSIGNED_PAYLOAD }, when).authorization!;
}

async function signSdk(i: number, when: Date): Promise<string> {
    const signed = await sdk.sign(
        {
            method: "PUT",
            protocol: "http:",
            hostname: "127.0.0.1",
            port: 9000,
            path: `/bench/${uriEncode(keyOf(i), true)}`,
            query: {},
            headers: {
                host: HOST,
                "content-md5": MD5,
                "content-length": "4096",
                "x-amz-content-sha256": UNSIGNED_PAYLOAD,
            },
        },
        { signingDate: when },
    );
    return String(signed.headers.authorization);
}

async function usPerSignature(sign: (i: number, when: Date) => string | Promise<string>): Promise<number> {
    const when = new Date();
    const t0 = process.cpuUsage();
    for (let i = 0; i < N; i++) await sign(i, when);
    const d = process.cpuUsage(t0);
    return (d.user + d.system) / N;
}

async function main(): Promise<void> {
    const when = new Date("2026-12-07T01:02:03Z");
    assert.equal(signOurs(7, when), await signSdk(7, when), "aws4 and the SDK disagree");
    const signers = { aws4: signOurs, smithy: signSdk } as const;
    const results: Record<string, number[]> = { aws4: [], smithy: [] };
    for (const name of Object.keys(signers) as Array<keyof typeof signers>) await usPerSignature(signers[name]);
    for (let r = 0; r < ROUNDS; r++) {
        const order = (r % 2 ? ["smithy", "aws4"] : ["aws4", "smithy"]) as Array<keyof typeof signers>;
        for (const name of order) results[name]!.push(await usPerSignature(signers[name]));
    }
    console.log(`${N} PUT signatures per round, ${ROUNDS} round(s), Node ${process.version}; CPU µs per signature:`);
    for (const [name, xs] of Object.entries(results)) {
        const s = [...xs].sort((a, b) => a - b);
        const median = s[Math.floor(s.length / 2)]!;
        console.log(
            `  ${name.padEnd(7)} median ${median.toFixed(2)}  (min ${s[0]!.toFixed(2)}, max ${s.at(-1)!.toFixed(2)})`,
        );
    }
}

main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
});
