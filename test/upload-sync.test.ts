// The sync against a real S3-compatible server (s3rver on 127.0.0.1).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { rm, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, test } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { mayHoldSecret } from "../tools/sops/guard";
import { type RunDeps, runUpload } from "../tools/upload/cli";
import { captureIo, makeTree, s3Env, stackReader, startProxy, useLocalS3 } from "./helpers-s3";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

// s3rver: the sync's reference against a real server (its listing, ETags and stored bytes)
const local = useLocalS3("sync");
const freshBucket = local.freshBucket;

async function sync(
    src: string,
    bucket: string,
    args: string[] = [],
    deps: RunDeps = {},
    endpoint = local.s3().endpoint,
) {
    const cap = captureIo();
    const stack = stackReader();
    const code = await runUpload(
        ["--source", src, "--bucket", bucket, "--endpoint", endpoint, "--no-trigger", ...args],
        {
            env: s3Env(),
            io: cap.io,
            readStackOutputs: stack.read,
            ...deps,
        },
    );
    assert.deepEqual(stack.calls, [], "every value was given, so the stack outputs must not be read");
    return { code, ...cap };
}

const TREE = {
    "kustomization.yaml": "resources:\n  - apps\n",
    "apps/kustomization.yaml": "resources:\n  - app.yaml\n",
    "apps/app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v1\n",
    "apps/values.json": '{"replicas": 1}\n',
    "infra/platform.yml": "kind: ConfigMap\n",
};

describe("upload: sync", () => {
    test("first sync uploads every manifest with a correct Content-MD5, and stores the exact bytes", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        const proxy = await startProxy(local.s3().port);
        try {
            local.s3().reset();
            const r = await sync(src, bucket, [], {}, proxy.endpoint);
            assert.equal(r.code, 0, r.all());
            assert.equal(r.lastOut(), "uploaded 5, deleted 0, unchanged 0");
            assert.equal(local.s3().count("PUT"), 5);
            const puts = proxy.seen.filter((x) => x.method === "PUT");
            assert.equal(puts.length, 5);
            for (const p of puts) {
                assert.ok(p.contentMd5, `PUT ${p.url} has no Content-MD5`);
                assert.equal(p.contentMd5, p.bodyMd5, `Content-MD5 of ${p.url} does not match its body`);
            }
            const stored = await local.s3().objects(bucket);
            assert.deepEqual([...stored.keys()].sort(), Object.keys(TREE).sort());
            for (const [key, body] of stored) assert.equal(body.toString(), TREE[key as keyof typeof TREE], key);
            // kustomization files are uploaded after everything they might list
            const order = puts.map((p) =>
                decodeURIComponent(new URL(p.url, "http://x").pathname.split("/").slice(2).join("/")),
            );
            const lastTwo = order.slice(-2).sort();
            assert.deepEqual(lastTwo, ["apps/kustomization.yaml", "kustomization.yaml"]);
        } finally {
            await proxy.close();
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a re-sync of an unchanged tree makes one LIST request and zero PUTs", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        try {
            assert.equal((await sync(src, bucket)).code, 0);
            local.s3().reset();
            const r = await sync(src, bucket);
            assert.equal(r.code, 0, r.all());
            assert.equal(r.lastOut(), "uploaded 0, deleted 0, unchanged 5");
            assert.equal(local.s3().count("PUT"), 0);
            assert.equal(local.s3().count("HEAD"), 0, "no per-file HEAD requests");
            assert.deepEqual(
                local
                    .s3()
                    .requests.map((x) => x.url.replace(/^\/[^/]+\//, ""))
                    .sort(),
                ["?list-type=2", "?uploads="],
                `expected a single ListObjectsV2 and one ListMultipartUploads, got ${JSON.stringify(local.s3().requests)}`,
            );
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("a same-size edit with an unchanged mtime is detected by content and uploaded with exactly one PUT", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        try {
            assert.equal((await sync(src, bucket)).code, 0);
            const file = path.join(src, "apps/app.yaml");
            const before = await stat(file);
            const edited = TREE["apps/app.yaml"].replace("v1", "v2");
            assert.equal(edited.length, TREE["apps/app.yaml"].length);
            await writeFile(file, edited);
            await utimes(file, before.atime, before.mtime);
            local.s3().reset();
            const r = await sync(src, bucket);
            assert.equal(r.code, 0, r.all());
            assert.equal(r.lastOut(), "uploaded 1, deleted 0, unchanged 4");
            assert.equal(local.s3().count("PUT"), 1);
            assert.match(local.s3().requests.find((x) => x.method === "PUT")!.url, /apps\/app\.yaml/);
            assert.match(r.out.join("\n"), /upload apps\/app\.yaml \(changed/);
            assert.equal((await local.s3().objects(bucket)).get("apps/app.yaml")!.toString(), edited);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("remote objects missing locally are kept without --delete and deleted with it", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        try {
            assert.equal((await sync(src, bucket)).code, 0);
            await rm(path.join(src, "infra/platform.yml"));

            local.s3().reset();
            const kept = await sync(src, bucket);
            assert.equal(kept.code, 0, kept.all());
            assert.equal(kept.lastOut(), "uploaded 0, deleted 0, unchanged 4");
            assert.match(kept.out.join("\n"), /kept 1 remote object/);
            assert.equal(
                local.s3().count("DELETE") + local.s3().count("POST"),
                0,
                "nothing may be deleted without --delete",
            );
            assert.ok((await local.s3().objects(bucket)).has("infra/platform.yml"));

            const proxy = await startProxy(local.s3().port);
            const deleted = await sync(src, bucket, ["--delete"], {}, proxy.endpoint).finally(() => proxy.close());
            assert.equal(deleted.code, 0, deleted.all());
            assert.equal(deleted.lastOut(), "uploaded 0, deleted 1, unchanged 4");
            // DeleteObjects: one POST ?delete carrying a Content-MD5 of its body
            const posts = proxy.seen.filter((x) => x.method === "POST");
            assert.equal(posts.length, 1);
            assert.match(posts[0]!.url, /[?&]delete/);
            assert.equal(posts[0]!.contentMd5, posts[0]!.bodyMd5);
            assert.deepEqual(
                [...(await local.s3().objects(bucket)).keys()].sort(),
                Object.keys(TREE)
                    .filter((k) => k !== "infra/platform.yml")
                    .sort(),
            );
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("ignore rules: built-in defaults plus .sourceignore; ignored remote objects are never deleted", async () => {
        const bucket = await freshBucket();
        const src = await makeTree({
            ".sourceignore": "# local rules\ndrafts/\n!notes.txt\n",
            "app.yaml": "a: 1\n",
            "drafts/wip.yaml": "w: 1\n",
            "notes.txt": "re-included by !notes.txt\n",
            "README.md": "not a manifest\n",
            "script.sh": "echo\n",
            ".git/config": "[core]\n",
            ".github/workflows/ci.yaml": "on: push\n",
            "sub/.env.yaml": "secret: 1\n",
            "sub/Kustomization": "resources: []\n",
        });
        try {
            // an object in the bucket that the rules ignore (e.g. written by another tool)
            await local
                .s3()
                .client.send(new PutObjectCommand({ Bucket: bucket, Key: "README.md", Body: "remote readme" }));
            const r = await sync(src, bucket, ["--delete"]);
            assert.equal(r.code, 0, r.all());
            assert.equal(r.lastOut(), "uploaded 4, deleted 0, unchanged 0");
            assert.deepEqual([...(await local.s3().objects(bucket)).keys()].sort(), [
                ".sourceignore",
                "README.md",
                "app.yaml",
                "notes.txt",
                "sub/Kustomization",
            ]);
            assert.equal((await local.s3().objects(bucket)).get("README.md")!.toString(), "remote readme");
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("--dry-run prints the plan and changes nothing", async () => {
        const bucket = await freshBucket();
        const src = await makeTree(TREE);
        try {
            assert.equal((await sync(src, bucket)).code, 0);
            await writeFile(path.join(src, "apps/new.yaml"), "n: 1\n");
            await writeFile(path.join(src, "apps/app.yaml"), "changed: true\n");
            await rm(path.join(src, "infra/platform.yml"));
            const beforeObjects = await local.s3().objects(bucket);
            local.s3().reset();
            const r = await sync(src, bucket, ["--dry-run", "--delete"]);
            assert.equal(r.code, 0, r.all());
            const out = r.out.join("\n");
            assert.match(out, /would upload apps\/new\.yaml \(new/);
            assert.match(out, /would upload apps\/app\.yaml \(changed/);
            assert.match(out, /would delete infra\/platform\.yml/);
            assert.equal(r.lastOut(), "dry run: would upload 2, would delete 1, unchanged 3");
            assert.deepEqual(
                local.s3().requests.map((x) => x.method),
                ["GET", "GET"],
                "a dry run only lists the bucket (objects and incomplete multipart uploads)",
            );
            assert.deepEqual(await local.s3().objects(bucket), beforeObjects);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("--prefix (and UPLOAD_PREFIX) confines uploads and deletions to the prefix", async () => {
        const bucket = await freshBucket();
        const src = await makeTree({ "a.yaml": "a: 1\n" });
        try {
            await local.s3().client.send(new PutObjectCommand({ Bucket: bucket, Key: "outside.yaml", Body: "x: 1\n" }));
            await local
                .s3()
                .client.send(new PutObjectCommand({ Bucket: bucket, Key: "team/old.yaml", Body: "o: 1\n" }));
            const r = await sync(src, bucket, ["--delete"], { env: s3Env({ UPLOAD_PREFIX: "team/" }) });
            assert.equal(r.code, 0, r.all());
            assert.equal(r.lastOut(), "uploaded 1, deleted 1, unchanged 0");
            assert.deepEqual([...(await local.s3().objects(bucket)).keys()].sort(), ["outside.yaml", "team/a.yaml"]);
        } finally {
            await rm(src, { recursive: true, force: true });
        }
    });

    test("files above 16 MiB go up multipart (Content-MD5 on every part) and then compare unchanged", async () => {
        const bucket = await freshBucket();
        // every 4 KiB block starts with its number in three bytes of 6 bits (none above 0x3f: no
        // backslash, no letter), so the bytes hold none of the Secret guard's needles: it
        // YAML-parses a file of 1 MiB or more that holds one (about 0.9 s of CPU for these two
        // runs), which is not what this test is about (upload-digest's are)
        const big = Buffer.alloc(17 * 1024 * 1024 + 123);
        for (let i = 0; i < big.length; i += 4096)
            for (let k = 0; k < 3; k++) big[i + k] = ((i >>> 12) >>> (6 * k)) & 0x3f;
        assert.ok(!mayHoldSecret(big), "no needle of the guard in the bytes");
        const src = await makeTree({ "big.json": big, "small.yaml": "s: 1\n" });
        const proxy = await startProxy(local.s3().port);
        try {
            const r = await sync(src, bucket, [], {}, proxy.endpoint);
            assert.equal(r.code, 0, r.all());
            assert.equal(r.lastOut(), "uploaded 2, deleted 0, unchanged 0");
            const parts = proxy.seen.filter((x) => x.method === "PUT" && /partNumber=/.test(x.url));
            assert.equal(parts.length, 3, "17 MiB in 8 MiB parts");
            for (const p of parts) assert.equal(p.contentMd5, p.bodyMd5);
            const stored = (await local.s3().objects(bucket)).get("big.json")!;
            assert.equal(createHash("md5").update(stored).digest("hex"), createHash("md5").update(big).digest("hex"));

            local.s3().reset();
            const again = await sync(src, bucket);
            assert.equal(again.lastOut(), "uploaded 0, deleted 0, unchanged 2");
            assert.equal(local.s3().count("PUT"), 0);
        } finally {
            await proxy.close();
            await rm(src, { recursive: true, force: true });
        }
    });
});
