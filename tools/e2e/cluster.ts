/**
 * A Kubernetes control plane on 127.0.0.1 for the e2e: etcd and kube-apiserver as local
 * processes, on free ports, with a temporary data folder, the API server's self-signed serving
 * certificate, a static admin token, and a service-account signing key made here.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { type Managed, Supervisor } from "./procs";

const execFileP = promisify(execFile);

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released for the server to bind). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const addr = srv.address();
            srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
        });
    });
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

export interface HttpAnswer {
    readonly status: number;
    readonly body: string;
}

export function get(url: string, opts: https.RequestOptions = {}): Promise<HttpAnswer> {
    const mod = url.startsWith("https:") ? https : http;
    return new Promise((resolve, reject) => {
        const req = mod.get(url, { ...opts, timeout: 5000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c) => {
                body += c;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("timeout", () => req.destroy(new Error("timed out")));
        req.on("error", reject);
    });
}

/** Polls `probe` every 500 ms until it returns true, `proc` exits, or `timeoutMs` passes. */
export async function waitFor(
    what: string,
    proc: Managed,
    timeoutMs: number,
    probe: () => Promise<boolean>,
): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
        if (proc.hasExited()) {
            throw new Error(
                `${proc.name} exited (${await proc.exited}) before ${what}:\n${await Supervisor.tail(proc)}`,
            );
        }
        try {
            if (await probe()) return;
        } catch (e) {
            last = (e as Error).message;
        }
        await sleep(500);
    }
    throw new Error(
        `${what}: not within ${timeoutMs / 1000}s${last ? ` (${last})` : ""}:\n${await Supervisor.tail(proc)}`,
    );
}

export interface ControlPlane {
    /** https://127.0.0.1:<port> */
    readonly server: string;
    /** Static token of a member of system:masters. */
    readonly token: string;
    /** PEM bundle that verifies the API server's serving certificate. */
    readonly caFile: string;
    /** A kubeconfig (mode 0600) for the admin user. */
    readonly kubeconfig: string;
    /** What the API server reports at /version. */
    readonly version: { gitVersion: string; major: string; minor: string };
}

export interface ControlPlaneOptions {
    readonly etcd: string;
    readonly kubeApiserver: string;
    /** Temporary folder for data, certificates and the kubeconfig. */
    readonly dir: string;
}

/** Starts etcd, then kube-apiserver against it, and waits until /readyz answers ok. */
export async function startControlPlane(sup: Supervisor, opts: ControlPlaneOptions): Promise<ControlPlane> {
    const [clientPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcd = sup.start("etcd", opts.etcd, [
        "--name=e2e",
        `--data-dir=${path.join(opts.dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=e2e=${peerUrl}`,
        "--unsafe-no-fsync", // a throw-away test store: no fsync
        "--log-level=warn",
    ]);
    await waitFor("etcd answers /health", etcd, 30_000, async () => {
        const r = await get(`${etcdUrl}/health`);
        return r.status === 200 && JSON.parse(r.body).health === "true";
    });

    const token = randomBytes(24).toString("hex");
    const tokens = path.join(opts.dir, "tokens.csv");
    await writeFile(tokens, `${token},e2e-admin,e2e-admin,"system:masters"\n`, { mode: 0o600 });
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const saKey = path.join(opts.dir, "sa.key");
    const saPub = path.join(opts.dir, "sa.pub");
    await writeFile(saKey, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    await writeFile(saPub, publicKey.export({ type: "spki", format: "pem" }));
    const certDir = path.join(opts.dir, "pki");
    const apiserver = sup.start("kube-apiserver", opts.kubeApiserver, [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        // No --tls-cert-file: the API server writes a self-signed certificate (and its CA) here.
        `--cert-dir=${certDir}`,
        `--token-auth-file=${tokens}`,
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        "--service-cluster-ip-range=10.96.0.0/16",
        // There is no kube-controller-manager: deletions must not wait for its garbage collector.
        "--enable-garbage-collector=false",
        "--profiling=false",
    ]);
    const caFile = path.join(certDir, "apiserver.crt");
    const server = `https://127.0.0.1:${apiPort}`;
    let ca: Buffer | undefined;
    const authed = async (p: string) => {
        ca ??= await readFile(caFile);
        return get(`${server}${p}`, { ca, headers: { Authorization: `Bearer ${token}` } });
    };
    await waitFor("kube-apiserver answers /readyz", apiserver, 120_000, async () => {
        const r = await authed("/readyz");
        return r.status === 200 && r.body.trim() === "ok";
    });
    const version = JSON.parse((await authed("/version")).body);
    const kubeconfig = path.join(opts.dir, "kubeconfig");
    await writeFile(
        kubeconfig,
        stringify({
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: "e2e", cluster: { server, "certificate-authority": caFile } }],
            users: [{ name: "e2e-admin", user: { token } }],
            contexts: [{ name: "e2e", context: { cluster: "e2e", user: "e2e-admin" } }],
            "current-context": "e2e",
        }),
        { mode: 0o600 },
    );
    return { server, token, caFile, kubeconfig, version };
}

export interface KubectlResult {
    readonly ok: boolean;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs kubectl against the control plane (bounded: 120 s). Never throws for a non-zero exit. */
export async function kubectl(bin: string, cp: ControlPlane, cacheDir: string, args: readonly string[]) {
    try {
        const { stdout, stderr } = await execFileP(
            bin,
            [`--kubeconfig=${cp.kubeconfig}`, `--cache-dir=${cacheDir}`, ...args],
            { timeout: 120_000, maxBuffer: 16 << 20, env: { ...process.env, KUBECONFIG: "" } },
        );
        return { ok: true, stdout, stderr } satisfies KubectlResult;
    } catch (e) {
        const err = e as { stdout?: string; stderr?: string; message: string };
        return { ok: false, stdout: err.stdout ?? "", stderr: err.stderr || err.message } satisfies KubectlResult;
    }
}
