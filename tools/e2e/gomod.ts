/**
 * The wrapper module `make e2e` builds a Go program with.
 *
 * `go install module/cmd@version` refuses a module whose go.mod has `replace` directives, and the
 * programs the e2e needs all have some (Kubernetes replaces every `k8s.io/*` staging module with a
 * folder of its own repository, the Flux controllers their `api` module, Pulumi its `sdk`). The
 * `go` command ignores the replaces of a dependency, so a small module that requires the program's
 * module, and repeats its replaces with published modules in place of the folders, builds the same
 * program with `go build`. This file turns the program's own go.mod into that wrapper go.mod.
 */

/** One `replace` directive: `old [oldVersion] => new [newVersion]`. */
export interface GoReplace {
    readonly old: string;
    readonly oldVersion?: string;
    readonly new: string;
    readonly newVersion?: string;
}

export interface GoModFile {
    readonly module: string;
    /** The `go` line, e.g. `1.26.0`. */
    readonly go?: string;
    /** module path → required version */
    readonly require: ReadonlyMap<string, string>;
    readonly replace: readonly GoReplace[];
}

function stripComment(line: string): string {
    const i = line.indexOf("//");
    return (i === -1 ? line : line.slice(0, i)).trim();
}

function unquote(s: string): string {
    return s.startsWith('"') && s.endsWith('"') ? JSON.parse(s) : s;
}

function parseReplace(spec: string): GoReplace {
    const [left, right] = spec.split("=>").map((s) => s.trim().split(/\s+/).map(unquote));
    if (!left?.[0] || !right?.[0] || left.length > 2 || right.length > 2)
        throw new Error(`go.mod: cannot read replace directive "${spec}"`);
    return { old: left[0], oldVersion: left[1], new: right[0], newVersion: right[1] };
}

/** Reads the directives of a go.mod that the wrapper needs (module, go, require, replace). */
export function parseGoMod(text: string): GoModFile {
    let module = "";
    let go: string | undefined;
    const require = new Map<string, string>();
    const replace: GoReplace[] = [];
    let block: string | undefined;
    for (const raw of text.split("\n")) {
        const line = stripComment(raw);
        if (line === "") continue;
        if (block) {
            if (line === ")") {
                block = undefined;
                continue;
            }
            handle(block, line);
            continue;
        }
        const m = /^(\w+)\s*(.*)$/.exec(line);
        if (!m) continue;
        const [, verb, rest] = m;
        if (rest === "(") block = verb;
        else handle(verb, rest);
    }
    function handle(verb: string, rest: string) {
        if (verb === "module") module = unquote(rest);
        else if (verb === "go") go = rest;
        else if (verb === "require") {
            const [path, version] = rest.split(/\s+/).map(unquote);
            if (path && version) require.set(path, version);
        } else if (verb === "replace") replace.push(parseReplace(rest));
    }
    if (!module) throw new Error("go.mod: no module directive");
    return { module, go, require, replace };
}

export interface WrapperOptions {
    /** The wrapper's own module path (never published). */
    readonly name: string;
    /** The module that holds the program, and its version. */
    readonly module: string;
    readonly version: string;
    /** That module's go.mod, as the Go module proxy serves it. */
    readonly upstream: string;
    /**
     * The published version to use for a module the upstream go.mod replaces with one of its own
     * folders (`k8s.io/api => ./staging/src/k8s.io/api`). Default: the version the upstream requires,
     * or, where that is a placeholder (`v0.0.0`, `v0.0.0-00010101000000-000000000000`), the program's version.
     */
    readonly folderVersion?: (path: string, required: string | undefined) => string;
    /**
     * Dependencies to take at another version than the program's go.mod asks for (module path →
     * version), for a version the Go module proxy does not serve. Each one is a deviation from the
     * upstream build; the recipe says why.
     */
    readonly override?: Readonly<Record<string, string>>;
}

const PLACEHOLDER = /^v0\.0\.0(-00010101000000-000000000000)?$/;

function isFolder(target: string): boolean {
    return target.startsWith("./") || target.startsWith("../") || target.startsWith("/");
}

/** The wrapper go.mod: require the program's module; repeat its replaces, folders → published modules. */
export function wrapperGoMod(opts: WrapperOptions): string {
    const up = parseGoMod(opts.upstream);
    if (up.module !== opts.module) throw new Error(`go.mod of ${opts.module} names module ${up.module}`);
    const lines: string[] = [];
    for (const r of up.replace) {
        const left = r.oldVersion ? `${r.old} ${r.oldVersion}` : r.old;
        if (isFolder(r.new)) {
            const required = up.require.get(r.old);
            // A folder replace for a module the program does not require only guards against an
            // accidental dependency (etcd's `go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY`): nothing to repeat.
            if (required === undefined) continue;
            const version =
                opts.folderVersion?.(r.old, required) ?? (PLACEHOLDER.test(required) ? opts.version : required);
            lines.push(`\t${left} => ${r.old} ${version}`);
        } else {
            lines.push(`\t${left} => ${r.new}${r.newVersion ? ` ${r.newVersion}` : ""}`);
        }
    }
    for (const [mod, version] of Object.entries(opts.override ?? {})) {
        if (up.replace.some((r) => r.old === mod)) throw new Error(`${mod} is already replaced by ${opts.module}`);
        lines.push(`\t${mod} => ${mod} ${version}`);
    }
    const out = [
        "// Generated by tools/e2e (make e2e): builds a program of the module required below.",
        `module ${opts.name}`,
        "",
        `go ${up.go ?? "1.26"}`,
        "",
        `require ${opts.module} ${opts.version}`,
    ];
    if (lines.length > 0) out.push("", "replace (", ...lines, ")");
    return `${out.join("\n")}\n`;
}
