// npm run render -- --stack dev --out render/dev
import { resolve } from "node:path";
import { parseFlags, UsageError } from "../lib/args";
import { checkOutputDir, OutputDirError } from "./output";

async function run(): Promise<number> {
    let flags: Record<string, string | boolean>;
    try {
        flags = parseFlags(process.argv.slice(2), { values: ["stack", "out"] });
    } catch (e) {
        if (e instanceof UsageError) {
            console.error(`render: ${e.message}\nusage: npm run render -- [--stack dev] [--out render/<stack>]`);
            return 2;
        }
        throw e;
    }
    const stack = String(flags.stack ?? "dev");
    const out = resolve(String(flags.out ?? `render/${stack}`));
    const root = process.cwd();
    try {
        // An output directory render refuses is told before the program and Pulumi are loaded
        // (about 3 s of CPU); render() checks it again.
        checkOutputDir(out, { root });
    } catch (e) {
        if (e instanceof OutputDirError) {
            console.error(e.message);
            return 1;
        }
        throw e;
    }
    const [{ render }, { ConfigError }] = await Promise.all([
        import("./render.js"),
        import("../../infrastructure/config.js"),
    ]);
    try {
        const { recorder, files } = await render({ root, stack, out });
        const kube = files.filter((f) => f.startsWith("kubernetes/")).length;
        console.log(
            `rendered stack ${stack}: ${recorder.resources.length} Pulumi resources, ${kube} Kubernetes objects → ${out}`,
        );
        return 0;
    } catch (e) {
        if (
            e instanceof ConfigError ||
            e instanceof OutputDirError ||
            (e instanceof Error && e.message.startsWith("cannot read"))
        ) {
            console.error(e.message);
            return 1;
        }
        throw e;
    }
}

run().then((code) => process.exit(code));
