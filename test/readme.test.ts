/** The README stays true: every config key is documented, every pinned version is listed. */

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
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
            versions.sops.version,
            versions.envsubst.version,
        ]) {
            assert.ok(readme.includes(v), `${v} (components/versions.ts) is missing from the README`);
        }
        for (const [what, v] of Object.entries({
            etcd: versions.e2e.etcd,
            kubernetes: versions.e2e.kubernetes,
            ...versions.e2e.fluxControllers,
            ...versions.e2e.imageControllers,
            fluxOperator: versions.e2e.fluxOperator,
            contour: versions.e2e.contour,
            pulumi: versions.e2e.pulumi,
            pulumiKubernetes: versions.e2e.pulumiKubernetes,
        })) {
            assert.ok(readme.includes(v), `e2e pin ${what} ${v} (components/versions.ts) is missing from the README`);
        }
        const release = parse(readFileSync(join(ROOT, "deploy/apps/base/podinfo/release.yaml"), "utf8"));
        assert.ok(readme.includes(release.spec.chart.spec.version), "the podinfo chart pin is missing from the README");
    });

    test("every variable the stack passes to deploy/ is documented", () => {
        for (const name of Object.keys(PLATFORM_VARIABLES))
            assert.ok(readme.includes(`\`\${${name}}\``), `\${${name}} (components/flux/settings.ts) is undocumented`);
    });

    test("the cost table: each hourly price is the monthly one ÷ 672 (DigitalOcean's 28-day cap), and the totals add up", () => {
        const section = readme.slice(readme.indexOf("## Cost of the default dev stack"));
        const table = section.slice(0, section.indexOf("\n\n", section.indexOf("| item")));
        const money = (cell: string) => {
            const all = [...cell.matchAll(/\$(\d+(?:\.\d+)?)/g)].map((m) => Number(m[1]));
            return cell.includes("free") ? 0 : all[all.length - 1];
        };
        const rows = table
            .split("\n")
            .filter((l) => l.startsWith("|") && !l.includes("---") && !l.includes("| item"))
            .map((l) =>
                l
                    .split("|")
                    .slice(2, 4)
                    .map((c) => c.trim()),
            );
        assert.ok(rows.length >= 4, table);
        let monthly = 0;
        let hourly = 0;
        for (const [m, h] of rows.slice(0, -1)) {
            assert.ok(money(m!) !== undefined && money(h!) !== undefined, `${m} | ${h}`);
            assert.ok(Math.abs(money(h!)! - money(m!)! / 672) < 0.0001, `${h} is not ${m} ÷ 672`);
            monthly += money(m!)!;
            hourly += money(h!)!;
        }
        const [totalMonthly, totalHourly] = rows[rows.length - 1]!;
        assert.equal(money(totalMonthly!), monthly);
        assert.ok(Math.abs(money(totalHourly!)! - monthly / 672) < 0.001, `${totalHourly} vs ${monthly / 672}`);
        assert.ok(Math.abs(hourly - monthly / 672) < 0.001);
    });

    test("the README's picture of deploy/ names every kustomization folder and layer file the tree has", () => {
        const section = readme.slice(readme.indexOf("## The GitOps tree"));
        const block = section.slice(
            section.indexOf("```\ndeploy/"),
            section.indexOf("```", section.indexOf("```") + 3),
        );
        const named = new Set(
            block
                .split("\n")
                .slice(2)
                .map((l) => l.trim().split(/\s+/)[0]!)
                .filter((p) => p),
        );
        const deploy = join(ROOT, "deploy");
        const expected: string[] = [];
        const walk = (dir: string, rel: string) => {
            for (const e of readdirSync(dir, { withFileTypes: true })) {
                if (e.isDirectory()) walk(join(dir, e.name), `${rel}${e.name}/`);
                else if (rel === "" && e.name.endsWith(".yaml")) expected.push(e.name);
            }
            const k = join(dir, "kustomization.yaml");
            if (rel && existsSync(k) && !readFileSync(k, "utf8").includes("kind: Component")) {
                expected.push(rel);
            }
        };
        walk(deploy, "");
        for (const p of expected) {
            const shown = [...named].some((n) => n === p || p.startsWith(n) || n.startsWith(p));
            assert.ok(shown, `${p} is not in the README's picture of deploy/:\n${[...named].join("\n")}`);
        }
        for (const n of named)
            assert.ok(existsSync(join(deploy, n)), `the README names ${n}, which deploy/ does not have`);
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
