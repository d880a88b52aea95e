/**
 * Flux's custom resources must not race Flux's CRDs (issue 8 §2). The Flux Operator installs the
 * CRDs only after it has pulled the distribution and applied it, while pulumi-kubernetes retries a
 * "no matches for kind" create for about 31 s (retry.SleepingRetry: 1+2+4+8+16 s) and treats a
 * custom resource without `pulumi.com/waitFor` as ready at once. So: the FluxInstance makes Pulumi
 * wait for its Ready condition (bounded), and every Flux object the stack creates depends on it.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { baseConfig, runStack, type StackRun } from "./harness";

const FLUX_INSTANCE = "kubernetes:fluxcd.controlplane.io/v1:FluxInstance::flux-instance";
/** Resource types of Flux's own API groups (source, kustomize, helm, notification, image). */
const isFluxType = (type: string) => /^kubernetes:[a-z]+\.toolkit\.fluxcd\.io\//.test(type);

/** Every Output nested in a resource's input properties. */
function nestedOutputs(value: unknown, found: pulumi.Output<unknown>[] = []): pulumi.Output<unknown>[] {
    if (pulumi.Output.isInstance(value)) found.push(value as pulumi.Output<unknown>);
    else if (Array.isArray(value)) for (const v of value) nestedOutputs(v, found);
    else if (value && typeof value === "object" && !pulumi.Resource.isInstance(value))
        for (const v of Object.values(value)) nestedOutputs(v, found);
    return found;
}

/**
 * What a resource waits for, as `type::name` keys: its explicit dependsOn and the resources behind
 * every Output in its inputs (the SDK sends both as dependencies; a resource's Outputs resolve only
 * once the engine has created it).
 */
async function directDependencies(run: StackRun, key: string): Promise<string[]> {
    const [type, name] = key.split("::");
    const fromOutputs = await Promise.all(
        nestedOutputs(run.recorder.construction(type, name).props).map((o) => run.recorder.outputDependencies(o)),
    );
    return [...run.recorder.dependsOn(type, name), ...fromOutputs.flat()];
}

/** Every `type::name` a resource (transitively) waits for. */
async function reachable(run: StackRun, key: string): Promise<Set<string>> {
    const seen = new Set<string>();
    const todo = [key];
    while (todo.length > 0) {
        for (const d of await directDependencies(run, todo.pop() as string)) {
            if (!seen.has(d)) {
                seen.add(d);
                todo.push(d);
            }
        }
    }
    return seen;
}

/** Whether `key` is `target` or one of its ancestors (depending on a component waits for its children). */
function coversTarget(run: StackRun, key: string, target: string): boolean {
    for (let k: string | undefined = target; k; ) {
        if (k === key) return true;
        const [type, name]: string[] = k.split("::");
        k = run.recorder.construction(type, name).parent;
    }
    return false;
}

describe("Flux objects wait for Flux's CRDs", () => {
    const runs: Record<string, StackRun> = {};
    before(async () => {
        // Every Flux object the stack can create: GitHub receiver, notifications of every kind.
        const cfg = baseConfig();
        cfg.github = { repository: "acme/platform" };
        cfg.notifications = [{ name: "ops", type: "generic", address: "https://hooks.example.com/flux" }];
        const ingress = baseConfig();
        ingress.webhook.exposure = "ingress";
        for (const [name, c] of Object.entries({ httpproxy: cfg, ingress })) {
            const run = await runStack(c, { secretKeys: ["notifications"] });
            if (run.error) throw run.error;
            runs[name] = run;
        }
    });

    it("the FluxInstance makes Pulumi wait for condition Ready, with a bounded timeout", () => {
        for (const run of Object.values(runs)) {
            const fi = run.recorder.kubeObject("FluxInstance", "flux");
            const annotations = fi.metadata.annotations ?? {};
            // pulumi-kubernetes metadata.ReadyCondition: "condition=<Type>[=<Status>]", status default True.
            assert.equal(annotations["pulumi.com/waitFor"], "condition=Ready");
            // metadata.TimeoutDuration: strconv.Atoi of the annotation, in seconds.
            const timeout = annotations["pulumi.com/timeoutSeconds"];
            assert.match(timeout ?? "", /^[1-9]\d*$/);
            // Longer than one full operator attempt (30 s pull + 5 min health wait), well below forever.
            assert.ok(Number(timeout) > 330 && Number(timeout) <= 1800, timeout);
            // Ready then means Flux's controllers (and the empty-bucket sync) are healthy too.
            assert.equal(fi.spec.wait, true);
        }
    });

    it("every Flux custom resource the stack creates depends on the FluxInstance", async () => {
        for (const [mode, run] of Object.entries(runs)) {
            const fluxObjects = run.recorder.resources.filter((r) => isFluxType(r.type));
            const kinds = new Set(fluxObjects.map((r) => r.type.split(":")[2]));
            // The run really covers every kind the stack declares (so the check below is not vacuous).
            const expected =
                mode === "httpproxy"
                    ? ["GitRepository", "Kustomization", "Receiver", "Provider", "Alert"]
                    : ["Receiver"];
            for (const kind of expected) assert.ok(kinds.has(kind), `${mode}: no ${kind} in ${[...kinds].join(", ")}`);
            for (const r of fluxObjects) {
                const deps = [...(await reachable(run, `${r.type}::${r.name}`))];
                assert.ok(
                    deps.some((d) => coversTarget(run, d, FLUX_INSTANCE)),
                    `${mode}: ${r.type}::${r.name} does not wait for the FluxInstance (depends on ${deps.join(", ") || "nothing"})`,
                );
            }
        }
    });
});
