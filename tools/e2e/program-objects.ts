/**
 * Runs the stack program (infrastructure/program.ts `main`) offline, under the same mocks as
 * `make render`, with a config given as JSON, and writes what it declares with every secret
 * value in the clear: the Kubernetes objects (in registration order) and the stack outputs.
 *
 *   tsx tools/e2e/program-objects.ts <request.json> <result.json>
 *
 * request.json: { project, stack, config: { key: value }, secretKeys: [key] } (keys without the
 * project prefix). result.json (mode 0600: it holds the stack's credentials): { objects, outputs,
 * resources }. A separate process because the mocks are process-wide.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { main } from "../../infrastructure/program";
import { reveal, runOffline, toPulumiConfig } from "../mocks";
import { isKubernetesObject } from "../render/render";

export interface ProgramRequest {
    readonly project: string;
    readonly stack: string;
    readonly config: Record<string, unknown>;
    readonly secretKeys: readonly string[];
}

export interface ProgramResult {
    /** Kubernetes objects as the program declares them, secrets revealed, in registration order. */
    readonly objects: { apiVersion: string; kind: string; metadata: Record<string, unknown>; [k: string]: unknown }[];
    /** Stack outputs, secrets revealed. */
    readonly outputs: Record<string, unknown>;
    /** Every Pulumi resource type the program registers (for the check lines). */
    readonly resourceTypes: string[];
}

async function run(requestFile: string, resultFile: string): Promise<void> {
    const req = JSON.parse(readFileSync(requestFile, "utf8")) as ProgramRequest;
    const result = await runOffline(
        {
            project: req.project,
            stack: req.stack,
            config: toPulumiConfig(req.project, req.config),
            secretKeys: req.secretKeys.map((k) => `${req.project}:${k}`),
        },
        () => main({ requireCredentials: false }),
    );
    if (result.error) throw result.error;
    const objects = result.recorder.resources.filter(isKubernetesObject).map((r) => {
        const o = reveal<ProgramResult["objects"][number]>(r.inputs);
        return { ...o, metadata: { ...o.metadata, name: o.metadata?.name ?? r.name } };
    });
    const out: ProgramResult = {
        objects,
        outputs: reveal<Record<string, unknown>>(result.outputs ?? {}),
        resourceTypes: result.recorder.resources.map((r) => r.type),
    };
    writeFileSync(resultFile, `${JSON.stringify(out, null, 2)}\n`, { mode: 0o600 });
}

const [requestFile, resultFile] = process.argv.slice(2);
if (!requestFile || !resultFile) {
    process.stderr.write("usage: tsx tools/e2e/program-objects.ts <request.json> <result.json>\n");
    process.exit(2);
}
run(requestFile, resultFile).then(
    () => process.exit(0),
    (e: unknown) => {
        process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
    },
);
