import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { ConfigError } from "../infrastructure/config";
import { render } from "../tools/render/render";
import { readStackConfig } from "../tools/render/stack-config";

const ROOT = join(__dirname, "..");

function walk(dir: string): string[] {
    return readdirSync(dir).flatMap((f) => {
        const p = join(dir, f);
        return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

describe("npm run render", () => {
    test("renders the dev stack: manifests, resources.json with parents, outputs", async () => {
        const out = mkdtempSync(join(tmpdir(), "render-"));
        const { recorder, files } = await render({ root: ROOT, stack: "dev", out });
        assert.ok(files.includes("resources.json") && files.includes("outputs.json"));
        assert.ok(files.includes("kubernetes/flux-system/FluxInstance-flux.yaml"), files.join("\n"));
        assert.ok(files.includes("helm/flux-operator.yaml"));

        const resources = JSON.parse(readFileSync(join(out, "resources.json"), "utf8")) as any[];
        assert.equal(resources.length, recorder.resources.length);
        const key = resources.find(
            (r) => r.type === "digitalocean:index/spacesKey:SpacesKey" && r.name === "gitops-read",
        );
        assert.equal(key.parent, "gitops:storage:GitOpsBucket::gitops");

        const fi = parse(readFileSync(join(out, "kubernetes/flux-system/FluxInstance-flux.yaml"), "utf8"));
        assert.equal(fi.spec.sync.kind, "Bucket");
        const secret = parse(readFileSync(join(out, "kubernetes/flux-system/Secret-bucket-credentials.yaml"), "utf8"));
        assert.deepEqual(secret.stringData, { accesskey: "[secret]", secretkey: "[secret]" });

        const outputs = JSON.parse(readFileSync(join(out, "outputs.json"), "utf8"));
        assert.equal(outputs.kubeconfig, "[secret]");
        assert.equal(outputs.uploadSecretAccessKey, "[secret]");
        assert.match(outputs.bucketName, /unknown until deployed/, "cloud-only values are clear placeholders");

        // No generated secret anywhere in the render.
        const text = walk(out)
            .map((f) => readFileSync(f, "utf8"))
            .join("\n");
        assert.ok(recorder.generatedSecrets.length > 0);
        for (const s of recorder.generatedSecrets)
            assert.equal(text.includes(s), false, "secret leaked into the render");
    });

    test("encrypted config values become redacted secrets; the rest is passed as Pulumi would", () => {
        const root = mkdtempSync(join(tmpdir(), "stack-"));
        cpSync(join(ROOT, "Pulumi.yaml"), join(root, "Pulumi.yaml"));
        writeFileSync(
            join(root, "Pulumi.x.yaml"),
            [
                "config:",
                "  digitalocean:token:",
                "    secure: AAABAJ1c2VjcmV0",
                "  do-gitops-platform:notifications:",
                "    - name: chat",
                "      type: slack",
                "      credential:",
                "        secure: AAABAHNsYWNr",
                "  do-gitops-platform:cluster:",
                "    region: ams3",
                "",
            ].join("\n"),
        );
        const cfg = readStackConfig(root, "x");
        assert.equal(cfg.project, "do-gitops-platform");
        assert.deepEqual(cfg.secretKeys.sort(), ["digitalocean:token", "do-gitops-platform:notifications"]);
        assert.deepEqual(JSON.parse(cfg.config["do-gitops-platform:notifications"]), [
            { name: "chat", type: "slack", credential: "[secret]" },
        ]);
        assert.deepEqual(JSON.parse(cfg.config["do-gitops-platform:cluster"]), { region: "ams3" });
        assert.equal(JSON.stringify(cfg).includes("AAAB"), false, "ciphertext is not passed on");
    });

    test("a bad stack config fails the render with the config error", async () => {
        const root = mkdtempSync(join(tmpdir(), "stack-"));
        cpSync(join(ROOT, "Pulumi.yaml"), join(root, "Pulumi.yaml"));
        writeFileSync(join(root, "Pulumi.bad.yaml"), "config:\n  do-gitops-platform:cluster:\n    region: mars1\n");
        await assert.rejects(render({ root, stack: "bad", out: join(root, "out") }), (e: unknown) => {
            assert.ok(e instanceof ConfigError);
            assert.ok(e.problems.some((p) => p.startsWith("cluster.region")));
            return true;
        });
    });
});
