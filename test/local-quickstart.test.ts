/**
 * The local quick start stays one thing: the README's commands, the example stack and the CI
 * workflow that runs them on kind agree, and the workflow's actions are pinned by commit.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { versions } from "../components/versions";

const ROOT = join(__dirname, "..");
const WORKFLOW = join(ROOT, ".github/workflows/local-quickstart.yml");
const workflow = parse(readFileSync(WORKFLOW, "utf8"));
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const localStack = parse(readFileSync(join(ROOT, "Pulumi.local.yaml"), "utf8")).config;
const steps = workflow.jobs.quickstart.steps as {
    name: string;
    uses?: string;
    run?: string;
    with?: Record<string, string>;
}[];

describe("the local quick start", () => {
    test("the workflow runs on every push, every action pinned to a full commit", () => {
        assert.ok("push" in workflow.on);
        const uses = steps.filter((s) => s.uses).map((s) => s.uses!);
        assert.ok(uses.length >= 2);
        for (const u of uses) assert.match(u, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${u} is not pinned to a commit`);
    });

    test("the workflow runs the README's commands against the example stack's context", () => {
        const runs = steps.map((s) => s.run ?? "").join("\n");
        for (const command of [
            "make bootstrap STACK=local",
            "make upload-do STACK=local",
            "make destroy STACK=local",
        ]) {
            assert.ok(readme.includes(command), `README lacks ${command}`);
            assert.ok(runs.includes(command), `workflow lacks ${command}`);
        }
        const kind = steps.find((s) => s.uses?.startsWith("helm/kind-action@"))!;
        const context = `kind-${kind.with!.cluster_name}`;
        assert.equal(localStack["do-gitops-platform:existingCluster"].context, context);
        assert.equal(localStack["do-gitops-platform:target"], "existing-cluster");
        assert.ok(readme.includes(`kind create cluster --name ${kind.with!.cluster_name}`));
        assert.match(runs, new RegExp(`--context ${context} -n flux-system wait kustomization/flux-system`));
    });

    test("the kind version the workflow extracts is the pin in components/versions.ts", () => {
        const pins = steps.find((s) => s.name === "Pins")!.run!;
        const sed = /sed -n '([^']+)' components\/versions\.ts/.exec(pins)![1]!;
        const out = execFileSync("sed", ["-n", sed, join(ROOT, "components/versions.ts")], { encoding: "utf8" });
        assert.equal(out.trim().split("\n")[0], versions.kind);
        assert.match(versions.kind, /^v\d+\.\d+\.\d+$/);
    });
});
