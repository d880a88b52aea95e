// `npx tsx bench/profile.ts [--files N] [--cpu-prof DIR] [--server fauxqs|s3rver]`: our tool alone
// at N files (default 10,000) against the benchmark's loopback server (bench/s3-server.cjs, a fresh
// one per run; fauxqs in memory by default):
// an initial upload, then a no-op re-sync, each run exactly as `make upload-do` runs it
// (node tools/upload/run.cjs) under /usr/bin/time, printing wall time, client CPU (user + system)
// and the client's peak RSS; with --cpu-prof DIR, each phase also writes a V8 CPU profile there
// (`node --cpu-prof`, open it in Chrome DevTools or speedscope). Loopback only, bounded.
import { fork, spawn } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const REPO = path.resolve(__dirname, "..");
const TREE = path.join(REPO, ".bench", "profile-tree");
const KEY = "S3RVER";
const { values: opts } = parseArgs({
    options: {
        files: { type: "string", default: "10000" },
        "cpu-prof": { type: "string" },
        server: { type: "string", default: "fauxqs" },
    },
});
const FILES = Number(opts.files);
if (!Number.isInteger(FILES) || FILES < 1 || FILES > 100_000) throw new Error("--files must be 1..100000");

async function makeTree(): Promise<number> {
    await rm(TREE, { recursive: true, force: true });
    let bytes = 0;
    for (let i = 0; i < FILES; i++) {
        const dir = path.join(TREE, `team-${String(i % 20).padStart(2, "0")}`);
        if (i < 20) await mkdir(dir, { recursive: true });
        // 2-8 KB of YAML, deterministic
        const lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", `  name: cm-${i}`, "data:"];
        for (let k = 0; k < 40 + ((i * 7919) % 120); k++)
            lines.push(`  key-${k}: "${((i + 1) * (k + 3)).toString(36).padEnd(40, "x")}"`);
        const body = `${lines.join("\n")}\n`;
        bytes += body.length;
        await writeFile(path.join(dir, `cm-${String(i).padStart(5, "0")}.yaml`), body);
    }
    return bytes;
}

async function startServer() {
    const child = fork(path.join(__dirname, "s3-server.cjs"), [], {
        env: { ...process.env, UV_THREADPOOL_SIZE: "1", S3_BENCH_SERVER: opts.server },
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        execArgv: ["--openssl-legacy-provider"],
    });
    const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("server did not start in 30 s")), 30_000);
        child.once("message", (m: { port: number }) => {
            clearTimeout(timer);
            resolve(m.port);
        });
    });
    return {
        endpoint: `http://127.0.0.1:${port}`,
        stop: () =>
            new Promise<void>((resolve) => {
                child.once("exit", () => resolve());
                child.send({ type: "stop" });
                setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
            }),
    };
}

interface Measure {
    code: number | null;
    wall: number;
    cpu: number;
    rssMiB: number;
    summary: string;
}

function measure(args: string[], prof?: string): Promise<Measure> {
    const node = [...(prof ? ["--cpu-prof", "--cpu-prof-dir", prof] : []), "tools/upload/run.cjs", ...args];
    return new Promise((resolve, reject) => {
        const child = spawn("/usr/bin/time", ["-f", "TIME %e %U %S %M", process.execPath, ...node], {
            cwd: REPO,
            env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: KEY },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (err += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), 900_000);
        child.on("error", reject);
        child.on("close", (code) => {
            clearTimeout(timer);
            const t = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(err);
            if (!t) return reject(new Error(`no timing: ${err.slice(-500)}`));
            resolve({
                code,
                wall: Number(t[1]),
                cpu: Number(t[2]) + Number(t[3]),
                rssMiB: Number(t[4]) / 1024,
                summary: out.trimEnd().split("\n").pop() ?? "",
            });
        });
    });
}

async function main() {
    const bytes = await makeTree();
    const prof = opts["cpu-prof"] ? path.resolve(opts["cpu-prof"]) : undefined;
    if (prof) await mkdir(prof, { recursive: true });
    const load = () =>
        os
            .loadavg()
            .map((l) => l.toFixed(1))
            .join(" ");
    console.log(
        `${FILES} files, ${(bytes / 1e6).toFixed(1)} MB; ${os.cpus().length} cores; node ${process.version}; load average ${load()}`,
    );
    // builds bin/upload.cjs first if it is out of date, so no measured run includes a build
    await measure(["--help"]);
    const s3 = await startServer();
    try {
        const client = new S3Client({
            endpoint: s3.endpoint,
            region: "us-east-1",
            forcePathStyle: true,
            credentials: { accessKeyId: KEY, secretAccessKey: KEY },
        });
        await client.send(new CreateBucketCommand({ Bucket: "profile" }));
        client.destroy();
        const args = ["--source", TREE, "--bucket", "profile", "--endpoint", s3.endpoint, "--no-trigger"];
        for (const phase of ["initial", "no-op"]) {
            const m = await measure(args, prof && path.join(prof, phase));
            if (m.code !== 0) throw new Error(`${phase}: exit ${m.code} (${m.summary})`);
            console.log(
                `${phase.padEnd(7)} wall ${m.wall.toFixed(2)} s, client CPU ${m.cpu.toFixed(2)} s` +
                    `${phase === "initial" ? ` (${((m.cpu / FILES) * 1000).toFixed(2)} ms per PUT)` : ""}, ` +
                    `peak RSS ${m.rssMiB.toFixed(0)} MiB: ${m.summary}`,
            );
        }
    } finally {
        await s3.stop();
    }
    console.log(`load average after: ${load()}${prof ? `; CPU profiles in ${prof}` : ""}`);
}

main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
});
