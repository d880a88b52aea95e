// `npm run bench:sync` / `make bench-sync`: our sync tool against `aws s3 sync`
// on the same tree and the same local S3 server (s3rver on 127.0.0.1).
//
// For each tool, in every round: a fresh s3rver (own process, empty tmpfs
// folder, see s3-server.cjs), warmed with the same requests from this harness
// (unless --cold), then
//   initial  upload of a 1,000-file tree (about 10 MB of YAML)
//   no-op    re-sync with nothing changed
//   change   one file edited (same size, newer mtime), re-sync
// and a check that the bucket holds exactly the local bytes (ETag = MD5).
// Round 0 is a warm-up and is discarded; the table shows medians of the rest,
// the order of the two tools alternating between rounds.
//
// Wall time is the whole command as a user runs it: for ours, exactly the
// command line of `make upload-do` (taken from `make -n`, so node start-up and
// everything else counts), for aws-cli `aws s3 sync … --no-progress`.
// Requests and connections are counted at the server.
//
// Options: --files N (1000)  --rounds N (7, plus the warm-up)  --aws PATH (env
// AWS_CLI; default /usr/bin/aws from Debian's awscli package, else `aws` on PATH)
// --concurrency N (ours)  --cold (no server warm-up)
import { fork, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";

// the harness's own SDK client would print the SDK's Node 22 notice into the results
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const REPO = path.resolve(__dirname, "..");
const WORK = path.join(REPO, ".bench");
const TREE = path.join(WORK, "tree");
const S3RVER_KEY = "S3RVER";

const { values: opts } = parseArgs({
    options: {
        files: { type: "string", default: "1000" },
        rounds: { type: "string", default: "7" },
        aws: { type: "string" },
        concurrency: { type: "string" },
        cold: { type: "boolean", default: false },
    },
});
const FILES = Number(opts.files);
const ROUNDS = Number(opts.rounds);
if (!Number.isInteger(FILES) || FILES < 1 || FILES > 100_000) throw new Error("--files must be 1..100000");
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 20) throw new Error("--rounds must be 1..20");
const WARM_UP_OBJECTS = FILES;

const AWS = opts.aws ?? process.env.AWS_CLI ?? (existsSync("/usr/bin/aws") ? "/usr/bin/aws" : "aws");

/** Deterministic pseudo-random numbers (xorshift32). */
function rng(seed: number) {
    let x = seed >>> 0 || 1;
    return () => {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        return x / 0x1_0000_0000;
    };
}

/** FILES YAML files, 2-18 KB each (about 10 MB for 1,000), in 20 folders; returns rel path → bytes. */
async function makeTree(): Promise<Map<string, Buffer>> {
    await rm(TREE, { recursive: true, force: true });
    const rand = rng(42);
    const files = new Map<string, Buffer>();
    for (let i = 0; i < FILES; i++) {
        const folder = `team-${String(i % 20).padStart(2, "0")}`;
        await mkdir(path.join(TREE, folder), { recursive: true });
        const target = 2048 + Math.floor(rand() * 16384);
        const lines = [`apiVersion: v1`, `kind: ConfigMap`, `metadata:`, `  name: cm-${i}`, `data:`];
        let size = lines.join("\n").length;
        for (let k = 0; size < target; k++) {
            const line = `  key-${k}: "${Math.floor(rand() * 1e15)
                .toString(36)
                .padEnd(48, "x")}"`;
            lines.push(line);
            size += line.length + 1;
        }
        const rel = `${folder}/cm-${String(i).padStart(5, "0")}.yaml`;
        const body = Buffer.from(`${lines.join("\n")}\n`);
        files.set(rel, body);
        await writeFile(path.join(TREE, rel), body);
    }
    return files;
}

const EDITED = "team-07/cm-00007.yaml";

/** Flips one character of one file, keeping its size; a new mtime second for aws's size+mtime rule. */
async function editOneFile(tree: Map<string, Buffer>, n: number): Promise<void> {
    const file = path.join(TREE, EDITED);
    const body = await readFile(file, "utf8");
    const digit = String(n % 10);
    const edited = body.replace(/key-0: "(.)/, (_m, c: string) => `key-0: "${c === digit ? "z" : digit}`);
    if (edited === body || edited.length !== body.length) throw new Error("edit failed");
    await new Promise((r) => setTimeout(r, 1100));
    await writeFile(file, edited);
    tree.set(EDITED, Buffer.from(edited));
}

interface Counts {
    counts: Record<string, number>;
    connections: number;
    cpuMs: number;
}

/** A fresh s3rver in its own process (bench/s3-server.cjs). */
async function startServer() {
    // One libuv pool thread: on tmpfs each file operation takes microseconds, and
    // handing them to 4 threads costs more in cross-thread wake-ups than it saves
    // (measured: about 20% less server CPU per PUT; aws-cli's times unchanged).
    const child = fork(path.join(__dirname, "s3-server.cjs"), [], {
        cwd: REPO,
        env: { ...process.env, UV_THREADPOOL_SIZE: "1" },
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3
        // offers only through its legacy provider: without it, listing past 1,000 keys fails
        execArgv: ["--expose-gc", "--openssl-legacy-provider"],
    });
    const ready = await new Promise<{ port: number; dir: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("s3rver did not start in 30 s")), 30_000);
        child.once("message", (m: { type: string; port: number; dir: string }) => {
            clearTimeout(timer);
            resolve(m);
        });
        child.once("exit", (code) => reject(new Error(`s3rver exited (${code})`)));
    });
    const endpoint = `http://127.0.0.1:${ready.port}`;
    const client = new S3Client({
        endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
    });
    let seq = 0;
    const ask = <T>(msg: Record<string, unknown>, reply: string): Promise<T> => {
        const id = ++seq;
        return new Promise((resolve) => {
            const on = (m: { type: string; id: number }) => {
                if (m.type !== reply || m.id !== id) return;
                child.off("message", on);
                resolve(m as T);
            };
            child.on("message", on);
            child.send({ ...msg, id });
        });
    };
    return {
        endpoint,
        client,
        /** requests for `bucket`, connections and server CPU since the last call */
        take: (bucket: string) => ask<Counts>({ type: "counts", bucket }, "counts"),
        /** a full GC in the server, then a short pause: no tool pays for the warm-up's garbage */
        async settle() {
            await ask({ type: "settle" }, "settled");
            await new Promise((r) => setTimeout(r, 300));
        },
        async stop() {
            client.destroy();
            const exited = new Promise((r) => child.once("exit", r));
            child.send({ type: "stop" });
            const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
            await exited;
            clearTimeout(timer);
        },
    };
}
type Server = Awaited<ReturnType<typeof startServer>>;

/** The same warm-up for every server, so neither tool pays s3rver's JIT warm-up (a real endpoint is warm). */
async function warmUp(s3: Server, tree: Map<string, Buffer>): Promise<void> {
    const bucket = "warm-up";
    await s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
    const items = [...tree].slice(0, WARM_UP_OBJECTS);
    let next = 0;
    await Promise.all(
        Array.from({ length: 32 }, async () => {
            while (next < items.length) {
                const [key, body] = items[next++]!;
                await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
            }
        }),
    );
    for (let i = 0; i < 3; i++) await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
}

/** Checks that the bucket holds exactly the local files (s3rver's ETag is the MD5 of the stored bytes). */
async function verify(s3: Server, bucket: string, tree: Map<string, Buffer>): Promise<void> {
    const seen = new Map<string, string>();
    let token: string | undefined;
    for (let page = 0; page < 1000; page++) {
        const res = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        for (const o of res.Contents ?? []) seen.set(o.Key!, (o.ETag ?? "").replace(/"/g, ""));
        if (!res.IsTruncated) break;
        token = res.NextContinuationToken;
    }
    if (seen.size !== tree.size) throw new Error(`${bucket}: ${seen.size} objects, expected ${tree.size}`);
    for (const [key, body] of tree) {
        if (seen.get(key) !== createHash("md5").update(body).digest("hex"))
            throw new Error(`${bucket}: ${key} differs from the local file`);
    }
}

function run(
    cmd: string,
    args: string[],
    env: NodeJS.ProcessEnv,
): Promise<{ seconds: number; code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        const start = process.hrtime.bigint();
        const child = spawn(cmd, args, { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", reject);
        const timer = setTimeout(() => child.kill("SIGKILL"), 600_000);
        child.on("close", (code) => {
            const seconds = Number(process.hrtime.bigint() - start) / 1e9;
            clearTimeout(timer);
            resolve({ seconds, code, stdout, stderr });
        });
    });
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * The command line `make upload-do ARGS=…` runs, from `make -n` (node_modules
 * is taken as up to date, so the lockfile check never installs anything here).
 */
function makeRecipe(): (args: string[]) => string {
    const marker = "BENCH_ARGS_MARKER";
    const r = spawnSync(
        "make",
        ["-n", "-s", "--no-print-directory", "-o", "node_modules", "upload-do", `ARGS=${marker}`],
        { cwd: REPO, encoding: "utf8" },
    );
    const lines = (r.stdout ?? "").split("\n").filter((l) => l.includes(marker));
    if (r.status !== 0 || lines.length !== 1)
        throw new Error(`cannot read the upload-do recipe from make -n: ${r.stderr || r.stdout}`);
    const line = lines[0]!.trim();
    return (args) => line.replace(marker, args.map(shellQuote).join(" "));
}

const baseEnv = (): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: S3RVER_KEY,
    AWS_SECRET_ACCESS_KEY: S3RVER_KEY,
});

interface Measured {
    seconds: number;
    requests: number;
    puts: number;
    connections: number;
    serverCpu: number;
    note: string;
}

type Tool = "ours" | "aws";
const phases = ["initial", "no-op", "change"] as const;

async function runPhase(
    tool: Tool,
    s3: Server,
    bucket: string,
    recipe: (a: string[]) => string,
    awsConfig: string,
): Promise<Measured> {
    await s3.take(bucket); // reset
    let r: Awaited<ReturnType<typeof run>>;
    let note: string;
    if (tool === "ours") {
        const args = [
            "--source",
            TREE,
            "--bucket",
            bucket,
            "--endpoint",
            s3.endpoint,
            "--region",
            "us-east-1",
            "--no-trigger",
        ];
        if (opts.concurrency) args.push("--concurrency", opts.concurrency);
        r = await run("/bin/sh", ["-c", recipe(args)], baseEnv());
        if (r.code !== 0) throw new Error(`our tool failed (${r.code}): ${r.stderr}`);
        note = r.stdout.trimEnd().split("\n").pop() ?? "";
    } else {
        const env = {
            ...baseEnv(),
            AWS_DEFAULT_REGION: "us-east-1",
            AWS_CONFIG_FILE: awsConfig,
            AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
            AWS_EC2_METADATA_DISABLED: "true",
            AWS_PAGER: "",
        };
        r = await run(AWS, ["s3", "sync", TREE, `s3://${bucket}`, "--endpoint-url", s3.endpoint, "--no-progress"], env);
        if (r.code !== 0) throw new Error(`aws s3 sync failed (${r.code}): ${r.stderr}`);
        note = `${r.stdout.split("\n").filter((l) => l.startsWith("upload:")).length} uploaded`;
    }
    const seen = await s3.take(bucket);
    const requests = Object.values(seen.counts).reduce((a, b) => a + b, 0);
    return {
        seconds: r.seconds,
        requests,
        puts: seen.counts.PUT ?? 0,
        connections: seen.connections,
        serverCpu: seen.cpuMs / 1000,
        note,
    };
}

const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function startupMedian(cmd: string, args: string[], n = 7): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i < n; i++) times.push((await run(cmd, args, baseEnv())).seconds);
    return median(times);
}

async function main() {
    await mkdir(WORK, { recursive: true });
    const awsVersion = await run(AWS, ["--version"], { PATH: process.env.PATH }).catch(() => undefined);
    if (awsVersion?.code !== 0) {
        console.error(`cannot run ${AWS}: install Debian's awscli (apt-get install -y awscli) or pass --aws PATH`);
        process.exitCode = 2;
        return;
    }
    const awsConfig = path.join(WORK, "aws-config");
    await writeFile(awsConfig, "[default]\ns3 =\n    addressing_style = path\n");
    const tree = await makeTree();
    const bytes = [...tree.values()].reduce((a, b) => a + b.length, 0);
    const recipe = makeRecipe();

    // builds bin/upload.cjs if it is out of date, so no timed run includes a build
    const first = await run("/bin/sh", ["-c", recipe(["--help"])], baseEnv());
    if (first.code !== 0) throw new Error(`${recipe(["--help"])} failed: ${first.stderr}`);
    const startMake = await startupMedian("/bin/sh", ["-c", recipe(["--help"])]);
    const startNpm = await startupMedian("npm", ["run", "--silent", "upload", "--", "--help"]);
    const cpus = os.cpus();
    console.log(
        `tree: ${FILES} files, ${(bytes / 1e6).toFixed(1)} MB; ${ROUNDS} round(s) + 1 warm-up; ${cpus.length} cores (${cpus[0]?.model ?? "cpu"}); node ${process.version}; ${(awsVersion.stdout || awsVersion.stderr).trim()}`,
    );
    console.log(`ours as make upload-do runs it: ${recipe(["…"])}`);
    console.log(
        `start-up alone (--help, median of 7): make's command ${startMake.toFixed(3)} s; npm run --silent upload ${startNpm.toFixed(3)} s`,
    );
    console.log(
        `server: s3rver (own process, tmpfs, silent), fresh per tool and round, ${opts.cold ? "not warmed (--cold)" : `warmed with ${WARM_UP_OBJECTS} PUTs + 3 lists`}\n`,
    );

    const results: Record<string, Record<Tool, Measured[]>> = {};
    for (const p of phases) results[p] = { ours: [], aws: [] };
    let edits = 0;
    for (let round = 0; round <= ROUNDS; round++) {
        const order: Tool[] = round % 2 === 0 ? ["ours", "aws"] : ["aws", "ours"];
        for (const tool of order) {
            const s3 = await startServer();
            try {
                if (!opts.cold) await warmUp(s3, tree);
                const bucket = `${tool}-${round}`;
                await s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
                await s3.settle();
                for (const phase of phases) {
                    if (phase === "change") await editOneFile(tree, ++edits);
                    const m = await runPhase(tool, s3, bucket, recipe, awsConfig);
                    if (round > 0) results[phase]![tool].push(m);
                    console.log(
                        `${round === 0 ? "warm-up" : `round ${round}`} ${phase.padEnd(7)} ${tool.padEnd(4)} ${m.seconds.toFixed(2)} s, ` +
                            `${m.requests} requests (${m.puts} PUT) on ${m.connections} connection(s), server CPU ${m.serverCpu.toFixed(2)} s: ${m.note}`,
                    );
                }
                await verify(s3, bucket, tree);
            } finally {
                await s3.stop();
            }
        }
    }

    const targets: Record<string, { ratio?: number; puts?: number }> = {
        initial: { ratio: 0.4 },
        "no-op": { ratio: 0.5 },
        change: { puts: 1 },
    };
    const rows = [
        "| phase | ours (s) | aws s3 sync (s) | ours / aws | ours requests (PUT) | aws requests (PUT) | target | result |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ];
    let allMet = true;
    for (const phase of phases) {
        const o = results[phase]!.ours;
        const w = results[phase]!.aws;
        const ot = median(o.map((r) => r.seconds));
        const wt = median(w.map((r) => r.seconds));
        const ratio = ot / wt;
        const t = targets[phase]!;
        const met = t.ratio !== undefined ? ratio <= t.ratio : o.every((r) => r.puts === t.puts);
        allMet &&= met;
        const reqs = (rs: Measured[]) => `${median(rs.map((r) => r.requests))} (${Math.max(...rs.map((r) => r.puts))})`;
        const target = t.ratio !== undefined ? `≤ ${Math.round(t.ratio * 100)}%` : `exactly ${t.puts} PUT`;
        rows.push(
            `| ${phase} | ${ot.toFixed(2)} | ${wt.toFixed(2)} | ${(ratio * 100).toFixed(0)}% | ${reqs(o)} | ${reqs(w)} | ${target} | ${met ? "PASS" : "FAIL"} |`,
        );
    }
    const table = rows.join("\n");
    // the same runs, paired by round (each round runs both tools back to back)
    for (const phase of phases) {
        const r = results[phase]!;
        const ratios = r.ours.map((o, i) => `${Math.round((o.seconds / r.aws[i]!.seconds) * 100)}%`);
        console.log(`${phase.padEnd(7)} ours/aws by round: ${ratios.join(" ")}`);
    }
    console.log(
        `\nmedian of ${ROUNDS} round(s) after a discarded warm-up round, ${new Date().toISOString().slice(0, 10)}, ${cpus.length} cores\n`,
    );
    console.log(table);
    await writeFile(path.join(WORK, "results.md"), `${table}\n`);
    if (!allMet) {
        console.log("\nat least one target was not met");
        process.exitCode = 1;
    }
}

main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exitCode = 1;
});
