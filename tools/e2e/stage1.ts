/**
 * Stage 1: the API server accepts everything the project generates.
 *
 * The CRDs of the pinned Flux controllers, of the flux-operator and of Contour are installed from
 * their Go modules; then every object `make render` writes for every example stack
 * (Pulumi.<stack>.yaml) and every object `make validate` builds from deploy/ must pass a
 * server-side dry-run apply, and deliberately broken copies must be rejected with the API
 * server's own message.
 */
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { parse, parseAllDocuments, stringify } from "yaml";
import { exampleSettings } from "../../components/flux/settings";
import { substituteText, substitutionDisabled } from "../../components/flux/substitute";
import { versions } from "../../components/versions";
import { ensureKustomize, findKustomizations, kustomizeBuild } from "../validate/validate";
import { downloadModule } from "./build";
import { type ControlPlane, kubectl } from "./cluster";
import { parseGoMod } from "./gomod";
import type { Report } from "./report";

const execFileP = promisify(execFile);

export interface KubeObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; [k: string]: unknown };
    [field: string]: unknown;
}

/** Where an object came from, for the check lines: `render dev` or `deploy/apps/podinfo`. */
export interface SourcedObject {
    readonly source: string;
    readonly object: KubeObject;
}

export function describe(o: KubeObject): string {
    return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;
}

function parseObjects(text: string, origin: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const doc of parseAllDocuments(text)) {
        if (doc.errors.length > 0) throw new Error(`${origin}: ${doc.errors[0]?.message}`);
        const o = doc.toJS() as KubeObject | null;
        if (o && typeof o === "object") out.push(o);
    }
    return out;
}

async function yamlFiles(dir: string): Promise<string[]> {
    const out: string[] = [];
    for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) out.push(...(await yamlFiles(p)));
        else if (/\.ya?ml$/.test(e.name)) out.push(p);
    }
    return out.sort();
}

/** The CRD sources: each Go module at its pinned version and the CRD files in it. */
export function crdSources(): {
    label: string;
    module: string;
    version: string;
    files: (dir: string) => Promise<string[]>;
}[] {
    const e = versions.e2e;
    const bases = (dir: string) => yamlFiles(path.join(dir, "config", "crd", "bases"));
    return [
        ...Object.entries({ ...e.fluxControllers, ...e.imageControllers }).map(([name, version]) => ({
            label: `${name} ${version}`,
            module: `github.com/fluxcd/${name}`,
            version,
            files: bases,
        })),
        {
            label: `flux-operator ${e.fluxOperator}`,
            module: "github.com/controlplaneio-fluxcd/flux-operator",
            version: e.fluxOperator,
            files: bases,
        },
        {
            label: `Contour ${e.contour}`,
            module: "github.com/projectcontour/contour",
            version: e.contour,
            files: async (dir: string) => [path.join(dir, "examples", "contour", "01-crds.yaml")],
        },
    ];
}

/** The example stacks: every Pulumi.<stack>.yaml at the repository root. */
export async function exampleStacks(root: string): Promise<string[]> {
    return (await readdir(root))
        .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/**
 * `make render` for one stack, in a child process (the render sets process-wide Pulumi mocks);
 * the objects come back on its stdout with secrets revealed (see render-objects.ts), because the
 * rendered files redact whole fields that hold secrets.
 */
async function renderStack(root: string, stack: string, out: string): Promise<KubeObject[]> {
    const { stdout } = await execFileP(
        process.execPath,
        ["--import", "tsx", "tools/e2e/render-objects.ts", stack, out],
        { cwd: root, timeout: 300_000, maxBuffer: 64 << 20 },
    );
    return JSON.parse(stdout) as KubeObject[];
}

/**
 * Every distinct object of every kustomization under deploy/ (every environment's overlays
 * included), built as `make validate` builds it:
 * the pinned kustomize, then Flux's post-build substitution with the example stack's values
 * (`${flux_namespace}` and the others the root Kustomization sets), unless an object opts out.
 */
async function deployObjects(root: string): Promise<SourcedObject[]> {
    const bin = ensureKustomize();
    const vars = exampleSettings();
    const seen = new Set<string>();
    const out: SourcedObject[] = [];
    for (const dir of await findKustomizations(path.join(root, "deploy"))) {
        const rel = path.relative(root, dir);
        for (const built of parseObjects(await kustomizeBuild(bin, dir), rel)) {
            let o = built;
            if (!substitutionDisabled(built as never)) {
                const sub = substituteText(stringify(built, { lineWidth: 0 }), vars);
                if (sub.error !== undefined) throw new Error(`${rel}: ${describe(built)}: ${sub.error}`);
                if (sub.missing.length > 0)
                    throw new Error(`${rel}: ${describe(built)} uses unset \${${sub.missing.join("}, ${")}}`);
                o = parse(sub.text) as KubeObject;
            }
            // distinct by content: each environment's variant of an object (an overlay's patch) is checked
            const key = JSON.stringify(o);
            if (seen.has(key)) continue;
            seen.add(key);
            out.push({ source: rel, object: o });
        }
    }
    return out;
}

export interface Stage1Options {
    readonly root: string;
    readonly dir: string;
    readonly kubectlBin: string;
    readonly cp: ControlPlane;
    readonly report: Report;
    /** Only install the CRDs (for a run of the later stages alone, `--stages 2`). Default: false. */
    readonly crdsOnly?: boolean;
}

/** Checks that the pinned Flux controllers are the ones Flux's own go.mod names. */
async function checkFluxPins(report: Report): Promise<void> {
    await report.check(`Flux controller pins match flux2 v${versions.flux}`, async () => {
        const flux2 = await downloadModule("github.com/fluxcd/flux2/v2", `v${versions.flux}`);
        const req = parseGoMod(await readFile(flux2.GoMod, "utf8")).require;
        const pinned = { ...versions.e2e.fluxControllers, ...versions.e2e.imageControllers };
        const wrong = Object.entries(pinned)
            .map(([name, v]) => [name, v, req.get(`github.com/fluxcd/${name}/api`)] as const)
            .filter(([, v, want]) => v !== want)
            .map(([name, v, want]) => `${name}: pinned ${v}, flux2 requires ${want ?? "nothing"}`);
        if (wrong.length > 0) throw new Error(wrong.join("; "));
        return Object.entries(pinned)
            .map(([n, v]) => `${n} ${v}`)
            .join(", ");
    });
}

/** Waits (bounded) until every named CRD reports the condition Established=True. */
async function established(
    k: (args: readonly string[]) => Promise<{ ok: boolean; stdout: string; stderr: string }>,
    names: readonly string[],
    timeoutMs: number,
): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let waiting: string[] = [...names];
    let last = "";
    while (Date.now() < deadline) {
        const r = await k(["get", "-o", "json", ...waiting.map((n) => `crd/${n}`)]);
        if (r.ok) {
            type Crd = { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } };
            // One name gives the object itself, several a List.
            const doc = JSON.parse(r.stdout) as Crd & { items?: Crd[] };
            const done = new Set(
                (doc.items ?? [doc])
                    .filter((c) => c.status?.conditions?.some((x) => x.type === "Established" && x.status === "True"))
                    .map((c) => c.metadata.name),
            );
            waiting = waiting.filter((n) => !done.has(n));
            if (waiting.length === 0) return;
        } else last = r.stderr.trim();
        await new Promise((res) => setTimeout(res, 500));
    }
    throw new Error(`not Established within ${timeoutMs / 1000}s: ${waiting.join(", ")}${last ? ` (${last})` : ""}`);
}

export async function stage1(o: Stage1Options): Promise<void> {
    const { report, cp } = o;
    const k = (args: readonly string[]) => kubectl(o.kubectlBin, cp, path.join(o.dir, "kube-cache"), args);

    await checkFluxPins(report);

    await report.check(`kube-apiserver reports ${versions.e2e.kubernetes}`, async () => {
        if (cp.version.gitVersion !== versions.e2e.kubernetes)
            throw new Error(`/version says ${JSON.stringify(cp.version)}`);
        return `${cp.server}, /version ${cp.version.gitVersion} (${cp.version.major}.${cp.version.minor})`;
    });

    // CRDs, applied for real (server-side), then Established.
    for (const src of crdSources()) {
        await report.check(`CRDs of ${src.label} installed and Established`, async () => {
            const mod = await downloadModule(src.module, src.version);
            const files = await src.files(mod.Dir);
            const names: string[] = [];
            for (const f of files) {
                for (const crd of parseObjects(await readFile(f, "utf8"), f)) {
                    if (crd.kind === "CustomResourceDefinition") names.push(crd.metadata.name);
                }
                const r = await k(["apply", "--server-side", "--field-manager=do-gitops-e2e", "-f", f]);
                if (!r.ok) throw new Error(`${path.relative(mod.Dir, f)}: ${r.stderr.trim()}`);
            }
            if (names.length === 0) throw new Error(`no CustomResourceDefinition in ${files.join(", ")}`);
            // Polled rather than `kubectl wait`, which fails at once on a CRD the API server has
            // not given a status yet (".status.conditions accessor error: <nil>").
            await established(k, names, 60_000);
            return `${names.length}: ${names.map((n) => n.split(".")[0]).join(", ")}`;
        });
    }

    if (o.crdsOnly) return;

    // Every object of every example stack and of deploy/.
    const objects: SourcedObject[] = [];
    for (const stack of await exampleStacks(o.root)) {
        await report.check(`make render: stack ${stack}`, async () => {
            const list = await renderStack(o.root, stack, path.join(o.dir, "render", stack));
            objects.push(...list.map((object) => ({ source: `render ${stack}`, object })));
            return `${list.length} Kubernetes objects`;
        });
    }
    await report.check("make validate: build deploy/", async () => {
        const list = await deployObjects(o.root);
        objects.push(...list);
        return `${list.length} distinct objects`;
    });

    // Namespaced objects need their Namespace: create each one (for real) first.
    const namespaces = [
        ...new Set(
            objects.flatMap(({ object: x }) =>
                x.kind === "Namespace" && x.apiVersion === "v1"
                    ? [x.metadata.name]
                    : x.metadata.namespace
                      ? [x.metadata.namespace]
                      : [],
            ),
        ),
    ].sort();
    await report.check("namespaces of the objects created", async () => {
        for (const ns of namespaces) {
            const manifest = path.join(o.dir, "objects", `namespace-${ns}.json`);
            await mkdir(path.dirname(manifest), { recursive: true });
            await writeFile(manifest, JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }));
            const r = await k(["apply", "--server-side", "--field-manager=do-gitops-e2e-setup", "-f", manifest]);
            if (!r.ok) throw new Error(`${ns}: ${r.stderr.trim()}`);
        }
        return namespaces.join(", ");
    });

    const dryRun = async (object: KubeObject, file: string) => {
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, JSON.stringify(object));
        return k(["apply", "--server-side", "--dry-run=server", "--field-manager=do-gitops-e2e", "-f", file]);
    };
    let n = 0;
    for (const { source, object } of objects) {
        await report.check(`server-side dry-run apply: ${describe(object)} (${source})`, async () => {
            const r = await dryRun(object, path.join(o.dir, "objects", `${n++}.json`));
            if (!r.ok) throw new Error(r.stderr.trim());
            return undefined;
        });
    }

    await negativeChecks(objects, dryRun, o.dir, report);
}

/**
 * Deliberately broken copies of generated objects must fail, with the API server's own message:
 * one for the structural schema (an enum), one for a CEL rule, one for an unknown field.
 */
async function negativeChecks(
    objects: SourcedObject[],
    dryRun: (o: KubeObject, file: string) => Promise<{ ok: boolean; stderr: string }>,
    dir: string,
    report: Report,
): Promise<void> {
    const find = (apiVersion: string, kind: string) =>
        objects.find((x) => x.object.apiVersion === apiVersion && x.object.kind === kind)?.object;
    const cases: { name: string; base: KubeObject | undefined; breakIt: (o: KubeObject) => void; expect: string }[] = [
        {
            name: "a Receiver with an unknown type (structural schema enum)",
            base: find("notification.toolkit.fluxcd.io/v1", "Receiver"),
            breakIt: (x) => {
                (x.spec as Record<string, unknown>).type = "gitlub";
            },
            expect: 'spec.type: Unsupported value: "gitlub"',
        },
        {
            name: "a FluxInstance not named flux (the CRD's CEL rule)",
            base: find("fluxcd.controlplane.io/v1", "FluxInstance"),
            breakIt: (x) => {
                x.metadata.name = "flux-e2e";
            },
            expect: "the only accepted name for a FluxInstance is 'flux'",
        },
        {
            name: "an HTTPProxy with a misspelt field (strict field validation)",
            base: find("projectcontour.io/v1", "HTTPProxy"),
            breakIt: (x) => {
                const spec = x.spec as Record<string, Record<string, unknown>>;
                spec.virtualhost = { ...spec.virtualhost, fqdnn: "typo.example.com" };
            },
            expect: ".spec.virtualhost.fqdnn: field not declared in schema",
        },
    ];
    let n = 0;
    for (const c of cases) {
        await report.check(`rejected by the API server: ${c.name}`, async () => {
            if (!c.base) throw new Error("no such object among the generated ones to break");
            const broken = structuredClone(c.base);
            c.breakIt(broken);
            const r = await dryRun(broken, path.join(dir, "broken", `${n++}.json`));
            if (r.ok) throw new Error(`accepted: ${describe(broken)}`);
            const message = r.stderr.trim();
            if (!message.includes(c.expect)) throw new Error(`rejected, but not as expected (${c.expect}): ${message}`);
            return message;
        });
    }
}
