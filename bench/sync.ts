// `npm run bench:sync` / `make bench-sync`: our sync tool, exactly as `make upload-do` runs it,
// against `aws s3 sync`, `rclone sync` and `s3cmd sync` (whichever are installed; Debian:
// apt-get install -y awscli rclone s3cmd) on the same trees and the same loopback S3 server.
//
// Server: fauxqs (npm, in memory, its Fastify app on 127.0.0.1; bench/s3-server.cjs), faster
// than s3rver so the clients are what is timed (--server s3rver for the other one). A fresh
// server and bucket for every tool in every round.
//
// For each tree size (--files, default 1000 and 10000; 2-8 KB YAML files in 20 folders) and
// round (--rounds, default 5), each tool in turn runs
//   initial  upload of the whole tree
//   no-op    re-sync with nothing changed
//   change   one file edited (same size, newer mtime), re-sync
// and the bucket is then checked to hold exactly the local bytes (ETag = MD5). The order of the
// tools rotates from round to round, so load from outside hits every tool alike.
//
// Measured per run: wall time (the whole command, start-up included), client CPU (user + system
// of the client's process tree, from wait4 via /usr/bin/time, the robust figure on a shared
// machine), the client's peak RSS, the requests the server saw, and the CPU that OTHER
// processes used meanwhile: /proc/stat's busy time minus the client's, the server's and this
// harness's own. A run during which others used more than --busy (default 0.15) of the
// machine is repeated (--repeats, default 1) and, if still busy, kept and flagged `busy`.
//
// The floor of a no-op sync, measured the same way: the LIST pages alone (our client's pool,
// in this process, paging through the bucket) and hashing the tree alone (`md5sum` over every
// file, as one process tree).
//
// Options: --files 1000,10000  --rounds 5  --tools ours,aws,rclone,s3cmd  --server fauxqs|s3rver
// --busy 0.15  --repeats 1  --concurrency N (ours)  --baseline DIR with --tools …,base: another
// checkout's tool (e.g. main's, to show a change is no regression), run like ours. Prints a Markdown table per size and writes
// them to .bench/results.md. Loopback only; every child is bounded by a timeout.
import { fork, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { listObjectsV2 } from "../tools/upload/ops";
import { createClient } from "../tools/upload/s3";

const REPO = path.resolve(__dirname, "..");
const WORK = path.join(REPO, ".bench");
const KEY = "S3RVER"; // s3rver's key pair; fauxqs accepts any
const REGION = "us-east-1";

const { values: opts } = parseArgs({
    options: {
        files: { type: "string", default: "1000,10000" },
        rounds: { type: "string", default: "5" },
        tools: { type: "string", default: "ours,aws,rclone,s3cmd" },
        server: { type: "string", default: "fauxqs" },
        busy: { type: "string", default: "0.15" },
        repeats: { type: "string", default: "1" },
        concurrency: { type: "string" },
        baseline: { type: "string" },
    },
});
const SIZES = opts.files.split(",").map(Number);
const ROUNDS = Number(opts.rounds);
const BUSY = Number(opts.busy);
const REPEATS = Number(opts.repeats);
if (SIZES.some((n) => !Number.isInteger(n) || n < 1 || n > 100_000)) throw new Error("--files: 1..100000 each");
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 20) throw new Error("--rounds must be 1..20");
if (!(BUSY > 0 && BUSY < 1)) throw new Error("--busy must be a fraction of the machine, e.g. 0.15");
if (!Number.isInteger(REPEATS) || REPEATS < 0 || REPEATS > 5) throw new Error("--repeats must be 0..5");
if (opts.server !== "fauxqs" && opts.server !== "s3rver") throw new Error("--server must be fauxqs or s3rver");
const CORES = os.cpus().length;
const TIME = "/usr/bin/time";

type Tool = "ours" | "base" | "aws" | "rclone" | "s3cmd";
const ALL_TOOLS: Tool[] = ["ours", "base", "aws", "rclone", "s3cmd"];
/** Debian's packages (/usr/bin) first, so another `aws` earlier on PATH (pip, pyenv) is not measured instead. */
const peerBin = (name: string) => (existsSync(`/usr/bin/${name}`) ? `/usr/bin/${name}` : name);
const PEER_BIN: Record<Exclude<Tool, "ours" | "base">, string> = {
    aws: peerBin("aws"),
    rclone: peerBin("rclone"),
    s3cmd: peerBin("s3cmd"),
};
const phases = ["initial", "no-op", "change"] as const;
type Phase = (typeof phases)[number];

/** Deterministic 2-8 KB YAML files in 20 folders; returns rel path → bytes. */
async function makeTree(dir: string, files: number): Promise<Map<string, Buffer>> {
    await rm(dir, { recursive: true, force: true });
    const out = new Map<string, Buffer>();
    for (let i = 0; i < files; i++) {
        const folder = `team-${String(i % 20).padStart(2, "0")}`;
        if (i < 20) await mkdir(path.join(dir, folder), { recursive: true });
        const lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", `  name: cm-${i}`, "data:"];
        for (let k = 0; k < 40 + ((i * 7919) % 120); k++)
            lines.push(`  key-${k}: "${((i + 1) * (k + 3)).toString(36).padEnd(40, "x")}"`);
        const rel = `${folder}/cm-${String(i).padStart(5, "0")}.yaml`;
        const body = Buffer.from(`${lines.join("\n")}\n`);
        out.set(rel, body);
        await writeFile(path.join(dir, rel), body);
    }
    return out;
}

const EDITED = "team-07/cm-00007.yaml";

/** Flips one character of one file, keeping its size; waits for a new mtime second (size+mtime tools). */
async function editOneFile(dir: string, tree: Map<string, Buffer>, n: number): Promise<void> {
    const file = path.join(dir, EDITED);
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

/** A fresh server in its own process (bench/s3-server.cjs). */
async function startServer() {
    const child = fork(path.join(__dirname, "s3-server.cjs"), [], {
        cwd: REPO,
        // one libuv pool thread: s3rver's tmpfs writes take microseconds; fauxqs uses none
        env: { ...process.env, UV_THREADPOOL_SIZE: "1", S3_BENCH_SERVER: opts.server },
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        execArgv: ["--expose-gc", "--openssl-legacy-provider"],
    });
    const ready = await new Promise<{ port: number }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the S3 server did not start in 30 s")), 30_000);
        child.once("message", (m: { port: number }) => {
            clearTimeout(timer);
            resolve(m);
        });
        child.once("exit", (code) => reject(new Error(`the S3 server exited (${code})`)));
    });
    const endpoint = `http://127.0.0.1:${ready.port}`;
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
    const s3 = createClient({
        endpoint,
        region: REGION,
        credentials: { accessKeyId: KEY, secretAccessKey: KEY },
        bucket: "bench",
        concurrency: 1,
    });
    return {
        endpoint,
        async createBucket() {
            await s3.send({ method: "PUT" }, "create bucket");
        },
        /** key → ETag (quotes removed) of every object */
        async list(): Promise<Map<string, string>> {
            const seen = new Map<string, string>();
            let token: string | undefined;
            for (let page = 0; page < 1000; page++) {
                const res = await s3.send(
                    listObjectsV2("", token, (o) => seen.set(o.key, (o.etag ?? "").replace(/"/g, ""))),
                    "LIST",
                );
                if (!res.isTruncated || !res.nextContinuationToken) break;
                token = res.nextContinuationToken;
            }
            return seen;
        },
        /** requests, connections and server CPU since the last call */
        take: () => ask<Counts>({ type: "counts", bucket: "bench" }, "counts"),
        async settle() {
            await ask({ type: "settle" }, "settled");
            await new Promise((r) => setTimeout(r, 200));
        },
        async stop() {
            s3.client.destroy();
            const exited = new Promise((r) => child.once("exit", r));
            child.send({ type: "stop" });
            const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
            await exited;
            clearTimeout(timer);
        },
    };
}
type Server = Awaited<ReturnType<typeof startServer>>;

/** Checks that the bucket holds exactly the local files. */
async function verify(s3: Server, tool: Tool, tree: Map<string, Buffer>): Promise<void> {
    const seen = await s3.list();
    if (seen.size !== tree.size) throw new Error(`${tool}: ${seen.size} objects, expected ${tree.size}`);
    for (const [key, body] of tree) {
        if (seen.get(key) !== createHash("md5").update(body).digest("hex"))
            throw new Error(`${tool}: ${key} differs from the local file`);
    }
}

/** Busy CPU time of the whole machine so far, in seconds (/proc/stat: all but idle and iowait). */
function machineBusy(): number {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return (user + nice + system + irq + softirq + steal) / 100; // USER_HZ
}

interface Timed {
    code: number | null;
    wall: number;
    cpu: number;
    rssMiB: number;
    stdout: string;
    stderr: string;
}

/** Runs a command under /usr/bin/time: wall, user + system of its process tree, peak RSS. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
    return new Promise((resolve, reject) => {
        const start = process.hrtime.bigint();
        const child = spawn(TIME, ["-f", "BENCHTIME %U %S %M", cmd, ...args], {
            cwd: REPO,
            env,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", reject);
        const timer = setTimeout(() => child.kill("SIGKILL"), 900_000);
        child.on("close", (code) => {
            const wall = Number(process.hrtime.bigint() - start) / 1e9;
            clearTimeout(timer);
            const t = /BENCHTIME ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(stderr);
            if (!t) return reject(new Error(`${cmd}: no timing (${stderr.slice(-400)})`));
            stderr = stderr.slice(0, t.index);
            resolve({ code, wall, cpu: Number(t[1]) + Number(t[2]), rssMiB: Number(t[3]) / 1024, stdout, stderr });
        });
    });
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The command line `make upload-do ARGS=…` runs, from `make -n` (node_modules taken as up to date). */
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
    AWS_ACCESS_KEY_ID: KEY,
    AWS_SECRET_ACCESS_KEY: KEY,
});

/** The command line of each tool for a tree, a bucket and an endpoint. */
function commandFor(
    tool: Tool,
    tree: string,
    endpoint: string,
    recipe: (a: string[]) => string,
): { cmd: string; args: string[]; env: NodeJS.ProcessEnv } {
    const env = baseEnv();
    switch (tool) {
        case "ours":
        case "base": {
            const args = ["--source", tree, "--bucket", "bench", "--endpoint", endpoint, "--region", REGION];
            args.push("--no-trigger");
            if (opts.concurrency) args.push("--concurrency", opts.concurrency);
            if (tool === "base") {
                // another checkout's tool (e.g. main), its run.cjs exactly as make upload-do runs ours
                const run = path.join(path.resolve(opts.baseline ?? ""), "tools/upload/run.cjs");
                return { cmd: process.execPath, args: [run, "--stack", "dev", ...args], env };
            }
            return { cmd: "/bin/sh", args: ["-c", recipe(args)], env };
        }
        case "aws":
            return {
                cmd: PEER_BIN.aws,
                args: ["s3", "sync", tree, "s3://bench", "--endpoint-url", endpoint, "--no-progress"],
                env: {
                    ...env,
                    AWS_DEFAULT_REGION: REGION,
                    AWS_CONFIG_FILE: path.join(WORK, "aws-config"),
                    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
                    AWS_EC2_METADATA_DISABLED: "true",
                    AWS_PAGER: "",
                },
            };
        case "rclone":
            // --checksum: compare MD5 (the listing's ETag) and size, like ours, instead of a HEAD per
            // object for the modification time; --fast-list: one recursive listing
            return {
                cmd: PEER_BIN.rclone,
                args: [
                    "sync",
                    tree,
                    ":s3:bench",
                    "--checksum",
                    "--fast-list",
                    "--s3-provider",
                    "Other",
                    "--s3-endpoint",
                    endpoint,
                    "--s3-region",
                    REGION,
                    "--s3-force-path-style",
                    "--s3-access-key-id",
                    KEY,
                    "--s3-secret-access-key",
                    KEY,
                    "--config",
                    "/dev/null",
                ],
                env,
            };
        case "s3cmd": {
            const host = new URL(endpoint).host;
            return {
                cmd: PEER_BIN.s3cmd,
                args: [
                    "--config",
                    path.join(WORK, "s3cfg"),
                    `--host=${host}`,
                    `--host-bucket=${host}`,
                    "--no-progress",
                    "sync",
                    `${tree}/`,
                    "s3://bench/",
                ],
                env,
            };
        }
    }
}

interface Run {
    wall: number;
    cpu: number;
    rssMiB: number;
    requests: number;
    puts: number;
    serverCpu: number;
    /** CPU used by other processes meanwhile, as a share of the machine */
    others: number;
    busy: boolean;
    note: string;
}

async function runPhase(tool: Tool, s3: Server, tree: string, recipe: (a: string[]) => string): Promise<Run> {
    await s3.take(); // reset
    const c = commandFor(tool, tree, s3.endpoint, recipe);
    const busy0 = machineBusy();
    const self0 = process.cpuUsage();
    const r = await timed(c.cmd, c.args, c.env);
    const self = process.cpuUsage(self0);
    const busy1 = machineBusy();
    const seen = await s3.take();
    if (r.code !== 0) throw new Error(`${tool} failed (${r.code}): ${r.stderr.slice(-1000)}`);
    const own = r.cpu + seen.cpuMs / 1000 + (self.user + self.system) / 1e6;
    const others = Math.max(0, busy1 - busy0 - own) / (r.wall * CORES);
    const out = `${r.stdout}\n${r.stderr}`.trim().split("\n");
    const note =
        tool === "ours" || tool === "base"
            ? (r.stdout.trimEnd().split("\n").pop() ?? "")
            : `${out.length} output line(s)`;
    return {
        wall: r.wall,
        cpu: r.cpu,
        rssMiB: r.rssMiB,
        requests: Object.values(seen.counts).reduce((a, b) => a + b, 0),
        puts: seen.counts.PUT ?? 0,
        serverCpu: seen.cpuMs / 1000,
        others,
        busy: others > BUSY,
        note,
    };
}

/** One tool, one round: fresh server and bucket, the three phases, the bucket checked. */
async function toolRound(
    tool: Tool,
    dir: string,
    tree: Map<string, Buffer>,
    recipe: (a: string[]) => string,
    edit: () => Promise<void>,
): Promise<Record<Phase, Run>> {
    const s3 = await startServer();
    try {
        await s3.createBucket();
        await s3.settle();
        const out = {} as Record<Phase, Run>;
        for (const phase of phases) {
            if (phase === "change") await edit();
            out[phase] = await runPhase(tool, s3, dir, recipe);
        }
        await verify(s3, tool, tree);
        return out;
    } finally {
        await s3.stop();
    }
}

/** The floor of a no-op: the LIST pages alone, hashing the tree alone (md5sum). */
async function floor(dir: string, files: number): Promise<{ list: number; hash: number; others: number }> {
    const s3 = await startServer();
    try {
        await s3.createBucket();
        // the bucket needs the keys: PUT them once (not timed)
        const c = commandFor("ours", dir, s3.endpoint, makeRecipe());
        const up = await timed(c.cmd, c.args, c.env);
        if (up.code !== 0) throw new Error(`floor: upload failed: ${up.stderr}`);
        await s3.settle();
        const t0 = process.hrtime.bigint();
        const listed = await s3.list();
        const list = Number(process.hrtime.bigint() - t0) / 1e9;
        if (listed.size !== files) throw new Error(`floor: listed ${listed.size} keys`);
        const busy0 = machineBusy();
        const h = await timed("/bin/sh", ["-c", 'find "$0" -type f -print0 | xargs -0 md5sum > /dev/null', dir], {
            PATH: process.env.PATH,
        });
        const others = Math.max(0, machineBusy() - busy0 - h.cpu) / (h.wall * CORES);
        return { list, hash: h.wall, others };
    } finally {
        await s3.stop();
    }
}

const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f2 = (x: number) => x.toFixed(2);
const spread = (xs: number[]) => `${f2(median(xs))} (${f2(Math.min(...xs))}–${f2(Math.max(...xs))})`;

function version(cmd: string, args: string[]): string | undefined {
    const r = spawnSync(cmd, args, {
        encoding: "utf8",
        timeout: 30_000,
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    if (r.status !== 0) return undefined;
    return `${r.stdout}${r.stderr}`.trim().split("\n")[0];
}

async function main() {
    await mkdir(WORK, { recursive: true });
    if (!existsSync(TIME)) throw new Error(`${TIME} is needed (Debian: apt-get install -y time)`);
    await writeFile(path.join(WORK, "aws-config"), "[default]\ns3 =\n    addressing_style = path\n");
    await writeFile(
        path.join(WORK, "s3cfg"),
        `[default]\naccess_key = ${KEY}\nsecret_key = ${KEY}\nuse_https = False\nbucket_location = ${REGION}\nsignature_v2 = False\n`,
    );
    const wanted = opts.tools.split(",").map((t) => t.trim()) as Tool[];
    const versions: Partial<Record<Tool, string>> = { ours: `node ${process.version}` };
    const tools: Tool[] = [];
    for (const t of wanted) {
        if (!ALL_TOOLS.includes(t)) throw new Error(`unknown tool ${t}`);
        if (t === "base") {
            if (!opts.baseline || !existsSync(path.join(opts.baseline, "tools/upload/run.cjs")))
                throw new Error("--tools base needs --baseline DIR, a checkout with tools/upload/run.cjs");
            versions.base = `${path.resolve(opts.baseline)}/tools/upload/run.cjs`;
        } else if (t !== "ours") {
            const v = version(PEER_BIN[t], ["--version"]);
            if (!v) {
                console.log(`${t}: not installed, left out (Debian: apt-get install -y awscli rclone s3cmd)`);
                continue;
            }
            versions[t] = v;
        }
        tools.push(t);
    }
    const recipe = makeRecipe();
    // builds bin/upload.cjs if it is out of date, so no timed run includes a build
    const first = spawnSync("/bin/sh", ["-c", recipe(["--help"])], { cwd: REPO, env: baseEnv() });
    if (first.status !== 0) throw new Error(`${recipe(["--help"])} failed: ${first.stderr}`);
    const cpus = os.cpus();
    const header =
        `${new Date().toISOString().slice(0, 16)}Z; ${CORES} cores (${cpus[0]?.model ?? "cpu"}); ` +
        `server ${opts.server} (fresh per tool and round, 127.0.0.1); ${ROUNDS} round(s), tools in rotating order; ` +
        `load average at start ${os
            .loadavg()
            .map((l) => l.toFixed(1))
            .join(" ")}\n` +
        tools
            .map(
                (t) =>
                    `  ${t}: ${t === "ours" || t === "base" ? "" : `${PEER_BIN[t as keyof typeof PEER_BIN]}: `}${versions[t]}`,
            )
            .join("\n") +
        `\n  ours as make upload-do runs it: ${recipe(["…"])}`;
    console.log(header);
    const tables: string[] = [header];

    for (const files of SIZES) {
        const dir = path.join(WORK, `tree-${files}`);
        const tree = await makeTree(dir, files);
        const bytes = [...tree.values()].reduce((a, b) => a + b.length, 0);
        console.log(`\n${files} files, ${(bytes / 1e6).toFixed(1)} MB`);
        const results = new Map<Tool, Record<Phase, Run[]>>(
            tools.map((t) => [t, { initial: [], "no-op": [], change: [] }]),
        );
        let edits = 0;
        let repeated = 0;
        for (let round = 0; round < ROUNDS; round++) {
            const order = tools.map((_, i) => tools[(i + round) % tools.length]!);
            for (const tool of order) {
                let best: Record<Phase, Run> | undefined;
                for (let attempt = 0; attempt <= REPEATS; attempt++) {
                    const got = await toolRound(tool, dir, tree, recipe, () => editOneFile(dir, tree, ++edits));
                    const worst = (r: Record<Phase, Run>) => Math.max(...phases.map((p) => r[p].others));
                    if (!best || worst(got) < worst(best)) best = got;
                    if (!phases.some((p) => got[p].busy)) break;
                    if (attempt < REPEATS) {
                        repeated++;
                        console.log(
                            `  ${tool}: others used ${(worst(got) * 100).toFixed(0)}% of the machine; repeating`,
                        );
                    }
                }
                for (const p of phases) {
                    const m = best![p];
                    results.get(tool)![p].push(m);
                    console.log(
                        `  round ${round + 1} ${p.padEnd(7)} ${tool.padEnd(6)} ${f2(m.wall)} s wall, ${f2(m.cpu)} s CPU, ` +
                            `${m.rssMiB.toFixed(0)} MiB, ${m.requests} requests (${m.puts} PUT), server CPU ${f2(m.serverCpu)} s, ` +
                            `others ${(m.others * 100).toFixed(0)}%${m.busy ? " BUSY" : ""}: ${m.note}`,
                    );
                }
            }
        }
        const fl = await floor(dir, files);
        const floorTotal = fl.list + fl.hash;

        const rows: string[] = [
            `\n${files} files (${(bytes / 1e6).toFixed(1)} MB): median (min–max) of ${ROUNDS} round(s); wall s / client CPU s`,
            "",
            `| phase | ${tools.map((t) => `${t} wall`).join(" | ")} | ${tools.map((t) => `${t} CPU`).join(" | ")} | requests (PUT) ${tools.join(" / ")} |`,
            `|---|${tools.map(() => "---:").join("|")}|${tools.map(() => "---:").join("|")}|---|`,
        ];
        for (const p of phases) {
            const walls = tools.map((t) => spread(results.get(t)![p].map((r) => r.wall)));
            const cpus = tools.map((t) => f2(median(results.get(t)![p].map((r) => r.cpu))));
            const reqs = tools.map((t) => {
                const rs = results.get(t)![p];
                return `${median(rs.map((r) => r.requests))} (${Math.max(...rs.map((r) => r.puts))})`;
            });
            rows.push(`| ${p} | ${walls.join(" | ")} | ${cpus.join(" | ")} | ${reqs.join(" / ")} |`);
        }
        rows.push("");
        const ours = results.get("ours");
        if (ours) {
            for (const p of phases) {
                const o = median(ours[p].map((r) => r.wall));
                const ratios = tools
                    .filter((t) => t !== "ours")
                    .map((t) => `${t} ${f2(o / median(results.get(t)![p].map((r) => r.wall)))}×`);
                if (ratios.length) rows.push(`- ${p}: ours / peer wall (medians): ${ratios.join(", ")}`);
            }
            const init = ours.initial;
            rows.push(
                `- ours, initial: client CPU per PUT ${((median(init.map((r) => r.cpu)) / files) * 1000).toFixed(3)} ms; ` +
                    `peak RSS initial ${median(init.map((r) => r.rssMiB)).toFixed(0)} MiB, no-op ${median(ours["no-op"].map((r) => r.rssMiB)).toFixed(0)} MiB`,
            );
            const noop = median(ours["no-op"].map((r) => r.wall));
            const change = median(ours.change.map((r) => r.wall));
            rows.push(
                `- floor of a no-op: LIST pages ${f2(fl.list)} s + hashing the tree (md5sum) ${f2(fl.hash)} s = ${f2(floorTotal)} s` +
                    `${fl.others > BUSY ? " (BUSY while hashing)" : ""}; ours no-op ${f2(noop / floorTotal)}× and one change ${f2(change / floorTotal)}× the floor`,
            );
        }
        const all = [...results.values()].flatMap((r) => phases.flatMap((p) => r[p]));
        const busy = all.filter((r) => r.busy).length;
        rows.push(
            `- other processes' CPU during the runs: median ${(median(all.map((r) => r.others)) * 100).toFixed(0)}% of the machine, ` +
                `max ${(Math.max(...all.map((r) => r.others)) * 100).toFixed(0)}%; ${busy} of ${all.length} runs kept flagged busy (> ${BUSY * 100}%), ${repeated} repeated`,
        );
        const table = rows.join("\n");
        console.log(table);
        tables.push(table);
    }
    await writeFile(path.join(WORK, "results.md"), `${tables.join("\n")}\n`);
    console.log(`\nwritten to ${path.relative(REPO, path.join(WORK, "results.md"))}`);
}

main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exitCode = 1;
});
