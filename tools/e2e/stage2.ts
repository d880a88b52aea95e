/**
 * Stage 2: the GitOps loop, with the real Flux controllers.
 *
 * source-controller, kustomize-controller and notification-controller run as local processes
 * against the stage 1 API server; an S3 server (s3rver, the one the upload tests use) and an
 * HTTP server that records alerts listen on 127.0.0.1. The stack program (existing-cluster
 * target, `flux.installation: existing`, an `s3` bucket, one generic notification) declares
 * its objects; they are applied to the API server as declared (`pulumi up` cannot run here:
 * see the README's "Not yet covered"). Then `make upload-do`'s tool syncs an e2e tree of
 * objects that need no pods to the bucket and calls the receiver; the checks follow the loop:
 * receiver accepted, Bucket fetched before its interval, Kustomization applied (push-to-applied
 * seconds), a changed file applied, a file removed with --delete pruned, an alert delivered.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { stringify } from "yaml";
import { receiverHookPath } from "../../components/flux-receiver";
import { type ControlPlane, kubectl, sleep } from "./cluster";
import { type FluxBinaries, type FluxControllers, startFluxControllers } from "./flux";
import type { Supervisor } from "./procs";
import type { ProgramRequest, ProgramResult } from "./program-objects";
import type { Report } from "./report";
import { describe, type KubeObject } from "./stage1";

const execFileP = promisify(execFile);

/** The Pulumi project, as Pulumi.yaml names it. */
const PROJECT = "do-gitops-platform";
/** Namespace and objects of the e2e tree (things that need no pods). */
const APP_NAMESPACE = "e2e-gitops";
const BUCKET = "gitops";

export interface Stage2Options {
    readonly root: string;
    readonly dir: string;
    readonly kubectlBin: string;
    readonly cp: ControlPlane;
    readonly report: Report;
    readonly sup: Supervisor;
    readonly flux: FluxBinaries;
    /** Receives what the stack program declared (tools/e2e/blocked.ts reads its resource types). Default: none. */
    readonly onStackProgram?: (result: ProgramResult) => void;
    /** Bound of every wait for a controller to act. Default: 120 s. */
    readonly timeoutMs?: number;
}

/** An event as notification-controller's generic provider posts it (fluxcd/pkg/apis/event/v1 Event). */
interface FluxEvent {
    involvedObject?: { kind?: string; name?: string; namespace?: string };
    severity?: string;
    reason?: string;
    message?: string;
    metadata?: Record<string, string>;
}

/** An HTTP server on 127.0.0.1 that records the JSON bodies POSTed to it: the generic Provider's target. */
async function alertSink(): Promise<{ url: string; events: FluxEvent[]; close: () => Promise<void> }> {
    const events: FluxEvent[] = [];
    const server = http.createServer((req, res) => {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (c) => {
            body += c;
        });
        req.on("end", () => {
            try {
                events.push(JSON.parse(body) as FluxEvent);
            } catch {
                events.push({ message: body });
            }
            res.writeHead(202).end();
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        url: `http://127.0.0.1:${port}/flux-alerts`,
        events,
        close: () =>
            new Promise((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

interface S3rverInstance {
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
}

/** s3rver (pinned in package.json; the upload tests' server) on 127.0.0.1 with the bucket. */
async function startS3(dir: string): Promise<{ endpoint: string; close: () => Promise<void> }> {
    const S3rver = require("s3rver") as new (opts: Record<string, unknown>) => S3rverInstance;
    const server = new S3rver({
        address: "127.0.0.1",
        port: 0,
        directory: dir,
        silent: true,
        configureBuckets: [{ name: BUCKET }],
    });
    const { port } = await server.run();
    return { endpoint: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/**
 * The revision source-controller gives a Bucket's artifact, recomputed from the bucket itself:
 * `sha256:` + hex SHA-256 of `<key> <etag>\n` for every object, keys sorted (source-controller
 * internal/index/digest.go, `Digester.Digest` and `writeLine`; the ETag without its quotes).
 */
export async function bucketListingRevision(endpoint: string, bucket: string, key: string): Promise<string> {
    const client = new S3Client({
        endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: key, secretAccessKey: key },
    });
    const lines: [string, string][] = [];
    let token: string | undefined;
    for (let page = 0; page < 100; page++) {
        const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        for (const o of r.Contents ?? []) lines.push([o.Key ?? "", (o.ETag ?? "").replace(/^"|"$/g, "")]);
        if (!r.IsTruncated) break;
        token = r.NextContinuationToken;
    }
    client.destroy();
    lines.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const h = createHash("sha256");
    for (const [k, etag] of lines) h.update(`${k} ${etag}\n`);
    return `sha256:${h.digest("hex")}`;
}

/** s3rver's own key pair: it accepts no other. */
const S3RVER_KEY = "S3RVER";

/** The e2e stack's config: what a user of an existing cluster with Flux and an S3 bucket writes. */
export function e2eStackConfig(o: { kubeconfig: string; s3Endpoint: string; alertUrl: string }): ProgramRequest {
    return {
        project: PROJECT,
        stack: "e2e",
        config: {
            target: "existing-cluster",
            existingCluster: { kubeconfig: o.kubeconfig, skipAwait: true },
            s3: {
                endpoint: o.s3Endpoint,
                bucket: BUCKET,
                region: "us-east-1",
                accessKeyId: S3RVER_KEY,
                secretAccessKey: S3RVER_KEY,
                uploadAccessKeyId: S3RVER_KEY,
                uploadSecretAccessKey: S3RVER_KEY,
            },
            // The source interval is long on purpose: only the receiver call can make Flux
            // fetch within the wait.
            flux: {
                installation: "existing",
                sourceInterval: "1h",
                interval: "1h",
                retryInterval: "20s",
                timeout: "1m",
            },
            // A plain-http address is refused for a notification (https, or an in-cluster
            // Service); a secret URL (credential) is not checked, as for a real webhook URL.
            notifications: [{ name: "e2e", type: "generic", credential: o.alertUrl }],
        },
        secretKeys: ["s3", "notifications"],
    };
}

/** Runs the stack program offline (tools/e2e/program-objects.ts, a child process). */
async function programObjects(root: string, dir: string, req: ProgramRequest): Promise<ProgramResult> {
    const reqFile = path.join(dir, "stack-request.json");
    const resFile = path.join(dir, "stack-objects.json");
    await writeFile(reqFile, JSON.stringify(req), { mode: 0o600 });
    try {
        await execFileP(
            process.execPath,
            ["--import", "tsx", path.join(root, "tools", "e2e", "program-objects.ts"), reqFile, resFile],
            { cwd: root, timeout: 300_000, maxBuffer: 16 << 20 },
        );
    } catch (e) {
        const err = e as { stderr?: string; message: string };
        throw new Error(err.stderr?.trim() || err.message);
    }
    return JSON.parse(await readFile(resFile, "utf8")) as ProgramResult;
}

/** The e2e tree: a Namespace and two ConfigMaps; no kustomization.yaml (kustomize-controller generates one). */
async function writeTree(tree: string, files: Record<string, KubeObject | undefined>): Promise<void> {
    await mkdir(tree, { recursive: true });
    for (const [name, object] of Object.entries(files)) {
        const file = path.join(tree, name);
        if (object) await writeFile(file, stringify(object));
        else await rm(file, { force: true });
    }
}

const configMap = (name: string, message: string): KubeObject => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: APP_NAMESPACE },
    data: { message },
});

/** The fields of live objects the checks read. */
interface Live {
    metadata?: { annotations?: Record<string, string> };
    status?: {
        conditions?: { type: string; status: string; reason?: string; message?: string }[];
        webhookPath?: string;
        artifact?: { revision?: string };
        lastAppliedRevision?: string;
        lastHandledReconcileAt?: string;
    };
    data?: Record<string, string>;
}

interface UploadRun {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
    readonly seconds: number;
}

export async function stage2(o: Stage2Options): Promise<void> {
    const { report, cp } = o;
    const timeoutMs = o.timeoutMs ?? 120_000;
    const k = (args: readonly string[]) => kubectl(o.kubectlBin, cp, path.join(o.dir, "kube-cache"), args);
    const getJson = async (kindName: string, ns?: string): Promise<Live | undefined> => {
        const r = await k(["get", ...(ns ? ["-n", ns] : []), kindName, "-o", "json"]);
        if (!r.ok) {
            if (/NotFound|not found/.test(r.stderr)) return undefined;
            throw new Error(r.stderr.trim());
        }
        return JSON.parse(r.stdout);
    };
    /** Polls `probe` (every second, bounded by timeoutMs) until it returns a value. */
    const until = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
        const deadline = Date.now() + timeoutMs;
        let last = "";
        while (Date.now() < deadline) {
            try {
                const v = await probe();
                if (v !== undefined) return v;
            } catch (e) {
                last = (e as Error).message;
            }
            await sleep(1000);
        }
        throw new Error(`${what}: not within ${timeoutMs / 1000}s${last ? ` (${last})` : ""}`);
    };
    const ready = (obj: Live | undefined) => (obj?.status?.conditions ?? []).find((c) => c.type === "Ready");

    const sink = await alertSink();
    const s3 = await startS3(path.join(o.dir, "s3"));
    try {
        let flux: FluxControllers | undefined;
        await report.check("Flux controllers (source, kustomize, notification) on 127.0.0.1, ready", async () => {
            await mkdir(path.join(o.dir, "source-controller-storage"), { recursive: true });
            flux = await startFluxControllers(o.sup, o.flux, cp, o.dir);
            return `receiver ${flux.receiverBase}, events ${flux.eventsUrl}, artifacts ${flux.storageAddress}`;
        });
        if (!flux) return;
        const fluxUp = flux;

        // "Flux is installed": its CRDs (stage 1), its controllers (above) and its namespace.
        const fluxNs = await k(["create", "namespace", "flux-system"]);
        if (!fluxNs.ok && !/AlreadyExists/.test(fluxNs.stderr)) {
            report.fail("namespace flux-system", fluxNs.stderr.trim());
            return;
        }

        const req = e2eStackConfig({ kubeconfig: cp.kubeconfig, s3Endpoint: s3.endpoint, alertUrl: sink.url });
        let stack: ProgramResult | undefined;
        await report.check("the e2e stack program declares the sync, receiver, provider and alerts", async () => {
            stack = await programObjects(o.root, o.dir, req);
            o.onStackProgram?.(stack);
            const kinds = stack.objects.map((x) => x.kind);
            for (const want of ["Bucket", "Kustomization", "Receiver", "Provider", "Alert"]) {
                if (!kinds.includes(want)) throw new Error(`no ${want} among ${kinds.join(", ")}`);
            }
            return stack.objects.map((x) => describe(x as KubeObject)).join(", ");
        });
        if (!stack) return;
        const outputs = stack.outputs as Record<string, string>;

        await report.check("the stack's objects applied to the API server as declared (server-side)", async () => {
            let n = 0;
            for (const object of stack?.objects ?? []) {
                const file = path.join(o.dir, "stack", `${n++}-${object.kind}.json`);
                await mkdir(path.dirname(file), { recursive: true });
                await writeFile(file, JSON.stringify(object), { mode: 0o600 });
                const r = await k(["apply", "--server-side", "--field-manager=do-gitops-e2e-stack", "-f", file]);
                if (!r.ok) throw new Error(`${describe(object as KubeObject)}: ${r.stderr.trim()}`);
            }
            return `${n} objects`;
        });

        // The receiver: notification-controller computes its path itself; the stack's output
        // URL (what `make upload-do` calls) must name the same one.
        const ns = String(outputs.fluxNamespace);
        let hookPath: string | undefined;
        await report.check("Receiver bucket Ready; its webhook path is the one the stack outputs", async () => {
            const fromController = await until("Receiver bucket Ready with a webhook path", async () => {
                const r = await getJson("receivers.notification.toolkit.fluxcd.io/bucket", ns);
                return ready(r)?.status === "True" ? r?.status?.webhookPath || undefined : undefined;
            });
            const fromStack = new URL(String(outputs.bucketReceiverUrl)).pathname;
            if (fromController !== fromStack)
                throw new Error(`notification-controller serves ${fromController}, the stack outputs ${fromStack}`);
            const recomputed = receiverHookPath(String(outputs.bucketReceiverToken), "bucket", ns);
            if (recomputed !== fromController) throw new Error(`token does not give ${fromController}`);
            hookPath = fromController;
            return `${fromController.slice(0, 14)}…`;
        });

        const bucketRevision = async () => {
            const b = await getJson("buckets.source.toolkit.fluxcd.io/flux-system", ns);
            return ready(b)?.status === "True" ? (b?.status?.artifact?.revision as string | undefined) : undefined;
        };
        let emptyRevision: string | undefined;
        await report.check(
            "Bucket flux-system Ready on the empty bucket (source-controller reads s3rver)",
            async () => {
                const rev = await until("Bucket flux-system Ready", bucketRevision);
                const listing = await bucketListingRevision(s3.endpoint, BUCKET, S3RVER_KEY);
                if (rev !== listing) throw new Error(`revision ${rev}, but the bucket's listing gives ${listing}`);
                emptyRevision = rev;
                return `revision ${rev} (= the listing's digest)`;
            },
        );
        if (!hookPath || !emptyRevision) return;

        const tree = path.join(o.dir, "tree");
        const receiverUrl = `${fluxUp.receiverBase}${hookPath}`;
        const upload = async (extra: readonly string[] = []): Promise<UploadRun> => {
            const t = Date.now();
            // `make upload-do` is `node tools/upload/run.cjs --stack …`: the same entry point, with
            // the values it would read from the stack outputs given explicitly (there is no
            // Pulumi state), and the receiver reached on 127.0.0.1 as its port-forward would.
            const args = [
                path.join(o.root, "tools", "upload", "run.cjs"),
                "--source",
                tree,
                "--endpoint",
                String(outputs.bucketEndpoint),
                "--bucket",
                String(outputs.bucketName),
                "--region",
                String(outputs.bucketRegion),
                "--receiver-url",
                receiverUrl,
                ...extra,
            ];
            const env = {
                ...process.env,
                AWS_ACCESS_KEY_ID: String(outputs.uploadAccessKeyId),
                AWS_SECRET_ACCESS_KEY: String(outputs.uploadSecretAccessKey),
                FLUX_RECEIVER_TOKEN: String(outputs.bucketReceiverToken),
            };
            let run: UploadRun;
            try {
                const r = await execFileP(process.execPath, args, { cwd: o.root, env, timeout: 180_000 });
                run = { code: 0, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - t) / 1000 };
            } catch (e) {
                const err = e as { code?: number; stdout?: string; stderr?: string; message: string };
                run = {
                    code: typeof err.code === "number" ? err.code : 1,
                    stdout: err.stdout ?? "",
                    stderr: err.stderr || err.message,
                    seconds: (Date.now() - t) / 1000,
                };
            }
            await appendFile(
                path.join(o.dir, "upload.log"),
                `$ upload ${extra.join(" ")} (exit ${run.code}, ${run.seconds.toFixed(1)}s)\n${run.stdout}${run.stderr}\n`,
            );
            return run;
        };
        const accepted = (u: UploadRun) => {
            const line = u.stdout.split("\n").find((l) => l.startsWith("receiver: POST"));
            if (u.code !== 0 || !line || !/-> 200\b/.test(line))
                throw new Error(
                    `upload exited ${u.code}: ${(u.stdout + u.stderr).trim().split("\n").slice(-6).join("\n")}`,
                );
            return line;
        };
        const summaryLine = (u: UploadRun) => u.stdout.trim().split("\n").at(-1) ?? "";
        const applied = async (revision: string) => {
            const ks = await getJson("kustomizations.kustomize.toolkit.fluxcd.io/flux-system", ns);
            return ready(ks)?.status === "True" && ks?.status?.lastAppliedRevision === revision ? ks : undefined;
        };
        const cmMessage = async (name: string) =>
            (await getJson(`configmap/${name}`, APP_NAMESPACE))?.data?.message as string | undefined;

        // 1. First push: namespace and two ConfigMaps.
        await writeTree(tree, {
            "namespace.yaml": { apiVersion: "v1", kind: "Namespace", metadata: { name: APP_NAMESPACE } },
            "config-a.yaml": configMap("e2e-a", "first"),
            "config-b.yaml": configMap("e2e-b", "to be pruned"),
        });
        const pushed = Date.now();
        const first = await upload();
        let revision1: string | undefined;
        await report.check(
            "upload tool (make upload-do's entry point): synced to the loopback S3 bucket, signed receiver call accepted",
            async () => {
                const line = accepted(first);
                return `${summaryLine(first)}; ${line.replace(/\/hook\/[0-9a-f]+/, "/hook/<sha256…>")}`;
            },
        );
        await report.check(
            "the receiver made Flux fetch the bucket before its 1h interval (new revision, Ready)",
            async () => {
                const b = await until("Bucket flux-system with a new revision", async () => {
                    const r = await bucketRevision();
                    return r && r !== emptyRevision ? r : undefined;
                });
                const obj = await getJson("buckets.source.toolkit.fluxcd.io/flux-system", ns);
                const requested = obj?.metadata?.annotations?.["reconcile.fluxcd.io/requestedAt"];
                if (!requested) throw new Error("the Bucket carries no reconcile.fluxcd.io/requestedAt annotation");
                if (obj?.status?.lastHandledReconcileAt !== requested)
                    throw new Error(
                        `lastHandledReconcileAt ${obj?.status?.lastHandledReconcileAt} ≠ requestedAt ${requested}`,
                    );
                const listing = await bucketListingRevision(s3.endpoint, BUCKET, S3RVER_KEY);
                if (b !== listing) throw new Error(`revision ${b}, but the bucket's listing gives ${listing}`);
                revision1 = b;
                return `revision ${b} (= the listing's digest), requestedAt ${requested}`;
            },
        );
        if (revision1) {
            const rev = revision1;
            await report.check("kustomize-controller applied the pushed tree (push-to-applied)", async () => {
                await until(`Kustomization flux-system applied ${rev}`, () => applied(rev));
                const msg = await until("ConfigMap e2e-a", () => cmMessage("e2e-a"));
                if (msg !== "first") throw new Error(`ConfigMap e2e-a says ${msg}`);
                if ((await cmMessage("e2e-b")) === undefined) throw new Error("ConfigMap e2e-b missing");
                const total = (Date.now() - pushed) / 1000;
                return (
                    `push-to-applied ${total.toFixed(1)}s (the upload tool's run ${first.seconds.toFixed(1)}s, then ` +
                    `${(total - first.seconds).toFixed(1)}s to applied); Namespace ${APP_NAMESPACE}, ConfigMaps e2e-a, e2e-b`
                );
            });
        }

        // 2. A changed file.
        await report.check("a changed file is applied", async () => {
            await writeTree(tree, { "config-a.yaml": configMap("e2e-a", "second") });
            const t = Date.now();
            const u = await upload();
            accepted(u);
            if (!/^uploaded 1, deleted 0, unchanged 2\b/.test(summaryLine(u)))
                throw new Error(`expected one upload: ${summaryLine(u)}`);
            await until("ConfigMap e2e-a says second", async () =>
                (await cmMessage("e2e-a")) === "second" ? true : undefined,
            );
            return `${summaryLine(u)}; applied ${((Date.now() - t) / 1000).toFixed(1)}s after the push`;
        });

        // 3. A file removed with --delete.
        await report.check("a file removed with --delete is pruned", async () => {
            await writeTree(tree, { "config-b.yaml": undefined });
            const t = Date.now();
            const u = await upload(["--delete"]);
            accepted(u);
            if (!/^uploaded 0, deleted 1, unchanged 2\b/.test(summaryLine(u)))
                throw new Error(`expected one deletion: ${summaryLine(u)}`);
            await until("ConfigMap e2e-b pruned", async () =>
                (await getJson("configmap/e2e-b", APP_NAMESPACE)) ? undefined : true,
            );
            if ((await cmMessage("e2e-a")) !== "second") throw new Error("ConfigMap e2e-a changed or went away too");
            return `${summaryLine(u)}; ConfigMap e2e-b gone ${((Date.now() - t) / 1000).toFixed(1)}s after the push`;
        });

        // 4. The Alert delivered kustomize-controller's event to the generic Provider.
        await report.check(
            "an Alert delivered Flux's event to the generic Provider (loopback HTTP server)",
            async () => {
                const ev = await until("an event of Kustomization flux-system from alert e2e-info", async () =>
                    sink.events.find(
                        (e) =>
                            e.involvedObject?.kind === "Kustomization" &&
                            e.involvedObject?.name === "flux-system" &&
                            e.metadata?.alert === "e2e-info" &&
                            /ConfigMap\/e2e-gitops\/e2e-a/.test(e.message ?? ""),
                    ),
                );
                return `${sink.events.length} events; e.g. ${ev.severity} ${ev.reason}: ${(ev.message ?? "").split("\n")[0]}`;
            },
        );
    } finally {
        await s3.close();
        await sink.close();
    }
}
