// The plaintext-Secret guard of `make validate` and `make upload-do`: no `kind: Secret` whose
// `data`/`stringData` is not SOPS-encrypted leaves the machine.
//
// Two places are checked:
//  - every YAML/JSON file of the tree (each document of it);
//  - every object the tree's kustomizations build (a `secretGenerator`, a Secret a remote base
//    pulls in): such a Secret is named by the files that define it, or by its kustomization file
//    when no file of the tree does (a generator).
// A Secret counts as encrypted when it carries SOPS's metadata (`sops.mac` and at least one key
// group, e.g. `sops.age`) and every value under `data` and `stringData` is a SOPS ciphertext
// (`ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`), which is what `make seal` writes (.sops.yaml
// `encrypted_regex: ^(data|stringData)$`). A Secret with no values has nothing to hide.
//
// The escape hatch: `.plaintext-secrets` at the tree's root lists paths (gitignore syntax,
// relative to the root) whose Secrets may stay in plaintext. Like every dotfile it is never
// uploaded.
import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import ignore from "ignore";
import { parseAllDocuments } from "yaml";
import { cachedKustomizeBuild, ensureKustomize, findKustomizations } from "../kustomize/build";

/** The allow-list file at the root of the tree. */
export const ALLOW_FILE = ".plaintext-secrets";

/** A SOPS value (sops/aes/cipher.go: `ENC[AES256_GCM,data:%s,iv:%s,tag:%s,type:%s]`). */
export const SOPS_VALUE = /^ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,type:[a-z]+\]$/;

/** SOPS key groups a sealed file may name (sops/stores: the `sops` metadata's key lists). */
const KEY_GROUPS = ["age", "kms", "gcp_kms", "azure_kv", "hc_vault", "pgp", "hckms", "key_groups"];

export interface PlaintextSecret {
    /** Files (relative to the tree's parent, or `relativeTo`) that define the Secret. */
    readonly files: string[];
    /** `Secret namespace/name`. */
    readonly object: string;
    /** Which values are not encrypted. */
    readonly message: string;
}

type Obj = { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } } & Record<
    string,
    unknown
>;

const isSecret = (o: Obj | null | undefined): o is Obj => !!o && o.kind === "Secret" && o.apiVersion === "v1";

export function describeSecret(o: Obj): string {
    const ns = typeof o.metadata?.namespace === "string" ? `${o.metadata.namespace}/` : "";
    return `Secret ${ns}${String(o.metadata?.name)}`;
}

/** The keys of `data`/`stringData` whose values are not SOPS ciphertexts, as `data.key`. */
export function plaintextValues(o: Obj): string[] {
    const out: string[] = [];
    for (const field of ["data", "stringData"] as const) {
        const values = o[field];
        if (!values || typeof values !== "object") continue;
        for (const [k, v] of Object.entries(values as Record<string, unknown>)) {
            if (!(typeof v === "string" && SOPS_VALUE.test(v))) out.push(`${field}.${k}`);
        }
    }
    return out;
}

/** Whether the object carries SOPS metadata with a MAC and a key group. */
export function hasSopsMetadata(o: Obj): boolean {
    const sops = o.sops as Record<string, unknown> | undefined;
    if (!sops || typeof sops !== "object" || typeof sops.mac !== "string" || sops.mac === "") return false;
    return KEY_GROUPS.some((k) => Array.isArray(sops[k]) && (sops[k] as unknown[]).length > 0);
}

/** Why a Secret is not SOPS-encrypted, or undefined when it is (or has no values). */
export function plaintextReason(o: Obj): string | undefined {
    const values = [o.data, o.stringData].flatMap((v) => (v && typeof v === "object" ? Object.keys(v) : []));
    if (values.length === 0) return undefined;
    const plain = plaintextValues(o);
    if (plain.length > 0) {
        return `${plain.join(", ")} ${plain.length === 1 ? "is" : "are"} not SOPS-encrypted`;
    }
    if (!hasSopsMetadata(o)) return "has encrypted-looking values but no SOPS metadata (sops.mac and a key group)";
    return undefined;
}

/** The tree's allow-list: a matcher of paths relative to the root. */
export async function loadAllowList(root: string): Promise<(rel: string) => boolean> {
    let text: string;
    try {
        text = await readFile(path.join(root, ALLOW_FILE), "utf8");
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return () => false;
        throw err;
    }
    const matcher = ignore().add(text);
    return (rel) => rel !== "" && !rel.startsWith("..") && matcher.ignores(rel.split(path.sep).join("/"));
}

/** Every YAML/JSON file under root (dot files and folders skipped, as the upload skips them). */
export async function treeFiles(root: string): Promise<string[]> {
    const found: string[] = [];
    const pending = [root];
    for (let guard = 0; pending.length > 0 && guard < 100_000; guard++) {
        const dir = pending.pop()!;
        for (const e of await readdir(dir, { withFileTypes: true })) {
            if (e.name.startsWith(".")) continue;
            const abs = path.join(dir, e.name);
            if (e.isDirectory()) pending.push(abs);
            else if (e.isFile() && /\.(ya?ml|json)$/.test(e.name)) found.push(abs);
        }
    }
    return found.sort();
}

/**
 * What a file's text must contain to hold a document whose `kind` is `Secret`: YAML and JSON can
 * only spell that value with the letters `Secret` in the text (plain, quoted, block scalars,
 * anchors) or through a backslash escape in a double-quoted string (`"Secr\u0065t"`). Files with
 * neither are not parsed: parsing every manifest was most of the CPU of a 10,000-file upload.
 * (`make upload-do` runs this test on each file's bytes as it hashes them: digest-worker.cjs.)
 */
export const SECRET_NEEDLES: readonly string[] = ["Secret", "\\"];
const NEEDLE_BYTES = SECRET_NEEDLES.map((n) => Buffer.from(n, "utf8"));

/** Whether a file's text (or its UTF-8 bytes) contains one of SECRET_NEEDLES. */
export function mayHoldSecret(text: string | Uint8Array): boolean {
    if (typeof text === "string") return SECRET_NEEDLES.some((n) => text.includes(n));
    // the same test on the bytes (UTF-8: an ASCII byte is always that character), no decoding
    const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength);
    return NEEDLE_BYTES.some((n) => bytes.includes(n));
}

/** The Secrets of one file, each with why it is plaintext (undefined: sealed). */
function fileSecrets(abs: string): Array<{ obj: Obj; reason?: string }> {
    let docs: Obj[];
    try {
        // synchronous: the files are checked one after another, and fs/promises' per-file
        // FileHandle costs more than the read itself for small manifests
        const text = readFileSync(abs, "utf8");
        if (!mayHoldSecret(text)) return [];
        docs = parseAllDocuments(text).map((d) => d.toJS() as Obj);
    } catch {
        return []; // unreadable or unparsable: kustomize and make validate report it
    }
    return docs.filter(isSecret).map((obj) => ({ obj, reason: plaintextReason(obj) }));
}

export interface GuardOptions {
    /** Paths in the result are relative to this folder. Default: the parent of root. */
    readonly relativeTo?: string;
    /**
     * Objects each kustomization builds, by its folder (absolute). Default: none (only the
     * files are checked).
     */
    readonly built?: ReadonlyMap<string, readonly unknown[]>;
    /** Only these files (absolute) are checked. Default: every YAML/JSON file of the tree. */
    readonly files?: readonly string[];
}

/**
 * The plaintext Secrets of a tree: in its files, and in what its kustomizations build. Each is
 * reported once, naming its files; allowed paths ({@link ALLOW_FILE}) are left out.
 */
export async function findPlaintextSecrets(root: string, opts: GuardOptions = {}): Promise<PlaintextSecret[]> {
    const absRoot = path.resolve(root);
    const relativeTo = opts.relativeTo ?? path.dirname(absRoot);
    const allowed = await loadAllowList(absRoot);
    const show = (abs: string) => path.relative(relativeTo, abs) || ".";
    const inTree = (abs: string) => path.relative(absRoot, abs);

    // every Secret of every file: plaintext ones are reported; sealed ones cover the built copies
    const files = opts.files ?? (await treeFiles(absRoot));
    /** Secret name → the files defining it, and whether each copy there is plaintext. */
    const definedIn = new Map<string, Array<{ abs: string; plaintext: boolean }>>();
    const found: PlaintextSecret[] = [];
    const reported = new Set<string>();
    for (const abs of files) {
        for (const { obj, reason } of fileSecrets(abs)) {
            const key = String(obj.metadata?.name);
            definedIn.set(key, [...(definedIn.get(key) ?? []), { abs, plaintext: reason !== undefined }]);
            if (reason === undefined || allowed(inTree(abs))) continue;
            const id = `${abs}\u0000${describeSecret(obj)}`;
            if (reported.has(id)) continue;
            reported.add(id);
            found.push({
                files: [show(abs)],
                object: describeSecret(obj),
                message: `${reason} (seal the file: make seal FILE=…)`,
            });
        }
    }

    // what the kustomizations build: Secrets no file defines (generators, remote bases)
    // innermost kustomization first: a Secret is reported where it is built, not where it is included
    const builds = [...(opts.built ?? new Map<string, readonly unknown[]>())].sort((a, b) => b[0].length - a[0].length);
    for (const [dir, objects] of builds) {
        for (const o of objects as Obj[]) {
            if (!isSecret(o)) continue;
            const reason = plaintextReason(o);
            if (reason === undefined) continue;
            const sources = definedIn.get(String(o.metadata?.name)) ?? [];
            // a plaintext file of the tree defines it: reported (or allowed) as that file above
            if (sources.some((x) => x.plaintext)) continue;
            const kfile = path.join(dir, "kustomization.yaml");
            const id = describeSecret(o);
            if (reported.has(id)) continue;
            reported.add(id);
            if (allowed(inTree(kfile)) || allowed(inTree(dir))) continue;
            found.push({
                files: [show(kfile), ...sources.map((x) => show(x.abs))],
                object: describeSecret(o),
                message:
                    sources.length > 0
                        ? `sealed in its file, but this kustomization's build has plaintext values (a patch or generator adds them): ${reason}`
                        : `built by this kustomization (a secretGenerator or a base outside the tree): ${reason} (use a sealed Secret manifest instead)`,
            });
        }
    }
    return found;
}

/**
 * Builds every kustomization of the tree with the pinned kustomize (two at a time; a folder
 * whose content was built before is read from the kept builds, cachedKustomizeBuild) and returns
 * the objects of each, by folder; a folder that does not build is listed in `failed` (make
 * validate reports why).
 */
export async function buildTree(
    root: string,
    kustomize?: string,
): Promise<{ built: Map<string, unknown[]>; failed: Map<string, string> }> {
    const dirs = await findKustomizations(path.resolve(root));
    const built = new Map<string, unknown[]>();
    const failed = new Map<string, string>();
    if (dirs.length === 0) return { built, failed };
    const bin = kustomize ?? ensureKustomize();
    const queue = [...dirs];
    const worker = async () => {
        for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) {
            try {
                const out = await cachedKustomizeBuild(bin, dir);
                built.set(
                    dir,
                    parseAllDocuments(out)
                        .map((d) => d.toJS())
                        .filter((o) => o !== null),
                );
            } catch (err) {
                failed.set(dir, (err as Error).message);
            }
        }
    };
    await Promise.all([worker(), worker()]);
    return { built, failed };
}

/**
 * The guard of `make upload-do`: the plaintext Secrets among the files about to be uploaded
 * and in what the tree's kustomizations build. Kustomizations that do not build are returned
 * too: their generated Secrets could not be checked.
 */
export async function guardUpload(
    root: string,
    files: readonly string[],
    opts: { kustomize?: string; relativeTo?: string } = {},
): Promise<{ plaintext: PlaintextSecret[]; unbuilt: Map<string, string> }> {
    const { built, failed } = await buildTree(root, opts.kustomize);
    const plaintext = await findPlaintextSecrets(root, { files, built, relativeTo: opts.relativeTo });
    return { plaintext, unbuilt: failed };
}

export function formatPlaintext(p: PlaintextSecret): string {
    return `${p.files.join(", ")}: ${p.object}: ${p.message}`;
}
