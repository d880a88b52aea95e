/**
 * Mutation-testing groups for `make mutation` (StrykerJS, see main.ts).
 *
 * Each group mutates a few source files and runs only the test files written for them, so a
 * group takes minutes on one core. Stryker records which test file covers which mutant during
 * its first (dry) run and afterwards runs, for each mutant, only the files that reach it.
 * Order: smallest first.
 *
 * A mutant that is truly equivalent (no test could tell it apart) is marked where it lives,
 * with a `// Stryker disable next-line <Mutator>: <reason>` comment, which Stryker reports
 * as Ignored with that reason.
 */
export interface MutationGroup {
    /** What `GROUP=` selects. */
    readonly name: string;
    /** Files (or `file:line-line` ranges) to mutate. */
    readonly mutate: readonly string[];
    /** The test files that cover them (run with `node --import tsx`). */
    readonly tests: readonly string[];
    /**
     * Tests of these files to leave out (a `--test-skip-pattern` regex over test names): slow
     * load tests that exercise nothing the group's other tests do not.
     */
    readonly skipTests?: string;
}

/** Every resource's URN: catches a renamed or reparented child of any component. */
const IDENTITY = "test/resource-identity.test.ts";
/** Every credential output registered as a secret output, program-wide. */
const SECRETS = "test/secrets-in-state.test.ts";

export const GROUPS: readonly MutationGroup[] = [
    {
        name: "gitops-bucket",
        mutate: ["components/gitops-bucket.ts"],
        tests: ["test/gitops-bucket.test.ts", IDENTITY, SECRETS],
    },
    {
        name: "flux-receiver",
        mutate: ["components/flux-receiver.ts"],
        tests: ["test/flux-receiver.test.ts", IDENTITY, SECRETS],
    },
    {
        name: "kcert",
        mutate: ["components/kcert.ts", "components/flux/patches.ts"],
        tests: ["test/kcert.test.ts", "test/kcert-patches.test.ts", IDENTITY],
    },
    {
        name: "upload-etag",
        mutate: ["tools/upload/etag.ts"],
        tests: ["test/upload-units.test.ts", "test/upload-integrity.test.ts"],
    },
    {
        name: "upload-sync",
        mutate: ["tools/upload/sync.ts"],
        tests: ["test/upload-units.test.ts", "test/upload-integrity.test.ts", "test/upload-sync.test.ts"],
    },
    {
        // the schema's patterns and defaults (the rest of the file: messages and cross-field checks)
        name: "config-schema",
        mutate: ["infrastructure/config.ts:1-300"],
        tests: ["test/config-properties.test.ts", "test/config.test.ts"],
    },
    {
        name: "config-checks",
        mutate: ["infrastructure/config.ts:301-1200"],
        tests: ["test/config.test.ts", "test/config-properties.test.ts", "test/existing-cluster.test.ts"],
    },
];
