/** The README stays true: every config key is documented, every pinned version is listed. */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { z } from "zod";
import { PLATFORM_VARIABLES } from "../components/flux/settings";
import { versions } from "../components/versions";
import { configSchema } from "../infrastructure/config";

const ROOT = join(__dirname, "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const notificationsDoc = readFileSync(join(ROOT, "docs/notifications.md"), "utf8");

/** Unwraps default/prefault/optional wrappers down to the schema that holds the shape. */
function unwrap(s: z.ZodType): z.ZodType {
    let cur: any = s;
    while (cur?._zod?.def?.innerType) cur = cur._zod.def.innerType;
    return cur;
}

/** Every leaf key path of an object schema (arrays of objects count as one leaf, `list[]`). */
function leafPaths(s: z.ZodType, prefix = ""): string[] {
    const inner: any = unwrap(s);
    if (inner instanceof z.ZodObject) {
        return Object.entries(inner.shape).flatMap(([k, v]) =>
            leafPaths(v as z.ZodType, prefix ? `${prefix}.${k}` : k),
        );
    }
    if (inner instanceof z.ZodArray) {
        const el: any = unwrap(inner.element as z.ZodType);
        return el instanceof z.ZodObject ? Object.keys(el.shape).map((k) => `${prefix}[].${k}`) : [prefix];
    }
    return [prefix];
}

function documented(path: string, text: string): boolean {
    if (text.includes(`\`${path}\``)) return true;
    const parent = path.slice(0, path.lastIndexOf("."));
    const leaf = path.slice(path.lastIndexOf(".") + 1);
    return text.split("\n").some((line) => line.includes(`\`${parent}.`) && line.includes(`.${leaf}\``));
}

describe("README", () => {
    const paths = leafPaths(configSchema);

    test("the schema has the sections the README documents", () => {
        assert.ok(paths.length > 30, paths.join(", "));
    });

    for (const path of paths.filter((p) => !p.startsWith("notifications"))) {
        test(`config key ${path} is in the README's configuration table`, () => {
            assert.ok(documented(path, readme), `${path} is not documented in README.md`);
        });
    }

    test("every notification field is documented in docs/notifications.md", () => {
        const fields = paths
            .filter((p) => p.startsWith("notifications[]."))
            .map((p) => p.slice("notifications[].".length));
        assert.ok(fields.length >= 5);
        for (const f of fields)
            assert.ok(notificationsDoc.includes(`\`${f}\``), `notifications field ${f} undocumented`);
    });

    test("every pinned version is listed", () => {
        for (const v of [
            versions.flux,
            versions.fluxOperatorChart.version,
            versions.contourChart.version,
            versions.kcert.tag,
            `${versions.seaweedfs.image}:${versions.seaweedfs.tag}`,
            versions.kind,
            versions.kustomize.version,
        ]) {
            assert.ok(readme.includes(v), `${v} (components/versions.ts) is missing from the README`);
        }
        for (const [what, v] of Object.entries({
            etcd: versions.e2e.etcd,
            kubernetes: versions.e2e.kubernetes,
            ...versions.e2e.fluxControllers,
            fluxOperator: versions.e2e.fluxOperator,
            contour: versions.e2e.contour,
            pulumi: versions.e2e.pulumi,
            pulumiKubernetes: versions.e2e.pulumiKubernetes,
        })) {
            assert.ok(readme.includes(v), `e2e pin ${what} ${v} (components/versions.ts) is missing from the README`);
        }
        const release = parse(readFileSync(join(ROOT, "deploy/apps/podinfo/release.yaml"), "utf8"));
        assert.ok(readme.includes(release.spec.chart.spec.version), "the podinfo chart pin is missing from the README");
    });

    test("every variable the stack passes to deploy/ is documented", () => {
        for (const name of Object.keys(PLATFORM_VARIABLES))
            assert.ok(readme.includes(`\`\${${name}}\``), `\${${name}} (components/flux/settings.ts) is undocumented`);
    });

    test("the test command in the README is the one CI runs", () => {
        const ci = readFileSync(join(ROOT, ".ci/run"), "utf8");
        assert.match(readme, /^make test\b/m);
        assert.match(ci, /^make test$/m);
    });

    test("CI runs the end-to-end suite after the tests", () => {
        const ci = readFileSync(join(ROOT, ".ci/run"), "utf8");
        assert.match(ci, /^make test\n(.*\n)*make e2e$/m);
        assert.match(readme, /^make e2e\b/m);
    });
});
