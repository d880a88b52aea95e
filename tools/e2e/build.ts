/**
 * Builds the e2e's programs from Go modules by name (the Go module proxy is the only source),
 * once, into a cache folder outside the repository keyed by the pinned versions.
 *
 *   ~/.cache/do-gitops-platform/e2e/<name>-<version>/   (E2E_CACHE_DIR overrides the parent)
 *     go.mod, go.sum   the wrapper module (see gomod.ts)
 *     bin/             the programs
 *     build.json       what was built and how long it took; a warm run checks it and skips the build
 */
import { execFile, spawn } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { chmod, cp, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { versions } from "../../components/versions";
import { wrapperGoMod } from "./gomod";

const execFileP = promisify(execFile);

export interface GoProgram {
    /** Cache folder name (with the version) and the label in messages. */
    readonly name: string;
    /** The module that holds the program(s), and its pinned version. */
    readonly module: string;
    readonly version: string;
    /** The programs: file name in bin/ → import path of its main package. */
    readonly packages: Readonly<Record<string, string>>;
    /** `-X importpath.name=value` settings for the linker. */
    readonly ldflagsX?: readonly string[];
    /** See WrapperOptions.folderVersion. */
    readonly folderVersion?: (path: string, required: string | undefined) => string;
    /** See WrapperOptions.override. */
    readonly override?: Readonly<Record<string, string>>;
    /**
     * A main package whose embedded files the module does not ship (they are generated before a
     * release build): its folder is copied into the wrapper module, `command` runs there with
     * `env`, and the copy is what gets built.
     */
    readonly generate?: {
        readonly package: string;
        readonly command: readonly string[];
        readonly env?: Readonly<Record<string, string>>;
    };
}

/** Where built programs live: E2E_CACHE_DIR, else ~/.cache/do-gitops-platform/e2e. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
    if (env.E2E_CACHE_DIR) return path.resolve(env.E2E_CACHE_DIR);
    const base = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    return path.join(base, "do-gitops-platform", "e2e");
}

/** The `go` command: $GO, else `go` on PATH, else the standard install in /usr/local/go. */
export function goCommand(env: NodeJS.ProcessEnv = process.env): string {
    if (env.GO) return env.GO;
    for (const dir of (env.PATH ?? "").split(path.delimiter)) {
        if (dir && existsSync(path.join(dir, "go"))) return path.join(dir, "go");
    }
    return "/usr/local/go/bin/go";
}

/** Environment of every `go` call: modules only, no cgo, no toolchain switch, no workspace. */
export function goEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    return { ...env, GOFLAGS: "-mod=mod", CGO_ENABLED: "0", GOTOOLCHAIN: "local", GOWORK: "off" };
}

export interface ModuleInfo {
    readonly Path: string;
    readonly Version: string;
    /** The module's files, read-only, in the module cache. */
    readonly Dir: string;
    /** The module's go.mod, as served. */
    readonly GoMod: string;
}

/** `go mod download -json module@version`: fetches a module into the module cache. */
export async function downloadModule(module: string, version: string): Promise<ModuleInfo> {
    const tmp = path.join(os.tmpdir(), "do-gitops-e2e-gomod");
    await mkdir(tmp, { recursive: true });
    try {
        const { stdout } = await execFileP(goCommand(), ["mod", "download", "-json", `${module}@${version}`], {
            cwd: tmp,
            env: goEnv(),
            maxBuffer: 1 << 20,
        });
        const info = JSON.parse(stdout) as ModuleInfo & { Error?: string };
        if (info.Error) throw new Error(info.Error);
        return info;
    } catch (e) {
        const err = e as { stdout?: string; message: string };
        let detail = err.message;
        try {
            detail = (JSON.parse(err.stdout ?? "") as { Error?: string }).Error ?? detail;
        } catch {
            /* not JSON: keep the process error */
        }
        throw new Error(`go mod download ${module}@${version}: ${detail}`);
    }
}

/** The file name `go build -o dir/` gives a main package: its last path element, skipping a /vN suffix. */
export function goBinaryName(importPath: string): string {
    const parts = importPath.split("/");
    const last = parts.at(-1) ?? importPath;
    return /^v\d+$/.test(last) && parts.length > 1 ? parts.at(-2)! : last;
}

/** What a finished build recorded; a warm run rebuilds when any of it differs. */
function fingerprint(p: GoProgram, goVersion: string): string {
    return JSON.stringify({
        module: p.module,
        version: p.version,
        packages: p.packages,
        ldflagsX: p.ldflagsX ?? [],
        override: p.override ?? {},
        generate: p.generate ?? null,
        go: goVersion,
    });
}

let goVersionCache: Promise<string> | undefined;
export function goVersion(): Promise<string> {
    goVersionCache ??= execFileP(goCommand(), ["env", "GOVERSION"], { env: goEnv() }).then((r) => r.stdout.trim());
    return goVersionCache;
}

export interface BuildResult {
    /** bin/ folder holding the programs */
    readonly bin: string;
    /** program name → absolute path */
    readonly paths: Readonly<Record<string, string>>;
    /** seconds the build took, or undefined when the cache had it */
    readonly seconds?: number;
}

function run(cmd: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, log: string): Promise<void> {
    return new Promise((resolve, reject) => {
        const out = createWriteStream(log, { flags: "a" });
        out.write(`$ ${cmd} ${args.join(" ")}\n`);
        const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
        child.stdout.pipe(out, { end: false });
        child.stderr.pipe(out, { end: false });
        child.on("error", (e) => {
            out.end();
            reject(e);
        });
        child.on("close", (code, signal) => {
            out.end();
            if (code === 0) resolve();
            else
                reject(new Error(`${path.basename(cmd)} ${args[0]} failed (${signal ?? `exit ${code}`}); log: ${log}`));
        });
    });
}

/** The children's user + system seconds from the `times` output after `mark`. */
export function cpuTime(log: string, mark: string): number | undefined {
    const after = log
        .slice(log.lastIndexOf(mark) + mark.length)
        .trim()
        .split("\n");
    const children = after[1]; // `times`: the shell's own line, then its children's
    const m = children?.match(/^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/);
    if (log.lastIndexOf(mark) === -1 || !m) return undefined;
    return Math.round(Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]));
}

async function makeWritable(dir: string): Promise<void> {
    await chmod(dir, 0o755);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) await makeWritable(p);
        else await chmod(p, 0o644);
    }
}

async function tail(file: string, lines = 25): Promise<string> {
    try {
        return (await readFile(file, "utf8")).trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
        return "";
    }
}

/** Builds `p` unless the cache already has it. `say` receives one line per step. */
export async function buildProgram(p: GoProgram, say: (line: string) => void): Promise<BuildResult> {
    const dir = path.join(cacheRoot(), `${p.name}-${p.version}`);
    const bin = path.join(dir, "bin");
    const names = Object.keys(p.packages);
    const paths = Object.fromEntries(names.map((n) => [n, path.join(bin, n)]));
    const gov = await goVersion();
    const marker = path.join(dir, "build.json");
    try {
        const done = JSON.parse(await readFile(marker, "utf8")) as { fingerprint: string };
        if (done.fingerprint === fingerprint(p, gov) && names.every((n) => existsSync(paths[n]))) {
            return { bin, paths };
        }
    } catch {
        /* not built yet */
    }
    const started = Date.now();
    say(`building ${p.name} ${p.version} (${names.join(", ")}) from ${p.module} with ${gov}…`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(bin, { recursive: true });
    const log = path.join(dir, "build.log");
    try {
        const info = await downloadModule(p.module, p.version);
        const upstream = await readFile(info.GoMod, "utf8");
        const name = `e2e.invalid/${p.name}`;
        await writeFile(
            path.join(dir, "go.mod"),
            wrapperGoMod({
                name,
                module: p.module,
                version: p.version,
                upstream,
                folderVersion: p.folderVersion,
                override: p.override,
            }),
        );
        const env = goEnv();
        const targets = Object.values(p.packages);
        if (p.generate) {
            const rel = p.generate.package.slice(p.module.length + 1);
            const copy = path.join(dir, rel);
            await cp(path.join(info.Dir, rel), copy, { recursive: true });
            await makeWritable(copy); // the module cache is read-only, and so is a copy of it
            await run(p.generate.command[0], p.generate.command.slice(1), copy, { ...env, ...p.generate.env }, log);
            targets[targets.indexOf(p.generate.package)] = `./${rel}`;
        }
        const ldflags = ["-s", "-w", ...(p.ldflagsX ?? []).flatMap((x) => ["-X", x])].join(" ");
        // Through sh, whose `times` reports the CPU time of the build (the wall time depends on
        // whatever else the machine runs).
        const cpuMark = "go build CPU time (user, system):";
        await run(
            "/bin/sh",
            [
                "-c",
                `"$0" "$@" || exit $?; echo "${cpuMark}"; times`,
                goCommand(),
                "build",
                "-trimpath",
                `-ldflags=${ldflags}`,
                "-o",
                `${bin}/`,
                ...targets,
            ],
            dir,
            env,
            log,
        );
        for (const [name, pkg] of Object.entries(p.packages)) {
            const made = path.join(bin, goBinaryName(pkg));
            if (made !== paths[name]) await rename(made, paths[name]);
        }
        const seconds = Math.round((Date.now() - started) / 1000);
        const cpuSeconds = cpuTime(await readFile(log, "utf8"), cpuMark);
        await writeFile(
            marker,
            `${JSON.stringify({ fingerprint: fingerprint(p, gov), seconds, cpuSeconds }, null, 2)}\n`,
        );
        say(`built ${p.name} ${p.version} in ${seconds}s (${cpuSeconds ?? "?"} CPU seconds) → ${bin}`);
        return { bin, paths, seconds };
    } catch (e) {
        const t = await tail(log);
        throw new Error(`building ${p.name} ${p.version} failed: ${(e as Error).message}${t ? `\n${t}` : ""}`);
    }
}

const k8sMinor = (v: string) => v.replace(/^v1\./, "v0.");

/** Every program the e2e can build, from the pins in components/versions.ts. */
export function programs() {
    const e = versions.e2e;
    const k8s = e.kubernetes;
    const [major, minor] = k8s.replace(/^v/, "").split(".");
    const flux = (name: keyof typeof e.fluxControllers): GoProgram => ({
        name,
        module: `github.com/fluxcd/${name}`,
        version: e.fluxControllers[name],
        packages: { [name]: `github.com/fluxcd/${name}` },
    });
    return {
        etcd: {
            name: "etcd",
            module: "go.etcd.io/etcd/server/v3",
            version: e.etcd,
            packages: { etcd: "go.etcd.io/etcd/server/v3" },
        },
        kubernetes: {
            name: "kubernetes",
            module: "k8s.io/kubernetes",
            version: k8s,
            packages: {
                "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
                kubectl: "k8s.io/kubernetes/cmd/kubectl",
            },
            // Each k8s.io/* staging module is published as v0.<minor>.<patch> of the same release.
            folderVersion: (p: string) => (p.startsWith("k8s.io/") ? k8sMinor(k8s) : k8s),
            // Without these the binaries report v0.0.0-master, which version checks reject.
            ldflagsX: [
                `k8s.io/component-base/version.gitVersion=${k8s}`,
                `k8s.io/component-base/version.gitMajor=${major}`,
                `k8s.io/component-base/version.gitMinor=${minor}`,
                "k8s.io/component-base/version.gitTreeState=clean",
                `k8s.io/client-go/pkg/version.gitVersion=${k8s}`,
                `k8s.io/client-go/pkg/version.gitMajor=${major}`,
                `k8s.io/client-go/pkg/version.gitMinor=${minor}`,
            ],
        },
        sourceController: {
            ...flux("source-controller"),
            // source-controller v1.9.4 asks for github.com/fluxcd/pkg/artifact v0.18.2, which the Go
            // module proxy does not serve (it answers 403); v0.18.1 is the newest patch it serves.
            override: { "github.com/fluxcd/pkg/artifact": "v0.18.1" },
        },
        kustomizeController: flux("kustomize-controller"),
        notificationController: flux("notification-controller"),
        pulumi: {
            name: "pulumi",
            module: "github.com/pulumi/pulumi/pkg/v3",
            version: e.pulumi,
            packages: { pulumi: "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi" },
            ldflagsX: [`github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${e.pulumi}`],
        },
        pulumiKubernetes: {
            name: "pulumi-resource-kubernetes",
            module: "github.com/pulumi/pulumi-kubernetes/provider/v4",
            version: e.pulumiKubernetes,
            packages: {
                "pulumi-resource-kubernetes":
                    "github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes",
            },
            // schema-embed.json and terraform-mapping-embed.json come from the module's own generate step.
            generate: {
                package: "github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes",
                command: [goCommand(), "run", "generate.go"],
                env: { VERSION: e.pulumiKubernetes.replace(/^v/, "") },
            },
            ldflagsX: [`github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${e.pulumiKubernetes}`],
        },
    } satisfies Record<string, GoProgram>;
}
