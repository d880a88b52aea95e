// Preloaded (`--import`) into the test processes that several files share (tools/test/run.mts):
// refuses a Pulumi run that a test file starts while it loads. In a shared process
// (`--test-isolation=none`) every file is imported before the first test runs, so a run started
// at load (`const run = runStack(…)` or an async IIFE at the top of a file, or inside a
// describe() body) would go on while the other files load and their tests replace the mocks
// under it. Such a file must start its run in a test or a before() hook, or run in its own
// process (leave it out of tools/test/groups.mts).
// (lazy-sdk-deps.mts is preloaded by lean-hooks.mts, before this)
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
// @pulumi/pulumi (with the TypeScript compiler and npm's arborist it loads) is loaded once tsx's
// WebAssembly es-module-lexer is ready. tsx, preloaded before this, checks every .js file a
// require() loads for ES module syntax with that lexer, which it compiles asynchronously as it
// starts, using the lexer's asm.js build until then: loading the SDK took about 1.7 s of CPU that
// way, 0.95 s with the WebAssembly one. The wait is for the lexer module's own `init` promise
// (tsx's dist/lexer-*.cjs, the module tsx itself loads); without such a file, one timer.
await tsxLexerReady();
const runtime = require("@pulumi/pulumi/runtime") as { setMocks: (...args: unknown[]) => Promise<void> };

/** A stack with a module being evaluated in it: CommonJS (`Module._compile`) or ES module (`ModuleJob.run`). */
const AT_LOAD = /\bModule\._compile\b|\bModuleJob\.run(Sync)?\b|\bModuleWrap\.evaluate\b/;

const setMocks = runtime.setMocks;
runtime.setMocks = function guardedSetMocks(this: unknown, ...args: unknown[]) {
    const limit = Error.stackTraceLimit;
    // Node's frames and the test file's path are all it looks for: no source maps needed.
    const sourceMaps = process.sourceMapsEnabled;
    if (sourceMaps) process.setSourceMapsEnabled(false);
    Error.stackTraceLimit = 200;
    const stack = new Error().stack ?? "";
    Error.stackTraceLimit = limit;
    if (sourceMaps) process.setSourceMapsEnabled(true);
    if (AT_LOAD.test(stack)) {
        const file = /[/\\](test[/\\][^/\\:]+\.test\.m?ts)/.exec(stack)?.[1] ?? "a test file";
        throw new Error(
            `${file} starts a Pulumi run while it loads; in a process shared with other test files that ` +
                "run would overlap theirs. Start it in a test or a before() hook, or leave the file out of " +
                "tools/test/groups.mts.",
        );
    }
    return setMocks.apply(this, args);
};

/** Resolves once tsx's WebAssembly lexer (dist/lexer-*.cjs) has compiled, or after a timer when it is not found. */
async function tsxLexerReady(): Promise<void> {
    try {
        const dist = path.join(path.dirname(require.resolve("tsx/package.json")), "dist");
        const lexers = readdirSync(dist).filter((f) => /^lexer-[\w-]+\.cjs$/.test(f));
        await Promise.all(lexers.map((f) => (require(path.join(dist, f)) as { init?: Promise<void> }).init));
    } catch {
        // another tsx layout: the timer below is all the wait
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
}
