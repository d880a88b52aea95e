/**
 * Offline render: runs the real program under Pulumi's mocks with a stack's config and
 * writes what it declares — every Kubernetes object as YAML, every Pulumi resource (type,
 * name, parent, inputs) to resources.json, and the stack outputs — with every secret value
 * replaced by "[secret]".
 */
import { join } from "node:path";
import { stringify } from "yaml";
import { main } from "../../infrastructure/program";
import {
    isSecretOutput,
    isSecretValue,
    type MockRecorder,
    type RecordedResource,
    redact,
    reveal,
    runOffline,
} from "../mocks";
import { checkOutputDir, writeOutputDir } from "./output";
import { readStackConfig } from "./stack-config";

export interface RenderOptions {
    /** Project root holding Pulumi.yaml and Pulumi.<stack>.yaml. */
    readonly root: string;
    readonly stack: string;
    /**
     * Output directory. Created when missing; replaced only when it is empty or a previous
     * render's output (see output.ts); anything else is refused with an `OutputDirError`.
     */
    readonly out: string;
    /** The caller's working directory, never used as the output. Default: `process.cwd()`. */
    readonly cwd?: string;
}

export interface RenderResult {
    readonly recorder: MockRecorder;
    readonly files: string[];
}

const NOT_OBJECTS = new Set(["kubernetes:helm.sh/v3:Release", "pulumi:providers:kubernetes"]);

export function isKubernetesObject(r: RecordedResource): boolean {
    return r.custom && !r.read && r.type.startsWith("kubernetes:") && !NOT_OBJECTS.has(r.type);
}

/** A Kubernetes object's manifest from its recorded inputs (secrets redacted). */
export function manifestOf(r: RecordedResource): Record<string, unknown> {
    const inputs = { ...r.inputs };
    // A Secret's data is one secret value; show its keys, never its values.
    for (const field of ["data", "stringData"]) {
        const v = inputs[field];
        if (isSecretValue(v) && v.value && typeof v.value === "object") {
            inputs[field] = Object.fromEntries(Object.keys(v.value).map((k) => [k, "[secret]"]));
        }
    }
    const { apiVersion, kind, metadata, ...rest } = redact(inputs) as Record<string, unknown>;
    return { apiVersion, kind, metadata, ...rest };
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "_");

export async function render(options: RenderOptions): Promise<RenderResult> {
    // Refuse an unusable output directory before the (slow) program run.
    checkOutputDir(options.out, options);
    const stackConfig = readStackConfig(options.root, options.stack);
    const run = await runOffline(
        {
            project: stackConfig.project,
            stack: options.stack,
            config: stackConfig.config,
            secretKeys: stackConfig.secretKeys,
        },
        () => main({ requireCredentials: false, stackFile: join(options.root, `Pulumi.${options.stack}.yaml`) }),
    );
    if (run.error) throw run.error;

    const files = await writeOutputDir(options.out, options, async (write) => {
        const resources = run.recorder.resources.map((r) => ({
            type: r.type,
            name: r.name,
            parent: r.parent ?? null,
            custom: r.custom,
            read: r.read,
            inputs: redact(r.inputs),
        }));
        write("resources.json", `${JSON.stringify(resources, null, 2)}\n`);

        for (const r of run.recorder.resources) {
            if (isKubernetesObject(r)) {
                const m = manifestOf(r);
                const meta = (reveal(m.metadata) ?? {}) as { name?: string; namespace?: string };
                const dir = meta.namespace ? safe(meta.namespace) : "_cluster";
                write(
                    join("kubernetes", dir, `${safe(String(m.kind))}-${safe(meta.name ?? r.name)}.yaml`),
                    stringify(m),
                );
            } else if (r.type === "kubernetes:helm.sh/v3:Release") {
                const i = redact(r.inputs) as Record<string, unknown>;
                const release = {
                    name: i.name,
                    namespace: i.namespace,
                    chart: i.chart,
                    version: i.version,
                    repositoryOpts: i.repositoryOpts,
                    values: i.values,
                };
                write(join("helm", `${safe(String(i.name ?? r.name))}.yaml`), stringify(release));
            }
        }

        const outputs: Record<string, unknown> = {};
        for (const [k, v] of Object.entries((run.rawOutputs ?? {}) as Record<string, unknown>)) {
            outputs[k] = (await isSecretOutput(v)) ? "[secret]" : redact(run.outputs?.[k]);
        }
        write("outputs.json", `${JSON.stringify(outputs, null, 2)}\n`);
    });
    return { recorder: run.recorder, files };
}
