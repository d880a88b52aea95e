/**
 * Validates rendered Kubernetes objects against their schemas: Flux kinds with
 * @kubernetes-models/flux-cd, core kinds with kubernetes-models, and the two kinds no npm
 * package covers (FluxInstance, HTTPProxy) with the project's own JSON Schemas in
 * test/schemas/. Flux duration fields are also checked against Flux's duration pattern,
 * which the model package does not enforce. An unknown kind is an error.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";

const here = dirname(fileURLToPath(import.meta.url));
const ajv = new Ajv({ allErrors: true, strict: false });
const ownSchemas: Record<string, ReturnType<Ajv["compile"]>> = {
    "fluxcd.controlplane.io/v1/FluxInstance": ajv.compile(JSON.parse(readFileSync(join(here, "schemas/fluxinstance.schema.json"), "utf8"))),
    "projectcontour.io/v1/HTTPProxy": ajv.compile(JSON.parse(readFileSync(join(here, "schemas/httpproxy.schema.json"), "utf8"))),
};

const DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const DURATION_FIELDS = new Set(["interval", "retryInterval", "timeout"]);
const PROVIDER_TIMEOUT = /^([0-9]+(\.[0-9]+)?(ms|s|m))+$/;

function checkDurations(obj: unknown, path: string, problems: string[]): void {
    if (!obj || typeof obj !== "object") return;
    for (const [k, v] of Object.entries(obj)) {
        if (DURATION_FIELDS.has(k) && typeof v === "string" && !DURATION.test(v)) {
            problems.push(`${path}/${k}: ${JSON.stringify(v)} is not a duration`);
        }
        checkDurations(v, `${path}/${k}`, problems);
    }
}

type ModelClass = new (data: any) => { validate(): void };

async function modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const candidates = group.endsWith("fluxcd.io")
        ? [`@kubernetes-models/flux-cd/${group}/${version}`]
        : [group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`];
    for (const spec of candidates) {
        try {
            const mod = (await import(spec)) as Record<string, unknown>;
            if (typeof mod[kind] === "function") return mod[kind] as ModelClass;
        } catch {
            // not a module of that package
        }
    }
    return undefined;
}

/** Returns the problems of one object; empty when it is valid. */
export async function validateObject(obj: any): Promise<string[]> {
    const id = `${obj.apiVersion}/${obj.kind}`;
    const where = `${obj.kind} ${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? "?"}`;
    const problems: string[] = [];
    const own = ownSchemas[id];
    if (own) {
        if (!own(obj)) problems.push(...(own.errors ?? []).map((e) => `${where}${e.instancePath}: ${e.message}`));
    } else {
        const Model = await modelFor(obj.apiVersion, obj.kind);
        if (!Model) return [`${where}: no schema known for ${id}`];
        try {
            new Model(obj).validate();
        } catch (e) {
            problems.push(`${where}: ${(e as Error).message}`);
        }
    }
    if (String(obj.apiVersion).includes("fluxcd")) checkDurations(obj.spec, `${where}/spec`, problems);
    // A Provider's timeout admits no hours (notification-controller's Provider schema).
    if (obj.kind === "Provider" && obj.spec?.timeout !== undefined && !PROVIDER_TIMEOUT.test(obj.spec.timeout)) {
        problems.push(`${where}/spec/timeout: ${JSON.stringify(obj.spec.timeout)} must be ms, s or m`);
    }
    return problems;
}
