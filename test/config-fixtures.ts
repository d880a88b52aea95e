/**
 * The configuration every test starts from, and the fake credentials a real run checks for.
 * Kept apart from harness.ts, which loads the whole program: tests of the configuration alone
 * (parseConfig) import only this and infrastructure/config.ts, so they start in a fraction of
 * the time (make mutation runs them once per mutant).
 */

/** Credentials a real run needs; fake values, present so validation passes. */
export const FAKE_ENV: NodeJS.ProcessEnv = {
    DIGITALOCEAN_TOKEN: "test-do-token",
    SPACES_ACCESS_KEY_ID: "test-spaces-id",
    SPACES_SECRET_ACCESS_KEY: "test-spaces-secret",
    GITHUB_TOKEN: "test-github-token",
};

/** A minimal valid configuration; tests override parts of it. */
export function baseConfig(): Record<string, any> {
    return {
        cluster: { region: "fra1", version: "1.34", nodePool: { size: "s-2vcpu-4gb", count: 2 } },
        webhook: { host: "flux.example.com", dnsZone: "example.com" },
        acme: { email: "ops@example.com", environment: "staging", termsAccepted: true },
    };
}
