/**
 * What each component records in the state: `registerOutputs` tells the engine the component is
 * complete and stores its outputs with it (what `pulumi stack export` and the console show for
 * the component). Checked as the engine receives it (the mock resource monitor's record of the
 * RegisterResourceOutputs call), for every component of both example stacks, against the
 * component object itself: every public Output or child resource it exposes is recorded, and
 * an Output that is secret on the object is stored as a secret.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { main } from "../infrastructure/program";
import { MockRecorder, runOffline } from "../tools/mocks";
import { readStackConfig } from "../tools/render/stack-config";
import { exampleStackEnv, inputValue, isSecretOutput } from "./harness";

const ROOT = join(__dirname, "..");
/** Pulumi's marker of a secret value in serialized properties (sdk/nodejs/runtime/rpc.ts `specialSigKey`). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Records every component object as it is constructed (the stack transformation sees them all). */
class ComponentCollector extends MockRecorder {
    public readonly components: pulumi.ComponentResource[] = [];
    override noteConstruction(args: pulumi.ResourceTransformationArgs): void {
        super.noteConstruction(args);
        if (args.resource instanceof pulumi.ComponentResource) this.components.push(args.resource);
    }
}

/** The component's own public Outputs and child resources, by property name (defined ones only). */
function exposed(component: pulumi.ComponentResource): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const [k, v] of Object.entries(component)) {
        if (k.startsWith("_") || k === "urn") continue;
        if (pulumi.Output.isInstance(v) || pulumi.Resource.isInstance(v)) out.set(k, v);
    }
    return out;
}

describe("components record their outputs in the state (both example stacks)", () => {
    for (const stack of ["dev", "local"]) {
        test(`Pulumi.${stack}.yaml: every exposed output is registered, secrets as secrets`, async () => {
            const sc = readStackConfig(ROOT, stack);
            const recorder = new ComponentCollector();
            const run = await runOffline(
                { project: sc.project, stack, config: sc.config, secretKeys: sc.secretKeys, recorder },
                () => main({ env: exampleStackEnv(stack), stackFile: join(ROOT, `Pulumi.${stack}.yaml`) }),
            );
            assert.equal(run.error, undefined, String(run.error));
            const monitor = pulumi.runtime.getMonitor() as unknown as {
                resources: Map<string, { state: unknown }>;
            };
            const gitops = recorder.components.filter((c) => recorder.keyOf(c).startsWith("gitops:"));
            assert.ok(gitops.length >= (stack === "dev" ? 8 : 4), `${gitops.length} components`);
            const problems: string[] = [];
            for (const component of gitops) {
                const key = recorder.keyOf(component);
                const urn = await inputValue(component.urn);
                const raw = monitor.resources.get(urn)?.state as { toJavaScript?: () => Record<string, unknown> };
                const stored = raw?.toJavaScript ? raw.toJavaScript() : ((raw ?? {}) as Record<string, unknown>);
                for (const [name, value] of exposed(component)) {
                    if (!(name in stored)) {
                        problems.push(`${key}: ${name} not registered`);
                        continue;
                    }
                    if (pulumi.Output.isInstance(value) && (await isSecretOutput(value))) {
                        const s = stored[name] as Record<string, unknown> | undefined;
                        if (s?.[SIG_KEY] !== SECRET_SIG) problems.push(`${key}: ${name} stored in plaintext`);
                    }
                }
            }
            assert.deepEqual(problems, []);
        });
    }
});
