/**
 * What `make bootstrap` and `make destroy` do, as a plan of `pulumi` calls. Kept pure so the
 * tests can check it; tools/bootstrap/main.ts executes it.
 *
 * No step runs `pulumi login`: the backend reaches every call through `PULUMI_BACKEND_URL`
 * in its environment (tools/lib/backend.ts), so the user's global login is never changed.
 */
import { CLUSTER_GONE_ENV, DESTROY_ENV } from "../../infrastructure/run-mode";

export interface Step {
    readonly describe: string;
    readonly command: string;
    readonly args: readonly string[];
    /** Capture stdout instead of showing it (e.g. secrets written to a file). */
    readonly capture?: boolean;
    /** Extra environment variables for this call only. */
    readonly env?: Readonly<Record<string, string>>;
}

/**
 * How `pulumi up` / `pulumi destroy` get their go-ahead:
 * - `prompt`: on a terminal, the CLI shows the preview and asks before it changes anything;
 * - `yes`: told to apply without asking (`YES=1`, or `CI=true`): `--yes`, the preview still printed.
 */
export type Confirmation = "prompt" | "yes";

export interface PlanOptions {
    readonly stack: string;
    readonly confirmation: Confirmation;
    /** destroy only: the user declared the cluster gone (`make destroy CLUSTER_GONE=1`). */
    readonly clusterGone?: boolean;
}

/**
 * Decides the confirmation mode, or explains why neither is possible. The CLI itself asks
 * only when stdin and stdout are terminals, `TERM` is not `dumb` and no CI is detected
 * (pulumi/pulumi sdk/go/common/util/cmdutil/console.go, Interactive); anywhere else it
 * refuses an update without `--yes`. So without a terminal the tool needs to be told.
 */
export function confirmation(
    action: "bootstrap" | "destroy",
    opts: { readonly yes: boolean; readonly env: NodeJS.ProcessEnv; readonly terminal: boolean },
): { mode: Confirmation } | { problem: string } {
    const ci = opts.env.CI !== undefined && !["", "0", "false"].includes(opts.env.CI.toLowerCase());
    if (opts.yes || ci) return { mode: "yes" };
    if (opts.terminal && opts.env.TERM !== "dumb") return { mode: "prompt" };
    const what = action === "bootstrap" ? "creating billable resources" : "destroying the stack";
    return {
        problem:
            `a terminal to confirm on: make ${action} shows the preview and asks before ${what}, but stdin/stdout ` +
            `are not a terminal here; run \`make ${action} YES=1\` to go ahead without asking (CI=true does the same)`,
    };
}

/** Flags of every call that must never wait for input. */
const unattended = (stack: string) => ["--stack", stack, "--non-interactive"];

/** `pulumi up` or `pulumi destroy` as the confirmation mode wants it. */
function confirmed(command: "up" | "destroy", options: PlanOptions, extra: readonly string[] = []): string[] {
    return options.confirmation === "yes"
        ? [command, "--yes", ...extra, ...unattended(options.stack)]
        : [command, ...extra, "--stack", options.stack];
}

export function upPlan(options: PlanOptions): Step[] {
    const s = unattended(options.stack);
    return [
        {
            describe: `select or create stack ${options.stack}`,
            command: "pulumi",
            args: ["stack", "select", "--create", options.stack, "--non-interactive"],
        },
        { describe: "deploy (pulumi up)", command: "pulumi", args: confirmed("up", options) },
        {
            describe: "read the kubeconfig",
            command: "pulumi",
            args: ["stack", "output", "kubeconfig", "--show-secrets", ...s],
            capture: true,
        },
        { describe: "read the outputs", command: "pulumi", args: ["stack", "output", "--json", ...s], capture: true },
    ];
}

/**
 * Refresh, then destroy, both with `--run-program`: the program runs again, so the
 * Kubernetes provider gets fresh DOKS credentials (the ones stored in state expire after
 * 7 days) instead of the stored ones. Both calls tell the program it runs for a destroy
 * (infrastructure/run-mode.ts): when the cluster is gone, the refresh then drops what lived in
 * it from the state, and the destroy deletes the rest.
 */
export function destroyPlan(options: PlanOptions): Step[] {
    const env = { [DESTROY_ENV]: "1", ...(options.clusterGone ? { [CLUSTER_GONE_ENV]: "1" } : {}) };
    return [
        {
            describe: "refresh the state (pulumi refresh --run-program)",
            command: "pulumi",
            args: ["refresh", "--yes", "--skip-preview", "--run-program", ...unattended(options.stack)],
            env,
        },
        {
            describe: "destroy (pulumi destroy --run-program)",
            command: "pulumi",
            args: confirmed("destroy", options, ["--run-program"]),
            env,
        },
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
    const setup = (outputs.receiverSetup ?? {}) as Record<string, string>;
    if (Object.keys(setup).length > 0) {
        lines.push(
            "",
            "Configure each sender of the receivers list (URL and TOKEN are secret outputs, printed by",
            `  pulumi stack output --stack ${stack} --show-secrets receiverUrls   and   … receiverTokens):`,
            ...Object.entries(setup).map(([name, how]) => `  ${name}: ${how}`),
        );
    }
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
