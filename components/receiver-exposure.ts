import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { HTTPProxy, type RateLimitUnit } from "./contour/api";
import { FLUX_WEBHOOK_SERVICE } from "./flux-bootstrap";
import { KCERT_CERT_REQUEST_LABEL, KCERT_CERT_REQUEST_VALUE, KCERT_INGRESS_LABEL, KCERT_INGRESS_VALUE } from "./kcert";

/**
 * Contour's Ingress annotation for "redirect plain HTTP to HTTPS" (Contour 1.33
 * internal/annotation/annotations.go `TLSRequired`: the value must be exactly `"true"`; the
 * port-80 routes then answer 301 instead of proxying).
 */
export const CONTOUR_FORCE_SSL_REDIRECT = "ingress.kubernetes.io/force-ssl-redirect";

/**
 * How the receivers are published; in both modes only the receivers' own hook paths are routed
 * (exact match), so any other path gets 404 from Envoy without reaching Flux:
 * - `httpproxy`: a KCert ConfigMap certificate request plus a Contour HTTPProxy using that
 *   certificate, with one route per receiver, each with its own local rate limit;
 * - `ingress`: a plain Ingress (class contour) that KCert manages, plain HTTP redirected to
 *   HTTPS; NOT rate-limited, because Contour applies rate limits only through HTTPProxy.
 */
export type ReceiverExposureMode = "httpproxy" | "ingress";

/** A local rate limit, enforced by each Envoy pod on its own. */
export interface ReceiverRateLimit {
    /** Requests admitted per `unit` by each Envoy pod (at least 1). Required. */
    readonly requests: pulumi.Input<number>;
    /** Period the requests are counted over. Required. */
    readonly unit: pulumi.Input<RateLimitUnit>;
    /** Extra requests admitted in a short burst. Default: `0`. */
    readonly burst?: pulumi.Input<number>;
}

export interface ReceiverExposureArgs {
    /** Public host name (DNS must point at the Envoy load balancer). Required. */
    readonly host: pulumi.Input<string>;
    /**
     * The receivers' hook paths (`/hook/<sha256>`, see `FluxReceiver.webhookPath`), one route
     * each, matched exactly; nothing else is routed. At least one. Required.
     */
    readonly hookPaths: readonly pulumi.Input<string>[];
    /** Publishing mode. Default: `httpproxy`. */
    readonly mode?: ReceiverExposureMode;
    /** Flux namespace, where the receiver Service runs and these objects live. Default: `flux-system`. */
    readonly namespace?: string;
    /** Secret KCert writes the certificate to (and, in `httpproxy` mode, the ConfigMap's name). Default: `webhook-receiver-tls`. */
    readonly tlsSecretName?: string;
    /** Backend: Flux's receiver Service. Default: `webhook-receiver`, port 80. */
    readonly service?: { readonly name: pulumi.Input<string>; readonly port: pulumi.Input<number> };
    /** IngressClass (`ingress` mode) / HTTPProxy class. Default: `contour`. */
    readonly ingressClassName?: pulumi.Input<string>;
    /**
     * Local rate limit of each receiver's route (`httpproxy` mode only): every route has its own
     * token bucket in each Envoy pod. Default: 30 requests per minute with a burst of 10.
     */
    readonly rateLimit?: ReceiverRateLimit;
    /** Resources that must exist first (Contour's release, for the HTTPProxy CRD; Flux). Default: none. */
    readonly dependsOn?: pulumi.Resource[];
}

/**
 * Publishes Flux's receiver Service over HTTPS with a Let's Encrypt certificate from KCert,
 * routing only the receivers' hook paths. See {@link ReceiverExposureMode} for the two designs.
 */
export class ReceiverExposure extends pulumi.ComponentResource {
    /** The publishing mode. */
    public readonly mode: pulumi.Output<ReceiverExposureMode>;
    /** `https://<host>`. */
    public readonly baseUrl: pulumi.Output<string>;
    /** Secret holding the certificate (written by KCert). */
    public readonly tlsSecretName: pulumi.Output<string>;
    /** `httpproxy` mode: the KCert ConfigMap certificate request. */
    public readonly certificateRequest?: k8s.core.v1.ConfigMap;
    /** `httpproxy` mode: the rate-limited HTTPProxy. */
    public readonly httpProxy?: HTTPProxy;
    /** `ingress` mode: the Ingress. */
    public readonly ingress?: k8s.networking.v1.Ingress;
    /** Whether the route is rate-limited (`httpproxy` mode). */
    public readonly rateLimited: pulumi.Output<boolean>;

    constructor(name: string, args: ReceiverExposureArgs, opts?: pulumi.ComponentResourceOptions) {
        if (args.hookPaths.length === 0) {
            throw new Error(`ReceiverExposure ${name}: hookPaths must name at least one receiver path`);
        }
        super("gitops:flux:ReceiverExposure", name, {}, opts);
        const mode = args.mode ?? "httpproxy";
        const namespace = args.namespace ?? "flux-system";
        const tlsSecretName = args.tlsSecretName ?? "webhook-receiver-tls";
        const service = args.service ?? FLUX_WEBHOOK_SERVICE;
        const className = args.ingressClassName ?? "contour";
        const childOpts = { parent: this, dependsOn: args.dependsOn };

        if (mode === "httpproxy") {
            const limit = args.rateLimit ?? { requests: 30, unit: "minute", burst: 10 };
            this.certificateRequest = new k8s.core.v1.ConfigMap(
                `${name}-cert-request`,
                {
                    metadata: {
                        // KCert writes the certificate to a Secret with this name and namespace.
                        name: tlsSecretName,
                        namespace,
                        labels: { [KCERT_CERT_REQUEST_LABEL]: KCERT_CERT_REQUEST_VALUE },
                    },
                    data: { hosts: args.host },
                },
                childOpts,
            );
            // Until KCert has written the Secret, Contour marks this HTTPProxy invalid and serves
            // nothing for it; KCert's own challenge Ingress (plain HTTP, /.well-known/acme-challenge/)
            // is unaffected, so the HTTP-01 challenge still succeeds.
            this.httpProxy = new HTTPProxy(
                `${name}-httpproxy`,
                {
                    metadata: { name: "webhook-receiver", namespace },
                    spec: {
                        ingressClassName: className,
                        virtualhost: { fqdn: args.host, tls: { secretName: tlsSecretName } },
                        // One route per receiver (exact path), each with its own token bucket:
                        // requests to any other path match no route and Envoy answers 404 without
                        // touching a limit (Contour's local_ratelimit filter has no bucket outside
                        // the routes that configure one) or Flux.
                        routes: args.hookPaths.map((path) => ({
                            conditions: [{ exact: path }],
                            services: [{ name: service.name, port: service.port }],
                            rateLimitPolicy: {
                                local: {
                                    requests: limit.requests,
                                    unit: limit.unit,
                                    burst: limit.burst ?? 0,
                                    responseStatusCode: 429,
                                },
                            },
                        })),
                    },
                },
                { ...childOpts, dependsOn: [...(args.dependsOn ?? []), this.certificateRequest] },
            );
        } else {
            this.ingress = new k8s.networking.v1.Ingress(
                `${name}-ingress`,
                {
                    metadata: {
                        name: "webhook-receiver",
                        namespace,
                        labels: { [KCERT_INGRESS_LABEL]: KCERT_INGRESS_VALUE },
                        // Port 80 answers 301 to HTTPS for these paths; KCert's own challenge
                        // Ingress (a separate object) still serves HTTP-01 on port 80.
                        annotations: { [CONTOUR_FORCE_SSL_REDIRECT]: "true" },
                    },
                    spec: {
                        ingressClassName: className,
                        tls: [{ hosts: [args.host], secretName: tlsSecretName }],
                        rules: [
                            {
                                host: args.host,
                                http: {
                                    paths: args.hookPaths.map((path) => ({
                                        path,
                                        pathType: "Exact",
                                        backend: {
                                            service: { name: service.name, port: { number: service.port } },
                                        },
                                    })),
                                },
                            },
                        ],
                    },
                },
                childOpts,
            );
        }

        this.mode = pulumi.output(mode);
        this.baseUrl = pulumi.interpolate`https://${args.host}`;
        this.tlsSecretName = pulumi.output(tlsSecretName);
        this.rateLimited = pulumi.output(mode === "httpproxy");

        this.registerOutputs({
            mode: this.mode,
            baseUrl: this.baseUrl,
            tlsSecretName: this.tlsSecretName,
            certificateRequest: this.certificateRequest,
            httpProxy: this.httpProxy,
            ingress: this.ingress,
            rateLimited: this.rateLimited,
        });
    }
}
