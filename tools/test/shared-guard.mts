// Preloaded (`--import`) into the test processes that several files share (tools/test/run.mts):
// refuses a Pulumi run that a test file starts while it loads. In a shared process
// (`--test-isolation=none`) every file is imported before the first test runs, so a run started
// at load (`const run = runStack(…)` or an async IIFE at the top of a file, or inside a
// describe() body) would go on while the other files load and their tests replace the mocks
// under it. Such a file must start its run in a test or a before() hook, or run in its own
// process (leave it out of tools/test/groups.mts).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
// One turn of the event loop before loading @pulumi/pulumi (which loads the TypeScript compiler
// and npm's arborist with it): tsx, preloaded before this, checks every .js file a require()
// loads for ES module syntax with es-module-lexer, whose WebAssembly build it compiles
// asynchronously as it starts; until that is ready it uses the lexer's asm.js build, which in a
// fresh process is slow. Loading the SDK after one timer: about 1.7 -> 0.95 s of CPU.
await new Promise((resolve) => setTimeout(resolve, 0));
const runtime = require("@pulumi/pulumi/runtime") as { setMocks: (...args: unknown[]) => Promise<void> };

/** A stack with a module being evaluated in it: CommonJS (`Module._compile`) or ES module (`ModuleJob.run`). */
const AT_LOAD = /\bModule\._compile\b|\bModuleJob\.run(Sync)?\b|\bModuleWrap\.evaluate\b/;

const setMocks = runtime.setMocks;
runtime.setMocks = function guardedSetMocks(this: unknown, ...args: unknown[]) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 200;
    const stack = new Error().stack ?? "";
    Error.stackTraceLimit = limit;
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
