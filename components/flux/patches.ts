/**
 * JSON6902 patches built from typed operations, for Flux `Kustomization.spec.patches`
 * and `FluxInstance.spec.kustomize.patches`. The patch text is generated, never hand-written.
 */
import * as pulumi from "@pulumi/pulumi";
import type { KustomizePatch, PatchSelector } from "./api";

/** One RFC 6902 operation. `path` is a JSON Pointer (RFC 6901). */
export type JsonPatchOp =
    | { readonly op: "add" | "replace" | "test"; readonly path: string; readonly value: unknown }
    | { readonly op: "remove"; readonly path: string }
    | { readonly op: "move" | "copy"; readonly from: string; readonly path: string };

/** Escapes one JSON Pointer reference token (`~` → `~0`, `/` → `~1`). */
export function pointerToken(token: string | number): string {
    return String(token).replace(/~/g, "~0").replace(/\//g, "~1");
}

/** Builds a JSON Pointer from reference tokens. */
export function pointer(...tokens: (string | number)[]): string {
    return tokens.map((t) => `/${pointerToken(t)}`).join("");
}

/**
 * A JSON6902 Kustomize patch for `target`. Operation values may hold Outputs; the patch
 * text resolves once they are known (JSON is valid YAML, which is what Kustomize reads).
 */
export function jsonPatch(target: PatchSelector, ops: pulumi.Input<pulumi.Input<JsonPatchOp>[]>): KustomizePatch {
    return {
        target,
        patch: pulumi.output(ops).apply((resolved) => JSON.stringify(resolved)),
    };
}
