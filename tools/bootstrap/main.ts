// npm run bootstrap -- up|destroy [--stack dev] [--yes] [--cluster-gone]   (called by make bootstrap / make destroy)
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { CLUSTER_GONE_ENV, DESTROY_ENV } from "../../infrastructure/run-mode";
import { parseFlags, UsageError } from "../lib/args";
import { backendUrl, ensureLocalState, pulumiEnv } from "../lib/backend";
import { writePrivateFile } from "./files";
import { confirmation, destroyPlan, type Step, summary, upPlan } from "./plan";
import { preflight } from "./preflight";

const USAGE = "usage: npm run bootstrap -- up [--stack dev] [--yes] | destroy [--stack dev] [--yes] [--cluster-gone]";

function execute(step: Step, env: NodeJS.ProcessEnv): string {
    console.log(`==> ${step.describe}`);
    const r = spawnSync(step.command, [...step.args], {
        env: { ...env, ...step.env },
        stdio: step.capture ? ["ignore", "pipe", "inherit"] : "inherit",
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error || r.status !== 0) {
        const why = r.error ? r.error.message : `exit code ${r.status}`;
        throw new Error(`${step.describe} failed: ${step.command} ${step.args.join(" ")} (${why})`);
    }
    return r.stdout ?? "";
}

function main(): number {
    const [action, ...rest] = process.argv.slice(2);
    let flags: Record<string, string | boolean>;
    try {
        if (action !== "up" && action !== "destroy") throw new UsageError(`unknown action ${action ?? "(none)"}`);
        flags = parseFlags(rest, {
            values: ["stack"],
            switches: action === "destroy" ? ["yes", "cluster-gone"] : ["yes"],
        });
    } catch (e) {
        if (e instanceof UsageError) {
            console.error(`bootstrap: ${e.message}\n${USAGE}`);
            return 2;
        }
        throw e;
    }
    const root = process.cwd();
    const stack = String(flags.stack ?? "dev");
    const target = action === "up" ? "bootstrap" : "destroy";

    const missing = preflight({ action: target, root, stack, env: process.env });
    const confirm = confirmation(target, {
        yes: flags.yes === true,
        env: process.env,
        terminal: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    });
    if ("problem" in confirm) missing.push(confirm.problem);
    if (missing.length > 0 || "problem" in confirm) {
        console.error(`make ${target}: missing prerequisites for stack ${stack}:`);
        for (const m of missing) console.error(`  - ${m}`);
        return 1;
    }

    const env = pulumiEnv(root, process.env);
    // Only make destroy's own calls may tell the program it runs for a destroy.
    delete env[DESTROY_ENV];
    delete env[CLUSTER_GONE_ENV];
    const kubeconfigPath = join(root, "kubeconfig.yaml");
    const options = { stack, confirmation: confirm.mode, clusterGone: flags["cluster-gone"] === true };
    try {
        // The CLI refuses a file:// backend whose folder does not exist.
        ensureLocalState(backendUrl(root, process.env));
        if (action === "destroy") {
            for (const step of destroyPlan(options)) execute(step, env);
            rmSync(kubeconfigPath, { force: true });
            console.log(
                `\nStack ${stack} destroyed. Its (now empty) state remains in ${backendUrl(root, process.env)}; ` +
                    `remove it with: PULUMI_BACKEND_URL=${backendUrl(root, process.env)} pulumi stack rm ${stack}`,
            );
            return 0;
        }
        const [select, up, kubeconfigStep, outputsStep] = upPlan(options);
        for (const step of [select, up]) execute(step, env);
        const outputs = JSON.parse(execute(outputsStep, env) || "{}") as Record<string, unknown>;
        // Only a stack that creates its cluster exports a kubeconfig; on an existing cluster the
        // user's own kubeconfig is what the stack used.
        let written: string | undefined;
        if ("kubeconfig" in outputs) {
            writePrivateFile(kubeconfigPath, execute(kubeconfigStep, env));
            written = kubeconfigPath;
        }
        console.log(summary(outputs, written, stack));
        return 0;
    } catch (e) {
        console.error(`\n${(e as Error).message}`);
        return 1;
    }
}

process.exitCode = main();
