// tools/lib/ensure-go-binary.sh, behind tools/kustomize/ensure-kustomize.sh and
// tools/sops/ensure-sops.sh: a binary named by KUSTOMIZE / SOPS is used only when the version it
// prints is the pin in components/versions.ts, and the message says which version it found.
// (Building from the Go proxy is exercised by every test that builds deploy/ or seals a file.)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { versions } from "../components/versions";

const REPO = path.resolve(__dirname, "..");
const dir = mkdtempSync(path.join(tmpdir(), "ensure-go-binary-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in binary that prints `line` when called with exactly `args`, and fails otherwise. */
function fake(name: string, args: string[], line: string): string {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\n[ "$*" = "${args.join(" ")}" ] || exit 3\necho '${line}'\necho 'second line'\n`);
    chmodSync(file, 0o755);
    return file;
}

function ensure(script: string, env: Record<string, string>) {
    const r = spawnSync(path.join(REPO, script), {
        encoding: "utf8",
        // an empty cache and no Go: nothing may be built here
        env: { PATH: "/usr/bin:/bin", DO_GITOPS_CACHE: path.join(dir, "cache"), HOME: dir, ...env },
    });
    return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

const kustomizePin = "v5.8.1"; // kustomize-controller v1.9.4's sigs.k8s.io/kustomize/api v0.21.1 is kustomize/v5 v5.8.1
const sopsPin = "v3.13.2"; // kustomize-controller v1.9.4's go.mod: github.com/getsops/sops/v3 v3.13.2

test("the pins the scripts read are the ones upstream Flux builds with", () => {
    assert.equal(versions.kustomize.version, kustomizePin);
    assert.equal(versions.sops.version, sopsPin);
});

test("KUSTOMIZE naming a binary of the pinned version is used as it is", () => {
    const bin = fake("kustomize-ok", ["version"], kustomizePin);
    assert.deepEqual(ensure("tools/kustomize/ensure-kustomize.sh", { KUSTOMIZE: bin }), {
        status: 0,
        stdout: bin,
        stderr: "",
    });
});

test("KUSTOMIZE naming another version is refused, with the version it found", () => {
    const bin = fake("kustomize-old", ["version"], "v5.7.1");
    const r = ensure("tools/kustomize/ensure-kustomize.sh", { KUSTOMIZE: bin });
    assert.equal(r.status, 2);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, `ensure-kustomize: KUSTOMIZE=${bin} is 'v5.7.1', not ${kustomizePin}`);
});

test("SOPS is asked with sops' own version flags and compared without its 'sops ' prefix", () => {
    const ok = fake("sops-ok", ["--version", "--disable-version-check"], `sops ${sopsPin.slice(1)} (latest)`);
    assert.deepEqual(ensure("tools/sops/ensure-sops.sh", { SOPS: ok }), { status: 0, stdout: ok, stderr: "" });
    const old = fake("sops-old", ["--version", "--disable-version-check"], "sops 3.10.2");
    const r = ensure("tools/sops/ensure-sops.sh", { SOPS: old });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `ensure-sops: SOPS=${old} is 'v3.10.2', not ${sopsPin}`);
});

test("a binary that cannot answer is refused as not runnable", () => {
    const broken = fake("sops-broken", ["never"], "sops 3.13.2");
    const r = ensure("tools/sops/ensure-sops.sh", { SOPS: broken });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `ensure-sops: SOPS=${broken} is 'not runnable', not ${sopsPin}`);
});
