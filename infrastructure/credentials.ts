/**
 * The credentials a deployment needs from the environment. Kept free of Pulumi imports so the
 * bootstrap tool's preflight can name a missing one without loading the Pulumi SDK (about 3 s
 * of CPU per `make bootstrap` / `make destroy`); infrastructure/config.ts re-exports both.
 */
import type { Target } from "./target-config";

/** Environment variables a real deployment needs, and why. */
export const CREDENTIAL_ENV: Record<string, string> = {
    DIGITALOCEAN_TOKEN: "DigitalOcean API token (cluster, bucket, keys, DNS)",
    SPACES_ACCESS_KEY_ID: "Spaces access key ID (the provider creates the bucket with it)",
    SPACES_SECRET_ACCESS_KEY: "Spaces secret access key",
};

/**
 * Names the credentials environment variables that are missing for this configuration. The
 * existing-cluster target needs no DigitalOcean or Spaces credentials.
 */
export function missingCredentials(
    env: NodeJS.ProcessEnv,
    needsGitHub: boolean,
    target: Target = "digitalocean",
): string[] {
    const missing: string[] = [];
    if (target === "digitalocean") {
        if (!env.DIGITALOCEAN_TOKEN && !env.DIGITALOCEAN_ACCESS_TOKEN) {
            missing.push(`DIGITALOCEAN_TOKEN: ${CREDENTIAL_ENV.DIGITALOCEAN_TOKEN}`);
        }
        for (const key of ["SPACES_ACCESS_KEY_ID", "SPACES_SECRET_ACCESS_KEY"]) {
            if (!env[key]) missing.push(`${key}: ${CREDENTIAL_ENV[key]}`);
        }
    }
    if (needsGitHub && !env.GITHUB_TOKEN) {
        missing.push(
            "GITHUB_TOKEN: GitHub token that can manage github.repository's webhooks and deploy keys " +
                "(fine-grained: Webhooks and Administration read/write on that repository)",
        );
    }
    return missing;
}
