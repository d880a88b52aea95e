/**
 * `make render` for one stack, then every Kubernetes object it declares as JSON on stdout, as the
 * cluster would receive it: secret values revealed. The files `make render` writes redact every
 * field that holds a secret ("[secret]"), and the HTTPProxy's whole spec holds the secret hook
 * paths, so those files cannot be dry-run. Nothing revealed is written to disk; under the mocks
 * the secrets are generated test values, and a stack's `secure:` config values cannot be
 * decrypted offline (they stay "[secret]").
 *
 * Usage (child process of the e2e suite; the render sets process-wide Pulumi mocks):
 *   node --import tsx tools/e2e/render-objects.ts <stack> <out-dir>
 */
import { reveal } from "../mocks";
import { isKubernetesObject, render } from "../render/render";

async function run(): Promise<void> {
    const [stack, out] = process.argv.slice(2);
    if (!stack || !out) throw new Error("usage: render-objects.ts <stack> <out-dir>");
    const { recorder, files } = await render({ root: process.cwd(), stack, out });
    const objects = recorder.resources.filter(isKubernetesObject).map((r) => reveal(r.inputs));
    const written = files.filter((f) => f.startsWith("kubernetes/")).length;
    if (written !== objects.length) {
        throw new Error(`make render wrote ${written} Kubernetes files for ${objects.length} objects`);
    }
    process.stdout.write(JSON.stringify(objects));
}

run().then(
    () => process.exit(0),
    (e: unknown) => {
        console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
        process.exit(1);
    },
);
