import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { backendUrl, destroyPlan, maskHookUrl, summary, upPlan } from "../tools/bootstrap/plan";

const ROOT = join(__dirname, "..");
const NODE_DIR = dirname(process.execPath);

/** A PATH with node and npm, and optionally a `pulumi` that answers `pulumi version`. */
function pathWith(pulumi: boolean): string {
    const dir = mkdtempSync(join(tmpdir(), "bin-"));
    if (pulumi) {
        writeFileSync(join(dir, "pulumi"), "#!/bin/sh\necho v3.200.0\n");
        chmodSync(join(dir, "pulumi"), 0o755);
    }
    return [dir, NODE_DIR, "/usr/bin", "/bin"].join(":");
}

function preflight(env: NodeJS.ProcessEnv) {
    return spawnSync(process.execPath, ["tools/bootstrap/preflight.mjs", "bootstrap"], {
        cwd: ROOT,
        env,
        encoding: "utf8",
    });
}

describe("make bootstrap preflight", () => {
    test("without credentials it names each missing one and exits non-zero, without a stack trace", () => {
        const r = preflight({ PATH: pathWith(false) });
        assert.equal(r.status, 1);
        for (const name of [
            "pulumi CLI",
            "DIGITALOCEAN_TOKEN",
            "SPACES_ACCESS_KEY_ID",
            "SPACES_SECRET_ACCESS_KEY",
            "GITHUB_TOKEN",
            "PULUMI_CONFIG_PASSPHRASE",
        ]) {
            assert.ok(r.stderr.includes(name), `${name} not named in:\n${r.stderr}`);
        }
        assert.doesNotMatch(r.stderr, /\bat .*\.m?js:\d+/, "no stack trace");
    });

    test("with everything present it passes", () => {
        const r = preflight({
            PATH: pathWith(true),
            DIGITALOCEAN_TOKEN: "t",
            SPACES_ACCESS_KEY_ID: "i",
            SPACES_SECRET_ACCESS_KEY: "s",
            GITHUB_TOKEN: "g",
            PULUMI_CONFIG_PASSPHRASE: "p",
        });
        assert.equal(r.status, 0, r.stderr);
    });

    test("a remote backend needs no local passphrase; an unknown stack file is named", () => {
        const env = {
            PATH: pathWith(true),
            DIGITALOCEAN_TOKEN: "t",
            SPACES_ACCESS_KEY_ID: "i",
            SPACES_SECRET_ACCESS_KEY: "s",
            GITHUB_TOKEN: "g",
            PULUMI_BACKEND_URL: "https://api.pulumi.com",
        };
        assert.equal(preflight(env).status, 0);
        const r = spawnSync(process.execPath, ["tools/bootstrap/preflight.mjs", "bootstrap"], {
            cwd: ROOT,
            env: { ...env, STACK: "nosuch" },
            encoding: "utf8",
        });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /Pulumi\.nosuch\.yaml/);
    });

    test("the local stack (existing-cluster target) asks for a kubeconfig, not for cloud credentials", () => {
        const home = mkdtempSync(join(tmpdir(), "home-"));
        const base = { PATH: pathWith(true), HOME: home, STACK: "local", PULUMI_CONFIG_PASSPHRASE: "p" };
        const without = preflight(base);
        assert.equal(without.status, 1);
        assert.match(without.stderr, /a kubeconfig for the existing cluster .*none at .*\.kube\/config/);
        assert.match(without.stderr, /kind create cluster/);
        for (const name of ["DIGITALOCEAN_TOKEN", "SPACES_ACCESS_KEY_ID", "SPACES_SECRET_ACCESS_KEY", "GITHUB_TOKEN"]) {
            assert.ok(!without.stderr.includes(name), `${name} asked for in:\n${without.stderr}`);
        }
        mkdirSync(join(home, ".kube"));
        writeFileSync(join(home, ".kube", "config"), "apiVersion: v1\nkind: Config\n");
        assert.equal(preflight(base).status, 0, preflight(base).stderr);
        // $KUBECONFIG wins over ~/.kube/config, as for kubectl.
        const other = preflight({ ...base, KUBECONFIG: join(home, "nope") });
        assert.equal(other.status, 1);
        assert.match(other.stderr, /none at .*nope/);
    });

    test("make bootstrap itself stops at the preflight", () => {
        const r = spawnSync("make", ["--no-print-directory", "bootstrap"], {
            cwd: ROOT,
            env: { PATH: pathWith(false) },
            encoding: "utf8",
        });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /missing prerequisites for stack dev/);
        assert.match(r.stderr, /DIGITALOCEAN_TOKEN/);
    });
});

describe("bootstrap plan", () => {
    const options = { root: "/repo", stack: "dev", env: {} };

    test("a local file backend when PULUMI_BACKEND_URL is unset", () => {
        assert.equal(backendUrl(options), "file:///repo/.pulumi-state");
        assert.equal(backendUrl({ ...options, env: { PULUMI_BACKEND_URL: "s3://state" } }), "s3://state");
    });

    test("up: login, select-or-create, up, then read kubeconfig and outputs", () => {
        const plan = upPlan(options).map((s) => [s.command, ...s.args].join(" "));
        assert.deepEqual(plan, [
            "pulumi login file:///repo/.pulumi-state",
            "pulumi stack select --create dev --non-interactive",
            "pulumi up --yes --skip-preview --stack dev --non-interactive",
            "pulumi stack output kubeconfig --show-secrets --stack dev --non-interactive",
            "pulumi stack output --json --stack dev --non-interactive",
        ]);
        assert.equal(upPlan(options)[3].capture, true, "the kubeconfig is captured, never printed");
    });

    test("destroy: refresh (best effort) then destroy", () => {
        const plan = destroyPlan(options);
        assert.deepEqual(
            plan.map((s) => s.args[0]),
            ["login", "refresh", "destroy"],
        );
        assert.equal(plan[1].optional, true);
        assert.equal(plan[2].optional, undefined);
    });

    test("the summary shows what to do next and never a hook path", () => {
        const text = summary(
            {
                clusterName: "c",
                bucketName: "b",
                dnsRecordToCreate: "flux.example.com A 203.0.113.7",
                webhookUrl: "[secret]",
            },
            "/repo/kubeconfig.yaml",
            "dev",
        );
        assert.match(text, /CREATE THIS DNS RECORD.*flux\.example\.com A 203\.0\.113\.7/);
        assert.match(text, /export KUBECONFIG=\/repo\/kubeconfig\.yaml/);
        assert.match(text, /make upload-do STACK=dev/);
        assert.equal(maskHookUrl("https://h/hook/abcdef0123"), "https://h/hook/<sha256…>");
    });

    test("on an existing cluster the summary uses the stack's context and writes no kubeconfig", () => {
        const text = summary(
            {
                bucketName: "gitops",
                bucketEndpoint: "http://seaweedfs.gitops-s3.svc.cluster.local:8333",
                fluxVersion: "2.9.4",
                fluxNamespace: "flux-system",
                localAccess: { context: "kind-gitops" },
            },
            undefined,
            "local",
        );
        assert.match(text, /cluster: +existing, context kind-gitops/);
        assert.match(text, /kubectl --context kind-gitops -n flux-system get fluxinstance,buckets,kustomizations/);
        assert.doesNotMatch(text, /KUBECONFIG|kubeconfig:/);
        assert.match(text, /make upload-do STACK=local/);
    });
});
