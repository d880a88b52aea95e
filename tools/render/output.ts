/**
 * The render's output directory, handled so that a render never deletes what it did not write.
 *
 * A render is written into a fresh temporary directory next to the target and swapped in
 * only when it is complete. The target is replaced only when it is missing, empty, or a
 * previous render's output: a directory holding this tool's marker file and nothing besides
 * the files that marker lists. Anything else is refused with an `OutputDirError` before the
 * program runs: a non-empty directory render did not write (a checkout, a home folder), a
 * file or symbolic link, `/`, the home folder, the project root, the current directory, or
 * any directory that contains one of those.
 */
import {
    existsSync,
    lstatSync,
    mkdirSync,
    mkdtempSync,
    readdirSync,
    readFileSync,
    realpathSync,
    renameSync,
    rmdirSync,
    rmSync,
    writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, parse as parsePath, relative, resolve, sep } from "node:path";

/** The marker file render writes into every output directory it creates. */
export const MARKER = ".do-gitops-platform-render.json";
const MARKER_TOOL = "do-gitops-platform render";

/** The output directory cannot be used; nothing was written or deleted. */
export class OutputDirError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "OutputDirError";
    }
}

/** `path` with every existing leading part resolved through symbolic links. */
function canonical(path: string): string {
    const abs = resolve(path);
    const rest: string[] = [];
    let cur = abs;
    for (;;) {
        try {
            return join(realpathSync(cur), ...rest.reverse());
        } catch {
            const parent = dirname(cur);
            if (parent === cur) return abs;
            rest.push(basename(cur));
            cur = parent;
        }
    }
}

/** Whether `dir` is `path` or one of its ancestors. */
function containsOrIs(dir: string, path: string): boolean {
    const rel = relative(dir, path);
    return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !parsePath(rel).root);
}

/** The nearest directory at or above `start` holding `.git` (the repository root), if any. */
function repositoryRoot(start: string): string | undefined {
    let cur = canonical(start);
    for (;;) {
        if (existsSync(join(cur, ".git"))) return cur;
        const parent = dirname(cur);
        if (parent === cur) return undefined;
        cur = parent;
    }
}

interface Marker {
    tool: string;
    stack: string;
    files: string[];
}

function readMarker(dir: string): Marker | undefined {
    try {
        const m = JSON.parse(readFileSync(join(dir, MARKER), "utf8")) as Partial<Marker>;
        if (m.tool === MARKER_TOOL && Array.isArray(m.files) && m.files.every((f) => typeof f === "string")) {
            return m as Marker;
        }
    } catch {
        // No marker or not ours: treated as a directory render did not write.
    }
    return undefined;
}

/** Every file and directory under `dir`, relative, with `/` separators (symbolic links not followed). */
function listTree(dir: string, prefix = ""): { files: string[]; dirs: string[] } {
    const files: string[] = [];
    const dirs: string[] = [];
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
            dirs.push(rel);
            const sub = listTree(join(dir, entry.name), rel);
            files.push(...sub.files);
            dirs.push(...sub.dirs);
        } else {
            files.push(rel);
        }
    }
    return { files, dirs };
}

export interface OutputCheck {
    /** Absolute output path (symbolic links in its parents resolved). */
    readonly out: string;
    /** What is there now: nothing, an empty directory, or a previous render. */
    readonly existing: "none" | "empty" | "render";
}

/**
 * Checks that `out` may receive a render (see the file comment). `root` is the project root;
 * `cwd` the caller's working directory. Throws an `OutputDirError` naming the reason.
 */
export function checkOutputDir(outPath: string, options: { root: string; cwd?: string }): OutputCheck {
    // The parent's links are resolved; a link as the output itself is refused below.
    const abs = resolve(outPath);
    const out = abs === parsePath(abs).root ? abs : join(canonical(dirname(abs)), basename(abs));
    const refuse = (why: string) =>
        new OutputDirError(
            `render: refusing to write to ${out}: ${why}. Choose a new or empty directory, e.g. --out render/<stack>.`,
        );
    const home = homedir();
    const protectedDirs: [string, string][] = [
        [parsePath(out).root, "the file system root"],
        [canonical(options.root), "the project root"],
        [canonical(options.cwd ?? process.cwd()), "the current directory"],
    ];
    const repo = repositoryRoot(options.root);
    if (repo) protectedDirs.push([repo, "the repository root"]);
    if (home) protectedDirs.push([canonical(home), "the home folder"]);
    const same = protectedDirs.find(([dir]) => dir === out);
    if (same) throw refuse(`it is ${same[1]}`);
    for (const [dir, what] of protectedDirs) {
        if (containsOrIs(out, dir)) throw refuse(`it contains ${what} (${dir})`);
    }

    let stat: ReturnType<typeof lstatSync>;
    try {
        stat = lstatSync(out);
    } catch {
        return { out, existing: "none" };
    }
    if (stat.isSymbolicLink()) throw refuse("it is a symbolic link");
    if (!stat.isDirectory()) throw refuse("it is a file, not a directory");
    const entries = readdirSync(out);
    if (entries.length === 0) return { out, existing: "empty" };
    const marker = readMarker(out);
    if (!marker) {
        throw refuse(`it is a non-empty directory that render did not create (no ${MARKER} marker)`);
    }
    const known = new Set([MARKER, ...marker.files]);
    const { files } = listTree(out);
    const foreign = files.filter((f) => !known.has(f));
    if (foreign.length > 0) {
        const shown = foreign.slice(0, 5).join(", ") + (foreign.length > 5 ? `, and ${foreign.length - 5} more` : "");
        throw refuse(`it holds files a previous render did not write (${shown})`);
    }
    return { out, existing: "render" };
}

/**
 * Writes a complete render to `outPath`: `produce` gets a `write(relativePath, text)` function
 * and writes every file into a fresh temporary directory beside the target; the marker is added
 * and the directory swapped in only once `produce` has finished. On any error the temporary
 * directory is removed and the target is left as it was. Returns the files written.
 */
export async function writeOutputDir(
    outPath: string,
    options: { root: string; cwd?: string; stack: string },
    produce: (write: (rel: string, text: string) => void) => Promise<void> | void,
): Promise<string[]> {
    const { out } = checkOutputDir(outPath, options);
    const parent = dirname(out);
    mkdirSync(parent, { recursive: true });
    const tmp = mkdtempSync(join(parent, `.${basename(out)}.render-`));
    const files: string[] = [];
    try {
        const write = (rel: string, text: string) => {
            const path = resolve(tmp, rel);
            if (!containsOrIs(tmp, path) || path === tmp)
                throw new Error(`render: output path ${rel} leaves the output directory`);
            mkdirSync(dirname(path), { recursive: true });
            writeFileSync(path, text);
            files.push(rel.split(sep).join("/"));
        };
        await produce(write);
        const marker: Marker = { tool: MARKER_TOOL, stack: options.stack, files: [...files].sort() };
        writeFileSync(join(tmp, MARKER), `${JSON.stringify(marker, null, 2)}\n`);

        // Check again right before the swap: the target may have changed while the program ran.
        const { existing } = checkOutputDir(out, options);
        if (existing === "none") {
            renameSync(tmp, out);
        } else if (existing === "empty") {
            rmdirSync(out); // fails, deleting nothing, if something appeared in it meanwhile
            renameSync(tmp, out);
        } else {
            const old = `${tmp}.old`;
            renameSync(out, old);
            try {
                renameSync(tmp, out);
            } catch (e) {
                renameSync(old, out);
                throw e;
            }
            rmSync(old, { recursive: true, force: true });
        }
    } catch (e) {
        rmSync(tmp, { recursive: true, force: true });
        throw e;
    }
    return files;
}
