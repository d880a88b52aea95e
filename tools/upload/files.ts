// Walks the source folder and decides which files are synced.
//
// Rules (gitignore syntax, evaluated in this order; later rules win):
//   1. built-in defaults (DEFAULT_IGNORE below): everything is ignored except
//      *.yaml, *.yml, *.json and `Kustomization` files; dotfiles and dot
//      folders are ignored, except `.sourceignore` at the root;
//   2. the lines of `<source>/.sourceignore` (or --ignore-file), so a project
//      can ignore more (`drafts/`) or re-include something (`!*.txt`).
// `.sourceignore` itself is uploaded, so Flux applies the same rules to what
// it downloads from the bucket.
import { type Dirent, readdirSync, statSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import ignore from "ignore";

type Ignore = ignore.Ignore;

export const SOURCEIGNORE = ".sourceignore";

export const DEFAULT_IGNORE: readonly string[] = [
    "*",
    "!*/",
    "!*.yaml",
    "!*.yml",
    "!*.json",
    "!Kustomization",
    ".*",
    `!/${SOURCEIGNORE}`,
];

/** Refuse to walk absurdly large trees (a wrong --source such as /). */
export const MAX_FILES = 100_000;

/** A file to sync, as the scan finds it (no stat: its size is measured when it is hashed). */
export interface SourcePath {
    /** path relative to the source root, with forward slashes */
    rel: string;
    abs: string;
}

/** A file to sync with the size of the bytes that were hashed (digestAll in sync.ts). */
export interface LocalFile extends SourcePath {
    size: number;
}

/** A path that would be synced but cannot be: listed and counted, never dropped silently. */
export interface Skipped {
    rel: string;
    reason: string;
}

export interface ScanResult {
    files: SourcePath[];
    ignored: number;
    /** not ignored, but impossible to upload (see scanSource) */
    skipped: Skipped[];
    warnings: string[];
    /** the matcher, so remote keys can be tested against the same rules */
    matcher: Ignore;
    ignoreFile?: string;
}

export class SourceError extends Error {}

export async function loadMatcher(root: string, ignoreFile?: string): Promise<{ matcher: Ignore; used?: string }> {
    const matcher = ignore().add([...DEFAULT_IGNORE]);
    const file = ignoreFile ?? path.join(root, SOURCEIGNORE);
    try {
        matcher.add(await readFile(file, "utf8"));
        return { matcher, used: file };
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT" && ignoreFile === undefined) return { matcher };
        throw new SourceError(`cannot read ignore file ${file}: ${(err as Error).message}`);
    }
}

/** Orders a scan's lists by path (UTF-16 code units); the paths of one list are distinct (so `<=` would do as `<`). */
const byRel = (a: { rel: string }, b: { rel: string }): number => (a.rel < b.rel ? -1 : 1);

export async function scanSource(root: string, ignoreFile?: string): Promise<ScanResult> {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
        st = await stat(root);
    } catch {
        throw new SourceError(`source folder ${root} does not exist`);
    }
    if (!st.isDirectory()) throw new SourceError(`source ${root} is not a folder`);

    const { matcher, used } = await loadMatcher(root, ignoreFile);
    const files: SourcePath[] = [];
    const skipped: Skipped[] = [];
    const warnings: string[] = [];
    let ignored = 0;
    const pending: string[] = [""]; // relative directory paths still to read
    while (pending.length > 0) {
        const dir = pending.pop()!;
        // synchronous: far cheaper than fs/promises for thousands of small entries
        let entries: Dirent[];
        try {
            entries = readdirSync(path.join(root, dir), { withFileTypes: true });
        } catch (err) {
            if (dir === "") throw new SourceError(`cannot read source folder ${root}: ${(err as Error).message}`);
            skipped.push({ rel: `${dir}/`, reason: `folder cannot be read (${(err as NodeJS.ErrnoException).code})` });
            continue;
        }
        for (const entry of entries) {
            const rel = dir === "" ? entry.name : `${dir}/${entry.name}`;
            const abs = path.join(root, rel);
            let isDir = entry.isDirectory();
            let isFile = entry.isFile();
            if (entry.isSymbolicLink()) {
                let target: ReturnType<typeof statSync> | undefined;
                let why: string | undefined;
                try {
                    target = statSync(abs);
                } catch (err) {
                    const code = (err as NodeJS.ErrnoException).code;
                    why =
                        code === "ELOOP"
                            ? "symbolic link loop"
                            : code === "ENOENT"
                              ? "dangling symbolic link (its target does not exist)"
                              : `symbolic link cannot be followed (${code})`;
                }
                if (target?.isDirectory()) {
                    if (matcher.ignores(`${rel}/`)) ignored++;
                    else skipped.push({ rel: `${rel}/`, reason: "symbolic link to a folder (not followed)" });
                    continue;
                }
                if (!target?.isFile()) {
                    if (matcher.ignores(rel)) ignored++;
                    else skipped.push({ rel, reason: why ?? "symbolic link to something that is not a file" });
                    continue;
                }
                isFile = true;
                isDir = false;
            }
            if (isDir) {
                if (matcher.ignores(`${rel}/`)) ignored++;
                else pending.push(rel);
            } else if (matcher.ignores(rel)) {
                ignored++;
            } else if (!isFile) {
                skipped.push({ rel, reason: "not a regular file (socket, FIFO or device)" });
                // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
            } else if (/[\\\u0000-\u001f\u007f\ufffd]/.test(rel)) {
                skipped.push({
                    rel: JSON.stringify(rel),
                    reason: "control characters, backslashes or bytes that are not UTF-8 do not make portable object keys",
                });
            } else {
                files.push({ rel, abs });
                if (files.length > MAX_FILES) {
                    throw new SourceError(
                        `source ${root} has more than ${MAX_FILES} files to sync; is --source right?`,
                    );
                }
            }
        }
    }
    files.sort(byRel);
    skipped.sort(byRel);
    return { files, ignored, skipped, warnings, matcher, ignoreFile: used };
}
