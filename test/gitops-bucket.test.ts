import assert from "node:assert/strict";
import { describe, test } from "node:test";
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
});
