// Imported by lean-hooks.mts (every test process) before anything loads @pulumi/pulumi: the SDK's
// closure serializer (runtime/closure/, for dynamic providers and serialized functions, which a
// program under mocks never calls) requires the TypeScript compiler (parseFunction.js, through
// typescript-shim.js) and npm's arborist (codePaths.js) as it loads. Loading them was about 0.9 s
// of the 1.2 s of CPU the SDK took to load (0.33 s TypeScript, 0.6 s arborist with pacote,
// sigstore, cacache…). Here those two require() calls, and only those (the request and the
// requiring file are both checked), get a stand-in that loads the real module on first use:
// property reads, `in`, key listing. Every other require() of either module gets the real one as
// before, and nothing in node_modules is changed.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const Module = require("node:module") as {
    _load: (request: string, parent: { filename?: string } | undefined, isMain: boolean) => unknown;
};

const closureDir = path.join(path.dirname(require.resolve("@pulumi/pulumi")), "runtime", "closure") + path.sep;
/** Request → the files of the closure serializer that make it at load. */
const DEFERRED: Readonly<Record<string, readonly string[]>> = {
    "@npmcli/arborist": ["codePaths.js"],
    "../../typescript-shim": ["parseFunction.js"],
};

/** A module object that loads the real one on first use; `__esModule` so that `__importStar` keeps it as it is. */
function deferred(load: () => object): object {
    let real: object | undefined;
    const get = () => {
        real ??= load();
        return real;
    };
    return new Proxy(
        {},
        {
            get: (_, key) => (key === "__esModule" ? true : key === "default" ? get() : Reflect.get(get(), key)),
            has: (_, key) => Reflect.has(get(), key),
            ownKeys: () => Reflect.ownKeys(get()),
            getOwnPropertyDescriptor: (_, key) => {
                const d = Reflect.getOwnPropertyDescriptor(get(), key);
                return d && { ...d, configurable: true };
            },
        },
    );
}

const load = Module._load;
Module._load = function deferringLoad(this: unknown, request, parent, isMain) {
    const file = parent?.filename;
    if (
        file?.startsWith(closureDir) &&
        Object.hasOwn(DEFERRED, request) &&
        DEFERRED[request]?.includes(path.basename(file))
    ) {
        return deferred(() => load.call(this, request, parent, isMain) as object);
    }
    return load.call(this, request, parent, isMain);
};
