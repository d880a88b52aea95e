// Building kustomizations with the pinned kustomize: shared by `make validate`, `make e2e` and
// the plaintext-Secret guard of `make upload-do` (which runs from a bundle in bin/, hence the
// script is found by walking up from this file).
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
    existsSync,
    mkdirSync,
    readdirSync,
    readFileSync,
    renameSync,
    rmSync,
    statSync,
    utimesSync,
    writeFileSync,
} from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { cacheFolder } from "../lib/cache";
import { findUp } from "../lib/find-up";

export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/** tools/kustomize/ensure-kustomize.sh, found upwards from this file (tools/kustomize/ from source, bin/ as a bundle). */
const ensureScript = (): string => findUp(__dirname, "tools/kustomize/ensure-kustomize.sh");

/**
 * ensureKustomize's answers in this process, by the script and the variables its answer depends
 * on: the script costs about 35 ms of CPU (a shell, sed, `kustomize version`), and a process that
 * validates or uploads many times (the tests) asked it once per run.
 */
const ensured = new Map<string, string>();

/** The pinned kustomize release, built once into a cache folder by tools/kustomize/ensure-kustomize.sh. */
export function ensureKustomize(): string {
    const script = ensureScript();
    const { KUSTOMIZE, DO_GITOPS_CACHE, XDG_CACHE_HOME, HOME } = process.env;
    const key = [script, KUSTOMIZE, DO_GITOPS_CACHE, XDG_CACHE_HOME, HOME].join("\0");
    const known = ensured.get(key);
    if (known !== undefined && existsSync(known)) return known;
    let bin: string;
    try {
        bin = execFileSync(script, {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
            timeout: 900_000,
        }).trim();
    } catch (err) {
        throw new Error(`cannot provide the pinned kustomize (${script}): ${(err as Error).message}`);
    }
    ensured.set(key, bin);
    return bin;
}

export function kustomizeBuild(bin: string, dir: string): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile(bin, ["build", dir], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
            if (err) reject(new Error((stderr || err.message).trim()));
            else resolve(stdout);
        });
    });
}

/** Fields of a kustomization file that name other folders kustomize reads. */
const FOLDER_FIELDS = ["resources", "components", "bases", "generators", "transformers", "validators"];
/** What buildKey reads at most for one key; beyond it the build is not cached. */
const KEY_LIMITS = { folders: 1000, files: 20_000, bytes: 64 * 1024 * 1024 };

/**
 * What `kustomize build <dir>` reads, as a key: the kustomize binary (path, size, modification
 * time) and, for `dir` and every local folder its kustomization files list (transitively), each
 * folder's path relative to `dir` and every file under it (relative path and content). kustomize
 * reads nothing else for a build (its load restrictor keeps files under their kustomization's
 * folder; plugins and Helm charts need flags these builds do not pass), and its output names no
 * absolute path, so two folders with the same key build to the same output, wherever they are.
 * Undefined (build every time) when an entry is neither a local file under its folder nor a
 * local folder (a remote resource, a missing one, a file elsewhere), when a file cannot be read
 * (a link to a folder), or beyond KEY_LIMITS.
 */
export function buildKey(kustomize: string, dir: string): string | undefined {
    try {
        const binary = statSync(kustomize);
        const hash = createHash("sha256").update(`${path.resolve(kustomize)}\0${binary.size}\0${binary.mtimeMs}\0`);
        const seen = new Set<string>();
        const pending = [path.resolve(dir)];
        let files = 0;
        let bytes = 0;
        while (pending.length > 0) {
            const folder = pending.pop()!;
            if (seen.has(folder)) continue;
            seen.add(folder);
            if (seen.size > KEY_LIMITS.folders) return undefined;
            const found: string[] = [];
            const walk = (d: string): void => {
                for (const e of readdirSync(d, { withFileTypes: true })) {
                    if (e.isDirectory()) walk(path.join(d, e.name));
                    else found.push(path.join(d, e.name));
                }
            };
            walk(folder);
            hash.update(`folder ${path.relative(dir, folder)}\0`);
            for (const f of found.sort()) {
                const content = readFileSync(f);
                files++;
                bytes += content.length;
                if (files > KEY_LIMITS.files || bytes > KEY_LIMITS.bytes) return undefined;
                hash.update(`${path.relative(folder, f)}\0`)
                    .update(content)
                    .update("\0");
            }
            const file = KUSTOMIZATION_FILES.map((n) => path.join(folder, n)).find((f) => found.includes(f));
            if (!file) continue;
            const k = parse(readFileSync(file, "utf8")) as Record<string, unknown> | null;
            for (const field of FOLDER_FIELDS) {
                const entries = k?.[field];
                if (!Array.isArray(entries)) continue;
                for (const entry of entries) {
                    if (typeof entry !== "string") continue; // inline generator/transformer configs are in the file
                    const target = path.resolve(folder, entry);
                    if (statSync(target).isDirectory()) pending.push(target);
                    else if (path.relative(folder, target).startsWith("..")) return undefined;
                }
            }
        }
        return hash.digest("hex");
    } catch {
        return undefined; // missing or unreadable: kustomize reports it
    }
}

/**
 * Where successful builds are kept between runs: kustomize-builds/ in the cache folder of
 * tools/lib/ensure-go-binary.sh (the kustomize binary's), the newest BUILDS_KEPT of them.
 */
function buildsFolder(): string {
    return path.join(cacheFolder(), "kustomize-builds");
}
/** Builds kept on disk; beyond it the least recently used quarter goes. */
const BUILDS_KEPT = 400;

/** A kept build's output (and marks it used), or undefined. */
export function keptBuild(key: string): string | undefined {
    const file = path.join(buildsFolder(), `${key}.yaml`);
    try {
        const out = readFileSync(file, "utf8");
        const now = new Date();
        utimesSync(file, now, now);
        return out;
    } catch {
        return undefined;
    }
}

/**
 * Keeps a successful build's output on disk (best effort), unless it mentions `Secret`: such a
 * build may hold plaintext values (a secretGenerator, a Secret not sealed yet, which the guard
 * refuses), and no copy of them is left behind; it is kept in memory only (cachedKustomizeBuild).
 */
export function keepBuild(key: string, out: string): void {
    if (out.includes("Secret")) return;
    const folder = buildsFolder();
    try {
        mkdirSync(folder, { recursive: true });
        const tmp = path.join(folder, `.${key}.${process.pid}.tmp`);
        try {
            writeFileSync(tmp, out);
            renameSync(tmp, path.join(folder, `${key}.yaml`));
        } finally {
            rmSync(tmp, { force: true }); // a failed write leaves no temporary file behind
        }
        const entries = readdirSync(folder).filter((f) => f.endsWith(".yaml"));
        if (entries.length > BUILDS_KEPT) {
            const byAge = entries
                .map((f) => ({ f, t: statSync(path.join(folder, f)).mtimeMs }))
                .sort((a, b) => a.t - b.t);
            for (const { f } of byAge.slice(0, entries.length - (BUILDS_KEPT * 3) / 4))
                rmSync(path.join(folder, f), { force: true });
        }
    } catch {
        // only an optimisation
    }
}

/** Outputs of successful builds in this process, by buildKey. */
const outputs = new Map<string, Promise<string>>();

/**
 * kustomizeBuild, once per distinct content (buildKey): a successful build's output is kept in
 * this process and on disk (keepBuild), so the next run that builds the same folder content
 * (an unchanged kustomization of `make validate` or `make upload-do`, or a copy of it elsewhere)
 * reads it instead of running kustomize (about 0.2 s of CPU for a folder with patches). A failed
 * build is not kept: its message names its own folder.
 */
export function cachedKustomizeBuild(kustomize: string, dir: string): Promise<string> {
    const key = buildKey(kustomize, dir);
    if (key === undefined) return kustomizeBuild(kustomize, dir);
    let out = outputs.get(key);
    if (!out) {
        const kept = keptBuild(key);
        out =
            kept === undefined
                ? kustomizeBuild(kustomize, dir).then((o) => {
                      keepBuild(key, o);
                      return o;
                  })
                : Promise.resolve(kept);
        outputs.set(key, out);
        out.catch(() => outputs.delete(key));
    }
    return out;
}

/** Folders (absolute) under root that hold a kustomization file; dot folders are skipped. */
export async function findKustomizations(root: string): Promise<string[]> {
    const found: string[] = [];
    const pending = [root];
    for (let guard = 0; pending.length > 0 && guard < 100_000; guard++) {
        const dir = pending.pop()!;
        const entries = await readdir(dir, { withFileTypes: true });
        const file = entries.find((e) => e.isFile() && KUSTOMIZATION_FILES.includes(e.name));
        // a kustomize Component cannot be built alone: it is built through its users
        if (file && !(await isComponent(path.join(dir, file.name)))) found.push(dir);
        for (const e of entries) if (e.isDirectory() && !e.name.startsWith(".")) pending.push(path.join(dir, e.name));
    }
    return found.sort();
}

async function isComponent(file: string): Promise<boolean> {
    try {
        const doc = parseAllDocuments(await readFile(file, "utf8"))[0]?.toJS() as { kind?: unknown } | undefined;
        return doc?.kind === "Component";
    } catch {
        return false;
    }
}
