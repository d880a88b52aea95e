// Test files that may share a Node.js process (`--test-isolation=none`) in tools/test/run.mts.
//
// Each of these only runs the program or components under Pulumi's mocks (test/harness.ts,
// tools/mocks.ts runOffline): every run calls pulumi.runtime.setMocks and setAllConfig afresh
// (setAllConfig replaces the whole config), and a file already runs many stacks one after the
// other in one process, so several files one after the other are no different. What they
// share is loading @pulumi/pulumi (with the TypeScript compiler and npm's arborist it pulls
// in: about 3 s of CPU per process), which a shared process pays once. Files with pure checks
// or short child processes and no Pulumi run (flux-substitute and its upstream comparison,
// local-quickstart, the mutation tools' tests, run-bundled, the upload tool's in-process unit
// files) are here too, to save a process start (tsx, the test runner and the modules they load:
// about 0.26 s of CPU each, measured: 11 such files took 10.0 s of CPU alone, 7.1 s together).
//
// A file belongs here only if it: sets no process.env, cwd or other global at load or in a
// test; has no top-level before/after hooks (in a shared process they would apply to every
// file); starts no server; and starts no Pulumi run while it loads (at the top of the file or
// in a describe() body: in a shared process every file loads before the first test runs).
// tools/test/shared-guard.mts fails such a run in a shared process, naming the file (so
// flux-alert and flux-provider start their run on a test's first call, and notifications-schema
// and stack-schema run theirs in a test, with a subtest per object). A short
// spawnSync of kustomize or ssh-keygen inside a test is fine. Files that drive make, start
// servers or change the environment run in their own process, as does any file not listed
// here. The runner refuses a listed file that does not exist, so the list cannot go stale.
export const SHARED_PROCESS_FILES: readonly string[] = [
    "test/component-outputs.test.ts",
    "test/config-properties.test.ts",
    "test/config.test.ts",
    "test/contour.test.ts",
    "test/deploy-tree.test.ts",
    "test/destroy-mode.test.ts",
    "test/doks-cluster.test.ts",
    "test/environments.test.ts",
    "test/existing-cluster.test.ts",
    "test/flux-alert.test.ts",
    "test/flux-bootstrap.test.ts",
    "test/flux-crd-ordering.test.ts",
    "test/flux-provider.test.ts",
    "test/flux-receiver.test.ts",
    "test/flux-substitute-upstream.test.ts",
    "test/flux-substitute.test.ts",
    "test/flux-sync-settings.test.ts",
    "test/flux-sync.test.ts",
    "test/github-source.test.ts",
    "test/github-webhook.test.ts",
    "test/gitops-bucket.test.ts",
    "test/image-automation.test.ts",
    "test/in-cluster-s3.test.ts",
    "test/kcert-patches.test.ts",
    "test/kcert.test.ts",
    "test/kubernetes-version.test.ts",
    "test/load-balancer-dns.test.ts",
    "test/local-quickstart.test.ts",
    "test/mutation-merge.test.ts",
    "test/mutation-reach.test.ts",
    "test/notification-providers.test.ts",
    "test/notifications-program.test.ts",
    "test/notifications-schema.test.mts",
    "test/program.test.ts",
    "test/readme.test.ts",
    "test/receiver-exposure.test.ts",
    "test/receivers.test.ts",
    "test/resource-identity.test.ts",
    "test/run-bundled.test.ts",
    "test/secrets-in-state.test.ts",
    "test/sops-age-key.test.ts",
    "test/stack-schema.test.mts",
    "test/upload-local.test.ts",
    "test/upload-sigv4-xml.test.ts",
    "test/upload-sync-plan.test.ts",
    "test/upload-units.test.ts",
    "test/webhooks-program.test.ts",
    "test/webhooks-schema.test.mts",
];

// Test files of the upload tool that share Node.js processes of their own (`--test-isolation=none`,
// without shared-guard.mts: none of them loads Pulumi), one process per group below. What they
// share is loading the upload tool's modules, the AWS SDK, the S3 servers and Node's test runner
// with tsx (measured: the 12 files of the first group took 18.7 s of CPU one process each, 12.7 s
// in one process; the 3 of the second 19.0 s and 15.9 s). Unlike the files above they start
// servers and change process state, within limits that keep them independent: the tests of one
// process run one at a time, so a file belongs here only if
// - its top-level hooks are `before`/`after` for its own servers and folders (they run once for
//   the whole process), never `beforeEach`/`afterEach` (they would wrap every file's tests; the
//   runner refuses a listed file that has one);
// - a test that changes process.env, the working directory or process.exitCode puts it back
//   before it ends, and what a file sets at load is harmless to the others (the AWS SDK's Node
//   version warning turned off);
// - its servers and buckets are its own, and it waits for what it started before a test ends.
// The heaviest upload files (faults, s3) keep processes of their own, and the heavier ones are a
// group apart, so that the groups run beside each other and the rest on both cores.
export const UPLOAD_PROCESS_GROUPS: Readonly<Record<string, readonly string[]>> = {
    "upload process": [
        "test/upload-cli.test.ts",
        "test/upload-client.test.ts",
        "test/upload-config.test.ts",
        "test/upload-digest-worker.test.ts",
        "test/upload-digest.test.ts",
        "test/upload-entry.test.ts",
        "test/upload-etag.test.ts",
        "test/upload-ops.test.ts",
        "test/upload-port-forward.test.ts",
        "test/upload-receiver.test.ts",
        "test/upload-tls.test.ts",
        "test/upload-trigger.test.ts",
    ],
    "upload process (sync, failures, integrity)": [
        "test/upload-failures.test.ts",
        "test/upload-integrity.test.ts",
        "test/upload-sync.test.ts",
    ],
};
/** Every file of UPLOAD_PROCESS_GROUPS. */
export const UPLOAD_PROCESS_FILES: readonly string[] = Object.values(UPLOAD_PROCESS_GROUPS).flat();
