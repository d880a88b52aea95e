// `make upload-do` for stacks of the existing-cluster target: the bucket and the Flux receiver
// are in-cluster Services, reached through `kubectl port-forward` the tool opens itself. A
// stand-in kubectl (first on PATH) forwards real TCP to a local S3 server and a local receiver
// and logs how it was called; the tool's own spawn, port parsing and clean-up run unchanged.
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { runUpload } from "../tools/upload/cli";
import { kubectlArgs, parseLocalAccess, viaLocalPort } from "../tools/upload/port-forward";
import { captureIo, makeTree, S3RVER_KEY, stackReader } from "./helpers-s3";
import { useFakeS3 } from "./upload-fake-http";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const TOKEN = "receiver-token-local-7c1d";
const HOOK = createHash("sha256").update(`${TOKEN}bucketflux-system`).digest("hex");
const TREE = { "kustomization.yaml": "resources: [a.yaml]\n", "a.yaml": "kind: ConfigMap\n" };

/** A kubectl stand-in: `port-forward` only, forwarding to FAKE_FORWARD_<SERVICE> on 127.0.0.1. */
const FAKE_KUBECTL = `#!${process.execPath}
const net = require("node:net");
const fs = require("node:fs");
const args = process.argv.slice(2);
const svc = args.find((a) => a.startsWith("service/")).slice("service/".length);
const remote = args[args.length - 1].slice(1);
const target = Number(process.env["FAKE_FORWARD_" + svc.toUpperCase().replace(/-/g, "_")]);
const server = net.createServer((c) => {
    const up = net.connect(target, "127.0.0.1");
    c.pipe(up).pipe(c);
    c.on("error", () => up.destroy());
    up.on("error", () => c.destroy());
});
server.listen(0, "127.0.0.1", () => {
    fs.appendFileSync(process.env.FAKE_KUBECTL_LOG, JSON.stringify({ pid: process.pid, args }) + "\\n");
    process.stdout.write("Forwarding from 127.0.0.1:" + server.address().port + " -> " + remote + "\\n");
});
process.on("SIGTERM", () => process.exit(0));
setTimeout(() => process.exit(3), 60000);
`;

function fakeKubectlDir(): string {
    const dir = mkdtempSync(path.join(tmpdir(), "fake-kubectl-"));
    writeFileSync(path.join(dir, "kubectl"), FAKE_KUBECTL);
    chmodSync(path.join(dir, "kubectl"), 0o755);
    return dir;
}

async function startReceiver() {
    const received: { path: string; signature: string; body: string }[] = [];
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const body = Buffer.concat(chunks).toString();
            received.push({ path: req.url ?? "", signature: String(req.headers["x-signature"]), body });
            res.writeHead(req.url === `/hook/${HOOK}` ? 200 : 404).end();
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        port: (server.address() as AddressInfo).port,
        received,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}

// The bucket: upload-fake-http.ts's in-memory one in this process (the S3 server's own replies
// are not what these tests check; s3rver would cost a process of its own)
const local = useFakeS3("pf");

/** The outputs of a Pulumi.local.yaml stack, with the upload key of the local S3 server. */
function localStackOutputs(bucket: string) {
    return {
        bucketName: bucket,
        bucketRegion: "us-east-1",
        bucketEndpoint: "http://seaweedfs.gitops-s3.svc.cluster.local:8333",
        uploadAccessKeyId: S3RVER_KEY,
        uploadSecretAccessKey: S3RVER_KEY,
        bucketReceiverUrl: `http://webhook-receiver.flux-system.svc.cluster.local/hook/${HOOK}`,
        bucketReceiverToken: TOKEN,
        localAccess: {
            context: "kind-gitops",
            s3: { namespace: "gitops-s3", service: "seaweedfs", port: 8333 },
            receiver: { namespace: "flux-system", service: "webhook-receiver", port: 80 },
        },
    };
}

const alive = (pid: number) => {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
};

describe("upload: port-forwards for in-cluster services", () => {
    test("syncs through a forward to the S3 Service, triggers through one to the receiver, then closes both", async () => {
        const bucket = await local.freshBucket();
        const src = await makeTree(TREE);
        const receiver = await startReceiver();
        const bin = fakeKubectlDir();
        const log = path.join(bin, "log");
        try {
            const cap = captureIo();
            const code = await runUpload(["--source", src], {
                env: {
                    PATH: `${bin}${path.delimiter}${process.env.PATH}`,
                    FAKE_KUBECTL_LOG: log,
                    FAKE_FORWARD_SEAWEEDFS: String(local.s3().port),
                    FAKE_FORWARD_WEBHOOK_RECEIVER: String(receiver.port),
                },
                io: cap.io,
                readStackOutputs: stackReader(localStackOutputs(bucket)).read,
                receiverBackoffMs: 5,
            });
            assert.equal(code, 0, cap.all());
            assert.deepEqual([...(await local.s3().objects(bucket)).keys()].sort(), ["a.yaml", "kustomization.yaml"]);
            assert.equal(receiver.received.length, 1, "one trigger");
            const call = receiver.received[0]!;
            assert.equal(call.path, `/hook/${HOOK}`);
            assert.equal(call.signature, `sha256=${createHmac("sha256", TOKEN).update(call.body).digest("hex")}`);
            assert.match(cap.all(), /bucket: port-forward 127\.0\.0\.1:\d+ -> service gitops-s3\/seaweedfs:8333/);
            assert.match(
                cap.all(),
                /receiver: port-forward 127\.0\.0\.1:\d+ -> service flux-system\/webhook-receiver:80/,
            );
            assert.ok(!cap.all().includes(HOOK), "the hook path is never printed");

            const calls = readFileSync(log, "utf8")
                .trim()
                .split("\n")
                .map((l) => JSON.parse(l) as { pid: number; args: string[] });
            assert.deepEqual(
                calls.map((c) => c.args),
                [
                    [
                        "--context",
                        "kind-gitops",
                        "--namespace",
                        "gitops-s3",
                        "port-forward",
                        "--address",
                        "127.0.0.1",
                        "service/seaweedfs",
                        ":8333",
                    ],
                    [
                        "--context",
                        "kind-gitops",
                        "--namespace",
                        "flux-system",
                        "port-forward",
                        "--address",
                        "127.0.0.1",
                        "service/webhook-receiver",
                        ":80",
                    ],
                ],
            );
            // Both kubectl processes end with the run (bounded wait: 50 × 20 ms).
            for (let i = 0; i < 50 && calls.some((c) => alive(c.pid)); i++) await new Promise((r) => setTimeout(r, 20));
            assert.deepEqual(
                calls.filter((c) => alive(c.pid)),
                [],
                "port-forwards left running",
            );
        } finally {
            await receiver.close();
            rmSync(src, { recursive: true, force: true });
            rmSync(bin, { recursive: true, force: true });
        }
    });

    test("an endpoint given on the command line is used as is: only the receiver is forwarded", async () => {
        const bucket = await local.freshBucket();
        const src = await makeTree(TREE);
        const receiver = await startReceiver();
        const bin = fakeKubectlDir();
        const log = path.join(bin, "log");
        try {
            const cap = captureIo();
            const code = await runUpload(["--source", src, "--endpoint", local.s3().endpoint], {
                env: {
                    PATH: `${bin}${path.delimiter}${process.env.PATH}`,
                    FAKE_KUBECTL_LOG: log,
                    FAKE_FORWARD_WEBHOOK_RECEIVER: String(receiver.port),
                },
                io: cap.io,
                readStackOutputs: stackReader(localStackOutputs(bucket)).read,
                receiverBackoffMs: 5,
            });
            assert.equal(code, 0, cap.all());
            const services = readFileSync(log, "utf8")
                .trim()
                .split("\n")
                .map((l) => (JSON.parse(l) as { args: string[] }).args.find((a) => a.startsWith("service/")));
            assert.deepEqual(services, ["service/webhook-receiver"]);
            assert.equal(receiver.received.length, 1);
        } finally {
            await receiver.close();
            rmSync(src, { recursive: true, force: true });
            rmSync(bin, { recursive: true, force: true });
        }
    });

    test("without kubectl: exit 1, nothing synced, and the command to forward by hand", async () => {
        const bucket = await local.freshBucket();
        const src = await makeTree(TREE);
        const empty = mkdtempSync(path.join(tmpdir(), "no-kubectl-"));
        try {
            const cap = captureIo();
            const code = await runUpload(["--source", src], {
                env: { PATH: empty },
                io: cap.io,
                readStackOutputs: stackReader(localStackOutputs(bucket)).read,
            });
            assert.equal(code, 1);
            assert.match(cap.all(), /kubectl is not installed \(or not on PATH\)/);
            assert.match(
                cap.all(),
                /kubectl --context kind-gitops --namespace gitops-s3 port-forward --address 127\.0\.0\.1 service\/seaweedfs 8080:8333/,
            );
            assert.equal((await local.s3().objects(bucket)).size, 0);
        } finally {
            rmSync(src, { recursive: true, force: true });
            rmSync(empty, { recursive: true, force: true });
        }
    });

    test("localAccess is validated; kubeconfig ~/ is expanded; URLs keep their path", () => {
        assert.equal(parseLocalAccess(undefined), undefined);
        assert.throws(() => parseLocalAccess({ s3: { namespace: "x", service: "y" } }), /localAccess\.s3/);
        assert.deepEqual(
            kubectlArgs({ kubeconfig: "~/kube/cfg" }, { namespace: "n", service: "s", port: 80 }, "/home/u").slice(
                0,
                2,
            ),
            ["--kubeconfig", "/home/u/kube/cfg"],
        );
        assert.equal(
            viaLocalPort("http://svc.ns.svc.cluster.local/hook/abc?x=1", 4321),
            "http://127.0.0.1:4321/hook/abc?x=1",
        );
    });
});
