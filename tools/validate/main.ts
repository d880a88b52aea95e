// Entry point of `npm run validate` / `make validate` (see validate.ts).
// Usage: npm run validate -- [DIR]   (default: deploy)
import path from "node:path";
import { formatProblem, validateDeploy } from "./validate";

async function main(): Promise<number> {
    const arg = process.argv[2];
    if (arg === "-h" || arg === "--help") {
        process.stdout.write(
            "usage: npm run validate -- [DIR]   builds every kustomization and every environment (DIR/clusters/*) under DIR (default: deploy) and validates the objects\n",
        );
        return 0;
    }
    const root = path.resolve(arg ?? "deploy");
    // paths in messages: relative to the working directory (deploy/apps/...), or to DIR when it is elsewhere
    const inCwd = !path.relative(process.cwd(), root).startsWith("..");
    const report = await validateDeploy(root, { relativeTo: inCwd ? process.cwd() : root });
    for (const k of report.kustomizations) process.stdout.write(`built ${k.dir} (${k.objects} objects)\n`);
    for (const p of report.problems) process.stderr.write(`error: ${formatProblem(p)}\n`);
    // a tree without clusters/ is one environment, its root: nothing to tell apart
    const named = report.environments.filter((e) => e.name !== ".");
    for (const e of named) {
        const verdict = e.problems === 0 ? "ok" : `${e.problems} problem(s)`;
        process.stdout.write(
            `environment ${e.name} (${e.dir}): ${e.layers} layers, ${e.objects} objects: ${verdict}\n`,
        );
    }
    const summary =
        `validated ${report.objects} distinct objects from ${report.kustomizations.length} kustomizations` +
        `${named.length > 0 ? ` in ${named.length} environment(s)` : ""}: ` +
        `${report.problems.length === 0 ? "no problems" : `${report.problems.length} problem(s)`}`;
    process.stdout.write(`${summary}\n`);
    return report.problems.length === 0 ? 0 : 1;
}

main().then(
    (code) => {
        process.exitCode = code;
    },
    (err: unknown) => {
        process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
    },
);
