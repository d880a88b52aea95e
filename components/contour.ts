import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { versions } from "./versions";

/** DigitalOcean's cloud controller names the load balancer after this Service annotation. */
export const DO_LB_NAME_ANNOTATION = "service.beta.kubernetes.io/do-loadbalancer-name";
/** Helm release name; the chart then names Envoy's Service `<release>-envoy`. */
export const CONTOUR_RELEASE_NAME = "contour";
/** The Service in front of Envoy (type LoadBalancer) that the chart creates. */
export const ENVOY_SERVICE_NAME = `${CONTOUR_RELEASE_NAME}-envoy`;
/** The IngressClass the chart creates and marks as the cluster default. */
export const CONTOUR_INGRESS_CLASS = "contour";

export interface ContourArgs {
    /** Namespace Contour and Envoy run in. Default: `projectcontour`. */
    readonly namespace?: string;
    /**
     * Name of the DigitalOcean load balancer in front of Envoy (set through the
     * `service.beta.kubernetes.io/do-loadbalancer-name` annotation), so it is easy to find in
     * the DigitalOcean console. Default: `<component name>-envoy`.
     */
    readonly loadBalancerName?: pulumi.Input<string>;
    /** Contour Helm chart version (upstream projectcontour chart). Default: `versions.contourChart.version`. */
    readonly chartVersion?: pulumi.Input<string>;
    /**
     * Envoy Service `externalTrafficPolicy`. `Local` keeps the client's source IP (and so
     * per-client behaviour in Envoy) and sends load balancer traffic only to nodes that run an
     * Envoy pod. Default: `Local`.
     */
    readonly externalTrafficPolicy?: pulumi.Input<"Local" | "Cluster">;
    /**
     * The cloud the Envoy load balancer runs on: `digitalocean` names it through
     * `service.beta.kubernetes.io/do-loadbalancer-name`; `generic` adds no cloud annotation (any
     * cluster whose LoadBalancer Services get an address). Default: `digitalocean`.
     */
    readonly cloud?: "digitalocean" | "generic";
    /** Seconds Helm waits for the release, including the load balancer getting its IP. Default: `900`. */
    readonly timeout?: pulumi.Input<number>;
}

/**
 * Contour (with Envoy as a DaemonSet) from the upstream projectcontour Helm chart, pinned in
 * `versions.ts`. Envoy's Service is a DigitalOcean load balancer with a predictable name;
 * `loadBalancerIp` is read back from that Service once Helm reports the release ready (Helm
 * waits until a LoadBalancer Service has an ingress address).
 *
 * Destroy ordering: every child here uses the Kubernetes provider passed in `opts`, which is
 * built from the cluster's kubeconfig. Pulumi therefore deletes this release (and with it the
 * Envoy Service, whose deletion makes DigitalOcean delete the load balancer) before it deletes
 * the provider and then the cluster. Anything that uses `loadBalancerIp` (the DNS record)
 * depends on the release, so it is deleted first of all.
 */
export class Contour extends pulumi.ComponentResource {
    /** Contour's namespace. */
    public readonly namespace: pulumi.Output<string>;
    /** The Helm release. */
    public readonly release: k8s.helm.v3.Release;
    /** Envoy's Service as it exists in the cluster after the release (read, not managed). */
    public readonly envoyService: k8s.core.v1.Service;
    /** Name of the DigitalOcean load balancer. */
    public readonly loadBalancerName: pulumi.Output<string>;
    /** Public IPv4 address of the Envoy load balancer. */
    public readonly loadBalancerIp: pulumi.Output<string>;
    /** IngressClass name that routes through this Contour. */
    public readonly ingressClassName: pulumi.Output<string>;
    /** Chart version installed. */
    public readonly chartVersion: pulumi.Output<string>;

    constructor(name: string, args: ContourArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super("gitops:ingress:Contour", name, {}, opts);
        const namespaceName = args.namespace ?? "projectcontour";

        const ns = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            { metadata: { name: namespaceName, labels: { "app.kubernetes.io/part-of": "contour" } } },
            { parent: this },
        );
        this.namespace = ns.metadata.name;
        this.loadBalancerName = pulumi.output(args.loadBalancerName ?? `${name}-envoy`);
        this.chartVersion = pulumi.output(args.chartVersion ?? versions.contourChart.version);
        this.ingressClassName = pulumi.output(CONTOUR_INGRESS_CLASS);

        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: CONTOUR_RELEASE_NAME,
                chart: versions.contourChart.chart,
                repositoryOpts: { repo: versions.contourChart.repo },
                version: this.chartVersion,
                namespace: this.namespace,
                values: {
                    contour: {
                        manageCRDs: true,
                        ingressClass: { name: CONTOUR_INGRESS_CLASS, create: true, default: true },
                    },
                    envoy: {
                        service: {
                            type: "LoadBalancer",
                            externalTrafficPolicy: args.externalTrafficPolicy ?? "Local",
                            annotations:
                                (args.cloud ?? "digitalocean") === "digitalocean"
                                    ? { [DO_LB_NAME_ANNOTATION]: this.loadBalancerName }
                                    : {},
                        },
                    },
                },
                atomic: true,
                cleanupOnFail: true,
                // Helm's wait covers the DigitalOcean load balancer getting its address.
                skipAwait: false,
                timeout: args.timeout ?? 900,
            },
            { parent: this },
        );

        // The ID comes from the release's status: while a preview plans to create the release it
        // is unknown, so Pulumi skips the read instead of failing on a Service that does not
        // exist yet (e.g. after an earlier run stopped before Contour was installed).
        const envoyServiceId = this.release.status.apply(
            (status) => `${status?.namespace ?? namespaceName}/${ENVOY_SERVICE_NAME}`,
        );
        this.envoyService = k8s.core.v1.Service.get(`${name}-envoy-service`, envoyServiceId, {
            parent: this,
            dependsOn: [this.release],
        });
        this.loadBalancerIp = this.envoyService.status.apply((status) => {
            const ingress = status?.loadBalancer?.ingress?.[0];
            const address = ingress?.ip ?? ingress?.hostname;
            if (!address) {
                throw new Error(
                    `Contour ${name}: Service ${namespaceName}/${ENVOY_SERVICE_NAME} has no load balancer address yet`,
                );
            }
            return address;
        });

        this.registerOutputs({
            namespace: this.namespace,
            release: this.release,
            envoyService: this.envoyService,
            loadBalancerName: this.loadBalancerName,
            loadBalancerIp: this.loadBalancerIp,
            ingressClassName: this.ingressClassName,
            chartVersion: this.chartVersion,
        });
    }
}
