/** The e2e runner's own parts (tools/e2e): wrapper go.mod, build recipes, supervisor, report. */

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { versions } from "../components/versions";
import { RANDOM_PACKAGE, randomProviderVersion, reportBlocked } from "../tools/e2e/blocked";
import { cpuTime, goBinaryName, programs } from "../tools/e2e/build";
import { parseGoMod, wrapperGoMod } from "../tools/e2e/gomod";
import { Supervisor } from "../tools/e2e/procs";
import { Report } from "../tools/e2e/report";

const upstream = `module example.com/server/v3

go 1.26.0

// comment
require (
	example.com/api/v3 v3.6.16 // indirect
	example.com/client/v3 v3.6.16
	example.com/staging v0.0.0
	other.org/lib v1.2.3
)

require single.org/x v0.1.0

replace (
	example.com/api/v3 => ../api
	example.com/client/v3 => ../client/v3
	example.com/staging => ./staging/src/example.com/staging
)

replace example.com/forbidden => ./FORBIDDEN_DEPENDENCY

replace other.org/lib => fork.org/lib v1.2.4-fork.1
replace pinned.org/lib v1.0.0 => pinned.org/lib v1.0.1
`;

describe("wrapper go.mod", () => {
    test("parseGoMod reads module, go, require (block and single line) and replace", () => {
        const m = parseGoMod(upstream);
        assert.equal(m.module, "example.com/server/v3");
        assert.equal(m.go, "1.26.0");
        assert.equal(m.require.get("example.com/api/v3"), "v3.6.16");
        assert.equal(m.require.get("single.org/x"), "v0.1.0");
        assert.equal(m.replace.length, 6);
        assert.deepEqual(m.replace[5], {
            old: "pinned.org/lib",
            oldVersion: "v1.0.0",
            new: "pinned.org/lib",
            newVersion: "v1.0.1",
        });
    });

    test("folders become the published modules; module replaces are repeated; guards are dropped", () => {
        const text = wrapperGoMod({
            name: "e2e.invalid/server",
            module: "example.com/server/v3",
            version: "v3.6.16",
            upstream,
        });
        const w = parseGoMod(text);
        assert.equal(w.module, "e2e.invalid/server");
        assert.equal(w.go, "1.26.0");
        assert.deepEqual([...w.require], [["example.com/server/v3", "v3.6.16"]]);
        const byOld = Object.fromEntries(w.replace.map((r) => [r.old, `${r.new} ${r.newVersion ?? ""}`.trim()]));
        assert.deepEqual(byOld, {
            "example.com/api/v3": "example.com/api/v3 v3.6.16",
            "example.com/client/v3": "example.com/client/v3 v3.6.16",
            // required as v0.0.0 (a placeholder): the program's own version unless told otherwise
            "example.com/staging": "example.com/staging v3.6.16",
            "other.org/lib": "fork.org/lib v1.2.4-fork.1",
            "pinned.org/lib": "pinned.org/lib v1.0.1",
        });
        assert.equal(w.replace.find((r) => r.old === "pinned.org/lib")?.oldVersion, "v1.0.0");
        assert.ok(!text.includes("FORBIDDEN"), text);
        assert.ok(!text.includes("./"), text);
    });

    test("folderVersion decides the version of a replaced folder", () => {
        const text = wrapperGoMod({
            name: "w",
            module: "example.com/server/v3",
            version: "v3.6.16",
            upstream,
            folderVersion: (p) => (p === "example.com/staging" ? "v0.36.3" : "v9.9.9"),
        });
        assert.match(text, /example\.com\/staging => example\.com\/staging v0\.36\.3/);
        assert.match(text, /example\.com\/api\/v3 => example\.com\/api\/v3 v9\.9\.9/);
    });

    test("an override pins a dependency the proxy lacks; overriding a replaced module is refused", () => {
        const text = wrapperGoMod({
            name: "w",
            module: "example.com/server/v3",
            version: "v3.6.16",
            upstream,
            override: { "dep.org/artifact": "v0.18.1" },
        });
        assert.ok(parseGoMod(text).replace.some((r) => r.old === "dep.org/artifact" && r.newVersion === "v0.18.1"));
        assert.throws(
            () =>
                wrapperGoMod({
                    name: "w",
                    module: "example.com/server/v3",
                    version: "v3.6.16",
                    upstream,
                    override: { "other.org/lib": "v1.0.0" },
                }),
            /already replaced/,
        );
    });

    test("a go.mod of another module is refused", () => {
        assert.throws(
            () => wrapperGoMod({ name: "w", module: "example.com/other", version: "v1.0.0", upstream }),
            /names module example\.com\/server\/v3/,
        );
    });

    test("an unreadable replace directive is an error, not a silent skip", () => {
        assert.throws(() => parseGoMod("module m\nreplace a b c => d\n"), /cannot read replace directive/);
    });
});

describe("build recipes", () => {
    test("go build names a main package by its last element, skipping a major-version suffix", () => {
        assert.equal(goBinaryName("go.etcd.io/etcd/server/v3"), "server");
        assert.equal(goBinaryName("k8s.io/kubernetes/cmd/kube-apiserver"), "kube-apiserver");
        assert.equal(goBinaryName("github.com/fluxcd/source-controller"), "source-controller");
    });

    test("the build's CPU time is read from the shell's times output (children's line)", async () => {
        const { execFileSync } = await import("node:child_process");
        const out = execFileSync(
            "/bin/sh",
            [
                "-c",
                '"$0" "$@" || exit $?; echo MARK; times',
                "/bin/sh",
                "-c",
                "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done",
            ],
            { encoding: "utf8" },
        );
        const cpu = cpuTime(`noise\n${out}`, "MARK");
        assert.ok(cpu !== undefined && cpu >= 0, out);
        assert.equal(cpuTime("0m1.5s 0m0.5s\n", "MARK"), undefined);
        assert.equal(cpuTime("MARK\n0m0.01s 0m0.00s\n2m3.50s 0m10.20s\n", "MARK"), 134);
    });

    test("Kubernetes: staging modules at v0.<minor>.<patch>, version stamped into the binaries", () => {
        const k = programs().kubernetes;
        const [, minor, patch] = versions.e2e.kubernetes.replace(/^v/, "").split(".");
        assert.equal(k.folderVersion("k8s.io/api"), `v0.${minor}.${patch}`);
        assert.ok(k.ldflagsX.includes(`k8s.io/component-base/version.gitVersion=${versions.e2e.kubernetes}`));
        assert.ok(k.ldflagsX.includes(`k8s.io/component-base/version.gitMinor=${minor}`));
        assert.deepEqual(Object.keys(k.packages).sort(), ["kube-apiserver", "kubectl"]);
    });

    test("every recipe builds a package of its own module", () => {
        for (const p of Object.values(programs())) {
            for (const pkg of Object.values(p.packages)) {
                assert.ok(pkg === p.module || pkg.startsWith(`${p.module}/`), `${p.name}: ${pkg} not in ${p.module}`);
            }
        }
    });
});

describe("supervisor", () => {
    test("stopAll ends the whole process group, grandchildren included", async () => {
        const dir = await mkdtemp(path.join(os.tmpdir(), "e2e-sup-"));
        try {
            const sup = new Supervisor(dir);
            // the shell starts a grandchild and prints its pid, then waits
            const m = sup.start("sleeper", "/bin/sh", ["-c", "sleep 60 & echo $!; wait"]);
            let grandchild = 0;
            for (let i = 0; i < 50 && !grandchild; i++) {
                await new Promise((r) => setTimeout(r, 100));
                grandchild = Number((await readFile(m.log, "utf8")).trim()) || 0;
            }
            assert.ok(grandchild > 0, "the grandchild's pid was not printed");
            assert.doesNotThrow(() => process.kill(grandchild, 0));
            await sup.stopAll(2_000);
            assert.ok(m.hasExited() || (await Promise.race([m.exited.then(() => true), Promise.resolve(false)])));
            assert.throws(() => process.kill(grandchild, 0), /ESRCH/);
            assert.throws(() => sup.start("late", "/bin/true", []), /stopping/);
        } finally {
            await rm(dir, { recursive: true, force: true });
        }
    });
});

describe("report", () => {
    test("one line per check and the plain closing line", async () => {
        const lines: string[] = [];
        const r = new Report((l) => lines.push(l));
        await r.check("first", async () => "detail");
        await r.check("second", async () => {
            throw new Error("boom\nsecond line");
        });
        r.pass("third");
        assert.deepEqual(lines, ["ok   first — detail", "FAIL second: boom", "       second line", "ok   third"]);
        assert.equal(r.summary(), "2 passed, 1 failed");
        assert.match(r.summary(), /^\d+ passed, \d+ failed$/);
    });
    test("a blocked check is printed with its reason and counted neither passed nor failed", async () => {
        const lines: string[] = [];
        const r = new Report((l) => lines.push(l));
        assert.equal(r.blockedSummary(), undefined);
        await r.check("runs", async () => undefined);
        r.blocked("pulumi up", "the proxy refuses\nthe module");
        assert.deepEqual(lines, ["ok   runs", "BLOCKED pulumi up: the proxy refuses the module"]);
        assert.equal(r.summary(), "1 passed, 0 failed");
        assert.equal(r.blockedSummary(), "1 blocked (not run, not counted; see the BLOCKED lines)");
    });
});

describe("blocked stages", () => {
    const root = path.resolve(__dirname, "..");
    test("the random provider version asked for is the installed @pulumi/random, which package.json pins", async () => {
        const pkg = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as {
            dependencies: Record<string, string>;
        };
        assert.equal(randomProviderVersion(root), `v${pkg.dependencies["@pulumi/random"]}`);
    });
    test("a stack that registers no random resource turns the BLOCKED lines into a failure", async () => {
        const lines: string[] = [];
        const r = new Report((l) => lines.push(l));
        await reportBlocked(r, root, ["pulumi:pulumi:Stack", "kubernetes:core/v1:Secret"]);
        assert.equal(r.failed, 1);
        assert.equal(r.blockedLines.length, 0);
        assert.match(lines[0] ?? "", new RegExp(`^FAIL pulumi up .*registers no ${RANDOM_PACKAGE} resource`));
    });
});
