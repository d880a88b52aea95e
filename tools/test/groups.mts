// Test files that may share a Node.js process (`--test-isolation=none`) in tools/test/run.mts.
//
// Each of these only runs the program or components under Pulumi's mocks (test/harness.ts,
// tools/mocks.ts runOffline): every run calls pulumi.runtime.setMocks and setAllConfig afresh
// (setAllConfig replaces the whole config), and a file already runs many stacks one after the
// other in one process, so several files one after the other are no different. What they
// share is loading @pulumi/pulumi (with the TypeScript compiler and npm's arborist it pulls
// in: about 3 s of CPU per process), which a shared process pays once. A few files with pure
// checks (no Pulumi run: flux-substitute, local-quickstart, mutation-reach) are here too, to
// save a process start (tsx and the test runner, about 0.3 s of CPU each).
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
    "test/mutation-reach.test.ts",
    "test/notification-providers.test.ts",
    "test/notifications-program.test.ts",
    "test/notifications-schema.test.mts",
    "test/program.test.ts",
    "test/readme.test.ts",
    "test/receiver-exposure.test.ts",
    "test/receivers.test.ts",
    "test/resource-identity.test.ts",
    "test/secrets-in-state.test.ts",
    "test/sops-age-key.test.ts",
    "test/stack-schema.test.mts",
    "test/webhooks-program.test.ts",
    "test/webhooks-schema.test.mts",
];
