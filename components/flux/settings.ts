/**
 * The stack's values that the GitOps tree (`deploy/`) may use as `${name}`: Flux substitutes
 * them when it applies the tree (post-build substitution), so the same tree serves every stack
 * and nothing stack-specific is hard-coded in it. The root Kustomization gets them inline
 * (`postBuild.substitute`, a FluxInstance patch); the layers in `deploy/` read them from the
 * ConfigMap below (`postBuild.substituteFrom`), which the stack creates in the Flux namespace.
 */

/** Name of the ConfigMap, in the Flux namespace, holding the stack's values for `deploy/`. */
export const PLATFORM_SETTINGS_NAME = "platform-settings";

/** Every variable the stack sets, what it holds, and an example value (used by `make validate`). */
export const PLATFORM_VARIABLES = {
    flux_namespace: { meaning: "the Flux namespace (`flux.namespace`)", example: "flux-system" },
    cluster_name: { meaning: "the DOKS cluster's name (`cluster.name`)", example: "do-gitops-platform-dev" },
    cluster_region: { meaning: "the cluster's region slug (`cluster.region`)", example: "fra1" },
    quote: {
        meaning:
            "a double quote (`\"`): put it before and after a variable whose value must stay a string (kustomize drops the quotes of a quoted variable, so a name such as `123` or `on` would become a number or a boolean; Flux's documented way, see README)",
        example: '"',
    },
} as const satisfies Record<string, { meaning: string; example: string }>;

export type PlatformVariable = keyof typeof PLATFORM_VARIABLES;

/** Flux's rule for variable names (fluxcd/pkg/kustomize `varsubRegex`). */
export const VARIABLE_NAME = /^[_a-zA-Z][_a-zA-Z0-9]*$/;

/** The example values, as `make validate` substitutes them. */
export function exampleSettings(): Record<PlatformVariable, string> {
    return Object.fromEntries(Object.entries(PLATFORM_VARIABLES).map(([k, v]) => [k, v.example])) as Record<
        PlatformVariable,
        string
    >;
}

/** Name of the Bucket source and the root Kustomization (the Flux Operator's fixed choice, `FluxInstance.spec.sync.name`). */
export const FLUX_SYNC_NAME = "flux-system";

/** The Secret, in the Flux namespace, holding the age identity Flux decrypts SOPS files with. */
export const SOPS_AGE_SECRET = {
    name: "sops-age",
    /** kustomize-controller imports every data entry whose name ends in `.agekey` as age identities. */
    key: "age.agekey",
} as const;
