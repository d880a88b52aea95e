import assert from "node:assert/strict";
import { execFile, type SpawnSyncReturns, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { confirmation, destroyPlan, maskHookUrl, summary, upPlan } from "../tools/bootstrap/plan";
import { ensureKustomize } from "../tools/validate/validate";
import { type FakeProject, fakeProject, type PulumiCall, STACK_FILE } from "./fake-pulumi";
import { type LocalS3, S3RVER_KEY, startS3 } from "./helpers-s3";

const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: https://k8s.example}}]\n";
const OUTPUTS = { kubeconfig: KUBECONFIG, clusterName: "c", bucketName: "b", kubernetesVersion: "1.35.4-do.0" };

function make(p: FakeProject, args: string[], extra: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
    return spawnSync("make", ["--no-print-directory", ...args], {
        cwd: p.dir,
        env: { ...p.env, FAKE_PULUMI_OUTPUTS: JSON.stringify(OUTPUTS), FAKE_PULUMI_SECRETS: "kubeconfig", ...extra },
        encoding: "utf8",
        timeout: 180_000,
    });
}

/** `make` without blocking this process's event loop (the local S3 server runs in it). */
function makeAsync(p: FakeProject, args: string[], extra: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
        execFile(
            "make",
            ["--no-print-directory", ...args],
            { cwd: p.dir, env: { ...p.env, ...extra }, encoding: "utf8", timeout: 180_000 },
            (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, out: `${stdout}\n${stderr}` }),
        );
    });
}

/** Calls other than the preflight's `pulumi version`. */
const work = (p: FakeProject) => p.calls().filter((c) => c.argv[0] !== "version");
const named = (calls: PulumiCall[], cmd: string) => calls.filter((c) => c.argv[0] === cmd);
const ok = (r: SpawnSyncReturns<string>) => assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);

/** A user logged in elsewhere: make must neither use nor change this. */
function loggedInElsewhere(p: FakeProject): string {
    mkdirSync(join(p.home, ".pulumi"));
    const file = join(p.home, ".pulumi", "credentials.json");
    writeFileSync(file, JSON.stringify({ current: "https://api.pulumi.com", accessTokens: {}, accounts: {} }));
    return file;
}

describe("make bootstrap against the pulumi CLI (stand-in)", () => {
    test("creates .pulumi-state before the first call and gives every call the backend; never logs in", () => {
        const p = fakeProject();
        const creds = loggedInElsewhere(p);
        const before = readFileSync(creds, "utf8");
        const r = make(p, ["bootstrap", "YES=1"]);
        ok(r);
        const state = join(p.dir, ".pulumi-state");
        assert.equal(statSync(state).mode & 0o777, 0o700, "the state folder is private");
        const calls = work(p);
        assert.deepEqual(
            calls.map((c) => c.argv.slice(0, 2).join(" ")),
            ["stack select", "up --yes", "stack output", "stack output"],
        );
        assert.equal(named(calls, "login").length, 0, "pulumi login changes the user's global login");
        for (const c of calls) assert.equal(c.env.PULUMI_BACKEND_URL, `file://${state}`, c.argv.join(" "));
        assert.equal(readFileSync(creds, "utf8"), before, "~/.pulumi/credentials.json untouched");
        assert.match(r.stdout, /Stack dev is up/);
    });

    test("without a terminal and without YES=1 it refuses at once, saying how to go ahead", () => {
        const p = fakeProject();
        const r = make(p, ["bootstrap"]);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /a terminal to confirm on/);
        assert.match(r.stderr, /make bootstrap YES=1/);
        assert.deepEqual(work(p), [], "no pulumi call before it is allowed to go ahead");
        assert.equal(existsSync(join(p.dir, ".pulumi-state")), false);
    });

    test("CI=true applies without asking", () => {
        const p = fakeProject();
        ok(make(p, ["bootstrap"], { CI: "true" }));
        const [up] = named(work(p), "up");
        assert.ok(up.argv.includes("--yes"));
    });

    test("on a terminal, pulumi up shows the preview and asks (no --yes, not --non-interactive)", () => {
        const p = fakeProject();
        // util-linux script(1) runs make on a pseudo-terminal; the answer goes to the prompt.
        const r = spawnSync("script", ["-qec", "make --no-print-directory bootstrap", "/dev/null"], {
            cwd: p.dir,
            input: "yes\n",
            env: {
                ...p.env,
                SHELL: "/bin/sh",
                TERM: "xterm",
                FAKE_PULUMI_OUTPUTS: JSON.stringify(OUTPUTS),
                FAKE_PULUMI_SECRETS: "kubeconfig",
            },
            encoding: "utf8",
            timeout: 180_000,
        });
        ok(r);
        const [up] = named(work(p), "up");
        assert.equal(up.stdinTTY && up.stdoutTTY, true);
        assert.equal(up.argv.includes("--yes"), false);
        assert.equal(up.argv.includes("--skip-preview"), false);
        assert.equal(up.argv.includes("--non-interactive"), false);
        assert.match(r.stdout, /Do you want to perform this update\?/);
    });

    test("kubeconfig.yaml is mode 0600 from its first byte; a wider pre-existing file is replaced, never reused", () => {
        const p = fakeProject();
        mkdirSync(join(p.dir, ".pulumi-state")); // isolates this point from the state folder's
        const path = join(p.dir, "kubeconfig.yaml");
        writeFileSync(path, "old content\n");
        chmodSync(path, 0o644);
        const oldInode = statSync(path).ino;
        // umask 000: nothing but the tool's own modes keeps the file private.
        const r = spawnSync("sh", ["-c", "umask 000 && make --no-print-directory bootstrap YES=1"], {
            cwd: p.dir,
            env: { ...p.env, FAKE_PULUMI_OUTPUTS: JSON.stringify(OUTPUTS), FAKE_PULUMI_SECRETS: "kubeconfig" },
            encoding: "utf8",
            timeout: 180_000,
        });
        ok(r);
        const st = statSync(path);
        assert.equal(st.mode & 0o777, 0o600);
        assert.notEqual(st.ino, oldInode, "the 0644 file must not be written with the new content");
        assert.equal(readFileSync(path, "utf8"), `${KUBECONFIG}\n`);
        assert.deepEqual(
            readdirSync(p.dir).filter((f) => f.includes("kubeconfig")),
            ["kubeconfig.yaml"],
            "no temporary file left behind",
        );
    });

    test("the preflight reads the stack file as YAML: an inline github map still needs GITHUB_TOKEN", () => {
        const inline = `${STACK_FILE}  do-gitops-platform:github: {repository: a/b}\n`;
        const p = fakeProject(inline);
        const r = make(p, ["bootstrap", "YES=1"], { GITHUB_TOKEN: "" });
        assert.notEqual(r.status, 0, r.stderr);
        assert.match(r.stderr, /GITHUB_TOKEN/);
        assert.deepEqual(work(p), []);

        const commented = fakeProject(`${STACK_FILE}  # do-gitops-platform:github:\n  #   repository: a/b\n`);
        ok(make(commented, ["bootstrap", "YES=1"], { GITHUB_TOKEN: "" }));
    });

    test("the preflight names every missing prerequisite at once, without a stack trace", () => {
        const p = fakeProject("config: {do-gitops-platform:github: {repository: a/b}}\n");
        const env = { PATH: p.env.PATH?.split(":").slice(1).join(":"), HOME: p.home };
        const r = spawnSync("make", ["--no-print-directory", "bootstrap"], { cwd: p.dir, env, encoding: "utf8" });
        assert.equal(r.status, 2, r.stderr); // make's own exit code when a recipe fails
        for (const name of [
            "pulumi CLI",
            "DIGITALOCEAN_TOKEN",
            "SPACES_ACCESS_KEY_ID",
            "SPACES_SECRET_ACCESS_KEY",
            "GITHUB_TOKEN",
            "PULUMI_CONFIG_PASSPHRASE",
            "a terminal to confirm on",
        ]) {
            assert.ok(r.stderr.includes(name), `${name} not named in:\n${r.stderr}`);
        }
        assert.doesNotMatch(r.stderr, /\bat .*\.[cm]?[jt]s:\d+/, "no stack trace");
    });

    test("the existing-cluster target asks for a kubeconfig, not for cloud credentials", () => {
        const p = fakeProject("config:\n  do-gitops-platform:target: existing-cluster\n");
        const noCloud = { DIGITALOCEAN_TOKEN: "", SPACES_ACCESS_KEY_ID: "", SPACES_SECRET_ACCESS_KEY: "" };
        const without = make(p, ["bootstrap", "YES=1"], noCloud);
        assert.notEqual(without.status, 0);
        assert.match(without.stderr, /a kubeconfig for the existing cluster .*none at .*\.kube\/config/);
        assert.match(without.stderr, /kind create cluster/);
        for (const name of ["DIGITALOCEAN_TOKEN", "SPACES_ACCESS_KEY_ID", "SPACES_SECRET_ACCESS_KEY"]) {
            assert.ok(!without.stderr.includes(name), `${name} asked for in:\n${without.stderr}`);
        }
        // $KUBECONFIG wins over ~/.kube/config, as for kubectl.
        mkdirSync(join(p.home, ".kube"));
        writeFileSync(join(p.home, ".kube", "config"), "apiVersion: v1\nkind: Config\n");
        const other = make(p, ["bootstrap", "YES=1"], { ...noCloud, KUBECONFIG: join(p.home, "nope") });
        assert.match(other.stderr, /none at .*nope/);
        assert.deepEqual(work(p), []);
        ok(make(p, ["bootstrap", "YES=1"], noCloud));
        assert.equal(named(work(p), "up").length, 1);
    });

    test("Pulumi Cloud needs no passphrase; a missing stack file is named", () => {
        const p = fakeProject();
        const cloud = make(p, ["bootstrap", "YES=1"], {
            PULUMI_CONFIG_PASSPHRASE: "",
            PULUMI_BACKEND_URL: "https://api.pulumi.com",
            STACK: "nosuch",
        });
        assert.notEqual(cloud.status, 0);
        assert.match(cloud.stderr, /Pulumi\.nosuch\.yaml/);
        assert.doesNotMatch(cloud.stderr, /PULUMI_CONFIG_PASSPHRASE/);
        assert.deepEqual(work(p), []);
    });
});

describe("make destroy against the pulumi CLI (stand-in)", () => {
    test("refresh and destroy run the program (--run-program) on the same backend; never logs in", () => {
        const p = fakeProject();
        loggedInElsewhere(p);
        ok(make(p, ["bootstrap", "YES=1"]));
        const r = make(p, ["destroy", "YES=1"]);
        ok(r);
        const calls = work(p);
        const [refresh] = named(calls, "refresh");
        const [destroy] = named(calls, "destroy");
        assert.ok(refresh && destroy, "refresh and destroy both ran");
        assert.ok(calls.indexOf(refresh) < calls.indexOf(destroy));
        for (const c of [refresh, destroy]) {
            assert.ok(c.argv.includes("--run-program"), `${c.argv.join(" ")} must re-run the program`);
            assert.equal(c.env.PULUMI_BACKEND_URL, `file://${join(p.dir, ".pulumi-state")}`);
        }
        assert.equal(named(calls, "login").length, 0);
        assert.equal(existsSync(join(p.dir, "kubeconfig.yaml")), false);
        for (const c of [refresh, destroy]) {
            assert.equal(c.env.DO_GITOPS_DESTROY, "1", "the program learns it runs for a destroy");
            assert.equal(c.env.DO_GITOPS_CLUSTER_GONE, undefined);
        }
    });

    test("CLUSTER_GONE=1 reaches the program of the refresh and the destroy, never a pulumi up", () => {
        const p = fakeProject();
        // even when set in the user's shell, `pulumi up` must not run in destroy mode
        ok(make(p, ["bootstrap", "YES=1"], { DO_GITOPS_DESTROY: "1", DO_GITOPS_CLUSTER_GONE: "1" }));
        const [up] = named(work(p), "up");
        assert.equal(up.env.DO_GITOPS_DESTROY, undefined);
        assert.equal(up.env.DO_GITOPS_CLUSTER_GONE, undefined);
        ok(make(p, ["destroy", "YES=1", "CLUSTER_GONE=1"]));
        for (const cmd of ["refresh", "destroy"]) {
            const [c] = named(work(p), cmd);
            assert.equal(c.env.DO_GITOPS_DESTROY, "1");
            assert.equal(c.env.DO_GITOPS_CLUSTER_GONE, "1");
        }
    });

    test("without a terminal and without YES=1 it refuses before refreshing anything", () => {
        const p = fakeProject();
        ok(make(p, ["bootstrap", "YES=1"]));
        const r = make(p, ["destroy"]);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /make destroy YES=1/);
        assert.deepEqual(named(work(p), "refresh"), []);
    });
});

describe("make upload-do reads the stack outputs from the same backend", () => {
    let s3: LocalS3;
    before(async () => {
        s3 = await startS3();
    });
    after(async () => {
        await s3.close();
    });

    test("after make bootstrap, the outputs come from .pulumi-state, whatever the user's global login", async () => {
        await s3.createBucket("gitops");
        const p = fakeProject();
        loggedInElsewhere(p);
        const outputs = {
            ...OUTPUTS,
            bucketName: "gitops",
            bucketRegion: "us-east-1",
            bucketEndpoint: s3.endpoint,
            uploadAccessKeyId: S3RVER_KEY,
            uploadSecretAccessKey: S3RVER_KEY,
        };
        const env = {
            FAKE_PULUMI_OUTPUTS: JSON.stringify(outputs),
            FAKE_PULUMI_SECRETS: "kubeconfig,uploadSecretAccessKey",
            // the upload's plaintext-Secret guard builds deploy/ with the pinned kustomize: the one
            // already built, not a fresh build under this test's empty HOME
            KUSTOMIZE: ensureKustomize(),
        };
        ok(make(p, ["bootstrap", "YES=1"], env));
        const r = await makeAsync(p, ["upload-do", "ARGS=--no-trigger"], env);
        assert.equal(r.code, 0, r.out);
        const read = work(p).at(-1)!;
        assert.deepEqual(read.argv.slice(0, 4), ["stack", "output", "--json", "--show-secrets"]);
        assert.equal(read.env.PULUMI_BACKEND_URL, `file://${join(p.dir, ".pulumi-state")}`);
        assert.equal(read.cwd, p.dir);
        assert.ok((await s3.objects("gitops")).has("kustomization.yaml"), "deploy/ was synced");
    });

    test("before any bootstrap it names the missing local state instead of asking pulumi", () => {
        const p = fakeProject();
        const r = make(p, ["upload-do", "ARGS=--no-trigger"]);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /no Pulumi state in \.pulumi-state\/.*make bootstrap/);
        assert.deepEqual(work(p), []);
    });
});

describe("bootstrap plan", () => {
    test("confirmation: --yes or CI applies; a terminal asks; otherwise a problem", () => {
        const c = (yes: boolean, env: NodeJS.ProcessEnv, terminal: boolean) =>
            confirmation("bootstrap", { yes, env, terminal });
        assert.deepEqual(c(true, {}, false), { mode: "yes" });
        assert.deepEqual(c(false, { CI: "true" }, true), { mode: "yes" });
        assert.deepEqual(c(false, { CI: "false" }, true), { mode: "prompt" });
        assert.deepEqual(c(false, {}, true), { mode: "prompt" });
        assert.ok("problem" in c(false, { TERM: "dumb" }, true), "pulumi does not prompt on a dumb terminal");
        assert.ok("problem" in c(false, {}, false));
    });

    test("up: select-or-create, up, then read kubeconfig (captured) and outputs; no login", () => {
        const line = (mode: "yes" | "prompt") =>
            upPlan({ stack: "dev", confirmation: mode }).map((s) => [s.command, ...s.args].join(" "));
        assert.deepEqual(line("yes"), [
            "pulumi stack select --create dev --non-interactive",
            "pulumi up --yes --stack dev --non-interactive",
            "pulumi stack output kubeconfig --show-secrets --stack dev --non-interactive",
            "pulumi stack output --json --stack dev --non-interactive",
        ]);
        assert.equal(line("prompt")[1], "pulumi up --stack dev");
        assert.equal(upPlan({ stack: "dev", confirmation: "yes" })[2].capture, true, "the kubeconfig is never printed");
    });

    test("destroy: refresh then destroy, both with --run-program", () => {
        const plan = destroyPlan({ stack: "dev", confirmation: "yes" });
        assert.deepEqual(
            plan.map((s) => s.args.join(" ")),
            [
                "refresh --yes --skip-preview --run-program --stack dev --non-interactive",
                "destroy --yes --run-program --stack dev --non-interactive",
            ],
        );
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
