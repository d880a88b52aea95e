import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type * as pulumi from "@pulumi/pulumi";
import { GitOpsBucket } from "../components/gitops-bucket";
import { inputValue, isSecretOutput, reveal, runComponent } from "./harness";

const KEY = "digitalocean:index/spacesKey:SpacesKey";
const BUCKET = "digitalocean:index/spacesBucket:SpacesBucket";

describe("GitOpsBucket", () => {
    test("a private bucket, emptied on destroy by default", async () => {
        const { recorder, value } = await runComponent(
            () => new GitOpsBucket("b", { region: "fra1", bucketName: "my-gitops" }),
        );
        const i = reveal<any>(recorder.get(BUCKET, "b-bucket").inputs);
        assert.equal(i.name, "my-gitops");
        assert.equal(i.acl, "private");
        assert.equal(i.forceDestroy, true);
        assert.deepEqual(i.versioning, { enabled: false });
        assert.equal(await inputValue(value.endpoint), "https://fra1.digitaloceanspaces.com");
        assert.equal(await inputValue(value.endpointHost), "fra1.digitaloceanspaces.com");
    });

    test("forceDestroy can be turned off", async () => {
        const { recorder } = await runComponent(() => new GitOpsBucket("b", { region: "fra1", forceDestroy: false }));
        assert.equal(reveal<any>(recorder.get(BUCKET, "b-bucket").inputs).forceDestroy, false);
    });

    test("two keys scoped to this bucket only: read for Flux, readwrite for uploads", async () => {
        const { recorder } = await runComponent(
            () => new GitOpsBucket("b", { region: "fra1", bucketName: "my-gitops" }),
        );
        const keys = recorder.all(KEY).map((k) => reveal<any>(k.inputs));
        assert.equal(keys.length, 2);
        const read = reveal<any>(recorder.get(KEY, "b-read").inputs);
        const upload = reveal<any>(recorder.get(KEY, "b-upload").inputs);
        // named after the bucket and their use, as the DigitalOcean console lists them
        assert.equal(read.name, "my-gitops-flux-read");
        assert.equal(upload.name, "my-gitops-upload");
        assert.deepEqual(read.grants, [{ bucket: "my-gitops", permission: "read" }]);
        assert.deepEqual(upload.grants, [{ bucket: "my-gitops", permission: "readwrite" }]);
        for (const k of keys) {
            assert.ok(
                k.grants.every((g: any) => g.permission !== "fullaccess" && g.bucket !== ""),
                "no account-wide grant",
            );
        }
    });

    test("key material is exposed only as secrets", async () => {
        const { value, recorder } = await runComponent(() => new GitOpsBucket("b", { region: "fra1" }));
        for (const o of [
            value.readAccessKeyId,
            value.readSecretAccessKey,
            value.uploadAccessKeyId,
            value.uploadSecretAccessKey,
        ]) {
            assert.equal(await isSecretOutput(o), true);
        }
        // And they are the keys the (mock) cloud generated for the right key resource.
        const upload = recorder.get(KEY, "b-upload").state as { secretKey: string };
        assert.equal(await inputValue(value.uploadSecretAccessKey), upload.secretKey);
    });

    test("the state keeps both halves of each key secret: accessKey and secretKey are secret outputs of the SpacesKey", async () => {
        // What the engine stores in the state is decided by the options the resource is registered
        // with, not by the component's pulumi.secret() wrappers around its outputs. The DigitalOcean
        // provider returns the key pair as the outputs `accessKey` and `secretKey` (the SDK marks
        // only `secretKey` secret by itself); whoever has both can read or write the bucket.
        const { recorder, value } = await runComponent(() => new GitOpsBucket("b", { region: "fra1" }));
        for (const name of ["b-read", "b-upload"]) {
            const opts = recorder.construction(KEY, name).opts as pulumi.CustomResourceOptions;
            const secretOutputs = new Set(opts.additionalSecretOutputs ?? []);
            for (const output of ["accessKey", "secretKey"]) {
                assert.ok(
                    secretOutputs.has(output),
                    `${name}: ${output} is not a secret output (${[...secretOutputs]})`,
                );
            }
            // and these are the key resource's real output properties, holding the generated key
            const state = recorder.get(KEY, name).state as Record<string, unknown>;
            assert.ok(typeof state.accessKey === "string" && typeof state.secretKey === "string", name);
        }
        assert.ok(value.readKey.accessKey && value.writeKey.secretKey);
    });

    test("the bucket and its keys are children of the component (their URNs depend on it)", async () => {
        const { recorder } = await runComponent(() => new GitOpsBucket("b", { region: "fra1" }));
        const component = "gitops:storage:GitOpsBucket::b";
        assert.equal(recorder.get(BUCKET, "b-bucket").parent, component);
        assert.equal(recorder.get(KEY, "b-read").parent, component);
        assert.equal(recorder.get(KEY, "b-upload").parent, component);
    });
});
