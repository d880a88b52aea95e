import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { reveal } from "../tools/mocks.js";
import { isKubernetesObject, manifestOf, render } from "../tools/render/render.js";
import { validateObject } from "./validator.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

// The render runs in the test, not while the file loads, so the file can share a process with
// others (tools/test/groups.mts); each check is a subtest, one per object.
test("every Kubernetes object the dev stack renders passes its schema", async (t) => {
    const out = mkdtempSync(join(tmpdir(), "schema-"));
    const { recorder } = await render({ root, stack: "dev", out });
    // Validated as the cluster receives them, secrets revealed: the rendered manifest redacts a whole
    // field that holds a secret (the HTTPProxy's spec carries the secret hook paths), and
    // "[secret]" is no valid spec. The rendered manifest must still be that object, redacted.
    const objects = recorder.resources.filter(isKubernetesObject).map((r) => reveal<any>(r.inputs));
    const rendered = recorder.resources.filter(isKubernetesObject).map((r) => manifestOf(r));

    await t.test("the rendered manifests are these objects with secrets redacted", () => {
        assert.deepEqual(
            rendered.map((m: any) => `${m.kind}/${m.metadata?.name}`),
            objects.map((o) => `${o.kind}/${o.metadata?.name}`),
        );
    });

    await t.test("there is something to validate", () => {
        assert.ok(objects.length >= 3);
    });

    for (const obj of objects) {
        await t.test(`${obj.kind} ${obj.metadata?.namespace ?? ""}/${obj.metadata?.name}`, async () => {
            assert.deepEqual(await validateObject(obj), []);
        });
    }

    await t.test("the validator rejects broken objects (it can fail)", async () => {
        const fi = objects.find((o) => o.kind === "FluxInstance");
        assert.ok(fi);
        const broken = structuredClone(fi);
        broken.spec.sync.kind = "Bukket";
        broken.spec.distribution.versoin = "2.9";
        const problems = (await validateObject(broken)).join("\n");
        assert.match(problems, /\/spec\/sync\/kind must be equal to one of the allowed values/);
        assert.match(problems, /\/spec\/distribution: unknown field versoin/);
        assert.deepEqual(
            await validateObject({ apiVersion: "example.com/v1", kind: "Thing", metadata: { name: "x" } }),
            [
                "unknown kind Thing in example.com/v1: no schema in kubernetes-models, @kubernetes-models/flux-cd or tools/validate/schemas",
            ],
        );
        assert.ok(
            (
                await validateObject({
                    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
                    kind: "Kustomization",
                    metadata: { name: "k" },
                    spec: { interval: "10 minutes", prune: true, sourceRef: { kind: "Bucket", name: "b" } },
                })
            ).length > 0,
        );
        assert.ok(
            (await validateObject({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, stringData: { a: 1 } }))
                .length > 0,
        );
    });
});
