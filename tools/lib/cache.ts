import os from "node:os";
import path from "node:path";

/**
 * The project's cache folder, outside the repository: $DO_GITOPS_CACHE, else
 * $XDG_CACHE_HOME/do-gitops-platform, else ~/.cache/do-gitops-platform (the folder
 * tools/node/ensure-node.sh and tools/lib/ensure-go-binary.sh use). Nothing in it is needed:
 * a clean clone (CI) starts without it and fills it.
 */
export function cacheFolder(env: NodeJS.ProcessEnv = process.env): string {
    return (
        env.DO_GITOPS_CACHE ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "do-gitops-platform")
    );
}
