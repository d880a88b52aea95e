// Building kustomizations with the pinned kustomize: shared by `make validate`, `make e2e` and
// the plaintext-Secret guard of `make upload-do` (which runs from a bundle in bin/, hence the
// script is found by walking up from this file).
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments } from "yaml";

export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/** tools/kustomize/ensure-kustomize.sh, found upwards from this file (tools/kustomize/ from source, bin/ as a bundle). */
function ensureScript(): string {
    let dir = __dirname;
    for (let i = 0; i < 8; i++) {
        const candidate = path.join(dir, "tools", "kustomize", "ensure-kustomize.sh");
        if (existsSync(candidate)) return candidate;
        dir = path.dirname(dir);
    }
    return path.join(__dirname, "ensure-kustomize.sh");
}

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
