// The Flux side of `make validate`: each environment's folder (clusters/<env>, or the root of a
// tree without environments) holds Flux Kustomizations (the layers infra-controllers →
// infra-configs → apps) that apply folders of the same tree from the stack's bucket, by paths
// relative to the bucket's root. Offline, this finds those layers in the folder's build and
// checks that Flux will apply them in a working order:
//  - every layer's path is a folder of the tree with a kustomization file;
//  - every dependsOn names a Kustomization that exists, and the graph has no cycle;
//  - a layer others depend on sets `wait: true` (kustomize-controller marks a Kustomization
//    Ready once applied unless it waits for health, so dependents would start too early);
//  - an object whose kind a CustomResourceDefinition in the tree defines is applied by that
//    CRD's layer (kustomize-controller applies CRDs first within one apply) or by a layer that
//    depends on it, directly or not; anywhere else the server-side dry-run of the object fails,
//    and fluxcd/pkg/ssa's ApplyAll then applies nothing of that layer;
//  - no object is applied by two layers (each would prune it from the other);
//  - every layer decrypts SOPS-encrypted Secrets with the stack's `sops-age` Secret (without
//    `decryption`, kustomize-controller v1.9.4 refuses a sealed Secret itself: "<Secret> is SOPS
//    encrypted, configuring decryption is required for this secret to be reconciled",
//    internal/controller/kustomization_controller.go, and applies nothing of that layer).
import path from "node:path";
import { SOPS_AGE_SECRET } from "../../components/flux/settings";

/** The parts of a Kubernetes object these checks read. */
export interface TreeObject {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: unknown; namespace?: unknown };
    spec?: unknown;
    [field: string]: unknown;
}

export const KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/v1";

/** One Flux Kustomization of the root that applies a folder of this tree. */
export interface FluxLayer {
    /** `namespace/name`. */
    readonly id: string;
    /** Folder it applies (absolute). */
    readonly dir: string;
    /** `spec.path` as written. */
    readonly path: string;
    /** `namespace/name` of each dependsOn entry. */
    readonly dependsOn: readonly string[];
    readonly wait: boolean;
    /** Whether it names a ConfigMap or Secret to substitute from, or inline values. */
    readonly substitutes: boolean;
}

export interface TreeProblem {
    /** `Kind namespace/name` of the object the problem is about. */
    readonly object: string;
    readonly message: string;
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const describe = (o: TreeObject) =>
    `${String(o.kind)} ${str(o.metadata?.namespace) ? `${String(o.metadata?.namespace)}/` : ""}${String(o.metadata?.name)}`;

/** The root's Flux Kustomizations that apply this tree from the stack's Bucket source. */
export function findLayers(
    rootObjects: readonly TreeObject[],
    opts: { root: string; fluxNamespace: string; syncName: string },
): { layers: FluxLayer[]; kustomizations: Set<string>; problems: TreeProblem[] } {
    const layers: FluxLayer[] = [];
    const problems: TreeProblem[] = [];
    const kustomizations = new Set<string>();
    for (const o of rootObjects) {
        if (o.apiVersion !== KUSTOMIZE_API || o.kind !== "Kustomization") continue;
        const ns = str(o.metadata?.namespace) ?? opts.fluxNamespace;
        const id = `${ns}/${String(o.metadata?.name)}`;
        kustomizations.add(id);
        const spec = (o.spec ?? {}) as {
            sourceRef?: { kind?: unknown; name?: unknown; namespace?: unknown };
            path?: unknown;
            dependsOn?: Array<{ name?: unknown; namespace?: unknown }>;
            wait?: unknown;
            postBuild?: { substitute?: unknown; substituteFrom?: unknown[] };
            decryption?: { provider?: unknown; secretRef?: { name?: unknown } };
        };
        const ref = spec.sourceRef ?? {};
        const fromBucket =
            ref.kind === "Bucket" && ref.name === opts.syncName && (str(ref.namespace) ?? ns) === opts.fluxNamespace;
        if (!fromBucket) continue; // e.g. a GitRepository-sourced Kustomization: not this tree
        if (ns !== opts.fluxNamespace) {
            problems.push({
                object: describe(o),
                message: `must be in the Flux namespace (metadata.namespace: \${flux_namespace}), where its Bucket source and the platform-settings ConfigMap are`,
            });
        }
        if (spec.decryption?.provider !== "sops" || spec.decryption.secretRef?.name !== SOPS_AGE_SECRET.name) {
            problems.push({
                object: describe(o),
                message: `has no decryption: {provider: sops, secretRef: {name: ${SOPS_AGE_SECRET.name}}}: kustomize-controller refuses every Secret make seal encrypts ("is SOPS encrypted, configuring decryption is required") and applies nothing of the layer`,
            });
        }
        const p = str(spec.path) ?? "./";
        const dir = path.resolve(opts.root, p);
        if (path.relative(opts.root, dir).startsWith("..")) {
            problems.push({ object: describe(o), message: `spec.path ${p} is outside the tree` });
            continue;
        }
        layers.push({
            id,
            dir,
            path: p,
            dependsOn: (spec.dependsOn ?? []).map((d) => `${str(d.namespace) ?? ns}/${String(d.name)}`),
            wait: spec.wait === true,
            substitutes: spec.postBuild?.substitute !== undefined || (spec.postBuild?.substituteFrom?.length ?? 0) > 0,
        });
    }
    return { layers, kustomizations, problems };
}

/** Every layer `id` depends on, directly or not (without `id` itself unless there is a cycle). */
export function ancestors(layers: readonly FluxLayer[], id: string): Set<string> {
    const byId = new Map(layers.map((l) => [l.id, l]));
    const seen = new Set<string>();
    const pending = [...(byId.get(id)?.dependsOn ?? [])];
    for (let guard = 0; pending.length > 0 && guard < 10_000; guard++) {
        const next = pending.pop()!;
        if (seen.has(next)) continue;
        seen.add(next);
        pending.push(...(byId.get(next)?.dependsOn ?? []));
    }
    return seen;
}

const CRD = "apiextensions.k8s.io/v1/CustomResourceDefinition";

/** `group/Kind` of the objects a CRD object defines. */
function crdKind(o: TreeObject): string | undefined {
    if (`${String(o.apiVersion)}/${String(o.kind)}` !== CRD) return undefined;
    const spec = o.spec as { group?: unknown; names?: { kind?: unknown } } | undefined;
    return typeof spec?.group === "string" && typeof spec.names?.kind === "string"
        ? `${spec.group}/${spec.names.kind}`
        : undefined;
}

const groupKind = (o: TreeObject) => {
    const apiVersion = String(o.apiVersion);
    const slash = apiVersion.lastIndexOf("/");
    return `${slash === -1 ? "" : apiVersion.slice(0, slash)}/${String(o.kind)}`;
};

/** The ordering problems of the layers, given the objects each one applies. */
export function orderingProblems(
    layers: readonly FluxLayer[],
    objectsOf: ReadonlyMap<string, readonly TreeObject[]>,
    kustomizations: ReadonlySet<string>,
): TreeProblem[] {
    const problems: TreeProblem[] = [];
    const obj = (id: string) => `Kustomization ${id}`;
    const dependents = new Map<string, string[]>();
    for (const l of layers) {
        for (const d of l.dependsOn) {
            if (!kustomizations.has(d)) {
                problems.push({ object: obj(l.id), message: `dependsOn ${d}, which the tree does not define` });
            }
            dependents.set(d, [...(dependents.get(d) ?? []), l.id]);
        }
        if (ancestors(layers, l.id).has(l.id)) {
            problems.push({ object: obj(l.id), message: "dependsOn forms a cycle: it would never be applied" });
        }
    }
    for (const l of layers) {
        const after = dependents.get(l.id);
        if (after && !l.wait) {
            problems.push({
                object: obj(l.id),
                message: `${after.join(", ")} depend on it, but it has no wait: true: it turns Ready once applied, before its objects are healthy, so they would start too early`,
            });
        }
    }
    // where each custom kind is defined, and which layer applies each object
    const definedIn = new Map<string, string>();
    const appliedBy = new Map<string, string>();
    for (const l of layers) {
        for (const o of objectsOf.get(l.id) ?? []) {
            const kind = crdKind(o);
            if (kind) definedIn.set(kind, l.id);
            const key = describe(o);
            const other = appliedBy.get(key);
            if (other && other !== l.id) {
                problems.push({
                    object: key,
                    message: `applied by both ${other} and ${l.id}: each would prune or overwrite the other's copy`,
                });
            }
            appliedBy.set(key, l.id);
        }
    }
    for (const l of layers) {
        const before = ancestors(layers, l.id);
        for (const o of objectsOf.get(l.id) ?? []) {
            const owner = definedIn.get(groupKind(o));
            if (owner === undefined || owner === l.id || before.has(owner)) continue;
            problems.push({
                object: describe(o),
                message: `its CustomResourceDefinition is applied by ${owner}, which ${l.id} does not depend on: the dry-run of this object fails until the CRD exists, and then nothing in ${l.id} is applied; move it to a layer after ${owner}`,
            });
        }
    }
    return problems;
}
