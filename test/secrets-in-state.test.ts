/**
 * Secrets in the state, for the whole program: every resource of both example stacks whose
 * provider returns credential material is registered with those outputs as secret outputs, so
 * the engine encrypts them in the state (a component's pulumi.secret() around an output does
 * not change what is stored for the resource itself).
 *
 * Which outputs hold credentials (the providers' output properties):
 * - digitalocean SpacesKey: `accessKey` and `secretKey` (the key pair; either half plus the
 *   other opens the bucket);
 * - random RandomPassword: `result` (receiver tokens, the in-cluster S3 keys);
 * - random RandomBytes: `base64`, `hex` (the SOPS age identity);
 * - github RepositoryWebhook: `configuration` (the hook URL with its secret path, the HMAC secret);
 * - digitalocean KubernetesCluster: `kubeConfigs` (cluster-admin credentials).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import type * as pulumi from "@pulumi/pulumi";
import { main } from "../infrastructure/program";
import { MockRecorder, runOffline } from "../tools/mocks";
import { readStackConfig } from "../tools/render/stack-config";
import { exampleStackEnv, exampleStacks } from "./harness";

const ROOT = join(__dirname, "..");

const SECRET_OUTPUTS: Record<string, string[]> = {
    "digitalocean:index/spacesKey:SpacesKey": ["accessKey", "secretKey"],
    "random:index/randomPassword:RandomPassword": ["result"],
    "random:index/randomBytes:RandomBytes": ["base64", "hex"],
    "github:index/repositoryWebhook:RepositoryWebhook": ["configuration"],
    "digitalocean:index/kubernetesCluster:KubernetesCluster": ["kubeConfigs"],
};

describe("secrets in the state (every example stack)", () => {
    test("the example stacks include dev, local and prod", () => {
        for (const stack of ["dev", "local", "prod"]) assert.ok(exampleStacks().includes(stack), stack);
    });
    for (const stack of exampleStacks()) {
        test(`Pulumi.${stack}.yaml: every credential output is a secret output of its resource`, async () => {
            const sc = readStackConfig(ROOT, stack);
            const recorder = new MockRecorder();
            const run = await runOffline(
                { project: sc.project, stack, config: sc.config, secretKeys: sc.secretKeys, recorder },
                () => main({ env: exampleStackEnv(stack), stackFile: join(ROOT, `Pulumi.${stack}.yaml`) }),
            );
            assert.equal(run.error, undefined, String(run.error));
            const checked = recorder.resources.filter((r) => SECRET_OUTPUTS[r.type] && !r.read);
            assert.ok(checked.length >= (stack === "dev" ? 6 : 5), `${checked.length} resources checked`);
            const missing: string[] = [];
            for (const r of checked) {
                const opts = recorder.construction(r.type, r.name).opts as pulumi.CustomResourceOptions;
                const secret = new Set(opts.additionalSecretOutputs ?? []);
                for (const output of SECRET_OUTPUTS[r.type]!)
                    if (!secret.has(output)) missing.push(`${r.type}::${r.name}: ${output}`);
            }
            assert.deepEqual(missing, [], "stored in plaintext in the state");
        });
    }
});
