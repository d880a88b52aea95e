/**
 * What the Flux Operator generates for `FluxInstance.spec.sync.kind: Bucket`, and Kustomize's
 * JSON6902 patching of it, so tests can compare the operator path with the objects the stack
 * creates itself on an existing Flux installation.
 */
import * as jsonpatch from "fast-json-patch";

/**
 * The sync objects the Flux Operator generates for `sync.kind: Bucket` (flux-operator's
 * builder, internal/builder/templates.go `syncTmpl`: Bucket endpoint = sync.url, bucketName =
 * sync.ref; Kustomization with a fixed 10m interval and prune, without retryInterval, timeout or
 * wait).
 */
export function generatedSyncObjects(spec: any, namespace = "flux-system") {
    const bucket = {
        apiVersion: "source.toolkit.fluxcd.io/v1",
        kind: "Bucket",
        metadata: { name: spec.sync.name, namespace },
        spec: {
            interval: spec.sync.interval,
            bucketName: spec.sync.ref,
            secretRef: { name: spec.sync.pullSecret },
            provider: spec.sync.provider,
            endpoint: spec.sync.url,
        },
    };
    const kustomization = {
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: { name: spec.sync.name, namespace },
        spec: {
            interval: "10m0s",
            path: spec.sync.path,
            prune: true,
            sourceRef: { kind: "Bucket", name: spec.sync.name },
        },
    };
    return { bucket, kustomization };
}

/** Applies the JSON6902 patches whose target matches `obj` (kind, name, namespace), in order. */
export function applyPatches(obj: any, patches: any[]) {
    let doc = structuredClone(obj);
    for (const p of patches) {
        const t = p.target;
        if (
            t.kind === obj.kind &&
            t.name === obj.metadata.name &&
            (!t.namespace || t.namespace === obj.metadata.namespace)
        ) {
            doc = jsonpatch.applyPatch(doc, JSON.parse(p.patch), true, false).newDocument;
        }
    }
    return doc;
}
