/**
 * Runs the real program offline under Pulumi's official mocks and records every resource.
 *
 * Shared by `npm run render` and the tests. Nothing here fakes the program's logic: the
 * mocks only stand in for the cloud, answering with the resource's own inputs plus clear
 * placeholders for what only the cloud knows (IDs, endpoints, generated keys).
 */
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/** Marker the Pulumi runtime puts on secret values (`{ [SIG]: SECRET, value }`). */
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET = "1b47061264138c4ac30d75fd1eb44270";

/** What a placeholder for an unknown cloud value looks like. */
export const placeholder = (what: string) => `<unknown until deployed: ${what}>`;

/** DOKS versions the mocked DigitalOcean API offers (newest first). */
export const MOCK_KUBERNETES_VERSIONS = ["1.36.1-do.0", "1.35.4-do.0", "1.34.5-do.1"];

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    /** `type::name` of the parent, or undefined for top-level resources. */
    parent?: string;
    /** `type::name` of each explicit `dependsOn` resource. */
    dependsOn: string[];
    readonly custom: boolean;
    /** A read of an existing object (`Resource.get`), not something the stack creates. */
    readonly read: boolean;
    readonly provider?: string;
    /** Inputs as the engine received them; secrets keep their secret marker. */
    readonly inputs: Record<string, unknown>;
    /** State the mock answered with (inputs plus cloud-computed placeholders). */
    readonly state: Record<string, unknown>;
}

/** What the SDK constructed a resource with, as the stack transformation saw it. */
export interface ConstructedResource {
    /** `type::name` of the parent, or undefined for top-level resources. */
    readonly parent?: string;
    readonly opts: pulumi.ResourceOptions;
    readonly props: Record<string, unknown>;
}

export interface RecordedCall {
    readonly token: string;
    readonly inputs: Record<string, unknown>;
}

export function isSecretValue(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG] === SECRET;
}

/** Removes secret markers, returning plain values (for assertions on content). */
export function reveal<T = unknown>(v: unknown): T {
    if (isSecretValue(v)) return reveal(v.value);
    if (Array.isArray(v)) return v.map((e) => reveal(e)) as T;
    if (v && typeof v === "object" && !(v instanceof pulumi.asset.Asset)) {
        return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, reveal(e)])) as T;
    }
    return v as T;
}

/** Replaces every secret value with `"[secret]"` (for render output). */
export function redact(v: unknown): unknown {
    if (isSecretValue(v)) return "[secret]";
    if (Array.isArray(v)) return v.map(redact);
    if (v && typeof v === "object") {
        return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, redact(e)]));
    }
    return v;
}

/** True when `v` holds a secret marker anywhere. */
export function containsSecret(v: unknown): boolean {
    if (isSecretValue(v)) return true;
    if (Array.isArray(v)) return v.some(containsSecret);
    if (v && typeof v === "object") return Object.values(v).some(containsSecret);
    return false;
}

const randomToken = (length: number) => randomBytes(length).toString("base64url").slice(0, length);

/** An SSH wire-format string: uint32 length, then the bytes. */
const sshString = (b: Buffer | string) => {
    const data = typeof b === "string" ? Buffer.from(b) : b;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    return Buffer.concat([len, data]);
};

/**
 * A fresh ed25519 key pair in the formats the TLS provider returns: the OpenSSH private key
 * (`openssh-key-v1`, unencrypted, as in OpenSSH's PROTOCOL.key), the `ssh-ed25519 AAAA…` public
 * key with a trailing newline, and its `SHA256:` fingerprint. The mock cloud generates real keys so
 * tests can check where they end up, never fixed strings.
 */
function ed25519OpenSsh(): { privateKeyOpenssh: string; publicKeyOpenssh: string; fingerprint: string } {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const pub = Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url");
    const seed = Buffer.from(privateKey.export({ format: "jwk" }).d as string, "base64url");
    const blob = Buffer.concat([sshString("ssh-ed25519"), sshString(pub)]);
    const check = randomBytes(4);
    let body = Buffer.concat([
        check,
        check,
        sshString("ssh-ed25519"),
        sshString(pub),
        sshString(Buffer.concat([seed, pub])),
        sshString(""),
    ]);
    const pad = (8 - (body.length % 8)) % 8;
    body = Buffer.concat([body, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
    const count = Buffer.alloc(4);
    count.writeUInt32BE(1);
    const whole = Buffer.concat([
        Buffer.from("openssh-key-v1\0"),
        sshString("none"),
        sshString("none"),
        sshString(""),
        count,
        sshString(blob),
        sshString(body),
    ]).toString("base64");
    const lines = whole.match(/.{1,70}/g) ?? [];
    return {
        privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join("\n")}\n-----END OPENSSH PRIVATE KEY-----\n`,
        publicKeyOpenssh: `ssh-ed25519 ${blob.toString("base64")}\n`,
        fingerprint: `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`,
    };
}

/** Mocks that record every resource and invoke. */
export class MockRecorder implements pulumi.runtime.Mocks {
    public readonly resources: RecordedResource[] = [];
    public readonly calls: RecordedCall[] = [];
    /** Values generated for the mock cloud that are secrets (keys, passwords). */
    public readonly generatedSecrets: string[] = [];
    /** `type::name` of every resource constructed in the run. */
    private readonly keys = new WeakMap<pulumi.Resource, string>();
    /** The options and input properties each resource was constructed with. */
    private readonly constructed = new Map<string, ConstructedResource>();

    /** DOKS clusters the mocked account has, by name → version slug: given, plus those created in the run. */
    private readonly clusters: Map<string, string>;

    /**
     * @param kubernetesVersions the versions the mocked DigitalOcean API offers (newest first)
     * @param existingClusters clusters the mocked account already has, name → the version they run
     * @param priorState the state of an earlier run, `type::name` → the outputs it recorded: a
     *   resource found there answers with those outputs, as the engine keeps an unchanged
     *   resource's outputs (generated keys and random values included) from one `up` to the next
     */
    constructor(
        private readonly kubernetesVersions: readonly string[] = MOCK_KUBERNETES_VERSIONS,
        existingClusters: Readonly<Record<string, string>> = {},
        private readonly priorState: Readonly<Record<string, Record<string, unknown>>> = {},
    ) {
        this.clusters = new Map(Object.entries(existingClusters));
    }

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, unknown> } {
        const state =
            this.priorState[`${args.type}::${args.name}`] ?? this.stateFor(args.type, args.name, args.inputs, args.id);
        if (
            args.type === "digitalocean:index/kubernetesCluster:KubernetesCluster" &&
            typeof args.inputs.name === "string"
        ) {
            this.clusters.set(args.inputs.name, String(args.inputs.version));
        }
        this.resources.push({
            type: args.type,
            name: args.name,
            custom: args.custom ?? true,
            read: Boolean(args.id),
            provider: args.provider,
            inputs: args.inputs,
            state,
            parent: this.constructed.get(`${args.type}::${args.name}`)?.parent,
            dependsOn: this.dependsOn(args.type, args.name),
        });
        return { id: args.custom === false ? undefined : `${args.name}-id`, state };
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        this.calls.push({ token: args.token, inputs: args.inputs });
        switch (args.token) {
            case "digitalocean:index/getKubernetesVersions:getKubernetesVersions": {
                const prefix: string = args.inputs.versionPrefix ?? "";
                const valid = this.kubernetesVersions.filter((v) => v.startsWith(prefix));
                return { id: "versions", latestVersion: valid[0] ?? "", validVersions: valid, versionPrefix: prefix };
            }
            case "digitalocean:index/getKubernetesCluster:getKubernetesCluster": {
                const version = this.clusters.get(args.inputs.name);
                if (version === undefined) {
                    // The data source's own message (terraform-provider-digitalocean), wrapped as
                    // the bridge and the engine wrap it; the SDK rejects with the gRPC `details`.
                    const tok = args.token;
                    const details =
                        `invocation of ${tok} returned an error: invoking ${tok}: 1 error occurred:\n` +
                        `\t* Unable to find cluster with name: ${args.inputs.name}\n\n`;
                    throw Object.assign(new Error(details), { details });
                }
                return {
                    ...args.inputs,
                    id: `${args.inputs.name}-id`,
                    version,
                    endpoint: placeholder("cluster API endpoint"),
                    kubeConfigs: [
                        {
                            rawConfig: placeholder(`kubeconfig of cluster ${args.inputs.name}, re-read on every run`),
                            host: placeholder("cluster API endpoint"),
                            token: placeholder("cluster token"),
                            clusterCaCertificate: placeholder("cluster CA"),
                            clientCertificate: "",
                            clientKey: "",
                            expiresAt: placeholder("credential expiry"),
                        },
                    ],
                };
            }
            default:
                return { ...args.inputs };
        }
    }

    /**
     * Called by the run's stack transformation for every resource as it is constructed: records
     * its options and input properties, which the mocks alone never see.
     */
    noteConstruction(args: pulumi.ResourceTransformationArgs): void {
        const key = `${args.type}::${args.name}`;
        this.keys.set(args.resource, key);
        const parent = args.opts.parent ? this.keys.get(args.opts.parent) : undefined;
        this.constructed.set(key, { parent, opts: args.opts, props: args.props as Record<string, unknown> });
    }

    /** `type::name` of a resource constructed during the run. */
    keyOf(resource: pulumi.Resource): string {
        const key = this.keys.get(resource);
        if (!key) throw new Error("resource not constructed during this run");
        return key;
    }

    /** The options and input properties a resource was constructed with. */
    construction(type: string, name: string): ConstructedResource {
        const found = this.constructed.get(`${type}::${name}`);
        if (!found)
            throw new Error(`no ${type}::${name} constructed; have: ${[...this.constructed.keys()].join(", ")}`);
        return found;
    }

    /** The explicit `dependsOn` of a resource, as `type::name` keys. */
    dependsOn(type: string, name: string): string[] {
        const d = this.constructed.get(`${type}::${name}`)?.opts.dependsOn;
        const list = (d === undefined ? [] : Array.isArray(d) ? d : [d]) as unknown[];
        return list
            .filter((r): r is pulumi.Resource => pulumi.Resource.isInstance(r))
            .map((r) => this.keys.get(r) ?? "<unknown>");
    }

    /** Every resource an input Output (transitively) depends on, as `type::name` keys. */
    async outputDependencies(value: unknown): Promise<string[]> {
        if (!pulumi.Output.isInstance(value)) return [];
        const all = await (value as unknown as { allResources(): Promise<Set<pulumi.Resource>> }).allResources();
        return [...all].map((r) => this.keys.get(r) ?? "?");
    }

    private stateFor(
        type: string,
        name: string,
        inputs: Record<string, unknown>,
        id?: string,
    ): Record<string, unknown> {
        switch (type) {
            case "kubernetes:core/v1:Service": {
                // A read (`Service.get`) of a Service a Helm release created, e.g. Contour's Envoy:
                // answer as the cluster would once the cloud load balancer exists.
                if (!id) return { ...inputs };
                const [namespace, serviceName] = id.includes("/") ? id.split("/", 2) : ["default", id];
                return {
                    ...inputs,
                    apiVersion: "v1",
                    kind: "Service",
                    metadata: { name: serviceName, namespace },
                    spec: { type: "LoadBalancer" },
                    status: {
                        loadBalancer: {
                            ingress: [{ ip: placeholder(`load balancer IP of ${namespace}/${serviceName}`) }],
                        },
                    },
                };
            }
            case "kubernetes:helm.sh/v3:Release":
                // What the provider reports once Helm has installed the release.
                return {
                    ...inputs,
                    status: {
                        name: inputs.name,
                        namespace: inputs.namespace,
                        chart: inputs.chart,
                        version: inputs.version,
                        appVersion: placeholder("chart appVersion"),
                        revision: 1,
                        status: "deployed",
                    },
                };
            case "digitalocean:index/kubernetesCluster:KubernetesCluster":
                return {
                    ...inputs,
                    endpoint: placeholder("cluster API endpoint"),
                    ipv4Address: placeholder("cluster IP"),
                    kubeConfigs: [{ rawConfig: placeholder("kubeconfig from creation (expires in 7 days; not used)") }],
                    status: "running",
                };
            case "digitalocean:index/spacesBucket:SpacesBucket": {
                const bucketName = (inputs.name as string | undefined) ?? `${name}-${placeholder("auto-name suffix")}`;
                return {
                    ...inputs,
                    name: bucketName,
                    endpoint: `${inputs.region}.digitaloceanspaces.com`,
                    bucketDomainName: `${bucketName}.${inputs.region}.digitaloceanspaces.com`,
                    bucketUrn: placeholder("bucket URN"),
                };
            }
            case "digitalocean:index/spacesKey:SpacesKey": {
                const accessKey = `DO00${randomBytes(8).toString("hex").toUpperCase()}`;
                const secretKey = randomBytes(32).toString("base64");
                this.generatedSecrets.push(accessKey, secretKey);
                return { ...inputs, accessKey, secretKey, createdAt: placeholder("creation time") };
            }
            case "random:index/randomBytes:RandomBytes": {
                const bytes = randomBytes(Number(inputs.length ?? 32));
                this.generatedSecrets.push(bytes.toString("base64"), bytes.toString("hex"));
                return { ...inputs, base64: bytes.toString("base64"), hex: bytes.toString("hex") };
            }
            case "random:index/randomPassword:RandomPassword": {
                const result = randomToken(Number(inputs.length ?? 32));
                this.generatedSecrets.push(result);
                return { ...inputs, result, bcryptHash: placeholder("bcrypt hash") };
            }
            case "tls:index/privateKey:PrivateKey": {
                if (inputs.algorithm !== "ED25519") return { ...inputs };
                const key = ed25519OpenSsh();
                this.generatedSecrets.push(key.privateKeyOpenssh);
                return {
                    ...inputs,
                    privateKeyOpenssh: key.privateKeyOpenssh,
                    privateKeyPem: placeholder("private key PEM"),
                    privateKeyPemPkcs8: placeholder("private key PKCS#8"),
                    publicKeyOpenssh: key.publicKeyOpenssh,
                    publicKeyPem: placeholder("public key PEM"),
                    publicKeyFingerprintSha256: key.fingerprint,
                    publicKeyFingerprintMd5: placeholder("MD5 fingerprint"),
                };
            }
            case "github:index/repositoryWebhook:RepositoryWebhook":
                return { ...inputs, url: placeholder("webhook URL"), etag: placeholder("etag") };
            default:
                return { ...inputs };
        }
    }

    // ------------------------------------------------------------------ queries for tests

    /** All resources of a type (e.g. `kubernetes:core/v1:Secret`). */
    all(type: string): RecordedResource[] {
        return this.resources.filter((r) => r.type === type);
    }

    /** The one resource of `type` named `name`; throws with the candidates when absent. */
    get(type: string, name: string): RecordedResource {
        const found = this.resources.find((r) => r.type === type && r.name === name);
        if (!found) {
            const names = this.all(type).map((r) => r.name);
            throw new Error(`no ${type} named ${name}; have: ${names.join(", ") || "none of that type"}`);
        }
        return found;
    }

    /** Kubernetes objects of an apiVersion/kind (custom resources and core objects alike). */
    kube(kind: string, apiVersion?: string): RecordedResource[] {
        return this.resources.filter((r) => {
            const i = reveal<Record<string, unknown>>(r.inputs);
            return r.type.startsWith("kubernetes:") && i.kind === kind && (!apiVersion || i.apiVersion === apiVersion);
        });
    }

    /** The Kubernetes object of a kind with metadata.name `name`. */
    // biome-ignore lint/suspicious/noExplicitAny: recorded inputs are arbitrary Kubernetes objects, read freely by tests
    kubeObject(kind: string, name: string): Record<string, any> {
        const nameOf = (r: { inputs: unknown }) => reveal<{ metadata?: { name?: string } }>(r.inputs).metadata?.name;
        const found = this.kube(kind).find((r) => nameOf(r) === name);
        if (!found) {
            const names = this.kube(kind).map(nameOf);
            throw new Error(`no ${kind} named ${name}; have: ${names.join(", ") || "none"}`);
        }
        return reveal(found.inputs);
    }
}

/** Pulumi project and stack the offline runs use. */
export interface OfflineRunOptions {
    readonly project: string;
    readonly stack: string;
    /** Config as Pulumi holds it: `project:key` → string (JSON for objects). */
    readonly config: Record<string, string>;
    /** Full config keys whose values are secrets. */
    readonly secretKeys?: readonly string[];
    readonly recorder?: MockRecorder;
    /**
     * Capture stack traces during the run (`Error.stackTraceLimit` as it is). Default: only when
     * `PULUMI_DEBUG_PROMISE_LEAKS` or `DO_GITOPS_STACK_TRACES` is set. Otherwise the run captures
     * none: Pulumi's runtime formats a stack trace for every promise it makes (runtime/debuggable.js,
     * to name leaked promises when `PULUMI_DEBUG_PROMISE_LEAKS` is set) and for every resource
     * (its source position), which is more than half of a mocked run's CPU (0.19 → 0.08 s for the
     * dev stack; the tests make hundreds of runs). An error the program throws keeps its message
     * (what `make render` and the tests report), not its stack. Pulumi sets its own unlimited
     * `Error.stackTraceLimit` for a resource's source position (Resource.callsites), so the run
     * also sets `Error.prepareStackTrace` to write every stack as `Error.stackTraceLimit` 0 does,
     * its first line only: formatting those stacks (with Node's source maps, which tsx turns on,
     * mapping every frame back to TypeScript) was another 10-15 % of a run's CPU. The mocks get
     * no source positions, which they do not use.
     */
    readonly stackTraces?: boolean;
}

/**
 * Runs `program` under mocks inside a root stack, waits until every registration is done,
 * and returns the recorder with the stack outputs (or the error the program threw).
 */
export async function runOffline<T>(
    options: OfflineRunOptions,
    program: () => Promise<T> | T,
): Promise<{ recorder: MockRecorder; outputs?: Record<string, unknown>; rawOutputs?: T; error?: unknown }> {
    const recorder = options.recorder ?? new MockRecorder();
    await pulumi.runtime.setMocks(recorder, options.project, options.stack, false);
    pulumi.runtime.setAllConfig(options.config, [...(options.secretKeys ?? [])]);
    let error: unknown;
    let outputs: Record<string, unknown> | undefined;
    let rawOutputs: T | undefined;
    const stackTraces =
        options.stackTraces ?? !!(process.env.PULUMI_DEBUG_PROMISE_LEAKS || process.env.DO_GITOPS_STACK_TRACES);
    const limit = Error.stackTraceLimit;
    const prepare = Object.getOwnPropertyDescriptor(Error, "prepareStackTrace");
    if (!stackTraces) {
        Error.stackTraceLimit = 0;
        Error.prepareStackTrace = withoutFrames;
    }
    try {
        outputs = await pulumi.runtime.runInPulumiStack(async () => {
            pulumi.runtime.registerStackTransformation((args) => {
                recorder.noteConstruction(args);
                return undefined;
            });
            // Errors are returned, not thrown through the stack, which would leave its
            // output promises rejected with nobody listening.
            try {
                rawOutputs = await program();
            } catch (e) {
                error = e;
                return {};
            }
            return rawOutputs as pulumi.Inputs;
        });
    } catch (e) {
        error = e;
    }
    try {
        await waitForRegistrations();
    } finally {
        Error.stackTraceLimit = limit;
        if (!stackTraces) {
            if (prepare) Object.defineProperty(Error, "prepareStackTrace", prepare);
            else Reflect.deleteProperty(Error, "prepareStackTrace");
        }
    }
    return { recorder, outputs, rawOutputs, error };
}

/** An error's stack as Node writes it with `Error.stackTraceLimit` 0: its first line, no frames. */
function withoutFrames(error: Error): string {
    return Error.prototype.toString.call(error);
}

/** Waits for the runtime's outstanding RPCs (registrations, invokes) to drain. */
async function waitForRegistrations(): Promise<void> {
    const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs?: () => Promise<void> };
    if (settings.waitForRPCs) await settings.waitForRPCs();
}

/** Converts a JSON-able config object (`{cluster: {...}}`) to Pulumi's `project:key` strings. */
export function toPulumiConfig(project: string, values: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(
        Object.entries(values).map(([k, v]) => [`${project}:${k}`, typeof v === "string" ? v : JSON.stringify(v)]),
    );
}

/** Whether an Output is marked secret (resolves once the value is known). */
export async function isSecretOutput(o: unknown): Promise<boolean> {
    if (!pulumi.Output.isInstance(o)) return false;
    return (o as unknown as { isSecret: Promise<boolean> }).isSecret;
}
