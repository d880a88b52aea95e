#!/usr/bin/env node
// Entry point of `make upload-do` and `npm run upload`: runs the precompiled
// bundle bin/upload.cjs in this one Node process, with its V8 code cache, so no
// TypeScript is compiled at run time. When a source (tools/upload/*, the
// lockfile, tsconfig.json) is newer than the bundle it is rebuilt first
// (build.cjs, in a child process, once); if that is impossible the tool runs
// from source through tsx instead. See docs/upload.md.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const builder = require("./build.cjs");

function fromSource(why) {
    process.stderr.write(`warning: ${why}; running from source with tsx (slower start)\n`);
    require("tsx/cjs");
    require("./main.ts");
}

function start() {
    if (!builder.isFresh()) {
        const child = require("node:child_process").spawnSync(process.execPath, [path.join(__dirname, "build.cjs")], {
            stdio: ["ignore", "ignore", "inherit"],
            timeout: 120_000,
        });
        if (child.status !== 0 || !builder.isFresh())
            return fromSource("could not build bin/upload.cjs (npm run build:upload)");
    }
    let code;
    try {
        code = fs.readFileSync(builder.BUNDLE, "utf8");
    } catch (err) {
        return fromSource(`cannot read ${builder.BUNDLE} (${err.code ?? err.message})`);
    }
    builder.applyV8Flags();
    const cache = builder.cacheFile(code);
    let cachedData;
    try {
        if (cache) cachedData = fs.readFileSync(cache);
    } catch {
        // missing: made again below
    }
    const script = builder.compile(code, cachedData);
    if (cache && (cachedData === undefined || script.cachedDataRejected)) {
        // e.g. Node was upgraded since the build: cache what this run compiles
        process.once("exit", () => {
            try {
                builder.writeAtomic(cache, script.createCachedData());
            } catch {
                // only a slower start next time
            }
        });
    }
    builder.load(script).main(process.argv.slice(2));
}

start();
