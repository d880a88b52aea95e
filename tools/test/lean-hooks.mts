// Preloaded (`--import`, with `--expose-internals`) into every test process tools/test/run.mts
// starts: Node's test runner stops following promises through its async hook.
//
// The runner's harness (lib/internal/test_runner/harness.js) enables an async hook with `init`
// and `destroy` callbacks, to know which test every async resource belongs to. Such a hook
// makes Node track every promise: an `init` call and a destroy registration (a weak callback)
// per promise. The Pulumi runtime and the upload tool make millions of promises, and that
// tracking took about a quarter of the CPU of the shared test processes (node --cpu-prof:
// registerDestroyHook, the harness's init and destroy, trackPromise). Node 24 lets a hook
// leave promises out (`createHook({ trackPromises: false })`, see node:async_hooks); the
// harness enables its hook before any preload runs, so this preload disables it, marks it so,
// and enables it again.
//
// What it costs: the hook still follows timers, sockets, child processes, immediates and the
// tests themselves, so `describe` bodies, hooks and `t.test` subtests attach where they did;
// only an error thrown after an `await` in a test, with nothing awaiting it, is no longer
// named with its test: the runner reports it as "a resource generated asynchronous activity
// after the test ended" and fails the run (exit 1), as it does for any error it cannot place.
// Without `--expose-internals` (another Node) or when Node's internals differ, nothing changes.
//
// It also defers the Pulumi SDK's TypeScript and arborist requires to their first use
// (lazy-sdk-deps.mts), for every test process that loads the SDK, not only the shared one.
import "./lazy-sdk-deps.mts";
import { createHook } from "node:async_hooks";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

type Hook = Record<symbol, unknown> & { enable(): Hook; disable(): Hook };

/** The symbol keys Node gives an AsyncHook (`init`, `kNoPromiseHook`), found by their descriptions. */
function keys(hook: Hook): { init?: symbol; noPromises?: symbol } {
    const symbols = Object.getOwnPropertySymbols(hook);
    return {
        init: symbols.find((s) => s.description === "init"),
        noPromises: symbols.find((s) => s.description === "kNoPromiseHook"),
    };
}

/** The test runner's own hook: its init fills the harness's testResources map. */
function isHarnessHook(hook: Hook): boolean {
    const { init, noPromises } = keys(hook);
    return init !== undefined && noPromises !== undefined && String(hook[init]).includes("testResources");
}

/** Hooks enabled before this preload ran (`node --test`: the harness starts first); needs --expose-internals. */
function leanEnabledHooks(): number {
    let hooks: unknown;
    try {
        hooks = (require("internal/async_hooks") as { getHookArrays?: () => [unknown] }).getHookArrays?.()[0];
    } catch {
        return 0;
    }
    if (!Array.isArray(hooks)) return 0;
    let changed = 0;
    for (const hook of [...hooks] as Hook[]) {
        const { noPromises } = keys(hook);
        if (!noPromises || !isHarnessHook(hook) || hook[noPromises] === true) continue;
        hook.disable();
        hook[noPromises] = true;
        hook.enable();
        changed++;
    }
    return changed;
}

/** A harness started later (a test file run as `node FILE`): its hook is marked as it is enabled. */
function leanLaterHooks(): void {
    const proto = Object.getPrototypeOf(createHook({})) as Hook;
    const enable = proto.enable;
    proto.enable = function leanEnable(this: Hook) {
        const { noPromises } = keys(this);
        if (noPromises && isHarnessHook(this)) this[noPromises] = true;
        return enable.call(this);
    };
}

leanLaterHooks();
export const leanHooks = leanEnabledHooks();
if (process.env.DO_GITOPS_DEBUG_HOOKS) process.stderr.write(`lean-hooks: ${leanHooks} hook(s) without promises\n`);
