// The plaintext-Secret guard of make validate and make upload-do, against a copy of deploy/ with
// one Secret: plaintext (refused, the file named, nothing uploaded) and sealed for real with the
// pinned sops for an age recipient of the stack's kind (validated and uploaded).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parse, stringify } from "yaml";
import { ageIdentityFromBytes, ageRecipient } from "../components/age-identity";
import { ALLOW_FILE, findPlaintextSecrets, mayHoldSecret, plaintextReason } from "../tools/sops/guard";
import { runUpload } from "../tools/upload/cli";
import { ensureKustomize, formatProblem, validateDeploy } from "../tools/validate/validate";
import { captureIo, s3Env, stackReader, useLocalS3 } from "./helpers-s3";
import { cachedKustomizeBuild } from "./kustomize-objects";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const REPO = path.resolve(__dirname, "..");
const SECRET = [
    "apiVersion: v1",
    "kind: Secret",
    "metadata:",
    "  name: db-password",
    "  namespace: podinfo",
    "type: Opaque",
    "stringData:",
    "  password: correct-horse-battery-staple",
    "data:",
    "  token: aHVudGVyMg==",
    "",
].join("\n");

let kustomize: string;
let sops: string;
let identity: string;
let recipient: string;
const dirs: string[] = [];
before(async () => {
    kustomize = ensureKustomize();
    sops = execFileSync(path.join(REPO, "tools/sops/ensure-sops.sh"), { encoding: "utf8", timeout: 900_000 }).trim();
    identity = await ageIdentityFromBytes(randomBytes(32));
    recipient = await ageRecipient(identity);
});
after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A copy of deploy/ (as `<tmp>/deploy`) whose dev apps layer also applies apps/secrets/secret.yaml. */
function treeWithSecret(content = SECRET): string {
    const parent = mkdtempSync(path.join(tmpdir(), "guard-"));
    dirs.push(parent);
    const root = path.join(parent, "deploy");
    cpSync(path.join(REPO, "deploy"), root, { recursive: true });
    cpSync(path.join(REPO, ".sops.yaml"), path.join(parent, ".sops.yaml"));
    mkdirSync(path.join(root, "apps/secrets"));
    writeFileSync(path.join(root, "apps/secrets/secret.yaml"), content);
    writeFileSync(path.join(root, "apps/secrets/kustomization.yaml"), "resources:\n  - secret.yaml\n");
    const apps = path.join(root, "apps/dev/kustomization.yaml");
    const k = parse(readFileSync(apps, "utf8"));
    k.resources.push("../secrets");
    writeFileSync(apps, stringify(k));
    return root;
}

/** Encrypts the file in place with the pinned sops and the repository's .sops.yaml rules. */
function seal(file: string): void {
    const config = path.join(path.dirname(path.dirname(path.dirname(path.dirname(file)))), ".sops.yaml");
    execFileSync(sops, ["--config", config, "encrypt", "--age", recipient, "--in-place", file], {
        encoding: "utf8",
        timeout: 60_000,
        env: { PATH: process.env.PATH },
    });
}

describe("the plaintext-Secret guard: make validate", () => {
    test("a plaintext Secret is refused, naming its file and its values", async () => {
        const root = treeWithSecret();
        const report = await validateDeploy(root, {
            relativeTo: path.dirname(root),
            kustomize,
            build: cachedKustomizeBuild,
        });
        const text = report.problems.map(formatProblem).join("\n");
        assert.match(
            text,
            /deploy\/apps\/secrets\/secret\.yaml: Secret podinfo\/db-password: data\.token, stringData\.password are not SOPS-encrypted.*\[kustomization deploy; environment dev\]$/m,
        );
    });

    test("the same tree sealed with sops for the stack's recipient validates, and sops decrypts it with the identity", async () => {
        const root = treeWithSecret();
        const file = path.join(root, "apps/secrets/secret.yaml");
        seal(file);
        const sealed = parse(readFileSync(file, "utf8"));
        assert.equal(sealed.sops.age[0].recipient, recipient);
        assert.equal(plaintextReason(sealed), undefined);
        assert.equal(sealed.metadata.name, "db-password", "only data and stringData are encrypted");
        const report = await validateDeploy(root, {
            relativeTo: path.dirname(root),
            kustomize,
            build: cachedKustomizeBuild,
        });
        assert.deepEqual(report.problems.map(formatProblem), []);
        // the identity the stack derives decrypts it (filippo.io/age inside sops, not our code)
        const plain = execFileSync(sops, ["decrypt", file], {
            encoding: "utf8",
            env: { PATH: process.env.PATH, SOPS_AGE_KEY: identity },
        });
        assert.deepEqual(parse(plain), parse(SECRET));
    });

    test("a Secret a secretGenerator builds is named by its kustomization file", async () => {
        const root = treeWithSecret();
        writeFileSync(
            path.join(root, "apps/secrets/kustomization.yaml"),
            "secretGenerator:\n  - name: generated\n    namespace: podinfo\n    literals:\n      - key=value\n",
        );
        const report = await validateDeploy(root, {
            relativeTo: path.dirname(root),
            kustomize,
            build: cachedKustomizeBuild,
        });
        const text = report.problems.map(formatProblem).join("\n");
        assert.match(
            text,
            /deploy\/apps\/secrets\/kustomization\.yaml: Secret podinfo\/generated-[a-z0-9]+: built by this kustomization/,
        );
        // no kustomization applies the file any more, but it is still uploaded: still refused
        assert.match(text, /deploy\/apps\/secrets\/secret\.yaml: Secret podinfo\/db-password: /);
    });

    test("files are parsed only when they can hold a Secret, and an escaped kind still can", async () => {
        assert.equal(mayHoldSecret("apiVersion: v1\nkind: ConfigMap\ndata:\n  a: b\n"), false);
        // YAML and JSON escapes spell Secret without its letters: still checked
        for (const kind of ['"Secr\\u0065t"', '"Sec\\x72et"', '"Secr\\\n  et"']) {
            const root = treeWithSecret(SECRET.replace("kind: Secret", `kind: ${kind}`));
            assert.equal(mayHoldSecret(readFileSync(path.join(root, "apps/secrets/secret.yaml"), "utf8")), true);
            const found = await findPlaintextSecrets(root);
            assert.deepEqual(
                found.map((f) => f.object),
                ["Secret podinfo/db-password"],
                kind,
            );
        }
        const json = treeWithSecret();
        writeFileSync(
            path.join(json, "apps/secrets/secret.yaml"),
            JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "j" }, data: { a: "Yg==" } }).replace(
                "Secret",
                "Secr\\u0065t",
            ),
        );
        assert.deepEqual(
            (await findPlaintextSecrets(json)).map((f) => f.object),
            ["Secret j"],
        );
    });

    test(`a path listed in ${ALLOW_FILE} may hold a plaintext Secret`, async () => {
        const root = treeWithSecret();
        writeFileSync(path.join(root, ALLOW_FILE), "# demo credentials, not secret\napps/secrets/secret.yaml\n");
        const found = await findPlaintextSecrets(root);
        assert.deepEqual(found, []);
        const report = await validateDeploy(root, {
            relativeTo: path.dirname(root),
            kustomize,
            build: cachedKustomizeBuild,
        });
        assert.deepEqual(report.problems.map(formatProblem), []);
    });
});

const local = useLocalS3("guard");

async function upload(src: string) {
    const bucket = await local.freshBucket();
    const cap = captureIo();
    local.s3().reset();
    const code = await runUpload(
        ["--source", src, "--bucket", bucket, "--endpoint", local.s3().endpoint, "--no-trigger"],
        { env: s3Env(), io: cap.io, readStackOutputs: stackReader().read },
    );
    return { code, puts: local.s3().count("PUT"), ...cap };
}

describe("the plaintext-Secret guard: make upload-do", () => {
    test("a tree with one plaintext Secret: nothing is uploaded, the file is named", async () => {
        const root = treeWithSecret();
        const r = await upload(root);
        assert.equal(r.code, 1, r.all());
        assert.equal(r.puts, 0, "nothing uploaded");
        assert.match(r.all(), /apps\/secrets\/secret\.yaml: Secret podinfo\/db-password: .*not SOPS-encrypted/);
        assert.match(r.all(), /refusing to upload/);
    });

    test("the same tree sealed: uploaded", async () => {
        const root = treeWithSecret();
        seal(path.join(root, "apps/secrets/secret.yaml"));
        const r = await upload(root);
        assert.equal(r.code, 0, r.all());
        assert.ok(r.puts >= 10, `${r.puts} files uploaded`);
    });
});
