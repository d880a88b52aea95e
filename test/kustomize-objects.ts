// Building folders of the GitOps tree with the pinned kustomize, for tests: the objects a folder
// builds to, parsed, and a build for validateDeploy's `build` option. Both build each distinct
// folder once (see buildKey): the tests validate copies of deploy/ that differ in one or two
// files many times over, and a `kustomize build` of an apps layer costs about 0.2 s of CPU.
// A successful build's output is kept in this process and in the cache folder of
// tools/test/run.mts (kustomize-builds/, the newest few hundred), so the next test file or run
// that builds the same content reads it instead; the key names the kustomize binary (path,
// size, modification time) and everything the build reads.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { KUSTOMIZATION_FILES, kustomizeBuild } from "../tools/kustomize/build";

/** Fields of a kustomization file that name other folders kustomize reads. */
const FOLDER_FIELDS = ["resources", "components", "bases", "generators", "transformers", "validators"];

/**
 * What `kustomize build <dir>` reads, as a key: the kustomize binary and, for `dir` and every
 * local folder its kustomization files list (transitively), each folder's path relative to
 * `dir` and every file under it (relative path and content). kustomize reads nothing else for
 * a build (its load restrictor keeps files under their kustomization's folder), and its output
 * names no absolute path, so two folders with the same key build to the same output, wherever
 * they are. Undefined (build every time) when an entry is neither a local file under its folder
 * nor a local folder: a remote resource, a missing one, or a file elsewhere.
 */
function buildKey(kustomize: string, dir: string): string | undefined {
    let binary: { size: number; mtimeMs: number };
    try {
        binary = statSync(kustomize);
    } catch {
        return undefined;
    }
    const hash = createHash("sha256").update(`${path.resolve(kustomize)}\0${binary.size}\0${binary.mtimeMs}\0`);
    const seen = new Set<string>();
    const pending = [path.resolve(dir)];
    for (let guard = 0; pending.length > 0; guard++) {
        if (guard > 1000) return undefined;
        const folder = pending.pop()!;
        if (seen.has(folder)) continue;
        seen.add(folder);
        const files: string[] = [];
        const walk = (d: string): void => {
            for (const e of readdirSync(d, { withFileTypes: true })) {
                if (e.isDirectory()) walk(path.join(d, e.name));
                else files.push(path.join(d, e.name));
            }
        };
        walk(folder);
        hash.update(`folder ${path.relative(dir, folder)}\0`);
        for (const f of files.sort())
            hash.update(`${path.relative(folder, f)}\0`)
                .update(readFileSync(f))
                .update("\0");
        const file = KUSTOMIZATION_FILES.map((n) => path.join(folder, n)).find((f) => files.includes(f));
        if (!file) continue;
        let k: Record<string, unknown> | null;
        try {
            k = parse(readFileSync(file, "utf8"));
        } catch {
            return undefined; // kustomize reports it
        }
        for (const field of FOLDER_FIELDS) {
            const entries = k?.[field];
            if (!Array.isArray(entries)) continue;
            for (const entry of entries) {
                if (typeof entry !== "string") continue; // inline generator/transformer configs are in the file
                const target = path.resolve(folder, entry);
                let isDir: boolean;
                try {
                    isDir = statSync(target).isDirectory();
                } catch {
                    return undefined;
                }
                if (isDir) pending.push(target);
                else if (path.relative(folder, target).startsWith("..")) return undefined;
            }
        }
    }
    return hash.digest("hex");
}

/** The runner's cache folder (tools/test/run.mts CACHE). */
const DISK = path.join(
    process.env.DO_GITOPS_CACHE ??
        path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "do-gitops-platform"),
    "kustomize-builds",
);
/** Entries kept on disk; beyond it the least recently used quarter goes. */
const DISK_KEEP = 400;

function diskGet(key: string): string | undefined {
    const file = path.join(DISK, `${key}.yaml`);
    try {
        const out = readFileSync(file, "utf8");
        const now = new Date();
        utimesSync(file, now, now);
        return out;
    } catch {
        return undefined;
    }
}

function diskPut(key: string, out: string): void {
    try {
        mkdirSync(DISK, { recursive: true });
        const tmp = path.join(DISK, `.${key}.${process.pid}.tmp`);
        writeFileSync(tmp, out);
        renameSync(tmp, path.join(DISK, `${key}.yaml`));
        const entries = readdirSync(DISK).filter((f) => f.endsWith(".yaml"));
        if (entries.length > DISK_KEEP) {
            const byAge = entries
                .map((f) => ({ f, t: statSync(path.join(DISK, f)).mtimeMs }))
                .sort((a, b) => a.t - b.t);
            for (const { f } of byAge.slice(0, entries.length - (DISK_KEEP * 3) / 4))
                rmSync(path.join(DISK, f), { force: true });
        }
    } catch {
        // only an optimisation
    }
}

/** Outputs of successful builds in this process, by buildKey. */
const outputs = new Map<string, Promise<string>>();

/**
 * `kustomize build <dir>` (tools/kustomize/build.ts kustomizeBuild), once per distinct folder
 * content in this process (buildKey); a failed build is not kept (its message names its own
 * folder). For validateDeploy's `build` option.
 */
export function cachedKustomizeBuild(kustomize: string, dir: string): Promise<string> {
    const key = buildKey(kustomize, dir);
    if (key === undefined) return kustomizeBuild(kustomize, dir);
    let out = outputs.get(key);
    if (!out) {
        const kept = diskGet(key);
        out =
            kept === undefined
                ? kustomizeBuild(kustomize, dir).then((o) => {
                      diskPut(key, o);
                      return o;
                  })
                : Promise.resolve(kept);
        outputs.set(key, out);
        out.catch(() => outputs.delete(key));
    }
    return out;
}

const syncOutputs = new Map<string, string>();

/** The objects `kustomize build <dir>` prints, parsed (empty documents dropped); built once per distinct folder content. */
export function kustomizeObjects(kustomize: string, dir: string): any[] {
    const key = buildKey(kustomize, dir);
    let out = key === undefined ? undefined : (syncOutputs.get(key) ?? diskGet(key));
    if (out === undefined) {
        out = execFileSync(kustomize, ["build", dir], { encoding: "utf8", timeout: 60_000 });
        if (key !== undefined) diskPut(key, out);
    }
    if (key !== undefined) syncOutputs.set(key, out);
    return parseAllDocuments(out)
        .map((d) => d.toJS())
        .filter((o) => o !== null);
}
