/**
 * What `make e2e` cannot run on a machine whose only sources are the package registries, and
 * why, checked at run time rather than claimed: every `FluxReceiver` of the stack makes its
 * token with `random.RandomPassword` (and the SOPS age key is `random.RandomBytes`), so
 * `pulumi up` needs the random provider plugin
 * (`pulumi-resource-random`), which is built from `github.com/pulumi/pulumi-random/provider/v4`,
 * and the Go module proxy refuses that module (403, "not available") at every version. Without
 * it the engine cannot register the stack, so `pulumi up` of the e2e stack (stage 2's first
 * step) and the whole lifecycle stage (a second `pulumi up`, `pulumi destroy`) cannot run.
 * When the proxy serves the module, the check turns into a failure saying so: the stages are
 * then to be wired.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { downloadModule } from "./build";
import type { Report } from "./report";

/** The provider version the program's `@pulumi/random` SDK asks the engine for. */
export function randomProviderVersion(root: string): string {
    const pkg = JSON.parse(
        readFileSync(path.join(root, "node_modules", "@pulumi", "random", "package.json"), "utf8"),
    ) as {
        version: string;
    };
    return `v${pkg.version}`;
}

export const RANDOM_PROVIDER_MODULE = "github.com/pulumi/pulumi-random/provider/v4";

/** The package of the resource types that need the random provider (`random:index/…`). */
export const RANDOM_PACKAGE = "random:";

/**
 * `stackTypes`: the Pulumi resource types the e2e stack's program registered (stage 2), when
 * it ran; then the claim that it needs the random provider is checked too.
 */
export async function reportBlocked(report: Report, root: string, stackTypes?: readonly string[]): Promise<void> {
    const randomTypes = [...new Set((stackTypes ?? []).filter((t) => t.startsWith(RANDOM_PACKAGE)))];
    if (stackTypes && randomTypes.length === 0) {
        report.fail(
            "pulumi up / pulumi destroy of the e2e stack",
            `the e2e stack registers no ${RANDOM_PACKAGE} resource any more: the random provider no longer blocks the Pulumi stages; wire them (tools/e2e/blocked.ts)`,
        );
        return;
    }
    const version = randomProviderVersion(root);
    let refusal: string | undefined;
    try {
        await downloadModule(RANDOM_PROVIDER_MODULE, version);
    } catch (e) {
        refusal = (e as Error).message.split("\n")[0];
    }
    if (refusal === undefined) {
        report.fail(
            "pulumi up / pulumi destroy of the e2e stack",
            `${RANDOM_PROVIDER_MODULE}@${version} is served now: build pulumi-resource-random and wire the Pulumi stages (tools/e2e/blocked.ts)`,
        );
        return;
    }
    const why =
        `the stack registers ${randomTypes.length > 0 ? randomTypes.join(", ") : "random resources"} (receiver tokens, the SOPS age key), and the random provider plugin cannot be built: ` +
        `the Go module proxy refuses ${RANDOM_PROVIDER_MODULE}@${version} (${refusal.replace(/^go mod download [^:]+: /, "")})`;
    report.blocked("stage 2: pulumi up of the existing-cluster e2e stack (real CLI, real Kubernetes provider)", why);
    report.blocked(
        "stage 3: a second pulumi up reports no changes (--expect-no-changes)",
        "needs the stage 2 pulumi up",
    );
    report.blocked(
        "stage 3: pulumi destroy (as make destroy runs it) leaves nothing of the stack",
        "needs the stage 2 pulumi up",
    );
}
