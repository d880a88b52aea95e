// `make validate`: build every kustomization under deploy/ offline, the way Flux will, and
// validate each object against its schema.
//
//  - every folder with a kustomization.yaml (or .yml / Kustomization) is built with the
//    kustomize release Flux's kustomize-controller is built with (pinned in
//    components/versions.ts, provided by tools/kustomize/ensure-kustomize.sh); kustomize
//    Components are built through the kustomizations that use them;
//  - Flux's post-build substitution runs on the output with the stack's variables (example
//    values, components/flux/settings.ts), and a variable the stack does not set is an error
//    (Flux would silently substitute ""), as is an expression Flux cannot parse (it fails the
//    Kustomization);
//  - Flux kinds are validated with @kubernetes-models/flux-cd, core kinds with
//    kubernetes-models (both ESM-only, hence the dynamic imports), the two kinds no npm
//    package covers (FluxInstance, HTTPProxy) with the project's own JSON Schemas in
//    tools/validate/schemas/, and kinds a CustomResourceDefinition in the tree defines with
//    that CRD's schema; Flux duration fields are checked against Flux's duration pattern,
//    which the model package leaves out;
//  - unknown kinds are errors, and so are superseded Flux API versions (a
//    v1beta* object whose kind has a GA version), since the platform uses
//    only source/v1, kustomize/v1, helm/v2 and notification/v1 APIs;
//  - every environment (each folder of clusters/ with a kustomization file, or the tree's root
//    when it has no clusters/ folder) is built with what each of its Flux Kustomizations (the
//    layers) points at, and its layers are checked for an order Flux can apply (flux-tree.ts);
//    a problem names the environments it affects (environments.ts), and the report has one
//    summary per environment;
//  - a KCert certificate request for a name Let's Encrypt never issues (example.com and other
//    reserved names) is an error.
import { readdir, readFile, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import { parseAllDocuments, stringify } from "yaml";
import { exampleSettings, FLUX_SYNC_NAME, PLATFORM_VARIABLES } from "../../components/flux/settings";
import { substituteText, substitutionDisabled } from "../../components/flux/substitute";
import {
    cachedKustomizeBuild,
    ensureKustomize,
    findKustomizations,
    KUSTOMIZATION_FILES,
    kustomizeBuild,
} from "../kustomize/build";
import { findUp } from "../lib/find-up";
import { findPlaintextSecrets, hasSopsMetadata } from "../sops/guard";
import { CLUSTERS_DIR, type Environment, findEnvironments, reachedFolders } from "./environments";
import { findLayers, orderingProblems } from "./flux-tree";

export { cachedKustomizeBuild, ensureKustomize, findKustomizations, KUSTOMIZATION_FILES, kustomizeBuild };

export interface ValidationProblem {
    /** kustomization folder, relative to the base folder given to validateDeploy */
    kustomization: string;
    /** `Kind namespace/name`, when the problem is about one object */
    object?: string;
    /** source files that define the object (best effort: matched by kind and name) */
    files?: string[];
    message: string;
    /** names of the environments (clusters/<name>) that apply what the problem is in; empty: none does */
    environments?: string[];
}

export interface KustomizationReport {
    dir: string;
    objects: number;
}

/** One environment: a cluster folder and the layers its Flux Kustomizations apply. */
export interface EnvironmentReport {
    /** `dev` for clusters/dev; the root folder's relative path for a tree without clusters/ */
    name: string;
    /** its folder, relative like the kustomizations */
    dir: string;
    /** Flux Kustomizations of the folder that apply this tree from the stack's bucket */
    layers: number;
    /** distinct objects the environment applies (its folder and every layer's build) */
    objects: number;
    /** problems that affect it */
    problems: number;
}

export interface ValidationReport {
    kustomizations: KustomizationReport[];
    environments: EnvironmentReport[];
    objects: number;
    problems: ValidationProblem[];
}

export interface ValidateOptions {
    /** paths in messages are relative to this folder (default: the parent of root) */
    relativeTo?: string;
    /** kustomize executable (default: the pinned release, from tools/kustomize/ensure-kustomize.sh) */
    kustomize?: string;
    /** Values of the stack's variables (default: the examples in components/flux/settings.ts). */
    variables?: Readonly<Record<string, string>>;
    /**
     * Builds one kustomization folder: `kustomize build <dir>`'s output (default:
     * cachedKustomizeBuild, which runs it once per distinct folder content and keeps the output).
     */
    build?: (kustomize: string, dir: string) => Promise<string>;
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

/**
 * The module of one kind (`kubernetes-models/v1/Namespace`), not the apiVersion's index: an
 * index loads every model of its API version (kubernetes-models/v1 alone is about 200 modules,
 * each with its schema), about 2 s of CPU per `make validate` for a tree of a dozen kinds. Every
 * class with a kind lives in the module named after that kind (checked for every kind of both
 * packages when this was written); a kind that is not a plain name has no module.
 */
async function loadModule(apiVersion: string, kind: string): Promise<ModelModule | undefined> {
    const spec = modulePath(apiVersion);
    if (!spec || !/^[A-Za-z][A-Za-z0-9]*$/.test(kind)) return undefined;
    const file = `${spec}/${kind}`;
    let p = moduleCache.get(file);
    if (!p) {
        p = (import(file) as Promise<ModelModule>).catch(() => undefined);
        moduleCache.set(file, p);
    }
    return p;
}

export async function findModel(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
    const mod = await loadModule(apiVersion, kind);
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
        const schema = JSON.parse(
            await readFile(findUp(__dirname, path.join("tools", "validate", "schemas", file)), "utf8"),
        );
        validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
        ownValidators.set(file, validate);
    }
    return validate;
}

const DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const DURATION_FIELDS = new Set(["interval", "retryInterval", "timeout"]);
/** A notification Provider's timeout admits no hours (notification-controller's schema). */
const PROVIDER_TIMEOUT = /^([0-9]+(\.[0-9]+)?(ms|s|m))+$/;

/**
 * A HelmRelease's subtree that is not Flux's: the chart's values, where a key named `timeout` or
 * `interval` means what the chart says. (helm.toolkit.fluxcd.io/v2's post-renderers hold their
 * Kubernetes patches as strings, and their targets and images have no such keys.)
 */
const FOREIGN_SUBTREES = new Set(["/spec/values"]);

/** Flux's duration patterns, which @kubernetes-models/flux-cd does not enforce. */
function fluxPatternProblems(obj: KubeObject): string[] {
    const problems: string[] = [];
    const walk = (value: unknown, at: string) => {
        if (!value || typeof value !== "object") return;
        if (obj.kind === "HelmRelease" && FOREIGN_SUBTREES.has(at)) return;
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

/** Names Let's Encrypt never issues for: RFC 2606 / RFC 6761 reserved names, and single labels. */
export function isReservedHost(host: string): boolean {
    const h = host.toLowerCase().replace(/\.$/, "");
    if (!h.includes(".")) return true;
    const labels = h.split(".");
    const tld = labels[labels.length - 1]!;
    const sld = labels.slice(-2).join(".");
    return (
        ["example", "test", "invalid", "localhost", "local"].includes(tld) ||
        ["example.com", "example.net", "example.org"].includes(sld)
    );
}

/** KCert's label on Ingresses it gets certificates for (nabsul/kcert v1.2.0 K8sWatchClient). */
const KCERT_LABEL = { key: "kcert.dev/ingress", value: "managed" } as const;

/** A KCert-managed Ingress whose TLS hosts Let's Encrypt would refuse. */
function certificateProblems(obj: KubeObject): string[] {
    if (obj.apiVersion !== "networking.k8s.io/v1" || obj.kind !== "Ingress") return [];
    const labels = (obj.metadata as { labels?: Record<string, unknown> } | undefined)?.labels;
    if (labels?.[KCERT_LABEL.key] !== KCERT_LABEL.value) return [];
    const tls = ((obj.spec as { tls?: Array<{ hosts?: unknown[] }> } | undefined)?.tls ?? []).flatMap(
        (t) => t.hosts ?? [],
    );
    return tls
        .filter((h): h is string => typeof h === "string" && isReservedHost(h))
        .map(
            (h) =>
                `asks KCert (${KCERT_LABEL.key}=${KCERT_LABEL.value}) for a certificate for ${h}, a reserved name Let's Encrypt never issues for: set the host to a name whose DNS points at Contour's load balancer`,
        );
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

/** A problem found in one object: the object as built (JSON), to tell which environments apply it. */
const OBJECT = Symbol("object");
type Found = ValidationProblem & { [OBJECT]?: string };

interface Built {
    rel: string;
    dir: string;
    objects: KubeObject[];
    /** variables the built objects use */
    used: string[];
    problems: ValidationProblem[];
}

export async function validateDeploy(root: string, opts: ValidateOptions = {}): Promise<ValidationReport> {
    const absRoot = path.resolve(root);
    const relativeTo = opts.relativeTo ?? path.dirname(absRoot);
    const report: ValidationReport = { kustomizations: [], environments: [], objects: 0, problems: [] };
    const dirs = await findKustomizations(absRoot);
    if (dirs.length === 0) {
        report.problems.push({
            kustomization: path.relative(relativeTo, absRoot) || ".",
            message: "no kustomization.yaml found",
        });
        return report;
    }
    const bin = opts.kustomize ?? ensureKustomize();
    const variables = opts.variables ?? exampleSettings();
    const sources = await indexSources(absRoot, relativeTo);
    const where = (obj: KubeObject) => sources.get(`${String(obj.kind)}/${String(obj.metadata?.name)}`);

    // 1. build every kustomization and substitute the stack's variables, as Flux does
    const builds = limiter(Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
    const built: Built[] = await Promise.all(
        dirs.map(async (dir): Promise<Built> => {
            const rel = path.relative(relativeTo, dir) || ".";
            const b: Built = { rel, dir, objects: [], used: [], problems: [] };
            let output: string;
            try {
                output = await builds(() => (opts.build ?? cachedKustomizeBuild)(bin, dir));
            } catch (err) {
                b.problems.push({ kustomization: rel, message: `kustomize build failed: ${(err as Error).message}` });
                return b;
            }
            for (const doc of parseAllDocuments(output)) {
                if (doc.errors.length > 0) {
                    b.problems.push({
                        kustomization: rel,
                        message: `kustomize output is not valid YAML: ${doc.errors[0]?.message}`,
                    });
                    continue;
                }
                let obj = doc.toJS() as KubeObject | null;
                if (obj === null) continue;
                if (!substitutionDisabled(obj as never)) {
                    const sub = substituteText(stringify(obj, { lineWidth: 0 }), variables);
                    b.used.push(...sub.used.filter((v) => !b.used.includes(v)));
                    if (sub.error !== undefined) {
                        b.problems.push({
                            kustomization: rel,
                            object: describeObject(obj),
                            files: where(obj),
                            message: `Flux cannot substitute its variables, so the Kustomization that applies it fails: ${sub.error}`,
                        });
                    }
                    obj = parseAllDocuments(sub.text)[0]?.toJS() as KubeObject;
                    for (const name of sub.missing) {
                        b.problems.push({
                            kustomization: rel,
                            object: describeObject(obj),
                            files: where(obj),
                            message: `uses \${${name}}, which the stack does not set (Flux would substitute ""); the stack sets ${Object.keys(PLATFORM_VARIABLES).join(", ")}`,
                        });
                    }
                }
                b.objects.push(obj);
            }
            return b;
        }),
    );

    // 2. no plaintext Secret: in the tree's files and in what its kustomizations build
    const plaintext = await findPlaintextSecrets(absRoot, {
        relativeTo,
        built: new Map(built.map((b) => [b.dir, b.objects])),
    });
    const rootRel = path.relative(relativeTo, absRoot) || ".";
    const guard: ValidationProblem[] = plaintext.map((p) => ({
        kustomization: rootRel,
        object: p.object,
        files: p.files,
        message: p.message,
    }));

    // 3. kinds defined by CustomResourceDefinitions in the tree get their schema from them
    const crdSchemas = new Map<string, ValidateFunction>();
    for (const b of built) for (const o of b.objects) addCrdSchemas(o, crdSchemas);

    // 4. validate every distinct object once
    const verdicts = new Map<string, Promise<string[]>>();
    const reachOf = new Map<string, Set<string>>(); // kustomization (relative) → folders it builds from
    const results = await Promise.all(
        built.map(async (b) => {
            const problems: Found[] = [...b.problems];
            // an object's files: those this kustomization builds from (an overlay's patch, its base)
            const reached = await reachedFolders([b.dir], absRoot);
            reachOf.set(b.rel, reached);
            const filesOf = (obj: KubeObject) => {
                const all = where(obj);
                const mine = all?.filter((f) => reached.has(path.dirname(path.resolve(relativeTo, f))));
                return mine?.length ? mine : all;
            };
            for (const obj of b.objects) {
                const key = JSON.stringify(obj);
                let verdict = verdicts.get(key);
                if (!verdict) {
                    verdict = validateTreeObject(obj, crdSchemas);
                    verdicts.set(key, verdict);
                }
                for (const message of await verdict) {
                    problems.push({
                        kustomization: b.rel,
                        object: describeObject(obj),
                        files: filesOf(obj),
                        message,
                        [OBJECT]: key,
                    });
                }
            }
            return { rel: b.rel, objects: b.objects.length, problems };
        }),
    );

    // 5. every environment: the Flux layers its folder applies, and their order
    const environments = await findEnvironments(absRoot);
    const envRel = (env: Environment) => path.relative(relativeTo, env.dir) || ".";
    const reach = new Map<string, Set<string>>(); // environment name → folders (absolute) it applies
    const envObjects = new Map<string, Set<string>>();
    const layerCount = new Map<string, number>();
    if (environments.length === 0 && (await isDir(path.join(absRoot, CLUSTERS_DIR)))) {
        results.push({
            rel: rootRel,
            objects: 0,
            problems: [
                {
                    kustomization: rootRel,
                    message:
                        "clusters/ holds no environment: each environment is a folder clusters/<name> with a kustomization.yaml listing its Flux Kustomizations",
                },
            ],
        });
    }
    for (const env of environments) {
        const rel = envRel(env);
        const envBuild = built.find((b) => b.dir === env.dir);
        const objects = new Set<string>((envBuild?.objects ?? []).map((o) => JSON.stringify(o)));
        const roots = [env.dir];
        const tree: ValidationProblem[] = [];
        const fluxNamespace = variables.flux_namespace ?? "flux-system";
        const found = findLayers(envBuild?.objects ?? [], {
            root: absRoot,
            fluxNamespace,
            syncName: FLUX_SYNC_NAME,
        });
        tree.push(...found.problems.map((p) => ({ kustomization: rel, ...p })));
        const objectsOf = new Map<string, KubeObject[]>();
        for (const layer of found.layers) {
            roots.push(layer.dir);
            const b = built.find((x) => x.dir === layer.dir);
            const object = `Kustomization ${layer.id}`;
            if (!b) {
                tree.push({
                    kustomization: rel,
                    object,
                    message: `spec.path ${layer.path} has no kustomization.yaml (list its files explicitly; paths are relative to the bucket's root)`,
                });
                continue;
            }
            for (const o of b.objects) objects.add(JSON.stringify(o));
            objectsOf.set(layer.id, b.objects);
            if (!layer.substitutes && b.used.length > 0) {
                tree.push({
                    kustomization: rel,
                    object,
                    message: `${layer.path} uses \${${b.used[0]}} but the Kustomization has no postBuild.substituteFrom the platform-settings ConfigMap`,
                });
            }
        }
        for (const p of orderingProblems(found.layers, objectsOf, found.kustomizations)) {
            tree.push({ kustomization: rel, ...p });
        }
        reach.set(env.name, await reachedFolders(roots, absRoot));
        envObjects.set(env.name, objects);
        layerCount.set(env.name, found.layers.length);
        results.push({ rel, objects: 0, problems: tree.map((p) => ({ ...p, environments: [env.name] })) });
    }
    /**
     * The environments a problem affects: those that apply the very object (as built, after
     * their overlays' patches), else those that apply its files or its kustomization folder.
     */
    const environmentsOf = (p: Found): string[] => {
        if (p.environments) return p.environments;
        const key = p[OBJECT];
        if (key !== undefined) return environments.filter((e) => envObjects.get(e.name)?.has(key)).map((e) => e.name);
        const folders = p.files?.length
            ? p.files.map((f) => path.dirname(path.resolve(relativeTo, f)))
            : [path.resolve(relativeTo, p.kustomization)];
        return environments.filter((e) => folders.some((f) => reach.get(e.name)?.has(f))).map((e) => e.name);
    };

    results.push({ rel: rootRel, objects: 0, problems: guard });

    // Report each distinct problem once, at the innermost kustomization that shows it, naming
    // every environment any of its copies affects.
    const seen = new Map<string, ValidationProblem>();
    for (const r of [...results].reverse()) {
        for (const p of r.problems) {
            const id = `${p.object ?? p.kustomization}\u0000${p.message}`;
            const envs = environmentsOf(p);
            const kept = seen.get(id);
            if (p.object && kept) {
                // a base's problem seen first through an overlay: report it at the base
                if (reachOf.get(kept.kustomization)?.has(path.resolve(relativeTo, p.kustomization))) {
                    kept.kustomization = p.kustomization;
                    kept.files = p.files;
                }
                kept.environments = environments
                    .map((e) => e.name)
                    .filter((n) => kept.environments?.includes(n) || envs.includes(n));
                continue;
            }
            const { [OBJECT]: _key, ...plain } = p as Found;
            const withEnvs: ValidationProblem = { ...plain, environments: envs };
            seen.set(id, withEnvs);
            report.problems.push(withEnvs);
        }
    }
    report.problems.reverse();
    for (const b of built) report.kustomizations.push({ dir: b.rel, objects: b.objects.length });
    for (const env of environments) {
        report.environments.push({
            name: env.name,
            dir: envRel(env),
            layers: layerCount.get(env.name) ?? 0,
            objects: envObjects.get(env.name)?.size ?? 0,
            problems: report.problems.filter((p) => p.environments?.includes(env.name)).length,
        });
    }
    report.objects = verdicts.size;
    return report;
}

/** Adds an ajv validator for the served versions of a CustomResourceDefinition object. */
function addCrdSchemas(obj: KubeObject, into: Map<string, ValidateFunction>): void {
    if (obj.apiVersion !== "apiextensions.k8s.io/v1" || obj.kind !== "CustomResourceDefinition") return;
    const spec = obj.spec as
        | {
              group?: string;
              names?: { kind?: string };
              versions?: Array<{ name?: string; served?: boolean; schema?: { openAPIV3Schema?: object } }>;
          }
        | undefined;
    for (const v of spec?.versions ?? []) {
        if (!spec?.group || !spec.names?.kind || !v.name || v.served === false || !v.schema?.openAPIV3Schema) continue;
        try {
            const validate = new Ajv({ allErrors: true, strict: false }).compile(v.schema.openAPIV3Schema);
            into.set(`${spec.group}/${v.name}/${spec.names.kind}`, validate);
        } catch {
            /* a schema ajv cannot compile: the object is still checked for apiVersion, kind and name */
        }
    }
}

/** validateObject, plus the schemas of CRDs in the tree and the certificate guard. */
/**
 * A SOPS-sealed Secret as kustomize-controller applies it: decrypted (each value stands for a
 * base64 placeholder here) and without the `sops` metadata, which it strips.
 */
function asDecrypted(obj: KubeObject): KubeObject {
    if (obj.apiVersion !== "v1" || obj.kind !== "Secret" || !hasSopsMetadata(obj as never)) return obj;
    const { sops: _sops, ...rest } = obj as KubeObject & { sops?: unknown };
    const placeholders = (v: unknown, value: string) =>
        v && typeof v === "object" ? Object.fromEntries(Object.keys(v).map((k) => [k, value])) : v;
    const out: Record<string, unknown> = { ...rest };
    if ("data" in out) out.data = placeholders(out.data, "c2VhbGVk");
    if ("stringData" in out) out.stringData = placeholders(out.stringData, "sealed");
    return out as KubeObject;
}

async function validateTreeObject(raw: KubeObject, crds: ReadonlyMap<string, ValidateFunction>): Promise<string[]> {
    const obj = asDecrypted(raw);
    const crd = crds.get(`${String(obj.apiVersion)}/${String(obj.kind)}`);
    if (crd) {
        const problems: string[] = [];
        if (typeof obj.metadata?.name !== "string" || obj.metadata.name === "")
            problems.push("metadata.name is missing");
        if (!crd(obj)) problems.push(formatValidationError({ errors: crd.errors }));
        return problems;
    }
    return [...(await validateObject(obj)), ...certificateProblems(obj)];
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
    const envs = p.environments?.length
        ? `; environment${p.environments.length === 1 ? "" : "s"} ${p.environments.join(", ")}`
        : "";
    return `${where}${what}${p.message} [kustomization ${p.kustomization}${envs}]`;
}

async function isDir(p: string): Promise<boolean> {
    try {
        return (await stat(p)).isDirectory();
    } catch {
        return false;
    }
}
