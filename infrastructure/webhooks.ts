/**
 * The webhook path into the cluster: Contour (Envoy behind a DigitalOcean load balancer), KCert
 * for Let's Encrypt certificates, two Flux receivers (GitHub pushes; bucket uploads), their HTTPS
 * exposure with a rate limit, the DNS record and the GitHub webhook.
 *
 * On the existing-cluster target Contour is optional (an existing ingress class can be named),
 * there is no DNS record, and without `webhook.host` only the bucket receiver exists, reached
 * in the cluster (`make upload-do` port-forwards to it): no certificate, no GitHub webhook.
 * Configuration arrives already validated (see config.ts).
 */
import * as github from "@pulumi/github";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Contour } from "../components/contour";
import { type CrossNamespaceObjectReference, type Decryption, IMAGE_API, SOURCE_API } from "../components/flux/api";
import { FLUX_WEBHOOK_SERVICE } from "../components/flux-bootstrap";
import { FluxReceiver, RECEIVER_SELECTOR_LABEL } from "../components/flux-receiver";
import { GitHubWebhook, parseRepository } from "../components/github-webhook";
import { KCert } from "../components/kcert";
import { LoadBalancerDns } from "../components/load-balancer-dns";
import { ReceiverExposure } from "../components/receiver-exposure";
import { type PlatformConfig, RECEIVER_TYPES, type ReceiverConfig } from "./config";

/** What the webhooks need from the rest of the platform. */
export interface WebhooksContext {
    /** Kubernetes provider built from the cluster's kubeconfig (so everything here goes before the cluster on destroy). */
    readonly provider: k8s.Provider;
    /** Flux namespace. */
    readonly fluxNamespace: string;
    /** Name of the Bucket source the Flux Operator generates (`FLUX_SYNC_NAME`). */
    readonly bucketSyncName: string;
    /**
     * What makes Flux's CRDs and controllers exist: the FluxInstance, or with an existing Flux
     * installation the root sync's Bucket (the receiver's target).
     */
    readonly fluxInstance: pulumi.Resource;
    /** Cluster name; the default load balancer name derives from it. */
    readonly clusterName: string;
    /** SOPS decryption for the Kustomizations created here, and the Secret it reads. Default: none. */
    readonly decryption?: { readonly spec: Decryption; readonly secret: pulumi.Resource };
    /** GitHub provider for `github.repository`'s owner (the webhook is created with it). */
    readonly githubProvider?: github.Provider;
}

/** Name of the Receiver GitHub pushes reach; GitRepositories labelled with it are reconciled. */
export const GITHUB_RECEIVER_NAME = "github";

export interface Webhooks {
    /** Contour, unless an existing ingress controller serves the host (or there is no public host). */
    readonly contour?: Contour;
    /** KCert, when there is a public host. */
    readonly kcert?: KCert;
    /** Receiver of GitHub pushes, when there is a public host. */
    readonly githubReceiver?: FluxReceiver;
    /** Receiver the upload tool calls after a bucket sync (generic-hmac). */
    readonly bucketReceiver: FluxReceiver;
    /** The `receivers` list's receivers, in config order. */
    readonly receivers: readonly FluxReceiver[];
    /** The HTTPS exposure, when there is a public host. */
    readonly exposure?: ReceiverExposure;
    /** The DNS record for the host (digitalocean target). */
    readonly dns?: LoadBalancerDns;
    /** The GitHub webhook, when `github.repository` is configured. */
    readonly githubWebhook?: GitHubWebhook;
    /** Stack outputs. */
    readonly outputs: Record<string, pulumi.Output<unknown>>;
}

/** The in-cluster URL of Flux's receiver Service: what a port-forward reaches. */
export function inClusterReceiverBase(fluxNamespace: string): string {
    return `http://${FLUX_WEBHOOK_SERVICE.name}.${fluxNamespace}.svc.cluster.local`;
}

export function createWebhooks(cfg: PlatformConfig, ctx: WebhooksContext): Webhooks {
    const host = cfg.webhook.host;
    // parseConfig requires acme wherever webhook.host is set.
    if (!host || !cfg.acme) return createLocalReceiver(ctx);
    return createPublicWebhooks(cfg, cfg.acme, host, ctx);
}

/**
 * Without a public host: only the bucket receiver, addressed by its in-cluster URL. `make
 * upload-do` reaches it through a port-forward to Flux's receiver Service, like the bucket.
 */
function createLocalReceiver(ctx: WebhooksContext): Webhooks {
    const bucketReceiver = new FluxReceiver(
        "bucket-receiver",
        {
            receiverName: "bucket",
            namespace: ctx.fluxNamespace,
            type: "generic-hmac",
            resources: [{ apiVersion: SOURCE_API, kind: "Bucket", name: ctx.bucketSyncName }],
            baseUrl: inClusterReceiverBase(ctx.fluxNamespace),
            dependsOn: [ctx.fluxInstance],
        },
        { provider: ctx.provider },
    );
    return {
        bucketReceiver,
        receivers: [],
        outputs: {
            bucketReceiverUrl: pulumi.secret(bucketReceiver.url),
            bucketReceiverToken: pulumi.secret(bucketReceiver.token),
        },
    };
}

function createPublicWebhooks(
    cfg: PlatformConfig,
    acme: NonNullable<PlatformConfig["acme"]>,
    host: string,
    ctx: WebhooksContext,
): Webhooks {
    const { provider, fluxNamespace } = ctx;
    const onDigitalOcean = cfg.target === "digitalocean";

    const contour = cfg.contour.install
        ? new Contour(
              "contour",
              {
                  namespace: cfg.contour.namespace,
                  loadBalancerName: cfg.contour.loadBalancerName ?? `${ctx.clusterName}-envoy`,
                  cloud: onDigitalOcean ? "digitalocean" : "generic",
              },
              { provider },
          )
        : undefined;
    // parseConfig requires webhook.ingressClassName when Contour is not installed.
    const ingressClassName = contour?.ingressClassName ?? pulumi.output(cfg.webhook.ingressClassName ?? "contour");
    const ingressReady = contour ? [contour.release] : [];

    const kcert = new KCert(
        "kcert",
        {
            email: acme.email,
            acmeEnvironment: acme.environment,
            termsAccepted: acme.termsAccepted,
            ingressClassName,
            // The ConfigMap certificate request is what the httpproxy exposure relies on (KCert's
            // ClusterRole may list ConfigMaps in both modes: KCert v1.2.0 lists them on every check).
            watchConfigMaps: cfg.webhook.exposure === "httpproxy",
            fluxNamespace,
            dependsOn: [...ingressReady, ctx.fluxInstance, ...(ctx.decryption ? [ctx.decryption.secret] : [])],
            ...(ctx.decryption ? { decryption: ctx.decryption.spec } : {}),
        },
        { provider },
    );
    const githubReceiver = new FluxReceiver(
        "github-receiver",
        {
            receiverName: GITHUB_RECEIVER_NAME,
            namespace: fluxNamespace,
            type: "github",
            events: ["ping", "push"],
            host,
            dependsOn: [ctx.fluxInstance],
        },
        { provider },
    );

    const bucketReceiver = new FluxReceiver(
        "bucket-receiver",
        {
            receiverName: "bucket",
            namespace: fluxNamespace,
            type: "generic-hmac",
            resources: [{ apiVersion: SOURCE_API, kind: "Bucket", name: ctx.bucketSyncName }],
            host,
            dependsOn: [ctx.fluxInstance],
        },
        { provider },
    );

    const receivers = cfg.receivers.map(
        (r) =>
            new FluxReceiver(
                `receiver-${r.name}`,
                {
                    receiverName: r.name,
                    namespace: fluxNamespace,
                    type: r.type,
                    // None for registries and generic-hmac: every event (their headers carry no event name).
                    events:
                        r.events ??
                        (RECEIVER_TYPES[r.type].events.length > 0 ? [...RECEIVER_TYPES[r.type].events] : undefined),
                    resources: receiverResources(r),
                    host,
                    dependsOn: [ctx.fluxInstance],
                },
                { provider },
            ),
    );

    const exposure = new ReceiverExposure(
        "webhook",
        {
            host,
            // Only the receivers' own paths are routed: anything else is a 404 from Envoy.
            hookPaths: [githubReceiver, bucketReceiver, ...receivers].map((r) => r.webhookPath),
            mode: cfg.webhook.exposure,
            namespace: fluxNamespace,
            ingressClassName,
            rateLimit: cfg.webhook.rateLimit,
            dependsOn: [...ingressReady, kcert.kustomization, ctx.fluxInstance],
        },
        { provider },
    );

    // The record uses the load balancer's IP and depends on the release owning it, so on destroy
    // it goes first, then the release (its Envoy Service: DigitalOcean deletes the load balancer),
    // then the Kubernetes provider and the cluster.
    const dns =
        onDigitalOcean && contour
            ? new LoadBalancerDns("webhook-dns", {
                  host,
                  ip: contour.loadBalancerIp,
                  zone: cfg.webhook.dnsZone,
                  ttl: 300,
                  dependsOn: [contour.release, contour.envoyService],
              })
            : undefined;

    let githubWebhook: GitHubWebhook | undefined;
    if (cfg.github) {
        // createGitHub made the provider for the repository's owner (it reads GITHUB_TOKEN itself).
        const githubProvider =
            ctx.githubProvider ??
            new github.Provider("github", { owner: parseRepository(cfg.github.repository).owner });
        githubWebhook = new GitHubWebhook(
            "github-webhook",
            {
                repository: cfg.github.repository,
                url: githubReceiver.url,
                secret: githubReceiver.token,
                // Staging certificates chain to a root GitHub does not trust.
                insecureSsl: acme.environment === "staging",
                events: ["push"],
            },
            { provider: githubProvider },
        );
    }

    const outputs: Record<string, pulumi.Output<unknown>> = {
        webhookUrl: pulumi.secret(githubReceiver.url),
        bucketReceiverUrl: pulumi.secret(bucketReceiver.url),
        bucketReceiverToken: pulumi.secret(bucketReceiver.token),
        // make upload-do trusts Let's Encrypt's staging roots for its receiver call when this is "staging"
        acmeEnvironment: pulumi.output(acme.environment),
        ...(receivers.length > 0
            ? {
                  receiverUrls: pulumi.secret(
                      pulumi.all(Object.fromEntries(receivers.map((r, i) => [cfg.receivers[i].name, r.url]))),
                  ),
                  receiverTokens: pulumi.secret(
                      pulumi.all(Object.fromEntries(receivers.map((r, i) => [cfg.receivers[i].name, r.token]))),
                  ),
                  receiverSetup: pulumi.output(
                      Object.fromEntries(cfg.receivers.map((r) => [r.name, receiverSetup(r.type)])),
                  ),
              }
            : {}),
        ...(contour ? { loadBalancerIp: contour.loadBalancerIp } : {}),
        ...(dns ? (dns.dnsRecord ? { dnsRecord: dns.record } : { dnsRecordToCreate: dns.record }) : {}),
    };

    return { contour, kcert, githubReceiver, bucketReceiver, receivers, exposure, dns, githubWebhook, outputs };
}

/**
 * What a `receivers` entry reconciles: its `resources`, or by default every object of its
 * type's kind in the Flux namespace labelled `gitops.platform/receiver: <name>` (a label
 * selector needs the `*` name).
 */
export function receiverResources(r: ReceiverConfig): CrossNamespaceObjectReference[] {
    const apiVersion = (kind: string) => (kind === "ImageRepository" ? IMAGE_API : SOURCE_API);
    if (r.resources) {
        return r.resources.map((x) => ({ apiVersion: apiVersion(x.kind), ...x }));
    }
    const kind = RECEIVER_TYPES[r.type].reconciles;
    return [{ apiVersion: apiVersion(kind), kind, name: "*", matchLabels: { [RECEIVER_SELECTOR_LABEL]: r.name } }];
}

/**
 * How each sender is set up: where the URL goes and how it proves itself, as notification-controller
 * v1.9.3 checks it (internal/server/receiver_handlers.go). `URL` is this receiver's entry in the
 * secret output `receiverUrls`, `TOKEN` its entry in `receiverTokens`.
 */
export function receiverSetup(type: ReceiverConfig["type"]): string {
    switch (type) {
        case "github":
            return "GitHub repository → Settings → Webhooks → Add webhook: Payload URL = URL, Content type application/json, Secret = TOKEN (X-Hub-Signature-256 HMAC), events: push";
        case "gitlab":
            return "GitLab project → Settings → Webhooks: URL = URL, Secret token = TOKEN (sent as X-Gitlab-Token), trigger: Push events (and Tag push events)";
        case "bitbucket":
            return "Bitbucket Server/Data Center repository → Settings → Webhooks: URL = URL, Secret = TOKEN (X-Hub-Signature HMAC), event: Repository push (repo:refs_changed)";
        case "dockerhub":
            return "Docker Hub repository → Webhooks: Webhook URL = URL (the secret path is the only credential; Docker Hub signs nothing)";
        case "quay":
            return "Quay repository → Settings → Events and Notifications: event Push to Repository, method Webhook POST, URL = URL (the secret path is the only credential)";
        case "harbor":
            return "Harbor project → Webhooks: Endpoint URL = URL, Auth Header = TOKEN (compared with the Authorization header), event Artifact pushed";
        case "generic-hmac":
            return "POST to URL with header X-Signature: sha256=<hex HMAC-SHA256 of the body, key TOKEN>";
    }
}
