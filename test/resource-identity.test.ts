/**
 * Resource identity: the URN of every resource of every example stack (Pulumi.dev.yaml,
 * Pulumi.local.yaml, Pulumi.prod.yaml: every Pulumi.<stack>.yaml) is pinned in test/fixtures/urns.json.
 *
 * Pulumi identifies a resource by its URN, `urn:pulumi:<stack>::<project>::<type chain>::<name>`,
 * where the type chain is the types of its parents (below the stack) and its own, joined by `$`
 * (the SDK's `createUrn` in @pulumi/pulumi/resource.js builds the same from the parent's URN).
 * Renaming a resource, or giving it another parent, changes the URN, and `pulumi up` on a running
 * stack then plans to delete the old resource and create a new one: a new bucket (empty), new
 * keys, a new cluster. So a URN of the snapshot that the program no longer produces fails this
 * test, unless a resource declares it as an alias (`aliases: [...]` in its options, or inherited
 * from a parent's alias, as the SDK does), which makes Pulumi carry the resource over.
 *
 * Updating the snapshot after an intended change (a new resource, or one that should really be
 * replaced or deleted; say so in the commit):
 *
 *   UPDATE_URNS=1 node --import tsx --test test/resource-identity.test.ts
 *
 * and review the diff of test/fixtures/urns.json.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { main } from "../infrastructure/program";
import { MockRecorder, runOffline } from "../tools/mocks";
import { readStackConfig } from "../tools/render/stack-config";
import { exampleStackEnv, exampleStacks, inputValue } from "./harness";

const ROOT = join(__dirname, "..");
const FIXTURE = join(__dirname, "fixtures", "urns.json");

interface StackIdentity {
    /** URN of every resource the program registers. */
    readonly urns: string[];
    /** URN → the other URNs that resource answers to (its aliases, own and inherited). */
    readonly aliases: Map<string, string[]>;
}

const prefixOf = (urn: string) => urn.slice(0, urn.lastIndexOf("::"));
const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

/** Runs an example stack offline, as `make render` does, and computes its URNs. */
async function identity(stack: string): Promise<StackIdentity> {
    const sc = readStackConfig(ROOT, stack);
    const recorder = new MockRecorder();
    const run = await runOffline(
        { project: sc.project, stack, config: sc.config, secretKeys: sc.secretKeys, recorder },
        () => main({ env: exampleStackEnv(stack), stackFile: join(ROOT, `Pulumi.${stack}.yaml`) }),
    );
    if (run.error) throw run.error;
    const base = `urn:pulumi:${stack}::${sc.project}::`;
    // the stack itself is the root of every URN, not a resource of the snapshot
    const resources = recorder.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
    const byKey = new Map(resources.map((r) => [`${r.type}::${r.name}`, r]));
    const urnCache = new Map<string, string>();
    const urnOf = (key: string): string => {
        const cached = urnCache.get(key);
        if (cached) return cached;
        const r = byKey.get(key);
        if (!r) throw new Error(`unknown resource ${key}`);
        const urn = r.parent ? `${prefixOf(urnOf(r.parent))}$${r.type}::${r.name}` : `${base}${r.type}::${r.name}`;
        urnCache.set(key, urn);
        return urn;
    };
    const urns = resources.map((r) => urnOf(`${r.type}::${r.name}`));

    // Aliases as the SDK resolves them (resource.ts: allAliases, inheritedChildAlias).
    const aliasCache = new Map<string, Promise<string[]>>();
    const aliasesOf = (key: string): Promise<string[]> => {
        let found = aliasCache.get(key);
        if (!found) {
            found = resolveAliases(key);
            aliasCache.set(key, found);
        }
        return found;
    };
    const keyOfResource = (r: pulumi.Resource) => recorder.keyOf(r);
    async function resolveAliases(key: string): Promise<string[]> {
        const r = byKey.get(key)!;
        const { opts } = recorder.construction(r.type, r.name);
        const out: string[] = [];
        for (const a of (opts.aliases ?? []) as Array<pulumi.Input<string> | pulumi.Alias>) {
            if (typeof a === "string" || pulumi.Output.isInstance(a)) {
                out.push(await inputValue(a as pulumi.Input<string>));
                continue;
            }
            const alias = a as pulumi.Alias;
            const name = alias.name === undefined ? r.name : await inputValue(alias.name);
            const type = alias.type === undefined ? r.type : await inputValue(alias.type);
            let prefix: string;
            if (alias.parent === pulumi.rootStackResource) {
                prefix = base;
            } else if (pulumi.Resource.isInstance(alias.parent)) {
                prefix = `${prefixOf(urnOf(keyOfResource(alias.parent)))}$`;
            } else if (alias.parent !== undefined) {
                prefix = `${prefixOf(await inputValue(alias.parent))}$`;
            } else {
                prefix = r.parent ? `${prefixOf(urnOf(r.parent))}$` : base;
            }
            out.push(`${prefix}${type}::${name}`);
        }
        // a parent's aliases carry over to its children (name prefix renamed along)
        if (r.parent) {
            const parent = byKey.get(r.parent)!;
            for (const p of await aliasesOf(r.parent)) {
                const name = r.name.startsWith(parent.name) ? nameOf(p) + r.name.slice(parent.name.length) : r.name;
                out.push(`${prefixOf(p)}$${r.type}::${name}`);
            }
        }
        return out;
    }
    const aliases = new Map<string, string[]>();
    for (const r of resources) aliases.set(urnOf(`${r.type}::${r.name}`), await aliasesOf(`${r.type}::${r.name}`));
    return { urns, aliases };
}

const STACKS = exampleStacks();

describe("resource identity (URN snapshot of the example stacks)", () => {
    if (process.env.UPDATE_URNS === "1") {
        test("update the snapshot", async () => {
            const next: Record<string, string[]> = {};
            for (const stack of STACKS) next[stack] = [...(await identity(stack)).urns].sort();
            writeFileSync(FIXTURE, `${JSON.stringify(next, null, 2)}\n`);
        });
        return;
    }
    const fixture: Record<string, string[]> = JSON.parse(readFileSync(FIXTURE, "utf8"));

    test("the snapshot covers every example stack", () => {
        assert.deepEqual(Object.keys(fixture).sort(), [...STACKS].sort());
        for (const stack of STACKS) assert.ok(fixture[stack]!.length > 10, `${stack}: ${fixture[stack]!.length}`);
    });

    for (const stack of STACKS) {
        test(`Pulumi.${stack}.yaml: every pinned URN is still produced, or kept by an alias`, async () => {
            const now = await identity(stack);
            const current = new Set([...now.urns, ...[...now.aliases.values()].flat()]);
            const lost = fixture[stack]!.filter((urn) => !current.has(urn));
            assert.deepEqual(
                lost,
                [],
                `these resources would be deleted (and recreated under a new URN) by \`pulumi up\`:\n${lost.join("\n")}\n` +
                    "add an alias (`aliases: [{ name: ..., parent: ... }]`) to the renamed or reparented resource, " +
                    "or, when the replacement is intended, update the snapshot (see the top of this file)",
            );
        });

        test(`Pulumi.${stack}.yaml: every resource's URN is in the snapshot, once`, async () => {
            const now = await identity(stack);
            const dupes = now.urns.filter((u, i) => now.urns.indexOf(u) !== i);
            assert.deepEqual(dupes, [], "two resources with one URN: Pulumi refuses the program");
            const pinned = new Set(fixture[stack]);
            // a renamed resource that keeps its pinned URN as an alias is not new
            const added = now.urns.filter(
                (urn) => !pinned.has(urn) && !(now.aliases.get(urn) ?? []).some((a) => pinned.has(a)),
            );
            assert.deepEqual(
                added,
                [],
                `resources not in the snapshot (new ones, or renamed ones without an alias):\n${added.join("\n")}\n` +
                    "update the snapshot (see the top of this file) and review its diff",
            );
        });
    }
});
