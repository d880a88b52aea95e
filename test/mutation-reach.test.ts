/** make mutation --whole-suite: which test files load a mutated file (tools/mutation/reach.ts). */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { importsOf, testsReaching, wholeSuite } from "../tools/mutation/reach";

function project(files: Record<string, string>): string {
    const root = mkdtempSync(path.join(tmpdir(), "reach-"));
    for (const [name, text] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
        writeFileSync(path.join(root, name), text);
    }
    return root;
}

describe("test files that load a file", () => {
    const root = project({
        "components/a.ts": 'import { b } from "./b";\nexport const a = b;\n',
        "components/b.ts": 'export const b = 1;\nimport type { C } from "./c.js";\n',
        "components/c.ts": 'import "./a";\nexport type C = number;\n',
        "components/d/index.ts": "export const d = 1;\n",
        "test/deep.test.ts": 'import { a } from "../components/a";\n',
        "test/lazy.test.mts": 'const m = await import("../components/d");\n',
        "test/required.test.ts": 'const { b } = require("../components/b.js");\n',
        "test/other.test.ts": 'import { x } from "node:fs";\nimport "../components/missing";\n',
        "test/helper.ts": 'import "../components/b";\n',
    });

    test("the suite is every *.test.ts and *.test.mts file under test/, sorted", () => {
        assert.deepEqual(wholeSuite(root), [
            "test/deep.test.ts",
            "test/lazy.test.mts",
            "test/other.test.ts",
            "test/required.test.ts",
        ]);
    });

    test("imports resolve to .ts files, .js specifiers and folders with index.ts included", () => {
        assert.deepEqual(importsOf("components/b.ts", root), ["components/c.ts"]);
        assert.deepEqual(importsOf("test/lazy.test.mts", root), ["components/d/index.ts"]);
        assert.deepEqual(
            importsOf("test/other.test.ts", root),
            [],
            "node: modules and missing files are not project files",
        );
    });

    test("at any depth, through cycles; a test that never loads the file is left out", () => {
        assert.deepEqual(testsReaching(["components/c.ts"], root), ["test/deep.test.ts", "test/required.test.ts"]);
        assert.deepEqual(testsReaching(["components/d/index.ts"], root), ["test/lazy.test.mts"]);
        assert.deepEqual(testsReaching(["components/a.ts", "components/d/index.ts"], root), [
            "test/deep.test.ts",
            "test/lazy.test.mts",
            "test/required.test.ts",
        ]);
    });

    test("in this repository: the upload tool's tests reach tools/upload, the component tests do not", () => {
        const reaching = testsReaching(["tools/upload/etag.ts"]);
        assert.ok(reaching.includes("test/upload-integrity.test.ts"), reaching.join(" "));
        assert.ok(!reaching.includes("test/kcert-patches.test.ts"), reaching.join(" "));
    });
});
