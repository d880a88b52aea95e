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
    let stackFile: { config?: Record<string, unknown> };
    const path = join(root, `Pulumi.${stack}.yaml`);
    try {
        stackFile = (parse(readFileSync(path, "utf8")) ?? {}) as typeof stackFile;
    } catch (e) {
        throw new Error(`cannot read ${path}: ${(e as Error).message}`);
    }
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [rawKey, rawValue] of Object.entries(stackFile.config ?? {})) {
        const key = rawKey.includes(":") ? rawKey : `${projectFile.name}:${rawKey}`;
        const found = { secure: false };
        const value = replaceSecure(rawValue, found);
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
        if (found.secure) secretKeys.push(key);
    }
    return { project: projectFile.name, config, secretKeys };
}
