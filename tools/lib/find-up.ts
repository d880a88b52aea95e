import { existsSync } from "node:fs";
import path from "node:path";

/**
 * A file of this repository by its path from the root (`tools/kustomize/ensure-kustomize.sh`),
 * looked for upwards from `from`, a module's `__dirname`: its own folder when it runs from
 * source, `bin/` when it runs bundled (tools/lib/run-bundled.cjs, tools/upload/build.cjs). The
 * path as if `from` were its folder when none is found, so the error names the expected file.
 */
export function findUp(from: string, rel: string): string {
    let dir = from;
    for (let i = 0; i < 8; i++) {
        const candidate = path.join(dir, rel);
        if (existsSync(candidate)) return candidate;
        const parent = path.dirname(dir);
        if (parent === dir) break;
        dir = parent;
    }
    return path.join(from, path.basename(rel));
}
