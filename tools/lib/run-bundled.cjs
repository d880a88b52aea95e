#!/usr/bin/env node
// usage: node tools/lib/run-bundled.cjs tools/<tool>/main.ts [args…]
//
// Runs a TypeScript entry point of this repository from a bundle made with esbuild, instead of
// `node --import tsx`: a make target then starts as one plain Node.js process that compiles no
// TypeScript and loads no loader hooks (make bootstrap: about 0.07 s of CPU instead of 0.38 s;
// test/bootstrap.test.ts runs make 21 times). The entry is a path relative to the repository
// root (this file's folder, symlinks resolved), not to the working directory.
//
// The bundle is bin/<entry path with '/' as '-'>.cjs (bin/ is git-ignored), with the entry and
// every file esbuild read for it (its metafile inputs, with this file, tsconfig.json, package.json
// and the lockfile), each with its size and modification time, in <same>.inputs.json. It is
// rebuilt, before it runs, when it is missing, was built for another entry, or any of those files
// is gone or differs in size or time from what the build saw (an edit, also one restored with an
// older time by `cp -p` or `tar`). A file modified from a second before the build started is
// recorded as never seen, so a save during the build rebuilds next time. Concurrent runs each
// write under a temporary name and rename, so none ever loads half a file. Where bin/ cannot be
// written (a read-only checkout, a full disk) the tool runs from source through tsx, with a
// warning; a compile error is reported with its place, exit code 2. Modules load through Node's
// compile cache (NODE_COMPILE_CACHE, else Node's default folder). The tool sees its own
// arguments in process.argv.slice(2), as when it runs from source.
//
// Used where a tool is started often and is plain TypeScript over Node.js and npm modules: the
// bootstrap and validate tools (validate's schemas and model modules are read at run time, found
// from bin/ as from source: tools/lib/find-up.ts, Node's module resolution). The upload tool has its own bundle (tools/upload/build.cjs: a worker file, a
// code cache of its own and V8 flags). Tools that load the Pulumi program (render) keep tsx.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..", "..");
const BIN = path.join(ROOT, "bin");
/** Besides what esbuild reads: what else changes a bundle. */
const ALWAYS = [
    __filename,
    path.join(ROOT, "tsconfig.json"),
    path.join(ROOT, "package.json"),
    path.join(ROOT, "package-lock.json"),
];

/** The bundle and input list of an entry (a path relative to the repository root). */
function paths(entry) {
    const rel = path.relative(ROOT, path.resolve(ROOT, entry));
    if (rel.startsWith("..") || path.isAbsolute(rel) || !/\.[cm]?ts$/.test(rel))
        throw new Error(`run-bundled: ${entry} is not a TypeScript file of this repository`);
    const base = rel
        .replace(/\.[cm]?ts$/, "")
        .split(path.sep)
        .join("-");
    return {
        source: path.join(ROOT, rel),
        bundle: path.join(BIN, `${base}.cjs`),
        inputs: path.join(BIN, `${base}.inputs.json`),
    };
}

/** Size and modification time of a file, as the input list records them; undefined when it is gone. */
function stamp(file) {
    try {
        const st = fs.statSync(file);
        return { size: st.size, mtimeMs: st.mtimeMs };
    } catch {
        return undefined;
    }
}

/** True when the bundle exists, was built for this entry, and every file it was made from is as the build saw it. */
function isFresh(p) {
    if (stamp(p.bundle) === undefined) return false;
    let list;
    try {
        list = JSON.parse(fs.readFileSync(p.inputs, "utf8"));
    } catch {
        return false;
    }
    if (list?.entry !== path.relative(ROOT, p.source) || !Array.isArray(list.inputs) || list.inputs.length === 0)
        return false;
    for (const input of list.inputs) {
        const now = stamp(path.join(ROOT, input.path));
        if (input.absent === true ? now !== undefined : now?.size !== input.size || now.mtimeMs !== input.mtimeMs)
            return false;
    }
    return true;
}

function writeAtomic(file, data) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
}

/** Bundles the entry with esbuild (the lockfile's version); throws esbuild's error. */
function build(p) {
    const esbuild = require("esbuild");
    const started = Date.now();
    const result = esbuild.buildSync({
        absWorkingDir: ROOT,
        entryPoints: [p.source],
        bundle: true,
        platform: "node",
        format: "cjs",
        target: `node${process.versions.node.split(".")[0]}`,
        write: false,
        metafile: true,
        logLevel: "silent",
        outfile: p.bundle,
    });
    const files = [...new Set([...Object.keys(result.metafile.inputs), ...ALWAYS.map((f) => path.relative(ROOT, f))])];
    const inputs = files.sort().map((file) => {
        const seen = stamp(path.join(ROOT, file));
        // a file the build does without (the repository has no package.json): its arrival rebuilds
        if (seen === undefined) return { path: file, absent: true };
        // modified from a second before the build began (file times are coarse): maybe not what
        // esbuild read, so recorded as never seen, and the next run builds again
        return { path: file, ...(seen.mtimeMs >= started - 1000 ? { size: -1, mtimeMs: -1 } : seen) };
    });
    fs.mkdirSync(BIN, { recursive: true });
    writeAtomic(p.inputs, `${JSON.stringify({ entry: path.relative(ROOT, p.source), inputs }, null, 1)}\n`);
    writeAtomic(p.bundle, result.outputFiles[0].contents);
}

/** Errors of writing bin/ (not of compiling): the tool then runs from source through tsx. */
const WRITE_ERRORS = new Set(["EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT", "ENOTDIR", "EEXIST"]);

function main() {
    const [entry, ...args] = process.argv.slice(2);
    if (entry === undefined) {
        process.stderr.write("usage: node tools/lib/run-bundled.cjs tools/<tool>/main.ts [args…]\n");
        process.exitCode = 2;
        return;
    }
    let p;
    try {
        p = paths(entry);
        if (!isFresh(p)) build(p);
    } catch (err) {
        if (p !== undefined && WRITE_ERRORS.has(err.code)) {
            // a read-only checkout or a full disk: the tool still runs, from source
            process.stderr.write(
                `warning: run-bundled: cannot write ${path.relative(ROOT, p.bundle)} (${err.code}); running ${entry} from source with tsx (slower start)\n`,
            );
            require("tsx/cjs");
            process.argv = [process.argv[0], p.source, ...args];
            require(p.source);
            return;
        }
        const detail = err.errors?.length
            ? err.errors
                  .map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text))
                  .join("\n")
            : err.message;
        process.stderr.write(`run-bundled: could not build ${entry}:\n${detail}\n`);
        process.exitCode = 2;
        return;
    }
    require("node:module").enableCompileCache?.();
    process.argv = [process.argv[0], p.bundle, ...args];
    require(p.bundle);
}

if (require.main === module) main();

module.exports = { paths, isFresh, build };
