/**
 * Mutation-testing groups for `make mutation` (StrykerJS, see main.ts).
 *
 * Each group mutates a few source files and runs only the test files written for them, so a
 * group takes minutes on one core. Stryker records which test file covers which mutant during
 * its first (dry) run and afterwards runs, for each mutant, only the files that reach it.
 * Order: the components with the most user-facing risk first.
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
/** What every component registers as its outputs (stored in the state), secrets as secrets. */
const OUTPUTS = "test/component-outputs.test.ts";

/**
 * `components/versions.ts` holds the pinned versions and digests: data, which Stryker does not
 * mutate (a different pin is no defect a test could name without repeating the pin; the pins
 * are checked against their upstreams where they are used: the e2e builds from Go modules by
 * version, the Flux controllers against flux2's go.mod, KCert's deploy.yml). Its one expression,
 * the SeaweedFS image reference, is mutated with the in-cluster S3 server that runs it.
 * `components/flux/api.ts` and `components/contour/api.ts` are types and API-version constants:
 * mutated in the groups whose tests validate objects against the upstream schemas.
 */
export const GROUPS: readonly MutationGroup[] = [
    {
        name: "gitops-bucket",
        mutate: ["components/gitops-bucket.ts"],
        tests: ["test/gitops-bucket.test.ts", IDENTITY, SECRETS, OUTPUTS],
    },
    {
        name: "flux-receiver",
        mutate: ["components/flux-receiver.ts"],
        tests: ["test/flux-receiver.test.ts", IDENTITY, SECRETS, OUTPUTS],
    },
    {
        name: "kcert",
        mutate: ["components/kcert.ts", "components/flux/patches.ts"],
        tests: ["test/kcert.test.ts", "test/kcert-patches.test.ts", IDENTITY, OUTPUTS],
    },
    {
        name: "flux-bootstrap",
        mutate: ["components/flux-bootstrap.ts"],
        tests: ["test/flux-bootstrap.test.ts", "test/flux-crd-ordering.test.ts", IDENTITY, SECRETS, OUTPUTS],
    },
    {
        name: "flux-sync",
        mutate: ["components/flux-sync.ts", "components/flux/sync.ts", "components/flux/settings.ts"],
        tests: [
            "test/flux-sync-settings.test.ts",
            "test/flux-sync.test.ts",
            "test/sops-age-key.test.ts",
            "test/flux-bootstrap.test.ts",
            IDENTITY,
            OUTPUTS,
        ],
    },
    {
        // the port of fluxcd/pkg/envsubst: its own tests, and the comparison with the Go package
        name: "flux-substitute",
        mutate: ["components/flux/substitute.ts"],
        tests: ["test/flux-substitute.test.ts", "test/flux-substitute-upstream.test.ts"],
    },
    {
        name: "receiver-exposure",
        mutate: ["components/receiver-exposure.ts", "components/contour/api.ts"],
        tests: ["test/receiver-exposure.test.ts", "test/webhooks-schema.test.mts", IDENTITY, OUTPUTS],
    },
    {
        name: "github-webhook",
        mutate: ["components/github-webhook.ts"],
        tests: ["test/github-webhook.test.ts", IDENTITY, SECRETS, OUTPUTS],
    },
    {
        name: "github-source",
        mutate: ["components/github-source.ts"],
        tests: ["test/github-source.test.ts", IDENTITY, SECRETS, OUTPUTS],
    },
    {
        name: "sops-age-key",
        mutate: ["components/sops-age-key.ts", "components/age-identity.ts"],
        tests: ["test/sops-age-key.test.ts", IDENTITY, SECRETS, OUTPUTS],
    },
    {
        name: "doks-cluster",
        mutate: ["components/doks-cluster.ts"],
        tests: ["test/doks-cluster.test.ts", IDENTITY, SECRETS, OUTPUTS],
    },
    {
        name: "in-cluster-s3",
        mutate: ["components/in-cluster-s3.ts", "components/versions.ts"],
        tests: ["test/in-cluster-s3.test.ts", "test/existing-cluster.test.ts", IDENTITY, SECRETS, OUTPUTS],
    },
    {
        name: "contour",
        mutate: ["components/contour.ts"],
        tests: ["test/contour.test.ts", IDENTITY, OUTPUTS],
    },
    {
        name: "load-balancer-dns",
        mutate: ["components/load-balancer-dns.ts"],
        tests: ["test/load-balancer-dns.test.ts", IDENTITY, OUTPUTS],
    },
    {
        name: "flux-notifications",
        mutate: ["components/flux-provider.ts", "components/flux-alert.ts", "components/flux/api.ts"],
        tests: [
            "test/flux-provider.test.ts",
            "test/flux-alert.test.ts",
            "test/flux-receiver.test.ts",
            "test/notification-providers.test.ts",
            IDENTITY,
            SECRETS,
            OUTPUTS,
        ],
    },
    {
        // the schema: patterns, defaults, lists (lines 1-440). Only the tests of parseConfig itself:
        // the ones that run the whole program (named [program]) load all of it in every process,
        // for config behaviour the others pin directly.
        name: "config-schema",
        mutate: ["infrastructure/config.ts:1-440"],
        tests: ["test/config-properties.test.ts", "test/config.test.ts"],
        skipTests: "\\[program\\]",
    },
    {
        // the rest of the file: messages, cross-field checks, stack-file checks
        name: "config-checks",
        mutate: ["infrastructure/config.ts:441-5000"],
        tests: ["test/config.test.ts", "test/config-properties.test.ts"],
        skipTests: "\\[program\\]",
    },
    // tools/upload/: each group's first test file runs in process, with no S3 server (the
    // in-memory bucket of test/upload-fake-s3.ts, behind a loopback HTTP server in
    // test/upload-fake-http.ts for the whole command), so most mutants are killed for the cost of
    // one short test process; the s3rver test files after it see only what that file lets through.
    // In no group: main.ts (two lines: run entry.ts's main with the arguments), run.cjs and
    // build.cjs (the loader of the bundle and the script that builds it) run only as processes of
    // their own (`make upload-do`, `npm run build:upload`), where Stryker activates no mutant (its
    // hook is loaded in the test process only), so each of their mutants would count as not
    // covered however well they are tested; a mutated build.cjs would also rebuild bin/ for every
    // mutant. The tests that run them as commands pin them: upload-units ("the precompiled entry
    // point"), upload-failures and upload-digest (the command's exit code and summary line).
    {
        name: "upload-etag",
        mutate: ["tools/upload/etag.ts"],
        tests: [
            "test/upload-etag.test.ts",
            "test/upload-sync-plan.test.ts",
            "test/upload-units.test.ts",
            "test/upload-integrity.test.ts",
        ],
    },
    {
        // the S3 path of the upload tool (no AWS SDK since the rewrite of 2026-12-07): signer, calls, replies;
        // the in-process files first (signer and XML, the calls, the client against a loopback server)
        name: "upload-s3",
        mutate: ["tools/upload/sigv4.ts", "tools/upload/xml.ts", "tools/upload/s3.ts", "tools/upload/ops.ts"],
        tests: [
            "test/upload-sigv4-xml.test.ts",
            "test/upload-ops.test.ts",
            "test/upload-client.test.ts",
            "test/upload-sync-plan.test.ts",
            "test/upload-s3.test.ts",
            "test/upload-units.test.ts",
            "test/upload-integrity.test.ts",
        ],
    },
    {
        // the sync (plan, digestAll, uploads, deletes) and its one read of every file, digest-worker.cjs:
        // CommonJS, which Stryker mutates too; the instrumented copy runs in the worker thread as well
        // (the thread inherits the process's environment, where the tap runner names the active
        // mutant), but coverage is only recorded in the test process's main thread: what runs only
        // in the worker, its answer(), is exported and run in process by upload-digest-worker.
        name: "upload-sync",
        mutate: ["tools/upload/sync.ts", "tools/upload/digest-worker.cjs"],
        tests: [
            "test/upload-sync-plan.test.ts",
            "test/upload-digest-worker.test.ts",
            "test/upload-digest.test.ts",
            "test/upload-units.test.ts",
            "test/upload-sync.test.ts",
            "test/upload-integrity.test.ts",
        ],
    },
    {
        // what a scan takes (files), the retry schedule (retry), the worker pool (pool)
        name: "upload-local",
        mutate: ["tools/upload/files.ts", "tools/upload/retry.ts", "tools/upload/pool.ts"],
        tests: [
            "test/upload-local.test.ts",
            "test/upload-sync-plan.test.ts",
            "test/upload-units.test.ts",
            "test/upload-failures.test.ts",
        ],
    },
    // The last three groups run only their in-process test files: a mutant that survives them
    // would cost each s3rver test file that loads its file (tens of seconds apiece, most of a
    // group's run); those files reach the survivors in the `--whole-suite` pass instead.
    {
        // the Flux receiver call, its extra trust, the port-forwards of existing-cluster stacks
        name: "upload-receiver",
        mutate: ["tools/upload/receiver.ts", "tools/upload/trust.ts", "tools/upload/port-forward.ts"],
        tests: ["test/upload-trigger.test.ts"],
    },
    {
        // the command's settings: flags, environment and stack outputs (config), the pulumi call (stack)
        name: "upload-cli-config",
        mutate: ["tools/upload/config.ts", "tools/upload/stack.ts"],
        tests: ["test/upload-config.test.ts", "test/upload-cli.test.ts"],
    },
    {
        // the run (cli), its output (progress) and the process: exit codes, signals (entry)
        name: "upload-cli-run",
        mutate: ["tools/upload/progress.ts", "tools/upload/cli.ts", "tools/upload/entry.ts"],
        tests: ["test/upload-cli.test.ts", "test/upload-entry.test.ts"],
    },
];
