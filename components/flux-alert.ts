import * as pulumi from "@pulumi/pulumi";
import { Alert, type AlertSpec, type EventSeverity, type EventSourceKind } from "./flux/api";
import { COMMIT_STATUS_TYPES, type FluxProvider } from "./flux-provider";

type In<T> = pulumi.Input<T>;

/** The Flux objects whose events an Alert forwards. */
export interface FluxAlertEventSource {
    /** Kind of the Flux object, e.g. `Kustomization`. Required. */
    readonly kind: EventSourceKind;
    /** Object name, or `*` for every object of the kind in the namespace. Required. */
    readonly name: In<string>;
    /** Namespace of the object. Default: the Alert's namespace (which is its provider's). */
    readonly namespace?: In<string>;
    /** Only objects carrying these labels; needs `name: "*"`. Default: no label filter. */
    readonly matchLabels?: In<Record<string, In<string>>>;
}

export interface FluxAlertArgs {
    /**
     * The provider events are sent to. Required. The Alert's `providerRef` and its own namespace
     * both come from it: an Alert can only name a Provider in its own namespace, so there is
     * deliberately no namespace argument.
     */
    readonly provider: FluxProvider;
    /** The objects whose events are forwarded; at least one. Required. */
    readonly eventSources: readonly FluxAlertEventSource[];
    /** `metadata.name` of the Alert. Default: the component name. */
    readonly alertName?: In<string>;
    /** `info` forwards every event, `error` only errors. Default: `info`. */
    readonly eventSeverity?: EventSeverity;
    /** Go regular expressions; only events whose message matches one are sent. Default: all messages. */
    readonly inclusionList?: In<In<string>[]>;
    /** Go regular expressions; events whose message matches one are dropped (wins over inclusion). Default: none. */
    readonly exclusionList?: In<In<string>[]>;
    /** Extra metadata added to every event sent (e.g. `cluster`, `env`). Default: none. */
    readonly eventMetadata?: In<Record<string, In<string>>>;
    /**
     * Short description of the impact, sent as the event metadata key `summary` (Flux deprecated
     * `spec.summary` in favour of `spec.eventMetadata.summary`); it overrides a `summary` in
     * `eventMetadata`. At most 255 characters. Default: none.
     */
    readonly summary?: In<string>;
    /** Stop forwarding events. Default: `false` (field omitted). */
    readonly suspend?: In<boolean>;
    /** Labels on the Alert. Default: none. */
    readonly labels?: In<Record<string, In<string>>>;
}

/** Rejects event sources Flux would reject or silently never match. */
function checkEventSources(name: string, args: FluxAlertArgs): void {
    if (args.eventSources.length === 0) throw new Error(`FluxAlert ${name}: eventSources must not be empty`);
    for (const s of args.eventSources) {
        if (s.matchLabels !== undefined && typeof s.name === "string" && s.name !== "*") {
            throw new Error(`FluxAlert ${name}: matchLabels needs name "*" (event source ${s.kind}/${s.name})`);
        }
        // A commit status needs a Git commit as the revision: only Kustomizations carry one
        // (and only those applying a GitRepository source).
        if (COMMIT_STATUS_TYPES.includes(args.provider.providerType) && s.kind !== "Kustomization") {
            throw new Error(
                `FluxAlert ${name}: a ${args.provider.providerType} provider posts commit statuses, which only ` +
                    `GitRepository-sourced Kustomizations can have; ${s.kind} cannot be an event source`,
            );
        }
    }
}

/**
 * A Flux Alert (`notification.toolkit.fluxcd.io/v1beta3`): which events go to which provider.
 * Created in the provider's namespace, so its `providerRef` always resolves there.
 */
export class FluxAlert extends pulumi.ComponentResource {
    /** The Alert object. */
    public readonly alert: Alert;
    /** `metadata.name` of the Alert. */
    public readonly alertName: pulumi.Output<string>;
    /** Namespace of the Alert (always its provider's). */
    public readonly namespace: pulumi.Output<string>;

    constructor(name: string, args: FluxAlertArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops:notification:FluxAlert", name, {}, opts);
        checkEventSources(name, args);

        const eventMetadata =
            args.eventMetadata === undefined && args.summary === undefined
                ? undefined
                : pulumi
                      .all([pulumi.output(args.eventMetadata ?? {}), pulumi.output(args.summary)])
                      .apply(([m, summary]) => (summary === undefined ? m : { ...m, summary }));

        const spec: AlertSpec = {
            providerRef: { name: args.provider.ref.name },
            eventSources: args.eventSources.map((s) =>
                Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)),
            ) as AlertSpec["eventSources"],
            eventSeverity: args.eventSeverity ?? "info",
            inclusionList: args.inclusionList,
            exclusionList: args.exclusionList,
            eventMetadata,
            suspend: args.suspend,
        };
        this.alert = new Alert(
            `${name}-alert`,
            {
                metadata: {
                    name: args.alertName ?? name,
                    namespace: args.provider.ref.namespace,
                    labels: args.labels,
                },
                spec: Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as AlertSpec,
            },
            { parent: this, dependsOn: [args.provider] },
        );
        this.alertName = this.alert.metadata.name;
        this.namespace = this.alert.metadata.namespace;

        this.registerOutputs({
            alert: this.alert,
            alertName: this.alertName,
            namespace: this.namespace,
        });
    }
}
