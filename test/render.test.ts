import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
    cpSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readdirSync,
    readFileSync,
    statSync,
    symlinkSync,
    writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { parse } from "yaml";
import { ConfigError } from "../infrastructure/config";
import { checkOutputDir, MARKER, writeOutputDir } from "../tools/render/output";
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

    test("a stack file whose config: is not a map gets one clear message", async () => {
        const root = mkdtempSync(join(tmpdir(), "stack-"));
        cpSync(join(ROOT, "Pulumi.yaml"), join(root, "Pulumi.yaml"));
        for (const [stack, body, found] of [
            ["text", "config: hello\n", /found the text "hello"/],
            ["list", "config:\n  - a\n  - b\n", /found a list/],
        ] as const) {
            writeFileSync(join(root, `Pulumi.${stack}.yaml`), body);
            await assert.rejects(render({ root, stack, out: join(root, "out") }), (e: unknown) => {
                assert.ok(e instanceof Error && !(e instanceof ConfigError), String(e));
                assert.match(e.message, /^cannot read .*Pulumi\.\w+\.yaml: config: must be a map of settings/);
                assert.match(e.message, found);
                assert.equal(e.message.split("\n").length, 1);
                return true;
            });
        }
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

/** A directory that looks like a user's checkout: a .git folder, sources, the stack files. */
function checkoutLike(): string {
    const dir = mkdtempSync(join(tmpdir(), "checkout-"));
    mkdirSync(join(dir, ".git", "objects"), { recursive: true });
    writeFileSync(join(dir, ".git", "HEAD"), "ref: refs/heads/main\n");
    writeFileSync(join(dir, "notes.txt"), "my work\n");
    cpSync(join(ROOT, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
    cpSync(join(ROOT, "Pulumi.dev.yaml"), join(dir, "Pulumi.dev.yaml"));
    return dir;
}

/** Every path under `dir`, relative, sorted. */
function tree(dir: string): string[] {
    return walk(dir)
        .map((f) => f.slice(dir.length + 1))
        .sort();
}

const refused = (what: RegExp) => (e: unknown) => {
    assert.ok(e instanceof Error, String(e));
    assert.match(e.message, /^render: refusing to write to /);
    assert.match(e.message, what);
    return true;
};

describe("render --out never deletes what it did not write", () => {
    test("`--out .` in a checkout exits non-zero and leaves every file, .git included", () => {
        const dir = checkoutLike();
        const before = tree(dir);
        const r = spawnSync(
            process.execPath,
            [
                "--import",
                pathToFileURL(require.resolve("tsx")).href,
                join(ROOT, "tools/render/main.ts"),
                "--stack",
                "dev",
                "--out",
                ".",
            ],
            { cwd: dir, encoding: "utf8", timeout: 120_000 },
        );
        assert.notEqual(r.status, 0, r.stdout);
        assert.match(r.stderr, /refusing to write to .*: it is the project root/);
        assert.deepEqual(tree(dir), before);
        assert.equal(readFileSync(join(dir, ".git", "HEAD"), "utf8"), "ref: refs/heads/main\n");
    });

    test("a non-empty directory render did not write is refused, untouched", async () => {
        const dir = checkoutLike();
        const out = join(dir, "docs");
        mkdirSync(out);
        writeFileSync(join(out, "keep.md"), "mine\n");
        await assert.rejects(
            render({ root: ROOT, stack: "dev", out }),
            refused(/non-empty directory that render did not create/),
        );
        assert.deepEqual(readdirSync(out), ["keep.md"]);
        // A whole checkout given as the output from elsewhere is refused the same way.
        const before = tree(dir);
        await assert.rejects(render({ root: ROOT, stack: "dev", out: dir }), refused(/did not create/));
        assert.deepEqual(tree(dir), before);
    });

    test("the project root, the directories containing it, the current directory, / and home are refused", async () => {
        // Only throw-away directories are ever given to render() here, so a regression cannot
        // delete anything that matters; `/` and the home folder are checked without rendering.
        const project = join(mkdtempSync(join(tmpdir(), "nest-")), "checkout");
        cpSync(checkoutLike(), project, { recursive: true });
        for (const [out, why] of [
            [project, /it is the project root/],
            [join(project, ".."), /it contains the project root/],
        ] as const) {
            await assert.rejects(render({ root: project, stack: "dev", out, cwd: project }), refused(why), out);
        }
        assert.throws(
            () => checkOutputDir("/", { root: project, cwd: project }),
            refused(/it is the file system root/),
        );
        assert.throws(
            () => checkOutputDir(homedir(), { root: project, cwd: project }),
            refused(/it is the home folder/),
        );
        const home = process.env.HOME;
        try {
            process.env.HOME = join(mkdtempSync(join(tmpdir(), "home-")), "me"); // os.homedir() reads HOME
            assert.throws(
                () => checkOutputDir(join(homedir(), ".."), { root: project, cwd: project }),
                refused(/it contains the home folder/),
            );
        } finally {
            process.env.HOME = home;
        }
        const cwd = mkdtempSync(join(tmpdir(), "cwd-"));
        await assert.rejects(render({ root: ROOT, stack: "dev", out: cwd, cwd }), refused(/the current directory/));
        // The repository root counts even when the project lives in a sub-folder of it.
        const sub = join(project, "infra");
        mkdirSync(sub);
        cpSync(join(ROOT, "Pulumi.yaml"), join(sub, "Pulumi.yaml"));
        cpSync(join(ROOT, "Pulumi.dev.yaml"), join(sub, "Pulumi.dev.yaml"));
        await assert.rejects(
            render({ root: sub, stack: "dev", out: project, cwd: sub }),
            refused(/it is the repository root/),
        );
        assert.ok(existsSync(join(project, ".git", "HEAD")));
    });

    test("a file or a symbolic link as the output is refused", async () => {
        const dir = mkdtempSync(join(tmpdir(), "render-"));
        writeFileSync(join(dir, "file"), "x");
        await assert.rejects(render({ root: ROOT, stack: "dev", out: join(dir, "file") }), refused(/is a file/));
        const target = mkdtempSync(join(tmpdir(), "target-"));
        symlinkSync(target, join(dir, "link"));
        await assert.rejects(render({ root: ROOT, stack: "dev", out: join(dir, "link") }), refused(/symbolic link/));
        assert.equal(readFileSync(join(dir, "file"), "utf8"), "x");
    });

    test("a previous render is replaced whole: stale files go, the marker lists what was written", async () => {
        const parent = mkdtempSync(join(tmpdir(), "render-"));
        const out = join(parent, "nested", "dev");
        const first = await render({ root: ROOT, stack: "dev", out });
        const marker = JSON.parse(readFileSync(join(out, MARKER), "utf8"));
        assert.deepEqual(marker.files, [...first.files].sort());
        // A file the previous render wrote that the next one does not: removed by the swap.
        writeFileSync(join(out, "kubernetes", "stale.yaml"), "old\n");
        marker.files.push("kubernetes/stale.yaml");
        writeFileSync(join(out, MARKER), JSON.stringify(marker));
        await render({ root: ROOT, stack: "dev", out });
        assert.equal(existsSync(join(out, "kubernetes", "stale.yaml")), false);
        assert.deepEqual(tree(out), [...first.files, MARKER].sort());
        assert.deepEqual(readdirSync(join(parent, "nested")), ["dev"], "no temporary directory left");
    });

    test("a previous render with a file added by hand is refused, nothing deleted", async () => {
        const out = join(mkdtempSync(join(tmpdir(), "render-")), "dev");
        await render({ root: ROOT, stack: "dev", out });
        writeFileSync(join(out, "my-notes.md"), "keep\n");
        await assert.rejects(
            render({ root: ROOT, stack: "dev", out }),
            refused(/files a previous render did not write \(my-notes\.md\)/),
        );
        assert.equal(readFileSync(join(out, "my-notes.md"), "utf8"), "keep\n");
        assert.ok(existsSync(join(out, "resources.json")));
    });

    test("an error while writing leaves the previous output as it was and no temporary directory", async () => {
        const parent = mkdtempSync(join(tmpdir(), "render-"));
        const out = join(parent, "dev");
        await writeOutputDir(out, { root: ROOT, stack: "dev" }, (write) => {
            write("a.yaml", "first\n");
        });
        await assert.rejects(
            writeOutputDir(out, { root: ROOT, stack: "dev" }, (write) => {
                write("a.yaml", "second\n");
                write("b.yaml", "half\n");
                throw new Error("disk full");
            }),
            /disk full/,
        );
        assert.equal(readFileSync(join(out, "a.yaml"), "utf8"), "first\n");
        assert.deepEqual(tree(out), [MARKER, "a.yaml"].sort());
        assert.deepEqual(readdirSync(parent), ["dev"]);
    });

    test("a config error writes nothing: no output, no temporary directory", async () => {
        const root = mkdtempSync(join(tmpdir(), "stack-"));
        cpSync(join(ROOT, "Pulumi.yaml"), join(root, "Pulumi.yaml"));
        writeFileSync(join(root, "Pulumi.bad.yaml"), "config:\n  do-gitops-platform:cluster:\n    region: mars1\n");
        await assert.rejects(render({ root, stack: "bad", out: join(root, "render", "bad") }), ConfigError);
        assert.equal(existsSync(join(root, "render")), false);
    });
});
