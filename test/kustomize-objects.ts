// The objects `kustomize build <dir>` prints, parsed (empty documents dropped): for tests that
// look at what a folder of the GitOps tree builds to.
import { execFileSync } from "node:child_process";
import { parseAllDocuments } from "yaml";

export function kustomizeObjects(kustomize: string, dir: string): any[] {
    const out = execFileSync(kustomize, ["build", dir], { encoding: "utf8", timeout: 60_000 });
    return parseAllDocuments(out)
        .map((d) => d.toJS())
        .filter((o) => o !== null);
}
