// make seal with the real, pinned sops: the file is encrypted for the stack's recipient (only
// data/stringData, by the repository's .sops.yaml), and sops decrypts it with the identity the
// stack derives.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import { ageIdentityFromBytes, ageRecipient } from "../components/age-identity";
import { versions } from "../components/versions";
import { plaintextReason } from "../tools/sops/guard";
import { ensureSops, runSeal } from "../tools/sops/seal";

const REPO = path.resolve(__dirname, "..");
const SECRET =
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: api-key\n  namespace: apps\nstringData:\n  key: s3cr3t-value\n";

let sops: string;
let identity: string;
let recipient: string;
const dirs: string[] = [];
before(async () => {
    sops = ensureSops();
    identity = await ageIdentityFromBytes(randomBytes(32));
    recipient = await ageRecipient(identity);
});
after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `<tmp>/deploy/apps/secret.yaml` beside a copy of the repository's .sops.yaml. */
function secretFile(content = SECRET): string {
    const parent = mkdtempSync(path.join(tmpdir(), "seal-"));
    dirs.push(parent);
    copyFileSync(path.join(REPO, ".sops.yaml"), path.join(parent, ".sops.yaml"));
    mkdirSync(path.join(parent, "deploy/apps"), { recursive: true });
    const file = path.join(parent, "deploy/apps/secret.yaml");
    writeFileSync(file, content);
    return file;
}

function capture() {
    const lines: string[] = [];
    return { lines, out: (l: string) => void lines.push(l), err: (l: string) => void lines.push(l) };
}

const decrypt = (file: string) =>
    execFileSync(sops, ["decrypt", file], {
        encoding: "utf8",
        env: { PATH: process.env.PATH, SOPS_AGE_KEY: identity },
    });

describe("make seal", () => {
    test("the pinned sops is the release kustomize-controller v1.9.4 decrypts with", () => {
        const v = execFileSync(sops, ["--version", "--disable-version-check"], { encoding: "utf8" });
        assert.equal(v.split("\n")[0], `sops ${versions.sops.version.slice(1)}`);
        assert.equal(versions.sops.version, "v3.13.2");
    });

    test("encrypts only data/stringData for the stack output sopsAgeRecipient; the stack's identity decrypts it", async () => {
        const file = secretFile();
        // a deployed stack whose outputs name the recipient (helpers-s3's stackReader, without
        // loading that module's AWS SDK: 0.5 s of CPU)
        const stack = {
            calls: [] as string[],
            read: async (name: string) => {
                stack.calls.push(name);
                return { sopsAgeRecipient: recipient };
            },
        };
        const c = capture();
        const code = await runSeal(["--file", file, "--stack", "prod"], {
            ...c,
            env: { PATH: process.env.PATH },
            readStackOutputs: stack.read,
            sops,
        });
        assert.equal(code, 0, c.lines.join("\n"));
        assert.deepEqual(stack.calls, ["prod"]);
        const sealed = parse(readFileSync(file, "utf8"));
        assert.equal(sealed.metadata.name, "api-key");
        assert.match(sealed.stringData.key, /^ENC\[AES256_GCM,/);
        assert.equal(sealed.sops.encrypted_regex, "^(data|stringData)$");
        assert.equal(sealed.sops.age[0].recipient, recipient);
        assert.equal(plaintextReason(sealed), undefined);
        assert.equal(readFileSync(file, "utf8").includes("s3cr3t-value"), false);
        assert.deepEqual(parse(decrypt(file)), parse(SECRET));
    });

    test("refuses a sealed file, a file with other kinds, and a recipient that is not age's; the file is left as it was", async () => {
        const file = secretFile();
        const env = { PATH: process.env.PATH, SOPS_AGE_RECIPIENT: recipient };
        const deps = { env, sops };
        assert.equal(await runSeal(["--file", file], { ...capture(), ...deps }), 0);
        const c = capture();
        assert.equal(await runSeal(["--file", file], { ...c, ...deps }), 1);
        assert.match(c.lines.join("\n"), /Secret apps\/api-key is already sealed/);

        const mixed = secretFile(
            `${SECRET}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n`,
        );
        const m = capture();
        assert.equal(await runSeal(["--file", mixed], { ...m, ...deps }), 1);
        assert.match(m.lines.join("\n"), /ConfigMap c is not a Secret/);
        assert.ok(readFileSync(mixed, "utf8").includes("s3cr3t-value"), "left unchanged");

        const plain = secretFile();
        const r = capture();
        assert.equal(await runSeal(["--file", plain, "--recipient", "age1nope"], { ...r, ...deps }), 1);
        assert.match(r.lines.join("\n"), /--recipient is not an age recipient/);
        assert.equal(readFileSync(plain, "utf8"), SECRET);
    });

    test("make seal FILE=… runs it (SOPS_AGE_RECIPIENT instead of a deployed stack)", () => {
        const file = secretFile();
        const run = spawnSync("make", ["-s", "-C", REPO, "seal", `FILE=${file}`], {
            encoding: "utf8",
            env: { ...process.env, SOPS_AGE_RECIPIENT: recipient },
            timeout: 300_000,
        });
        assert.equal(run.status, 0, run.stdout + run.stderr);
        assert.match(run.stdout, new RegExp(`sealed .*secret\\.yaml for ${recipient} \\(SOPS_AGE_RECIPIENT\\)`));
        assert.deepEqual(parse(decrypt(file)), parse(SECRET));
    });
});
