// Building folders of the GitOps tree with the pinned kustomize, for tests: the objects a folder
// builds to, parsed, and a build for validateDeploy's `build` option. Both build each distinct
// folder content once (tools/kustomize/build.ts buildKey): the tests validate copies of deploy/
// that differ in one or two files many times over, and a `kustomize build` of an apps layer
// costs about 0.2 s of CPU. A successful build's output is kept in this process and on disk
// (kustomize-builds/ in the cache folder, keepBuild), as make validate and make upload-do keep
// theirs, so the next test file or run that builds the same content reads it instead.
import { execFileSync } from "node:child_process";
import { parseAllDocuments } from "yaml";
import { buildKey, cachedKustomizeBuild, keepBuild, keptBuild } from "../tools/kustomize/build";

/**
 * `kustomize build <dir>` (tools/kustomize/build.ts kustomizeBuild), once per distinct folder
 * content; a failed build is not kept (its message names its own folder). For validateDeploy's
 * `build` option (its default since make validate keeps builds too; passed explicitly here so a
 * test's intent does not hang on that default).
 */
export { cachedKustomizeBuild };

const syncOutputs = new Map<string, string>();

/** The objects `kustomize build <dir>` prints, parsed (empty documents dropped); built once per distinct folder content. */
export function kustomizeObjects(kustomize: string, dir: string): any[] {
    const key = buildKey(kustomize, dir);
    let out = key === undefined ? undefined : (syncOutputs.get(key) ?? keptBuild(key));
    if (out === undefined) {
        out = execFileSync(kustomize, ["build", dir], { encoding: "utf8", timeout: 60_000 });
        if (key !== undefined) keepBuild(key, out);
    }
    if (key !== undefined) syncOutputs.set(key, out);
    return parseAllDocuments(out)
        .map((d) => d.toJS())
        .filter((o) => o !== null);
}
