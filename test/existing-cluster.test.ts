/**
 * The existing-cluster target as a whole: the local example stack (Pulumi.local.yaml), an
 * external S3 bucket, an existing Flux installation, and the configuration errors of the target.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { KEY_ACTIONS } from "../components/in-cluster-s3";
import { seaweedfsImage } from "../components/versions";
import { ConfigError, parseConfig } from "../infrastructure/config";
import { main } from "../infrastructure/program";
import { runOffline } from "../tools/mocks";
import { render } from "../tools/render/render";
import { readStackConfig } from "../tools/render/stack-config";
import { containsSecret, inputValue, isSecretOutput, kubeconfigFile, MockRecorder, reveal, runStack } from "./harness";

const ROOT = join(__dirname, "..");

/** Runs the program with the committed Pulumi.local.yaml, as `pulumi up` would (credentials checked). */
async function runLocalExample(env: NodeJS.ProcessEnv, recorder = new MockRecorder()) {
    const sc = readStackConfig(ROOT, "local");
    return runOffline(
        { project: sc.project, stack: "local", config: sc.config, secretKeys: sc.secretKeys, recorder },
        () => main({ env }),
    );
}

/** A minimal existing-cluster config; tests override parts of it. */
function localConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { target: "existing-cluster", existingCluster: { context: "kind-gitops" }, ...extra };
}

const parse = (raw: Record<string, unknown>, env: NodeJS.ProcessEnv, secretKeys: string[] = []) =>
    parseConfig(raw, { env, secretKeys: new Set(secretKeys) });

function problemsOf(fn: () => unknown): string[] {
    try {
        fn();
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        return [...e.problems];
    }
    assert.fail("expected a ConfigError");
}

function walk(dir: string): string[] {
    return readdirSync(dir).flatMap((f) => {
        const p = join(dir, f);
        return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

describe("the local example stack (Pulumi.local.yaml)", () => {
    const env = { KUBECONFIG: kubeconfigFile(["kind-gitops"], "kind-gitops") };

    test("runs with no DigitalOcean or Spaces credentials and touches nothing of DigitalOcean", async () => {
        const run = await runLocalExample(env);
        assert.equal(run.error, undefined, String(run.error));
        const r = run.recorder;
        assert.ok(r.resources.length > 10);
        const foreign = r.resources.filter((x) => /^(pulumi:providers:)?(digitalocean|github)[:/]/.test(x.type));
        assert.deepEqual(
            foreign.map((x) => `${x.type}::${x.name}`),
            [],
        );
        assert.deepEqual(
            r.calls.filter((c) => c.token.startsWith("digitalocean:")).map((c) => c.token),
            [],
            "no DigitalOcean API call (the version lookup is for the digitalocean target only)",
        );
    });

    test("every Kubernetes object goes through the provider built from the kubeconfig and context", async () => {
        const { recorder } = await runLocalExample(env);
        const providers = recorder.all("pulumi:providers:kubernetes");
        assert.deepEqual(
            providers.map((p) => p.name),
            ["existing-cluster"],
        );
        const inputs = reveal<Record<string, unknown>>(providers[0].inputs);
        assert.equal(inputs.context, "kind-gitops", "the context from existingCluster.context");
        // Unset in the stack: the SDK's own default, the KUBECONFIG of the process running `pulumi up`.
        assert.equal(inputs.kubeconfig, process.env.KUBECONFIG);
        const kube = recorder.resources.filter((x) => x.custom && x.type.startsWith("kubernetes:"));
        assert.ok(kube.length >= 10);
        for (const x of kube) {
            assert.match(
                x.provider ?? "",
                /::existing-cluster::/,
                `${x.type} ${x.name} must use the cluster's provider`,
            );
        }
    });

    test("the in-cluster S3 server: pinned image, the bucket, and keys scoped to it (Flux's read-only)", async () => {
        const { recorder, rawOutputs } = await runLocalExample(env);
        const deployment = recorder.kubeObject("Deployment", "seaweedfs");
        const container = deployment.spec.template.spec.containers[0];
        assert.equal(container.image, seaweedfsImage);
        assert.match(seaweedfsImage, /^chrislusf\/seaweedfs:\d+\.\d+$/, "an exact release tag");
        assert.deepEqual(container.args.slice(0, 4), [
            "mini",
            "-s3.config=/etc/seaweedfs/s3.json",
            "-bucket=gitops",
            "-s3.autoCreateBucket=false",
        ]);

        const configSecret = recorder.kube("Secret").find((s) => s.name === "gitops-s3-config");
        assert.ok(configSecret);
        assert.equal(containsSecret(configSecret.inputs.stringData), true, "the identities file is a secret");
        const identities = JSON.parse(reveal<Record<string, string>>(configSecret.inputs.stringData)["s3.json"])
            .identities as {
            name: string;
            credentials: { accessKey: string; secretKey: string }[];
            actions: string[];
        }[];
        const byName = Object.fromEntries(identities.map((i) => [i.name, i]));
        assert.deepEqual(byName["flux-read"].actions, ["Read:gitops", "List:gitops"]);
        assert.deepEqual(byName.upload.actions, ["Read:gitops", "List:gitops", "Write:gitops"]);
        for (const i of identities) {
            assert.ok(
                i.actions.every((a) => a.endsWith(":gitops") && !a.startsWith("Admin")),
                `${i.name}: every action is scoped to the bucket, none is Admin`,
            );
        }
        assert.deepEqual(Object.keys(KEY_ACTIONS), ["read", "readwrite"]);

        // Flux's pull secret holds the read-only identity's key; the upload outputs the read-write one.
        const pull = recorder.kubeObject("Secret", "bucket-credentials");
        const fluxKey = byName["flux-read"].credentials[0];
        assert.deepEqual(pull.stringData, { accesskey: fluxKey.accessKey, secretkey: fluxKey.secretKey });
        const uploadKey = byName.upload.credentials[0];
        assert.equal(await inputValue(rawOutputs!.uploadAccessKeyId as never), uploadKey.accessKey);
        assert.equal(await inputValue(rawOutputs!.uploadSecretAccessKey as never), uploadKey.secretKey);
        assert.notEqual(fluxKey.accessKey, uploadKey.accessKey);
        assert.equal(await isSecretOutput(rawOutputs!.uploadSecretAccessKey), true);
    });

    test("Flux (operator) syncs from the in-cluster server over plain HTTP", async () => {
        const { recorder } = await runLocalExample(env);
        const fi = recorder.kubeObject("FluxInstance", "flux");
        assert.equal(fi.spec.sync.url, "seaweedfs.gitops-s3.svc.cluster.local:8333");
        assert.equal(fi.spec.sync.ref, "gitops");
        const bucketPatch = fi.spec.kustomize.patches.find(
            (p: { target: { kind: string } }) => p.target.kind === "Bucket",
        );
        assert.deepEqual(JSON.parse(bucketPatch.patch), [
            { op: "add", path: "/spec/region", value: "us-east-1" },
            { op: "add", path: "/spec/insecure", value: true },
        ]);
    });

    test("no public host: no Contour, KCert, certificate, exposure or GitHub webhook; the bucket receiver is local", async () => {
        const { recorder, outputs, rawOutputs } = await runLocalExample(env);
        assert.deepEqual(
            recorder.all("kubernetes:helm.sh/v3:Release").map((r) => reveal<{ name: string }>(r.inputs).name),
            ["flux-operator"],
        );
        for (const kind of ["GitRepository", "HTTPProxy", "Ingress"]) {
            assert.deepEqual(recorder.kube(kind), [], `no ${kind}`);
        }
        // no certificate request ConfigMap; only the stack's values for deploy/ (platform-settings)
        assert.deepEqual(
            recorder.kube("ConfigMap").map((r) => reveal<any>(r.inputs).metadata.name),
            ["platform-settings"],
        );
        assert.deepEqual(
            recorder.kube("Receiver").map((r) => reveal<any>(r.inputs).metadata.name),
            ["bucket"],
        );
        const url = await inputValue((rawOutputs as Record<string, unknown>).bucketReceiverUrl as never);
        assert.match(String(url), /^http:\/\/webhook-receiver\.flux-system\.svc\.cluster\.local\/hook\/[0-9a-f]{64}$/);
        assert.deepEqual(outputs!.localAccess, {
            context: "kind-gitops",
            s3: { namespace: "gitops-s3", service: "seaweedfs", port: 8333 },
            receiver: { namespace: "flux-system", service: "webhook-receiver", port: 80 },
        });
        assert.equal(outputs!.bucketEndpoint, "http://seaweedfs.gitops-s3.svc.cluster.local:8333");
        assert.equal(outputs!.kubeconfig, undefined, "no kubeconfig output: the user has it already");
    });

    test("make render STACK=local works offline and shows no secret", async () => {
        const out = mkdtempSync(join(tmpdir(), "render-local-"));
        const { recorder, files } = await render({ root: ROOT, stack: "local", out });
        assert.ok(files.includes("kubernetes/gitops-s3/Deployment-seaweedfs.yaml"), files.join("\n"));
        assert.ok(files.includes("kubernetes/gitops-s3/Secret-seaweedfs-s3-config.yaml"));
        const text = walk(out)
            .map((f) => readFileSync(f, "utf8"))
            .join("\n");
        assert.ok(recorder.generatedSecrets.length >= 5, "four S3 key parts and the receiver token");
        for (const s of recorder.generatedSecrets)
            assert.equal(text.includes(s), false, "a secret leaked into the render");
        const outputs = JSON.parse(readFileSync(join(out, "outputs.json"), "utf8"));
        assert.equal(outputs.uploadSecretAccessKey, "[secret]");
        assert.equal(outputs.bucketReceiverToken, "[secret]");
    });

    test("a kubeconfig file named in config is what the provider reads (a path: no credential in the state)", async () => {
        const file = kubeconfigFile(["kind-gitops"], "kind-gitops");
        const run = await runStack(localConfig({ existingCluster: { kubeconfig: file, context: "kind-gitops" } }), {
            program: { env: {} },
        });
        assert.equal(run.error, undefined, String(run.error));
        const inputs = reveal<Record<string, unknown>>(
            run.recorder.get("pulumi:providers:kubernetes", "existing-cluster").inputs,
        );
        assert.deepEqual([inputs.kubeconfig, inputs.context], [file, "kind-gitops"]);
        assert.deepEqual((run.outputs!.localAccess as Record<string, unknown>).kubeconfig, file);
    });

    test("deleteUnreachable is off, explicitly (PULUMI_K8S_DELETE_UNREACHABLE in the environment cannot turn it on)", async () => {
        const run = await runStack(localConfig(), { program: { requireCredentials: false } });
        assert.equal(run.error, undefined, String(run.error));
        const inputs = reveal<Record<string, unknown>>(
            run.recorder.get("pulumi:providers:kubernetes", "existing-cluster").inputs,
        );
        assert.equal(inputs.deleteUnreachable, "false");
    });

    test("a relative kubeconfig path is made absolute (the provider plugin may run elsewhere); ~/ is left to the provider", async () => {
        const rel = await runStack(localConfig({ existingCluster: { kubeconfig: "clusters/kind.yaml" } }), {
            program: { requireCredentials: false },
        });
        const relInputs = reveal<Record<string, unknown>>(
            rel.recorder.get("pulumi:providers:kubernetes", "existing-cluster").inputs,
        );
        assert.equal(relInputs.kubeconfig, join(process.cwd(), "clusters/kind.yaml"));
        assert.equal(
            (rel.outputs!.localAccess as Record<string, unknown>).kubeconfig,
            join(process.cwd(), "clusters/kind.yaml"),
        );
        const home = await runStack(localConfig({ existingCluster: { kubeconfig: "~/.kube/kind" } }), {
            program: { requireCredentials: false },
        });
        const homeInputs = reveal<Record<string, unknown>>(
            home.recorder.get("pulumi:providers:kubernetes", "existing-cluster").inputs,
        );
        assert.equal(homeInputs.kubeconfig, "~/.kube/kind");
    });

    test("skipAwait marks the server's workload and volume (API servers without nodes)", async () => {
        const run = await runStack(localConfig({ existingCluster: { context: "kind-gitops", skipAwait: true } }), {
            program: { requireCredentials: false },
        });
        assert.equal(run.error, undefined, String(run.error));
        for (const [kind, name] of [
            ["Deployment", "seaweedfs"],
            ["PersistentVolumeClaim", "seaweedfs-data"],
        ]) {
            assert.equal(run.recorder.kubeObject(kind, name).metadata.annotations?.["pulumi.com/skipAwait"], "true");
        }
        const plain = await runStack(localConfig(), { program: { requireCredentials: false } });
        assert.equal(plain.recorder.kubeObject("Deployment", "seaweedfs").metadata.annotations, undefined);
    });
});

describe("existing-cluster target: an existing bucket and an existing Flux", () => {
    const s3 = {
        endpoint: "http://minio.minio.svc.cluster.local:9000",
        bucket: "platform",
        region: "eu-west-1",
        accessKeyId: "FLUXREAD",
        secretAccessKey: "flux-read-secret",
        uploadAccessKeyId: "UPLOADER",
        uploadSecretAccessKey: "upload-secret",
    };

    test("an s3 bucket from config: no server installed, Flux reads with the configured key", async () => {
        const run = await runStack(localConfig({ s3 }), {
            secretKeys: ["s3"],
            program: { requireCredentials: false },
        });
        assert.equal(run.error, undefined, String(run.error));
        const r = run.recorder;
        assert.deepEqual(r.kube("Deployment"), [], "no S3 server");
        assert.deepEqual(r.all("random:index/randomPassword:RandomPassword").length, 1, "only the receiver token");
        const fi = r.kubeObject("FluxInstance", "flux");
        assert.deepEqual([fi.spec.sync.url, fi.spec.sync.ref], ["minio.minio.svc.cluster.local:9000", "platform"]);
        assert.deepEqual(r.kubeObject("Secret", "bucket-credentials").stringData, {
            accesskey: "FLUXREAD",
            secretkey: "flux-read-secret",
        });
        const pull = r.kube("Secret").find((s) => reveal<any>(s.inputs).metadata.name === "bucket-credentials");
        assert.equal(containsSecret(pull!.inputs.stringData), true);
        for (const key of ["uploadAccessKeyId", "uploadSecretAccessKey", "bucketReceiverToken"]) {
            assert.equal(await isSecretOutput(run.rawOutputs![key]), true, `${key} is secret`);
        }
        assert.equal(run.outputs!.bucketEndpoint, "http://minio.minio.svc.cluster.local:9000");
        assert.equal(run.outputs!.bucketRegion, "eu-west-1");
        assert.equal((run.outputs!.localAccess as Record<string, unknown>).s3, undefined, "nothing to forward to");
    });

    test("an HTTPS bucket keeps TLS (no insecure)", async () => {
        const run = await runStack(localConfig({ s3: { ...s3, endpoint: "https://s3.example.com" } }), {
            secretKeys: ["s3"],
            program: { requireCredentials: false },
        });
        const fi = run.recorder.kubeObject("FluxInstance", "flux");
        const patch = fi.spec.kustomize.patches.find((p: { target: { kind: string } }) => p.target.kind === "Bucket");
        assert.deepEqual(JSON.parse(patch.patch), [{ op: "add", path: "/spec/region", value: "eu-west-1" }]);
        assert.equal(fi.spec.sync.url, "s3.example.com");
    });

    test("flux.installation existing: no Helm release anywhere; the stack creates the Bucket and root Kustomization", async () => {
        const run = await runStack(localConfig({ flux: { installation: "existing" } }), {
            program: { requireCredentials: false },
        });
        assert.equal(run.error, undefined, String(run.error));
        const r = run.recorder;
        assert.deepEqual(r.all("kubernetes:helm.sh/v3:Release"), []);
        assert.deepEqual(r.kube("FluxInstance"), []);
        const bucket = r.kubeObject("Bucket", "flux-system");
        assert.equal(bucket.spec.endpoint, "seaweedfs.gitops-s3.svc.cluster.local:8333");
        assert.equal(bucket.spec.insecure, true);
        const k = r.kubeObject("Kustomization", "flux-system");
        assert.deepEqual(
            [k.spec.interval, k.spec.retryInterval, k.spec.timeout, k.spec.wait, k.spec.prune],
            ["10m", "2m", "5m", false, true],
        );
        const receiver = r.get("kubernetes:notification.toolkit.fluxcd.io/v1:Receiver", "bucket-receiver-receiver");
        assert.ok(receiver.dependsOn.includes("kubernetes:source.toolkit.fluxcd.io/v1:Bucket::flux-sync-bucket"));
        assert.equal(run.outputs!.fluxVersion, undefined, "the stack does not know the installed Flux version");
        assert.equal(run.outputs!.fluxNamespace, "flux-system");
    });

    test("a public host with an existing ingress class: KCert and an Ingress on that class, no Contour, no DNS", async () => {
        const run = await runStack(
            localConfig({
                webhook: { host: "flux.example.org", ingressClassName: "nginx", exposure: "ingress" },
                acme: { email: "ops@example.org", termsAccepted: true },
            }),
            { program: { requireCredentials: false } },
        );
        assert.equal(run.error, undefined, String(run.error));
        const r = run.recorder;
        assert.deepEqual(
            r.all("kubernetes:helm.sh/v3:Release").map((x) => x.name),
            ["flux-operator"],
        );
        assert.equal(r.kubeObject("Ingress", "webhook-receiver").spec.ingressClassName, "nginx");
        assert.ok(r.kubeObject("GitRepository", "kcert"));
        assert.deepEqual(
            r.resources.filter((x) => x.type.startsWith("digitalocean:")),
            [],
        );
        const url = await inputValue(run.rawOutputs!.bucketReceiverUrl as never);
        assert.match(String(url), /^https:\/\/flux\.example\.org\/hook\//);
        assert.equal((run.outputs!.localAccess as Record<string, unknown>).receiver, undefined);
    });

    test("contour.install on an existing cluster: no DigitalOcean load balancer annotation", async () => {
        const run = await runStack(
            localConfig({
                contour: { install: true },
                webhook: { host: "flux.example.org" },
                acme: { email: "o@example.org", termsAccepted: true },
            }),
            { program: { requireCredentials: false } },
        );
        assert.equal(run.error, undefined, String(run.error));
        const release = reveal<any>(run.recorder.get("kubernetes:helm.sh/v3:Release", "contour-release").inputs);
        assert.deepEqual(release.values.envoy.service.annotations, {});
    });
});

describe("existing-cluster target: configuration errors", () => {
    const okEnv = () => ({ KUBECONFIG: kubeconfigFile(["kind-gitops", "other"], "other") });

    test("valid with no DigitalOcean, Spaces or GitHub credentials in the environment", () => {
        const cfg = parse(localConfig(), okEnv());
        assert.equal(cfg.target, "existing-cluster");
        assert.equal(cfg.contour.install, false, "Contour is off by default on an existing cluster");
        assert.equal(cfg.flux.installation, "operator");
        assert.deepEqual(cfg.inClusterS3, { namespace: "gitops-s3", bucket: "gitops", storageSize: "1Gi" });
    });

    test("the kubeconfig must exist and hold the context", () => {
        const missing = problemsOf(() => parse(localConfig(), { KUBECONFIG: "/nonexistent/kubeconfig" }));
        assert.ok(
            missing.some((p) => p.startsWith("existingCluster.kubeconfig: no kubeconfig at /nonexistent/kubeconfig")),
            missing.join("\n"),
        );

        const wrong = problemsOf(() => parse(localConfig({ existingCluster: { context: "kind-typo" } }), okEnv()));
        assert.ok(
            wrong.some(
                (p) => p.startsWith("existingCluster.context: kind-typo is not in") && p.includes("kind-gitops, other"),
            ),
            wrong.join("\n"),
        );

        const noCurrent = problemsOf(() =>
            parse(localConfig({ existingCluster: {} }), { KUBECONFIG: kubeconfigFile(["a"]) }),
        );
        assert.ok(
            noCurrent.some((p) => p.startsWith("existingCluster.context:") && p.includes("no current context")),
            noCurrent.join("\n"),
        );

        // An explicit file wins over $KUBECONFIG; ~ is the home directory, as for the provider.
        const home = mkdtempSync(join(tmpdir(), "home-"));
        mkdirSync(join(home, "k"));
        writeFileSync(join(home, "k", "config"), readFileSync(kubeconfigFile(["kind-gitops"], "kind-gitops")));
        const cfg = parse(localConfig({ existingCluster: { kubeconfig: "~/k/config" } }), {
            HOME: home,
            KUBECONFIG: "/nonexistent",
        });
        assert.equal(cfg.existingCluster.kubeconfig, "~/k/config");
    });

    test("settings the target cannot use are named, all at once", () => {
        const problems = problemsOf(() =>
            parse(
                localConfig({
                    webhook: { dnsZone: "example.com" },
                    github: { repository: "org/repo" },
                    acme: { email: "ops@example.com" },
                    s3: {
                        endpoint: "https://s3.example.com",
                        bucket: "b-1",
                        accessKeyId: "A",
                        secretAccessKey: "plain",
                    },
                    inClusterS3: { bucket: "other" },
                }),
                okEnv(),
            ),
        );
        for (const start of [
            "webhook.dnsZone: only for target digitalocean",
            "github.repository: needs webhook.host",
            "acme: only used with webhook.host",
            "s3.secretAccessKey: must be stored as a secret",
            "inClusterS3: not used when the s3 section",
        ]) {
            assert.ok(
                problems.some((p) => p.startsWith(start)),
                `${start} missing in:\n${problems.join("\n")}`,
            );
        }
        assert.ok(
            !problems.some((p) => p.includes("DIGITALOCEAN_TOKEN") || p.includes("SPACES_")),
            problems.join("\n"),
        );
    });

    test("each s3 secret key is checked by itself against the stack file's secure: markers", () => {
        const s3 = {
            endpoint: "https://s3.example.com",
            bucket: "b-1",
            accessKeyId: "A",
            secretAccessKey: "[secret]",
            uploadAccessKeyId: "U",
            uploadSecretAccessKey: "plain",
        };
        const problems = problemsOf(() =>
            parseConfig(localConfig({ s3 }), {
                env: okEnv(),
                // The engine marks the whole s3 key secret once one leaf is; the stack file says which.
                secretKeys: new Set(["s3"]),
                stackFileSecrets: { keys: new Set(["s3"]), paths: new Set(["s3.secretAccessKey"]) },
            }),
        );
        assert.deepEqual(
            problems.filter((p) => p.startsWith("s3.")),
            [
                "s3.uploadSecretAccessKey: must be stored as a secret (pulumi config set --secret --path 's3.uploadSecretAccessKey' <value>)",
            ],
        );
    });

    test("a public host needs acme, and an ingress class when Contour is not installed", () => {
        const problems = problemsOf(() => parse(localConfig({ webhook: { host: "flux.example.org" } }), okEnv()));
        assert.ok(
            problems.some((p) => p.startsWith("acme.email: is required with webhook.host on target existing-cluster")),
            problems.join("\n"),
        );
        assert.ok(
            problems.some((p) => p.startsWith("webhook.ingressClassName: is required with webhook.host")),
            problems.join("\n"),
        );
    });

    test("the sections of the existing-cluster target are refused on digitalocean, and the target is checked", () => {
        const problems = problemsOf(() =>
            parse(
                {
                    webhook: { host: "flux.example.com" },
                    acme: { email: "ops@example.com" },
                    existingCluster: { context: "x" },
                    inClusterS3: {},
                },
                { DIGITALOCEAN_TOKEN: "t", SPACES_ACCESS_KEY_ID: "i", SPACES_SECRET_ACCESS_KEY: "s" },
            ),
        );
        assert.ok(
            problems.includes(
                "existingCluster: only for target existing-cluster (the digitalocean target creates its cluster and Spaces bucket)",
            ),
            problems.join("\n"),
        );
        assert.ok(problems.some((p) => p.startsWith("inClusterS3: only for target existing-cluster")));
        const noContour = problemsOf(() =>
            parse(
                {
                    webhook: { host: "flux.example.com" },
                    acme: { email: "ops@example.com" },
                    contour: { install: false },
                },
                { DIGITALOCEAN_TOKEN: "t", SPACES_ACCESS_KEY_ID: "i", SPACES_SECRET_ACCESS_KEY: "s" },
            ),
        );
        assert.ok(
            noContour.some((p) => p.startsWith("contour.install: target digitalocean always installs Contour")),
            noContour.join("\n"),
        );
        const bad = problemsOf(() => parse({ target: "kind" }, {}));
        assert.ok(
            bad.some((p) => p.startsWith("target: must be one of digitalocean, existing-cluster")),
            bad.join("\n"),
        );
    });

    test("the program reports the target's problems before registering anything", async () => {
        const run = await runStack(localConfig({ webhook: { dnsZone: "example.com" } }), {
            program: { env: { KUBECONFIG: "/nonexistent" } },
        });
        assert.ok(run.error instanceof ConfigError);
        assert.ok(run.error.problems.some((p) => p.startsWith("existingCluster.kubeconfig:")));
        assert.ok(run.error.problems.some((p) => p.startsWith("webhook.dnsZone:")));
        assert.deepEqual(
            run.recorder.resources.filter((x) => x.type !== "pulumi:pulumi:Stack"),
            [],
        );
    });
});
