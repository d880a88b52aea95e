/**
 * Typed Contour objects over `k8s.apiextensions.CustomResource`.
 *
 * Only the HTTPProxy fields this project uses are typed; they follow the
 * `projectcontour.io/v1` CRD that Contour 1.33 (chart `versions.contourChart`) installs.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export const CONTOUR_API = "projectcontour.io/v1";

type In<T> = pulumi.Input<T>;

/** The period a local rate limit counts requests over. */
export type RateLimitUnit = "second" | "minute" | "hour";

/**
 * A local (per Envoy pod) token-bucket rate limit. Every Envoy instance enforces it on its
 * own, so with N Envoy pods the route admits up to N × `requests` per `unit` in total.
 */
export interface LocalRateLimitPolicy {
    /** Requests admitted per `unit` (CRD minimum: 1). */
    readonly requests: In<number>;
    readonly unit: In<RateLimitUnit>;
    /** Extra requests admitted above `requests` in a short burst. */
    readonly burst?: In<number>;
    /** Status of rejected requests, 400-599. Envoy's default: 429. */
    readonly responseStatusCode?: In<number>;
}

export interface RateLimitPolicy {
    readonly local?: LocalRateLimitPolicy;
}

/** A route condition; at most one of `prefix` and `exact` per condition (Contour rejects more). */
export interface MatchCondition {
    /** Path prefix, starting with `/`. */
    readonly prefix?: In<string>;
    /** Whole path, starting with `/` (Envoy's `path` match: compared without the query string). */
    readonly exact?: In<string>;
}

export interface RouteService {
    readonly name: In<string>;
    readonly port: In<number>;
}

export interface Route {
    readonly conditions?: In<MatchCondition[]>;
    readonly services: In<RouteService[]>;
    readonly rateLimitPolicy?: RateLimitPolicy;
    /** Serve this route over plain HTTP too instead of redirecting to HTTPS. */
    readonly permitInsecure?: In<boolean>;
}

export interface VirtualHost {
    readonly fqdn: In<string>;
    readonly tls?: {
        /** TLS Secret in the HTTPProxy's namespace (or `namespace/name` with a delegation). */
        readonly secretName: In<string>;
        readonly minimumProtocolVersion?: In<"1.2" | "1.3">;
    };
    readonly rateLimitPolicy?: RateLimitPolicy;
}

export interface HTTPProxySpec {
    readonly virtualhost?: VirtualHost;
    readonly routes?: In<Route[]>;
    readonly ingressClassName?: In<string>;
}

export interface HTTPProxyArgs {
    readonly metadata: {
        readonly name: In<string>;
        readonly namespace: In<string>;
        readonly labels?: In<Record<string, In<string>>>;
        readonly annotations?: In<Record<string, In<string>>>;
    };
    readonly spec: In<HTTPProxySpec>;
}

/** A Contour `HTTPProxy` (projectcontour.io/v1). */
export class HTTPProxy extends k8s.apiextensions.CustomResource {
    constructor(name: string, args: HTTPProxyArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            name,
            { apiVersion: CONTOUR_API, kind: "HTTPProxy", metadata: args.metadata, spec: args.spec as In<object> },
            opts,
        );
    }
}
