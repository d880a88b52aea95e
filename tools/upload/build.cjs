// `npm run build:upload`: bundles tools/upload/ into one precompiled file,
// bin/upload.cjs, so `make upload-do` starts as a single `node` process with no
// TypeScript compilation at run time (see run.cjs and docs/upload.md).
//
// Also writes bin/upload-<hash>.cache, a V8 code cache of the bundle, which
// saves most of the compile on every start. Its name carries a hash of the
// bundle, which names it in its first line, so a cache can never be paired
// with another build. Files are written to a temporary name and renamed, so
// concurrent runs never see half a file. Uses esbuild's JS API (esbuild
// 0.28.2, the version in the lockfile).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const SRC_DIR = __dirname;
const ROOT = path.resolve(SRC_DIR, "..", "..");
const BIN = path.join(ROOT, "bin");
const BUNDLE = path.join(BIN, "upload.cjs");
/** Runs as a worker thread beside the bundle (digestAll in sync.ts): copied as it is. */
const WORKER = "digest-worker.cjs";
const HEADER = /^\/\/ code cache: (upload-[0-9a-f]{16}\.cache)\n/;
/** Besides tools/upload/*: what else changes the bundle's content. */
const EXTRA_INPUTS = [
    "package-lock.json",
    "node_modules/.package-lock.json",
    "tsconfig.json",
    "tools/lib/backend.ts", // imported by stack.ts
    "tools/sops/guard.ts", // imported by cli.ts (the plaintext-Secret guard)
    "tools/kustomize/build.ts", // imported by guard.ts
    "tools/lib/find-up.ts", // imported by build.ts
    "tools/lib/cache.ts", // imported by build.ts
].map((f) => path.join(ROOT, f));

function mtime(file) {
    try {
        return fs.statSync(file).mtimeMs;
    } catch {
        return undefined;
    }
}

/** True when bin/upload.cjs exists and is newer than every input (as make would decide). */
function isFresh() {
    const built = mtime(BUNDLE);
    if (built === undefined || mtime(path.join(BIN, WORKER)) === undefined) return false;
    for (const name of fs.readdirSync(SRC_DIR)) {
        const t = mtime(path.join(SRC_DIR, name));
        if (t !== undefined && t > built) return false;
    }
    for (const file of EXTRA_INPUTS) {
        const t = mtime(file);
        if (t !== undefined && t > built) return false;
    }
    return true;
}

/**
 * V8 settings for the tool's process (run.cjs applies them before loading the
 * bundle, build() before making its code cache). `--max-opt=1` stops tier-up
 * at the baseline compiler (Sparkplug): a sync lives about a second, too short
 * for the optimising compiler's background work to pay off (measured: about
 * 0.3 s less CPU per 1,000 uploads, at the same wall time on an idle machine).
 */
const V8_FLAGS = "--max-opt=1";

function applyV8Flags() {
    require("node:v8").setFlagsFromString(V8_FLAGS);
}

function writeAtomic(file, data) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
}

function build() {
    const esbuild = require("esbuild");
    const result = esbuild.buildSync({
        entryPoints: [path.join(SRC_DIR, "entry.ts")],
        outfile: BUNDLE,
        bundle: true,
        platform: "node",
        target: "node20",
        format: "cjs",
        // the SDK's ES module builds (dist-es) rather than dist-cjs: esbuild can
        // then leave out the ~100 S3 commands and helpers the tool never uses
        // (1.16 MB instead of 1.54 MB; about 20 ms less start-up)
        mainFields: ["module", "main"],
        conditions: ["module"],
        // those builds load node:http and a few others with import(); as require()
        // they need no ES module loader (the bundle is run through vm.Script)
        supported: { "dynamic-import": false },
        write: false,
        logLevel: "warning",
        legalComments: "none",
        absWorkingDir: ROOT,
    });
    const body = result.outputFiles[0].text;
    const name = `upload-${require("node:crypto").createHash("sha256").update(body).digest("hex").slice(0, 16)}.cache`;
    const code = `// code cache: ${name}\n${body}`;
    fs.mkdirSync(BIN, { recursive: true });
    // caches of earlier builds; the same build (a concurrent run) keeps its own
    for (const old of fs.readdirSync(BIN)) {
        if (old !== name && /^upload-[0-9a-f]{16}\.cache$/.test(old)) fs.rmSync(path.join(BIN, old), { force: true });
    }
    writeAtomic(path.join(BIN, WORKER), fs.readFileSync(path.join(SRC_DIR, WORKER)));
    writeAtomic(BUNDLE, code);

    // The cache holds what was compiled when it is made: the module
    // initialisation of the whole bundle (the SDK's hundreds of modules), made
    // here by loading it; that exports main() and runs nothing else.
    applyV8Flags();
    const script = compile(code);
    load(script);
    writeAtomic(path.join(BIN, name), script.createCachedData());
}

/** The code cache file named in the bundle's first line. */
function cacheFile(code) {
    const m = HEADER.exec(code);
    return m ? path.join(BIN, m[1]) : undefined;
}

/** Compiles the bundle (with the code cache when one is given). */
function compile(code, cachedData) {
    const vm = require("node:vm");
    return new vm.Script(require("node:module").wrap(code), { filename: BUNDLE, cachedData });
}

/** Runs a compiled bundle as a CommonJS module and returns its exports. */
function load(script) {
    const Module = require("node:module");
    const mod = new Module(BUNDLE, module);
    mod.filename = BUNDLE;
    mod.paths = Module._nodeModulePaths(path.dirname(BUNDLE));
    script
        .runInThisContext()
        .call(mod.exports, mod.exports, Module.createRequire(BUNDLE), mod, BUNDLE, path.dirname(BUNDLE));
    return mod.exports;
}

module.exports = { BUNDLE, V8_FLAGS, applyV8Flags, isFresh, build, cacheFile, compile, load, writeAtomic };

if (require.main === module) {
    try {
        build();
    } catch (err) {
        process.stderr.write(`build:upload failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
    }
}
