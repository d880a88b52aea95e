/**
 * What `make bootstrap` and `make destroy` do, as a plan of commands. Kept pure so the
 * tests can check it; tools/bootstrap/main.ts executes it.
 */
import { join } from "node:path";

export interface Step {
    readonly describe: string;
    readonly command: string;
    readonly args: readonly string[];
    /** Capture stdout instead of showing it (e.g. secrets written to a file). */
    readonly capture?: boolean;
    /** A failure of this step does not stop the plan. */
    readonly optional?: boolean;
}

export interface PlanOptions {
    readonly root: string;
    readonly stack: string;
    readonly env: NodeJS.ProcessEnv;
}

/** The backend: `PULUMI_BACKEND_URL` when set, else a local file backend in the repo. */
export function backendUrl(options: PlanOptions): string {
    return options.env.PULUMI_BACKEND_URL || `file://${join(options.root, ".pulumi-state")}`;
}

export function upPlan(options: PlanOptions): Step[] {
    const s = ["--stack", options.stack, "--non-interactive"];
    return [
        { describe: `log in to ${backendUrl(options)}`, command: "pulumi", args: ["login", backendUrl(options)] },
        {
            describe: `select or create stack ${options.stack}`,
            command: "pulumi",
            args: ["stack", "select", "--create", options.stack, "--non-interactive"],
        },
        { describe: "deploy (pulumi up)", command: "pulumi", args: ["up", "--yes", "--skip-preview", ...s] },
        {
            describe: "read the kubeconfig",
            command: "pulumi",
            args: ["stack", "output", "kubeconfig", "--show-secrets", ...s],
            capture: true,
        },
        { describe: "read the outputs", command: "pulumi", args: ["stack", "output", "--json", ...s], capture: true },
    ];
}

export function destroyPlan(options: PlanOptions): Step[] {
    const s = ["--stack", options.stack, "--non-interactive"];
    return [
        { describe: `log in to ${backendUrl(options)}`, command: "pulumi", args: ["login", backendUrl(options)] },
        {
            describe: "refresh the state",
            command: "pulumi",
            args: ["refresh", "--yes", "--skip-preview", ...s],
            optional: true,
        },
        { describe: "destroy (pulumi destroy)", command: "pulumi", args: ["destroy", "--yes", "--skip-preview", ...s] },
    ];
}

/** Mask the secret hook path of a receiver URL for printing. */
export function maskHookUrl(url: string): string {
    return url.replace(/\/hook\/[0-9a-f]+/i, "/hook/<sha256…>");
}

/**
 * The summary printed after a successful bootstrap. Secret outputs arrive as "[secret]".
 * `kubeconfigPath` is the kubeconfig written for a cluster the stack created; undefined on an
 * existing cluster (its `localAccess` output names the context used).
 */
export function summary(outputs: Record<string, unknown>, kubeconfigPath: string | undefined, stack: string): string {
    const access = (outputs.localAccess ?? {}) as { kubeconfig?: string; context?: string };
    const kubectl = kubeconfigPath
        ? "kubectl"
        : [
              "kubectl",
              ...(access.kubeconfig ? [`--kubeconfig ${access.kubeconfig}`] : []),
              ...(access.context ? [`--context ${access.context}`] : []),
          ].join(" ");
    const lines = [
        "",
        `Stack ${stack} is up.`,
        kubeconfigPath
            ? `  cluster:        ${outputs.clusterName ?? "?"} (Kubernetes ${outputs.kubernetesVersion ?? "?"})`
            : `  cluster:        existing, context ${access.context ?? "(current context)"}`,
        `  bucket:         ${outputs.bucketName ?? "?"} at ${outputs.bucketEndpoint ?? "?"}`,
        `  flux:           ${outputs.fluxVersion ?? "existing installation"} in namespace ${outputs.fluxNamespace ?? "?"}`,
    ];
    if (outputs.loadBalancerIp) lines.push(`  load balancer:  ${outputs.loadBalancerIp}`);
    if (outputs.dnsRecord) lines.push(`  DNS record:     ${outputs.dnsRecord}`);
    if (outputs.dnsRecordToCreate)
        lines.push(`  CREATE THIS DNS RECORD at your DNS provider: ${outputs.dnsRecordToCreate}`);
    const ns = outputs.fluxNamespace ?? "flux-system";
    if (kubeconfigPath) lines.push(`  kubeconfig:     ${kubeconfigPath} (mode 0600)`);
    lines.push(
        "",
        "Next:",
        ...(kubeconfigPath ? [`  export KUBECONFIG=${kubeconfigPath}`] : []),
        `  ${kubectl} -n ${ns} get ${outputs.fluxVersion ? "fluxinstance," : ""}buckets,kustomizations`,
        `  make upload-do STACK=${stack}     # sync deploy/ to the bucket and trigger Flux`,
        "",
    );
    return lines.join("\n");
}
