/** Minimal, strict `--flag value` / `--switch` parser shared by the command-line tools. */
export interface FlagSpec {
    readonly values?: readonly string[];
    readonly switches?: readonly string[];
}

export class UsageError extends Error {}

export function parseFlags(argv: readonly string[], spec: FlagSpec): Record<string, string | boolean> {
    const out: Record<string, string | boolean> = {};
    const values = new Set(spec.values ?? []);
    const switches = new Set(spec.switches ?? []);
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
        if (!m) throw new UsageError(`unexpected argument: ${arg}`);
        const [, name, inline] = m;
        if (switches.has(name)) {
            if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
            out[name] = true;
        } else if (values.has(name)) {
            const v = inline ?? argv[++i];
            if (v === undefined || v.startsWith("--")) throw new UsageError(`--${name} needs a value`);
            out[name] = v;
        } else {
            throw new UsageError(`unknown flag --${name}`);
        }
    }
    return out;
}
