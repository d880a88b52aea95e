// npm run bootstrap -- up|destroy --stack dev   (called by make bootstrap / make destroy)
import { spawnSync } from "node:child_process";
import { chmodSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseFlags, UsageError } from "../lib/args";
import { backendUrl, destroyPlan, type Step, summary, upPlan } from "./plan";

function execute(step: Step, env: NodeJS.ProcessEnv): string {
    console.log(`==> ${step.describe}`);
    const r = spawnSync(step.command, [...step.args], {
        env,
        stdio: step.capture ? ["ignore", "pipe", "inherit"] : "inherit",
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error || r.status !== 0) {
        const why = r.error ? r.error.message : `exit code ${r.status}`;
        if (step.optional) {
            console.warn(`    (${step.describe} failed: ${why}; continuing)`);
            return "";
        }
        throw new Error(`${step.describe} failed: ${step.command} ${step.args.join(" ")} (${why})`);
    }
    return r.stdout ?? "";
}

function main(): number {
    const [action, ...rest] = process.argv.slice(2);
    let flags: Record<string, string | boolean>;
    try {
        if (action !== "up" && action !== "destroy") throw new UsageError(`unknown action ${action ?? "(none)"}`);
        flags = parseFlags(rest, { values: ["stack"] });
    } catch (e) {
        if (e instanceof UsageError) {
            console.error(`bootstrap: ${e.message}\nusage: npm run bootstrap -- up|destroy [--stack dev]`);
            return 2;
        }
        throw e;
    }
    const root = process.cwd();
    const stack = String(flags.stack ?? "dev");
    const options = { root, stack, env: process.env };
    const env = { ...process.env, PULUMI_BACKEND_URL: backendUrl(options), PULUMI_SKIP_UPDATE_CHECK: "true" };
    const kubeconfigPath = join(root, "kubeconfig.yaml");
    try {
        if (action === "destroy") {
            for (const step of destroyPlan(options)) execute(step, env);
            rmSync(kubeconfigPath, { force: true });
            console.log(
                `\nStack ${stack} destroyed. The stack's state remains; remove it with: pulumi stack rm ${stack}`,
            );
            return 0;
        }
        const [login, select, up, kubeconfigStep, outputsStep] = upPlan(options);
        for (const step of [login, select, up]) execute(step, env);
        const outputs = JSON.parse(execute(outputsStep, env) || "{}") as Record<string, unknown>;
        // Only a stack that creates its cluster exports a kubeconfig; on an existing cluster the
        // user's own kubeconfig is what the stack used.
        let written: string | undefined;
        if ("kubeconfig" in outputs) {
            const kubeconfig = execute(kubeconfigStep, env);
            writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });
            chmodSync(kubeconfigPath, 0o600);
            written = kubeconfigPath;
        }
        console.log(summary(outputs, written, stack));
        return 0;
    } catch (e) {
        console.error(`\n${(e as Error).message}`);
        return 1;
    }
}

process.exit(main());
