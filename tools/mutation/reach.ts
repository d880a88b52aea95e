/**
 * Which test files can fail on a mutant in a file: those that load it, through their imports at
 * any depth (static `import … from`, `import(…)`, `require(…)` of project files). Stryker's own
 * coverage finds the same in its first run (it sees only code loaded in the test's process), but
 * only by running every test file; this reads the imports instead.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

/** Every test file of the suite (what `npm test` runs), relative to the repository. */
export function wholeSuite(root = ROOT): string[] {
    return readdirSync(path.join(root, "test"))
        .filter((f) => /\.test\.m?ts$/.test(f))
        .sort()
        .map((f) => `test/${f}`);
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm;

/** The project files `file` imports, resolved to existing TypeScript files (relative to `root`). */
export function importsOf(file: string, root = ROOT): string[] {
    let text: string;
    try {
        text = readFileSync(path.join(root, file), "utf8");
    } catch {
        return [];
    }
    const found: string[] = [];
    for (const m of text.matchAll(SPECIFIER)) {
        const base = path.join(path.dirname(file), m[1]!).replace(/\.(c|m)?js$/, "");
        const resolved = [base, `${base}.ts`, `${base}.mts`, `${base}.cts`, path.join(base, "index.ts")].find(
            (c) => /\.(c|m)?ts$/.test(c) && existsSync(path.join(root, c)),
        );
        if (resolved) found.push(resolved);
    }
    return found;
}

/** The test files of the suite that load one of `files` (paths relative to `root`). */
export function testsReaching(files: readonly string[], root = ROOT): string[] {
    const targets = new Set(files.map((f) => path.normalize(f)));
    const edges = new Map<string, string[]>();
    const importsCached = (f: string) => {
        let e = edges.get(f);
        if (!e) {
            e = importsOf(f, root).map((i) => path.normalize(i));
            edges.set(f, e);
        }
        return e;
    };
    return wholeSuite(root).filter((test) => {
        const seen = new Set<string>();
        const todo = [path.normalize(test)];
        while (todo.length > 0) {
            const f = todo.pop()!;
            if (targets.has(f)) return true;
            if (seen.has(f)) continue;
            seen.add(f);
            todo.push(...importsCached(f));
        }
        return false;
    });
}
