import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { SOPS_AGE_SECRET } from "../components/flux/sync";
import { AGE_KEY_BYTES, ageIdentityFromBytes, ageRecipient, SopsAgeKey } from "../components/sops-age-key";
import { render } from "../tools/render/render";
import { applyPatches, generatedSyncObjects } from "./flux-operator-sync";
import {
    baseConfig,
    baseStack,
    inputValue,
    isSecretOutput,
    MockRecorder,
    reveal,
    runComponent,
    runStack,
} from "./harness";

const BYTES = "random:index/randomBytes:RandomBytes";
const ROOT = join(__dirname, "..");

/** BIP-173 Bech32 decoding, written from the spec (independent of @scure/base). */
function bech32Decode(s: string): { hrp: string; data: Buffer } {
    const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    const lower = s.toLowerCase();
    const sep = lower.lastIndexOf("1");
    const hrp = lower.slice(0, sep);
    const values = [...lower.slice(sep + 1)].map((c) => {
        const v = CHARSET.indexOf(c);
        assert.ok(v >= 0, `bad bech32 character ${c}`);
        return v;
    });
    let chk = 1;
    const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    const expanded = [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)];
    for (const v of [...expanded, ...values]) {
        const top = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ v;
        for (let i = 0; i < 5; i++) if ((top >> i) & 1) chk ^= GEN[i]!;
    }
    assert.equal(chk, 1, "bech32 checksum");
    const words = values.slice(0, -6);
    const out: number[] = [];
    let acc = 0;
    let bits = 0;
    for (const w of words) {
        acc = (acc << 5) | w;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out.push((acc >> bits) & 0xff);
        }
    }
    return { hrp, data: Buffer.from(out) };
}

/** The X25519 public key of a raw private key, by Node's own crypto (OpenSSL). */
function x25519Public(secret: Buffer): Buffer {
    const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b656e04220420", "hex"), secret]);
    const key = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
    return Buffer.from(createPublicKey(key).export({ format: "jwk" }).x as string, "base64url");
}

function walk(dir: string): string[] {
    return readdirSync(dir).flatMap((f) => {
        const p = join(dir, f);
        return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

describe("the stack's age key", () => {
    test("the identity is the Bech32 AGE-SECRET-KEY- encoding of the key bytes; the recipient is their X25519 public key", async () => {
        const key = randomBytes(AGE_KEY_BYTES);
        const identity = await ageIdentityFromBytes(key);
        assert.match(identity, /^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
        const decoded = bech32Decode(identity);
        assert.equal(decoded.hrp, "age-secret-key-");
        assert.deepEqual(decoded.data, key);

        const recipient = await ageRecipient(identity);
        assert.match(recipient, /^age1[0-9a-z]{58}$/);
        const pub = bech32Decode(recipient);
        assert.equal(pub.hrp, "age");
        assert.deepEqual(pub.data, x25519Public(key));
        await assert.rejects(ageIdentityFromBytes(randomBytes(31)), /32 bytes, got 31/);
    });

    test("the key material is 32 random bytes kept in state as secrets", async () => {
        const { recorder, value } = await runComponent(() => new SopsAgeKey("sops-age"));
        const bytes = recorder.get(BYTES, "sops-age-bytes");
        assert.equal(bytes.inputs.length, AGE_KEY_BYTES);
        const opts = recorder.construction(BYTES, "sops-age-bytes").opts as pulumi.CustomResourceOptions;
        assert.ok(["base64", "hex"].every((k) => opts.additionalSecretOutputs?.includes(k)));
        assert.equal(await isSecretOutput(value.identity), true);
        assert.equal(await isSecretOutput(value.recipient), false, "the recipient is public");
        const identity = await inputValue(value.identity);
        assert.equal(identity, await ageIdentityFromBytes(Buffer.from(String(bytes.state.base64), "base64")));
    });

    test("stable across two runs with the same state; a new key for a new state", async () => {
        const first = new MockRecorder();
        const run1 = await runStack(baseConfig(), { recorder: first });
        assert.equal(run1.error, undefined, String(run1.error));
        const state = first.get(BYTES, "sops-age-bytes").state;

        const second = new MockRecorder(undefined, {}, { [`${BYTES}::sops-age-bytes`]: state });
        const run2 = await runStack(baseConfig(), { recorder: second });
        const fresh = await runStack(baseConfig(), { recorder: new MockRecorder() });

        const agekey = (r: MockRecorder) =>
            r.kubeObject("Secret", SOPS_AGE_SECRET.name).stringData[SOPS_AGE_SECRET.key];
        assert.equal(agekey(first), agekey(second));
        assert.equal(run1.outputs!.sopsAgeRecipient, run2.outputs!.sopsAgeRecipient);
        assert.notEqual(run1.outputs!.sopsAgeRecipient, fresh.outputs!.sopsAgeRecipient);
        // the Secret holds the identity of the recipient the stack exports
        const identity = String(agekey(first)).trim();
        assert.equal(identity, await ageIdentityFromBytes(Buffer.from(String(state.base64), "base64")));
        assert.equal(await ageRecipient(identity), run1.outputs!.sopsAgeRecipient);
    });

    test("the identity is a secret in the Secret and the outputs; the recipient is a plain output", async () => {
        const recorder = new MockRecorder();
        const run = await runStack(baseConfig(), { recorder });
        const secret = recorder.kube("Secret").find((r) => reveal<any>(r.inputs).metadata.name === "sops-age")!;
        assert.equal(await isSecretOutput(run.rawOutputs!.sopsAgeRecipient), false);
        assert.equal(await isSecretOutput(run.rawOutputs!.sopsAgeIdentity), true);
        const raw = JSON.stringify(secret.inputs);
        assert.ok(raw.includes("4dabf18193072939515e22adb298388d"), "stringData is a secret value");
        const identity = String(reveal<any>(secret.inputs).stringData[SOPS_AGE_SECRET.key]).trim();
        assert.match(identity, /^AGE-SECRET-KEY-1/);
        assert.equal(reveal<any>(secret.inputs).metadata.namespace, "flux-system");
        assert.equal(await inputValue(run.rawOutputs!.sopsAgeIdentity as never), identity);
        for (const [k, v] of Object.entries(run.rawOutputs!)) {
            if (await isSecretOutput(v)) continue;
            assert.equal(JSON.stringify(await inputValue(v as never)).includes(identity), false, `${k} leaks it`);
        }
    });

    test("make render shows the recipient and never the identity", async () => {
        const out = mkdtempSync(join(tmpdir(), "render-age-"));
        const { recorder } = await render({ root: ROOT, stack: "dev", out });
        const state = recorder.get(BYTES, "sops-age-bytes").state;
        const identity = await ageIdentityFromBytes(Buffer.from(String(state.base64), "base64"));
        const text = walk(out)
            .map((f) => readFileSync(f, "utf8"))
            .join("\n");
        assert.equal(text.includes(identity), false, "the identity leaked into the render");
        assert.equal(text.includes(String(state.base64)), false, "the key bytes leaked into the render");
        const secret = parse(readFileSync(join(out, "kubernetes/flux-system/Secret-sops-age.yaml"), "utf8"));
        assert.deepEqual(secret.stringData, { "age.agekey": "[secret]" });
        const outputs = JSON.parse(readFileSync(join(out, "outputs.json"), "utf8"));
        assert.equal(outputs.sopsAgeRecipient, await ageRecipient(identity));
        assert.equal(outputs.sopsAgeIdentity, "[secret]");
    });
});

describe("every Kustomization the stack creates decrypts with sops-age", () => {
    const decryption = { provider: "sops", secretRef: { name: "sops-age" } };

    test("the root Kustomization (operator path: a FluxInstance patch) and KCert's", async () => {
        const { recorder } = await baseStack();
        const fi = recorder.kubeObject("FluxInstance", "flux");
        const { kustomization } = generatedSyncObjects(fi.spec);
        const root = applyPatches(kustomization, fi.spec.kustomize.patches);
        assert.deepEqual(root.spec.decryption, decryption);
        assert.deepEqual(recorder.kubeObject("Kustomization", "kcert").spec.decryption, decryption);
        // the Secret exists before anything that decrypts with it
        const secretKey = "kubernetes:core/v1:Secret::flux-sops-age";
        assert.ok(
            recorder
                .dependsOn("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux-instance")
                .includes(secretKey),
        );
        assert.ok(
            recorder
                .dependsOn("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "kcert-kustomization")
                .includes(secretKey),
        );
    });

    test("the root Kustomization on an existing Flux installation", async () => {
        const { recorder, error } = await runStack(
            {
                target: "existing-cluster",
                existingCluster: { context: "kind-gitops" },
                flux: { installation: "existing" },
            },
            { program: { requireCredentials: false } },
        );
        assert.equal(error, undefined, String(error));
        const k = recorder.kubeObject("Kustomization", "flux-system");
        assert.deepEqual(k.spec.decryption, decryption);
        assert.equal(recorder.kubeObject("Secret", "sops-age").metadata.namespace, "flux-system");
        assert.ok(
            recorder
                .dependsOn("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "flux-sync-kustomization")
                .includes("kubernetes:core/v1:Secret::flux-sync-sops-age"),
        );
    });
});

describe("rotating the age key (SopsAgeKeyArgs.rotation)", () => {
    // @pulumi/random: changing any value of a resource's `keepers` replaces it, i.e. new bytes.
    test("rotation becomes RandomBytes' keepers; without it there are none (the key never changes)", async () => {
        const rotated = await runComponent(() => new SopsAgeKey("k", { rotation: "2026-12-07" }));
        assert.deepEqual(rotated.recorder.get(BYTES, "k-bytes").inputs.keepers, { rotation: "2026-12-07" });
        const plain = await runComponent(() => new SopsAgeKey("k"));
        assert.equal(plain.recorder.get(BYTES, "k-bytes").inputs.keepers, undefined);
    });

    test("only a 32-byte key is an age X25519 identity: 31 and 33 bytes are refused, by length", async () => {
        for (const n of [0, 31, 33, 64]) {
            await assert.rejects(
                ageIdentityFromBytes(randomBytes(n)),
                (e: Error) => e.message === `an age X25519 secret key is 32 bytes, got ${n}`,
            );
        }
    });
});
