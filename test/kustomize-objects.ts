// Building folders of the GitOps tree with the pinned kustomize, for tests: the objects a folder
// builds to, parsed, and a build for validateDeploy's `build` option. Both build each distinct
// folder once per test process (see buildKey): the tests validate copies of deploy/ that differ
// in one or two files many times over, and a `kustomize build` costs about 0.1 s of CPU.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
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
    const hash = createHash("sha256").update(`${kustomize}\0`);
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
        out = kustomizeBuild(kustomize, dir);
        outputs.set(key, out);
        out.catch(() => outputs.delete(key));
    }
    return out;
}

const syncOutputs = new Map<string, string>();

/** The objects `kustomize build <dir>` prints, parsed (empty documents dropped); built once per distinct folder content. */
export function kustomizeObjects(kustomize: string, dir: string): any[] {
    const key = buildKey(kustomize, dir);
    let out = key === undefined ? undefined : syncOutputs.get(key);
    if (out === undefined) {
        out = execFileSync(kustomize, ["build", dir], { encoding: "utf8", timeout: 60_000 });
        if (key !== undefined) syncOutputs.set(key, out);
    }
    return parseAllDocuments(out)
        .map((d) => d.toJS())
        .filter((o) => o !== null);
}
