/**
 * How `make destroy` tells the program that a run is part of a destroy. Environment variables,
 * set by tools/bootstrap for its `pulumi refresh` and `pulumi destroy` calls only (never for
 * `pulumi up`): Pulumi gives a program no other way to know the operation it runs under.
 * Kept free of Pulumi imports so the bootstrap tool can use it.
 */

/** `1` while `make destroy` refreshes and destroys the stack. */
export const DESTROY_ENV = "DO_GITOPS_DESTROY";
/** `1` with `make destroy CLUSTER_GONE=1`: treat the cluster as gone even if DigitalOcean lists it. */
export const CLUSTER_GONE_ENV = "DO_GITOPS_CLUSTER_GONE";

export interface RunMode {
    /** The run is the refresh or destroy of `make destroy`. */
    readonly destroying: boolean;
    /** The user declared the cluster gone (`CLUSTER_GONE=1`); only meaningful while destroying. */
    readonly declaredGone: boolean;
}

export function runMode(env: NodeJS.ProcessEnv): RunMode {
    const destroying = env[DESTROY_ENV] === "1";
    return { destroying, declaredGone: destroying && env[CLUSTER_GONE_ENV] === "1" };
}
