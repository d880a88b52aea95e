/**
 * Reads a stack's config file (Pulumi.<stack>.yaml) the way the Pulumi CLI hands config to a
 * program: `namespace:key` → string, objects as JSON. Encrypted (`secure:`) values cannot be
 * decrypted offline; they become the placeholder "[secret]" and their keys are marked secret.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export interface StackConfig {
    readonly project: string;
    readonly config: Record<string, string>;
    readonly secretKeys: string[];
}

function replaceSecure(v: unknown, found: { secure: boolean }): unknown {
    if (v && typeof v === "object" && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        if (Object.keys(o).length === 1 && typeof o.secure === "string") {
            found.secure = true;
            return "[secret]";
        }
        return Object.fromEntries(Object.entries(o).map(([k, e]) => [k, replaceSecure(e, found)]));
    }
    if (Array.isArray(v)) return v.map((e) => replaceSecure(e, found));
    return v;
}

export function readStackConfig(root: string, stack: string): StackConfig {
    const projectFile = parse(readFileSync(join(root, "Pulumi.yaml"), "utf8")) as { name: string };
    let stackFile: unknown;
    const path = join(root, `Pulumi.${stack}.yaml`);
    try {
        stackFile = parse(readFileSync(path, "utf8")) ?? {};
    } catch (e) {
        throw new Error(`cannot read ${path}: ${(e as Error).message}`);
    }
    const isMap = (v: unknown): v is Record<string, unknown> =>
        typeof v === "object" && v !== null && !Array.isArray(v);
    const what = (v: unknown) =>
        Array.isArray(v) ? "a list" : typeof v === "string" ? `the text "${v.slice(0, 40)}"` : `the ${typeof v} ${v}`;
    // The Pulumi CLI refuses such files too; say so once, not once per character or entry.
    if (!isMap(stackFile)) {
        throw new Error(`cannot read ${path}: expected a map with a config: section, found ${what(stackFile)}`);
    }
    const section = stackFile.config ?? {};
    if (!isMap(section)) {
        throw new Error(
            `cannot read ${path}: config: must be a map of settings (\`${projectFile.name}:cluster:\` and so on, ` +
                `indented below config:), found ${what(section)}`,
        );
    }
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [rawKey, rawValue] of Object.entries(section)) {
        const key = rawKey.includes(":") ? rawKey : `${projectFile.name}:${rawKey}`;
        const found = { secure: false };
        const value = replaceSecure(rawValue, found);
        // As the CLI: a scalar is passed as its text (an empty value as ""), a map or list as JSON.
        config[key] = value === null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
        if (found.secure) secretKeys.push(key);
    }
    return { project: projectFile.name, config, secretKeys };
}
