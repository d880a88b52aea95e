// `npm run bench:sync` / `make bench-sync`: our sync tool against `aws s3 sync`
// on the same tree and the same local S3 server (s3rver on 127.0.0.1).
//
// Phases, for each tool, in fresh buckets each round:
//   initial  upload of a 1,000-file tree (about 10 MB of YAML)
//   no-op    re-sync with nothing changed
//   change   one file edited (same size), re-sync
// Wall time covers the whole command as a user runs it (`npm run --silent upload`,
// so npm and tsx start-up count). Requests are counted at the server.
//
// Options: --files N (1000)  --rounds N (3)  --aws PATH (env AWS_CLI; default
// /usr/bin/aws from Debian's awscli package, else `aws` on PATH)  --concurrency N
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { S3RVER_KEY, startS3, type LocalS3 } from "../test/helpers-s3";

// the in-process helper client would print the SDK's Node 22 notice into the results
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const REPO = path.resolve(__dirname, "..");
const WORK = path.join(REPO, ".bench");
const TREE = path.join(WORK, "tree");

const { values: opts } = parseArgs({
  options: {
    files: { type: "string", default: "1000" },
    rounds: { type: "string", default: "3" },
    aws: { type: "string" },
    concurrency: { type: "string" },
  },
});
const FILES = Number(opts.files);
const ROUNDS = Number(opts.rounds);
if (!Number.isInteger(FILES) || FILES < 1 || FILES > 100_000) throw new Error("--files must be 1..100000");
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 20) throw new Error("--rounds must be 1..20");

function findAws(): string {
  const explicit = opts.aws ?? process.env.AWS_CLI;
  if (explicit) return explicit;
  if (existsSync("/usr/bin/aws")) return "/usr/bin/aws";
  return "aws";
}
const AWS = findAws();

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

/** FILES YAML files, 2-18 KB each (about 10 MB for 1,000), in 20 folders. */
async function makeTree(): Promise<number> {
  await rm(TREE, { recursive: true, force: true });
  const rand = rng(42);
  let total = 0;
  for (let i = 0; i < FILES; i++) {
    const dir = path.join(TREE, `team-${String(i % 20).padStart(2, "0")}`);
    await mkdir(dir, { recursive: true });
    const target = 2048 + Math.floor(rand() * 16384);
    const lines = [`apiVersion: v1`, `kind: ConfigMap`, `metadata:`, `  name: cm-${i}`, `data:`];
    let size = lines.join("\n").length;
    for (let k = 0; size < target; k++) {
      const line = `  key-${k}: "${Math.floor(rand() * 1e15).toString(36).padEnd(48, "x")}"`;
      lines.push(line);
      size += line.length + 1;
    }
    const body = `${lines.join("\n")}\n`;
    total += body.length;
    await writeFile(path.join(dir, `cm-${String(i).padStart(5, "0")}.yaml`), body);
  }
  return total;
}

/** Flips one character of one file, keeping its size (aws compares size and mtime, we compare content). */
async function editOneFile(round: number): Promise<void> {
  const file = path.join(TREE, "team-07", "cm-00007.yaml");
  const { readFile } = await import("node:fs/promises");
  const body = await readFile(file, "utf8");
  const marker = `name: cm-7`;
  const edited = body.replace(/key-0: "(.)/, (_m, c: string) => `key-0: "${c === String(round % 10) ? "z" : round % 10}`);
  if (edited === body || edited.length !== body.length || !edited.includes(marker)) throw new Error("edit failed");
  await new Promise((r) => setTimeout(r, 1100)); // a distinct mtime second, for aws's size+mtime rule
  await writeFile(file, edited);
}

interface RunResult {
  seconds: number;
  requests: number;
  puts: number;
  lastLine: string;
}

function runCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; code: number | null; stdout: string; stderr: string }> {
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
      clearTimeout(timer);
      resolve({ seconds: Number(process.hrtime.bigint() - start) / 1e9, code, stdout, stderr });
    });
  });
}

const baseEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  AWS_ACCESS_KEY_ID: S3RVER_KEY,
  AWS_SECRET_ACCESS_KEY: S3RVER_KEY,
});

async function runOurs(s3: LocalS3, bucket: string): Promise<RunResult> {
  s3.reset();
  const args = ["run", "--silent", "upload", "--", "--source", TREE, "--bucket", bucket, "--endpoint", s3.endpoint, "--region", "us-east-1", "--no-trigger"];
  if (opts.concurrency) args.push("--concurrency", opts.concurrency);
  const r = await runCommand("npm", args, baseEnv());
  if (r.code !== 0) throw new Error(`our tool failed (${r.code}): ${r.stderr}`);
  const mine = s3.requests.filter((q) => q.url.startsWith(`/${bucket}`));
  const lines = r.stdout.trimEnd().split("\n");
  return { seconds: r.seconds, requests: mine.length, puts: mine.filter((q) => q.method === "PUT").length, lastLine: lines[lines.length - 1] ?? "" };
}

async function runAws(s3: LocalS3, bucket: string, configFile: string): Promise<RunResult> {
  s3.reset();
  const env = {
    ...baseEnv(),
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_CONFIG_FILE: configFile,
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
  };
  const r = await runCommand(AWS, ["s3", "sync", TREE, `s3://${bucket}`, "--endpoint-url", s3.endpoint, "--no-progress"], env);
  if (r.code !== 0) throw new Error(`aws s3 sync failed (${r.code}): ${r.stderr}`);
  const mine = s3.requests.filter((q) => q.url.startsWith(`/${bucket}`));
  const uploads = r.stdout.split("\n").filter((l) => l.startsWith("upload:")).length;
  return { seconds: r.seconds, requests: mine.length, puts: mine.filter((q) => q.method === "PUT").length, lastLine: `${uploads} uploaded` };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  await mkdir(WORK, { recursive: true });
  const awsVersion = await runCommand(AWS, ["--version"], { PATH: process.env.PATH }).catch(() => undefined);
  if (!awsVersion || awsVersion.code !== 0) {
    console.error(`cannot run ${AWS}: install Debian's awscli (apt-get install -y awscli) or pass --aws PATH`);
    process.exitCode = 2;
    return;
  }
  const configFile = path.join(WORK, "aws-config");
  await writeFile(configFile, "[default]\ns3 =\n    addressing_style = path\n");
  const bytes = await makeTree();
  const startup = await runCommand("npm", ["run", "--silent", "upload", "--", "--help"], baseEnv());
  console.log(
    `tree: ${FILES} files, ${(bytes / 1e6).toFixed(1)} MB; ${ROUNDS} round(s); ${os.cpus().length} cores; node ${process.version}; ` +
      `${(awsVersion.stdout || awsVersion.stderr).trim()}; our start-up alone (npm run --silent upload -- --help): ${startup.seconds.toFixed(2)} s`,
  );

  const s3 = await startS3();
  const phases = ["initial", "no-op", "change"] as const;
  const results: Record<string, { ours: RunResult[]; aws: RunResult[] }> = {};
  for (const p of phases) results[p] = { ours: [], aws: [] };
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const ours = `ours-${round}`;
      const theirs = `aws-${round}`;
      await s3.createBucket(ours);
      await s3.createBucket(theirs);
      for (const phase of phases) {
        if (phase === "change") await editOneFile(round);
        // alternate who goes first, so neither always gets a warm page cache
        const order = round % 2 === 1 ? (["ours", "aws"] as const) : (["aws", "ours"] as const);
        for (const who of order) {
          const r = who === "ours" ? await runOurs(s3, ours) : await runAws(s3, theirs, configFile);
          results[phase]![who].push(r);
          console.log(`round ${round} ${phase.padEnd(7)} ${who.padEnd(4)} ${r.seconds.toFixed(2)} s, ${r.requests} requests (${r.puts} PUT): ${r.lastLine}`);
        }
      }
      // both buckets must hold the same bytes
      const [a, b] = await Promise.all([s3.objects(ours), s3.objects(theirs)]);
      if (a.size !== FILES || b.size !== FILES) throw new Error(`round ${round}: bucket sizes ${a.size}/${b.size}, expected ${FILES}`);
      for (const [k, v] of a) if (!b.get(k)?.equals(v)) throw new Error(`round ${round}: ${k} differs between the buckets`);
    }
  } finally {
    await s3.close();
  }

  const targets: Record<string, { ratio?: number; puts?: number }> = {
    initial: { ratio: 0.4 },
    "no-op": { ratio: 0.5 },
    change: { puts: 1 },
  };
  const rows: string[] = [];
  let allMet = true;
  rows.push("| phase | ours (s) | aws s3 sync (s) | ours / aws | ours requests (PUT) | aws requests (PUT) | target | met |");
  rows.push("|---|---:|---:|---:|---:|---:|---|---|");
  for (const phase of phases) {
    const o = results[phase]!.ours;
    const w = results[phase]!.aws;
    const ot = median(o.map((r) => r.seconds));
    const wt = median(w.map((r) => r.seconds));
    const ratio = ot / wt;
    const t = targets[phase]!;
    const oPuts = Math.max(...o.map((r) => r.puts));
    const met = t.ratio !== undefined ? ratio <= t.ratio : o.every((r) => r.puts === t.puts);
    allMet &&= met;
    const target = t.ratio !== undefined ? `≤ ${Math.round(t.ratio * 100)}%` : `exactly ${t.puts} PUT`;
    rows.push(
      `| ${phase} | ${ot.toFixed(2)} | ${wt.toFixed(2)} | ${(ratio * 100).toFixed(0)}% | ${median(o.map((r) => r.requests))} (${oPuts}) | ` +
        `${median(w.map((r) => r.requests))} (${Math.max(...w.map((r) => r.puts))}) | ${target} | ${met ? "yes" : "NO"} |`,
    );
  }
  const table = rows.join("\n");
  console.log(`\nmedian of ${ROUNDS} round(s), ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "cpu"})\n`);
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
