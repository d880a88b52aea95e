// `make seal FILE=deploy/…`: encrypts a Secret manifest in place with sops, for the stack's age
// recipient, following the nearest .sops.yaml (only `data`/`stringData` are encrypted). Flux
// decrypts it with the stack's `sops-age` Secret.
//
// The recipient: --recipient, else $SOPS_AGE_RECIPIENT, else the stack output sopsAgeRecipient.
// sops: the pinned release (tools/sops/ensure-sops.sh builds it once with Go; SOPS=/path uses
// a binary of that version).
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { parseFlags, UsageError } from "../lib/args";
import { pulumiStackOutputs, StackOutputError, type StackOutputReader } from "../upload/stack";
import { describeSecret, hasSopsMetadata, plaintextReason } from "./guard";

export const USAGE =
    "usage: make seal FILE=deploy/…/secret.yaml [STACK=dev]\n" +
    "       npm run seal -- --file FILE [--stack dev] [--recipient age1…]\n" +
    "Encrypts the Secret manifest FILE in place with sops for the stack's age recipient\n" +
    "(--recipient, $SOPS_AGE_RECIPIENT, or the stack output sopsAgeRecipient).";

/** An age X25519 recipient (Bech32, `age1` + 58 characters). */
export const AGE_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;

export interface SealDeps {
    readonly env?: NodeJS.ProcessEnv;
    readonly cwd?: string;
    readonly readStackOutputs?: StackOutputReader;
    /** sops executable. Default: the pinned one, from tools/sops/ensure-sops.sh. */
    readonly sops?: string;
    readonly out?: (line: string) => void;
    readonly err?: (line: string) => void;
}

/** The pinned sops, built once into a cache folder by tools/sops/ensure-sops.sh. */
export function ensureSops(env: NodeJS.ProcessEnv = process.env): string {
    const script = path.join(__dirname, "ensure-sops.sh");
    try {
        return execFileSync(script, {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
            timeout: 900_000,
            env,
        }).trim();
    } catch (err) {
        throw new Error(`cannot provide the pinned sops (${script}): ${(err as Error).message}`);
    }
}

/** The nearest .sops.yaml from `dir` upwards, as sops itself would look for one. */
export function findSopsConfig(dir: string): string | undefined {
    let d = path.resolve(dir);
    for (let i = 0; i < 64; i++) {
        const candidate = path.join(d, ".sops.yaml");
        if (existsSync(candidate)) return candidate;
        const up = path.dirname(d);
        if (up === d) return undefined;
        d = up;
    }
    return undefined;
}

class SealError extends Error {}

/** Why the file cannot be sealed: not Secrets only, or already sealed. */
async function checkFile(file: string): Promise<string[]> {
    let text: string;
    try {
        text = await readFile(file, "utf8");
    } catch (err) {
        throw new SealError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const docs = parseAllDocuments(text);
    const bad = docs.find((d) => d.errors.length > 0);
    if (bad) throw new SealError(`${file} is not valid YAML: ${bad.errors[0]?.message}`);
    const objects = docs.map((d) => d.toJS() as Record<string, unknown> | null).filter((o) => o !== null);
    if (objects.length === 0) throw new SealError(`${file} holds no object`);
    const problems: string[] = [];
    for (const o of objects) {
        if (o.apiVersion !== "v1" || o.kind !== "Secret") {
            problems.push(
                `${String(o.kind)} ${String((o.metadata as { name?: unknown } | undefined)?.name)} is not a Secret: keep only Secrets in a file you seal (sops would encrypt any data field in it)`,
            );
        } else if (hasSopsMetadata(o as never)) {
            problems.push(
                `${describeSecret(o as never)} is already sealed (to seal it for another key, decrypt it first: README, Rotating the key)`,
            );
        }
    }
    return problems;
}

function runSops(sops: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
    return new Promise((resolve, reject) => {
        execFile(sops, args, { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
            if (err) reject(new SealError(`sops failed: ${(stderr || err.message).trim()}`));
            else resolve();
        });
    });
}

export async function runSeal(argv: readonly string[], deps: SealDeps = {}): Promise<number> {
    const env = deps.env ?? process.env;
    const cwd = deps.cwd ?? process.cwd();
    const out = deps.out ?? ((l: string) => void process.stdout.write(`${l}\n`));
    const err = deps.err ?? ((l: string) => void process.stderr.write(`${l}\n`));
    let flags: Record<string, string | boolean>;
    try {
        flags = parseFlags(argv, { values: ["file", "stack", "recipient"], switches: ["help"] });
        if (flags.help) {
            out(USAGE);
            return 0;
        }
        if (typeof flags.file !== "string" || flags.file === "") throw new UsageError("FILE is required");
    } catch (e) {
        if (e instanceof UsageError) {
            err(`error: ${e.message}\n${USAGE}`);
            return 2;
        }
        throw e;
    }
    const file = path.resolve(cwd, flags.file);
    const stack = typeof flags.stack === "string" ? flags.stack : "dev";
    try {
        const problems = await checkFile(file);
        if (problems.length > 0) {
            for (const p of problems) err(`error: ${path.relative(cwd, file)}: ${p}`);
            return 1;
        }
        const config = findSopsConfig(path.dirname(file));
        if (!config) throw new SealError(`no .sops.yaml in ${path.dirname(file)} or any folder above it`);

        let recipient = typeof flags.recipient === "string" ? flags.recipient : env.SOPS_AGE_RECIPIENT;
        let from = typeof flags.recipient === "string" ? "--recipient" : "SOPS_AGE_RECIPIENT";
        if (!recipient) {
            const outputs = await (deps.readStackOutputs ?? pulumiStackOutputs({ env }))(stack);
            recipient = typeof outputs.sopsAgeRecipient === "string" ? outputs.sopsAgeRecipient : undefined;
            from = `the stack output sopsAgeRecipient of stack ${stack}`;
            if (!recipient) {
                throw new SealError(
                    `stack ${stack} has no sopsAgeRecipient output (run make bootstrap first, or pass SOPS_AGE_RECIPIENT=age1…)`,
                );
            }
        }
        if (!AGE_RECIPIENT.test(recipient))
            throw new SealError(`${from} is not an age recipient (age1…): ${recipient}`);

        const sops = deps.sops ?? ensureSops(env);
        await runSops(sops, ["--config", config, "encrypt", "--age", recipient, "--in-place", file], env);

        // what sops wrote must pass the guard make upload-do applies
        const sealed = parseAllDocuments(await readFile(file, "utf8")).map((d) => d.toJS() as Record<string, unknown>);
        const left = sealed.map((o) => plaintextReason(o as never)).filter((r) => r !== undefined);
        if (left.length > 0) {
            throw new SealError(
                `sops left values in plaintext (${left.join("; ")}): check the encrypted_regex of the rule in ${config} that matches this file`,
            );
        }
        out(`sealed ${path.relative(cwd, file)} for ${recipient} (${from})`);
        return 0;
    } catch (e) {
        if (e instanceof SealError || e instanceof StackOutputError) {
            err(`error: ${e.message}`);
            return 1;
        }
        throw e;
    }
}
