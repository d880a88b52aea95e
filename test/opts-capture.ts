/**
 * Test helper: runs the program (or a component) under the mocks while capturing every
 * resource's options (dependsOn, id of reads, ...) and its input Outputs, which the mocks alone
 * do not see. Used to prove ordering: what is deleted before what on destroy.
 */
import * as pulumi from "@pulumi/pulumi";
import { main } from "../infrastructure/program";
import { MockRecorder, runOffline, toPulumiConfig } from "../tools/mocks";
import { FAKE_ENV, PROJECT, STACK } from "./harness";

export interface Captured {
    readonly key: string;
    readonly type: string;
    readonly name: string;
    readonly opts: pulumi.ResourceOptions;
    readonly props: Record<string, unknown>;
}

export class Capture {
    private readonly keys = new WeakMap<pulumi.Resource, string>();
    public readonly byKey = new Map<string, Captured>();

    /** Registers the stack transformation; call inside the program, before creating resources. */
    install(): void {
        pulumi.runtime.registerStackTransformation((args) => {
            const key = `${args.type}::${args.name}`;
            this.keys.set(args.resource, key);
            this.byKey.set(key, { key, type: args.type, name: args.name, opts: args.opts, props: args.props as Record<string, unknown> });
            return undefined;
        });
    }

    /** `type::name` of a resource created during the run. */
    keyOf(resource: pulumi.Resource): string {
        const key = this.keys.get(resource);
        if (!key) throw new Error("resource not created during this run");
        return key;
    }

    get(type: string, name: string): Captured {
        const found = this.byKey.get(`${type}::${name}`);
        if (!found) throw new Error(`no ${type}::${name} captured; have: ${[...this.byKey.keys()].join(", ")}`);
        return found;
    }

    /** The explicit `dependsOn` of a resource, as `type::name` keys. */
    dependsOn(type: string, name: string): string[] {
        const d = this.get(type, name).opts.dependsOn;
        const list = d === undefined ? [] : Array.isArray(d) ? d : [d];
        return list.map((r) => this.keyOf(r as pulumi.Resource));
    }

    /** Every resource an input Output (transitively) depends on, as `type::name` keys. */
    async outputDependencies(value: unknown): Promise<string[]> {
        if (!pulumi.Output.isInstance(value)) return [];
        const all = await (value as unknown as { allResources(): Promise<Set<pulumi.Resource>> }).allResources();
        return [...all].map((r) => this.keys.get(r) ?? "?");
    }
}

/** Runs the whole program with `values` as config, capturing options. */
export async function runStackCapturing(values: Record<string, unknown>) {
    const capture = new Capture();
    const run = await runOffline(
        { project: PROJECT, stack: STACK, config: toPulumiConfig(PROJECT, values), recorder: new MockRecorder() },
        () => {
            capture.install();
            return main({ env: FAKE_ENV });
        },
    );
    if (run.error) throw run.error;
    return { ...run, capture };
}

/** Runs a component-creating function, capturing options. */
export async function runComponentCapturing<T>(create: () => T) {
    const capture = new Capture();
    let value: T | undefined;
    const run = await runOffline({ project: PROJECT, stack: STACK, config: {} }, () => {
        capture.install();
        value = create();
        return {};
    });
    if (run.error) throw run.error;
    return { recorder: run.recorder, capture, value: value as T };
}
