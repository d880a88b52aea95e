/**
 * Shared test helpers: run the real program or a component under Pulumi's mocks and find
 * what it registered. Every test file runs in its own process (node --test), so the
 * runtime's global state never leaks between files.
 */
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { main, type ProgramOptions } from "../infrastructure/program";
import { type MockRecorder, runOffline, toPulumiConfig } from "../tools/mocks";
import { baseConfig, FAKE_ENV } from "./config-fixtures";

export { containsSecret, isSecretOutput, MockRecorder, redact, reveal } from "../tools/mocks";
export { baseConfig, FAKE_ENV } from "./config-fixtures";

export const PROJECT = "do-gitops-platform";
export const STACK = "test";

export interface StackRun {
    recorder: MockRecorder;
    outputs?: Record<string, unknown>;
    rawOutputs?: Record<string, unknown>;
    error?: unknown;
}

/** Runs the whole program with `values` as the stack config. */
export async function runStack(
    values: Record<string, unknown>,
    options: {
        secretKeys?: string[];
        program?: ProgramOptions;
        recorder?: MockRecorder;
        /** Settings under other namespaces, as full keys (`digitalocean:token`). */
        otherConfig?: Record<string, string>;
        /** Stack name. Default: `test`. */
        stack?: string;
    } = {},
): Promise<StackRun> {
    const run = await runOffline(
        {
            project: PROJECT,
            stack: options.stack ?? STACK,
            config: { ...options.otherConfig, ...toPulumiConfig(PROJECT, values) },
            secretKeys: (options.secretKeys ?? []).map((k) => `${PROJECT}:${k}`),
            recorder: options.recorder,
        },
        () => main({ env: FAKE_ENV, ...options.program }),
    );
    return run as StackRun;
}

let base: Promise<StackRun> | undefined;

/**
 * The whole program with `baseConfig()` and no other option, run once per process (on the first
 * call, in a test) and shared by the tests that only read it: several test files each ran this
 * same stack, and a shared test process ran it eight times. A test that changes what a run
 * recorded, or needs its own recorder, fresh generated values or other options, uses runStack.
 */
export function baseStack(): Promise<StackRun> {
    base ??= runStack(baseConfig());
    return base;
}

/** Runs a component (or any resource-creating function) under mocks. */
export async function runComponent<T>(create: () => T): Promise<{ recorder: MockRecorder; value: T }> {
    let value: T | undefined;
    const run = await runOffline({ project: PROJECT, stack: STACK, config: {} }, () => {
        value = create();
        return {};
    });
    if (run.error) throw run.error;
    return { recorder: run.recorder, value: value as T };
}

/** Resolves an Output (or plain value) to its value. */
export function inputValue<T>(o: pulumi.Input<T> | undefined): Promise<T> {
    return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

/** A kubeconfig file with the given contexts, all pointing at a loopback server (no real cluster behind it). */
export function kubeconfigFile(contexts: string[], current?: string): string {
    const file = join(mkdtempSync(join(tmpdir(), "kubeconfig-")), "config");
    writeFileSync(
        file,
        stringify({
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: "kind", cluster: { server: "https://127.0.0.1:6443" } }],
            users: [{ name: "kind", user: {} }],
            contexts: contexts.map((name) => ({ name, context: { cluster: "kind", user: "kind" } })),
            ...(current ? { "current-context": current } : {}),
        }),
    );
    return file;
}

/** The example stacks: every `Pulumi.<stack>.yaml` beside Pulumi.yaml, sorted. */
export function exampleStacks(root: string = join(__dirname, "..")): string[] {
    return readdirSync(root)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/** The environment an example stack runs with: fake credentials, or for `local` a kubeconfig with its context. */
export function exampleStackEnv(stack: string): NodeJS.ProcessEnv {
    return stack === "local" ? { KUBECONFIG: kubeconfigFile(["kind-gitops"], "kind-gitops") } : FAKE_ENV;
}
