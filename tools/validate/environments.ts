// The environments of a GitOps tree, and the folders each one applies.
//
// An environment is a folder `clusters/<name>/` of the tree with a kustomization file listing
// its Flux Kustomizations (the layers); a stack selects one with `flux.path: ./clusters/<name>`.
// A tree without a clusters/ folder is one environment, its root (a tree like the e2e's, or the
// single-environment layout). What an environment applies is its folder, the folder of every
// layer, and every local folder those kustomizations list (resources, components, bases), so an
// overlay's base belongs to every environment whose overlay uses it.
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { KUSTOMIZATION_FILES } from "../kustomize/build";

/** Folder of the environments, under the tree's root. */
export const CLUSTERS_DIR = "clusters";

export interface Environment {
    /** `dev` for clusters/dev; `.` for a tree without clusters/. */
    readonly name: string;
    /** Its folder (absolute). */
    readonly dir: string;
}

async function kustomizationFile(dir: string): Promise<string | undefined> {
    for (const f of KUSTOMIZATION_FILES) {
        try {
            if ((await stat(path.join(dir, f))).isFile()) return path.join(dir, f);
        } catch {
            /* not this name */
        }
    }
    return undefined;
}

/** The environments of the tree at root (absolute), sorted by name. */
export async function findEnvironments(root: string): Promise<Environment[]> {
    const clusters = path.join(root, CLUSTERS_DIR);
    let entries: import("node:fs").Dirent[];
    try {
        entries = await readdir(clusters, { withFileTypes: true });
    } catch {
        return (await kustomizationFile(root)) ? [{ name: ".", dir: root }] : [];
    }
    const found: Environment[] = [];
    for (const e of entries) {
        if (!e.isDirectory() || e.name.startsWith(".")) continue;
        const dir = path.join(clusters, e.name);
        if (await kustomizationFile(dir)) found.push({ name: e.name, dir });
    }
    return found.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Every folder (absolute) the given kustomization folders build: themselves and, transitively,
 * each local folder their kustomization files list under resources, components or bases.
 * Remote URLs and files are not folders; folders outside the tree are left out.
 */
export async function reachedFolders(starts: readonly string[], root: string): Promise<Set<string>> {
    const seen = new Set<string>();
    const pending = [...starts];
    for (let guard = 0; pending.length > 0 && guard < 10_000; guard++) {
        const dir = pending.pop()!;
        if (seen.has(dir) || path.relative(root, dir).startsWith("..")) continue;
        seen.add(dir);
        const file = await kustomizationFile(dir);
        if (!file) continue;
        let k: { resources?: unknown; components?: unknown; bases?: unknown } | undefined;
        try {
            k = parseAllDocuments(await readFile(file, "utf8"))[0]?.toJS() ?? undefined;
        } catch {
            continue; // kustomize reports an unparsable kustomization
        }
        for (const entry of [k?.resources, k?.components, k?.bases].flatMap((v) => (Array.isArray(v) ? v : []))) {
            if (typeof entry !== "string" || /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) || entry.includes("?")) continue;
            const target = path.resolve(dir, entry);
            try {
                if ((await stat(target)).isDirectory()) pending.push(target);
            } catch {
                /* a missing entry: kustomize reports it */
            }
        }
    }
    return seen;
}
