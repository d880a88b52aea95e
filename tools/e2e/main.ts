// `make e2e`: builds what is missing, starts a control plane on 127.0.0.1, runs the stages,
// prints one line per check and a closing `N passed, N failed`, and stops every process it
// started, also on failure or Ctrl-C.
//
// usage: npm run e2e -- [--build-only all|stage1|later] [--keep]
//   --build-only all     build every program the e2e knows (stage 1's and the later stages'), run nothing
//   --keep               keep the run folder (logs, data, kubeconfig) after a passing run
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseFlags, UsageError } from "../lib/args";
import { buildProgram, cacheRoot, type GoProgram, programs } from "./build";
import { startControlPlane } from "./cluster";
import { Supervisor } from "./procs";
import { Report } from "./report";
import { stage1 } from "./stage1";

const say = (line: string) => process.stdout.write(`${line}\n`);

async function buildAll(list: GoProgram[], report: Report) {
    const built: Record<string, Record<string, string>> = {};
    for (const p of list) {
        try {
            const r = await buildProgram(p, say);
            built[p.name] = r.paths;
            if (r.seconds === undefined) say(`cached ${p.name} ${p.version} (${Object.keys(r.paths).join(", ")})`);
        } catch (e) {
            report.fail(`build ${p.name} ${p.version}`, (e as Error).message);
        }
    }
    return built;
}

async function main(): Promise<number> {
    let flags: Record<string, string | boolean>;
    try {
        flags = parseFlags(process.argv.slice(2), { values: ["build-only"], switches: ["keep"] });
        if (flags["build-only"] !== undefined && !["all", "stage1", "later"].includes(String(flags["build-only"])))
            throw new UsageError("--build-only takes all, stage1 or later");
    } catch (e) {
        if (e instanceof UsageError) {
            console.error(`e2e: ${e.message}\nusage: npm run e2e -- [--build-only all|stage1|later] [--keep]`);
            return 2;
        }
        throw e;
    }
    const root = path.resolve(__dirname, "..", "..");
    const report = new Report();
    const all = programs();
    const stage1Programs: GoProgram[] = [all.etcd, all.kubernetes];
    say(`e2e: programs cache ${cacheRoot()}`);

    if (flags["build-only"]) {
        const which = flags["build-only"];
        const later = Object.values(all).filter((p) => !stage1Programs.includes(p));
        const list = which === "all" ? Object.values(all) : which === "stage1" ? stage1Programs : later;
        const t = Date.now();
        await buildAll(list, report);
        say(
            `built or found ${list.length - report.failed} of ${list.length} in ${Math.round((Date.now() - t) / 1000)}s`,
        );
        return report.failed === 0 ? 0 : 1;
    }

    const started = Date.now();
    const built = await buildAll(stage1Programs, report);
    if (report.failed > 0) {
        say(report.summary());
        return 1;
    }

    const dir = await mkdtemp(path.join(os.tmpdir(), "do-gitops-e2e-"));
    const sup = new Supervisor(dir);
    let interrupted = false;
    const onSignal = (sig: NodeJS.Signals) => {
        if (interrupted) return;
        interrupted = true;
        say(`\ne2e: ${sig}: stopping every process it started…`);
        sup.stopAll(5_000).finally(() => {
            say(report.summary());
            process.exit(130);
        });
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("exit", () => sup.killAllNow());

    try {
        say(`e2e: run folder ${dir}`);
        const cp = await startControlPlane(sup, {
            etcd: built.etcd.etcd,
            kubeApiserver: built.kubernetes["kube-apiserver"],
            dir,
        }).catch((e: Error) => {
            report.fail("control plane (etcd, kube-apiserver) on 127.0.0.1", e.message);
            return undefined;
        });
        if (cp) {
            report.pass("control plane (etcd, kube-apiserver) on 127.0.0.1", cp.server);
            say("— stage 1: the API server accepts everything the project generates");
            await stage1({ root, dir, kubectlBin: built.kubernetes.kubectl, cp, report });
        }
    } catch (e) {
        report.fail("e2e runner", (e as Error).stack ?? String(e));
    } finally {
        await sup.stopAll();
    }
    const keep = flags.keep === true || report.failed > 0;
    if (keep) say(`e2e: logs and data kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
    say(`e2e: ${Math.round((Date.now() - started) / 1000)}s`);
    say(report.summary());
    return report.failed === 0 ? 0 : 1;
}

main().then(
    (code) => {
        process.exitCode = code;
    },
    (err: unknown) => {
        process.stderr.write(`e2e: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exitCode = 1;
    },
);
