// tools/lib/run-bundled.cjs (make bootstrap / make destroy start through it): builds an esbuild
// bundle of a TypeScript entry once, runs it with the tool's own arguments, exit code and working
// directory, and rebuilds it when any file it was made from changes. Each test runs a copy of the
// launcher in a small repository of its own (its node_modules: a package of its own, and esbuild
// linked to this repository's).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
    copyFileSync,
    mkdirSync,
    mkdtempSync,
    readFileSync,
    rmSync,
    statSync,
    symlinkSync,
    utimesSync,
    writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const ROOT = join(__dirname, "..");

function backdate(file: string, secondsAgo: number): void {
    const t = new Date(Date.now() - secondsAgo * 1000);
    utimesSync(file, t, t);
}

interface Paths {
    readonly source: string;
    readonly bundle: string;
    readonly inputs: string;
}
interface Launcher {
    paths(entry: string): Paths;
    isFresh(p: Paths): boolean;
    build(p: Paths): void;
}

interface Repo {
    readonly dir: string;
    readonly bundle: string;
    readonly inputs: string;
    run(args: string[], cwd?: string): { code: number | null; out: string; err: string };
    /** This repository's copy of the launcher, loaded in this process (its builds reuse esbuild's service). */
    launcher(): Launcher;
    /** Writes a file dated `secondsAgo` (default 1,000 s) in the past. */
    write(rel: string, text: string, secondsAgo?: number): void;
}

function repo(): Repo {
    const dir = mkdtempSync(join(tmpdir(), "run-bundled-"));
    mkdirSync(join(dir, "tools", "lib"), { recursive: true });
    mkdirSync(join(dir, "tools", "demo"), { recursive: true });
    copyFileSync(join(ROOT, "tools", "lib", "run-bundled.cjs"), join(dir, "tools", "lib", "run-bundled.cjs"));
    mkdirSync(join(dir, "node_modules", "demo-pkg"), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", "esbuild"), join(dir, "node_modules", "esbuild"));
    symlinkSync(join(ROOT, "node_modules", "tsx"), join(dir, "node_modules", "tsx"));
    writeFileSync(join(dir, "tsconfig.json"), "{}\n");
    writeFileSync(join(dir, "package-lock.json"), "{}\n");
    // Every file is written in the past (make's rule: a file newer than the bundle rebuilds it;
    // Linux file times are coarse, so "just now" could equal the bundle's own time).
    const write = (rel: string, text: string, secondsAgo = 1000) => {
        const file = join(dir, rel);
        writeFileSync(file, text);
        backdate(file, secondsAgo);
    };
    for (const f of ["tsconfig.json", "package-lock.json", "tools/lib/run-bundled.cjs"]) backdate(join(dir, f), 1000);
    write("node_modules/demo-pkg/package.json", '{"name": "demo-pkg", "main": "index.js"}\n');
    write("node_modules/demo-pkg/index.js", 'exports.shout = (s) => s.toUpperCase() + "!";\n');
    write("tools/demo/greet.ts", 'export const greeting = (who: string): string => "hello " + who;\n');
    write(
        "tools/demo/main.ts",
        [
            'import { shout } from "demo-pkg";',
            'import { greeting } from "./greet";',
            "const args: string[] = process.argv.slice(2);",
            'console.log(JSON.stringify({ args, cwd: process.cwd(), text: greeting(args[0] ?? "nobody"), loud: shout("hey") }));',
            'process.exitCode = args.includes("--fail") ? 3 : 0;',
            "",
        ].join("\n"),
    );
    return {
        dir,
        bundle: join(dir, "bin", "tools-demo-main.cjs"),
        inputs: join(dir, "bin", "tools-demo-main.inputs.json"),
        write,
        launcher: () => require(join(dir, "tools", "lib", "run-bundled.cjs")) as Launcher,
        run(args, cwd = dir) {
            const r = spawnSync(process.execPath, [join(dir, "tools", "lib", "run-bundled.cjs"), ...args], {
                cwd,
                encoding: "utf8",
                env: { ...process.env, NODE_OPTIONS: "" },
            });
            return { code: r.status, out: r.stdout, err: r.stderr };
        },
    };
}

const parsed = (out: string) => JSON.parse(out) as { args: string[]; cwd: string; text: string; loud: string };
const stamp = (file: string) => {
    const s = statSync(file);
    return `${s.ino}:${s.mtimeMs}`;
};

test("builds the bundle on the first run and runs the entry with its own arguments, from the caller's folder", () => {
    const r = repo();
    const elsewhere = mkdtempSync(join(tmpdir(), "run-bundled-cwd-"));
    const run = r.run(["tools/demo/main.ts", "world", "--flag", "x y"], elsewhere);
    assert.equal(run.code, 0, run.err);
    assert.deepEqual(parsed(run.out), {
        args: ["world", "--flag", "x y"],
        cwd: elsewhere,
        text: "hello world",
        loud: "HEY!",
    });
    assert.deepEqual(
        JSON.parse(readFileSync(r.inputs, "utf8")),
        {
            entry: "tools/demo/main.ts",
            inputs: [
                "node_modules/demo-pkg/index.js", // an npm module it bundles
                "package-lock.json",
                "package.json",
                "tools/demo/greet.ts",
                "tools/demo/main.ts",
                "tools/lib/run-bundled.cjs",
                "tsconfig.json",
            ].map((f) => {
                if (f === "package.json") return { path: f, absent: true }; // this repository has none
                const st = statSync(join(r.dir, f));
                return { path: f, size: st.size, mtimeMs: st.mtimeMs };
            }),
        },
        "the entry and every file the bundle was made from, with the size and time the build saw",
    );
    assert.match(readFileSync(r.bundle, "utf8"), /"hello " \+ who/, "the bundle holds the compiled source");
    rmSync(elsewhere, { recursive: true });
});

test("a second run uses the bundle as it is; the tool's exit code is the launcher's", () => {
    const r = repo();
    assert.equal(r.run(["tools/demo/main.ts"]).code, 0);
    const first = stamp(r.bundle);
    const again = r.run(["tools/demo/main.ts", "--fail"]);
    assert.equal(again.code, 3, again.err);
    assert.equal(parsed(again.out).text, "hello --fail");
    assert.equal(stamp(r.bundle), first, "not rebuilt");
});

test("an edited import rebuilds the bundle before it runs", () => {
    const r = repo();
    assert.equal(r.run(["tools/demo/main.ts", "a"]).code, 0);
    backdate(r.bundle, 500);
    r.write("tools/demo/greet.ts", 'export const greeting = (who: string): string => "hi " + who;\n', 250);
    const edited = r.run(["tools/demo/main.ts", "a"]);
    assert.equal(edited.code, 0, edited.err);
    assert.equal(parsed(edited.out).text, "hi a", "the new source runs");
    const fresh = stamp(r.bundle);
    assert.equal(r.run(["tools/demo/main.ts", "a"]).code, 0);
    assert.equal(stamp(r.bundle), fresh, "fresh again after the rebuild");
});

test("stale: any input edited or restored with another time, a new package.json, another entry's list, a missing list or bundle", () => {
    const r = repo();
    const l = r.launcher();
    const p = l.paths("tools/demo/main.ts");
    assert.equal(p.bundle, r.bundle);
    assert.equal(l.isFresh(p), false, "never built");
    l.build(p);
    assert.equal(l.isFresh(p), true);
    for (const f of [
        "package-lock.json",
        "tsconfig.json",
        "tools/lib/run-bundled.cjs",
        "tools/demo/greet.ts",
        "node_modules/demo-pkg/index.js",
    ]) {
        const file = join(r.dir, f);
        backdate(file, 250); // an edit
        assert.equal(l.isFresh(p), false, `${f} edited`);
        l.build(p);
        assert.equal(l.isFresh(p), true, `${f}: rebuilt`);
        backdate(file, 2000); // an older copy put back (cp -p, tar): older than the bundle, still not what it was built from
        assert.equal(l.isFresh(p), false, `${f} restored with an older time`);
        l.build(p);
        const { mtime } = statSync(file);
        writeFileSync(file, `${readFileSync(file, "utf8")}\n`);
        utimesSync(file, mtime, mtime);
        assert.equal(l.isFresh(p), false, `${f}: another size at the same time`);
        l.build(p);
        assert.equal(l.isFresh(p), true);
    }
    r.write("package.json", "{}\n");
    assert.equal(l.isFresh(p), false, "a package.json where the build saw none");
    l.build(p);
    assert.equal(l.isFresh(p), true);
    const list = JSON.parse(readFileSync(r.inputs, "utf8"));
    writeFileSync(r.inputs, JSON.stringify({ ...list, entry: "tools/demo-main.ts" }));
    assert.equal(l.isFresh(p), false, "a list (and bundle) made for another entry of the same bundle name");
    rmSync(r.inputs);
    assert.equal(l.isFresh(p), false, "no input list");
    l.build(p);
    writeFileSync(r.inputs, JSON.stringify({ ...list, inputs: [] }));
    assert.equal(l.isFresh(p), false, "an empty input list");
    l.build(p);
    rmSync(r.bundle);
    assert.equal(l.isFresh(p), false, "no bundle");
});

test("a file saved while the bundle is built counts as unseen: the next run builds again", () => {
    const r = repo();
    const l = r.launcher();
    const p = l.paths("tools/demo/main.ts");
    r.write("tools/demo/greet.ts", 'export const greeting = (who: string): string => "hi " + who;\n', 0);
    l.build(p); // greet.ts dated now: maybe saved after esbuild read it
    assert.equal(l.isFresh(p), false);
    backdate(join(r.dir, "tools/demo/greet.ts"), 100);
    l.build(p);
    assert.equal(l.isFresh(p), true, "an older file is recorded as seen");
});

test("a file it was built from that is gone makes it stale, and its build fails", () => {
    const r = repo();
    r.write("tools/demo/extra.ts", "export const x = 1;\n");
    r.write("tools/demo/main.ts", 'import { x } from "./extra";\nconsole.log(JSON.stringify({ x }));\n');
    const l = r.launcher();
    const p = l.paths("tools/demo/main.ts");
    l.build(p);
    assert.equal(l.isFresh(p), true);
    rmSync(join(r.dir, "tools", "demo", "extra.ts"));
    assert.equal(l.isFresh(p), false, "a stale bundle of a module that no longer exists must not run");
    assert.throws(() => l.build(p), /extra/);
});

test("a compile error is reported with its place, exit 2, and the tool does not run", () => {
    const r = repo();
    r.write("tools/demo/greet.ts", "export const greeting = (who: string => who;\n");
    const run = r.run(["tools/demo/main.ts"]);
    assert.equal(run.code, 2);
    assert.equal(run.out, "");
    assert.match(run.err, /run-bundled: could not build tools\/demo\/main\.ts/);
    assert.match(run.err, /tools\/demo\/greet\.ts:1: /);
});

test("refuses an entry that is not a TypeScript file of the repository, a missing one, and no entry", () => {
    const r = repo();
    const l = r.launcher();
    for (const bad of ["../outside.ts", "/etc/passwd", "tools/demo/notes.txt"])
        assert.throws(() => l.paths(bad), /is not a TypeScript file of this repository/, bad);
    const outside = r.run(["../outside.ts"]);
    assert.equal(outside.code, 2);
    assert.match(outside.err, /run-bundled: could not build \.\.\/outside\.ts:\n.*is not a TypeScript file/);
    assert.throws(() => l.build(l.paths("tools/demo/nope.ts")), /nope/);
    const none = r.run([]);
    assert.equal(none.code, 2);
    assert.match(none.err, /^usage: /);
});

test("where bin/ cannot be written the tool runs from source through tsx, with a warning", () => {
    const r = repo();
    writeFileSync(join(r.dir, "bin"), "not a folder\n"); // as a read-only checkout would refuse it (root ignores modes)
    const run = r.run(["tools/demo/main.ts", "x", "--fail"]);
    assert.equal(run.code, 3, run.err);
    assert.equal(parsed(run.out).text, "hello x");
    assert.match(
        run.err,
        /warning: run-bundled: cannot write bin\/tools-demo-main\.cjs \((EEXIST|ENOTDIR)\); running tools\/demo\/main\.ts from source with tsx/,
    );
});
